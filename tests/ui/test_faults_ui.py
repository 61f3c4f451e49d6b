"""The window when things fail under a run: the run store's disk fills up, a user's
objective raises or never answers. One message, the run (or the app) goes on."""

from __future__ import annotations

import errno

from ui_helpers import current_step, run_for_steps, wait_phase

from metalearn_gui.core.store import RunStore
from metalearn_gui.ui import main_window

STEP = 12  # faulty_objectives.FAULT_STEP


class FullDisk:
    """The worker's store connection, whose COMMITs fail once ``full`` is set."""

    def __init__(self, connection):
        self.connection, self.full = connection, False

    def execute(self, sql, *args):
        if sql == "COMMIT" and self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.connection.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.connection, name)


def stored(window, run_id):
    with RunStore.open(window.data_dir) as store:
        return store.load(run_id)


def test_a_full_disk_mid_run_is_told_once_and_the_run_goes_on(make_window, qtbot):
    window = make_window("genetic", "sphere", 3)
    worker = window.controller.worker
    notices = []
    worker.notice.connect(lambda kind, text: notices.append(text))
    run_for_steps(qtbot, window, 20)  # paused: the worker is idle while its connection is swapped
    qtbot.waitUntil(lambda: window.state.record_id is not None)
    run_id, committed = window.state.record_id, current_step(window)
    session = window.controller.worker.session
    session.store._db = disk = FullDisk(session.store._db)
    disk.full = True
    run_for_steps(qtbot, window, 300)  # many chunks, each of which would have been a message
    faulted_at = current_step(window)
    run_for_steps(qtbot, window, 100)
    assert current_step(window) >= faulted_at + 100  # the run went on
    assert len(notices) == 1 and "no longer saved" in notices[0] and "No space left" in notices[0]
    assert window.banner.isVisible() and "No space left on device" in window.banner.text.text()
    disk.full = False
    rows = stored(window, run_id).history.column("step")
    assert list(rows[:committed + 1]) == list(range(committed + 1))  # every step committed before


def test_an_objective_that_raises_once_is_named_in_the_status_bar_and_the_run_goes_on(
        faulty_objectives, make_window, qtbot):
    window = make_window("genetic", "raises-at-step", 3)
    window.start_action.trigger()
    run_for_steps(qtbot, window, STEP + 5)
    line = window.user_objectives.failures_label.toolTip()
    assert line.startswith(f"98 evaluations failed — latest at step {STEP}, θ = [")  # the generation's children
    assert "]: ValueError: a bug in the user's objective" in line
    assert window.state.phase == "paused" and not window.banner.isVisible()  # run_for_steps pauses it


def test_an_objective_that_keeps_raising_fails_the_run_naming_step_and_theta_and_the_app_goes_on(
        faulty_objectives, make_window, qtbot):
    window = make_window("genetic", "raises-from-step", 3)
    window.start_action.trigger()
    wait_phase(qtbot, window, "failed")
    text = window.banner.text.text()
    assert window.banner.kind == "error"
    assert ("every evaluation failed for 3 steps running (294 evaluations; the last: ValueError: a bug in the "
            f"user's objective) at step {STEP + 2} for θ = [") in text
    assert current_step(window) == STEP + 1  # drawn up to the last step made
    qtbot.waitUntil(lambda: window.state.record_id is not None)
    assert stored(window, window.state.record_id).status == "failed"

    window.panel.objective_box.setCurrentIndex(window.panel.objective_box.findData("sphere"))
    qtbot.waitUntil(lambda: window.state.config.objective == "sphere" and window.state.phase == "ready")
    assert not window.banner.isVisible()
    run_for_steps(qtbot, window, 5)


def test_an_objective_that_hangs_is_told_once_and_reset_abandons_it(
        faulty_objectives, make_window, qtbot, monkeypatch):
    monkeypatch.setattr(main_window, "UNANSWERED_SECONDS", 1)
    window = make_window("genetic", "hangs-at-step", 3)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: "has not answered" in window.banner.text.text(), timeout=60_000)
    text = window.banner.text.text()
    assert f"has not answered for 1 s at step {STEP} for θ = [" in text and "Reset" in text
    assert window.state.phase == "running"  # its steps so far are in the chunk that waits

    window.reset_action.trigger()  # taken at once: the evaluation is abandoned
    wait_phase(qtbot, window, "ready")
    run_for_steps(qtbot, window, STEP + 5)  # the objective answers past its fault now
    with RunStore.open(window.data_dir) as store:
        hung = [info for info in store.list_runs()
                if info.objective == "hangs-at-step" and info.id != window.state.record_id][-1]
        steps = store.load(hung.id).history.column("step")
    assert hung.status == "stopped" and list(steps) == list(range(STEP))  # every step before it


def test_closing_the_window_while_the_objective_hangs_ends_the_worker(faulty_objectives, make_window, qtbot):
    window = make_window("genetic", "hangs-at-step", 3)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: window.controller.unanswered() is not None
                    and window.controller.unanswered().step == STEP, timeout=60_000)
    window.close()  # used to wait for the objective, for ever
    assert not window.controller.is_running()


def test_damage_found_mid_run_is_told_once_and_the_run_goes_on(qtbot, tmp_path):
    from metalearn_gui.cli import main as cli_main
    from metalearn_gui.ui.main_window import MainWindow

    assert cli_main(["run", "--learner", "genetic", "--objective", "sphere", "--dim", "2", "--steps", "30",
                     "--quiet", "--data-dir", str(tmp_path)]) == 0
    with RunStore.open(tmp_path) as store:
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = store._db.execute("PRAGMA page_size").fetchone()[0]
        [root] = store._db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'history_by_run'").fetchone()
    with (tmp_path / "runs.sqlite3").open("r+b") as file:  # opens and lists fine; storing rows fails
        file.seek((root - 1) * page_size)
        file.write(bytes([0xA5]) * page_size)
    window = MainWindow(learner="genetic", objective="sphere", dim=3, data_dir=tmp_path)
    notices = []
    window.controller.worker.notice.connect(lambda kind, text: notices.append(text))
    try:
        window.show()
        wait_phase(qtbot, window, "ready")
        run_for_steps(qtbot, window, 200)
        run_for_steps(qtbot, window, 200)  # the run goes on, told once
        assert len(notices) == 1 and "is damaged" in notices[0] and "moved aside" in notices[0]
        assert "is damaged" in window.banner.text.text()
    finally:
        window.close()
    with RunStore.open(tmp_path) as store:  # the next start moves the file aside, with one message
        [message] = store.messages
    assert "found damaged while in use" in message and len(list(tmp_path.glob("runs.sqlite3.corrupt-*"))) == 1


def test_the_runs_panel_tells_an_unreadable_history_once_not_at_every_refresh(qtbot, tmp_path):
    from metalearn_gui.ui.runs_panel import RunsPanel

    store = RunStore.open(tmp_path)
    panel = RunsPanel(store)
    qtbot.addWidget(panel)
    messages = []
    panel.message.connect(lambda kind, text: messages.append(text))
    store.close()  # unreadable from now on, as a damaged or vanished file is
    for _ in range(3):  # the refresh timer's ticks
        panel.refresh()
    assert len(messages) == 1 and "cannot be read" in messages[0]
    panel.store = RunStore.open(tmp_path)
    panel.refresh()  # readable again; a later failure is news again
    panel.store.close()
    panel.refresh()
    assert len(messages) == 2
