"""A run's generalisation, for objectives with held-out tasks: the best θ's held-out loss
(and accuracy) against the step, the baselines, and the task view.

Held-out results are kept in a :class:`History` without θ (its ``loss`` the held-out
loss, ``best_loss`` the lowest so far, an ``accuracy`` column), so they thin by the same
rule as the run's rows. Live, the window appends the session's
:class:`~metalearn_gui.core.events.HeldOutResult` events (:func:`add_result`); for an
export, :func:`of_record` recomputes the series from the recorded rows in one batched
call, the same quantity at the steps where the best θ changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metalearn_gui.core.events import HeldOutResult
from metalearn_gui.core.history import History
from metalearn_gui.core.objectives import make_objective
from metalearn_gui.core.objectives.tasks import Baseline, TaskDistribution, TaskView
from metalearn_gui.core.record import RunRecord

#: Held-out results kept per run: one per second of a run at most, thinned beyond this.
HELDOUT_ROWS = 1024
#: Best θs an export evaluates on the held-out tasks (spread over the run's improvements).
RECORD_POINTS = 60


def heldout_history() -> History:
    """An empty series of held-out results."""
    return History(0, ("accuracy",), capacity=HELDOUT_ROWS)


def add_result(history: History, result: HeldOutResult) -> None:
    """Append one held-out result (the steps must ascend; a repeated step replaces nothing,
    it is dropped)."""
    if len(history) and result.step <= history.column("step")[-1]:
        return
    best = min(result.loss, float(history.column("best_loss")[-1])) if len(history) else result.loss
    accuracy = np.nan if result.accuracy is None else result.accuracy
    history.append(np.array([result.step]), np.array([result.loss]), np.array([best]),
                   np.array([result.evaluations]), np.empty((1, 0)), {"accuracy": np.array([accuracy])})


@dataclass(frozen=True)
class Generalisation:
    """What a finished run shows of generalisation: the held-out series, the baselines
    (the reference first) and the task view of its best θ."""

    heldout: History
    baselines: tuple[Baseline, ...]
    task_view: TaskView


def of_record(record: RunRecord, points: int = RECORD_POINTS) -> Generalisation | None:
    """The held-out series of ``record``'s best θ at (at most ``points`` of) the rows where
    it changed, up to the last step, with baselines and task view; None for an objective
    without held-out tasks or a run without rows."""
    history = record.history
    objective = make_objective(record.config.objective, history.dim)
    if not isinstance(objective, TaskDistribution) or len(history) == 0:
        return None
    loss, best = history.column("loss"), history.column("best_loss")
    with np.errstate(invalid="ignore"):
        rows = np.flatnonzero(loss <= best)  # each such row's θ was the best so far
    if len(rows) == 0:
        return None
    rows = np.unique(rows[np.linspace(0, len(rows) - 1, min(points, len(rows))).round().astype(int)])
    thetas = history.theta()[rows]
    heldout = objective.heldout(thetas)
    # The last best θ holds to the end of the run: its result again at the last row.
    rows = np.append(rows, len(history) - 1) if rows[-1] < len(history) - 1 else rows
    results = [*range(len(thetas)), len(thetas) - 1][: len(rows)]
    series = heldout_history()
    for row, result in zip(rows, results, strict=True):
        accuracy = None if heldout.accuracy is None else float(heldout.accuracy[result])
        add_result(series, HeldOutResult(0, int(history.column("step")[row]), int(history.column("evaluations")[row]),
                                         float(heldout.loss[result]), accuracy, None))
    return Generalisation(series, tuple(objective.baselines()), objective.task_view(thetas[-1]))
