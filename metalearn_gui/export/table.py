"""A run's rows as CSV: ``step,loss,best_loss,evaluations,theta_0…theta_{D-1}``.

The command line streams chunks with :class:`CsvWriter` (``run --csv``); an export
writes a record's whole history with a last column ``change`` naming the
hyper-parameter changes made at that step (:func:`write_history_csv`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import IO

import numpy as np

from metalearn_gui.core.history import BASE_COLUMNS, History
from metalearn_gui.core.hyperparams import Change
from metalearn_gui.core.learners import Chunk
from metalearn_gui.core.record import RunRecord


class CsvWriter:
    """Writes rows as they come, so long runs never hold their history in memory.

    With ``notes``, a last column ``change`` holds each row's note; a non-finite value
    is written as an empty cell, and the note names its column.
    """

    def __init__(self, file: IO[str], dim: int, notes: bool = False) -> None:
        self._file = file
        self.columns = list(BASE_COLUMNS) + [f"theta_{i}" for i in range(dim)]
        self._format = ["%d", "%.17g", "%.17g", "%d"] + ["%.17g"] * dim
        self._notes = notes
        self._csv = csv.writer(file, lineterminator="\n")
        self._csv.writerow(self.columns + (["change"] if notes else []))

    def write(self, chunk: Chunk) -> None:
        self.write_table(np.column_stack([chunk.step, chunk.loss, chunk.best_loss, chunk.evaluations,
                                          chunk.theta]))

    def write_table(self, table: np.ndarray, notes: Iterable[str] | None = None) -> None:
        """``table``: one row per step, in :attr:`columns` order."""
        if len(table) == 0:
            return
        if not self._notes:  # the fast path: chunks hold finite values only
            np.savetxt(self._file, table, fmt=self._format, delimiter=",")
            return
        for row, note in zip(table, notes if notes is not None else repeat(""), strict=False):
            finite = np.isfinite(row)
            cells = [fmt % value if ok else "" for fmt, value, ok in zip(self._format, row, finite, strict=True)]
            if not finite.all():
                missing = ", ".join(name for name, ok in zip(self.columns, finite, strict=True) if not ok)
                note = "; ".join(filter(None, (note, f"not finite: {missing}")))
            self._csv.writerow([*cells, note])


def write_history_csv(file: IO[str], record: RunRecord) -> None:
    """Every row of ``record``'s history, with its hyper-parameter changes as notes."""
    history = record.history
    writer = CsvWriter(file, history.dim, notes=True)
    writer.write_table(history_table(history), change_notes(history.column("step"), record.changes))


def history_table(history: History) -> np.ndarray:
    return np.column_stack([history.column(name) for name in BASE_COLUMNS] + [history.theta()])


def change_notes(steps: np.ndarray, changes: Sequence[Change]) -> list[str]:
    """Per row, its changes as ``name: old -> new`` (joined by ``; ``). A change goes on the
    row of its step, or the next row kept if the history thinned that step away."""
    notes: list[list[str]] = [[] for _ in steps]
    if len(steps):
        for step, name, old, new in changes:
            row = min(int(np.searchsorted(steps, step)), len(steps) - 1)
            notes[row].append(f"{name}: {old} -> {new}")
    return ["; ".join(row) for row in notes]
