"""Sample efficiency and step cost of the ``neural`` (model-based) learner.

1. Evaluations the neural learner needs to reach 1e-3 on 5-D ``sphere`` and 1e-2 above
   the optimum on 10-D ``seed``, divided by what the ``genetic`` learner needs at its
   default settings (median of 5 seeds each). Goal: ≤ 0.2.
2. Seconds per neural step when the learner holds ~100 and ~1,000 observations.

Run: ``python bench/bench_neural.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import make_objective

TASKS = [("sphere", 5, 1e-3), ("seed", 10, 1e-2)]


def evaluations_to_target(learner_name, objective, dim, target, seed, budget):
    """Evaluations when best loss first came within ``target`` of the optimum, or None."""
    learner = learner_class(learner_name)(make_objective(objective, dim), max_steps=budget)
    chunk = learner.reset(seed)
    while True:
        gap = chunk.best_loss - learner.objective.optimum_value
        reached = np.flatnonzero(gap <= target)
        if reached.size:
            return int(chunk.evaluations[reached[0]])
        if learner.status.value != "running":
            return None
        chunk = learner.advance(max_steps=20)


def median_or_none(values):
    found = [v for v in values if v is not None]
    return statistics.median(found) if len(found) * 2 > len(values) else None


def sample_efficiency(seeds: int) -> None:
    print(f"evaluations to target, median of {seeds} seeds (None = not reached in budget)")
    print(f"{'objective':<22}{'neural':>10}{'genetic':>10}{'ratio':>8}   per seed (neural | genetic)")
    for objective, dim, target in TASKS:
        neural = [evaluations_to_target("neural", objective, dim, target, s, 600) for s in range(seeds)]
        genetic = [evaluations_to_target("genetic", objective, dim, target, s, 2000) for s in range(seeds)]
        n, g = median_or_none(neural), median_or_none(genetic)
        ratio = f"{n / g:.3f}" if n and g else "n/a"
        label = f"{objective} {dim}-D ≤{target:g}"
        print(f"{label:<22}{n!s:>10}{g!s:>10}{ratio:>8}   {neural} | {genetic}")
        verdict = "met" if n and g and n / g <= 0.2 else "NOT met"
        print(f"ratio neural / genetic on {label}: {ratio} (goal <= 0.2: {verdict})")


def step_cost(observations: list[int]) -> None:
    print("\nseconds per neural step on 10-D seed, default settings (median of 20 steps)")
    learner = learner_class("neural")(make_objective("seed", 10))
    learner.reset(0)
    for count in observations:
        learner.advance(max_steps=count - learner.evaluations)
        times = []
        for _ in range(20):
            started = time.perf_counter()
            learner.advance(max_steps=1)
            times.append(time.perf_counter() - started)
        print(f"  at {count:>5} observations: {statistics.median(times) * 1e3:7.1f} ms/step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, 100 observations only")
    args = parser.parse_args()
    sample_efficiency(2 if args.quick else 5)
    step_cost([100] if args.quick else [100, 1000])


if __name__ == "__main__":
    main()
