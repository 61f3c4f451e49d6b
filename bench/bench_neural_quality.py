"""Quality of the ``neural`` learner against Optuna's TPE and CMA-ES samplers, by evaluations.

1. BBOB 5-D: the COCO ECDF — the fraction of (problem, target) pairs reached, targets
   f − f_opt ∈ 10^{2 … −8} (51 log-spaced) — at 100 and at 300 evaluations.
   Goal: neural ≥ 1.25 × TPE's and ≥ CMA-ES's at both budgets.
2. The project's own objectives in 5-D and 10-D: median best loss at 300 evaluations over
   5 seeds. Goal: neural no worse than TPE on each.

Peers start where ours do: Optuna's CMA-ES from a random point of the box (its default
start, the centre, is the optimum of several of these functions), σ0 = 2 on BBOB.
Peer traces are cached (``--cache``), so iterating on the learner re-runs only it.

Run: ``python bench/bench_neural_quality.py bbob --functions 1-24 --instances 1-5``
or ``python bench/bench_neural_quality.py own --dims 5,10``.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from pathlib import Path

import numpy as np

from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import make_objective

TARGETS = 10.0 ** np.linspace(2, -8, 51)
OWN_OBJECTIVES = ["seed", "sphere", "rosenbrock", "rastrigin", "ackley", "lr-schedule"]


def neural_trace(objective, seed: int, budget: int, settings: dict) -> np.ndarray:
    """Losses of the neural learner's evaluations, in order (one per step)."""
    learner = learner_class("neural")(objective, settings, max_steps=budget - 1)
    losses = [learner.reset(seed).loss]
    while learner.status.value == "running":
        losses.append(learner.advance(max_steps=50).loss)
    return np.concatenate(losses)[:budget]


def optuna_trace(objective, seed: int, budget: int, sampler_name: str) -> np.ndarray:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    low, high = objective.bounds
    names = [f"x{i}" for i in range(objective.dim)]
    if sampler_name == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:
        start = np.random.default_rng(seed).uniform(low, high, objective.dim)
        sampler = optuna.samplers.CmaEsSampler(
            x0=dict(zip(names, start, strict=True)), sigma0=0.2 * (high - low), seed=seed)
    study = optuna.create_study(sampler=sampler)
    rng = np.random.default_rng(seed)

    def evaluate(trial):
        theta = np.array([trial.suggest_float(name, low, high) for name in names])
        return float(objective.loss_np(theta[None, :], rng)[0])

    study.optimize(evaluate, n_trials=budget)
    return np.array([trial.value for trial in study.trials])


def trace(method: str, objective, seed: int, budget: int, settings: dict) -> np.ndarray:
    if method == "neural":
        return neural_trace(objective, seed, budget, settings)
    return optuna_trace(objective, seed, budget, method)


class Cache:
    """Peer traces by (method, problem, seed, budget), kept in a JSON file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data = json.loads(path.read_text()) if path and path.exists() else {}

    def get(self, key, compute):
        if key not in self.data:
            self.data[key] = [float(v) for v in compute()]
            if self.path:
                self.path.write_text(json.dumps(self.data))
        return np.array(self.data[key])


def ecdf(precisions: list[np.ndarray], budget: int) -> float:
    """Fraction of (run, target) pairs whose best f − f_opt within ``budget`` evaluations ≤ target."""
    reached = [np.mean(np.min(p[:budget]) <= TARGETS) for p in precisions]
    return float(np.mean(reached))


def parse_range(text: str) -> list[int]:
    values: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        values += list(range(int(first), int(last or first) + 1))
    return values


def bbob(args, methods, cache, settings) -> None:
    precisions = {m: [] for m in methods}
    per_function = {m: {} for m in methods}
    seconds = {m: 0.0 for m in methods}
    for function in parse_range(args.functions):
        for instance in parse_range(args.instances):
            name = f"bbob-f{function:02d}-i{instance:02d}"
            objective = make_objective(name, args.dim)
            for method in methods:
                started = time.perf_counter()
                key = f"{method}|{name}|{args.dim}|{instance}|{args.budget}"
                compute = functools.partial(trace, method, objective, instance, args.budget, settings)
                losses = compute() if method == "neural" else cache.get(key, compute)
                seconds[method] += time.perf_counter() - started
                gap = np.minimum.accumulate(losses) - objective.optimum_value
                precisions[method].append(gap)
                per_function[method].setdefault(function, []).append(gap)
    print(f"BBOB {args.dim}-D, functions {args.functions}, instances {args.instances}: ECDF")
    print(f"{'method':<10}" + "".join(f"{'@' + str(b):>9}" for b in (100, 300)) + f"{'seconds':>10}")
    for method in methods:
        row = "".join(f"{ecdf(precisions[method], b):>9.3f}" for b in (100, 300))
        print(f"{method:<10}{row}{seconds[method]:>10.1f}")
    if args.per_function:
        print("per function, ECDF at 300: " + " ".join(f"{m:>7}" for m in methods))
        for function in per_function[methods[0]]:
            cells = " ".join(f"{ecdf(per_function[m][function], 300):>7.2f}" for m in methods)
            print(f"  f{function:02d}{' ' * 23}{cells}")


def own(args, methods, cache, settings) -> None:
    print(f"median best loss at {args.budget} evaluations over seeds 0…{args.seeds - 1}")
    print(f"{'objective':<16}" + "".join(f"{m:>12}" for m in methods))
    for dim in parse_range(args.dims):
        for name in args.objectives.split(","):
            cells = []
            for method in methods:
                bests = []
                for seed in range(args.seeds):
                    objective = make_objective(name, dim)
                    key = f"{method}|{name}|{dim}|{seed}|{args.budget}"
                    compute = functools.partial(trace, method, objective, seed, args.budget, settings)
                    losses = compute() if method == "neural" else cache.get(key, compute)
                    bests.append(float(np.min(losses)))
                cells.append(statistics.median(bests))
            print(f"{name + ' ' + str(dim) + '-D':<16}" + "".join(f"{c:>12.4g}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=["bbob", "own"])
    parser.add_argument("--functions", default="1-24")
    parser.add_argument("--instances", default="1-5")
    parser.add_argument("--dim", type=int, default=5)
    parser.add_argument("--dims", default="5,10")
    parser.add_argument("--objectives", default=",".join(OWN_OBJECTIVES))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--methods", default="neural,tpe,cmaes")
    parser.add_argument("--set", action="append", default=[], help="neural hyper-parameter key=value")
    parser.add_argument("--per-function", action="store_true")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/neural_quality_peers.json"))
    args = parser.parse_args()
    settings = {}
    for item in args.set:
        key, _, value = item.partition("=")
        settings[key] = float(value)
    methods = args.methods.split(",")
    (bbob if args.suite == "bbob" else own)(args, methods, Cache(args.cache), settings)


if __name__ == "__main__":
    main()
