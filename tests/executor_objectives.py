"""A user objective evaluated row by row, for the executor tests (importable by worker
processes: they unpickle its task by this module's name).

``RowSphere`` is Σ θ_i² plus a little noise drawn from the row's seed (so the seeds a run
hands out show in its rows). Its task can be told to sleep per evaluation, to count its
evaluations as files in a folder, and on the evaluation number ``fault_at`` (counted
across processes; or the first after it, when two workers count at once) to do a ``fault`` once: "kill" its own worker process, "hang", "raise"
or "nan" — or run a shell command ``fault_command`` (to kill a scheduler, say).
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from metalearn_gui.core.objectives import Objective
from metalearn_gui.core.objectives.source import ObjectiveSource

NOISE = 0.01


@dataclass(frozen=True)
class SphereTask:
    """``task(theta, seed, timeout) -> float``, picklable."""

    seconds: float = 0.0
    busy: bool = False
    calls: str | None = None  # a folder: one file per evaluation made
    fault_at: int | None = None
    fault: str = "kill"
    fault_command: tuple[str, ...] = field(default=())

    def __call__(self, theta: np.ndarray, seed: int | None = None, timeout: float | None = None) -> float:
        if self.calls is not None and self.fault_at is not None and self._count() >= self.fault_at \
                and self._first_fault() and self._do_fault():
            return math.nan
        if self.busy:
            end = time.perf_counter() + self.seconds
            while time.perf_counter() < end:
                pass
        elif self.seconds:
            time.sleep(self.seconds)
        noise = 0.0 if seed is None else NOISE * float(np.random.default_rng(seed).standard_normal())
        return float(np.sum(np.square(theta))) + noise

    def _count(self) -> int:
        descriptor, _ = tempfile.mkstemp(dir=self.calls, prefix="call-")
        os.close(descriptor)
        return sum(1 for name in os.listdir(self.calls) if name.startswith("call-"))

    def _first_fault(self) -> bool:
        try:
            os.close(os.open(Path(self.calls, "faulted"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def _do_fault(self) -> bool:
        """Do the fault; True: answer NaN."""
        if self.fault_command:
            subprocess.run(self.fault_command, check=False)
        elif self.fault == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif self.fault == "hang":
            time.sleep(3600)
        elif self.fault == "raise":
            raise ValueError("the simulator crashed")
        return self.fault == "nan"


class RowSphere(Objective):
    """Σ θ_i² + noise, evaluated row by row through its task."""

    name = "row-sphere"
    description = "Σ θ_i² row by row, a test double of a user's function"
    default_dim = 3
    min_dim = 1
    bounds = (-5.0, 5.0)
    noisy = True
    differentiable = False
    vectorised = False
    source = ObjectiveSource("module", "executor_objectives:RowSphere")
    task = SphereTask()

    def row_task(self) -> SphereTask:
        return self.task

    def loss_np(self, thetas: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        raise AssertionError("a row-by-row objective is evaluated through its row task")

    def loss_tf(self, theta, seed=None):
        raise NotImplementedError


def row_sphere(dim: int = 3, **task) -> RowSphere:
    """A RowSphere whose task is ``SphereTask(**task)``."""
    objective = RowSphere(dim)
    objective.task = SphereTask(**task)
    return objective


@dataclass(frozen=True)
class KillsItsWorker:
    """Σ θ², except that a θ whose first coordinate is ``deadly`` kills its worker process."""

    deadly: float = 42.0

    def __call__(self, theta: np.ndarray, seed: int | None = None, timeout: float | None = None) -> float:
        if theta[0] == self.deadly:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.05)  # the other rows are in flight beside it
        return float(np.sum(np.square(theta)))
