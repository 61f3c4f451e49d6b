"""A run as data: its configuration, bounded history, live changes and outcome.

The common currency of the run store, the exporters and the window: whatever
produced a run (the CLI, the GUI's worker, a database row), a :class:`RunRecord`
is enough to redraw its figures and write its files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from metalearn_gui import __version__
from metalearn_gui.core.history import EXACT_SHARE, History
from metalearn_gui.core.hyperparams import Change
from metalearn_gui.core.learners import Chunk
from metalearn_gui.core.run import RunConfig
from metalearn_gui.core.status import Status
from metalearn_gui.core.summary import RunSummary

#: Rows a record keeps of a run (older ones thinned by :func:`~metalearn_gui.core.history.thin_rows`):
#: plenty to redraw and export a figure at any scale, small enough to store every run.
RECORD_ROWS = 20_000
#: Most rows a record keeps of one chunk (its history's :attr:`History.append_limit`):
#: whoever records a chunk thins it to this once, by the same rule, losing nothing.
RECORD_CHUNK_ROWS = RECORD_ROWS // EXACT_SHARE


def local_time(iso: str) -> str:
    """A stored UTC time (``created``) as the user's local time, to the minute."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


@dataclass(frozen=True)
class RaceEntry:
    """A run's place in a race (:mod:`metalearn_gui.core.race`): the race's id in the run
    store and the entrant's label (e.g. ``genetic sigma=0.3``)."""

    race_id: int
    entrant: str


@dataclass
class RunRecord:
    """One run. ``summary`` is :func:`metalearn_gui.core.run.summarize`'s result once
    the run has ended (None before); ``status`` is the learner's status, or
    ``stopped`` / ``interrupted`` for runs the user left or a crash cut short; ``race``
    says which race (and entrant) the run belongs to, if any."""

    config: RunConfig
    history: History
    changes: list[Change] = field(default_factory=list)
    summary: RunSummary | None = None
    status: Status = Status.RUNNING
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    id: int | None = None
    race: RaceEntry | None = None

    @classmethod
    def begin(cls, config: RunConfig, first: Chunk, capacity: int = RECORD_ROWS) -> RunRecord:
        """A record of ``config``'s run holding its ``first`` chunk (step 0), whose θ and
        extras set the history's columns."""
        record = cls(config, History(first.theta.shape[1], tuple(first.extras), capacity=capacity))
        record.add(first)
        return record

    def outcome(self) -> RunSummary:
        """The summary, or for a run that ended without one (interrupted, or still
        going) what its rows tell, marked ``from_rows``; a :class:`ValueError` if it
        has neither."""
        if self.summary is not None:
            return self.summary
        if len(self.history) == 0:
            raise ValueError("the run has no rows to summarize")
        history = self.history
        best = int(np.argmin(history.column("loss")))  # thinning keeps every bucket's minimum
        learner = self.config.build()
        hyperparameters = dict(learner.hp)  # every value, defaults included
        hyperparameters.update({change.name: change.new for change in self.changes})
        return RunSummary(
            version=__version__, learner=self.config.learner, objective=self.config.objective,
            dim=history.dim, seed=self.config.seed, steps=int(history.column("step")[-1]),
            evaluations=int(history.column("evaluations")[-1]), status=self.status,
            final_loss=float(history.column("loss")[-1]), best_loss=float(history.column("loss")[best]),
            optimum=learner.objective.optimum_value,
            theta_final=tuple(history.theta()[-1].tolist()), theta_best=tuple(history.theta()[best].tolist()),
            hyperparameters=hyperparameters, from_rows=True,
            objective_source=None if learner.objective.source is None else learner.objective.source.to_json(),
        )

    def add(self, chunk: Chunk) -> None:
        """Append a chunk's rows (its extras that the history keeps) and its status."""
        self.history.append(chunk.step, chunk.loss, chunk.best_loss, chunk.evaluations, chunk.theta,
                            chunk.extras)
        self.status = chunk.status
