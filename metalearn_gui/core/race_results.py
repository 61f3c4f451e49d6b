"""A race's results: each run's loss-vs-evaluations trace, the leaderboard, and the median
and interquartile band over seeds that the figures draw.

A trace (:class:`RunTrace`) takes every row a learner makes and keeps a bounded number,
thinned by the history's rule in blocks of a fixed number of rows, so that what it
keeps depends only on the rows, never on how they were split into chunks: the same
seed and settings give the same trace, whether the run raced interleaved with others
or alone. Evaluations to target and the best loss are taken from every row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metalearn_gui.core.history import thin_rows
from metalearn_gui.core.learners import Chunk
from metalearn_gui.core.race_config import Entrant
from metalearn_gui.core.status import Status

#: A trace's columns.
TRACE_COLUMNS = ("step", "evaluations", "loss", "best_loss", "seconds")
#: Rows are thinned in blocks of this many (by their position in the run, not by chunk) …
TRACE_BLOCK = 4096
#: … each to this many …
BLOCK_KEEPS = TRACE_BLOCK // 4
#: … and once the thinned blocks hold more than this, they are thinned to half of it.
TRACE_ROWS = 8192


class RunTrace:
    """One run of a race as it goes: its rows (bounded, see the module docstring), best
    loss, evaluations, the evaluations at which it first reached ``target``, and seconds
    (the run's own time advancing: other entrants' turns are not counted)."""

    def __init__(self, target: float | None) -> None:
        self.target = target
        self.evaluations_to_target: int | None = None
        self.best_loss = math.inf
        self.evaluations = 0
        #: Step 0's evaluations (an initial design, made while the run was prepared).
        self.initial_evaluations = 0
        self.steps = 0
        self.seconds = 0.0
        self._thinned = np.empty((0, len(TRACE_COLUMNS)))
        self._recent: list[np.ndarray] = []  # rows not yet in a full block
        self._recent_rows = 0

    def add(self, chunk: Chunk, seconds: float) -> None:
        """Every row of ``chunk`` (as the learner made it); ``seconds``: the run's seconds
        advancing at its end (rows within the chunk share its time by their evaluations)."""
        if len(chunk) == 0:
            self.seconds = seconds
            return
        if self.target is not None and self.evaluations_to_target is None:
            reached = np.flatnonzero(chunk.best_loss <= self.target)
            if len(reached):
                self.evaluations_to_target = int(chunk.evaluations[reached[0]])
        spent = np.asarray(chunk.evaluations - (self.evaluations if chunk.step[0] else 0), dtype=float)
        share = spent / spent[-1] if spent[-1] > 0 else np.ones(len(chunk))
        times = self.seconds + share * (seconds - self.seconds)
        rows = np.column_stack([chunk.step, chunk.evaluations, chunk.loss, chunk.best_loss, times])
        self.best_loss = float(min(self.best_loss, chunk.best_loss[-1]))
        self.evaluations, self.steps, self.seconds = int(chunk.evaluations[-1]), int(chunk.step[-1]), seconds
        if chunk.step[0] == 0:
            self.initial_evaluations = int(chunk.evaluations[0])
        self._recent.append(rows)
        self._recent_rows += len(rows)
        if self._recent_rows >= TRACE_BLOCK:
            self._thin_full_blocks()

    def table(self) -> np.ndarray:
        """The kept rows, one per row in :data:`TRACE_COLUMNS` order."""
        return np.concatenate([self._thinned, *self._recent]) if self._recent else self._thinned

    def _thin_full_blocks(self) -> None:
        recent = np.concatenate(self._recent)
        full = len(recent) // TRACE_BLOCK * TRACE_BLOCK
        parts = [self._thinned]
        for start in range(0, full, TRACE_BLOCK):
            parts.append(_thinned(recent[start:start + TRACE_BLOCK], BLOCK_KEEPS))
            if sum(map(len, parts)) > TRACE_ROWS:
                parts = [_thinned(np.concatenate(parts), TRACE_ROWS // 2)]
        self._thinned = np.concatenate(parts)
        self._recent = [recent[full:]] if full < len(recent) else []
        self._recent_rows = len(recent) - full


def _thinned(rows: np.ndarray, keep: int) -> np.ndarray:
    return rows[thin_rows(rows[:, 0], rows[:, 2], rows[:, 3], keep)]


@dataclass(frozen=True)
class RunResult:
    """One entrant's run with one seed, ended (or, for a live leaderboard, as it stands)."""

    entrant: str
    seed: int
    status: Status
    best_loss: float | None
    evaluations: int
    steps: int
    evaluations_to_target: int | None
    seconds: float
    trace: np.ndarray
    #: Step 0's evaluations, made while the run was prepared (outside ``seconds``).
    initial_evaluations: int = 0
    run_id: int | None = None
    #: Why the run ended as it did, if it did not simply finish (diverged, failed: step and θ).
    message: str = ""

    @property
    def evaluations_per_second(self) -> float | None:
        """Evaluations per second of advancing (step 0's, made while preparing, not counted);
        None for a run that made no step after step 0."""
        if self.steps == 0 or self.seconds <= 0:
            return None
        return (self.evaluations - self.initial_evaluations) / self.seconds

    @classmethod
    def of(cls, trace: RunTrace, entrant: str, seed: int, status: Status, run_id: int | None,
           message: str = "") -> RunResult:
        return cls(entrant, seed, status, trace.best_loss if math.isfinite(trace.best_loss) else None,
                   trace.evaluations, trace.steps, trace.evaluations_to_target, trace.seconds, trace.table(),
                   trace.initial_evaluations, run_id, message)


@dataclass(frozen=True)
class Standing:
    """An entrant on the leaderboard: its runs so far, in seed order, and their medians."""

    entrant: Entrant
    runs: tuple[RunResult, ...]
    #: Runs the race gives each entrant (its seeds).
    planned: int

    @property
    def best_losses(self) -> tuple[float | None, ...]:
        return tuple(run.best_loss for run in self.runs)

    @property
    def median_best_loss(self) -> float | None:
        return _finite(_median([math.inf if loss is None else loss for loss in self.best_losses]))

    @property
    def evaluations_to_target(self) -> tuple[int | None, ...]:
        return tuple(run.evaluations_to_target for run in self.runs)

    @property
    def reached(self) -> int:
        return sum(evaluations is not None for evaluations in self.evaluations_to_target)

    @property
    def median_evaluations_to_target(self) -> float | None:
        """Over the planned runs, a run that has not reached the target counting as never:
        None until more than half have reached it."""
        reached = [float(e) for e in self.evaluations_to_target if e is not None]
        return _finite(_median(reached + [math.inf] * (self.planned - len(reached))))

    @property
    def seconds(self) -> tuple[float, ...]:
        return tuple(run.seconds for run in self.runs)

    @property
    def evaluations_per_second(self) -> float | None:
        """Over its runs: their evaluations after step 0 per second of advancing."""
        seconds = sum(run.seconds for run in self.runs if run.steps)
        made = sum(run.evaluations - run.initial_evaluations for run in self.runs if run.steps)
        return made / seconds if seconds > 0 else None

    def sort_key(self) -> tuple[int, float]:
        """Entrants whose median run reached the target first, by its evaluations; the others
        by median best loss."""
        evaluations = self.median_evaluations_to_target
        if evaluations is not None:
            return 0, evaluations
        loss = self.median_best_loss
        return 1, math.inf if loss is None else loss


def leaderboard(standings: Sequence[Standing]) -> list[Standing]:
    """``standings`` ranked (:meth:`Standing.sort_key`; ties keep the entrants' order)."""
    return sorted(standings, key=Standing.sort_key)


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else math.inf


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


# -- curves over seeds ------------------------------------------------------------------
#: What a band can be drawn against: a trace's columns that only grow along a run.
BAND_AXES = ("evaluations", "seconds", "step")


@dataclass(frozen=True)
class Band:
    """An entrant's best loss so far against ``x`` over its runs: the median and the
    interquartile range (25th–75th percentile) at each of ``evaluations`` (the x values:
    evaluations, seconds or steps, see :func:`band`)."""

    evaluations: np.ndarray
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    x: str = "evaluations"


def band(runs: Sequence[RunResult], points: int = 256, log_x: bool = False, x: str = "evaluations") -> Band | None:
    """The :class:`Band` of ``runs`` against ``x`` (one of :data:`BAND_AXES`) on ``points``
    values from where every run has a row to where the longest ends (a run that ended
    early keeps its best); evenly spaced, or geometrically if ``log_x`` (from the least
    positive value: a log axis has no 0). None if a run has no rows."""
    column = TRACE_COLUMNS.index(x)
    traces = [run.trace for run in runs]
    if not traces or any(len(trace) == 0 for trace in traces):
        return None
    first = max(float(trace[0, column]) for trace in traces)
    last = max(float(trace[-1, column]) for trace in traces)
    if log_x:
        positive = [float(values[values > 0][0]) for values in (trace[:, column] for trace in traces)
                    if np.any(values > 0)]
        start = max(first, min(positive, default=1.0))
        grid = np.geomspace(start, max(last, start), points)
    else:
        grid = np.linspace(first, max(last, first), points)
    best = np.stack([trace[np.maximum(np.searchsorted(trace[:, column], grid, side="right") - 1, 0), 3]
                     for trace in traces])
    low, median, high = np.percentile(best, [25, 50, 75], axis=0)
    return Band(grid, median, low, high, x)
