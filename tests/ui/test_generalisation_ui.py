"""Generalisation in the window: the held-out series and the baseline's line on the loss
plot, the task view dock (task distributions only), the θ view of a large D, the
landscape's reason, fixed-D objectives and learners refused beyond their largest D."""

from __future__ import annotations

import numpy as np
import pytest
from ui_helpers import run_for_steps, wait_phase

from metalearn_gui.core.history import History
from metalearn_gui.core.objectives.tasks import FunctionFits, InnerCurves
from metalearn_gui.plots.task_view import TaskViewPlot
from metalearn_gui.plots.theta_plot import MAX_HEATMAP, SUMMARY_COORDINATES, ThetaPlot


def legend_labels(plot) -> list[str]:
    return [label.text for _, label in plot.legend.items]


def test_lr_schedule_shows_the_heldout_series_the_baseline_line_and_the_task_view(make_window, qtbot):
    window = make_window("genetic", "lr-schedule", 4)
    assert window.task_view_dock.isVisibleTo(window) and window.task_view_action.isEnabled()
    run_for_steps(qtbot, window, 30)
    qtbot.waitUntil(lambda: window.heldout is not None and len(window.heldout) >= 1, timeout=20_000)
    qtbot.waitUntil(lambda: window.loss_plot.baseline.isVisible(), timeout=5_000)
    window.loss_plot.refresh()
    x, y = window.loss_plot.heldout.getData()
    assert len(x) >= 1 and np.isfinite(y).all()
    labels = legend_labels(window.loss_plot.plot)
    assert "held-out (best θ)" in labels
    assert "baseline (held-out)" in labels
    assert window.loss_plot.baseline.label.format.startswith("tuned constant step")
    assert window.loss_plot.baseline.value() == pytest.approx(window.loss_plot.baseline_value().loss)
    view = window.task_view.view
    assert isinstance(view, InnerCurves)
    assert legend_labels(window.task_view.loss)[0] == "learned" and len(legend_labels(window.task_view.loss)) == 3
    assert "held-out" in window.status_labels["heldout"].text()


def test_sphere_has_no_heldout_series_and_the_task_view_goes(make_window, qtbot):
    window = make_window("genetic", "lr-schedule", 4)
    assert window.task_view_dock.isVisibleTo(window)
    window.panel.objective_box.setCurrentIndex(window.panel.objective_box.findData("sphere"))
    qtbot.waitUntil(lambda: window.state.config.objective == "sphere", timeout=10_000)
    wait_phase(qtbot, window, "ready")
    assert not window.task_view_dock.isVisibleTo(window) and not window.task_view_action.isEnabled()
    run_for_steps(qtbot, window, 20)
    window.loss_plot.refresh()
    assert window.heldout is None and not window.loss_plot.heldout.isVisible()
    assert not window.loss_plot.baseline.isVisible()
    labels = legend_labels(window.loss_plot.plot)
    assert not any("held-out" in label for label in labels)


def test_a_fixed_dimension_objective_shows_its_d_disabled_with_named_coordinates(make_window, qtbot, task_doubles):
    window = make_window("genetic", "toy-fewshot", None)
    assert window.panel.dim_box.value() == 7 and not window.panel.dim_box.isEnabled()
    assert "fixed dimension D = 7" in window.panel.dim_box.toolTip()
    assert legend_labels(window.theta_plot.plot)[-1] == "log init scale"
    run_for_steps(qtbot, window, 20)
    qtbot.waitUntil(lambda: window.task_view.view is not None, timeout=10_000)
    assert window.task_view.accuracy.isVisible() and len(legend_labels(window.task_view.accuracy)) == 2
    assert "acc" in window.status_labels["heldout"].text()
    window.panel.objective_box.setCurrentIndex(window.panel.objective_box.findData("sphere"))
    assert window.panel.dim_box.isEnabled()


def test_the_landscape_shows_the_reason_an_objective_gives_instead_of_a_picture(make_window, qtbot, task_doubles):
    window = make_window("genetic", "toy-fits", None)
    plot = window.landscape_plot
    assert plot.reason.isVisibleTo(window) and not plot.graphics.isVisibleTo(window)
    assert plot.reason.text() == f"No landscape: {task_doubles.NO_LANDSCAPE}"
    window.panel.objective_box.setCurrentIndex(window.panel.objective_box.findData("sphere"))
    qtbot.waitUntil(lambda: window.state.config.objective == "sphere", timeout=10_000)
    assert plot.graphics.isVisibleTo(window) and not plot.reason.isVisibleTo(window)


def test_learners_beyond_their_largest_d_are_disabled_with_the_reason(make_window, qtbot, monkeypatch):
    from metalearn_gui.core.learners import learner_class

    monkeypatch.setattr(learner_class("neural"), "max_dim", 5)
    monkeypatch.setattr(learner_class("neural"), "max_dim_reason", "its model's limit")
    window = make_window("genetic", "sphere", 3)
    panel = window.panel
    index = panel.learner_box.findData("neural")
    assert panel.learner_box.model().item(index).isEnabled()
    panel.dim_box.setValue(8)
    assert not panel.learner_box.model().item(index).isEnabled()
    assert "handles at most 5 dimensions (its model's limit)" in panel.learner_box.itemData(index, 3)
    panel.learner_box.setCurrentIndex(index)  # chosen anyway (a saved session): the panel switches
    qtbot.waitUntil(lambda: panel.learner() != "neural", timeout=5_000)


def test_the_task_view_draws_function_fits_and_inner_curves_with_accuracy(qtbot, task_doubles):
    panel = TaskViewPlot()
    qtbot.addWidget(panel)
    fits = task_doubles.ToyFits().task_view(np.zeros(task_doubles.FITS_DIM))
    panel.set_view(fits)
    assert isinstance(fits, FunctionFits) and not panel.accuracy.isVisible()
    labels = panel.curve_labels(panel.loss)
    assert labels[0] == "true function" and labels[-1] == "10 support points"
    assert labels[1:3] == ["learned", "pre-trained"]  # once each, with the note saying which line is which step
    assert panel.note.text().startswith("held-out sine") and "dotted 0 · dashed 1 · solid 10" in panel.note.text()
    assert len(panel.loss.listDataItems()) == 1 + 2 * 3 + 1
    curves = task_doubles.ToyFewShot().task_view(np.zeros(7))
    panel.set_view(curves)
    expected = ["learned", "tuned constant rate 0.1"]
    assert panel.curve_labels(panel.loss) == panel.curve_labels(panel.accuracy) == expected
    moved = task_doubles.ToyFewShot().task_view(np.ones(7))
    first_curve = panel.loss.listDataItems()[0]
    panel.set_view(moved)  # the same curves, moved in place
    assert panel.loss.listDataItems()[0] is first_curve
    assert np.allclose(first_curve.getData()[1], moved.loss["learned"])
    panel.set_view(None)
    assert "first held-out evaluation" in panel.note.text()
    assert all(curve.getData()[0] is None or len(curve.getData()[0]) == 0 for curve in panel.loss.listDataItems())


def test_the_theta_view_of_two_thousand_coordinates_shows_its_summary(qtbot):
    dim, steps = 2000, 500
    history = History(dim)
    rng = np.random.default_rng(0)
    theta = np.cumsum(rng.normal(0, 0.01, (steps, dim)), axis=0)
    theta[:, 1234] += np.linspace(0, 5, steps)  # one coordinate moves most
    loss = rng.random(steps)
    history.append(np.arange(steps), loss, np.minimum.accumulate(loss), np.arange(steps), theta)
    panel = ThetaPlot()
    qtbot.addWidget(panel)
    names = tuple(f"w{i}" for i in range(dim))
    panel.set_run(history, names)
    assert dim > MAX_HEATMAP and not panel.heatmap.isVisible()
    labels = legend_labels(panel.plot)
    assert labels[0] == "RMS ‖θ − θ₀‖/√D" and labels[1] == "w1234" and len(labels) == 1 + SUMMARY_COORDINATES
    x, rms = panel.lines[0].getData()
    assert len(x) <= 500 and rms[-1] == pytest.approx(np.sqrt(np.mean((theta[-1] - theta[0]) ** 2)))
    assert "D = 2,000" in panel.note.text()
    panel.set_log_x(True)  # and back: no error, still the summary
    panel.set_log_x(False)
    small = History(3)
    small.append(np.arange(3), np.ones(3), np.ones(3), np.arange(3), np.zeros((3, 3)))
    panel.set_run(small)
    assert legend_labels(panel.plot) == ["θ₀", "θ₁", "θ₂"] and panel.note.text() == ""


def test_the_heldout_series_and_baseline_follow_log_axes_and_skip_what_cannot_be_drawn(qtbot):
    from metalearn_gui.core.events import HeldOutResult
    from metalearn_gui.core.generalisation import HELDOUT_ROWS, add_result, heldout_history
    from metalearn_gui.core.objectives.tasks import Baseline
    from metalearn_gui.plots.loss_plot import LossPlot

    history = History(2)
    loss = np.linspace(2.0, 0.5, 100)
    history.append(np.arange(100), loss, np.minimum.accumulate(loss), np.arange(100), np.zeros((100, 2)))
    heldout = heldout_history()
    for step, value in ((0, 3.0), (10, np.inf), (20, np.nan), (30, 0.8)):
        add_result(heldout, HeldOutResult(1, step, step, value, None, None))
    panel = LossPlot()
    qtbot.addWidget(panel)
    panel.set_run(history, None)
    panel.set_heldout(heldout)
    panel.set_baseline(Baseline("tuned constant rate", 1.0))
    assert panel.log_box.isChecked() and panel.plot.getAxis("left").logMode
    x, y = panel.heldout.getOriginalDataset()  # as handed over, before the log transform
    assert list(x) == [0, 10, 20, 30, 99]  # and held to the last step
    assert np.isnan(y[1]) and np.isnan(y[2]) and y[3] == pytest.approx(0.8)  # not finite: gaps
    assert panel.baseline.value() == pytest.approx(0.0)  # log10(1.0): the line is placed in view coordinates
    panel.set_log_x(True)
    assert list(panel.heldout.getOriginalDataset()[0]) == [1, 11, 21, 31, 100]
    panel.set_baseline(Baseline("below zero", -1.0))  # a log axis cannot show it: the axis goes linear
    assert not panel.plot.getAxis("left").logMode and panel.baseline.value() == pytest.approx(-1.0)
    many = heldout_history()
    for step in range(3 * HELDOUT_ROWS):
        add_result(many, HeldOutResult(1, step, step, 1.0 + np.sin(step), None, None))
    assert len(many) <= HELDOUT_ROWS and many.column("step")[-1] == 3 * HELDOUT_ROWS - 1
    assert many.column("loss").min() == pytest.approx((1.0 + np.sin(np.arange(3 * HELDOUT_ROWS))).min())


def test_a_heldout_series_with_nothing_drawable_draws_nothing_without_warnings(qtbot):
    import warnings

    from metalearn_gui.core.events import HeldOutResult
    from metalearn_gui.core.generalisation import add_result, heldout_history
    from metalearn_gui.plots.loss_plot import LossPlot

    history = History(2)
    history.append(np.arange(3), np.ones(3), np.ones(3), np.arange(3), np.zeros((3, 2)))
    heldout = heldout_history()
    add_result(heldout, HeldOutResult(1, 0, 0, np.inf, None, None))  # an inner run diverged on every task
    panel = LossPlot()
    qtbot.addWidget(panel)
    panel.set_run(history, None)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        panel.set_heldout(heldout)
        panel.refresh()
        panel.plot.getViewBox().autoRange()  # asks every item for its bounds
    assert not [str(w.message) for w in warned]
    assert panel.heldout.getData()[0] is None or len(panel.heldout.getData()[0]) == 0


def test_a_new_run_drops_the_last_runs_heldout_points(qtbot):
    """lr-schedule's negative held-out losses, left on the item while the next run turned
    the axis logarithmic, became NaN points whose bounds warned."""
    import warnings

    from metalearn_gui.core.events import HeldOutResult
    from metalearn_gui.core.generalisation import add_result, heldout_history
    from metalearn_gui.plots.loss_plot import LossPlot

    negative = History(2)
    negative.append(np.arange(3), -np.ones(3), -np.ones(3), np.arange(3), np.zeros((3, 2)))
    heldout = heldout_history()
    add_result(heldout, HeldOutResult(1, 1, 1, -1.2, None, None))
    panel = LossPlot()
    qtbot.addWidget(panel)
    panel.set_run(negative, None)
    panel.set_heldout(heldout)
    panel.refresh()
    assert not panel.plot.getAxis("left").logMode
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        panel.set_run(History(2), None)  # empty: a log axis is possible again, and is taken
        panel.set_heldout(heldout_history())
        panel.plot.getViewBox().autoRange()
    assert panel.plot.getAxis("left").logMode and not [str(w.message) for w in warned]
