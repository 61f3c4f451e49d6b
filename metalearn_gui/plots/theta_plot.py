"""θ vs step: one line per coordinate, or a heat map (coordinate × step) when D is large."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from metalearn_gui.core.history import History
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
        self.log_x = False

    def set_log_x(self, log_x: bool) -> None:
        """A log-scaled step axis (showing step + 1) or a linear one."""
        if log_x != self.log_x:
            self.log_x = log_x
            set_log_x(self.plot, log_x)
            self.refresh()

    def set_run(self, history: History) -> None:
        self._history = history
        dim = history.dim
        use_lines = dim <= MAX_LINES
        while len(self.lines) < (dim if use_lines else 0):  # lines are kept and reused across runs
            index = len(self.lines)
            self.lines.append(self.plot.plot(pen=pen(SERIES[index % len(SERIES)]), name=f"θ{_sub(index)}"))
        for index, line in enumerate(self.lines):
            line.setVisible(use_lines and index < dim)
            self.legend.removeItem(line)
            if use_lines and index < dim:
                self.legend.addItem(line, f"θ{_sub(index)}")
        self.legend.setVisible(use_lines)
        self.heatmap.setVisible(not use_lines)
        self.colorbar.setVisible(not use_lines)
        set_label(self.plot, "left", "θ value" if use_lines else "coordinate i of θ")
        self.refresh()

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
        else:
            self._draw_heatmap(history)
            follow_data(self.plot, plotted_steps(steps[[0, -1]], self.log_x),
                        [np.array([-0.5, history.dim - 0.5])])

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
