"""The task view: one held-out task, learned with the run's best θ beside the baselines.

* Inner learning curves (:class:`InnerCurves`, strategies such as lr-schedule's): the
  query loss — and the query accuracy, for classification — after each inner step, the
  learned strategy solid, the baselines dashed.
* Fitted functions (:class:`FunctionFits`, initialisations such as MAML's): the true
  function, the support points the learner saw, and each initialisation's fit after
  0, 1, 10… inner steps (one colour per initialisation, dotted → solid with more steps;
  the legend names each initialisation once, the note says which line is which step).

The loss and accuracy plots are stacked: the panel lives in a tall, narrow dock.

A new view comes with every held-out evaluation (at most about once a second), so the
curves are rebuilt each time rather than updated in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from metalearn_gui.core.objectives.tasks import FunctionFits, InnerCurves, TaskView
from metalearn_gui.plots.style import SERIES, PlotPanel, finite_or_nan, legend_ground, pen, set_label, setup_plot

#: The learned strategy and the baselines, in the order given (the learned one first).
COLORS = (SERIES[1], SERIES[0], SERIES[2], SERIES[4], SERIES[5])
TRUTH = "#7F7F7F"
#: A fit's line after more inner steps is more solid.
FIT_STYLES = (Qt.PenStyle.DotLine, Qt.PenStyle.DashLine, Qt.PenStyle.SolidLine)
STYLE_NAMES = {Qt.PenStyle.DotLine: "dotted", Qt.PenStyle.DashLine: "dashed", Qt.PenStyle.SolidLine: "solid"}
WAITING = "shown after the first held-out evaluation"


class TaskViewPlot(PlotPanel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Task view", parent)
        self.loss = setup_plot(self.graphics.addPlot(row=0, col=0), "inner step", "query loss")
        self.accuracy = setup_plot(self.graphics.addPlot(row=1, col=0), "inner step", "query accuracy")
        # Legends on a translucent ground (curves run under them in a narrow panel); accuracy
        # rises to the top right, so its legend sits at the bottom right.
        self.loss.addLegend(offset=(-10, 10), labelTextSize="8pt", brush=legend_ground())
        self.accuracy.addLegend(offset=(-10, -10), labelTextSize="8pt", brush=legend_ground())
        # The task's description goes on a line of its own and wraps, rather than widening the dock.
        self.header.removeWidget(self.note)
        self.column.insertWidget(1, self.note)
        self.note.setWordWrap(True)
        self.view: TaskView | None = None
        self._curves: list[pg.PlotDataItem] = []
        self._signature: tuple | None = None  # what the curves drawn are (see set_view)
        self.set_view(None)

    def set_view(self, view: TaskView | None) -> None:
        """Draw ``view`` (None: nothing yet, and say when something comes). A view of the
        same curves as the last (each held-out evaluation's, as a run goes on) only moves
        them: rebuilding the plots cost ~70 ms of the GUI thread."""
        self.view = view
        if view is None and self._curves:  # a new run: the curves wait, empty, for its first view
            for curve in self._curves:
                curve.setData([], [])
            self.note.setText(WAITING)
            return
        series, axes, note = _series(view)
        signature = (tuple((item.plot, item.style, item.name) for item in series), axes)
        if signature != self._signature:
            self._rebuild(series, axes)
            self._signature = signature
        else:
            for curve, item in zip(self._curves, series, strict=True):
                curve.setData(item.x, finite_or_nan(item.y))
        for index, plot in enumerate((self.loss, self.accuracy)):
            _keep_in_view(plot, [item for item in series if item.plot == index])
        self.note.setText(note)

    def refresh(self) -> None:
        """Nothing to do per frame: each view is drawn as it comes."""

    def curve_labels(self, plot: pg.PlotItem) -> list[str]:
        """What ``plot``'s legend lists, in order."""
        return [label.text for _, label in plot.legend.items]

    def _rebuild(self, series: list[_Series], axes: tuple[str, str]) -> None:
        plots = (self.loss, self.accuracy)
        for plot in plots:
            plot.clear()
            plot.legend.clear()
        has_accuracy = any(item.plot == 1 for item in series)
        self.accuracy.setVisible(has_accuracy)
        self.accuracy.setMaximumHeight(-1 if has_accuracy else 0)
        self.graphics.ci.layout.setRowStretchFactor(1, 1 if has_accuracy else 0)
        set_label(self.loss, "bottom", axes[0])
        set_label(self.loss, "left", axes[1])
        self._curves = []
        for item in series:
            if item.style[0] == "points":
                options = {"pen": None, "symbol": "o", "symbolSize": 8, "symbolBrush": pg.mkBrush("#000000"),
                           "symbolPen": pg.mkPen("#FFFFFF")}
            else:
                _, color, width, style = item.style
                options = {"pen": pen(color, width, style), "connect": "finite"}
            self._curves.append(plots[item.plot].plot(item.x, finite_or_nan(item.y), name=item.name, **options))
        for plot in plots:
            plot.disableAutoRange()  # _keep_in_view moves the range, coarsely
            plot.getViewBox().following = True


def _keep_in_view(plot: pg.PlotItem, series: list[_Series]) -> None:
    """Show every finite point, moving the range only when the data leave it or fill less
    than half of it (re-laying out the axes is most of an update's cost), until the user
    pans or zooms; the plot's "A" button fits the data again."""
    view = plot.getViewBox()
    if not hasattr(view, "following"):
        view.sigRangeChangedManually.connect(lambda *_: setattr(view, "following", False))
    if any(view.state["autoRange"]):  # the "A" button
        view.disableAutoRange()
        view.following = True
    if not series or not view.following:
        return
    ranges = []
    for axis in ("x", "y"):
        values = np.concatenate([np.asarray(getattr(item, axis), float).ravel() for item in series])
        values = values[np.isfinite(values)]
        if values.size == 0:
            return
        low, high = float(values.min()), float(values.max())
        shown_low, shown_high = view.viewRange()[0 if axis == "x" else 1]
        span = (high - low) or (abs(low) or 1.0)
        moved = low < shown_low or high > shown_high or span < 0.5 * (shown_high - shown_low)
        ranges.append((low - 0.05 * span, high + 0.05 * span) if moved else None)
    if ranges[0] or ranges[1]:
        view.setRange(xRange=ranges[0], yRange=ranges[1], padding=0)


@dataclass(frozen=True)
class _Series:
    """One curve of a view: on which plot (0 loss, 1 accuracy), its data, its look
    (``("line", colour, width, pen style)`` or ``("points",)``) and its legend name."""

    plot: int
    x: np.ndarray
    y: np.ndarray
    style: tuple
    name: str | None


def _series(view: TaskView | None) -> tuple[list[_Series], tuple[str, str], str]:
    """The curves of ``view``, its loss plot's axis names and the note above it."""
    if isinstance(view, InnerCurves):
        series: list[_Series] = []
        for plot, curves in enumerate((view.loss, view.accuracy or {})):
            for index, (label, values) in enumerate(curves.items()):
                learned = index == 0  # solid and wider than the baselines
                look = ("line", COLORS[index % len(COLORS)], 2 if learned else 1,
                        Qt.PenStyle.SolidLine if learned else Qt.PenStyle.DashLine)
                series.append(_Series(plot, view.steps, values, look, label))
        return series, ("inner step", "query loss"), view.task
    if isinstance(view, FunctionFits):
        series = [_Series(0, view.x, view.truth, ("line", TRUTH, 3, Qt.PenStyle.SolidLine), "true function")]
        styles: dict[int, Qt.PenStyle] = {}
        for index, (label, fits) in enumerate(view.fits.items()):
            for order, (steps, values) in enumerate(sorted(fits.items())):
                style = styles.setdefault(steps, FIT_STYLES[max(len(FIT_STYLES) - len(fits) + order, 0)])
                named = order == len(fits) - 1  # one legend entry per initialisation: its last fit
                series.append(_Series(0, view.x, values, ("line", COLORS[index % len(COLORS)], 2, style),
                                      label if named else None))
        series.append(_Series(0, view.support_x, view.support_y, ("points",), f"{len(view.support_x)} support points"))
        which = " · ".join(f"{STYLE_NAMES[style]} {steps}" for steps, style in sorted(styles.items()))
        return series, ("x", "y"), f"{view.task}; inner steps: {which}"
    return [], ("inner step", "query loss"), WAITING
