"""A run's result: what ``run`` prints and writes with ``--json``, an export's ``summary.json``
and the run store keep once a run has ended.

One type whatever produced it: a learner at its end
(:func:`~metalearn_gui.core.run.summarize`) or, for a run that ended without one, its rows
(:meth:`~metalearn_gui.core.record.RunRecord.outcome`). Its JSON form (:meth:`RunSummary.to_dict`)
keeps the keys the README documents; :meth:`RunSummary.from_dict` reads it back, including
summaries stored by earlier versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from metalearn_gui.core.hyperparams import Value, brief
from metalearn_gui.core.status import Status

#: Keys every summary has; the others may be missing from a stored one (then ``None``).
REQUIRED = ("learner", "objective", "dim", "seed", "steps", "evaluations", "status")


@dataclass(frozen=True)
class RunSummary:
    """The result of one run; numbers that were not finite are ``None``."""

    version: str  # of metalearn-gui when the run ended
    learner: str
    objective: str
    dim: int
    seed: int
    steps: int
    evaluations: int
    status: Status
    final_loss: float | None
    best_loss: float | None
    #: The objective's known minimum (None where unknown).
    optimum: float | None = None
    theta_final: tuple[float, ...] | None = None
    theta_best: tuple[float, ...] | None = None
    steps_per_second: float | None = None
    #: Every value the run ended with, defaults and live changes included.
    hyperparameters: Mapping[str, Value] = field(default_factory=dict)
    diverged_at: int | None = None
    #: The step whose evaluation failed and what the objective did (status ``failed``).
    failed_at: int | None = None
    failure: str | None = None
    #: Objectives with held-out tasks (task distributions): the best θ's loss on them, and
    #: the reference baseline's (e.g. the tuned constant rate) to compare it with; for
    #: classification, the query accuracies too.
    heldout_loss: float | None = None
    baseline_heldout_loss: float | None = None
    heldout_accuracy: float | None = None
    baseline_heldout_accuracy: float | None = None
    #: A user objective's origin (``ObjectiveSource.to_json()``: kind, spec, sha256); None
    #: for a built-in objective.
    objective_source: Mapping[str, Any] | None = None
    #: What the rows tell of a run that ended without a summary (interrupted, or running).
    from_rows: bool = False
    #: Where a user's objective that is not vectorised was evaluated (one line, e.g. "2 local
    #: worker processes, timeout 300 s"); None for objectives evaluated directly. Results do
    #: not depend on it.
    evaluated_on: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values, keyed as documented. The keys of abilities a run did not have
        are left out: ``failed_at``/``failure`` unless it failed, ``heldout_loss`` and
        ``baseline_heldout_loss`` unless its objective has held-out tasks, the
        ``*_accuracy`` ones unless they are classification tasks, ``objective_source``
        for a built-in objective, ``from_rows`` unless it is true, ``evaluated_on`` unless
        the objective was evaluated through a pool."""
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            data[item.name] = list(value) if isinstance(value, tuple) else value
        data["status"] = str(self.status)
        data["hyperparameters"] = dict(self.hyperparameters)
        if self.failure is None:
            del data["failed_at"], data["failure"]
        if self.baseline_heldout_loss is None:
            del data["heldout_loss"], data["baseline_heldout_loss"]
        if self.baseline_heldout_accuracy is None:
            del data["heldout_accuracy"], data["baseline_heldout_accuracy"]
        if self.objective_source is None:
            del data["objective_source"]
        else:
            data["objective_source"] = dict(self.objective_source)
        if not self.from_rows:
            del data["from_rows"]
        if self.evaluated_on is None:
            del data["evaluated_on"]
        return data

    @classmethod
    def from_dict(cls, data: Any) -> RunSummary:
        """The summary :meth:`to_dict` wrote; keys it does not know are ignored. Raises
        :class:`ValueError` naming what is missing or wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"a run summary must be a JSON object, not {type(data).__name__}")
        missing = [key for key in REQUIRED if key not in data]
        if missing:
            raise ValueError(f"the run summary has no {', '.join(missing)}")
        known = {item.name for item in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        for key in ("theta_final", "theta_best"):
            if values.get(key) is not None:
                values[key] = _floats(values[key], key)
        try:
            values["status"] = Status(values["status"])
        except ValueError:
            raise ValueError(f"the run summary's status is {brief(values['status'])}") from None
        if not isinstance(values.get("hyperparameters", {}), dict):
            raise ValueError(f"the run summary's hyperparameters are {brief(values['hyperparameters'])}")
        values.setdefault("version", "")
        values.setdefault("final_loss", None)
        values.setdefault("best_loss", None)
        return cls(**values)


def _floats(values: Any, key: str) -> tuple[float, ...]:
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) for v in values):
        raise ValueError(f"the run summary's {key} is {brief(values)}, not a list of numbers")
    return tuple(float(v) for v in values)
