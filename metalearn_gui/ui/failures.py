"""Failed evaluations of a user objective (raised, timed out, answered no number): the run
goes on with their loss NaN; the status bar names the latest, and a table lists them."""

from __future__ import annotations

from collections import deque

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from metalearn_gui.core.evaluation import FailedEvaluation, format_theta
from metalearn_gui.core.events import EvaluationsFailed

#: Failures a run keeps for the table (the newest; the count covers them all).
FAILURES_KEPT = 1000
WARNING_STYLE = "color: #b7791f;"


def failure_line(total: int, latest: FailedEvaluation) -> str:
    """``3 evaluations failed — latest at step 12, θ = [0.1, 2]: ValueError: …``"""
    count = f"{total:,} evaluation{'s' if total != 1 else ''} failed"
    return f"{count} — latest at step {latest.step:,}, θ = {format_theta(latest.theta)}: {latest.message}"


class FailureLog:
    """One run's failed evaluations: the newest :data:`FAILURES_KEPT` and how many in all."""

    def __init__(self) -> None:
        self.kept: deque[FailedEvaluation] = deque(maxlen=FAILURES_KEPT)
        self.total = 0

    def add(self, event: EvaluationsFailed) -> None:
        self.kept.extend(event.failures)
        self.total = event.total

    def line(self) -> str:
        return failure_line(self.total, self.kept[-1]) if self.kept else ""


class ElidedLabel(QLabel):
    """A one-line label that ends in … where it does not fit, rather than widening the window;
    a click on it is ``clicked``."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # Qt override
        if event.button() == Qt.MouseButton.LeftButton and self.text():
            self.clicked.emit()
        super().mousePressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # Qt override
        painter = QPainter(self)
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)


class FailedEvaluationsDialog(QDialog):
    """The run's failed evaluations, newest first: step, θ and message."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Failed evaluations")
        self.resize(760, 360)
        layout = QVBoxLayout(self)
        self.heading = QLabel()
        layout.addWidget(self.heading)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Step", "θ", "Message"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)

    def show_log(self, log: FailureLog) -> None:
        kept = list(reversed(log.kept))
        shown = "" if len(kept) == log.total else f"; the latest {len(kept):,} are listed"
        self.heading.setText(f"{log.total:,} evaluation{'s' if log.total != 1 else ''} of this run failed "
                             f"(their loss counts as NaN){shown}." if log.total else
                             "No evaluation of this run has failed.")
        self.table.setRowCount(len(kept))
        for row, failure in enumerate(kept):
            theta = QTableWidgetItem(format_theta(failure.theta))
            theta.setToolTip(np.array2string(np.asarray(failure.theta), precision=6, max_line_width=100))
            message = QTableWidgetItem(failure.message)
            message.setToolTip(failure.message)
            step = QTableWidgetItem(f"{failure.step:,}")
            step.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for column, item in enumerate((step, theta, message)):
                self.table.setItem(row, column, item)
