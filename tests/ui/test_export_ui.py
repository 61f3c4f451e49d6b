"""Exports from the window (issue 5, item 1): Ctrl+E writes the bundle of the current run,
pausing it first; single figures; an unwritable folder gets a message and loses nothing."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox
from ui_helpers import current_step, wait_phase


def test_ctrl_e_pauses_and_exports_the_bundle(make_window, qtbot, tmp_path, monkeypatch):
    window = make_window("genetic", "sphere", 3)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(tmp_path))
    window.export_menu.scale_actions[2].setChecked(True)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: current_step(window) > 20)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: (tmp_path / "manifest.json").exists(), timeout=20_000)

    assert window.state.phase == "paused"  # figures, rows and summary describe one step
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert [int(row["step"]) for row in rows[:21]] == list(range(21))  # every row, not the plots' thinned ones
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == current_step(window) == int(rows[-1]["step"])
    assert QImage(str(tmp_path / "loss.png")).width() == 2 * 800  # the 2× (print) scale
    ET.parse(tmp_path / "theta.svg")
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["learner"], config["objective"], config["dim"]) == ("genetic", "sphere", 3)


def test_single_figure_as_svg(make_window, qtbot, tmp_path, monkeypatch):
    window = make_window("gradient", "sphere", 3)
    target = tmp_path / "loss.svg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    window.export_menu.with_record(lambda record: window.export_menu.export_figure(record, "loss"))
    qtbot.waitUntil(target.exists)
    svg = ET.parse(target).getroot()
    assert svg.tag.endswith("svg")


def test_unwritable_folder_gets_a_message_and_the_run_goes_on(make_window, qtbot, tmp_path, monkeypatch):
    window = make_window("genetic", "sphere", 3)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(blocker / "out"))
    messages = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: messages.append(text))
    window.step_action.trigger()
    qtbot.waitUntil(lambda: current_step(window) == 1)
    window.export_menu.bundle_action.trigger()
    qtbot.waitUntil(lambda: len(messages) == 1)
    assert "a-file" in messages[0] and "unchanged" in messages[0]
    assert current_step(window) == 1 and len(window.history) == 2
    window.start_action.trigger()  # still usable
    wait_phase(qtbot, window, "running")
    qtbot.waitUntil(lambda: current_step(window) > 5)


def test_export_while_the_run_is_prepared_says_so(make_window, qtbot, monkeypatch):
    from dataclasses import replace

    from metalearn_gui.core.status import Status

    window = make_window("genetic", "sphere", 3)
    window.state = replace(window.state, phase=Status.PREPARING)  # as while a run is being prepared
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: pytest.fail("asked for a folder"))
    window.export_menu.bundle_action.trigger()
    assert "Nothing to export yet" in window.statusBar().currentMessage()


def test_the_window_exports_the_rows_runs_export_writes(make_window, qtbot, tmp_path, monkeypatch):
    """One record of a run: Ctrl+E writes the same history.csv as ``runs export ID``, every
    row included, while the window's plots hold only thinned chunks (the GUI thread is held
    up below, so the worker merges the chunks it cannot take and thins them)."""
    import time

    from metalearn_gui.cli import main
    from metalearn_gui.core.session import MAX_CHUNK_ROWS
    from metalearn_gui.ui.controls import SPEEDS

    # Small gradient steps keep a run going for ever (a genetic run restarts, then ends).
    window = make_window("gradient", "seed", 3)
    window.panel.controls["alpha"]._box.setValue(1e-6)
    qtbot.waitUntil(lambda: window.state.hp["alpha"] == 1e-6)
    window.panel.speed_slider.setValue(SPEEDS.index(10_000))  # the record stays below its capacity
    window.start_action.trigger()
    wait_phase(qtbot, window, "running")
    # A GUI thread that cannot keep up: it takes nothing until the worker, left alone, has made
    # more steps than two chunks hold (counted on the worker's side, so on any machine).
    learner = window.controller.worker.session.learner
    deadline = time.monotonic() + 120
    while learner.step < 3 * MAX_CHUNK_ROWS and time.monotonic() < deadline:
        time.sleep(0.01)
    window.start_action.trigger()  # pause: at most ~10,000 steps
    wait_phase(qtbot, window, "paused")
    assert current_step(window) > 2 * MAX_CHUNK_ROWS
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(tmp_path / "window"))
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: (tmp_path / "window" / "manifest.json").exists(), timeout=20_000)

    assert main(["runs", "export", str(window.state.record_id), str(tmp_path / "cli"),
                 "--data-dir", str(window.data_dir)]) == 0
    exported = (tmp_path / "window" / "history.csv").read_bytes()
    assert exported == (tmp_path / "cli" / "history.csv").read_bytes()
    steps = [int(line.split(b",")[0]) for line in exported.splitlines()[1:]]
    assert steps == list(range(steps[-1] + 1)) and len(window.history) < len(steps)  # every row; the plots fewer
