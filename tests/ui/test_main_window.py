"""The window end to end (offscreen): run, pause, step, reset, live changes, switching, failures."""

from __future__ import annotations

import numpy as np
import pytest
from ui_helpers import TF_TIMEOUT_MS, current_step, run_for_steps, wait_phase
from PySide6.QtCore import Qt

from metalearn_gui.core.learners.genetic import GeneticLearner

# Small problems: what is tested is the window, not the learners.
CASES = [("genetic", "rastrigin", 3), ("gradient", "sphere", 3), ("neural", "sphere", 2), ("evolution", "rastrigin", 3)]


@pytest.mark.parametrize("learner, objective, dim", CASES)
def test_run_pause_step_reset(make_window, qtbot, learner, objective, dim):
    window = make_window(learner, objective, dim, seed=7)
    theta0 = window.history.theta()[0].copy()
    assert window.panel.learner() == learner

    run_for_steps(qtbot, window, 12)

    def drawn_steps() -> int:
        loss_x, _ = window.loss_plot.loss.getOriginalDataset()
        return 0 if loss_x is None else len(loss_x)

    # The next frame (≤ 33 ms) draws what the last chunk before the pause brought.
    qtbot.waitUntil(lambda: drawn_steps() == len(window.history))
    assert drawn_steps() > 12  # the loss curve received the run
    qtbot.waitUntil(lambda: window.theta_plot.lines[0].getOriginalDataset()[0] is not None
                    and len(window.theta_plot.lines[0].getOriginalDataset()[0]) > 12)
    assert window.landscape_plot.true_surface.image.image is not None

    paused_at = current_step(window)
    qtbot.keyClick(window, Qt.Key.Key_Right)  # Step
    qtbot.waitUntil(lambda: current_step(window) == paused_at + 1, timeout=TF_TIMEOUT_MS)
    qtbot.wait(200)
    assert current_step(window) == paused_at + 1  # exactly one, and the run stays paused
    assert window.state.phase == "paused"

    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # Reset
    qtbot.waitUntil(lambda: window.history is not None and window.state.phase == "ready"
                    and len(window.history) == 1, timeout=TF_TIMEOUT_MS)
    np.testing.assert_array_equal(window.history.theta()[0], theta0)
    assert window.loss_plot.has_ghost()  # the run before the reset stays for comparison


def test_neural_shows_the_model_surface_and_predictions(make_window, qtbot):
    window = make_window("neural", "sphere", 2)
    run_for_steps(qtbot, window, 15)  # past the initial random evaluations: the model steers
    qtbot.waitUntil(lambda: window.landscape_plot.model_surface.image.image is not None, timeout=20_000)
    assert window.landscape_plot.model_surface.plot.isVisible()
    assert np.isfinite(window.history.column("predicted_mean")).any()


def test_genetic_landscape_shows_the_population(make_window, qtbot):
    window = make_window("genetic", "rastrigin", 4)
    population = window.landscape_plot.population
    qtbot.waitUntil(lambda: population.isVisible() and len(population.data) == 100)  # default size


def test_evolution_landscape_shows_the_population_and_the_search_ellipses(make_window, qtbot):
    window = make_window("evolution", "rastrigin", 4)
    assert [c.spec.name for c in window.panel.controls.values()] == ["sigma0", "population", "restarts"]
    plot = window.landscape_plot
    one, two = plot.ellipses

    def drawn(curve) -> bool:
        return curve.getData()[0] is not None and len(curve.getData()[0]) > 0

    qtbot.waitUntil(lambda: drawn(one))
    assert plot.population.isVisible() and len(plot.population.data) == 8  # 4 + ⌊3 ln 4⌋
    (x1, y1), (x2, y2) = one.getData(), two.getData()
    assert np.isfinite(x1).all() and np.isfinite(y1).all()
    # Around one centre, the 2σ ellipse twice the 1σ one, of the order of σ₀ = 0.2·10.24 at the start.
    def centre(x, y):
        return [(x.max() + x.min()) / 2, (y.max() + y.min()) / 2]

    np.testing.assert_allclose(centre(x2, y2), centre(x1, y1), atol=0.01 * np.ptp(x1))
    np.testing.assert_allclose(np.ptp(x2), 2 * np.ptp(x1), rtol=0.01)
    assert 0.2 < np.ptp(x1) < 20 and 0.2 < np.ptp(y1) < 20

    window.panel.learner_box.setCurrentIndex(window.panel.learner_box.findData("genetic"))
    qtbot.waitUntil(lambda: window.state.config.learner == "genetic")
    assert not drawn(one) and not drawn(two)  # genetic has no search distribution to draw


def test_a_1d_strategy_draws_its_landscape_as_a_curve_with_the_trajectory_on_it(make_window, qtbot):
    window = make_window("genetic", "seed", 1)
    plot = window.landscape_plot
    assert window.panel.dim_box.value() == 1 and window.history.dim == 1
    curve = plot.true_surface.curve
    qtbot.waitUntil(lambda: curve.isVisible() and curve.getData()[0] is not None)
    x, y = curve.getData()
    assert len(x) > 100 and np.allclose(y, np.logaddexp(0, x**2))  # L(θ₀) = softplus(θ₀²)
    assert not plot.true_surface.image.isVisible() and plot.axis_boxes[1].isHidden()

    run_for_steps(qtbot, window, 10)
    qtbot.waitUntil(lambda: plot.trajectory.getData()[0] is not None and len(plot.trajectory.getData()[0]) > 10)
    steps_x, steps_y = plot.trajectory.getData()
    assert np.allclose(steps_y, np.logaddexp(0, steps_x**2), atol=1e-3)  # the points sit on the curve
    assert np.allclose(steps_x, window.history.theta()[: len(steps_x), 0])


def test_space_starts_and_pauses(make_window, qtbot):
    window = make_window()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    wait_phase(qtbot, window, "running")
    assert window.start_action.text() == "Pause"
    qtbot.keyClick(window, Qt.Key.Key_Space)
    wait_phase(qtbot, window, "paused")
    assert window.start_action.text() == "Start"


def test_live_slider_changes_the_running_learner_and_leaves_a_marker(make_window, qtbot):
    window = make_window("genetic", "sphere", 3)
    window.panel.speed_slider.setValue(5)  # 100 steps/s: the run is mid-way when the slider moves
    window.start_action.trigger()
    qtbot.waitUntil(lambda: current_step(window) > 20)
    serial = window.serial
    sigma = window.panel.controls["sigma"]
    sigma._slider.setValue(sigma._slider.value() + 1.0)  # a drag to ×10 (log scale)
    qtbot.waitUntil(lambda: window.state.hp["sigma"] == pytest.approx(2.0), timeout=3000)
    step, name, old, new = window.state.changes[-1]
    assert (name, old, new) == ("sigma", pytest.approx(0.2), pytest.approx(2.0))
    assert window.serial == serial and window.state.phase == "running"  # not restarted
    assert len(window.loss_plot.markers) == 1
    marker = window.loss_plot.markers[0]
    assert marker.value() == step and "sigma 0.2 → 2" in marker.toolTip()


def test_non_live_value_waits_for_reset(make_window, qtbot):
    window = make_window("genetic", "sphere", 3)
    window.panel.controls["population"]._box.setValue(30)
    qtbot.waitUntil(lambda: window.state.pending.get("population") == 30)
    assert window.state.hp["population"] == 100
    assert window.panel.controls["population"].property("pending")
    window.reset_action.trigger()
    qtbot.waitUntil(lambda: window.state.phase == "ready" and window.state.hp["population"] == 30)
    assert not window.state.pending
    qtbot.waitUntil(lambda: len(window.landscape_plot.population.data) == 30)


def test_bad_value_is_refused_with_a_message_and_the_app_goes_on(make_window, qtbot):
    window = make_window("genetic", "sphere", 3)
    window.panel.controls["elite"]._box.setValue(100)  # elite must stay below the population
    qtbot.waitUntil(lambda: window.banner.isVisible() and window.banner.kind == "warning")
    assert "elite=100" in window.banner.text.text()
    qtbot.waitUntil(lambda: window.panel.controls["elite"].value() == 2)  # back to the real value
    run_for_steps(qtbot, window, 5)


def test_switching_learner_mid_run_keeps_the_ghost(make_window, qtbot):
    window = make_window("genetic", "sphere", 3)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: current_step(window) > 30)
    window.panel.learner_box.setCurrentIndex(window.panel.learner_box.findData("gradient"))
    qtbot.waitUntil(lambda: window.state.config.learner == "gradient" and window.state.phase == "ready",
                    timeout=TF_TIMEOUT_MS)
    assert window.loss_plot.has_ghost() and window.loss_plot.ghost.isVisible()
    ghost_x, _ = window.loss_plot.ghost.getOriginalDataset()
    assert len(ghost_x) > 30
    assert [c.spec.name for c in window.panel.controls.values()] == ["alpha", "optimizer", "beta"]
    assert window.controller.is_running()  # the same worker serves the new learner
    run_for_steps(qtbot, window, 10)


def test_divergence_pauses_and_says_what_to_try(faulty_objectives, make_window, qtbot):
    window = make_window("gradient", "unbounded-sphere", 3)
    window.panel.controls["alpha"]._box.setValue(5.0)  # θ ← θ − 5·2θ: |θ| grows ×9 a step
    qtbot.waitUntil(lambda: window.state.hp["alpha"] == 5.0)
    window.start_action.trigger()
    wait_phase(qtbot, window, "diverged")
    assert window.banner.isVisible() and "smaller learning rate" in window.banner.text.text()
    assert window.loss_plot.divergence.isVisible()
    assert np.isfinite(window.history.column("loss")).all()
    window.panel.controls["alpha"]._box.setValue(0.01)
    window.reset_action.trigger()
    wait_phase(qtbot, window, "ready")
    run_for_steps(qtbot, window, 10)  # responsive and usable again
    assert not window.banner.isVisible()


def test_worker_exception_is_shown_and_the_app_stays_usable(make_window, qtbot, monkeypatch):
    window = make_window("genetic", "sphere", 3)

    def broken_run(self, count):
        raise ZeroDivisionError("injected failure")

    monkeypatch.setattr(GeneticLearner, "_run", broken_run)
    window.start_action.trigger()
    wait_phase(qtbot, window, "failed")
    assert window.banner.kind == "error" and "injected failure" in window.banner.text.text()
    window.banner.details_button.click()
    assert "broken_run" in window.error_dialog.detailedText()
    window.error_dialog.close()
    monkeypatch.undo()
    window.reset_action.trigger()
    wait_phase(qtbot, window, "ready")
    run_for_steps(qtbot, window, 10)


def test_closing_mid_run_joins_the_worker(make_window, qtbot):
    window = make_window("genetic", "rastrigin", 10)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: current_step(window) > 10)
    window.close()
    assert not window.controller.is_running()


def test_live_plots_survive_several_seconds_of_fast_updates(make_window, qtbot):
    """PySide6 6.12.0 crashed in AxisItem.paint within seconds of live plotting (see the pin)."""
    # > 12 coordinates: the θ heat map. Small gradient steps keep the run going (a genetic
    # run's restarts grow its population until its generations take seconds, then it ends).
    window = make_window("gradient", "seed", 20)
    window.panel.controls["alpha"]._box.setValue(1e-6)
    qtbot.waitUntil(lambda: window.state.hp["alpha"] == 1e-6)
    window.start_action.trigger()
    # Thousands of steps at maximum speed, then at 1,000 steps/s: counted in steps, so the
    # plots see the same stream of chunks on any machine (a slower one just takes longer).
    for speed_index, steps in ((10, 3000), (8, 1000)):
        window.panel.speed_slider.setValue(speed_index)
        target = current_step(window) + steps
        qtbot.waitUntil(lambda: current_step(window) >= target, timeout=60_000)
    assert window.state.phase == "running"
    assert window.theta_plot.heatmap.isVisible() and window.theta_plot.heatmap.image.shape[0] == 20


def test_the_search_ellipse_lies_at_its_number_of_standard_deviations():
    from metalearn_gui.plots.landscape_plot import ellipse

    rotation = np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]])
    covariance = rotation @ np.diag([9.0, 0.25]) @ rotation.T  # long and thin, tilted
    mean = np.array([1.0, -2.0])
    x, y = ellipse(mean, covariance, 2.0)
    offsets = np.stack([x, y], axis=1) - mean
    distances = np.sqrt(np.einsum("ni,ij,nj->n", offsets, np.linalg.inv(covariance), offsets))
    np.testing.assert_allclose(distances, 2.0)  # every point at Mahalanobis distance 2
    assert np.ptp(offsets @ rotation[:, 0]) == pytest.approx(2 * 2 * 3.0, rel=1e-3)  # long axis: ±2·3
