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
    can show. The last row is always kept, so "current" values stay exact.
    """
    count = len(loss)
    if count <= target or target < 4:
        return np.arange(count)
    bucket = int(np.ceil(2 * count / target))
    starts = np.arange(0, count, bucket)
    # Pad the partial last bucket with its own last value so it reshapes with the rest.
    padded = np.concatenate([loss, np.full(len(starts) * bucket - count, loss[-1])])
    grouped = padded.reshape(-1, bucket)
    keep = np.concatenate([
        starts + np.argmin(grouped, axis=1),
        starts + np.argmax(grouped, axis=1),
        [count - 1],
    ])
    keep = np.minimum(keep, count - 1)  # a padded position stands for the last row
    return np.unique(keep)


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
        rows = np.empty((count, self._data.shape[1]))
        rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3] = step, loss, best_loss, evaluations
        for name in self.extra_names:
            values = (extras or {}).get(name)
            rows[:, self._column[name]] = np.nan if values is None else np.asarray(values, float).reshape(count)
        rows[:, self._theta] = theta
        self.rows_seen += count
        if count > self.capacity // 4:  # leave room for old rows beside the exact newest half
            rows = rows[thin_indices(rows[:, 1], self.capacity // 4)]
            count = len(rows)
        while self._size + count > self.capacity:
            self._thin_old_rows(count)
        self._reserve(self._size + count)
        self._data[self._size : self._size + count] = rows
        self._size += count

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
