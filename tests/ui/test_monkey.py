"""A monkey drives the real window with random user actions across every learner.

It passes when nothing reached Qt's exception handler, nothing was written to stderr
(no traceback, no warning, no TensorFlow retracing), the controls always describe the
run the plots show, nothing is left running after close, memory stays bounded and
every stored run ended with a final status.

``METALEARN_GUI_MONKEY_ACTIONS=5000`` makes a longer run; ``METALEARN_GUI_MONKEY_SEED``
replays a failure (the seed is in every failure message);
``METALEARN_GUI_MONKEY_WARNINGS_AS_ERRORS=1`` turns a warning into an exception with
its traceback.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from ui_helpers import TF_TIMEOUT_MS, rss_mb

from metalearn_gui.core.learners import LEARNER_NAMES, learner_class
from metalearn_gui.core.store import RunStore
from metalearn_gui.ui.controls import SPEEDS

ACTIONS = int(os.environ.get("METALEARN_GUI_MONKEY_ACTIONS", "500"))  # per lap (the test makes two)
SEED = int(os.environ.get("METALEARN_GUI_MONKEY_SEED", "20261127"))
RSS_GROWTH_LIMIT_MB = 100
FINAL_STATUSES = {"stopped", "converged", "diverged", "failed", "finished"}
#: How often each action is picked (relative weights).
WEIGHTS = {
    "start_pause": 12, "step": 8, "reset": 5, "learner": 5, "objective": 5, "dim": 4, "seed": 3,
    "slider": 9, "speed": 5, "wait": 10, "export": 1, "runs_toggle": 2, "runs_row": 4, "typing": 4,
}
#: Keys pressed into a focused control (combo boxes jump to the item a letter starts).
TYPED_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home,
              Qt.Key.Key_End, Qt.Key.Key_G, Qt.Key.Key_N, Qt.Key.Key_L, Qt.Key.Key_R, Qt.Key.Key_S, Qt.Key.Key_A)
#: Share of learner switches that pick a TensorFlow learner (each new problem compiles).
TF_SHARE = 0.35
DIMS = (2, 3, 4)
#: The fastest speed the monkey sets (steps/s; the window starts at maximum). At maximum speed the
#: rows a lap's runs make, and so the memory the lap ends with, would grow with the machine's speed.
TOP_SPEED = SPEEDS.index(1_000)


class Monkey:
    def __init__(self, window, qtbot, monkeypatch, rng: np.random.Generator, export_root: Path) -> None:
        self.window, self.qtbot, self.rng, self.export_root = window, qtbot, rng, export_root
        self.monkeypatch = monkeypatch  # stands in for the user in the file dialogs
        self.names = list(WEIGHTS)
        weights = np.array([WEIGHTS[name] for name in self.names], float)
        self.probabilities = weights / weights.sum()
        self.exports = 0

    def choose(self, count: int) -> int:
        return int(self.rng.integers(count))

    def act(self) -> str:
        name = self.names[int(self.rng.choice(len(self.names), p=self.probabilities))]
        detail = getattr(self, f"do_{name}")()
        return f"{name}{'' if detail is None else f' {detail}'}"

    # -- actions, each as a user makes it -------------------------------------------------
    def key(self, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
        self.qtbot.keyClick(self.window, key, modifier)

    def do_start_pause(self):
        self.key(Qt.Key.Key_Space)

    def do_step(self):
        self.key(Qt.Key.Key_Right)

    def do_reset(self):
        self.key(Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)

    def do_learner(self):
        tensorflow = [name for name in LEARNER_NAMES if learner_class(name).uses_tensorflow]
        others = [name for name in LEARNER_NAMES if name not in tensorflow]
        pool = tensorflow if self.rng.random() < TF_SHARE else others
        name = pool[self.choose(len(pool))]
        box = self.window.panel.learner_box
        box.setCurrentIndex(box.findData(name))
        return name

    def do_objective(self):
        box = self.window.panel.objective_box
        box.setCurrentIndex(self.choose(box.count()))
        return box.currentData()

    def do_dim(self):
        dim = DIMS[self.choose(len(DIMS))]
        self.window.panel.dim_box.setValue(dim)
        return dim

    def do_seed(self):
        seed = self.choose(1000)
        self.window.panel.seed_box.setValue(seed)
        return seed

    def do_slider(self):
        controls = list(self.window.panel.controls.values())
        control = controls[self.choose(len(controls))]
        if control._combo is not None:
            control._combo.setCurrentIndex(self.choose(control._combo.count()))
            return f"{control.spec.name}={control.value()}"
        slider = control._slider
        slider.setValue(slider.minimum() + self.rng.random() * (slider.maximum() - slider.minimum()))
        return f"{control.spec.name}={control.value()}"

    def do_speed(self):
        self.window.panel.speed_slider.setValue(self.choose(TOP_SPEED + 1))

    def do_typing(self):
        panel = self.window.panel
        widget = (panel.learner_box, panel.objective_box, panel.dim_box, panel.seed_box)[self.choose(4)]
        key = TYPED_KEYS[self.choose(len(TYPED_KEYS))]
        widget.setFocus()
        self.qtbot.keyClick(widget, key)
        return f"{key.name} in {type(widget).__name__}"

    def do_wait(self):
        milliseconds = int(self.rng.integers(20, 400))
        self.qtbot.wait(milliseconds)
        return f"{milliseconds} ms"

    def do_export(self):
        self.exports += 1
        folder = self.export_root / f"export-{self.exports}"
        self.monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(folder))
        self.key(Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
        return folder.name

    def do_runs_toggle(self):
        if self.window.runs_action.isEnabled():
            self.window.runs_action.trigger()

    def do_runs_row(self):
        panel = self.window.runs_panel
        if panel is None or not panel.isVisible() or panel.table.rowCount() == 0:
            return None
        panel.table.selectRow(self.choose(panel.table.rowCount()))
        button = (panel.overlay_button, panel.delete_button, panel.load_button)[self.choose(3)]
        button.click()
        return button.text()


def wait_idle(qtbot, window) -> None:
    """Until the worker has carried out every command and the window has its news."""
    qtbot.waitUntil(lambda: window.controller.idle() and window.state is not None
                    and window.state.phase != "preparing", timeout=TF_TIMEOUT_MS)
    QApplication.processEvents()


def reset_the_run(qtbot, window) -> None:
    """Pause and reset the run on screen: the memory a lap ends with is then what the window
    keeps, not the rows of a run still growing as fast as this machine makes them."""
    if window.controller.is_running():
        window.start_action.trigger()
        wait_idle(qtbot, window)
    window.reset_action.trigger()
    wait_idle(qtbot, window)
    assert len(window.history) <= 1


def disagreement(window) -> str:
    """How the controls and the run on screen differ ("" when they agree)."""
    state, panel = window.state, window.panel
    config = state.config
    problems = []
    if (panel.learner(), panel.objective()) != (config.learner, config.objective):
        problems.append(f"controls {panel.learner()}/{panel.objective()}, run {config.learner}/{config.objective}")
    for name, box, value in (("D", panel.dim_box, config.dim), ("seed", panel.seed_box, config.seed)):
        if box.value() != value and not box.property("pending"):
            problems.append(f"{name} {box.value()} in the controls (not marked pending), run has {value}")
    if window.serial != state.serial or window.history is None or window.history.dim != config.dim:
        problems.append(f"plots show run {window.serial} (D={window.history and window.history.dim}), "
                        f"state is run {state.serial} (D={config.dim})")
    label = learner_class(config.learner).label
    if not window.windowTitle().startswith(f"{label} on {config.objective} ({config.dim}-D)"):
        problems.append(f"title {window.windowTitle()!r}")
    return "; ".join(problems)


def compiled_shapes() -> int:
    """Problem shapes compiled so far. TensorFlow keeps every compiled program for good, so
    the memory a shape's compilations take is a cache per shape the user visits, bounded by
    the traces counted in :func:`tracing_counts`; any other growth counts against the bound."""
    from metalearn_gui.core.learners.gradient import GRAPHS
    from metalearn_gui.core.learners.neural import MODELS

    return GRAPHS.shapes() + MODELS.shapes()


def tracing_counts() -> dict[str, int]:
    """How often each compiled function of each problem shape was traced."""
    from metalearn_gui.core.learners.gradient import GRAPHS
    from metalearn_gui.core.learners.neural import MODELS

    counts = {}
    for kit in GRAPHS.kits() + MODELS.kits():
        for holder in (kit, *vars(kit).values()):
            for name, value in vars(holder).items() if hasattr(holder, "__dict__") else ():
                if hasattr(value, "experimental_get_tracing_count"):
                    counts[f"{type(holder).__name__}{kit.key}.{name}"] = value.experimental_get_tracing_count()
    return counts


def test_monkey_drives_the_window(qtbot, tmp_path, capfd, caplog, monkeypatch):
    """Two laps of the same random actions: the first visits (and compiles) every problem
    shape the second meets again, so memory the second lap keeps is what the bound is about."""
    from metalearn_gui.core.tf_runtime import get_tf
    from metalearn_gui.ui.main_window import MainWindow

    replay = f"replay: METALEARN_GUI_MONKEY_SEED={SEED} METALEARN_GUI_MONKEY_ACTIONS={ACTIONS}"
    caplog.set_level(logging.WARNING)
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    data_dir = tmp_path / "data"
    get_tf()  # its import banner (oneDNN) on stderr is not the monkey's doing
    window = MainWindow(learner="genetic", objective="sphere", dim=2, data_dir=data_dir)
    qtbot.addWidget(window)  # closed by qtbot if the monkey fails half-way
    window.show()
    qtbot.waitExposed(window)
    capfd.readouterr()
    started = time.perf_counter()
    rss = [rss_mb()]
    compiling_mb = 0.0  # growth in the second lap while compiling a shape the first did not meet
    with warnings.catch_warnings(record=True) as warned, qtbot.capture_exceptions() as exceptions:
        warnings.simplefilter("always")
        if os.environ.get("METALEARN_GUI_MONKEY_WARNINGS_AS_ERRORS"):  # to see where one comes from
            warnings.simplefilter("error", RuntimeWarning)
        wait_idle(qtbot, window)
        for lap in (1, 2):
            monkey = Monkey(window, qtbot, monkeypatch, np.random.default_rng(SEED), tmp_path / f"lap-{lap}")
            window.panel.speed_slider.setValue(TOP_SPEED)
            done: list[str] = []
            for index in range(ACTIONS):
                shapes, before = compiled_shapes(), rss_mb()
                done.append(monkey.act())
                where = f"after action {index} of lap {lap} ({done[-1]}); last actions {done[-8:]}; {replay}"
                try:
                    wait_idle(qtbot, window)
                except qtbot.TimeoutError:
                    pytest.fail(f"the worker did not take the commands within {TF_TIMEOUT_MS} ms {where}")
                assert not exceptions, f"{exceptions[0][1]!r} {where}"
                problem = disagreement(window)
                assert not problem, f"window and run disagree: {problem} {where}"
                if lap == 2 and compiled_shapes() != shapes:  # a shape the first lap did not meet
                    compiling_mb += rss_mb() - before
            reset_the_run(qtbot, window)
            rss.append(rss_mb())
        window.close()
    seconds = time.perf_counter() - started
    growth = rss[2] - rss[1] - compiling_mb
    stderr = capfd.readouterr().err
    with capfd.disabled():
        print(f"\nmonkey: 2 × {ACTIONS} actions in {seconds:.0f} s, seed {SEED}; RSS {rss[0]:.0f} → {rss[1]:.0f} MB "
              f"in lap 1 (compiling {compiled_shapes()} problem shapes), → {rss[2]:.0f} MB in lap 2 "
              f"({growth:+.0f} MB not compiling)")

    assert not exceptions, f"{exceptions[0][1]!r}; {replay}"
    warning_lines = sorted({f"{w.category.__name__} at {w.filename}:{w.lineno}: {w.message}" for w in warned})
    assert not warning_lines, f"{warning_lines}; {replay}"
    logged = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]
    assert not logged, f"{logged}; {replay}"
    # The offscreen platform's own complaint when a dock shows (not printed on a desktop).
    stderr = "".join(line for line in stderr.splitlines(keepends=True)
                     if line.strip() != "This plugin does not support propagateSizeHints()")
    assert not stderr.strip(), f"stderr: {stderr[-3000:]}; {replay}"
    assert not window.controller.is_running()
    running_timers = [timer for timer in window.findChildren(QTimer) if timer.isActive()]
    assert not running_timers, "timers still running after close: " + ", ".join(
        f"{type(timer.parent()).__name__}'s ({timer.interval()} ms)" for timer in running_timers)
    assert growth <= RSS_GROWTH_LIMIT_MB, f"the second lap kept {growth:.0f} MB; {replay}"
    traced = {name: count for name, count in tracing_counts().items() if count > 2}
    assert not traced, f"functions traced again and again: {traced}; {replay}"
    with RunStore.open(data_dir) as store:
        statuses = {info.id: info.status for info in store.list_runs()}
    assert statuses, "no run was stored"
    unfinished = {run: status for run, status in statuses.items() if status not in FINAL_STATUSES}
    assert not unfinished, f"{unfinished}; {replay}"
