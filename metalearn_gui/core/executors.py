"""Where a user objective's rows are evaluated: in this process, in a pool of processes,
or on a Dask cluster (:class:`EvaluationSettings`)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

MODES = ("in-process", "processes", "dask")


@dataclass(frozen=True)
class EvaluationSettings:
    """How a non-vectorised user objective is evaluated.

    mode: "in-process", "processes" or "dask"; workers: processes of the pool (None: the CPU
    count); scheduler: the Dask scheduler's ``tcp://HOST:PORT``; timeout: seconds one
    evaluation may take before it counts as failed.
    """

    mode: str = "processes"
    workers: int | None = None
    scheduler: str | None = None
    timeout: float = 300.0

    def describe(self) -> str:
        """One line for a status bar or a summary, e.g. "2 local worker processes, timeout 300 s"."""
        if self.mode == "in-process":
            where = "in the app's process"
        elif self.mode == "processes":
            count = self.workers if self.workers is not None else os.cpu_count() or 1
            where = f"{count} local worker process{'es' if count != 1 else ''}"
        else:
            where = f"the Dask cluster at {self.scheduler}"
        return f"{where}, timeout {self.timeout:g} s"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvaluationSettings:
        return cls(**{name: data[name] for name in ("mode", "workers", "scheduler", "timeout") if name in data})
