"""Loss vs step: the loss, a smoothed line, best so far, the previous run's ghost,
a vertical marker wherever a hyper-parameter changed mid-run, and a dashed one
wherever the learner restarted (its ``restarts`` count rose). For objectives with
held-out tasks, the best θ's held-out loss as points on a line and the reference
baseline's held-out loss as a labelled dashed horizontal line: the gap between the
meta-training loss and the held-out one is generalisation at work. The step axis can be
log-scaled (:meth:`LossPlot.set_log_x`)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QWidget

from metalearn_gui.core.history import History
from metalearn_gui.core.hyperparams import Change
from metalearn_gui.core.objectives.tasks import Baseline
from metalearn_gui.plots.style import (
    BASELINE,
    BEST,
    DIVERGED,
    GHOST,
    HELDOUT,
    LOSS,
    MARKER,
    RESTART,
    SERIES,
    SMOOTH,
    PlotPanel,
    finite_or_nan,
    follow_data,
    history_rows,
    legend_ground,
    list_in_legend,
    pen,
    plotted_steps,
    set_log_x,
    set_log_y,
    setup_plot,
    view_x,
)

#: Overlaid stored runs: colours apart from the current run's loss, best and smoothed lines.
OVERLAY_COLORS = SERIES[3:]
#: The legend's names of the held-out series and of the reference baseline's line.
HELDOUT_LEGEND, BASELINE_LEGEND = "held-out (best θ)", "baseline (held-out)"
#: Smoothing choices: label → moving-average window in consecutive steps.
SMOOTHING = {"no smoothing": 1, "smooth ×20": 20, "smooth ×200": 200}


def moving_average(steps: np.ndarray, values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Trailing mean over ``window`` rows within each stretch of consecutive steps (shorter
    at a stretch's start), and each row's stretch number. Thinned rows are not evenly
    spaced, so a mean over them would be an artefact of the thinning: rows in stretches
    shorter than ``window`` get NaN, and no mean reaches across a gap. NaNs are skipped."""
    count = len(values)
    opens = np.flatnonzero(np.diff(steps) != 1) + 1  # rows that start a stretch (besides row 0)
    stretch = np.zeros(count, dtype=np.intp)
    stretch[opens] = 1
    np.cumsum(stretch, out=stretch)
    if window <= 1:
        return np.asarray(values, dtype=float), stretch
    mean = np.full(count, np.nan)
    bounds = np.concatenate([[0], opens, [count]])
    long = np.flatnonzero(np.diff(bounds) >= window)  # few: the stretches at full resolution
    for first, end in zip(bounds[long], bounds[long + 1], strict=True):
        part = values[first:end]
        finite = np.isfinite(part)
        sums = np.concatenate([[0.0], np.cumsum(np.where(finite, part, 0.0))])
        counts = np.concatenate([[0], np.cumsum(finite)])
        ends = np.arange(1, end - first + 1)
        starts = np.maximum(ends - window, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean[first:end] = (sums[ends] - sums[starts]) / (counts[ends] - counts[starts])
    return mean, stretch


class LossPlot(PlotPanel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Loss", parent)
        self.log_box = self.add_checkbox(
            "log y", "logarithmic loss axis; with a known optimum L* it shows the gap L − L*", True)
        self.smoothing_box = QComboBox()
        self.smoothing_box.addItems(list(SMOOTHING))
        self.smoothing_box.setCurrentIndex(1)
        self.smoothing_box.setToolTip("moving average of the loss over consecutive steps; "
                                      "not drawn where older steps are thinned")
        self.header.addWidget(self.smoothing_box)
        self.plot = setup_plot(self.graphics.addPlot(), "step", "loss")
        # On a translucent ground: the legend sits over the curves' top right, where the
        # held-out series and the baseline's label often are.
        self.plot.addLegend(offset=(-10, 10), labelTextSize="8pt", brush=legend_ground())
        self.ghost = self.plot.plot(pen=pen(GHOST))
        self.ghost.hide()
        self.loss = self.plot.plot(pen=pen(LOSS), name="loss")
        self.smooth = self.plot.plot(pen=pen(SMOOTH), name="smoothed")
        self.best = self.plot.plot(pen=pen(BEST), name="best so far")
        # Listed in the legend only for objectives with held-out tasks (set_heldout).
        self.heldout = pg.PlotDataItem(pen=pen(HELDOUT), symbol="o", symbolSize=5, symbolPen=None,
                                       symbolBrush=pg.mkBrush(HELDOUT))
        self.plot.addItem(self.heldout)
        self.heldout.hide()
        self.baseline = pg.InfiniteLine(angle=0, pen=pen(BASELINE, style=Qt.PenStyle.DashLine), label="baseline",
                                        labelOpts={"position": 0.98, "color": BASELINE, "anchors": [(1, 0), (1, 0)]})
        self.plot.addItem(self.baseline, ignoreBounds=True)
        self.baseline.hide()
        self._baseline_key = pg.PlotDataItem(pen=pen(BASELINE, style=Qt.PenStyle.DashLine))
        self._heldout_history: History | None = None
        self._baseline_value: Baseline | None = None
        self.markers: list[pg.InfiniteLine] = []
        self.divergence = pg.InfiniteLine(angle=90, pen=pen(DIVERGED, style=Qt.PenStyle.DashLine),
                                          label="diverged", labelOpts={"position": 0.9, "color": DIVERGED})
        self.divergence.hide()
        self.plot.addItem(self.divergence, ignoreBounds=True)
        self._history: History | None = None
        self._ghost_data: tuple[np.ndarray, np.ndarray] | None = None
        #: Stored runs drawn beside the current one: (curve, history) each, and the rows drawn.
        self._overlays: list[tuple[pg.PlotDataItem, History]] = []
        self._overlay_data: list[tuple[np.ndarray, np.ndarray]] = []
        self._optimum: float | None = None
        self._changes: tuple[Change, ...] = ()
        self._divergence_step: int | None = None
        #: One dashed line per restart, at the steps in ``_restart_steps``.
        self.restart_markers: list[pg.InfiniteLine] = []
        self._restart_steps = np.empty(0, dtype=np.int64)
        self._restarts_version: int | None = None  # the history version they were found at
        #: The legend's sample of a restart line (listed only while there are restarts).
        self._restart_key = pg.PlotDataItem(pen=pen(RESTART, style=Qt.PenStyle.DashLine))
        self.log_x = False
        self._axis_mode: tuple[bool, str] | None = None  # (log y, label) last applied
        self.log_box.toggled.connect(self.refresh)
        self.smoothing_box.currentIndexChanged.connect(self.refresh)

    # -- inputs ---------------------------------------------------------------------------
    def set_run(self, history: History, optimum: float | None) -> None:
        """A new run starts: the current curve (if any) becomes the ghost."""
        if self._history is not None and len(self._history) > 1:
            self._ghost_data = (self._history.column("step").copy(), self._history.column("loss").copy())
        self._history, self._optimum = history, optimum
        self.set_heldout(None)
        self.set_baseline(None)
        self.set_changes(())
        self.set_divergence(None)
        self.refresh()

    def set_heldout(self, history: History | None) -> None:
        """The best θ's held-out results (:mod:`metalearn_gui.core.generalisation`), drawn
        and listed while not None; new rows are drawn by the next :meth:`refresh`."""
        self._heldout_history = history
        self.heldout.setData([], [])  # the last run's points, read on an axis they may not fit, must go
        list_in_legend(self.plot.legend, self.heldout, HELDOUT_LEGEND, history is not None)
        self.heldout.setVisible(history is not None)

    def baseline_value(self) -> Baseline | None:
        return self._baseline_value

    def set_baseline(self, baseline: Baseline | None) -> None:
        """The reference baseline's held-out loss as a dashed horizontal line (None: none)."""
        self._baseline_value = baseline
        # The legend stays narrow (the plot may be too); the line itself names the baseline.
        list_in_legend(self.plot.legend, self._baseline_key, BASELINE_LEGEND, baseline is not None)
        if baseline is not None:
            self.baseline.label.setFormat(f"{baseline.label}: {baseline.loss:.4g}")
            self.baseline.setToolTip(f"held-out loss of the baseline {baseline.label}: {baseline.loss:.6g} "
                                     "(computed the same way as the held-out series, on the same tasks)")
        self.baseline.setVisible(baseline is not None)
        self.refresh()

    def clear_ghost(self) -> None:
        self._ghost_data = None
        self.refresh()

    def has_ghost(self) -> bool:
        return self._ghost_data is not None

    def set_overlays(self, overlays: list[tuple[str, History]]) -> None:
        """Draw stored runs beside the current one: (legend label, history) each, dashed."""
        for curve, _ in self._overlays:
            self.plot.removeItem(curve)  # and its legend entry
        self._overlays = []
        for index, (label, history) in enumerate(overlays):
            color = OVERLAY_COLORS[index % len(OVERLAY_COLORS)]
            self._overlays.append((self.plot.plot(pen=pen(color, style=Qt.PenStyle.DashLine), name=label), history))
        self._draw_overlays()
        self.refresh()

    def set_log_x(self, log_x: bool) -> None:
        """A log-scaled step axis (showing step + 1: step 0 exists) or a linear one."""
        if log_x == self.log_x:
            return
        self.log_x = log_x
        set_log_x(self.plot, log_x)
        self._place_markers()
        self._place_restart_markers()
        self.set_divergence(self._divergence_step)
        self._draw_overlays()
        self.refresh()

    def _draw_overlays(self) -> None:
        """The rows of each overlaid run to draw (they change only with the step axis)."""
        self._overlay_data = []
        for _, history in self._overlays:
            rows = history_rows(history, self.log_x)
            self._overlay_data.append((history.column("step")[rows], history.column("loss")[rows]))

    def set_changes(self, changes: tuple[Change, ...]) -> None:
        """One vertical marker per mid-run change; hover shows what changed."""
        if changes == self._changes:
            return
        self._changes = changes
        for line in self.markers:
            self.plot.removeItem(line)
        self.markers = []
        for step, name, old, new in changes:
            line = pg.InfiniteLine(angle=90, pen=pen(MARKER, style=Qt.PenStyle.DotLine),
                                   label=name, labelOpts={"position": 0.95, "color": MARKER})
            line.setToolTip(f"step {step}: {name} {_fmt(old)} → {_fmt(new)}")
            self.plot.addItem(line, ignoreBounds=True)
            self.markers.append(line)
        self._place_markers()

    def _place_markers(self) -> None:
        for line, change in zip(self.markers, self._changes, strict=True):
            line.setPos(view_x(change.step, self.log_x))

    def restart_steps(self) -> np.ndarray:
        """Steps at which the run restarted: where its ``restarts`` count rose from the row before."""
        return self._restart_steps

    def _show_restarts(self, history: History) -> None:
        """Markers at the history's restarts (found again only when the history changed)."""
        if history.version == self._restarts_version and len(self.restart_markers) == len(self._restart_steps):
            return
        self._restarts_version = history.version
        steps = np.empty(0, dtype=np.int64)
        if "restarts" in history.extra_names and len(history) > 1:
            count = history.column("restarts")
            rose = np.flatnonzero(np.diff(count) > 0) + 1  # NaN (no count) never rises
            steps = history.column("step")[rose].astype(np.int64)
        if np.array_equal(steps, self._restart_steps) and len(self.restart_markers) == len(steps):
            return
        self._restart_steps = steps
        while len(self.restart_markers) < len(steps):  # lines are reused, not rebuilt
            # Unlabelled: restarts can follow each other within a few pixels, and their labels
            # overprinted into an unreadable smear; the legend names the dashed line instead.
            line = pg.InfiniteLine(angle=90, pen=pen(RESTART, style=Qt.PenStyle.DashLine))
            self.plot.addItem(line, ignoreBounds=True)
            self.restart_markers.append(line)
        while len(self.restart_markers) > len(steps):
            self.plot.removeItem(self.restart_markers.pop())
        listed = any(sample.item is self._restart_key for sample, _ in self.plot.legend.items)
        if bool(len(steps)) != listed:
            if listed:
                self.plot.legend.removeItem(self._restart_key)
            else:
                self.plot.legend.addItem(self._restart_key, "restart")
        for number, (line, step) in enumerate(zip(self.restart_markers, steps, strict=True), start=1):
            line.setToolTip(f"restart {number} at step {step}: the learner started again from a fresh design")
        self._place_restart_markers()

    def _place_restart_markers(self) -> None:
        for line, step in zip(self.restart_markers, self._restart_steps, strict=True):
            line.setPos(view_x(int(step), self.log_x))

    def set_divergence(self, step: int | None) -> None:
        self._divergence_step = step
        self.divergence.setVisible(step is not None)
        if step is not None:
            self.divergence.setPos(view_x(step, self.log_x))
            self.divergence.setToolTip(f"the loss or θ became non-finite at step {step}")

    # -- drawing ------------------------------------------------------------------------
    def refresh(self) -> None:
        history = self._history
        if history is None:
            return
        # Thinned like the history itself, about one bucket per pixel of the step axis.
        all_steps, all_loss, all_best = history.column("step"), history.column("loss"), history.column("best_loss")
        rows = history_rows(history, self.log_x)
        steps, loss = plotted_steps(all_steps[rows], self.log_x), all_loss[rows]
        heldout = self._heldout_history
        heldout_steps, heldout_loss = ((heldout.column("step"), heldout.column("loss")) if heldout is not None
                                       else (np.empty(0), np.empty(0)))
        baseline = np.array([self._baseline_value.loss]) if self._baseline_value is not None else np.empty(0)
        log_y = self._log_possible(np.concatenate([loss, heldout_loss, baseline])) and self.log_box.isChecked()
        shift = self._optimum if (log_y and self._optimum is not None) else 0.0
        label = "loss L(θ)" if shift == 0.0 else "gap L(θ) − L*"
        # A gap the floats cannot tell from zero (the optimum reached) is drawn at their
        # resolution around L*, not dropped as log(0).
        floor = float(np.spacing(abs(shift))) if shift else 0.0
        if (log_y, label) != self._axis_mode:  # re-laying out axes is costly: only on change
            self._axis_mode = (log_y, label)
            set_log_y(self.plot, log_y, label)

        def show(curve: pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> np.ndarray:
            y = finite_or_nan(np.maximum(y - shift, floor) if floor else y, positive=log_y)
            curve.setData(x, y, connect="finite", skipFiniteCheck=not np.isnan(y).any())
            return y

        drawn = [show(self.loss, steps, loss), show(self.best, steps, all_best[rows])]
        window = SMOOTHING[self.smoothing_box.currentText()]
        self.smooth.setVisible(window > 1)
        if window > 1:
            smooth, stretch = moving_average(all_steps, all_loss, window)
            show(self.smooth, *_apart(steps, smooth[rows], stretch[rows]))
        overlays = [(plotted_steps(overlay_steps, self.log_x), overlay_loss)
                    for overlay_steps, overlay_loss in self._overlay_data]
        drawn += [show(curve, *data) for (curve, _), data in zip(self._overlays, overlays, strict=True)]
        if heldout is not None:
            if len(heldout_steps) and all_steps[-1] > heldout_steps[-1]:  # the best θ has held since
                heldout_steps = np.append(heldout_steps, all_steps[-1])
                heldout_loss = np.append(heldout_loss, heldout_loss[-1])
            drawn.append(show(self.heldout, plotted_steps(heldout_steps, self.log_x), heldout_loss))
            if not np.isfinite(drawn[-1]).any():  # pyqtgraph's points warn on bounds of NaN alone
                self.heldout.setData([], [])
        if len(baseline):
            drawn.append(self._place_baseline(finite_or_nan(baseline - shift, positive=log_y), log_y))
        follow_data(self.plot, _span(steps, *(overlay_steps for overlay_steps, _ in overlays)), drawn)
        if self._ghost_data is not None:
            ghost_steps, ghost_loss = self._ghost_data
            show(self.ghost, plotted_steps(ghost_steps, self.log_x), ghost_loss)
        self._show_ghost(self._ghost_data is not None)
        self._show_restarts(history)
        thinned = history.rows_seen - len(history)
        self.note.setText(f"older steps thinned ({len(history):,} of {history.rows_seen:,} kept)"
                          if thinned > 0 else "")

    def _place_baseline(self, value: np.ndarray, log_y: bool) -> np.ndarray:
        """Put the baseline's line at ``value`` (one, already shifted; NaN: not drawable on
        this axis), in view coordinates (an InfiniteLine is not log-transformed)."""
        drawable = bool(np.isfinite(value[0]))
        self.baseline.setVisible(drawable)
        if drawable:
            self.baseline.setPos(float(np.log10(value[0]) if log_y else value[0]))
        return value

    def _show_ghost(self, visible: bool) -> None:
        """Only a drawn ghost has a legend entry."""
        if visible == self.ghost.isVisible():
            return
        self.ghost.setVisible(visible)
        if visible:
            self.plot.legend.addItem(self.ghost, "previous run")
        else:
            self.plot.legend.removeItem(self.ghost)

    def _log_possible(self, loss: np.ndarray) -> bool:
        """A log axis needs positive values: the gap to a known optimum, or a positive loss."""
        finite = loss[np.isfinite(loss)]  # a held-out loss may be NaN or inf (an inner run diverged)
        possible = self._optimum is not None or len(finite) == 0 or float(np.min(finite)) > 0
        self.log_box.setEnabled(possible)
        self.log_box.setToolTip(
            "logarithmic loss axis; with a known optimum L* it shows the gap L − L*" if possible
            else "unavailable: this loss takes values ≤ 0 and its optimum is unknown")
        return possible


def _apart(x: np.ndarray, y: np.ndarray, stretch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x``, ``y`` with a NaN point between drawn neighbours of different stretches: a
    line is never drawn across a thinned gap."""
    finite = np.isfinite(y)
    breaks = np.flatnonzero((stretch[1:] != stretch[:-1]) & finite[1:] & finite[:-1]) + 1
    return (np.insert(x, breaks, np.nan), np.insert(y, breaks, np.nan)) if len(breaks) else (x, y)


def _span(*steps: np.ndarray) -> np.ndarray:
    """[first, last] over ascending step columns (empty if all are)."""
    ends = [(column[0], column[-1]) for column in steps if len(column)]
    return np.array([min(e[0] for e in ends), max(e[1] for e in ends)]) if ends else np.empty(0)


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
