"""Plots show what happened at every scale (the Reliability issue): a log-scaled step
axis, remembered and used by exports; smoothing never drawn across thinned steps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog
from ui_helpers import current_step, run_for_steps, wait_phase

from metalearn_gui.core.history import History
from metalearn_gui.ui.main_window import MainWindow
from metalearn_gui.plots.loss_plot import LossPlot, moving_average


def step_axes_logged(window) -> list[bool]:
    plots = [window.loss_plot.plot, window.theta_plot.plot, window.learner_plot.top.plot,
             window.learner_plot.bottom.plot]
    return [plot.getAxis("bottom").logMode for plot in plots]


def export_loss_svg(window, qtbot, path, monkeypatch) -> str:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(path), ""))
    window.export_menu.with_record(lambda record: window.export_menu.export_figure(record, "loss"))
    qtbot.waitUntil(path.exists)
    return path.read_text()


def test_the_log_step_axis_is_remembered_and_used_by_exports(make_window, qtbot, tmp_path, monkeypatch):
    window = make_window("genetic", "rastrigin", 3)
    run_for_steps(qtbot, window, 30)
    assert step_axes_logged(window) == [False] * 4
    assert "step + 1" not in export_loss_svg(window, qtbot, tmp_path / "linear.svg", monkeypatch)

    window.log_x_action.trigger()
    assert step_axes_logged(window) == [True] * 4
    assert "step + 1" in export_loss_svg(window, qtbot, tmp_path / "log.svg", monkeypatch)
    window.close()

    again = MainWindow.from_last_session()
    try:
        again.show()
        qtbot.waitExposed(again)
        wait_phase(qtbot, again, "ready")
        assert again.log_x_action.isChecked() and step_axes_logged(again) == [True] * 4
        again.step_action.trigger()
        qtbot.waitUntil(lambda: current_step(again) == 1)
        again.log_x_action.trigger()  # and back, for the next session
        assert step_axes_logged(again) == [False] * 4
    finally:
        again.close()


def _loss_plot_of(history: History) -> LossPlot:
    panel = LossPlot()
    panel.resize(600, 400)
    panel.set_run(history, optimum=0.0)
    return panel


def _rows(steps: np.ndarray, loss: np.ndarray) -> tuple:
    return steps, loss, np.minimum.accumulate(loss), steps, np.zeros((len(steps), 1))


def test_switching_axes_on_a_huge_range_of_losses_paints_without_warnings(qtbot):
    """A loss from 10⁻²⁵⁰ to 10²⁵⁰ (a run blowing up): a log axis's room around it
    must stay within float64, or pyqtgraph's ticks overflow."""
    history = History(dim=1)
    steps = np.arange(0, 200_000, 10)
    history.append(*_rows(steps, np.logspace(-250, 250, len(steps))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pyqtgraph's "overflow encountered in power" included
        panel = _loss_plot_of(history)
        qtbot.addWidget(panel)
        panel.plot.getViewBox().setRange(xRange=(1000, 150_000), yRange=(0, 9e4), padding=0)  # a zoom
        for log_x, log_y in ((True, True), (True, False), (False, True), (False, False)):
            panel.set_log_x(log_x)
            panel.log_box.setChecked(log_y)
            panel.grab()
            (x0, x1), (y0, y1) = panel.plot.getViewBox().viewRange()
            if log_x:  # the whole run in view: steps 0 … 200,000 drawn at 10⁰ … 10⁵·³
                assert x0 <= 0 and np.log10(200_000) <= x1 <= 300
            if log_y:
                assert -300 <= y0 <= -250 and 250 <= y1 <= 300


def test_moving_average_stays_within_stretches_of_consecutive_steps():
    steps = np.concatenate([np.arange(100), [150, 170, 230], np.arange(300, 400)])
    values = np.random.default_rng(0).random(len(steps))
    mean, _ = moving_average(steps, values, 20)
    assert np.isnan(mean[100:103]).all()  # thinned rows: no mean at all
    assert mean[99] == pytest.approx(np.mean(values[80:100]))
    at_305 = np.flatnonzero(steps == 305)[0]
    assert mean[at_305] == pytest.approx(np.mean(values[103:at_305 + 1]))  # afresh after the gap


def test_the_smoothed_line_is_never_drawn_across_thinned_steps(qtbot):
    history = History(dim=1)
    steps = np.concatenate([np.arange(2000), np.arange(2000, 60_000, 97), np.arange(60_000, 62_000)])
    history.append(*_rows(steps, 2 + np.sin(steps / 7.0)))
    panel = _loss_plot_of(history)
    qtbot.addWidget(panel)
    for log_x in (False, True):
        panel.set_log_x(log_x)
        x, y = panel.smooth.getData()
        drawn = np.isfinite(x) & np.isfinite(y)
        step = 10 ** x - 1 if log_x else x
        assert drawn.any() and not (drawn & (step > 2000) & (step < 60_000)).any()
        joined = drawn[1:] & drawn[:-1]  # neighbours the line connects
        assert not (joined & (step[:-1] < 2000) & (step[1:] >= 60_000)).any()


def test_a_log_step_axis_follows_the_run_within_a_decade_or_two(make_window, qtbot):
    """The followed range is in decades on a log axis: it must not be ten decades wide
    for a run of a few hundred steps (the data squeezed against the left edge)."""
    window = make_window("genetic", "sphere", 3)
    window.log_x_action.trigger()
    run_for_steps(qtbot, window, 300)
    window.mark_stale()
    qtbot.waitUntil(lambda: not window._stale)
    last = current_step(window)
    for plot in (window.loss_plot.plot, window.theta_plot.plot):
        low, high = plot.getViewBox().viewRange()[0]
        assert low <= 0.5 and np.log10(last + 1) <= high <= np.log10(last + 1) + 2, (low, high, last)
