"""``fewshot-digits``: what learning a training strategy buys on tasks of unseen classes.

(a) Cost: strategy evaluations per second when a GA-sized population is evaluated in one
    batched call (each evaluation trains 16 fresh 64-32-3 networks for 20 steps and scores
    them). Goal ≥ 50/s on a 2-core CPU.
(b) Quality, per learner that applies (genetic, evolution, neural, gradient), at a budget of
    evaluations (500; neural 300, as the peer benchmark gives model-based methods) over several
    seeds (medians): the held-out query loss and
    accuracy of the learner's best θ against the tuned constant-rate baseline's, and the inner
    step at which the learned strategy first reaches the baseline's final (step-20) held-out
    accuracy. Goals: lower held-out loss and no lower accuracy than the baseline for every
    learner; the best learned strategy reaches the baseline's accuracy in ≤ T/2 = 10 steps —
    checked twice: the learner with the lowest median held-out loss (its median step), and the
    single run with the lowest held-out loss over all learners and seeds.

Learners run with their defaults, plus the objective's suggested values, through the core API:
``learner_class(name)(objective, {}, max_steps=...)``, ``max_evaluations = budget``,
``reset(seed)``, ``advance(...)``; "best θ" is the learner's ``theta_best`` (its lowest
meta-training loss seen; each evaluation draws fresh tasks).

Run: ``python bench/bench_fewshot.py [--quick] [--budget N] [--seeds N] [--learners a,b]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from metalearn_gui.core.learners import learner_class, refusal
from metalearn_gui.core.learners.base import Status
from metalearn_gui.core.objectives import make_objective
from metalearn_gui.core.objectives.fewshot import INNER_STEPS, describe_strategy, heldout_curves

LEARNERS = ("genetic", "evolution", "neural", "gradient")
DEFAULT_BUDGET = 500
#: Each neural step refits its model's ensemble (tens of ms to seconds as observations grow):
#: it gets the budget the peer benchmark gives model-based methods.
BUDGETS = {"neural": 300}
SPEED_GOAL = 50.0
#: Steps per advance() call (a run stops at its budget within a call).
CHUNK_STEPS = 50


def evaluations_per_second(objective, population: int, repeats: int) -> float:
    """Strategies evaluated per second in population batches (after a warm-up call)."""
    rng = np.random.default_rng(0)
    thetas = objective.initial_theta(rng, population)
    objective.loss_np(thetas, rng)  # compiles the chunk's graph
    started = time.perf_counter()
    for _ in range(repeats):
        objective.loss_np(objective.initial_theta(rng, population), rng)
    return population * repeats / (time.perf_counter() - started)


def reach_step(accuracy_curve: np.ndarray, target: float) -> int | None:
    """The first inner step whose held-out accuracy is ≥ ``target`` (None: never)."""
    reached = np.flatnonzero(accuracy_curve >= target - 1e-9)
    return int(reached[0]) if len(reached) else None


def run_learner(name: str, seed: int, budget: int) -> np.ndarray:
    """The best θ of learner ``name`` after ``budget`` evaluations from ``seed``."""
    objective = make_objective("fewshot-digits")
    learner = learner_class(name)(objective, {}, max_steps=budget)
    learner.max_evaluations = budget
    learner.reset(seed)
    while learner.status is Status.RUNNING:
        learner.advance(max_steps=CHUNK_STEPS)
    assert learner.theta_best is not None, f"{name} evaluated nothing"
    return learner.theta_best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, a budget of 120, a short speed test")
    parser.add_argument("--budget", type=int, default=None,
                        help=f"evaluations per run (default {DEFAULT_BUDGET}; neural {BUDGETS['neural']})")
    parser.add_argument("--seeds", type=int, default=None, help="runs per learner (default 5)")
    parser.add_argument("--learners", default=",".join(LEARNERS))
    args = parser.parse_args()
    budgets = {name: args.budget or (120 if args.quick else BUDGETS.get(name, DEFAULT_BUDGET)) for name in LEARNERS}
    seeds = args.seeds or (2 if args.quick else 5)
    objective = make_objective("fewshot-digits")

    print("fewshot-digits: 3-way 5-shot, 64-32-3 network, T = 20 inner steps; held-out classes 7–9")
    started = time.perf_counter()
    constant, adam = objective.baselines()
    print(f"baselines computed in {time.perf_counter() - started:.1f} s (tuning included)")
    _, base_accuracy_curve = heldout_curves(constant.theta)
    target = constant.accuracy
    print(f"baseline {constant.label}: held-out loss {constant.loss:.3f}, accuracy {constant.accuracy:.3f}")
    print(f"baseline {adam.label}: held-out loss {adam.loss:.3f}, accuracy {adam.accuracy:.3f}")
    print("baseline accuracy at steps 5/10/15/20: "
          + " ".join(f"{base_accuracy_curve[k]:.3f}" for k in (5, 10, 15, 20)))

    print("\n(a) cost: evaluations per second in population batches")
    for population in (32, 64):
        speed = evaluations_per_second(objective, population, 2 if args.quick else 6)
        print(f"  population {population}: {speed:.0f} evaluations/s")
    print(f"{'PASS' if speed >= SPEED_GOAL else 'FAIL'}: ≥ {SPEED_GOAL:.0f} evaluations/s "
          f"(population 64: {speed:.0f}; machine shared, rough)")

    print(f"\n(b) quality, {seeds} seeds (medians), held-out tasks only; budgets in evaluations")
    header = (f"  {'learner':<10} {'budget':>6} {'loss':>7} {'acc':>7} {'acc@5':>7} {'acc@10':>7} {'reach':>6} "
              f"{'s/run':>6}")
    print(header)
    results = {}
    best_runs = []  # each learner's run with the lowest held-out loss
    for name in args.learners.split(","):
        reason = refusal(name, objective)
        if reason is not None:
            print(f"  {name}: does not apply ({reason})")
            continue
        runs = []
        for seed in range(seeds):
            started = time.perf_counter()
            theta = run_learner(name, seed, budgets[name])
            seconds = time.perf_counter() - started
            held = objective.heldout(theta[None])
            _, accuracy_curve = heldout_curves(theta)
            reached = reach_step(accuracy_curve, target)
            runs.append((float(held.loss[0]), float(held.accuracy[0]), accuracy_curve, reached, seconds, theta))
        loss = statistics.median(r[0] for r in runs)
        accuracy = statistics.median(r[1] for r in runs)
        at5 = statistics.median(r[2][5] for r in runs)
        at10 = statistics.median(r[2][10] for r in runs)
        # A run that never reaches the target counts as T + 1 steps.
        reach = statistics.median(r[3] if r[3] is not None else INNER_STEPS + 1 for r in runs)
        seconds = statistics.median(r[4] for r in runs)
        results[name] = (loss, accuracy, reach)
        best_runs.append((min(runs, key=lambda r: r[0]), name))
        print(f"  {name:<10} {budgets[name]:6d} {loss:7.3f} {accuracy:7.3f} {at5:7.3f} {at10:7.3f} {reach:6.1f} "
              f"{seconds:6.1f}")
        best_run = min(runs, key=lambda r: r[0])
        print(f"  {'':<10} its best run's strategy: {describe_strategy(best_run[5])}")
        print(f"  {'':<10} per seed: loss " + " ".join(f"{r[0]:.3f}" for r in runs)
              + " | reach " + " ".join(str(r[3]) for r in runs))
    print(f"  {'baseline':<10} {'':>6} {constant.loss:7.3f} {constant.accuracy:7.3f} {base_accuracy_curve[5]:7.3f} "
          f"{base_accuracy_curve[10]:7.3f} {INNER_STEPS:6d}")

    print()
    for name, (loss, accuracy, _) in results.items():
        ok = loss < constant.loss and accuracy >= constant.accuracy
        print(f"{'PASS' if ok else 'FAIL'}: {name} beats the tuned constant rate on held-out tasks "
              f"(loss {loss:.3f} vs {constant.loss:.3f}, accuracy {accuracy:.3f} vs {constant.accuracy:.3f})")
    if results:
        best = min(results, key=lambda name: results[name][0])
        reach = results[best][2]
        print(f"{'PASS' if reach <= INNER_STEPS / 2 else 'FAIL'}: the best learner's strategy ({best}, median over "
              f"seeds) reaches the baseline's final accuracy {target:.3f} at inner step {reach:g} "
              f"(goal ≤ {INNER_STEPS // 2})")
        (loss, _, _, reached, _, _), name = min(best_runs, key=lambda run: run[0][0])
        reached_text = "never" if reached is None else f"at inner step {reached}"
        ok = reached is not None and reached <= INNER_STEPS / 2
        print(f"{'PASS' if ok else 'FAIL'}: the best single learned strategy ({name}, held-out loss {loss:.3f}) "
              f"reaches it {reached_text} (goal ≤ {INNER_STEPS // 2})")


if __name__ == "__main__":
    main()
