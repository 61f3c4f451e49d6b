"""Shared plot look: colours that read on light and dark palettes, labelled axes, fast curves."""

from __future__ import annotations

import math
import weakref

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from metalearn_gui.core.history import History, bucket_rows, bucket_starts

#: Colour-blind-safe (Okabe–Ito-like) colours, readable on white and on near-black.
LOSS = "#0072B2"
BEST = "#D55E00"
SMOOTH = "#009E73"
GHOST = (150, 150, 150, 140)
MARKER = "#CC79A7"
DIVERGED = "#E03030"
RESTART = "#E69F00"
HELDOUT = "#9467BD"
BASELINE = "#7F7F7F"
SERIES = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B", "#7F7F7F",
          "#BCBD22", "#17BECF", "#9467BD", "#F0E442")
#: Most points drawn per curve: a plot is ~500–1000 px wide,
#: and every point costs time in each frame.
MAX_POINTS = 2000
#: The step axis's names. A log axis cannot show step 0, so it shows step + 1 (step 0 at 1).
STEP_LABEL, LOG_STEP_LABEL = "step", "step + 1"
#: Where axes scale their labels by an SI factor: only huge values. pyqtgraph's default
#: also scales values below 1, labelling a ±0.5 range "-500 … 500 (x0.001)".
SI_PREFIX_RANGES = ((1e9, float("inf")),)


def apply_palette() -> None:
    """Follow the system's light/dark palette (pyqtgraph defaults to black)."""
    palette = QApplication.palette()
    pg.setConfigOptions(
        background=palette.color(QPalette.ColorRole.Base),
        foreground=palette.color(QPalette.ColorRole.Text),
        antialias=False,
    )


def pen(color, width: float = 1, style=None) -> pg.QtGui.QPen:
    qpen = pg.mkPen(color, width=width)
    if style is not None:
        qpen.setStyle(style)
    qpen.setCosmetic(True)
    return qpen


def setup_plot(plot: pg.PlotItem, x_label: str, y_label: str) -> pg.PlotItem:
    """Labelled axes with small tick text, laid out once: no grid, a fixed-width left axis."""
    font = QFont()
    font.setPointSizeF(max(QApplication.font().pointSizeF() - 1, 8))
    for name in ("left", "bottom"):
        plot.getAxis(name).setTickFont(font)
    set_label(plot, "bottom", x_label)
    set_label(plot, "left", y_label)
    # A fixed width: an axis that widens to new tick labels re-lays out the whole plot,
    # which doubled the cost of every frame whose y range moved.
    plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
    # No grid: translucent grid lines doubled the cost of every frame (software raster).
    plot.setMenuEnabled(False)
    return plot


#: How far ahead of the data a followed x range reaches (1.5: 50 % room to grow).
X_HEADROOM = 1.5
#: The widest range of a log axis, in decades from 10⁰: float64 ends near 10³⁰⁸, and
#: pyqtgraph's tick maths overflows ("overflow encountered in power") beyond it.
LOG_DECADES = 300.0
#: Room above and below the data when a followed y range moves, as a share of its span,
#: and on a side the data crossed: a falling loss then crosses the edge (re-laying out
#: the axes, the costliest part of a frame) every few seconds, not every few frames.
Y_MARGIN = 0.05
Y_HEADROOM = 0.5
LEFT_AXIS_WIDTH = 56
#: The least a followed range shows: whole steps from the start (not 0 … 1.5 around step 0),
#: and whole decades on a log axis (within one, pyqtgraph labels every 2·10², 3·10²…).
MIN_STEPS_SHOWN = 10
MIN_DECADES_SHOWN = 3


def set_label(plot: pg.PlotItem, side: str, text: str) -> None:
    """Name an axis. pyqtgraph resets the axis's SI-prefix ranges with every label, so
    they are set here: none on a log axis (the prefix would turn "10⁵" into
    "10⁻²² (x1e+27)" on a diverging run), :data:`SI_PREFIX_RANGES` otherwise."""
    axis = plot.getAxis(side)
    axis.setLabel(text, siPrefixEnableRanges=() if axis.logMode else SI_PREFIX_RANGES)
    axis.updateAutoSIPrefix()


def set_log_y(plot: pg.PlotItem, log_y: bool, label: str) -> None:
    """Log or linear y, labelled ``label``. Like any change of axis mode, this resumes
    following the data (:func:`follow_data`): pyqtgraph re-enables auto-range."""
    _set_log(plot, "left", log_y)
    set_label(plot, "left", label)


def set_log_x(plot: pg.PlotItem, log_x: bool) -> None:
    """A log or linear step axis (see :func:`plotted_steps`); resumes following the data."""
    _set_log(plot, "bottom", log_x, offset=1.0)
    set_label(plot, "bottom", LOG_STEP_LABEL if log_x else STEP_LABEL)


def set_log_axis(plot: pg.PlotItem, side: str, log: bool) -> None:
    """A log or linear ``side`` axis of values drawn as they are (no step + 1), its range
    converted at once; resumes following the data."""
    _set_log(plot, side, log)


def _set_log(plot: pg.PlotItem, side: str, log: bool, offset: float = 0.0) -> None:
    """Switch an axis and convert its range at once: the old range read in the new mode
    (0 … 150,000 as 10⁰ … 10¹⁵⁰⁰⁰⁰) overflows as soon as the axis is labelled or painted.
    ``offset``: what is added to values before their log (1 for steps)."""
    axis = plot.getAxis(side)
    if axis.logMode == log:
        return
    low, high = plot.getViewBox().viewRange()[0 if side == "bottom" else 1]
    if log:
        low, high = (math.log10(max(value + offset, 10.0 ** -LOG_DECADES)) for value in (low, high))
    else:
        low, high = (10.0 ** min(value, LOG_DECADES) - offset for value in (low, high))
    plot.setLogMode(**{"x" if side == "bottom" else "y": log})
    set_range = plot.getViewBox().setXRange if side == "bottom" else plot.getViewBox().setYRange
    set_range(low, high, padding=0)


def plotted_steps(steps: np.ndarray, log_x: bool) -> np.ndarray:
    """The x values to hand a curve: the steps, or step + 1 on a log axis (step 0 exists)."""
    steps = np.asarray(steps, dtype=float)
    return steps + 1.0 if log_x else steps


def view_x(step: float, log_x: bool) -> float:
    """Where ``step`` is in the view's coordinates (items other than curves, e.g. markers)."""
    return math.log10(step + 1.0) if log_x else float(step)


#: Per history, its version and the rows drawn of it per (log x, limit) at that version.
_DRAWN: weakref.WeakKeyDictionary[History, tuple[int, dict]] = weakref.WeakKeyDictionary()


def history_rows(history: History, log_x: bool, limit: int = MAX_POINTS) -> np.ndarray | slice:
    """:func:`drawn_rows` of ``history``, computed once per change of it: the loss and
    learner plots draw the same rows, in different frames."""
    version, rows = _DRAWN.get(history, (None, {}))
    if version != history.version:
        version, rows = history.version, {}
        _DRAWN[history] = (version, rows)
    if (log_x, limit) not in rows:
        rows[log_x, limit] = drawn_rows(history.column("step"), history.column("loss"),
                                        history.column("best_loss"), log_x, limit)
    return rows[log_x, limit]


def drawn_rows(steps: np.ndarray, loss: np.ndarray, best_loss: np.ndarray, log_x: bool,
               limit: int = MAX_POINTS) -> np.ndarray | slice:
    """Rows to draw, at most ``limit``: the history's rule on buckets spread evenly along the
    x axis as drawn (about one per pixel), so a long flat stretch costs no points and a
    log axis's first decades are as detailed as its last."""
    if len(steps) <= limit:
        return slice(None)
    first, last = plotted_steps(steps[[0, -1]], log_x)
    buckets = limit // 3  # each keeps up to 3 rows
    if log_x:
        edges = np.geomspace(first, last, buckets + 1)[1:-1] - 1.0
    else:
        edges = np.linspace(first, last, buckets + 1)[1:-1]
    return bucket_rows(loss, best_loss, bucket_starts(steps, edges))


def follow_data(plot: pg.PlotItem, x: np.ndarray, ys: list[np.ndarray]) -> None:
    """Keep the data in view, moving the range in coarse steps. ``x``: ascending values
    as handed to the curves (:func:`plotted_steps`).

    pyqtgraph's auto-range moves the axes every frame as a run grows, and repainting
    axes (tick text) is most of a frame's cost; here the range changes only when the
    data leaves it or fills less than half of it. A user's pan or zoom stops the
    following; the plot's "A" (auto-range) button resumes it.
    """
    view = plot.getViewBox()
    if not hasattr(view, "following"):  # first call: take over from auto-range
        view.following = True
        view.sigRangeChangedManually.connect(lambda *_: setattr(view, "following", False))
    if any(view.state["autoRange"]):  # first call, or the "A" button: follow, our way
        view.disableAutoRange()
        view.following = True
    if not view.following or len(x) == 0:
        return
    log_x, log_y = plot.getAxis("bottom").logMode, plot.getAxis("left").logMode
    if log_x:
        x = np.log10(np.asarray(x, float)[[0, -1]])
    values = np.concatenate([np.asarray(y, float).ravel() for y in ys]) if ys else np.empty(0)
    values = values[np.isfinite(values) & ((values > 0) if log_y else True)]
    (view_x0, view_x1), (view_y0, view_y1) = view.viewRange()
    x0, x1 = float(x[0]), float(x[-1])
    # At least MIN_STEPS_SHOWN steps: on a log axis, the decades from the first step to that many.
    width = max(x1 - x0, math.log10(MIN_STEPS_SHOWN) if log_x else MIN_STEPS_SHOWN)
    x_range = y_range = None
    if x0 < view_x0 or x0 + width > view_x1 or width < 0.5 * (view_x1 - view_x0):
        x_range = (x0, x0 + width * X_HEADROOM)
    if values.size:
        if log_y:
            values = np.log10(values)
        y0, y1 = float(values.min()), float(values.max())
        if log_y and y1 - y0 < MIN_DECADES_SHOWN:
            y0, y1 = (y0 + y1 - MIN_DECADES_SHOWN) / 2, (y0 + y1 + MIN_DECADES_SHOWN) / 2
        if y0 < view_y0 or y1 > view_y1 or (y1 - y0) < 0.5 * (view_y1 - view_y0):
            span = (y1 - y0) or (abs(y0) or 1.0)
            # More room on a side the data just crossed: it is heading that way.
            below = Y_HEADROOM if y0 < view_y0 else Y_MARGIN
            above = Y_HEADROOM if y1 > view_y1 else Y_MARGIN
            y_range = (y0 - below * span, y1 + above * span)
    if log_x and x_range:
        x_range = tuple(np.clip(x_range, -LOG_DECADES, LOG_DECADES))
    if log_y and y_range:
        y_range = tuple(np.clip(y_range, -LOG_DECADES, LOG_DECADES))
    if x_range or y_range:
        view.setRange(xRange=x_range, yRange=y_range, padding=0)


def decimated(count: int, limit: int = MAX_POINTS) -> np.ndarray | slice:
    """Rows to draw out of ``count``: all, or an even stride that keeps the last row."""
    if count <= limit:
        return slice(None)
    stride = int(np.ceil(count / limit))
    rows = np.arange(0, count, stride)
    return rows if rows[-1] == count - 1 else np.append(rows, count - 1)


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
        layout = self.column = QVBoxLayout(self)
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


def list_in_legend(legend: pg.LegendItem, item: pg.GraphicsObject, label: str, listed: bool) -> None:
    """List ``item`` in ``legend`` as ``label`` (relabelled if listed already), or not at all."""
    for sample, text in legend.items:
        if sample.item is item:
            if listed and text.text == label:
                return
            legend.removeItem(item)
            break
    if listed:
        legend.addItem(item, label)


def legend_ground() -> QColor:
    """A translucent fill of the plots' background, for legends that curves run under."""
    try:
        color = pg.mkColor(pg.getConfigOption("background"))
    except ValueError:  # pyqtgraph's "default" (no apply_palette yet): the palette's own
        color = QApplication.palette().color(QPalette.ColorRole.Base)
    color.setAlpha(200)
    return color


def mix(color: str, alpha: int) -> QColor:
    qcolor = QColor(color)
    qcolor.setAlpha(alpha)
    return qcolor
