"""The landscape: L on the plane of two chosen coordinates through the current θ (the
population's mean for the genetic and evolution learners), with the trajectory, the population,
for the evolution learner its search distribution's 1σ and 2σ ellipses, and for the neural
learner the model's predicted surface beside the true one. A 1-D θ has no plane: L(θ₀) is
drawn as a curve, with the trajectory's points on it. An objective may choose the first
two coordinates, or say why no two make a meaningful picture: then the panel says so
instead (:meth:`LandscapePlot.set_objective_axes`)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSpinBox, QWidget

from metalearn_gui.core.history import History
from metalearn_gui.core.landscape import Landscape
from metalearn_gui.plots.style import BEST, LOSS, PlotPanel, decimated, mix, pen, set_label, setup_plot

TRAJECTORY_POINTS = 2000
POPULATION_POINTS = 1000
UNLIMITED = 16_777_215  # Qt's QWIDGETSIZE_MAX
COLORMAP = "viridis"
#: The search distribution's ellipses: these many standard deviations from its mean.
ELLIPSE_SIGMAS = (1.0, 2.0)
ELLIPSE_POINTS = 120
ELLIPSE_COLOR = "#FFFFFF"  # white shows on every colour of viridis


def ellipse(mean: np.ndarray, covariance: np.ndarray, sigmas: float,
            points: int = ELLIPSE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """The closed curve ``sigmas`` standard deviations from ``mean`` (2,) of a Gaussian with
    ``covariance`` (2 × 2): {mean + sigmas · V √Λ (cos t, sin t)} for covariance = V Λ Vᵀ."""
    variances, axes = np.linalg.eigh((covariance + covariance.T) / 2)
    angle = np.linspace(0.0, 2.0 * np.pi, points)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    curve = mean[:, None] + sigmas * (axes * np.sqrt(np.maximum(variances, 0.0))) @ circle
    return curve[0], curve[1]


def color_values(values: np.ndarray, floor: float, span: float) -> np.ndarray:
    """log10 of the height above ``floor``: contours of L spread over orders of magnitude.
    Non-finite values become NaN (drawn transparent)."""
    eps = max(span * 1e-6, 1e-12)
    with np.errstate(all="ignore"):
        shown = np.log10(np.maximum(values - floor, 0.0) + eps)
    return np.where(np.isfinite(shown), shown, np.nan)


class _Surface:
    """One picture of L (true or predicted) with its plot: an image of a plane, or the
    curve of a 1-D θ; created once, updated in place."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get(COLORMAP))
        plot.addItem(self.image)
        self.curve = plot.plot(pen=pen(LOSS), connect="finite")
        self.curve.setVisible(False)
        plot.setAspectLocked(True)

    def show(self, loss: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> None:
        """Draw ``loss`` on the grid xs × ys, or as a curve over xs if ``ys`` is empty."""
        is_curve = len(ys) == 0
        self.curve.setVisible(is_curve)
        self.image.setVisible(not is_curve)
        self.plot.setAspectLocked(not is_curve)  # θ₀ against L: no common unit
        if is_curve:
            self.curve.setData(xs, np.where(np.isfinite(loss), loss, np.nan))
            return
        finite = loss[np.isfinite(loss)]
        floor, span = float(finite.min()), float(finite.max() - finite.min())
        values = color_values(loss, floor, span)
        levels = tuple(np.nanpercentile(values, [1, 99]))
        self.image.setImage(values, autoLevels=False, levels=levels)
        dx, dy = xs[1] - xs[0], ys[1] - ys[0]
        self.image.setRect(xs[0] - dx / 2, ys[0] - dy / 2, xs[-1] - xs[0] + dx, ys[-1] - ys[0] + dy)


class LandscapePlot(PlotPanel):
    """Emits ``axes_changed(i, j)`` when the user picks other coordinates."""

    axes_changed = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Landscape", parent)
        self.axis_boxes: list[QSpinBox] = []
        self._axis_pickers: list[QWidget] = []
        for name in ("x = θ", "y = θ"):
            label, box = QLabel(name), QSpinBox()
            box.setToolTip("coordinate of θ on this axis of the plane (the others stay at the centre)")
            box.valueChanged.connect(self._on_axis_box_changed)
            for widget in (label, box):
                self.header.addWidget(widget)
            self.axis_boxes.append(box)
            self._axis_pickers += [label, box]
        self.true_surface = _Surface(setup_plot(self.graphics.addPlot(title="true L"), "θ₀", "θ₁"))
        self.model_surface = _Surface(setup_plot(self.graphics.addPlot(title="model μ near θ best"), "θ₀", "θ₁"))
        plot = self.true_surface.plot
        self.population = pg.ScatterPlotItem(size=4, pen=None, brush=mix("#FFFFFF", 150))
        self.trajectory = plot.plot(pen=pen(mix(BEST, 220)))
        self.current = pg.ScatterPlotItem(size=10, pen=pen("#000000"), brush=pg.mkBrush(LOSS), symbol="o")
        # 1σ solid, 2σ dashed: the two read apart even where they nearly touch.
        # Outside the view's bounds: a restarted run's wide 2σ ellipse would zoom the plane out
        # far beyond the domain.
        self.ellipses = [pg.PlotDataItem(pen=pen(ELLIPSE_COLOR, style=None if sigmas == 1 else Qt.PenStyle.DashLine))
                         for sigmas in ELLIPSE_SIGMAS]
        for curve in self.ellipses:
            plot.addItem(curve, ignoreBounds=True)
        for item in (self.population, self.current):
            plot.addItem(item)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.reason.setStyleSheet("color: gray; padding: 12px;")
        self.column.addWidget(self.reason, 1)
        self.reason.hide()
        self._dim = 2
        self._landscape: Landscape | None = None
        self._history: History | None = None
        self._population: np.ndarray | None = None
        self._distribution: tuple[np.ndarray, np.ndarray] | None = None  # mean, covariance
        self.set_dim(2)
        self.set_model_visible(False)

    # -- inputs ---------------------------------------------------------------------------
    def set_dim(self, dim: int) -> None:
        self._dim = dim
        for index, box in enumerate(self.axis_boxes):
            box.blockSignals(True)
            box.setRange(0, dim - 1)
            if box.value() >= dim or self.axes()[0] == self.axes()[1]:
                box.setValue(index)
            box.blockSignals(False)
        for widget in self._axis_pickers:
            widget.setVisible(dim > 1)  # a 1-D θ has one coordinate: nothing to pick
        self._set_trajectory_style(on_curve=dim == 1)
        self._label_axes()

    def set_objective_axes(self, axes: tuple[int, int] | str) -> None:
        """The objective's first choice of coordinates (call after :meth:`set_dim`), or one
        line saying why it has no landscape, shown instead of a picture."""
        reason = axes if isinstance(axes, str) else ""
        self.reason.setText(f"No landscape: {reason}" if reason else "")
        self.reason.setVisible(bool(reason))
        self.graphics.setVisible(not reason)
        for widget in self._axis_pickers:
            widget.setVisible(not reason and self._dim > 1)
        if not isinstance(axes, str) and self._dim > 1:
            for box, axis in zip(self.axis_boxes, axes, strict=True):
                box.blockSignals(True)
                box.setValue(axis)
                box.blockSignals(False)
            self._label_axes()

    def axes(self) -> tuple[int, int]:
        return self.axis_boxes[0].value(), self.axis_boxes[1].value()

    def set_model_visible(self, visible: bool) -> None:
        model = self.model_surface.plot
        model.setVisible(visible)
        # A hidden plot still holds its minimum width in the layout: a blank strip beside L.
        model.setMinimumWidth(-1 if visible else 0)  # -1: back to the plot's own minimum
        model.setMaximumWidth(UNLIMITED if visible else 0)
        self.graphics.ci.layout.setColumnStretchFactor(0, 1)
        self.graphics.ci.layout.setColumnStretchFactor(1, 1 if visible else 0)

    def set_run(self, history: History, population_visible: bool) -> None:
        self._history = history
        self._landscape = None
        self._population = None
        self.population.setData([], [])
        self.population.setVisible(population_visible)
        self.trajectory.setData([], [])
        self.current.setData([], [])
        self._distribution = None
        for curve in self.ellipses:
            curve.setData([], [])

    def set_landscape(self, landscape: Landscape) -> None:
        self._landscape = landscape
        true = landscape.true_loss
        finite = true[np.isfinite(true)]
        if finite.size == 0:
            self.note.setText(f"L is not finite on this {'line' if landscape.is_curve else 'plane'}")
            return
        self.true_surface.show(true, landscape.xs, landscape.ys)
        notes = [] if finite.size == true.size else ["blank: L not finite"]
        # The model is fit locally (trust region), so its own colour scale: compare shapes.
        model = landscape.model
        if model is not None and np.isfinite(model[0]).any():
            self.model_surface.show(*model)
        elif self.model_surface.plot.isVisible():
            notes.append("model not fit yet")
        self.note.setText("; ".join(notes))
        self.refresh()

    def set_population(self, population: np.ndarray | None) -> None:
        """Keep the latest population; it is drawn by the next :meth:`refresh` — every
        strategy up to ``POPULATION_POINTS``, an even sample of a larger one (IPOP restarts
        grow populations to tens of thousands, whose scatter stalled the window ~60 ms a frame)."""
        if population is not None:
            stride = -(-len(population) // POPULATION_POINTS)
            self._population = population[::stride]

    def set_search_distribution(self, mean: np.ndarray | None, covariance: np.ndarray | None) -> None:
        """Keep the latest search distribution N(mean, covariance) (an evolution strategy's):
        every :meth:`refresh` draws its ellipses on the plane's two coordinates."""
        if mean is not None and covariance is not None:
            self._distribution = (mean, covariance)

    def refresh(self) -> None:
        """Redraw the trajectory (recent part of the run) and the current θ."""
        history = self._history
        if history is None or len(history) == 0:
            return
        theta = history.theta()[-TRAJECTORY_POINTS * 4:]
        trajectory = self.positions(theta[decimated(len(theta), TRAJECTORY_POINTS)])
        current = self.positions(theta[-1:])
        if trajectory is None or current is None:  # a 1-D θ before its curve: no height to draw at
            return
        self.trajectory.setData(*trajectory, skipFiniteCheck=True)
        self.current.setData(*current)
        population = None if self._population is None else self.positions(self._population)
        if population is not None and self.population.isVisible():
            self.population.setData(*population)
            self._population = None  # drawn; wait for the next one
        self._draw_distribution()

    def _draw_distribution(self) -> None:
        """The 1σ and 2σ ellipses of the search distribution's marginal on the plane's axes."""
        if self._distribution is None or self._dim < 2:
            return
        mean, covariance = self._distribution  # kept: a new plane redraws it
        i, j = self._landscape.axes if self._landscape is not None else self.axes()
        plane = [i, j]
        marginal = covariance[np.ix_(plane, plane)]
        if not (np.isfinite(marginal).all() and np.isfinite(mean[plane]).all()):
            return
        for curve, sigmas in zip(self.ellipses, ELLIPSE_SIGMAS, strict=True):
            curve.setData(*ellipse(mean[plane], marginal, sigmas))

    def positions(self, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Where strategies are drawn: at their two plane coordinates, or for a 1-D θ on the
        drawn curve (the picture's fixed draw of a noisy L, not each step's own draw)."""
        landscape = self._landscape
        if self._dim > 1:
            i, j = landscape.axes if landscape is not None else self.axes()
            return thetas[:, i], thetas[:, j]
        if landscape is None or not landscape.is_curve:
            return None
        x = thetas[:, 0]
        y = np.interp(x, landscape.xs, landscape.true_loss, left=np.nan, right=np.nan)
        shown = np.isfinite(y)
        return x[shown], y[shown]

    def _set_trajectory_style(self, on_curve: bool) -> None:
        """A line across the plane; on a curve, points (a line would retrace the curve)."""
        if on_curve:
            self.trajectory.setPen(None)
            self.trajectory.setSymbol("o")
            self.trajectory.setSymbolSize(5)
            self.trajectory.setSymbolPen(None)
            self.trajectory.setSymbolBrush(pg.mkBrush(mix(BEST, 200)))
        else:
            self.trajectory.setSymbol(None)
            self.trajectory.setPen(pen(mix(BEST, 220)))

    def _on_axis_box_changed(self) -> None:
        i, j = self.axes()
        if i == j:
            self.note.setText("pick two different coordinates")
            return
        self._label_axes()
        self.axes_changed.emit(i, j)

    def _label_axes(self) -> None:
        i, j = self.axes()
        for surface, height in ((self.true_surface, "L"), (self.model_surface, "μ")):
            set_label(surface.plot, "bottom", f"θ{i}")
            set_label(surface.plot, "left", height if self._dim == 1 else f"θ{j}")
