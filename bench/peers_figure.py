"""The peer benchmark's ECDF figure, drawn with the app's own plotting stack (pyqtgraph,
rendered offscreen to PNG in the export's light theme)."""

from __future__ import annotations

import pyqtgraph as pg
from peers_ecdf import Curve, ecdf_steps
from peers_methods import METHODS
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtWidgets import QApplication

from metalearn_gui.export.figures import application, light_theme, render_png
from metalearn_gui.plots.style import SERIES, pen, setup_plot

PANEL_SIZE = (560, 440)
LINE_WIDTH = 2.0


def ecdf_png(panels: list[tuple[str, int, dict[str, list[Curve]]]], methods: list[str],
             ours: frozenset[str]) -> bytes:
    """One ECDF plot per panel (title, D, curves by method), side by side, as PNG bytes.

    Each method keeps its colour (its place in :data:`METHODS`) in every figure; ``ours`` are drawn
    solid, the peers dashed; a cross marks where a method's budget ended.
    """
    application()
    with light_theme():
        graphics = pg.GraphicsLayoutWidget()
        for column, (title, dim, curves) in enumerate(panels):
            plot = graphics.addPlot(row=0, col=column, title=title)
            setup_plot(plot, "evaluations / D", "fraction of (function, target) pairs reached")
            plot.setLogMode(x=True)
            plot.setYRange(0.0, 1.0, padding=0.02)
            plot.addLegend(offset=(8, 8))
            for method in methods:
                if method not in curves:
                    continue
                color = SERIES[METHODS.index(method) % len(SERIES)]
                style = None if method in ours else Qt.PenStyle.DashLine
                x, y = ecdf_steps(curves[method], dim)
                plot.plot(x, y, pen=pen(color, LINE_WIDTH, style), name=method)
                plot.plot([x[-1]], [y[-1]], pen=None, symbol="x", symbolSize=10,
                          symbolPen=pen(color, LINE_WIDTH), symbolBrush=color)
        size = (PANEL_SIZE[0] * len(panels), PANEL_SIZE[1])
        graphics.resize(*size)
        graphics.setRange(QRectF(0, 0, *size), padding=0)  # what a shown view does on its resize
        # Laid out without being shown (an unlaid-out scene renders empty); axes widen to their
        # labels only once painted, so paint once and lay out again before the real render.
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        render_png(graphics)
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        return render_png(graphics, scale=2)
