"""θ vs step: one line per coordinate; a heat map (coordinate × step) when D is large;
and for D in the hundreds or thousands (a network's initialisation), a summary whose
cost does not grow with the picture: the RMS distance from θ₀ and the few coordinates
that moved most, by name."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from metalearn_gui.core.history import History
from metalearn_gui.core.objectives import Objective
from metalearn_gui.plots.style import (
    SERIES,
    PlotPanel,
    follow_data,
    history_rows,
    pen,
    plotted_steps,
    set_label,
    set_log_x,
    setup_plot,
)

#: Above this many coordinates, lines become unreadable: draw a heat map instead.
MAX_LINES = 12
#: Points per θ line: up to 12 lines share the plot, and each point costs paint time.
LINE_POINTS = 1000
HEATMAP_COLUMNS = 600
#: Above this many coordinates, even a heat map is a blur of rows thinner than a pixel
#: (and each frame's image costs D × 600 values): draw the summary instead.
MAX_HEATMAP = 200
#: The summary's coordinates (those that moved most from θ₀) and its points per line:
#: each point is a row of D values to read.
SUMMARY_COORDINATES = 4
SUMMARY_POINTS = 300


def own_names(objective: Objective) -> tuple[str, ...] | None:
    """The objective's names of θ's coordinates if it gives them meaning; None for the
    plots' own θ₀ … θ_{D−1} (counted as the landscape's pickers count)."""
    named = type(objective).coordinate_names is not Objective.coordinate_names
    return objective.coordinate_names() if named else None


class ThetaPlot(PlotPanel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Strategy θ", parent)
        self.plot = setup_plot(self.graphics.addPlot(), "step", "θ value")
        self.legend = self.plot.addLegend(offset=(-10, 10), labelTextSize="8pt", colCount=2)
        self.lines: list[pg.PlotDataItem] = []
        self.heatmap = pg.ImageItem(axisOrder="row-major")
        self.heatmap.setColorMap(pg.colormap.get("CET-D1"))  # diverging: sign of θ_i reads at once
        self.plot.addItem(self.heatmap)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("CET-D1"), interactive=False, width=12)
        self.colorbar.setImageItem(self.heatmap, insert_in=self.plot)
        self._history: History | None = None
        self._names: tuple[str, ...] | None = None
        self._summary_labels: list[str] = []  # the summary's legend as last set
        #: The summary's RMS distance from θ₀ per step: a row's is read once (each costs D values).
        self._rms: dict[int, float] = {}
        self.log_x = False

    def set_log_x(self, log_x: bool) -> None:
        """A log-scaled step axis (showing step + 1) or a linear one."""
        if log_x != self.log_x:
            self.log_x = log_x
            set_log_x(self.plot, log_x)
            self.refresh()

    def set_run(self, history: History, names: tuple[str, ...] | None = None) -> None:
        """A new run; ``names``: its coordinates' names (default θ₀ … θ_{D−1})."""
        self._history, self._names = history, names
        dim = history.dim
        summary = dim > MAX_HEATMAP
        line_count = dim if dim <= MAX_LINES else 1 + SUMMARY_COORDINATES if summary else 0
        while len(self.lines) < line_count:  # lines are kept and reused across runs
            index = len(self.lines)
            self.lines.append(self.plot.plot(pen=pen(SERIES[index % len(SERIES)])))
        self._summary_labels, self._rms = [], {}
        for index, line in enumerate(self.lines):
            line.setVisible(index < line_count)
            line.setData([], [])
            self.legend.removeItem(line)
            if dim <= MAX_LINES and index < dim:
                self.legend.addItem(line, self._name(index))
        heatmap = line_count == 0
        self.legend.setVisible(not heatmap)
        self.heatmap.setVisible(heatmap)
        self.colorbar.setVisible(heatmap)
        set_label(self.plot, "left", "coordinate i of θ" if heatmap else "θ value")
        # Short: a long note would widen the panel at its neighbour's expense.
        self.note.setText(f"D = {dim:,}: summary" if summary else "")
        self.note.setToolTip(f"too many coordinates to draw each: the RMS distance of θ from θ₀, and the "
                             f"{SUMMARY_COORDINATES} coordinates that moved most from θ₀" if summary else "")
        self.refresh()

    def _name(self, index: int) -> str:
        return self._names[index] if self._names is not None else f"θ{_sub(index)}"

    def refresh(self) -> None:
        history = self._history
        if history is None or len(history) == 0:
            return
        steps = history.column("step")
        if history.dim <= MAX_LINES:
            rows = history_rows(history, self.log_x, LINE_POINTS)
            x, theta = plotted_steps(steps[rows], self.log_x), history.theta()[rows]
            for index in range(history.dim):
                self.lines[index].setData(x, theta[:, index], skipFiniteCheck=True)
            follow_data(self.plot, x, [theta])
        elif history.dim > MAX_HEATMAP:
            self._draw_summary(history)
        else:
            self._draw_heatmap(history)
            follow_data(self.plot, plotted_steps(steps[[0, -1]], self.log_x),
                        [np.array([-0.5, history.dim - 0.5])])

    def _draw_summary(self, history: History) -> None:
        """RMS ‖θ − θ₀‖/√D (on θ's own scale) and the coordinates that moved most by the
        last row, from at most :data:`SUMMARY_POINTS` rows."""
        rows = np.arange(len(history))[history_rows(history, self.log_x, SUMMARY_POINTS)]
        steps = history.column("step")[rows].astype(np.int64)
        x = plotted_steps(steps, self.log_x)
        theta, first = history.theta(), history.theta()[0]
        new = np.array([row for row, step in zip(rows, steps, strict=True) if int(step) not in self._rms], dtype=int)
        with np.errstate(invalid="ignore", over="ignore"):
            moved = np.abs(theta[rows[-1]] - first)
            if len(new):
                change = theta[new] - first
                rms = np.sqrt(np.einsum("ij,ij->i", change, change) / history.dim)  # 4× faster than mean(square)
                self._rms.update(zip(history.column("step")[new].astype(np.int64).tolist(), rms.tolist(),
                                     strict=True))
        top = np.argsort(np.where(np.isfinite(moved), -moved, 0.0), kind="stable")[:SUMMARY_COORDINATES]
        labels = ["RMS ‖θ − θ₀‖/√D", *(self._name(int(i)) for i in top)]
        coordinates = theta[rows[:, None], top[None, :]]  # only the drawn coordinates are read
        curves = [np.array([self._rms[int(step)] for step in steps]), *coordinates.T]
        if labels != self._summary_labels:
            for line, label in zip(self.lines, labels, strict=False):  # relabelled only when they change
                self.legend.removeItem(line)
                self.legend.addItem(line, label)
            self._summary_labels = labels
        for line, values in zip(self.lines, curves, strict=False):
            line.setData(x, np.where(np.isfinite(values), values, np.nan), connect="finite")
        follow_data(self.plot, x, curves)

    def _draw_heatmap(self, history: History) -> None:
        """Resample θ onto steps evenly spaced along the step axis (linear or log) so the
        image's x axis is the step axis. An image is not a curve: pyqtgraph does not
        log-transform it, so on a log axis it is placed at log10(step + 1) itself."""
        steps, theta = history.column("step"), history.theta()
        first, last = plotted_steps(steps[[0, -1]], self.log_x)
        columns = int(min(HEATMAP_COLUMNS, len(steps)))
        grid = np.geomspace(first, last, columns) if self.log_x else np.linspace(first, last, columns)
        positions = np.clip(np.searchsorted(plotted_steps(steps, self.log_x), grid), 0, len(steps) - 1)
        image = theta[positions].T  # rows = coordinates
        self.heatmap.setImage(image, autoLevels=False)
        bound = float(np.max(np.abs(image))) or 1.0
        self.colorbar.setLevels((-bound, bound))
        if self.log_x:
            first, last = np.log10(first), np.log10(last)
        self.heatmap.setRect(first, -0.5, max(last - first, 1e-3 if self.log_x else 1.0), history.dim)


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(index: int) -> str:
    return str(index).translate(_SUBSCRIPTS)
