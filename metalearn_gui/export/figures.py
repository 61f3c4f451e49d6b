"""The window's plots, fed a finished run and rendered offscreen to PNG or SVG.

The same plot classes as the window draw the figures, so an export looks like the
screen — but always in a light theme, for print — with the window's choice of a
linear or log-scaled step axis (``log_x``). For objectives with held-out tasks, the loss
figure carries the best θ's held-out series and the baseline's line, and a task view
figure is drawn (:mod:`metalearn_gui.core.generalisation`, recomputed from the recorded
rows). SVG goes through ``QSvgGenerator``:
pyqtgraph's own SVG exporter raises ValueError on PySide6 ≥ 6.11 (pyqtgraph 0.14).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QEvent, QIODevice, QRectF, QSize
from PySide6.QtGui import QColor, QImage, QPainter, QPicture
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication

from metalearn_gui import __version__
from metalearn_gui.core.generalisation import Generalisation, of_record
from metalearn_gui.core.landscape import true_landscape
from metalearn_gui.core.objectives import make_objective
from metalearn_gui.core.objectives.tasks import is_task_distribution
from metalearn_gui.core.record import RunRecord
from metalearn_gui.plots.landscape_plot import LandscapePlot
from metalearn_gui.plots.loss_plot import LossPlot
from metalearn_gui.plots.style import PlotPanel
from metalearn_gui.plots.task_view import TaskViewPlot
from metalearn_gui.plots.theta_plot import ThetaPlot, own_names

#: Figure size in logical pixels; a PNG at scale s is s times as many pixels.
SIZE = (800, 500)
FORMATS = ("png", "svg")
BACKGROUND, FOREGROUND = "#FFFFFF", "#000000"
#: Curves' width in logical pixels (the window draws 1).
LINE_WIDTH = 1.5
#: Logical pixels per inch written into PNG files (scaled with the PNG's scale).
PRINT_DPI = 96


def application() -> QApplication:
    """The running QApplication, or a new offscreen one (no window is ever shown)."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        # Qt aborts the process when it finds no display; offscreen needs none.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication([sys.argv[0] if sys.argv else "metalearn-gui"])
    return app


@contextmanager
def light_theme() -> Iterator[None]:
    """pyqtgraph reads its colours when items are made and when axes paint: hold the
    print colours for both, then give the window its own theme back."""
    saved = {name: pg.getConfigOption(name) for name in ("background", "foreground")}
    pg.setConfigOptions(background=BACKGROUND, foreground=FOREGROUND)
    try:
        yield
    finally:
        pg.setConfigOptions(**saved)


# -- figures ------------------------------------------------------------------------------
class FigureError(ValueError):
    """A figure the run cannot have (a task view of an objective without held-out tasks);
    the message says why in one line."""


def figure_title(record: RunRecord, name: str) -> str:
    config = record.config
    return (f"{FIGURES[name][0]} — {config.learner} on {config.objective} ({record.history.dim}-D), "
            f"seed {config.seed}")


def figure_names(record: RunRecord) -> tuple[str, ...]:
    """The figures ``record``'s run has: a landscape unless its objective says why it has
    none, a task view if it has held-out tasks."""
    return tuple(name for name in FIGURES if _missing(record, name) is None)


def _missing(record: RunRecord, name: str) -> str | None:
    """Why ``record``'s run has no figure ``name`` (one line), or None."""
    objective = make_objective(record.config.objective, record.history.dim)
    if name == "landscape" and isinstance(reason := objective.landscape_axes(), str):
        return f"{objective.name} has no landscape: {reason}"
    if name == "taskview" and not is_task_distribution(objective):
        return f"{objective.name} has no held-out tasks, so no task view"
    return None


#: A figure's panel and the plot that gets its title.
Figure = tuple[PlotPanel, pg.PlotItem]


def _loss_figure(record: RunRecord, log_x: bool, generalisation: Generalisation | None) -> Figure:
    panel = LossPlot()
    panel.set_log_x(log_x)
    panel.set_run(record.history, make_objective(record.config.objective, record.history.dim).optimum_value)
    panel.set_changes(tuple(record.changes))
    panel.set_divergence(record.summary.diverged_at if record.summary else None)
    panel.divergence.label.setPosition(0.5)  # a divergence is always at the right, by the legend
    if generalisation is not None:
        panel.set_heldout(generalisation.heldout)
        panel.set_baseline(generalisation.baselines[0] if generalisation.baselines else None)
    return panel, panel.plot


def _theta_figure(record: RunRecord, log_x: bool, generalisation: Generalisation | None) -> Figure:
    panel = ThetaPlot()
    panel.set_log_x(log_x)
    objective = make_objective(record.config.objective, record.history.dim)
    panel.set_run(record.history, own_names(objective))
    return panel, panel.plot


def _landscape_figure(record: RunRecord, log_x: bool, generalisation: Generalisation | None) -> Figure:
    """True L on the plane of the objective's first coordinates through the final θ (a
    1-D θ: the curve L(θ₀)), with the run's trajectory (no step axis: ``log_x`` does not apply)."""
    history = record.history
    objective = make_objective(record.config.objective, history.dim)
    axes = objective.landscape_axes()
    assert not isinstance(axes, str)  # figure_names leaves it out
    panel = LandscapePlot()
    panel.set_dim(history.dim)
    panel.set_objective_axes(axes)
    panel.set_run(history, population_visible=False)
    panel.set_landscape(true_landscape(objective, history.theta()[-1], axes=axes, grid=objective.landscape_grid))
    return panel, panel.true_surface.plot


def _task_view_figure(record: RunRecord, log_x: bool, generalisation: Generalisation | None) -> Figure:
    """One held-out task learned with the run's best θ and with the baselines (no step axis)."""
    assert generalisation is not None  # figure_names leaves it out otherwise
    panel = TaskViewPlot()
    panel.set_view(generalisation.task_view)
    panel.accuracy.setTitle(generalisation.task_view.task if panel.accuracy.isVisible() else None)
    return panel, panel.loss


FIGURES: dict[str, tuple[str, Callable[[RunRecord, bool, Generalisation | None], Figure]]] = {
    "loss": ("Loss", _loss_figure),
    "theta": ("Strategy θ", _theta_figure),
    "landscape": ("True L through the final θ", _landscape_figure),
    "taskview": ("Task view of the best θ", _task_view_figure),
}


def build_figure(record: RunRecord, name: str, size: tuple[int, int] = SIZE, scale: int = 1,
                 log_x: bool = False, generalisation: Generalisation | None = None) -> PlotPanel:
    """A plot panel drawing ``record``, laid out at ``size`` with pens for ``scale`` and a
    log-scaled step axis if ``log_x``, ready for :func:`render_png`/:func:`render_svg`
    (call inside :func:`light_theme`). ``generalisation``: the run's held-out results, if
    already computed (:func:`~metalearn_gui.core.generalisation.of_record`); else they
    are computed here where the figure needs them. Raises :class:`FigureError` for a
    figure the run cannot have."""
    application()
    panel, plot = _draw(record, name, log_x, generalisation)
    return lay_out_figure(panel, plot, figure_title(record, name), size, scale)


def _draw(record: RunRecord, name: str, log_x: bool,
          generalisation: Generalisation | None) -> tuple[PlotPanel, pg.PlotItem]:
    """The panel drawing figure ``name`` of ``record`` and its plot, not laid out yet."""
    missing = _missing(record, name)
    if missing is not None:
        raise FigureError(missing)
    if generalisation is None and name in ("loss", "taskview"):
        generalisation = of_record(record)
    return FIGURES[name][1](record, log_x, generalisation)


def lay_out_figure(panel: PlotPanel, plot: pg.PlotItem, title: str, size: tuple[int, int] = SIZE,
                   scale: int = 1) -> PlotPanel:
    """Title ``panel``'s ``plot``, widen its pens for ``scale`` and lay it out at ``size``,
    fitted to its data (call inside :func:`light_theme`)."""
    plot.setTitle(title)
    _scale_pens(panel.graphics, scale)
    # Never shown (no window flashes up): lay the scene out at ``size`` as a shown view
    # would on its resize; an unlaid-out scene exports empty or stacked (pyqtgraph #8, #1997).
    panel.graphics.resize(*size)
    panel.graphics.setRange(QRectF(0, 0, *size), padding=0)
    _lay_out()
    _fit_finished_run(plot)
    _lay_out()
    # Axes widen to their tick labels only once painted: paint once, then lay out again.
    _painted_image(panel.graphics, 1)
    _lay_out()
    return panel


def _lay_out() -> None:
    """Apply pending layouts (legends, axes) — and nothing else: processEvents() here would
    let a window's clicks and worker chunks in, in the middle of an export."""
    QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)


def _fit_finished_run(plot: pg.PlotItem) -> None:
    """Fit the data, not the live view's room to grow, with the vertical markers
    (changes, divergence) in view."""
    view = plot.getViewBox()
    view.autoRange()
    markers = [item.value() for item in plot.items
               if isinstance(item, pg.InfiniteLine) and item.isVisible() and item.angle == 90]
    (x0, x1), _ = view.viewRange()
    if markers and (min(markers) < x0 or max(markers) > x1):
        view.setXRange(min(x0, *markers), max(x1, *markers))


def render_figure(record: RunRecord, name: str, fmt: str, scale: int = 1,
                  size: tuple[int, int] = SIZE, log_x: bool = False,
                  generalisation: Generalisation | None = None) -> bytes:
    """One figure (``loss``, ``theta``, ``landscape`` or ``taskview``) as PNG or SVG bytes."""
    return render_panel(lambda: _draw(record, name, log_x, generalisation), figure_title(record, name), fmt,
                        scale, size)


def render_panel(draw: Callable[[], tuple[PlotPanel, pg.PlotItem]], title: str, fmt: str, scale: int = 1,
                 size: tuple[int, int] = SIZE) -> bytes:
    """The panel ``draw()`` makes (and its plot), titled, as PNG or SVG bytes in the print theme."""
    with light_theme():
        application()
        # No deleteLater: deferred deletes that never ran crashed the process at exit;
        # the panel is freed with its last reference instead.
        panel, plot = draw()
        lay_out_figure(panel, plot, title, size, scale if fmt == "png" else 1)
        if fmt == "png":
            return render_png(panel.graphics, scale)
        return render_svg(panel.graphics, title)


def _scale_pens(graphics: pg.GraphicsLayoutWidget, scale: int) -> None:
    """Pens are cosmetic (in device pixels): widen them with the scale, so a 2× figure is
    the 1× one at twice the resolution. Curves get :data:`LINE_WIDTH`: the window's
    1-pixel lines (fast to redraw) are faint on paper."""
    for item in graphics.scene().items():
        # The data item's pen: it re-applies it to its curve whenever the view range changes.
        if isinstance(item, pg.PlotDataItem) and item.opts["pen"] is not None:
            item.setPen(_widened(item.opts["pen"], LINE_WIDTH * scale))
            item.curve.setSegmentedLineMode("off")  # one <path> per curve in SVG, not a line per segment
        elif isinstance(item, pg.InfiniteLine):
            item.setPen(_widened(item.pen, scale))
        elif isinstance(item, pg.AxisItem):
            item.setPen(_widened(item.pen(), scale))


def _widened(pen, width: float):
    pen = pg.mkPen(pen)
    pen.setWidthF(width)
    return pen


# -- rendering ------------------------------------------------------------------------
def render_png(graphics: pg.GraphicsLayoutWidget, scale: int = 1) -> bytes:
    """The widget's scene as PNG, ``scale`` × its size in pixels (text and lines drawn
    at that resolution, not enlarged)."""
    image = _painted_image(graphics, scale)
    _set_dpi(image, PRINT_DPI * scale)  # only now (see _paint_dpi): prints keep the figure's size
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs say bytes; PySide6 takes str only
    return bytes(buffer.data().data())


def render_svg(graphics: pg.GraphicsLayoutWidget, title: str = "") -> bytes:
    """The widget's scene as SVG: curves are ``<path>`` elements in data coordinates."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(graphics.width(), graphics.height()))
    generator.setViewBox(QRectF(0, 0, graphics.width(), graphics.height()))
    generator.setResolution(_paint_dpi())
    generator.setTitle(title or "metalearn-gui figure")
    generator.setDescription(f"made with metalearn-gui {__version__}")
    _paint(graphics, generator)
    return bytes(buffer.data().data())


def _painted_image(graphics: pg.GraphicsLayoutWidget, scale: int) -> QImage:
    image = QImage(graphics.width() * scale, graphics.height() * scale, QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(scale)
    _set_dpi(image, _paint_dpi())
    _paint(graphics, image)
    return image


def _paint_dpi() -> int:
    """pyqtgraph caches axes as QPictures recorded at this DPI; played on a device of
    another DPI they are rescaled (ticks and labels drawn at the wrong size and place)."""
    return QPicture().logicalDpiX()


def _set_dpi(image: QImage, dpi: float) -> None:
    image.setDotsPerMeterX(round(dpi / 0.0254))
    image.setDotsPerMeterY(round(dpi / 0.0254))


def _paint(graphics: pg.GraphicsLayoutWidget, device: QImage | QSvgGenerator) -> None:
    area = QRectF(0, 0, graphics.width(), graphics.height())
    painter = QPainter(device)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.fillRect(area, QColor(BACKGROUND))  # the scene itself is transparent
        graphics.scene().render(painter, area, area)
    finally:
        painter.end()
