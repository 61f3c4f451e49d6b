"""A run: a learner configured from plain values, driven chunk by chunk to its end.

Shared by the command line and (later) the GUI's worker and run store, so that a
run described by the same configuration always means the same thing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from metalearn_gui import __version__
from metalearn_gui.core.hyperparams import Value
from metalearn_gui.core.learners import LEARNER_NAMES, Chunk, Learner, Status, learner_class
from metalearn_gui.core.objectives import OBJECTIVES, make_objective

#: Written into every configuration file; a file without it is not ours.
CONFIG_FORMAT = "metalearn-gui run configuration"
CONFIG_VERSION = 1


class ConfigError(ValueError):
    """A configuration (file) that cannot describe a run; the message names the bad value."""


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

    # -- as JSON ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; :meth:`from_dict` reads them back to an equal config."""
        return {
            "format": CONFIG_FORMAT,
            "version": CONFIG_VERSION,
            "learner": self.learner,
            "objective": self.objective,
            "dim": self.dim,
            "steps": self.steps,
            "seed": self.seed,
            "hyperparameters": dict(self.hyperparameters),
        }

    @classmethod
    def from_dict(cls, data: Any, origin: str = "configuration") -> RunConfig:
        """A checked config; raises :class:`ConfigError` naming ``origin`` and the bad value.

        Unknown keys, unknown names and out-of-range values are refused rather than
        ignored: a reproduction that silently differs is worse than none.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"{origin}: expected a JSON object, got {type(data).__name__}")
        if data.get("format") != CONFIG_FORMAT:
            raise ConfigError(f"{origin}: not a metalearn-gui run configuration "
                              f"(\"format\" must be {CONFIG_FORMAT!r})")
        if data.get("version") != CONFIG_VERSION:
            raise ConfigError(f"{origin}: configuration version {data.get('version')!r} is not "
                              f"supported (this is version {CONFIG_VERSION})")
        known = ("format", "version", "learner", "objective", "dim", "steps", "seed", "hyperparameters")
        unknown = [key for key in data if key not in known]
        if unknown:
            raise ConfigError(f"{origin}: unknown key {unknown[0]!r}; known: {', '.join(known)}")
        learner, objective = data.get("learner"), data.get("objective")
        if learner not in LEARNER_NAMES:
            raise ConfigError(f"{origin}: learner {learner!r} is not one of: {', '.join(LEARNER_NAMES)}")
        if objective not in OBJECTIVES:
            raise ConfigError(f"{origin}: objective {objective!r} is not one of: {', '.join(OBJECTIVES)}")
        dim = _optional_int(data.get("dim"), "dim", origin, minimum=1)
        steps = _optional_int(data.get("steps"), "steps", origin, minimum=1)
        seed = _optional_int(data.get("seed", 0), "seed", origin, minimum=0, nullable=False)
        hyperparameters = data.get("hyperparameters", {})
        if not isinstance(hyperparameters, dict):
            raise ConfigError(f"{origin}: \"hyperparameters\" must be an object of NAME: VALUE")
        config = cls(learner, objective, dim, steps, seed, dict(hyperparameters))
        try:
            config.build()  # checks the dimension and every hyper-parameter; cheap, no TensorFlow
        except ValueError as error:
            raise ConfigError(f"{origin}: {error}") from None
        return config

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> RunConfig:
        """Read a configuration file; any problem is a :class:`ConfigError` naming the file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError(f"{path}: cannot be read: {error.strerror}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ConfigError(f"{path}: not valid JSON ({error})") from None
        return cls.from_dict(data, origin=str(path))


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
    if learner.failure is not None:  # what the objective did, naming the step and θ
        summary["failed_at"] = learner.failure.evaluation.step
        summary["failure"] = str(learner.failure)
    if objective.baseline_heldout_loss() is not None:
        summary["heldout_loss"] = (
            None if learner.theta_best is None else _number(objective.heldout_loss(learner.theta_best))
        )
        summary["baseline_heldout_loss"] = objective.baseline_heldout_loss()
    return summary


def _optional_int(value: Any, key: str, origin: str, minimum: int | None = None,
                  nullable: bool = True) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
        wanted = "an integer" if minimum is None else f"an integer ≥ {minimum}"
        raise ConfigError(f"{origin}: \"{key}\" must be {wanted}, got {json.dumps(value)}")
    return value


def _number(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _vector(values: np.ndarray | None) -> list[float] | None:
    return None if values is None else [float(v) for v in values]
