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

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from metalearn_gui.core.objectives.tasks import FunctionFits, InnerCurves, TaskView
from metalearn_gui.plots.style import SERIES, PlotPanel, finite_or_nan, mix, pen, set_label, setup_plot

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
        ground = mix(pg.mkColor(pg.getConfigOption("background")).name(), 200)
        self.loss.addLegend(offset=(-10, 10), labelTextSize="8pt", brush=ground)
        self.accuracy.addLegend(offset=(-10, -10), labelTextSize="8pt", brush=ground)
        # The task's description goes on a line of its own and wraps, rather than widening the dock.
        self.header.removeWidget(self.note)
        self.column.insertWidget(1, self.note)
        self.note.setWordWrap(True)
        self.view: TaskView | None = None
        self.set_view(None)

    def set_view(self, view: TaskView | None) -> None:
        """Draw ``view`` (None: nothing yet, and say when something comes)."""
        self.view = view
        for plot in (self.loss, self.accuracy):
            plot.clear()
            plot.legend.clear()
        has_accuracy = isinstance(view, InnerCurves) and view.accuracy is not None
        self.accuracy.setVisible(has_accuracy)
        self.accuracy.setMaximumHeight(-1 if has_accuracy else 0)
        self.graphics.ci.layout.setRowStretchFactor(1, 1 if has_accuracy else 0)
        self.note.setText(WAITING if view is None else view.task)
        if isinstance(view, InnerCurves):
            self._draw_curves(view)
        elif isinstance(view, FunctionFits):
            self._draw_fits(view)

    def refresh(self) -> None:
        """Nothing to do per frame: each view is drawn as it comes."""

    def curve_labels(self, plot: pg.PlotItem) -> list[str]:
        """What ``plot``'s legend lists, in order."""
        return [label.text for _, label in plot.legend.items]

    def _draw_curves(self, view: InnerCurves) -> None:
        set_label(self.loss, "bottom", "inner step")
        set_label(self.loss, "left", "query loss")
        for plot, curves in ((self.loss, view.loss), (self.accuracy, view.accuracy or {})):
            for index, (label, values) in enumerate(curves.items()):
                learned = index == 0  # solid and wider than the baselines
                line = pen(COLORS[index % len(COLORS)], 2 if learned else 1,
                           Qt.PenStyle.SolidLine if learned else Qt.PenStyle.DashLine)
                plot.plot(view.steps, finite_or_nan(values), pen=line, name=label, connect="finite")
            plot.enableAutoRange()

    def _draw_fits(self, view: FunctionFits) -> None:
        set_label(self.loss, "bottom", "x")
        set_label(self.loss, "left", "y")
        self.loss.plot(view.x, finite_or_nan(view.truth), pen=pen(TRUTH, 3), name="true function")
        styles: dict[int, Qt.PenStyle] = {}
        for index, (label, fits) in enumerate(view.fits.items()):
            color = COLORS[index % len(COLORS)]
            for order, (steps, values) in enumerate(sorted(fits.items())):
                style = styles.setdefault(steps, FIT_STYLES[max(len(FIT_STYLES) - len(fits) + order, 0)])
                named = order == len(fits) - 1  # one legend entry per initialisation: its last fit
                self.loss.plot(view.x, finite_or_nan(values), pen=pen(color, 2, style), connect="finite",
                               name=label if named else None)
        which = " · ".join(f"{STYLE_NAMES[style]} {steps}" for steps, style in sorted(styles.items()))
        self.note.setText(f"{view.task}; inner steps: {which}")
        self.loss.plot(view.support_x, finite_or_nan(view.support_y), pen=None, symbol="o", symbolSize=8,
                       symbolBrush=pg.mkBrush("#000000"), symbolPen=pg.mkPen("#FFFFFF"),
                       name=f"{len(view.support_x)} support points")
        self.loss.enableAutoRange()
