"""What the learner itself is doing, per learner: the genetic population's best/mean/spread
and diversity; the evolution strategy's generation losses and step size σ; the neural model's
predicted vs true loss and its fit NLL; the gradient norm."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from metalearn_gui.core.history import History
from metalearn_gui.plots.style import (
    BEST,
    LOSS,
    SMOOTH,
    PlotPanel,
    finite_or_nan,
    follow_data,
    history_rows,
    mix,
    pen,
    plotted_steps,
    set_log_x,
    set_log_y,
    setup_plot,
)


@dataclass(frozen=True)
class Series:
    column: str  # a History column: "loss" or one of the learner's extras
    name: str
    color: str


@dataclass(frozen=True)
class Panel:
    y_label: str
    series: tuple[Series, ...]
    band: tuple[str, str] | None = None  # (centre, half-width) columns drawn as a shaded band
    log_y: bool = False


@dataclass(frozen=True)
class LearnerView:
    title: str
    top: Panel
    bottom: Panel | None = None
    #: Further extras the run's history keeps for other plots (``restarts``: the loss plot's markers).
    columns: tuple[str, ...] = ()


VIEWS = {
    "genetic": LearnerView(
        "Population",
        Panel("population loss", (Series("population_best", "best", BEST),
                                  Series("population_mean", "mean ± std", LOSS)),
              band=("population_mean", "population_std")),
        Panel("spread", (Series("diversity", "diversity (mean distance)", SMOOTH),
                         Series("sigma", "mutation σ (geometric mean)", BEST))),
        columns=("restarts",),
    ),
    "evolution": LearnerView(
        "Search distribution",
        # Linear like genetic's: raw losses may be negative (a BBOB function's f_opt).
        Panel("generation loss", (Series("population_best", "best", BEST),
                                  Series("population_mean", "mean", LOSS))),
        # σ shrinks by decades as a run converges and jumps back up at each restart.
        Panel("step size σ", (Series("sigma", "σ (restarts: back to σ₀)", SMOOTH),), log_y=True),
        columns=("restarts",),
    ),
    "neural": LearnerView(
        "Model",
        Panel("loss", (Series("loss", "true loss", LOSS),
                       Series("predicted_mean", "predicted μ ± σ", BEST)),
              band=("predicted_mean", "predicted_spread")),
        Panel("fit NLL", (Series("model_nll", "negative log-likelihood", SMOOTH),)),
        columns=("restarts",),
    ),
    "gradient": LearnerView(
        "Gradient",
        Panel("‖∇L‖", (Series("grad_norm", "gradient norm", LOSS),), log_y=True),
    ),
}


def history_extras(learner: str) -> tuple[str, ...]:
    """The per-step extras a run's history must keep for this learner's view."""
    names = set(VIEWS[learner].columns)
    for panel in (VIEWS[learner].top, VIEWS[learner].bottom):
        if panel is not None:
            names |= {series.column for series in panel.series}
            names |= set(panel.band or ())
    return tuple(sorted(names - {"loss"}))


class _PanelItems:
    """A plot with two reusable curves and a band, reconfigured per learner."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.legend = plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
        self.upper = plot.plot(pen=None)
        self.lower = plot.plot(pen=None)
        self.band = pg.FillBetweenItem(self.upper, self.lower, brush=mix(BEST, 50))
        plot.addItem(self.band)
        self.curves = [plot.plot(), plot.plot()]
        self.panel: Panel | None = None

    def configure(self, panel: Panel | None) -> None:
        self.panel = panel
        self.plot.setVisible(panel is not None)
        if panel is None:
            return
        self.legend.clear()
        for index, curve in enumerate(self.curves):
            used = index < len(panel.series)
            curve.setVisible(used)
            if used:
                series = panel.series[index]
                curve.setPen(pen(series.color))
                self.legend.addItem(curve, series.name)
        self.band.setVisible(panel.band is not None)
        if panel.band is not None:
            self.band.setBrush(mix(panel.series[-1].color, 50))
        set_log_y(self.plot, panel.log_y, panel.y_label)

    def draw(self, history: History, rows: np.ndarray | slice, log_x: bool) -> bool:
        """Returns whether the latest step lacks a value (NaN: e.g. a model not fit yet)."""
        panel = self.panel
        if panel is None:
            return False
        steps = plotted_steps(history.column("step")[rows], log_x)
        missing = False
        drawn = []
        for curve, series in zip(self.curves, panel.series, strict=False):  # a panel may use one curve of two
            values = finite_or_nan(history.column(series.column)[rows], positive=panel.log_y)
            missing |= bool(np.isnan(values[-1:]).any())  # the random design's gaps stay quiet
            curve.setData(steps, values, connect="finite")
            drawn.append(values)
        if panel.band is not None:
            centre, half = (history.column(name)[rows] for name in panel.band)
            ok = np.isfinite(centre) & np.isfinite(half)
            self.upper.setData(steps[ok], (centre + half)[ok])
            self.lower.setData(steps[ok], (centre - half)[ok])
            drawn += [(centre + half)[ok], (centre - half)[ok]]
        follow_data(self.plot, steps, drawn)
        return missing


class LearnerPlot(PlotPanel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Learner", parent)
        self.top = _PanelItems(setup_plot(self.graphics.addPlot(row=0, col=0), "step", ""))
        self.bottom = _PanelItems(setup_plot(self.graphics.addPlot(row=1, col=0), "step", ""))
        self._history: History | None = None
        self.log_x = False

    def set_log_x(self, log_x: bool) -> None:
        """A log-scaled step axis (showing step + 1) or a linear one, on both panels."""
        if log_x != self.log_x:
            self.log_x = log_x
            for panel in (self.top, self.bottom):
                set_log_x(panel.plot, log_x)
            self.refresh()

    def set_run(self, learner: str, history: History) -> None:
        view = VIEWS[learner]
        self.title.setText(f"<b>{view.title}</b>")
        self.top.configure(view.top)
        self.bottom.configure(view.bottom)
        self._history = history
        self.refresh()

    def refresh(self) -> None:
        history = self._history
        if history is None or len(history) == 0:
            return
        rows = history_rows(history, self.log_x)
        missing = self.top.draw(history, rows, self.log_x) | self.bottom.draw(history, rows, self.log_x)
        self.note.setText("gaps: model not fit yet" if missing else "")
