"""The project's learners against the field's reference optimizers, COCO-style.

Methods: our learners ``neural``, ``genetic`` and ``evolution`` (those registered) with default
hyper-parameters; Optuna's TPE and CMA-ES samplers, pycma with IPOP restarts, and uniform
random search. Problems: COCO's BBOB f1–f24 in 5-D (instances 1–5) and 10-D (instances 1–3),
and the project's own objectives in 5-D and 10-D (5 seeds each). Budgets, in evaluations:
300 for the methods whose every step costs milliseconds (neural, TPE, Optuna's CMA-ES; BBOB
5-D and the own objectives), 10⁴·D for the others; a BBOB run stops once f − f_opt ≤ 10⁻⁸.

Output (in ``--out``): ``ecdf.png`` — COCO's ECDF (fraction of (problem, target) pairs
reached, 51 targets f − f_opt from 10² to 10⁻⁸) against evaluations / D, one panel per D;
``summary.md`` and CSVs with the ECDF at 100, 300, 10³·D and 10⁴·D evaluations, evaluations
per second, the own objectives' median results, and the goal checks of the peer comparison.
Every run is cached in ``--out``/runs: an interrupted benchmark resumes where it stopped.

Run: ``python bench/bench_peers.py [--quick] [--jobs N] [--out DIR] [--methods a,b,...]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from peers_ecdf import TARGETS
from peers_methods import METHODS, Task, available, is_expensive, run_task

from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import make_objective
from metalearn_gui.core.objectives.bbob import bbob_name

OWN_OBJECTIVES = ("seed", "sphere", "rosenbrock", "rastrigin", "ackley", "lr-schedule")
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "peers"


@dataclass(frozen=True)
class Plan:
    """What one benchmark run covers."""

    name: str
    functions: tuple[int, ...]
    instances: dict[int, tuple[int, ...]]  # BBOB instances by D
    expensive_dims: tuple[int, ...]  # the BBOB dimensions the expensive methods run on
    own_objectives: tuple[str, ...]
    own_dims: tuple[int, ...]
    own_repeats: int
    expensive_budget: int
    cheap_budget_per_dim: int
    neural_step_at: int  # observations at which neural's step time is measured
    neural_steps_timed: int

    def cheap_budget(self, dim: int) -> int:
        return self.cheap_budget_per_dim * dim

    def budget(self, method: str, dim: int) -> int:
        return self.expensive_budget if is_expensive(method) else self.cheap_budget(dim)

    def tasks(self, methods: list[str]) -> list[Task]:
        tasks = []
        for method in methods:
            for dim, instances in self.instances.items():
                if is_expensive(method) and dim not in self.expensive_dims:
                    continue
                tasks += [Task(method, bbob_name(function, instance), dim, 0, self.budget(method, dim),
                               stop_below=TARGETS[-1])
                          for function in self.functions for instance in instances]
            for dim in self.own_dims:
                budget = self.budget(method, dim)
                checkpoints = tuple(sorted({at for at in (self.expensive_budget, budget) if at <= budget}))
                tasks += [Task(method, objective, dim, repeat, budget, checkpoints=checkpoints)
                          for objective in self.own_objectives for repeat in range(self.own_repeats)]
        return tasks


FULL = Plan(name="full", functions=tuple(range(1, 25)), instances={5: (1, 2, 3, 4, 5), 10: (1, 2, 3)},
            expensive_dims=(5,), own_objectives=OWN_OBJECTIVES, own_dims=(5, 10), own_repeats=5, expensive_budget=300,
            cheap_budget_per_dim=10_000, neural_step_at=300, neural_steps_timed=20)
QUICK = Plan(name="quick (a smoke run: budgets and problems far below the full run's, which the goals are for)",
             functions=(1, 15), instances={5: (1,), 10: (1,)}, expensive_dims=(5,),
             own_objectives=("sphere",), own_dims=(5,), own_repeats=1, expensive_budget=100,
             cheap_budget_per_dim=1_000, neural_step_at=50, neural_steps_timed=3)


# -- running, with a cache per run -----------------------------------------------------------
def attempt(task: Task) -> dict:
    """``run_task``, or what went wrong (one line): one broken run must not end the benchmark."""
    try:
        return run_task(task)
    except Exception as error:  # noqa: BLE001  (reported, not cached: the next benchmark retries it)
        return {"key": task.key, "task": task, "error": f"{type(error).__name__}: {error}"}


def run_all(tasks: list[Task], cache: Path, jobs: int) -> tuple[dict[str, dict], list[str]]:
    """Every task's result (from the cache or run now, in ``jobs`` processes, with a progress
    line per run) and the runs that failed. Results depend on the tasks only, never on ``jobs``."""
    cache.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    failures: list[str] = []
    pending = []
    for task in tasks:
        cached = cache / f"{task.key}.json"
        if cached.exists():
            results[task.key] = json.loads(cached.read_text())
        else:
            pending.append(task)
    print(f"{len(tasks)} runs: {len(results)} cached, {len(pending)} to run with {jobs} process(es)", flush=True)
    # The long runs first, so that no process is left with one at the end.
    pending.sort(key=lambda task: (not is_expensive(task.method), -task.budget))
    started = time.perf_counter()

    def done(result: dict) -> None:
        count = f"[{len(results) + len(failures) + 1:>5}/{len(tasks)}]"
        if "error" in result:
            failures.append(f"{result['key']}: {result['error']}")
            print(f"{count} FAILED {failures[-1]}", flush=True)
            return
        part = cache / f"{result['key']}.json.part"
        part.write_text(json.dumps(result))
        part.replace(cache / f"{result['key']}.json")
        results[result["key"]] = result
        best = result["curve_values"][-1] if result["curve_values"] else float("inf")
        print(f"{count} {result['method']:<13}{result['problem']:<14}{result['dim']:>3}-D "
              f"r{result['repeat']}: {result['evaluations']:>7} evaluations, best {best:9.3g}, "
              f"{result['seconds']:6.1f} s (elapsed {time.perf_counter() - started:6.0f} s)", flush=True)

    if jobs <= 1:
        for task in pending:
            done(attempt(task))
    else:
        # Fresh interpreters (spawn): a forked copy of a process that has loaded TensorFlow can hang.
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            for future in as_completed([pool.submit(attempt, task) for task in pending]):
                done(future.result())
    return results, failures


def neural_step_ms(observations: int, dim: int = 10, steps: int = 20) -> float:
    """Median seconds (in ms) of a neural step, defaults, on ``seed`` in ``dim`` D, once it holds
    ``observations`` observations."""
    learner = learner_class("neural")(make_objective("seed", dim))
    learner.reset(0)
    learner.advance(max_steps=observations - learner.evaluations)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        learner.advance(max_steps=1)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 functions, 1 instance, 1 own objective, small budgets")
    parser.add_argument("--jobs", type=int, default=1, help="processes running problems in parallel")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated; known: {', '.join(METHODS)}")
    args = parser.parse_args(argv)
    methods = [name.strip() for name in args.methods.split(",") if name.strip()]
    unknown = [name for name in methods if name not in METHODS]
    if unknown or args.jobs < 1:
        parser.error(f"unknown method {unknown[0]!r}; known: {', '.join(METHODS)}" if unknown
                     else f"--jobs must be at least 1, not {args.jobs}")
    for name in [name for name in methods if not available(name)]:
        print(f"{name}: not a registered learner here; skipped")
        methods.remove(name)
    plan = QUICK if args.quick else FULL
    results, failures = run_all(plan.tasks(methods), args.out / "runs", args.jobs)
    step_ms = neural_step_ms(plan.neural_step_at, steps=plan.neural_steps_timed) if "neural" in methods else None

    from peers_report import write_report  # Qt and the figure: only in the main process, at the end

    write_report(plan, methods, list(results.values()), step_ms, args.out, failures)
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
