"""Benchmark: the ``genetic`` learner's quality per evaluation against pycma with IPOP restarts.

Why: the genetic learner must not waste evaluations. It is measured the way COCO measures
optimizers, by the number of evaluations (not seconds, which other work on the machine
would spoil): on BBOB 10-D (f1–f24, instances 1–3) at 10^4·D = 100,000 evaluations, the
fraction of (problem, target) pairs reached, targets f − f_opt ∈ 10^{2 … −8} (51
log-spaced); a target counts as reached at the first evaluation whose best-so-far gap is
at or below it. The genetic learner runs with its defaults; a generation whose
evaluations would cross the budget is not counted.

pycma runs ``cma.fmin(f, x0, 2, restarts=9, incpopsize=2, bipop=False)`` with x0 uniform
in [−4, 4]^D drawn anew for each restart (pycma's recommended use), the same budget, and
``ftarget`` f_opt + 1e-8 (all targets reached: it stops; the ECDF is the same). Its
results are cached (``--cache``) because it takes minutes.

Goals: ECDF ≥ 0.8× pycma-IPOP's; evaluations/s ≥ 10× pycma's (measured by alternating
runs of both, 10,000 evaluations on instance 1 of each function, so that both see the same
load); ``rastrigin`` 10-D median best over 25 seeds at 100,000 evaluations ≤ 1.

Run:  python bench/bench_genetic_quality.py [--functions 1,8,15] [--instances 3] [--skip-pycma]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import make_objective

DIM = 10
BUDGET = 10_000 * DIM
TARGETS = 10.0 ** np.linspace(2, -8, 51)
ECDF_GOAL = 0.8
SPEED_GOAL = 10.0
RASTRIGIN_GOAL = 1.0
#: A run ends in the global basin (0) or one or more coordinates off (0.995, 1.99, …), about
#: 6 runs in 10 at or below 1: the median of 5 seeds would be a coin toss between basins.
RASTRIGIN_SEEDS = 25


def first_hits(evaluations: np.ndarray, gap: np.ndarray, budget: int) -> np.ndarray:
    """Per target, the evaluation count at which the best-so-far ``gap`` first reached
    it (inf where it never did within ``budget``)."""
    inside = evaluations <= budget
    evaluations, best = evaluations[inside], np.minimum.accumulate(gap[inside])
    hits = np.full(len(TARGETS), np.inf)
    for index, target in enumerate(TARGETS):
        reached = np.flatnonzero(best <= target)
        if reached.size:
            hits[index] = evaluations[reached[0]]
    return hits


def run_genetic(objective_name: str, seed: int, budget: int) -> dict:
    """One run with default hyper-parameters until the next generation would cross ``budget``:
    its trace (evaluations, best loss per generation), restarts, seconds."""
    learner = learner_class("genetic")(make_objective(objective_name, DIM))
    started = time.perf_counter()
    first = learner.reset(seed)
    evaluations, losses, restarts = [first.evaluations], [first.best_loss], 0.0
    while learner.status.value == "running" and learner.evaluations + learner.evaluations_next_step() <= budget:
        # Chunks that fit the budget unless restarts grow the population in them (then a
        # few generations overshoot: timed, but not counted in the trace).
        steps = max(1, (budget - learner.evaluations) // (8 * learner.evaluations_next_step()))
        chunk = learner.advance(max_steps=steps)
        evaluations.append(chunk.evaluations)
        losses.append(chunk.best_loss)
        if len(chunk) and "restarts" in chunk.extras:
            restarts = float(chunk.extras["restarts"][-1])
    seconds = time.perf_counter() - started
    return {"evaluations": np.concatenate(evaluations), "loss": np.concatenate(losses),
            "restarts": restarts, "seconds": seconds, "status": learner.status.value}


class BudgetSpent(Exception):
    pass


def run_pycma(objective_name: str, seed: int, budget: int) -> dict:
    import cma

    objective = make_objective(objective_name, DIM)
    rng = np.random.default_rng(seed)
    values: list[float] = []

    def f(x: np.ndarray) -> float:
        if len(values) >= budget:
            raise BudgetSpent
        values.append(float(objective.loss_np(np.asarray(x)[None, :])[0]))
        return values[-1]

    options = {"maxfevals": budget, "verbose": -9, "seed": seed + 1,
               "ftarget": objective.optimum_value + 1e-8}
    started = time.perf_counter()
    try:
        cma.fmin(f, lambda: rng.uniform(-4, 4, DIM), 2.0, options, restarts=9, incpopsize=2, bipop=False)
    except BudgetSpent:
        pass
    seconds = time.perf_counter() - started
    return {"evaluations": np.arange(1, len(values) + 1), "loss": np.array(values), "seconds": seconds}


def bbob_problems(functions: list[int], instances: int) -> list[str]:
    return [f"bbob-f{function:02d}-i{instance:02d}" for function in functions for instance in range(1, instances + 1)]


def problem_seed(name: str) -> int:
    """The same seed for a problem whichever subset is run: bbob-f08-i02 → 802."""
    return int(name[6:8]) * 100 + int(name[10:])


def measure(runner, problems: list[str], budget: int) -> tuple[dict[str, np.ndarray], float, int, dict]:
    """Per problem its target hits; total seconds, evaluations, and per-problem extra info."""
    hits, seconds, evaluations, info = {}, 0.0, 0, {}
    for name in problems:
        run = runner(name, problem_seed(name), budget)
        optimum = make_objective(name, DIM).optimum_value
        hits[name] = first_hits(run["evaluations"], run["loss"] - optimum, budget)
        seconds += run["seconds"]
        evaluations += int(run["evaluations"][-1])
        info[name] = run.get("restarts")
    return hits, seconds, evaluations, info


def ecdf(hits: dict[str, np.ndarray], budget: float) -> float:
    return float(np.mean([h <= budget for h in hits.values()])) if hits else float("nan")


def per_function(hits: dict[str, np.ndarray]) -> dict[str, float]:
    """Fraction of targets reached per function (over its instances)."""
    grouped: dict[str, list[np.ndarray]] = {}
    for name, h in hits.items():
        grouped.setdefault(name[:8], []).append(h)
    return {function: float(np.mean(np.isfinite(np.concatenate(h)))) for function, h in grouped.items()}


def load_cache(path: Path, budget: int) -> dict:
    """Stored pycma runs by problem name (none if stored for another budget)."""
    if not path.exists():
        return {}
    stored = json.loads(path.read_text())
    return stored["runs"] if stored.get("budget") == budget else {}


def pycma_hits(problems: list[str], budget: int, cache: Path) -> tuple[dict[str, np.ndarray], float, int]:
    """pycma's target hits per problem, total seconds and evaluations (runs missing from
    ``cache`` are made and added to it)."""
    runs = load_cache(cache, budget)
    for name in problems:
        if name in runs:
            continue
        run = run_pycma(name, problem_seed(name), budget)
        optimum = make_objective(name, DIM).optimum_value
        runs[name] = {"hits": first_hits(run["evaluations"], run["loss"] - optimum, budget).tolist(),
                      "seconds": run["seconds"], "evaluations": int(run["evaluations"][-1])}
        cache.write_text(json.dumps({"budget": budget, "runs": runs}))
    hits = {name: np.array(runs[name]["hits"]) for name in problems}
    return (hits, sum(runs[name]["seconds"] for name in problems),
            sum(runs[name]["evaluations"] for name in problems))


def speeds(problems: list[str], evaluations: int) -> tuple[float, float]:
    """Evaluations/s of the genetic learner and of pycma over ``problems`` (``evaluations``
    each, or fewer if pycma reaches f_opt + 1e-8), runs alternating so that both see the
    same load on the machine."""
    totals = {run_genetic: [0, 0.0], run_pycma: [0, 0.0]}
    for problem in problems:
        for runner, total in totals.items():
            run = runner(problem, problem_seed(problem), evaluations)
            total[0] += int(min(run["evaluations"][-1], evaluations))
            total[1] += run["seconds"]
    return tuple(count / seconds for count, seconds in totals.values())


def rastrigin_medians(budget: int) -> list[float]:
    return [float(run_genetic("rastrigin", seed, budget)["loss"].min()) for seed in range(RASTRIGIN_SEEDS)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", default="1-24", help="BBOB functions, e.g. 1-24 or 1,8,15")
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--budget", type=int, default=BUDGET)
    parser.add_argument("--skip-pycma", action="store_true", help="only the genetic learner")
    parser.add_argument("--skip-rastrigin", action="store_true")
    parser.add_argument("--speed-evaluations", type=int, default=10_000,
                        help="evaluations per problem (instance 1 of each function) when comparing evaluations/s")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "pycma_ipop_bbob10.json",
                        help="where pycma's target hits are kept between runs")
    args = parser.parse_args()
    functions = []
    for part in args.functions.split(","):
        low, _, high = part.partition("-")
        functions += list(range(int(low), int(high or low) + 1))
    problems = bbob_problems(functions, args.instances)

    print(f"bench_genetic_quality: BBOB {DIM}-D f{functions[0]}…f{functions[-1]} ({len(functions)} functions), "
          f"instances 1–{args.instances}, budget {args.budget:,} evaluations, {len(TARGETS)} targets")
    print(f"python {platform.python_version()}, numpy {np.__version__}, load average {os.getloadavg()[0]:.2f}")
    ours, seconds, evaluations, restarts = measure(run_genetic, problems, args.budget)
    ours_rate = evaluations / seconds
    rows = [("genetic (defaults)", ours, ours_rate)]
    if not args.skip_pycma:
        theirs, their_seconds, their_evaluations = pycma_hits(problems, args.budget, args.cache)
        rows.append(("pycma IPOP", theirs, their_evaluations / their_seconds))
    print()
    budgets = [args.budget // 100, args.budget // 10, args.budget]
    print(f"{'':22}" + "".join(f"{'ECDF@' + format(b, ','):>16}" for b in budgets) + f"{'evaluations/s':>16}")
    for label, hits, rate in rows:
        print(f"{label:22}" + "".join(f"{ecdf(hits, b):>16.3f}" for b in budgets) + f"{rate:>16,.0f}")
    print()
    print("targets reached per function:" + ("   genetic   pycma" if len(rows) > 1 else "   genetic"))
    ours_by_function = per_function(ours)
    theirs_by_function = per_function(rows[1][1]) if len(rows) > 1 else {}
    for function, fraction in ours_by_function.items():
        mean_restarts = np.mean([r for name, r in restarts.items() if name.startswith(function)])
        peer = f"{theirs_by_function[function]:>8.2f}" if theirs_by_function else ""
        print(f"  {function}  {fraction:>8.2f}{peer}   (restarts, mean: {mean_restarts:.1f})")
    if len(rows) > 1:
        ratio = ecdf(ours, args.budget) / ecdf(rows[1][1], args.budget)
        speed = ours_rate / rows[1][2]
        print(f"\nECDF ratio genetic / pycma-IPOP at {args.budget:,}: {ratio:.2f} "
              f"(goal >= {ECDF_GOAL}: {'met' if ratio >= ECDF_GOAL else 'NOT met'})")
        print(f"(evaluations/s above: over the whole ECDF runs, pycma's from its cached runs: {speed:.1f}x)")
        ours_speed, their_speed = speeds(bbob_problems(functions, 1), args.speed_evaluations)
        speed = ours_speed / their_speed
        print(f"evaluations/s, instance 1 of each function, {args.speed_evaluations:,} evaluations each, "
              f"alternating runs: genetic {ours_speed:,.0f}, pycma {their_speed:,.0f}; "
              f"ratio {speed:.1f}x (goal >= {SPEED_GOAL:g}x: {'met' if speed >= SPEED_GOAL else 'NOT met'})")
    if not args.skip_rastrigin:
        bests = rastrigin_medians(args.budget)
        median = statistics.median(bests)
        print(f"\nrastrigin {DIM}-D at {args.budget:,} evaluations, best per seed: "
              + ", ".join(f"{b:.3g}" for b in bests)
              + f"; {sum(b <= RASTRIGIN_GOAL for b in bests)} of {len(bests)} at or below {RASTRIGIN_GOAL:g}"
              + f"; median {median:.3g} (goal <= {RASTRIGIN_GOAL:g}: {'met' if median <= RASTRIGIN_GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
