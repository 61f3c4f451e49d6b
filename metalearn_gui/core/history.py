"""A run's bounded history, and the one thinning rule that keeps its shape at every scale.

A gradient run makes millions of steps per second, so keeping every row would grow
memory without bound. :class:`History` stores rows (step, loss, best, evaluations,
θ, learner extras) in one float64 matrix of at most ``capacity`` rows; when it is
full, the rows older than the newest quarter are thinned to half the capacity with
:func:`thin_rows`. The window's history, the worker's chunks, the run store and the
TensorBoard log all thin with that one rule, so the window, the stored run and its
exports show the same rows.

The rule (:func:`thin_rows`): every row up to a knee step is kept (the early steps
at full resolution); beyond it, rows are grouped into buckets by step, each a fixed
fraction of its step wide (geometric spacing, so a log-scaled step axis is evenly
dense), the fraction the smallest that fits the target. Each bucket keeps its
lowest- and highest-loss rows (spikes and dips survive) and its first improvement
of the best-so-far loss; the lowest-loss row is its last one.
So every improvement survives unless more than two fall in one bucket, as when the
best loss improves at almost every step (a smooth gradient descent), whose shape the
extremes already keep.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

import numpy as np

log = logging.getLogger(__name__)

BASE_COLUMNS = ("step", "loss", "best_loss", "evaluations")
#: Small enough for tests; large enough that thinning always makes progress.
MIN_CAPACITY = 64
#: Steps per bucket up to which thinning keeps every step (a bucket keeps two rows).
WHOLE_WIDTH = 2.0
#: When a history is full, its newest ``capacity // EXACT_SHARE`` rows stay exact and
#: the older ones are thinned to ``capacity // THINNED_SHARE``.
EXACT_SHARE = 4
THINNED_SHARE = 2


def thin_rows(step: np.ndarray, loss: np.ndarray, best_loss: np.ndarray, target: int) -> np.ndarray:
    """Indices (sorted) of at most ``target`` rows (up to 7 for a smaller ``target``) that
    keep the shape of the run at every scale: every row up to a knee step, then per
    geometric bucket of steps its extremes and first improvement, and the last row
    (see the module docstring).

    ``step`` must be ascending. Linear in the number of rows, no sorting: it runs on the
    GUI thread when the window's history fills.
    """
    count = len(step)
    if count <= target:
        return np.arange(count)
    # Searched with float keys dozens of times below: an integer array would be converted
    # to float by every search (measured: 30 ms instead of 3 for a 700,000-row chunk).
    step = np.asarray(step, dtype=np.float64)
    improvements = int(np.count_nonzero(best_loss[1:] < best_loss[:-1]))
    budget = max(target - 2 - min(improvements, target // 4), 2)
    while True:
        whole, edges = geometric_layout(step, budget)
        tail = bucket_rows(loss[whole:], best_loss[whole:], bucket_starts(step[whole:], edges))
        keep = np.concatenate([np.arange(whole), whole + tail])
        if len(keep) <= target or budget == 2:
            return keep
        # More buckets than guessed held an improvement besides their extremes: fewer buckets.
        budget = max(budget * (target - 2) // (len(keep) - 2) - 1, 2)


def geometric_layout(step: np.ndarray, budget: int) -> tuple[int, np.ndarray]:
    """How to thin the ascending ``step`` to about ``budget`` rows: keep its first
    ``whole`` rows (steps below the knee 2 / g), and bucket the rest at the inner
    ``edges``, each bucket a fraction g of its step wide, g the smallest that fits."""
    first, last = float(step[0]), float(step[-1])

    def layout(growth: float) -> tuple[int, float, int]:
        knee = WHOLE_WIDTH / growth
        start = max(first, knee)
        buckets = math.ceil(math.log(last / start) / math.log1p(growth)) if last > start else 0
        return int(np.searchsorted(step, knee)), start, buckets

    def rows(growth: float) -> int:
        whole, _, buckets = layout(growth)
        return whole + 2 * buckets

    low, high = WHOLE_WIDTH / (last + 1.0), 1e9  # every row whole … one bucket
    if rows(high) < budget:
        for _ in range(30):  # in log space: ample precision for a layout
            middle = math.sqrt(low * high)
            low, high = (middle, high) if rows(middle) > budget else (low, middle)
    whole, start, buckets = layout(high)
    return whole, start * (1.0 + high) ** np.arange(1, buckets)


def bucket_starts(step: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """First row of each non-empty bucket, for ascending inner bucket ``edges`` (a step
    equal to an edge opens the next bucket)."""
    starts = np.concatenate([[0], np.searchsorted(step, edges)])
    starts = starts[starts < len(step)]
    return starts[np.concatenate([[True], np.diff(starts) > 0])]


def bucket_rows(loss: np.ndarray, best_loss: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Indices (sorted) of the first and last rows and, in each bucket (``starts``: its
    first rows, ascending, from 0), the lowest- and highest-loss rows and the first row
    whose ``best_loss`` is below the row before. A NaN loss counts as the highest."""
    count = len(loss)
    if count == 0:
        return np.arange(0)
    lowest, highest = np.minimum.reduceat(loss, starts), np.maximum.reduceat(loss, starts)
    if np.isnan(highest).any():  # NaN spreads through reduceat: redo with NaN as +∞
        loss = np.where(np.isnan(loss), np.inf, loss)
        lowest, highest = np.minimum.reduceat(loss, starts), np.maximum.reduceat(loss, starts)
    sizes = np.diff(np.append(starts, count))
    keep = np.zeros(count, dtype=bool)
    keep[[0, -1]] = True
    for extremes in (lowest, highest):
        keep[_first_in_bucket(np.flatnonzero(loss == np.repeat(extremes, sizes)), starts, count)] = True
    improved = np.flatnonzero(best_loss[1:] < best_loss[:-1]) + 1
    keep[_first_in_bucket(improved, starts, count)] = True
    return np.flatnonzero(keep)


def _first_in_bucket(rows: np.ndarray, starts: np.ndarray, count: int) -> np.ndarray:
    """The first of ``rows`` (ascending) in each bucket that has any."""
    if len(rows) == 0:
        return rows
    first = rows[np.minimum(np.searchsorted(rows, starts), len(rows) - 1)]
    ends = np.append(starts[1:], count)
    return first[(first >= starts) & (first < ends)]


def thin_table(rows: np.ndarray, target: int) -> np.ndarray:
    """:func:`thin_rows` on rows in :class:`History`'s column layout."""
    return rows[thin_rows(rows[:, 0], rows[:, 1], rows[:, 2], target)]


def as_rows(extra_names: tuple[str, ...], step: np.ndarray, loss: np.ndarray, best_loss: np.ndarray,
            evaluations: np.ndarray, theta: np.ndarray,
            extras: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Rows in :class:`History`'s column layout: step, loss, best_loss, evaluations, the
    named extras (NaN where missing), θ. Shared with the run store, which writes this layout."""
    count = len(step)
    first_extra = len(BASE_COLUMNS)
    first_theta = first_extra + len(extra_names)
    rows = np.empty((count, first_theta + np.shape(theta)[1]))
    rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3] = step, loss, best_loss, evaluations
    for offset, name in enumerate(extra_names):
        values = (extras or {}).get(name)
        rows[:, first_extra + offset] = np.nan if values is None else np.asarray(values, float).reshape(count)
    rows[:, first_theta:] = theta
    return rows


class History:
    """Rows of one run, bounded to ``capacity`` rows (see the module docstring).

    Parameters
    ----------
    dim:
        Length of θ.
    extras:
        Names of the learner's per-step scalar extras to keep.
    capacity:
        Most rows held; the newest ``capacity // 4`` rows are never thinned (a single
        append of more than ``capacity // 4`` rows is itself thinned first).
    """

    def __init__(self, dim: int, extras: tuple[str, ...] = (), capacity: int = 200_000) -> None:
        if capacity < MIN_CAPACITY:
            raise ValueError(f"capacity must be at least {MIN_CAPACITY}, got {capacity}")
        self.dim = dim
        self.capacity = capacity
        self.extra_names = tuple(extras)
        names = BASE_COLUMNS + self.extra_names
        self._column = {name: i for i, name in enumerate(names)}
        self._theta = slice(len(names), len(names) + dim)
        self._data = np.empty((min(capacity, 4096), len(names) + dim))
        self._size = 0
        #: Steps ever appended (thinned ones included).
        self.rows_seen = 0
        #: Changes with every append and clear: what a drawing may cache its rows by.
        self.version = 0

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    @property
    def append_limit(self) -> int:
        """Most rows one :meth:`append` keeps (more are thinned by :func:`thin_rows` first)."""
        return self.capacity // EXACT_SHARE

    def append(self, step: np.ndarray, loss: np.ndarray, best_loss: np.ndarray,
               evaluations: np.ndarray, theta: np.ndarray,
               extras: Mapping[str, np.ndarray] | None = None) -> None:
        """Append rows of consecutive steps (possibly already thinned: the steps they stand
        for count as seen); extras not named at construction are ignored."""
        count = len(step)
        if count == 0:
            return
        self.rows_seen += int(step[-1] - step[0]) + 1
        if count > self.append_limit:  # leave room for the old rows beside it
            # Pick the rows first, then lay out only those: a fast run's chunk has
            # hundreds of thousands of rows, and its full table would be ~100 MB.
            keep = thin_rows(step, loss, best_loss, self.append_limit)
            step, loss, best_loss, evaluations, theta = (np.asarray(values)[keep] for values in
                                                        (step, loss, best_loss, evaluations, theta))
            extras = {name: np.asarray(values).reshape(count)[keep] for name, values in (extras or {}).items()
                      if name in self.extra_names}
            count = len(keep)
        rows = as_rows(self.extra_names, step, loss, best_loss, evaluations, theta, extras)
        while self._size + count > self.capacity:
            self._thin_old_rows(count)
        self._reserve(self._size + count)
        self._data[self._size : self._size + count] = rows
        self._size += count
        self.version += 1

    def table(self) -> np.ndarray:
        """A view of all rows: columns step, loss, best_loss, evaluations, the extras, θ."""
        return self._data[: self._size]

    @classmethod
    def from_table(cls, dim: int, extras: tuple[str, ...], table: np.ndarray, rows_seen: int,
                   capacity: int) -> History:
        """A history holding exactly ``table``'s rows (e.g. read back from the run store);
        ``capacity`` grows to fit them if needed."""
        history = cls(dim, extras, capacity=max(capacity, len(table)))
        history._reserve(len(table))
        history._data[: len(table)] = table
        history._size = len(table)
        history.rows_seen = rows_seen
        return history

    def loss_curve(self) -> History:
        """A copy keeping only each row's step, loss, best loss and evaluations (no θ, no
        extras): what a curve drawn beside the run needs, at a fraction of a long run's memory."""
        return History.from_table(0, (), self._data[:self._size, :len(BASE_COLUMNS)].copy(),
                                  self.rows_seen, self.capacity)

    def column(self, name: str) -> np.ndarray:
        """A view of one column (``step``, ``loss``, ``best_loss``, ``evaluations`` or an extra)."""
        return self._data[: self._size, self._column[name]]

    def theta(self) -> np.ndarray:
        """A view of θ per row, shape ``(len, dim)``."""
        return self._data[: self._size, self._theta]

    def _reserve(self, rows: int) -> None:
        if rows <= len(self._data):
            return
        grown = np.empty((min(self.capacity, max(rows, 2 * len(self._data))), self._data.shape[1]))
        grown[: self._size] = self._data[: self._size]
        self._data = grown

    def _thin_old_rows(self, incoming: int) -> None:
        """Thin the rows that will not be among the newest ``capacity // EXACT_SHARE``
        after ``incoming`` more rows arrive to ``capacity // THINNED_SHARE`` rows."""
        old = self._size - max(self.capacity // EXACT_SHARE - incoming, 0)
        kept_rows = thin_table(self._data[:old], self.capacity // THINNED_SHARE)
        kept = len(kept_rows)
        self._data[:kept] = kept_rows
        self._data[kept : self._size - old + kept] = self._data[old : self._size]
        self._size -= old - kept
        log.debug("history thinned: %d old rows -> %d", old, kept)
