"""Benchmark: the ``gradient`` learner's steps/s against a plain numpy SGD loop.

Why: the gradient learner runs its steps in XLA-compiled chunks so that it is
not capped by Python/TensorFlow per-step overhead (~0.3 ms a call). This
checks that the whole ``advance()`` path -- chunks, bookkeeping, and the caller
keeping every chunk's arrays (loss, θ, best loss) as history -- beats a
straightforward numpy loop doing the same SGD update and recording the same
history. Goal: ratio >= 5x.

Objective ``seed`` (L = softplus(‖θ‖²), ∇L = 2θ·sigmoid(‖θ‖²)), 10-D, the same
θ0 and step count for both. α defaults to 1e-4: with larger α the gradient
norm drops below the learner's convergence threshold (1e-12) before the last
step, and the run would end "converged" instead of "finished".

Run:  python bench/bench_gradient.py [--quick] [--repeats 3] [--steps 200000]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

import numpy as np

from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import make_objective

GOAL = 5.0
DIM = 10


def run_learner(learner, seed: int, steps: int) -> tuple[float, dict]:
    """Time one full run (reset excluded), keeping every chunk's arrays as history."""
    chunk = learner.reset(seed)
    losses, thetas, bests = [chunk.loss], [chunk.theta], [chunk.best_loss]
    chunks = 0
    started = time.perf_counter()
    while learner.status.value == "running":
        chunk = learner.advance(max_seconds=0.2)
        losses.append(chunk.loss)
        thetas.append(chunk.theta)
        bests.append(chunk.best_loss)
        chunks += 1
    seconds = time.perf_counter() - started
    rows = sum(len(part) for part in losses)
    return seconds, {
        "status": learner.status.value, "step": learner.step, "chunks": chunks, "rows": rows,
        "theta": thetas[-1][-1], "best": bests[-1][-1],
    }


def run_numpy(theta0: np.ndarray, alpha: float, steps: int) -> tuple[float, dict]:
    """The baseline: one Python iteration per SGD step, history in preallocated arrays.

    Scalars use ``math`` (faster than numpy scalar ufuncs); the vector work is numpy.
    softplus(s) = s + log1p(e^{-s}) is exact and overflow-free for s = ‖θ‖² >= 0.
    """
    exp, log1p = math.exp, math.log1p
    losses, bests = np.empty(steps + 1), np.empty(steps + 1)
    thetas = np.empty((steps + 1, len(theta0)))
    started = time.perf_counter()
    theta = theta0.copy()
    s = float(theta @ theta)
    e = exp(-s)
    loss = best = s + log1p(e)
    grad = (2.0 / (1.0 + e)) * theta
    losses[0], thetas[0], bests[0] = loss, theta, best
    for i in range(1, steps + 1):
        theta = theta - alpha * grad
        s = float(theta @ theta)
        e = exp(-s)
        loss = s + log1p(e)
        grad = (2.0 / (1.0 + e)) * theta
        if loss < best:
            best = loss
        losses[i] = loss
        thetas[i] = theta
        bests[i] = best
    seconds = time.perf_counter() - started
    return seconds, {"theta": theta, "best": best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run (20,000 steps, 1 repeat)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 3; 1 with --quick)")
    parser.add_argument("--steps", type=int, default=None, help="SGD steps per run (default 200,000)")
    parser.add_argument("--alpha", type=float, default=1e-4, help="learning rate (default 1e-4)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    steps = args.steps or (20_000 if args.quick else 200_000)
    repeats = args.repeats or (1 if args.quick else 3)

    objective = make_objective("seed", DIM)
    theta0 = objective.initial_theta(np.random.default_rng(args.seed))
    learner = learner_class("gradient")(objective, {"alpha": args.alpha}, max_steps=steps)
    started = time.perf_counter()
    learner.reset(args.seed)  # builds and XLA-compiles the chunk function
    learner.advance(max_steps=4096)  # warm-up, untimed
    compile_seconds = time.perf_counter() - started

    ours, base = [], []
    for _ in range(repeats):
        seconds, info = run_learner(learner, args.seed, steps)
        ours.append(steps / seconds)
        seconds, ref = run_numpy(theta0, args.alpha, steps)
        base.append(steps / seconds)

    import tensorflow as tf  # already loaded by the learner; only for the version

    print(f"bench_gradient: objective seed, {DIM}-D, SGD alpha={args.alpha:g}, {steps:,} steps, "
          f"history recorded, median of {repeats}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, tensorflow {tf.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"(learner build + XLA compile + warm-up, untimed: {compile_seconds:.2f} s)")
    print()
    print(f"{'':32} {'steps/s median':>15} {'min':>12} {'max':>12}")
    for label, rates in (("gradient learner (advance 0.2 s)", ours), ("numpy loop", base)):
        print(f"{label:32} {statistics.median(rates):>15,.0f} {min(rates):>12,.0f} {max(rates):>12,.0f}")
    print()
    diff = np.max(np.abs(info["theta"] - ref["theta"])) / np.max(np.abs(ref["theta"]))
    print(f"sanity: final theta relative difference {diff:.1e} ({'ok' if diff <= 1e-9 else 'MISMATCH'}, "
          f"want <= 1e-9); best loss {info['best']:.15f} vs {ref['best']:.15f}")
    print(f"learner status: {info['status']} at step {info['step']:,} after {info['chunks']} chunk(s), "
          f"{info['rows']:,} history rows"
          + ("" if info["status"] == "finished" else "  <-- expected 'finished'"))
    ratio = statistics.median(ours) / statistics.median(base)
    verdict = "met" if ratio >= GOAL else "NOT met"
    print(f"ratio gradient learner / numpy loop: {ratio:.1f}x (goal >= {GOAL:g}x: {verdict})")


if __name__ == "__main__":
    main()
