"""A race's loss plot, live: one colour per entrant, against evaluations (the fair axis,
the default), wall-clock seconds or steps.

With one seed each entrant's best loss so far is drawn bold over its loss (faint). With
several, the bold line is the median over the seeds that have ended and the shaded band
their interquartile range (as COCO and IOHanalyzer draw them); the seed under way is
the thin dashed line. The selected entrant's hyper-parameter changes are dotted lines
in its colour.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QWidget

from metalearn_gui.core.hyperparams import Change
from metalearn_gui.core.race_results import TRACE_COLUMNS, RunResult, Standing, band
from metalearn_gui.plots.race_plot import BAND_ALPHA, entrant_color
from metalearn_gui.plots.style import (
    PlotPanel,
    drawn_rows,
    finite_or_nan,
    follow_data,
    mix,
    pen,
    set_label,
    set_log_axis,
    set_log_y,
    setup_plot,
)

#: The x axes offered: menu text → the trace's column.
X_AXES = {"evaluations": "evaluations", "wall-clock seconds": "seconds", "steps": "step"}
#: Points of one kind of curve (raw loss, best loss) over all entrants together, each its
#: share, at least MIN_CURVE_POINTS (a plot is ~500–1000 px wide): the window's cost of
#: drawing a race, taken from the entrants' time, then hardly grows with their number.
CURVE_POINTS = 1500
MIN_CURVE_POINTS = 400
BAND_POINTS = 256
#: Opacity (of 255) of a run's raw loss under its best-so-far line, and of a seed under way.
LOSS_ALPHA = 80
LIVE_ALPHA = 190


class _EntrantCurves:
    """One entrant's items, made once and updated in place."""

    def __init__(self, plot: pg.PlotItem, color: str) -> None:
        self.color = color
        self.loss = plot.plot(pen=pen(mix(color, LOSS_ALPHA)), connect="finite")
        edge = pen(mix(color, 0))  # a curve without a pen has no path to fill between
        self.low, self.high = plot.plot(pen=edge), plot.plot(pen=edge)
        self.fill = pg.FillBetweenItem(self.low, self.high, brush=mix(color, BAND_ALPHA))
        plot.addItem(self.fill)
        self.live = plot.plot(pen=pen(mix(color, LIVE_ALPHA), style=Qt.PenStyle.DashLine), connect="finite")
        self.main = plot.plot(pen=pen(color, 2), connect="finite")

    def items(self) -> tuple[pg.GraphicsObject, ...]:
        return self.loss, self.low, self.high, self.fill, self.live, self.main

    def clear(self) -> None:
        for curve in (self.loss, self.low, self.high, self.live, self.main):
            curve.setData([], [])


class RaceLossPlot(PlotPanel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Race: loss", parent)
        self.x_box = QComboBox()
        self.x_box.addItems(list(X_AXES))
        self.x_box.setToolTip("x axis: evaluations of the loss (the fair comparison: every entrant has the "
                              "same budget), wall-clock seconds of each run's own advancing, or steps")
        self.header.addWidget(self.x_box)
        self.log_box = self.add_checkbox("log y", "logarithmic loss axis; with a known optimum L* it shows "
                                                  "the gap L − L*", True)
        self.plot = setup_plot(self.graphics.addPlot(), "evaluations", "best loss")
        self.legend = self.plot.addLegend(offset=(-10, 10), labelTextSize="9pt")
        self.curves: list[_EntrantCurves] = []
        self.labels: list[str] = []
        self.optimum: float | None = None
        self.seeds = 1
        self.standings: list[Standing] = []
        self.log_x = False
        self.markers: list[pg.InfiniteLine] = []
        self._changes: tuple[Change, ...] = ()
        self._selected = 0
        self._axis_mode: tuple[bool, str] | None = None
        self.x_box.currentIndexChanged.connect(self._on_x_box_changed)
        self.log_box.toggled.connect(self.refresh)

    # -- inputs ----------------------------------------------------------------------------
    def set_race(self, labels: list[str], optimum: float | None, seeds: int) -> None:
        """A race of entrants ``labels`` (their colours by this order) over ``seeds`` seeds."""
        self.labels, self.optimum, self.seeds = list(labels), optimum, seeds
        self.standings = []
        self.legend.clear()
        while len(self.curves) < len(labels):
            self.curves.append(_EntrantCurves(self.plot, entrant_color(len(self.curves))))
        for index, curves in enumerate(self.curves):
            curves.clear()
            for item in curves.items():
                item.setVisible(index < len(labels))
            if index < len(labels):
                self.legend.addItem(curves.main, labels[index])
        self.set_changes((), 0)
        self.plot.enableAutoRange()  # a new race: follow its data from scratch
        self.refresh()

    def set_standings(self, standings: list[Standing]) -> None:
        """The leaderboard as it stands (runs ended and under way): drawn by :meth:`refresh`."""
        self.standings = list(standings)

    def x_column(self) -> str:
        return X_AXES[self.x_box.currentText()]

    def set_x_column(self, column: str) -> None:
        self.x_box.setCurrentIndex(list(X_AXES.values()).index(column))

    def set_log_x(self, log_x: bool) -> None:
        if log_x != self.log_x:
            self.log_x = log_x
            set_log_axis(self.plot, "bottom", log_x)
            self.refresh()

    def set_changes(self, changes: tuple[Change, ...], entrant: int) -> None:
        """The selected entrant's (number ``entrant``) mid-run changes, as dotted lines in its colour."""
        if (changes, entrant) == (self._changes, self._selected):
            return
        self._changes, self._selected = changes, entrant
        color = entrant_color(entrant)
        for line in self.markers:  # few, and rare: made again
            self.plot.removeItem(line)
        self.markers = []
        who = self.labels[entrant] if entrant < len(self.labels) else ""
        for step, name, old, new in changes:
            line = pg.InfiniteLine(angle=90, pen=pen(color, style=Qt.PenStyle.DotLine), label=name,
                                   labelOpts={"position": 0.95, "color": color})
            line.setToolTip(f"{who}, step {step}: {name} {_fmt(old)} → {_fmt(new)}")
            self.plot.addItem(line, ignoreBounds=True)
            self.markers.append(line)
        self._place_markers()

    # -- drawing ----------------------------------------------------------------------------
    def refresh(self) -> None:
        if not any(len(run.trace) for standing in self.standings for run in standing.runs):
            return  # nothing to draw yet: the axes stay as they are (a log axis of no data spans 300 decades)
        column = TRACE_COLUMNS.index(self.x_column())
        drawn: list[np.ndarray] = []
        spans: list[float] = []
        log_y = self.log_box.isChecked() and self._log_possible()
        shift = self.optimum if (log_y and self.optimum is not None) else 0.0
        label = "best loss − L*" if shift else "best loss"
        if (log_y, label) != self._axis_mode:
            self._axis_mode = (log_y, label)
            set_log_y(self.plot, log_y, label)
        floor = float(np.spacing(abs(shift))) if shift else 0.0

        def y_of(values: np.ndarray) -> np.ndarray:
            return finite_or_nan(np.maximum(values - shift, floor) if shift else values, positive=log_y)

        def show(curve: pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> None:
            x = finite_or_nan(x, positive=self.log_x)
            y = y_of(y)
            curve.setData(x, y, connect="finite")
            drawn.append(y)
            spans.extend(x[np.isfinite(x)][[0, -1]] if np.isfinite(x).any() else [])

        order = {label: index for index, label in enumerate(self.labels)}
        points = max(MIN_CURVE_POINTS, CURVE_POINTS // max(len(self.labels), 1))
        for standing in self.standings:
            index = order.get(standing.entrant.label)
            if index is None:
                continue
            curves = self.curves[index]
            ended = [run for run in standing.runs if run.status.is_finished()]
            under_way = [run for run in standing.runs if not run.status.is_finished()]
            if self.seeds == 1:
                run = standing.runs[-1] if standing.runs else None
                if run is not None and len(run.trace):
                    rows = _rows(run, column, self.log_x, points)
                    show(curves.loss, run.trace[rows, column], run.trace[rows, 2])
                    show(curves.main, run.trace[rows, column], run.trace[rows, 3])
                continue
            curves.loss.setData([], [])
            middle = band(ended, BAND_POINTS, self.log_x, self.x_column()) if ended else None
            if middle is not None:
                show(curves.low, middle.evaluations, middle.low)
                show(curves.high, middle.evaluations, middle.high)
                show(curves.main, middle.evaluations, middle.median)
            live = under_way[-1] if under_way else None
            if live is not None and len(live.trace):
                rows = _rows(live, column, self.log_x, points)
                show(curves.live, live.trace[rows, column], live.trace[rows, 3])
            else:
                curves.live.setData([], [])
        if spans:
            follow_data(self.plot, np.array([min(spans), max(spans)]), drawn)
        self._place_markers()
        self.note.setText(self._note())

    def _note(self) -> str:
        if self.seeds == 1 or not self.standings:
            return ""
        ended = min(sum(run.status.is_finished() for run in standing.runs) for standing in self.standings)
        return (f"median and interquartile band over the seeds ended so far (of {self.seeds}); "
                "dashed: the seed under way" if ended < self.seeds
                else f"median and interquartile band over {self.seeds} seeds")

    def _place_markers(self) -> None:
        """Each change at the x its step had in the selected entrant's run under way."""
        standing = next((s for s in self.standings if self.labels and s.entrant.label
                         == self.labels[min(self._selected, len(self.labels) - 1)]), None)
        run = standing.runs[-1] if standing is not None and standing.runs else None
        column = TRACE_COLUMNS.index(self.x_column())
        for line, change in zip(self.markers, self._changes, strict=True):
            if run is None or len(run.trace) == 0:
                line.hide()
                continue
            x = float(np.interp(change.step, run.trace[:, 0], run.trace[:, column]))
            line.setVisible(x > 0 or not self.log_x)
            if line.isVisible():
                line.setPos(np.log10(x) if self.log_x else x)

    def _log_possible(self) -> bool:
        if self.optimum is not None:
            return True
        losses = [run.trace[:, 2:4] for standing in self.standings for run in standing.runs if len(run.trace)]
        return not losses or all(float(np.nanmin(values)) > 0 for values in losses)

    def _on_x_box_changed(self) -> None:
        set_label(self.plot, "bottom", self.x_box.currentText())
        self.plot.enableAutoRange()  # another unit: follow the data afresh
        self.refresh()


def _rows(run: RunResult, column: int, log_x: bool, points: int) -> np.ndarray | slice:
    """At most ``points`` of the run's rows, spread along the x axis as drawn."""
    trace = run.trace
    return drawn_rows(trace[:, column], trace[:, 2], trace[:, 3], log_x, points)


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
