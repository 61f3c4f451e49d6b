"""A run: a learner configured from plain values, driven chunk by chunk to its end.

Shared by the command line and (later) the GUI's worker and run store, so that a
run described by the same configuration always means the same thing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from metalearn_gui import __version__
from metalearn_gui.core.hyperparams import Value
from metalearn_gui.core.learners import Chunk, Learner, Status, learner_class
from metalearn_gui.core.objectives import make_objective


@dataclass(frozen=True)
class RunConfig:
    """A learner on an objective with a seed; ``steps=None`` runs until stopped (the GUI)."""

    learner: str
    objective: str
    dim: int | None = None
    steps: int | None = 1000
    seed: int = 0
    hyperparameters: Mapping[str, Value] = field(default_factory=dict)

    def same_problem(self, other: RunConfig | None) -> bool:
        """Whether ``other``'s learner (and its compiled graphs) can serve this run by a reset."""
        return other is not None and (self.learner, self.objective, self.dim) == (
            other.learner, other.objective, other.dim)

    def build(self) -> Learner:
        """The configured learner, not yet reset; raises a ``ValueError`` subclass
        with a one-line message for any value that is not allowed."""
        objective = make_objective(self.objective, self.dim)
        cls = learner_class(self.learner)
        return cls(objective, self.hyperparameters, max_steps=self.steps)


def run_to_end(
    learner: Learner,
    seed: int,
    on_chunk: Callable[[Chunk], None] | None = None,
    chunk_seconds: float = 0.2,
) -> float:
    """Reset ``learner`` with ``seed`` and advance it until it stops.

    Every chunk, the step-0 one included, goes to ``on_chunk``. Returns the seconds
    spent advancing (the reset, which may import TensorFlow, excluded).
    """
    chunk = learner.reset(seed)
    if on_chunk:
        on_chunk(chunk)
    started = time.perf_counter()
    while learner.status is Status.RUNNING:
        chunk = learner.advance(max_seconds=chunk_seconds)
        if on_chunk:
            on_chunk(chunk)
    return time.perf_counter() - started


def summarize(learner: Learner, seconds: float) -> dict[str, Any]:
    """The run's result as JSON-ready values (non-finite numbers become ``None``)."""
    objective = learner.objective
    summary: dict[str, Any] = {
        "version": __version__,
        "learner": learner.name,
        "objective": objective.name,
        "dim": objective.dim,
        "seed": learner.seed,
        "steps": learner.step,
        "evaluations": learner.evaluations,
        "status": learner.status.value,
        "final_loss": _number(learner.last_loss),
        "best_loss": _number(learner.best_loss),
        "optimum": objective.optimum_value,
        "theta_final": _vector(learner.theta),
        "theta_best": _vector(learner.theta_best),
        "steps_per_second": learner.step / seconds if seconds > 0 else None,
        "hyperparameters": dict(learner.hp),
        "diverged_at": learner.diverged_at,
    }
    if objective.baseline_heldout_loss() is not None:
        summary["heldout_loss"] = (
            None if learner.theta_best is None else _number(objective.heldout_loss(learner.theta_best))
        )
        summary["baseline_heldout_loss"] = objective.baseline_heldout_loss()
    return summary


def _number(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _vector(values: np.ndarray | None) -> list[float] | None:
    return None if values is None else [float(v) for v in values]
