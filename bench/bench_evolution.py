"""Benchmark: which CMA-ES library the ``evolution`` learner is built on, and how it compares.

Why: the ``evolution`` learner runs CMA-ES with IPOP restarts from a library. Two are well kept:
``cmaes`` (CyberAgent's, numpy only) and pycma (``cma``, Hansen's reference implementation).
This script measures, reproducibly:

1. **Speed** -- evaluations per second of each library's plain ask/tell loop at its default
   population (4 + ⌊3 ln D⌋) in 5-D and 10-D on BBOB f1 (the sphere, so the objective costs
   next to nothing and the library's own work is what is timed), with bounds [−5, 5]^D, and
   of the ``evolution`` learner itself over whole IPOP runs (section 2).
2. **Quality** -- COCO's ECDF at equal numbers of evaluations: the fraction of (problem, target)
   pairs reached, targets f − f_opt ∈ 10^{2 … −8} (51 log-spaced), one run per BBOB instance,
   for the ``evolution`` learner and for pycma with IPOP restarts
   (``cma.fmin(f, x0, 2, restarts=9, incpopsize=2, options={'bounds': [-5, 5], ...})`` with a
   fresh uniform x0 in [−4, 4]^D per restart, pycma's recommended way to restart). A run stops
   once it reaches the last target (f − f_opt ≤ 1e-8) or the budget: nothing after either counts.
   Goal: the learner's ECDF at 10^4·D evaluations within 5 % of pycma-IPOP's, and its
   evaluations/s ≥ pycma's.

Budgets count evaluations, not seconds, so a loaded machine changes the speed figures only.

``--clipping`` adds the learner evaluating out-of-bounds samples clipped onto the bounds instead of
folded (mirrored) into them.

Run:  python bench/bench_evolution.py [--quick] [--dims 10] [--functions 1-24] [--instances 1-3] [--clipping]
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from dataclasses import dataclass

import cma
import cmaes
import numpy as np

from metalearn_gui.core.learners import evolution, learner_class
from metalearn_gui.core.objectives import make_objective
from metalearn_gui.core.objectives.base import Objective

TARGETS = 10.0 ** np.linspace(2, -8, 51)
LAST_TARGET = TARGETS[-1]
SPEED_EVALUATIONS = 20_000
PYCMA_START = 4.0  # pycma-IPOP's x0: uniform in [−4, 4]^D
PYCMA_SIGMA0 = 2.0  # = the learner's default σ₀ (0.2 of the width 10)


# -- 1. speed of the libraries' ask/tell loops -------------------------------------------
def library_speed(library: str, dim: int, seed: int = 1) -> float:
    """Evaluations/s of ``library``'s ask/tell loop at its default population on BBOB f1."""
    objective = make_objective("bbob-f01-i01", dim)
    start = np.random.default_rng(seed).uniform(-PYCMA_START, PYCMA_START, dim)
    done = 0
    started = time.perf_counter()
    if library == "cmaes":
        optimizer = cmaes.CMA(mean=start, sigma=PYCMA_SIGMA0, bounds=np.tile([-5.0, 5.0], (dim, 1)), seed=seed)
        while done < SPEED_EVALUATIONS:
            population = np.array([optimizer.ask() for _ in range(optimizer.population_size)])
            optimizer.tell(list(zip(population, objective.loss_np(population), strict=True)))
            done += len(population)
    else:
        # No stopping test: both loops run the full count (sphere converges before it).
        options = {"bounds": [-5, 5], "seed": seed, "verbose": -9, "tolfun": 0, "tolx": 0, "tolfunhist": 0,
                   "tolflatfitness": np.inf, "tolstagnation": np.inf, "tolconditioncov": np.inf}
        strategy = cma.CMAEvolutionStrategy(start, PYCMA_SIGMA0, options)
        while done < SPEED_EVALUATIONS:
            population = strategy.ask()
            strategy.tell(population, list(objective.loss_np(np.array(population))))
            done += len(population)
    return done / (time.perf_counter() - started)


# -- 2. quality at equal evaluations -------------------------------------------------------
@dataclass
class Trace:
    """Every loss a run evaluated, in order, up to the budget, and the run's time."""

    losses: list[float]
    seconds: float


class Recorder:
    """Wraps an objective's batched loss: keeps every value, and tells when the run is done."""

    def __init__(self, objective: Objective, budget: int) -> None:
        self.objective, self.budget = objective, budget
        self.losses: list[float] = []
        self.optimum = float(objective.optimum_value or 0.0)

    def __call__(self, thetas: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        assert self.objective.within_bounds(np.asarray(thetas)).all(), "a θ outside the bounds was evaluated"
        values = type(self.objective).loss_np(self.objective, np.asarray(thetas, dtype=np.float64), rng)
        self.losses.extend(values.tolist())
        return values

    def done(self) -> bool:
        return (len(self.losses) >= self.budget
                or (bool(self.losses) and min(self.losses) - self.optimum <= LAST_TARGET))


def run_evolution(name: str, dim: int, budget: int, seed: int) -> Trace:
    objective = make_objective(name, dim)
    recorder = Recorder(objective, budget)
    objective.loss_np = recorder  # type: ignore[method-assign]
    learner = learner_class("evolution")(objective, {})
    started = time.perf_counter()
    learner.reset(seed)
    while learner.status.value == "running" and not recorder.done():
        learner.advance(max_steps=1)
    return Trace(recorder.losses[:budget], time.perf_counter() - started)


def run_pycma(name: str, dim: int, budget: int, seed: int) -> Trace:
    objective = make_objective(name, dim)
    recorder = Recorder(objective, budget)
    starts = np.random.default_rng(seed)
    options = {"maxfevals": budget, "bounds": [-5, 5], "seed": seed, "verbose": -9,
               "ftarget": recorder.optimum + LAST_TARGET}
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cma.fmin(None, lambda: starts.uniform(-PYCMA_START, PYCMA_START, dim), PYCMA_SIGMA0, options,
                 restarts=9, incpopsize=2, parallel_objective=lambda xs: list(recorder(np.array(xs))))
    return Trace(recorder.losses[:budget], time.perf_counter() - started)


def reached_at(trace: Trace, optimum: float) -> np.ndarray:
    """For each target, the first evaluation (1-based) whose best-so-far reaches it; inf if none."""
    precision = np.minimum.accumulate(np.asarray(trace.losses)) - optimum
    first = np.full(len(TARGETS), np.inf)
    for index, target in enumerate(TARGETS):
        hits = np.flatnonzero(precision <= target)
        if hits.size:
            first[index] = hits[0] + 1
    return first


def run_evolution_clipping(name: str, dim: int, budget: int, seed: int) -> Trace:
    """The learner evaluating its samples clipped onto the bounds instead of folded into them."""
    fold = evolution.EvolutionLearner._fold
    evolution.EvolutionLearner._fold = lambda learner, points: learner.objective.clip(points)  # type: ignore[method-assign]
    try:
        return run_evolution(name, dim, budget, seed)
    finally:
        evolution.EvolutionLearner._fold = fold  # type: ignore[method-assign]


RUNNERS = {"evolution": run_evolution, "pycma-IPOP": run_pycma}


def parse_range(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 functions, instance 1, 10-D, budget 10^3·D")
    parser.add_argument("--dims", default="10", help="comma-separated dimensions (default 10)")
    parser.add_argument("--functions", default="1-24", help="BBOB functions, e.g. 1-24 or 15")
    parser.add_argument("--instances", default="1-3", help="BBOB instances, e.g. 1-3")
    parser.add_argument("--budget-factor", type=float, default=1e4, help="budget = factor·D evaluations")
    parser.add_argument("--clipping", action="store_true",
                        help="also run the learner clipping samples onto the bounds instead of folding them in")
    arguments = parser.parse_args()
    if arguments.clipping:
        RUNNERS["evolution (clip)"] = run_evolution_clipping
    functions, instances = parse_range(arguments.functions), parse_range(arguments.instances)
    factor = arguments.budget_factor
    if arguments.quick:
        functions, instances, factor = [1, 8, 10, 15, 21], [1], 1e3
    dims = [int(d) for d in arguments.dims.split(",")]
    print(f"cmaes {cmaes.__version__}, pycma {cma.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}")

    print("\n1. evaluations/s, plain ask/tell at default population, BBOB f1, bounds [-5, 5]")
    print("| D | cmaes | pycma | cmaes / pycma |\n|---|---|---|---|")
    for dim in (5, 10):
        ours, theirs = library_speed("cmaes", dim), library_speed("pycma", dim)
        print(f"| {dim} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.1f}× |")

    for dim in dims:
        budget = int(factor * dim)
        print(f"\n2. {dim}-D, budget {budget:,} evaluations (10^{np.log10(factor):.0f}·D), "
              f"f{functions[0]}–f{functions[-1]}, instances {instances[0]}–{instances[-1]}")
        reached = {name: [] for name in RUNNERS}
        evaluations = dict.fromkeys(RUNNERS, 0)
        seconds = dict.fromkeys(RUNNERS, 0.0)
        print("| function | " + " | ".join(f"{name} best f − f_opt" for name in RUNNERS) + " |")
        print("|---|" + "---|" * len(RUNNERS))
        for function in functions:
            for instance in instances:
                name = f"bbob-f{function:02d}-i{instance:02d}"
                optimum = float(make_objective(name, dim).optimum_value or 0.0)
                cells = []
                for runner_name, runner in RUNNERS.items():
                    trace = runner(name, dim, budget, instance)
                    reached[runner_name].append(reached_at(trace, optimum))
                    evaluations[runner_name] += len(trace.losses)
                    seconds[runner_name] += trace.seconds
                    cells.append(f"{max(min(trace.losses) - optimum, 0.0):.2e}")
                print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
        print("\n| learner | ECDF at 10^2·D | 10^3·D | 10^4·D | at budget | evaluations/s |\n|---|---|---|---|---|---|")
        for runner_name in RUNNERS:
            firsts = np.concatenate(reached[runner_name])
            marks = [np.mean(firsts <= f * dim) for f in (1e2, 1e3, 1e4)] + [np.mean(firsts <= budget)]
            speed = evaluations[runner_name] / seconds[runner_name]
            print(f"| {runner_name} | " + " | ".join(f"{m:.3f}" for m in marks) + f" | {speed:,.0f} |")


if __name__ == "__main__":
    main()
