"""A race's best loss against evaluations: per entrant, in its colour, the median over its
seeds and the interquartile band around it (as COCO and IOHanalyzer draw them)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from metalearn_gui.core.race_results import Band
from metalearn_gui.plots.style import SERIES, PlotPanel, finite_or_nan, mix, pen, set_label, set_log_y, setup_plot

#: Opacity (of 255) of an entrant's interquartile band.
BAND_ALPHA = 60


def entrant_color(index: int) -> str:
    """Entrant number ``index``'s colour, the same in every figure and view of the race."""
    return SERIES[index % len(SERIES)]


class RacePlot(PlotPanel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Race", parent)
        self.plot = setup_plot(self.graphics.addPlot(), "evaluations", "best loss")
        self.plot.addLegend(offset=(-10, 10), labelTextSize="8pt")

    def set_bands(self, bands: list[tuple[str, Band | None]], optimum: float | None, log_x: bool = False) -> None:
        """Draw each entrant's (label, band) in order, replacing what was drawn. With a known
        ``optimum`` the y axis is the log gap to it; else log if every value is positive."""
        self.plot.clear()
        self.plot.legend.clear()
        drawn = [band for _, band in bands if band is not None]
        values = np.concatenate([band.low for band in drawn]) if drawn else np.empty(0)
        shift = optimum if optimum is not None else 0.0
        log_y = optimum is not None or bool(len(values) and np.min(values) > 0)
        # The optimum reached exactly: drawn at the floats' resolution around it, not dropped as log(0).
        floor = float(np.spacing(abs(shift))) if optimum is not None else 0.0
        set_log_y(self.plot, log_y, "best loss − L*" if optimum is not None else "best loss")
        self.plot.setLogMode(x=log_x)
        set_label(self.plot, "bottom", "evaluations")
        for index, (label, band) in enumerate(bands):
            if band is None:
                continue
            color = entrant_color(index)

            def curve(values: np.ndarray, line: pg.QtGui.QPen | None, band: Band = band) -> pg.PlotDataItem:
                y = finite_or_nan(np.maximum(values - shift, floor) if optimum is not None else values,
                                  positive=log_y)
                return self.plot.plot(band.evaluations, y, pen=line, connect="finite")

            edge = pen(mix(color, 0))  # not None: a curve without a pen has no path to fill between
            low, high = curve(band.low, edge), curve(band.high, edge)
            self.plot.addItem(pg.FillBetweenItem(low, high, brush=mix(color, BAND_ALPHA)))
            median = curve(band.median, pen(color, 2))
            self.plot.legend.addItem(median, label)
