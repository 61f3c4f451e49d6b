"""UI test set-up: windows built on demand, and no test may leave a thread running."""

from __future__ import annotations

import threading

import pytest

from ui_helpers import TF_TIMEOUT_MS, wait_phase

from metalearn_gui.worker import CONTROLLERS


@pytest.fixture(autouse=True, scope="session")
def settings_in_temp_folder(tmp_path_factory):
    """The window saves its session on close: never into the user's real settings."""
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(tmp_path_factory.mktemp("settings")))


@pytest.fixture(autouse=True)
def no_thread_left_running():
    """Fail a test that leaves a worker (or any non-daemon Python thread) running."""
    before = set(threading.enumerate())
    yield
    left = [controller for controller in list(CONTROLLERS) if controller.is_running()]
    for controller in left:  # join them anyway, or the process aborts at exit
        controller.shutdown()
    strays = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    assert not left, f"{len(left)} worker thread(s) left running"
    assert not strays, f"threads left running: {strays}"


@pytest.fixture
def make_window(qtbot):
    """``make_window(learner, objective, dim)``: a shown window at step 0 of that run."""
    from metalearn_gui.ui.main_window import MainWindow

    windows = []

    def build(learner="genetic", objective="sphere", dim=3, seed=0):
        window = MainWindow(learner=learner, objective=objective, dim=dim, seed=seed)
        windows.append(window)
        window.show()
        qtbot.waitExposed(window)
        wait_phase(qtbot, window, "ready", TF_TIMEOUT_MS)
        return window

    yield build
    for window in windows:
        window.close()
