"""Every entrant's trajectory on the landscape, in its colour, with its current θ.

The landscape plot itself keeps drawing the selected entrant's picture (the plane
through its θ, its population and search distribution, the neural model's surface);
this adds the entrants' paths on top and hides the plot's own single-run path.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from metalearn_gui.core.history import History
from metalearn_gui.plots.landscape_plot import TRAJECTORY_POINTS, LandscapePlot
from metalearn_gui.plots.race_plot import entrant_color
from metalearn_gui.plots.style import decimated, mix, pen

#: Points of the entrants' paths together (they share the plane, and the window's drawing
#: time is taken from theirs), each its share, at least MIN_PATH_POINTS.
PATH_POINTS = TRAJECTORY_POINTS // 2
MIN_PATH_POINTS = 300
POPULATION_ALPHA = 150


class RaceTrajectories:
    """Entrants' paths on ``landscape``; :meth:`detach` gives the plot back as it was."""

    def __init__(self, landscape: LandscapePlot) -> None:
        self.landscape = landscape
        self.plot = landscape.true_surface.plot
        self.paths: list[pg.PlotDataItem] = []
        self.heads: list[pg.ScatterPlotItem] = []
        self.histories: list[History | None] = []

    def attach(self, count: int) -> None:
        """Paths for ``count`` entrants; the plot's own path and current point hide."""
        self.detach()
        for index in range(count):
            color = entrant_color(index)
            path = self.plot.plot(pen=pen(mix(color, 230)))
            head = pg.ScatterPlotItem(size=11, pen=pen("#000000"), brush=pg.mkBrush(color), symbol="o")
            self.plot.addItem(head)
            self.paths.append(path)
            self.heads.append(head)
        self.histories = [None] * count
        for item in (self.landscape.trajectory, self.landscape.current):
            item.hide()

    def detach(self) -> None:
        for item in (*self.paths, *self.heads):
            self.plot.removeItem(item)
        self.paths, self.heads, self.histories = [], [], []
        for item in (self.landscape.trajectory, self.landscape.current):
            item.show()
        self.landscape.population.setBrush(mix("#FFFFFF", POPULATION_ALPHA))

    def set_history(self, entrant: int, history: History) -> None:
        self.histories[entrant] = history

    def select(self, entrant: int) -> None:
        """The selected entrant's population takes its colour; its path is drawn on top."""
        self.landscape.population.setBrush(mix(entrant_color(entrant), POPULATION_ALPHA))
        for index, (path, head) in enumerate(zip(self.paths, self.heads, strict=True)):
            path.setZValue(2 if index == entrant else 1)
            head.setZValue(4 if index == entrant else 3)

    def refresh(self) -> None:
        points = max(MIN_PATH_POINTS, PATH_POINTS // max(len(self.paths), 1))
        for path, head, history in zip(self.paths, self.heads, self.histories, strict=True):
            if history is None or len(history) == 0:
                path.setData([], [])
                head.setData([], [])
                continue
            theta = history.theta()[-points * 4:]
            drawn = self.landscape.positions(theta[decimated(len(theta), points)])
            current = self.landscape.positions(theta[-1:])
            if drawn is None or current is None:
                continue
            path.setData(*drawn, skipFiniteCheck=bool(np.isfinite(drawn[0]).all()))
            head.setData(*current)
