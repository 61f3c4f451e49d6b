"""A run's bounded history: recent steps at full resolution, older ones thinned.

A gradient run makes millions of steps per second, so keeping every row would grow
memory without bound. :class:`History` stores rows (step, loss, best, evaluations,
θ, learner extras) in one float64 matrix of at most ``capacity`` rows; when it is
full, the rows older than the newest half are thinned 2:1 keeping each bucket's
lowest- and highest-loss rows, so spikes and dips survive while the newest half
stays step-exact. Old rows are thinned again each time, so the further back, the sparser.
"""

from __future__ import annotations

import logging
from typing import Mapping

import numpy as np

log = logging.getLogger(__name__)

#: Rows per bucket when thinning; each bucket keeps 2 (its min- and max-loss rows).
BUCKET = 4
BASE_COLUMNS = ("step", "loss", "best_loss", "evaluations")
#: Small enough for tests; large enough that thinning always makes progress.
MIN_CAPACITY = 64


def thin_indices(loss: np.ndarray, target: int) -> np.ndarray:
    """Indices (sorted) of about ``target`` rows keeping every bucket's min and max ``loss``.

    Used on old history and to shrink a chunk that holds more rows than any plot
    can show. The last row is always kept, so "current" values stay exact. Runs on
    the GUI thread every frame: linear, no sorting.
    """
    count = len(loss)
    if count <= target or target < 4:
        return np.arange(count)
    bucket = int(np.ceil(2 * count / target))
    whole = count - count % bucket
    parts = [_bucket_extremes(loss[:whole].reshape(-1, bucket), 0)]
    if whole < count:
        parts.append(_bucket_extremes(loss[whole:].reshape(1, -1), whole))
    parts.append(np.array([count - 1]))
    keep = np.concatenate(parts)
    return keep[np.concatenate([[True], np.diff(keep) > 0])]  # drop repeats (min = max, last row)


def _bucket_extremes(grouped: np.ndarray, offset: int) -> np.ndarray:
    """Each row's argmin and argmax (in index order), as indices into the flat array."""
    low, high = grouped.argmin(axis=1), grouped.argmax(axis=1)
    starts = offset + np.arange(len(grouped)) * grouped.shape[1]
    return np.column_stack([starts + np.minimum(low, high), starts + np.maximum(low, high)]).ravel()


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
        Most rows held; the newest ``capacity // 2`` rows are never thinned (a single
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
        #: Rows ever appended (thinned ones included).
        self.rows_seen = 0

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def append(self, step: np.ndarray, loss: np.ndarray, best_loss: np.ndarray,
               evaluations: np.ndarray, theta: np.ndarray,
               extras: Mapping[str, np.ndarray] | None = None) -> None:
        """Append consecutive rows; extras not named at construction are ignored."""
        count = len(step)
        if count == 0:
            return
        rows = as_rows(self.extra_names, step, loss, best_loss, evaluations, theta, extras)
        self.rows_seen += count
        if count > self.capacity // 4:  # leave room for old rows beside the exact newest half
            rows = rows[thin_indices(rows[:, 1], self.capacity // 4)]
            count = len(rows)
        while self._size + count > self.capacity:
            self._thin_old_rows(count)
        self._reserve(self._size + count)
        self._data[self._size : self._size + count] = rows
        self._size += count

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

    def column(self, name: str) -> np.ndarray:
        """A view of one column (``step``, ``loss``, ``best_loss``, ``evaluations`` or an extra)."""
        return self._data[: self._size, self._column[name]]

    def theta(self) -> np.ndarray:
        """A view of θ per row, shape ``(len, dim)``."""
        return self._data[: self._size, self._theta]

    def clear(self) -> None:
        self._size = 0
        self.rows_seen = 0

    def _reserve(self, rows: int) -> None:
        if rows <= len(self._data):
            return
        grown = np.empty((min(self.capacity, max(rows, 2 * len(self._data))), self._data.shape[1]))
        grown[: self._size] = self._data[: self._size]
        self._data = grown

    def _thin_old_rows(self, incoming: int) -> None:
        """Halve the rows that will not be among the newest ``capacity // 2`` after
        ``incoming`` more rows arrive."""
        old = self._size - max(self.capacity // 2 - incoming, 0)
        keep = thin_indices(self._data[:old, 1], old // 2)
        kept = len(keep)
        self._data[:kept] = self._data[keep]
        self._data[kept : self._size - old + kept] = self._data[old : self._size]
        self._size -= old - kept
        log.debug("history thinned: %d old rows -> %d", old, kept)
