"""The race's live leaderboard: one row per entrant, ranked as the core ranks them (by
evaluations to the target once the median run reached it, else by median best loss).

With one seed a row shows that run; with several, medians over the seeds so far, how
many of them reached the target and how many seeds have ended. Clicking a row selects
the entrant (the θ view, landscape and sliders follow it).
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from metalearn_gui.core.race_config import RaceConfig
from metalearn_gui.core.race_results import Standing
from metalearn_gui.core.status import Status
from metalearn_gui.plots.race_plot import entrant_color

COLUMNS = ("#", "entrant", "best loss", "evals to target", "reached", "evaluations", "wall time", "evals/s",
           "seeds done", "status")
TIPS = {
    "best loss": "lowest loss found (with several seeds: the median over them)",
    "evals to target": "evaluations until the best loss first reached the target (median over the seeds, "
                       "a seed that has not reached it counting as never); — until reached",
    "reached": "seeds whose run reached the target",
    "evaluations": "evaluations made by the run under way (or the last one)",
    "wall time": "seconds of the entrant's own advancing, summed over its seeds",
    "evals/s": "evaluations per second of advancing (step 0's initial design not counted)",
    "seeds done": "seeds whose run has ended, of those planned",
}
NUMERIC = {0, 2, 3, 5, 6, 7}
DASH = "—"


def _number(value: float | None, integer: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    return f"{value:,.0f}" if integer else f"{value:.4g}"


def _seconds(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:,.1f} s"


def cells(standing: Standing, rank: int, target: float | None) -> tuple[str, ...]:
    """A leaderboard row's texts."""
    runs = standing.runs
    ended = [run for run in runs if run.status.is_finished()]
    under_way = next((run for run in runs if not run.status.is_finished()), None)
    shown = under_way or (runs[-1] if runs else None)
    if under_way is not None:
        status = str(under_way.status)
    elif runs:
        counts: dict[str, int] = {}
        for run in runs:
            counts[str(run.status)] = counts.get(str(run.status), 0) + 1
        status = ", ".join(name if len(runs) == 1 else f"{count} {name}" for name, count in counts.items())
    else:
        status = str(Status.PREPARING)
    return (
        str(rank),
        standing.entrant.label,
        _number(standing.median_best_loss),
        _number(standing.median_evaluations_to_target, integer=True) if target is not None else "no target",
        f"{standing.reached} of {standing.planned}" if target is not None else DASH,
        _number(shown.evaluations if shown else None, integer=True),
        _seconds(sum(run.seconds for run in runs)) if runs else DASH,
        _number(standing.evaluations_per_second, integer=True),
        f"{len(ended)} of {standing.planned}",
        status,
    )


class Leaderboard(QTableWidget):
    """Emits ``entrant_selected(label)`` when the user clicks an entrant's row."""

    entrant_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        for column, name in enumerate(COLUMNS):
            header_item = self.horizontalHeaderItem(column)
            if name in TIPS and header_item is not None:
                header_item.setToolTip(TIPS[name])
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)  # bold marks the selected
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space stays the window's pause
        self._fit_columns()
        self.config: RaceConfig | None = None
        self.labels: list[str] = []
        self.selected = ""
        self.rows: list[tuple[str, ...]] = []
        self.cellClicked.connect(self._on_cell_clicked)

    def set_race(self, config: RaceConfig, labels: list[str]) -> None:
        """A new race (``labels``: its entrants that run, colours in this order)."""
        self.config, self.labels = config, list(labels)
        self.selected = labels[0] if labels else ""
        self.rows = []
        self.setRowCount(0)  # the last race's cells go (an entrant of the same name may have another colour)
        self.show_standings([])

    def select(self, label: str) -> None:
        self.selected = label
        self._highlight()

    def show_standings(self, standings: list[Standing]) -> None:
        """Rows in the leaderboard's order; entrants without a run yet at the end."""
        target = self.config.target if self.config is not None else None
        listed = {standing.entrant.label for standing in standings}
        rows = [cells(standing, rank, target) for rank, standing in enumerate(standings, 1)]
        rows += [("", label, DASH, DASH, DASH, DASH, DASH, DASH, DASH, "waiting")
                 for label in self.labels if label not in listed]
        shown, self.rows = self.rows, rows
        # Columns fitted once, after the cells changed: fitted to their contents, the table
        # measures every column again at each cell's change.
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        try:
            self._show_rows(rows, shown)
        finally:
            self._fit_columns()
        if [texts[1] for texts in shown] != [texts[1] for texts in rows]:  # rows moved: the bold follows
            self._highlight()

    def _fit_columns(self) -> None:
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)

    def _show_rows(self, rows: list[tuple[str, ...]], shown: list[tuple[str, ...]]) -> None:
        self.setRowCount(len(rows))
        for row, texts in enumerate(rows):
            before = shown[row] if row < len(shown) else ()
            for column, text in enumerate(texts):
                # Only the cells that changed (a few of thirty): while a race runs, every call
                # into Qt waits for the worker to hand back the GIL.
                if column < len(before) and before[column] == text:
                    continue  # a row shown before has its items
                item = self.item(row, column)
                if item is None:
                    item = QTableWidgetItem()
                    if column in NUMERIC:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    self.setItem(row, column, item)
                item.setText(("■ " + text) if column == 1 else text)
                if column == 1 and text in self.labels:
                    item.setForeground(QColor(entrant_color(self.labels.index(text))))

    def _highlight(self) -> None:
        """Bold for the selected entrant's row (selection colours would hide the entrant's)."""
        for row, texts in enumerate(self.rows):
            for column in range(len(COLUMNS)):
                item = self.item(row, column)
                if item is None:
                    continue
                font = item.font()
                font.setBold(texts[1] == self.selected)
                item.setFont(font)

    def _on_cell_clicked(self, row: int, _column: int) -> None:
        if row < len(self.rows) and self.rows[row][1] in self.labels:
            self.select(self.rows[row][1])
            self.entrant_selected.emit(self.rows[row][1])
