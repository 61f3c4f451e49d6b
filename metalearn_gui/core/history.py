"""A run's bounded history: recent steps at full resolution, older ones thinned.

A gradient run makes millions of steps per second, so keeping every row would grow
memory without bound. :class:`History` stores rows (step, loss, best, evaluations,
θ, learner extras) in one float64 matrix of at most ``capacity`` rows; when it is
full, the older half is thinned 2:1 keeping each bucket's lowest- and highest-loss
rows, so spikes and dips survive while the newest half stays step-exact.
"""

from __future__ import annotations

import logging
from typing import Mapping

import numpy as np

log = logging.getLogger(__name__)

#: Rows per bucket when thinning; each bucket keeps 2 (its min- and max-loss rows).
BUCKET = 4
BASE_COLUMNS = ("step", "loss", "best_loss", "evaluations")


def thin_indices(loss: np.ndarray, target: int) -> np.ndarray:
    """Indices (sorted) of about ``target`` rows keeping every bucket's min and max ``loss``.

    Used on old history and to shrink a chunk that holds more rows than any plot
    can show. The last row is always kept, so "current" values stay exact.
    """
    count = len(loss)
    if count <= target or target < 4:
        return np.arange(count)
    bucket = int(np.ceil(2 * count / target))
    whole = (count // bucket) * bucket
    grouped = loss[:whole].reshape(-1, bucket)
    starts = np.arange(0, whole, bucket)
    keep = np.concatenate([
        starts + np.argmin(grouped, axis=1),
        starts + np.argmax(grouped, axis=1),
        np.arange(whole, count),  # the partial last bucket is kept whole
        [count - 1],
    ])
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
        Most rows held; the newest ``capacity // 2`` rows are never thinned.
    """

    def __init__(self, dim: int, extras: tuple[str, ...] = (), capacity: int = 200_000) -> None:
        if capacity < 4 * BUCKET:
            raise ValueError(f"capacity must be at least {4 * BUCKET}, got {capacity}")
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
        if count > self.capacity // 2:  # more than the full-resolution half: thin it first
            rows = rows[thin_indices(rows[:, 1], self.capacity // 2)]
            count = len(rows)
        while self._size + count > self.capacity:
            self._thin_older_half()
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

    def _thin_older_half(self) -> None:
        half = self._size // 2
        older = self._data[:half]
        keep = thin_indices(older[:, 1], max(half // 2, BUCKET))
        kept = len(keep)
        self._data[:kept] = older[keep]
        self._data[kept : kept + self._size - half] = self._data[half : self._size]
        self._size = kept + self._size - half
        log.debug("history thinned: %d old rows -> %d", half, kept)
