"""The window reopens as the user left it (issue 5, item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QRect, QSettings, QSize
from ui_helpers import wait_phase

from metalearn_gui.core.run import RunConfig
from metalearn_gui.ui import main_window, screen
from metalearn_gui.ui.controls import SPEEDS
from metalearn_gui.ui.main_window import MainWindow
from metalearn_gui.ui.settings import APPLICATION, ORGANIZATION

DEFAULT_LEARNER = main_window.FIRST_RUN.learner


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


def _write_settings(values: dict) -> Path:
    settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)
    settings.clear()
    for key, value in values.items():
        settings.setValue(key, value)
    settings.sync()
    return Path(settings.fileName())


def _fake_screen(monkeypatch, *areas: QRect) -> None:
    monkeypatch.setattr(screen, "available_geometries", lambda: list(areas))


def test_a_stale_configuration_falls_back_to_the_defaults_quietly(qtbot):
    path = _write_settings({"session/config": json.dumps({**RunConfig("genetic", "sphere").to_dict(),
                                                          "version": 0}),
                            "session/speed_index": 3})
    window = MainWindow.from_last_session()
    qtbot.addWidget(window)
    assert window.panel.learner() == DEFAULT_LEARNER  # the launch default
    assert window.panel.speed() == SPEEDS[3]  # what was usable is used
    assert not window.settings_notice_text  # an older version's settings: nothing to tell
    assert path.exists()


@pytest.mark.parametrize("damage", [
    "random bytes", "wrong types", "unknown keys",
])
def test_a_damaged_settings_file_is_moved_aside_with_one_message(qtbot, damage):
    path = _write_settings({})
    if damage == "random bytes":
        content = np.random.default_rng(5).integers(0, 256, 3000, dtype=np.uint8).tobytes()
        path.write_bytes(content)
    elif damage == "wrong types":
        content = b"[session]\nconfig=1, 2, 3\nspeed_index=fast\ngeometry=hello\n"
        path.write_bytes(content)
    else:
        content = b"[General]\nwhatever=1\n[session]\nspeed_index=2\n"
        path.write_bytes(content)
    window = MainWindow.from_last_session()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.settings_notice is not None and window.settings_notice.isVisible())
    assert window.panel.learner() == DEFAULT_LEARNER and window.panel.speed() is None  # defaults
    text = window.settings_notice.text()
    assert "could not be used" in text and "defaults" in text
    moved = [p for p in path.parent.iterdir() if p.name.startswith(path.name + ".damaged-")]
    assert len(moved) == 1 and moved[0].read_bytes() == content  # the user's file, untouched
    assert str(moved[0]) in text
    moved[0].unlink()
    window.close()  # saves a fresh session where the damaged file was
    again = MainWindow.from_last_session()
    qtbot.addWidget(again)
    assert again.settings_notice_text == ""


def test_the_first_window_fits_a_laptop_screen(qtbot, monkeypatch):
    laptop = QRect(0, 0, 1366, 740)  # 1366×768 without a 28-pixel panel
    _fake_screen(monkeypatch, laptop)
    window = MainWindow(learner="genetic", objective="sphere", dim=2)
    qtbot.addWidget(window)
    assert laptop.contains(window.geometry())
    assert window.width() >= 1000 and window.height() >= 600  # still roomy
    assert laptop.center() == window.geometry().center() or (
        abs(laptop.center().x() - window.geometry().center().x()) <= 1)
    assert window.minimumSizeHint().height() <= laptop.height()  # the status bar can be shown


@pytest.mark.parametrize("saved", [QRect(5, 5, 790, 590), QRect(500, 400, 300, 200)],
                         ids=["larger than the screen now", "off the screen now"])
def test_a_saved_geometry_that_no_longer_fits_is_not_restored(qtbot, monkeypatch, saved):
    window = MainWindow(learner="genetic", objective="sphere", dim=2)
    window.setGeometry(saved)
    window.close()  # saves the session
    small = QRect(0, 0, 640, 480)
    _fake_screen(monkeypatch, small)
    again = MainWindow.from_last_session()
    qtbot.addWidget(again)
    assert again.geometry().size() != saved.size() or again.geometry().topLeft() != saved.topLeft()
    assert again.geometry().size() == QSize(int(640 * 0.9), int(480 * 0.9))
