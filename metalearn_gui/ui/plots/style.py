"""Shared plot look: colours that read on light and dark palettes, labelled axes, fast curves."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

#: Colour-blind-safe (Okabe–Ito-like) colours, readable on white and on near-black.
LOSS = "#0072B2"
BEST = "#D55E00"
SMOOTH = "#009E73"
GHOST = (150, 150, 150, 140)
MARKER = "#CC79A7"
DIVERGED = "#E03030"
SERIES = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B", "#7F7F7F",
          "#BCBD22", "#17BECF", "#9467BD", "#F0E442")
#: Most points drawn for secondary curves (θ, learner view); the loss plot shows all.
MAX_POINTS = 5000


def apply_palette() -> None:
    """Follow the system's light/dark palette (pyqtgraph defaults to black)."""
    palette = QApplication.palette()
    pg.setConfigOptions(
        background=palette.color(QPalette.ColorRole.Base),
        foreground=palette.color(QPalette.ColorRole.Text),
        antialias=False,
    )


def is_dark() -> bool:
    return QApplication.palette().color(QPalette.ColorRole.Base).lightness() < 128


def pen(color, width: float = 1, style=None) -> pg.QtGui.QPen:
    qpen = pg.mkPen(color, width=width)
    if style is not None:
        qpen.setStyle(style)
    qpen.setCosmetic(True)
    return qpen


def setup_plot(plot: pg.PlotItem, x_label: str, y_label: str) -> pg.PlotItem:
    """Labelled axes, a light grid, and the fast path for long curves."""
    font = QFont()
    font.setPointSizeF(max(QApplication.font().pointSizeF() - 1, 8))
    for name in ("left", "bottom"):
        plot.getAxis(name).setTickFont(font)
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.setMenuEnabled(False)
    return plot


def decimated(count: int, limit: int = MAX_POINTS) -> np.ndarray | slice:
    """Rows to draw out of ``count``: all, or an even stride that keeps the last row."""
    if count <= limit:
        return slice(None)
    stride = int(np.ceil(count / limit))
    return np.unique(np.append(np.arange(0, count, stride), count - 1))


def finite_or_nan(values: np.ndarray, positive: bool = False) -> np.ndarray:
    """Non-finite (and, for log axes, non-positive) values become NaN: drawn as gaps."""
    values = np.asarray(values, dtype=float)
    bad = ~np.isfinite(values)
    if positive:
        bad |= values <= 0
    if bad.any():
        values = np.where(bad, np.nan, values)
    return values


class PlotPanel(QWidget):
    """A titled frame with a row of options above a pyqtgraph widget."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        self.header = QHBoxLayout()
        self.title = QLabel(f"<b>{title}</b>")
        self.header.addWidget(self.title)
        self.header.addStretch(1)
        layout.addLayout(self.header)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.graphics, 1)
        self.note = QLabel("")
        self.note.setStyleSheet("color: gray;")
        self.header.insertWidget(1, self.note)

    def add_checkbox(self, text: str, tip: str, checked: bool = False) -> QCheckBox:
        box = QCheckBox(text)
        box.setToolTip(tip)
        box.setChecked(checked)
        self.header.addWidget(box)
        return box


def mix(color: str, alpha: int) -> QColor:
    qcolor = QColor(color)
    qcolor.setAlpha(alpha)
    return qcolor
