"""SIGINT, SIGTERM and SIGHUP to the window's process: the run is stored as stopped with
every step it made, and the process exits with 128 + the signal's number."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from metalearn_gui.core.store import DB_NAME, RunStore

#: Opens the window as the app does and starts a slow genetic run once it is ready.
LAUNCHER = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from metalearn_gui.app import launch
    from metalearn_gui.ui.controls import SPEEDS

    app = QApplication(sys.argv)

    def start_a_run():
        for window in app.topLevelWidgets():
            if type(window).__name__ != "MainWindow" or window.state is None:
                continue
            if window.panel.learner() != "genetic":
                window.panel.learner_box.setCurrentIndex(window.panel.learner_box.findData("genetic"))
            elif window.state.phase == "ready":
                window.panel.speed_slider.setValue(SPEEDS.index(30))
                window.start_action.trigger()
                timer.stop()

    timer = QTimer()
    timer.timeout.connect(start_a_run)
    timer.start(50)
    sys.exit(launch(sys.argv))
    """
)


def _stored_runs(data_dir):
    if not (data_dir / DB_NAME).exists():
        return []
    with RunStore.open(data_dir) as store:
        return store.list_runs()


@pytest.mark.parametrize("signal_name, exit_code", [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_signal_stores_the_run_as_stopped_and_exits_with_its_code(tmp_path, signal_name, exit_code):
    home, data_dir = tmp_path / "home", tmp_path / "data"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home), "METALEARN_GUI_DATA_DIR": str(data_dir),
           **{f"XDG_{kind}_HOME": str(home / kind.lower()) for kind in ("CONFIG", "DATA", "CACHE")}}
    process = subprocess.Popen([sys.executable, "-c", LAUNCHER], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        running = []
        while time.monotonic() < deadline and process.poll() is None:
            running = [info for info in _stored_runs(data_dir) if info.status == "running" and info.steps >= 5]
            if running:
                break
            time.sleep(0.1)
        assert running, f"no run was going: {process.poll()=}, {process.stderr.read() if process.poll() else ''}"
        process.send_signal(getattr(signal, signal_name))
        sent = time.monotonic()
        _, stderr = process.communicate(timeout=60)
        print(f"{signal_name}: exited {time.monotonic() - sent:.2f} s after the signal")
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == exit_code, stderr
    assert "Traceback" not in stderr, stderr
    with RunStore.open(data_dir) as store:
        info = next(info for info in store.list_runs() if info.id == running[0].id)
        record = store.load(info.id)
    assert info.status == "stopped"
    assert info.steps >= running[0].steps
    steps = record.history.column("step")
    assert steps[-1] == info.steps == record.summary.steps  # every step it made is stored
    assert list(steps) == list(range(info.steps + 1))
