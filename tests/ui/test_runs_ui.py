"""The run history in the window (issue 5): runs are stored, listed, overlaid, reloaded,
deleted; TensorBoard logging from the window."""

from __future__ import annotations

from pathlib import Path

from ui_helpers import run_for_steps, wait_phase

from metalearn_gui.cli import main as cli_main
from metalearn_gui.core.store import RunStore


def _runs(data_dir: Path):
    with RunStore.open(data_dir) as store:
        return store.list_runs()


def _show_runs(qtbot, window):
    window.runs_action.trigger()
    qtbot.waitUntil(lambda: window.runs_panel is not None and window.runs_panel.isVisible())
    return window.runs_panel


def test_window_runs_are_stored_and_a_reset_ends_them_as_stopped(make_window, qtbot):
    window = make_window("genetic", "sphere", 3)
    before = {info.id for info in _runs(window.data_dir)}
    run_for_steps(qtbot, window, 5)
    qtbot.waitUntil(lambda: window.state.record_id is not None)
    run_id = window.state.record_id
    assert run_id not in before
    window.reset_action.trigger()
    wait_phase(qtbot, window, "ready")
    qtbot.waitUntil(lambda: window.state.record_id is None)  # a new run, not stored until it steps
    info = next(info for info in _runs(window.data_dir) if info.id == run_id)
    assert (info.source, info.learner, info.status) == ("window", "genetic", "stopped")
    assert info.steps >= 5


def test_cli_run_shows_in_the_panel_overlays_and_reloads(make_window, qtbot):
    window = make_window("gradient", "sphere", 3)
    assert cli_main(["run", "--learner", "genetic", "--objective", "rastrigin", "--dim", "4", "--seed", "5",
                     "--steps", "30", "--set", "sigma=0.2", "--quiet"]) == 0
    cli_run = max(info.id for info in _runs(window.data_dir))
    panel = _show_runs(qtbot, window)
    qtbot.waitUntil(lambda: cli_run in [info.id for info in panel._infos])

    panel.select_run(cli_run)
    panel.overlay_button.click()
    legend = [label.text for _, label in window.loss_plot.plot.legend.items]
    assert any(f"run {cli_run}" in text for text in legend)
    curve = window.loss_plot._overlays[0][0]
    assert len(curve.getOriginalDataset()[0]) == 31  # step 0 … 30
    panel.overlay_button.click()  # again: removed
    assert not window.loss_plot._overlays

    panel.load_button.click()
    qtbot.waitUntil(lambda: window.state.config.learner == "genetic" and window.state.phase == "ready")
    assert (window.panel.learner(), window.panel.objective()) == ("genetic", "rastrigin")
    assert (window.panel.dim_box.value(), window.panel.seed_box.value()) == (4, 5)
    assert window.state.hp["sigma"] == 0.2


def test_deleting_a_run_removes_it_from_panel_and_store(make_window, qtbot):
    window = make_window("genetic", "sphere", 3)
    assert cli_main(["run", "--learner", "genetic", "--objective", "sphere", "--steps", "5", "--quiet"]) == 0
    doomed = max(info.id for info in _runs(window.data_dir))
    panel = _show_runs(qtbot, window)
    panel.delete([doomed])
    assert doomed not in [info.id for info in panel._infos]
    assert doomed not in [info.id for info in _runs(window.data_dir)]


def test_tensorboard_checkbox_logs_the_run(make_window, qtbot):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    window = make_window("genetic", "sphere", 3)
    window.panel.tensorboard_box.setChecked(True)
    run_for_steps(qtbot, window, 5)
    window.reset_action.trigger()  # ends (and closes) the run's log
    wait_phase(qtbot, window, "ready")
    logs = sorted((window.data_dir / "tensorboard").glob("genetic-sphere-*"))
    assert logs
    events = EventAccumulator(str(logs[-1]))
    events.Reload()
    steps = [event.step for event in events.Scalars("loss")]
    assert steps[0] == 0 and steps[-1] >= 5


def test_a_multiple_selection_survives_the_refresh_while_a_run_goes_on(make_window, qtbot):
    window = make_window("genetic", "sphere", 3)
    for seed in ("1", "2"):
        assert cli_main(["run", "--learner", "genetic", "--objective", "sphere", "--steps", "5",
                         "--seed", seed, "--quiet"]) == 0
    panel = _show_runs(qtbot, window)
    chosen = [info.id for info in panel._infos[:2]]
    panel._select(set(chosen))
    run_for_steps(qtbot, window, 5)  # the window's own run enters the list
    qtbot.waitUntil(lambda: window.state.record_id in [info.id for info in panel._infos], timeout=5000)
    assert sorted(panel.selected_ids()) == sorted(chosen)


def test_a_run_whose_loading_does_not_fit_the_controls_is_refused_with_a_message(make_window, qtbot):
    window = make_window("genetic", "sphere", 3)
    assert cli_main(["run", "--learner", "genetic", "--objective", "seed", "--seed", str(2**31), "--steps", "3",
                     "--quiet"]) == 0
    panel = _show_runs(qtbot, window)
    panel.select_run(max(info.id for info in panel._infos))
    panel.load_button.click()
    assert window.banner.kind == "warning" and f"seed {2**31}" in window.banner.text.text()
    assert window.panel.dim_box.value() == 3  # the controls are as they were


def test_a_corrupt_run_history_is_moved_aside_with_a_message(qtbot, tmp_path):
    from metalearn_gui.ui.main_window import MainWindow

    (tmp_path / "runs.sqlite3").write_bytes(b"not a database" * 100)
    window = MainWindow(learner="genetic", objective="sphere", dim=3, data_dir=tmp_path)
    try:
        window.show()
        wait_phase(qtbot, window, "ready")
        assert "moved it aside" in window.store_notice.text() and window.store_notice.isVisible()
        assert list(tmp_path.glob("runs.sqlite3.corrupt-*")) and window.runs_action.isEnabled()
    finally:
        window.close()
