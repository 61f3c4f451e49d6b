"""The window reopens as the user left it (issue 5, item 4)."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from ui_helpers import wait_phase

from metalearn_gui.ui.controls import SPEEDS
from metalearn_gui.ui.main_window import MainWindow
from metalearn_gui.ui.settings import APPLICATION, ORGANIZATION


def _open_last_session(qtbot) -> MainWindow:
    window = MainWindow.from_last_session()
    window.show()
    qtbot.waitExposed(window)
    wait_phase(qtbot, window, "ready")
    return window


def test_window_reopens_with_last_configuration_speed_and_geometry(make_window, qtbot):
    window = make_window("genetic", "rastrigin", 4, seed=7)
    window.panel.controls["sigma"]._box.setValue(0.37)
    window.panel.speed_slider.setValue(SPEEDS.index(100))
    window.resize(790, 590)  # within the offscreen screen (800×600): restoring clamps to it
    window.close()

    again = _open_last_session(qtbot)
    try:
        assert (again.panel.learner(), again.panel.objective()) == ("genetic", "rastrigin")
        assert (again.panel.dim_box.value(), again.panel.seed_box.value()) == (4, 7)
        assert again.panel.controls["sigma"].value() == 0.37
        assert again.state.hp["sigma"] == 0.37  # the worker runs with it, not just the slider
        assert again.panel.speed() == 100
        assert (again.width(), again.height()) == (790, 590)
    finally:
        again.close()


def test_unusable_saved_settings_fall_back_to_defaults(qtbot):
    settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)
    settings.setValue("session/config", '{"learner": "genetic", "unknown": 1}')
    settings.setValue("session/speed_index", "fast")
    settings.sync()
    window = MainWindow.from_last_session()
    try:
        assert window.panel.learner() == "neural"  # the launch default
        assert window.panel.speed() is None  # maximum
    finally:
        window.close()
