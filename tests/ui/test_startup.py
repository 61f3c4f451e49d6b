"""Start-up: the window's module never imports TensorFlow, and the window shows before TF loads."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import textwrap
from pathlib import Path


def run_python(code: str, timeout: float = 240) -> list[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=timeout, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def test_importing_the_window_does_not_import_tensorflow():
    lines = run_python(
        """
        import sys
        import metalearn_gui.ui.main_window, metalearn_gui.app, metalearn_gui.worker
        print("tensorflow" in sys.modules)
        """
    )
    assert lines == ["False"]


def test_window_shows_before_tensorflow_has_loaded_and_says_so():
    lines = run_python(
        """
        import time
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from metalearn_gui.ui.main_window import MainWindow
        window = MainWindow(learner="gradient", objective="sphere", dim=2)
        window.show()
        app.processEvents()
        print("shown", window.isVisible())
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not window.banner.isVisible():
            app.processEvents()
        # Still preparing (TF importing on the worker thread) while the window is up.
        print("phase", window.state.phase, window.isVisible())
        print("banner", window.banner.text.text())
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and (window.state is None or window.state.phase != "ready"):
            app.processEvents()
            time.sleep(0.01)
        print("finally", window.state.phase, window.status_labels["tf"].text())
        window.close()
        """
    )
    assert lines[:2] == ["shown True", "phase preparing True"]
    assert "Loading TensorFlow" in lines[2] and "stays usable" in lines[2]
    assert lines[3] == "finally ready TensorFlow: ready"


def _app_files(home: Path) -> dict[str, int]:
    """Every file of this app in a home folder's config, data, cache and state folders,
    with its modification time."""
    folders = [home / ".config", home / ".local" / "share", home / ".cache", home / ".local" / "state"]
    files = {}
    for folder in folders:
        for path in (folder / "metalearn-gui").rglob("*"):
            files[str(path)] = path.stat().st_mtime_ns
    return files


def test_a_window_in_a_subprocess_leaves_the_users_home_alone():
    real_home = Path(pwd.getpwuid(os.getuid()).pw_dir)  # the account's home, not the tests' $HOME
    assert Path.home() != real_home, "the tests must run with a temporary HOME"
    before = _app_files(real_home)
    lines = run_python(
        """
        import time
        from PySide6.QtWidgets import QApplication
        from PySide6.QtCore import QSettings
        app = QApplication([])
        from metalearn_gui.ui.main_window import MainWindow
        window = MainWindow(learner="genetic", objective="sphere", dim=2)
        window.show()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (window.state is None or window.state.phase != "ready"):
            app.processEvents()
            time.sleep(0.01)
        window.close()  # saves the session
        print(QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                        "metalearn-gui", "metalearn-gui").fileName())
        """
    )
    settings_file = Path(lines[-1])
    assert settings_file.is_file() and Path.home() in settings_file.parents
    assert _app_files(real_home) == before
