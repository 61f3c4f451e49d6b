"""Benchmark: a costly user objective evaluated in 1 worker process, 2 local worker processes
and a 2-worker local Dask cluster; and Dask's overhead per evaluation on loopback.

Why: a GA's population is evaluated row by row where ``EvaluationSettings`` say, one future
per row (:mod:`metalearn_gui.core.row_batches`). The issue's goal: an objective costing
0.2 s per evaluation, GA population 16, 10 generations (156 evaluations: the initial
population, then 14 new strategies a generation beside 2 elites): 2 local workers and a
2-worker Dask cluster each ≥ 1.8× faster than 1 worker on a 2-core machine.

The objective burns a fixed amount of CPU per evaluation (a pure-Python loop calibrated at
start to take ``--cost`` seconds of CPU on this machine), not ``time.sleep``: sleeping rows
overlap on any number of cores, so only CPU work shows whether the workers really run in
parallel on the machine's cores. The wall time of a whole run is measured (reset and
pool start included; the Dask cluster is started before, as a real one would be). Other
programs on the machine take cores from the workers, so the load (``os.getloadavg``) is
printed beside the figures. On Linux with ``sched_autogroup`` (printed too), the processes of
one terminal session share one fair share of the CPU against other sessions: while others
keep the machine busy, 2 workers get about the CPU 1 would, and only a quiet machine shows
the speed-up. ``--sleep`` uses ``time.sleep`` instead: what the executors themselves allow.

Dask's overhead: the same GA on a no-op objective (population 20, 20 generations, 380
evaluations) through the 2-worker cluster and in this process; (Dask − in-process) / 380
is what each evaluation costs in scheduling, pickling and loopback round trips.

The machine's ceiling: the same rows, round by round, in a plain ``multiprocessing`` pool of 2
processes against 1, measured in the same run after the GA runs. On a virtual machine whose 2
cores are shared with other guests it can be well below 2×; an executor's speed-up divided by it
is what the executor itself keeps.

Run:  python bench/bench_executors.py [--quick] [--cost 0.2] [--sleep]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from metalearn_gui.core.executors import EvaluationSettings
from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import Objective
from metalearn_gui.core.objectives.source import ObjectiveSource
from metalearn_gui.core.run import run_to_end

GOAL = 1.8
DIM = 5


@dataclass(frozen=True)
class CostlyTask:
    """Σ θ² after ``loops`` iterations of CPU work (or ``sleep`` seconds asleep)."""

    loops: int = 0
    sleep: float = 0.0

    def __call__(self, theta: np.ndarray, seed: int | None = None, timeout: float | None = None) -> float:
        if self.sleep:
            time.sleep(self.sleep)
        total = 0
        for i in range(self.loops):
            total += i * i
        return float(np.sum(np.square(theta)))


class Costly(Objective):
    """A user's objective that is not vectorised: evaluated through its row task."""

    name = "bench-costly"
    description = "Σ θ² at a cost per evaluation (benchmark only)"
    bounds = (-5.0, 5.0)
    differentiable = False
    vectorised = False
    source = ObjectiveSource("file", "bench/bench_executors.py")
    task = CostlyTask()

    def row_task(self) -> CostlyTask:
        return self.task

    def loss_np(self, thetas, rng=None):
        return np.array([self.task(theta) for theta in thetas])

    def loss_tf(self, theta, seed=None):
        raise NotImplementedError


def calibrate(seconds: float) -> int:
    """Loop iterations costing ``seconds`` of this process's CPU time."""
    loops = 200_000
    while True:
        started = time.process_time()
        CostlyTask(loops)(np.zeros(1))
        spent = time.process_time() - started
        if spent > 0.05:
            return int(loops * seconds / spent)
        loops *= 4


def run_ga(task: CostlyTask, settings: EvaluationSettings, population: int, generations: int) -> tuple[float, int]:
    """Wall seconds of a whole GA run (reset and pool start included) and its evaluations."""
    objective = Costly(DIM)
    objective.task = task
    learner = learner_class("genetic")(objective, {"population": population}, max_steps=generations)
    learner.evaluator.use(settings)
    started = time.perf_counter()
    try:
        run_to_end(learner, seed=0)
    finally:
        learner.evaluator.close()
    seconds = time.perf_counter() - started
    assert learner.status.value == "finished" and not learner.evaluator.drain_failures(), learner.status
    return seconds, learner.evaluations


def machine_ceiling(task: CostlyTask, generations: int) -> float:
    """How much faster 2 plain processes do the GA's rows of ``task`` (16, then 14 a
    generation, each round waiting for its last row) than 1 on this machine right now: the
    most any executor can get here (a VM's 2 cores do not always run 2 busy processes at
    twice the speed of one)."""
    import multiprocessing

    rounds = [[np.zeros(DIM)] * rows for rows in [16] + [14] * generations]
    seconds = []
    for workers in (1, 2):
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            pool.map(CostlyTask(), rounds[0][:workers])  # the workers up before the clock starts
            started = time.perf_counter()
            for thetas in rounds:
                pool.map(task, thetas, chunksize=1)
            seconds.append(time.perf_counter() - started)
    return seconds[0] / seconds[1]


def load() -> str:
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


def autogroup() -> str:
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled", encoding="ascii") as flag:
            return "sched_autogroup on" if flag.read().strip() == "1" else "sched_autogroup off"
    except OSError:
        return "no sched_autogroup"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 generations instead of 10 (a smoke run)")
    parser.add_argument("--cost", type=float, default=0.2, help="seconds per evaluation (default 0.2)")
    parser.add_argument("--sleep", action="store_true", help="sleep instead of burning CPU")
    args = parser.parse_args()
    generations = 3 if args.quick else 10
    from distributed import LocalCluster

    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {autogroup()}, {load()}")
    task = CostlyTask(sleep=args.cost) if args.sleep else CostlyTask(calibrate(args.cost))
    kind = "asleep" if args.sleep else f"of CPU ({task.loops:,} loop iterations)"
    print(f"objective: {args.cost:g} s {kind} per evaluation; GA population 16, {generations} generations")
    with tempfile.TemporaryDirectory() as scratch, LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
            local_directory=scratch) as cluster:
        dask = EvaluationSettings("dask", scheduler=cluster.scheduler_address)
        runs = {"1 worker process": EvaluationSettings("processes", 1),
                "2 worker processes": EvaluationSettings("processes", 2),
                "Dask, 2 workers": dask}
        seconds = {}
        for label, settings in runs.items():
            seconds[label], evaluations = run_ga(task, settings, 16, generations)
            print(f"  {label:<20} {seconds[label]:7.2f} s  ({evaluations} evaluations; {load()})")
        base = seconds["1 worker process"]
        ceiling = machine_ceiling(task, generations)
        for label in ("2 worker processes", "Dask, 2 workers"):
            ratio = base / seconds[label]
            print(f"  speed-up {label:<20} {ratio:5.2f}×  (goal ≥ {GOAL}×: {'met' if ratio >= GOAL else 'NOT met'}; "
                  f"{ratio / ceiling:.2f} of the machine's ceiling)")
        print(f"  the machine's ceiling: 2 plain processes do the same rows {ceiling:.2f}× faster than 1 "
              f"(a multiprocessing pool, round by round; {load()})")

        no_op = CostlyTask()
        local, evaluations = run_ga(no_op, EvaluationSettings("in-process"), 20, 20)
        remote, _ = run_ga(no_op, dask, 20, 20)
        print(f"Dask overhead on loopback: {(remote - local) / evaluations * 1e3:.2f} ms per evaluation "
              f"({evaluations} no-op evaluations: {remote:.2f} s through Dask, {local:.2f} s in this process; "
              f"{load()})")


if __name__ == "__main__":
    main()
