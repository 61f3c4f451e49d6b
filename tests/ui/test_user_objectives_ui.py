"""Users' own objectives in the window: Objective → Load objective… (a file's function, a
module's, a command, a formula checked as typed), Run → Evaluation… (applies to the next
run) and failed evaluations named in the status bar, listed in a table.

The spec strings resolve through ``objective_class``: a stand-in class registered under the
spec (as a file's function would resolve) plays the user's objective here.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from ui_helpers import run_for_steps, wait_phase

from metalearn_gui.core.evaluation import FailedEvaluation
from metalearn_gui.core.events import EvaluationsFailed
from metalearn_gui.core.executors import EvaluationSettings
from metalearn_gui.core.objectives import OBJECTIVES, Objective, ObjectiveError, register_objective
from metalearn_gui.core.run import RunConfig
from metalearn_gui.core.session import RunSession
from metalearn_gui.ui import evaluation_dialog, objective_dialog
from metalearn_gui.ui.failures import FAILURES_KEPT
from metalearn_gui.ui.objective_dialog import LoadObjectiveDialog, top_level_functions

USER_FILE = '''
import pathlib
pathlib.Path(__file__).with_name("ran").write_text("the file was executed")

def bowl(theta):
    return float((theta ** 2).sum())

def _shifted(theta):
    return bowl(theta - 1)

class Model:
    def loss(self, theta):
        return 0.0
'''


def stand_in(spec: str, vectorised: bool = True) -> type[Objective]:
    """The class a user's function would resolve to: Σ θ², named by its spec."""

    class StandIn(Objective):
        name = spec
        description = "Σ θ², a stand-in for a user's function"
        min_dim = 1
        bounds = (-5.0, 5.0)
        optimum_value = 0.0
        differentiable = False

        def loss_np(self, thetas, rng=None):
            return np.sum(np.square(thetas), axis=-1)

        def loss_tf(self, theta, seed=None):
            raise NotImplementedError("a black box")

    StandIn.vectorised = vectorised
    return StandIn


@pytest.fixture
def user_file(tmp_path):
    path = tmp_path / "objective.py"
    path.write_text(USER_FILE)
    return path


@pytest.fixture
def registered():
    """``registered(cls)`` makes a spec resolve (as the core resolves a user's), for this test only."""
    names = []

    def register(cls):
        names.append(cls.name)
        return register_objective(cls)

    yield register
    for name in names:
        OBJECTIVES.pop(name, None)


def open_load_dialog(window, qtbot) -> LoadObjectiveDialog:
    window.user_objectives.load_action.trigger()
    dialog = window.user_objectives.load_dialog
    qtbot.waitExposed(dialog)
    return dialog


def test_a_files_functions_are_listed_without_running_the_file(qtbot, user_file, tmp_path):
    dialog = LoadObjectiveDialog()
    qtbot.addWidget(dialog)
    dialog.path_edit.setText(str(user_file))
    items = [dialog.function_box.itemText(i) for i in range(dialog.function_box.count())]
    assert items == ["bowl", "_shifted"]  # top level only: not the class's method
    assert dialog.file_message.text() == "2 functions found"
    assert not (tmp_path / "ran").exists()  # read with ast, never executed
    assert dialog.current_spec() == f"{user_file.resolve()}:bowl" and dialog.load_button.isEnabled()

    broken = tmp_path / "broken.py"
    broken.write_text("def f(theta):\n    return theta +\n")
    assert top_level_functions(broken) == ([], "broken.py line 2: invalid syntax")
    dialog.path_edit.setText(str(broken))
    assert dialog.function_box.count() == 0 and "broken.py line 2" in dialog.file_message.text()
    assert top_level_functions(tmp_path / "absent.py")[1].startswith("cannot read absent.py")

    dialog.module_edit.setText("mypackage.objectives:loss")  # typing there chooses the module
    assert dialog.module_radio.isChecked() and dialog.current_spec() == "mypackage.objectives:loss"
    dialog.tabs.setCurrentIndex(1)
    assert not dialog.load_button.isEnabled()  # no command yet
    dialog.command_edit.setText("python train.py --epochs 3")
    assert dialog.current_spec() == "command:python train.py --epochs 3" and dialog.load_button.isEnabled()


def test_a_spec_that_does_not_load_is_told_in_the_dialog_and_the_window_stays_usable(
        make_window, qtbot, user_file, monkeypatch):
    window = make_window("genetic", "sphere", 3)
    entries = window.panel.objective_box.count()
    dialog = open_load_dialog(window, qtbot)
    dialog.path_edit.setText(str(user_file))
    dialog.function_box.setCurrentText("missing")  # typed: the file has no such function
    dialog.load_button.click()  # the core says why, in one line
    error = dialog.error_label.text()
    assert dialog.isVisible() and error.startswith("Not loaded: ") and "missing" in error and "\n" not in error

    def user_code_raises(spec):
        raise ZeroDivisionError("division by zero\n  (the rest of a traceback)")

    monkeypatch.setattr(objective_dialog, "objective_class", user_code_raises)
    dialog.load_button.click()
    assert dialog.error_label.text() == "Not loaded: ZeroDivisionError: division by zero"
    dialog.function_box.setCurrentText("bowl")  # editing clears the stale message
    assert dialog.error_label.text() == ""
    dialog.reject()

    assert window.panel.objective_box.count() == entries and window.panel.objective() == "sphere"
    run_for_steps(qtbot, window, 5)  # the app goes on


def test_load_adds_the_objective_to_the_chooser_selects_it_and_runs_on_it(
        make_window, qtbot, user_file, registered):
    window = make_window("genetic", "sphere", 3)
    spec = f"{user_file.resolve()}:bowl"
    registered(stand_in(spec))
    dialog = open_load_dialog(window, qtbot)
    dialog.path_edit.setText(str(user_file))
    dialog.load_button.click()
    assert not dialog.isVisible()

    panel = window.panel
    assert panel.objective() == spec and panel.objective_box.currentText() == "bowl (objective.py)"
    assert f"source: {spec}" in panel.objective_box.itemData(panel.objective_box.currentIndex(),
                                                             Qt.ItemDataRole.ToolTipRole)
    qtbot.waitUntil(lambda: window.state.config.objective == spec and window.state.phase == "ready",
                    timeout=10_000)
    run_for_steps(qtbot, window, 5)
    assert window.history.column("loss")[-1] >= 0

    panel.objective_box.setCurrentIndex(panel.objective_box.findData("rastrigin"))  # away and back:
    assert panel.user_objectives() == [spec]  # the chooser keeps it for the session
    panel.add_user_objective(spec)  # loading it again selects the entry there is
    assert panel.user_objectives() == [spec] and panel.objective() == spec


def test_the_formula_box_is_checked_as_typed_and_load_waits_for_a_valid_one(qtbot, monkeypatch):
    asked = []

    def formula_validator(spec):  # the formula module's verdict, as objective_class gives it
        asked.append(spec)
        if "__" in spec:
            raise ObjectiveError("formula: name '__import__' is not allowed; names: x, x0 … x(D-1)")
        return stand_in(spec)

    monkeypatch.setattr(objective_dialog, "objective_class", formula_validator)
    dialog = LoadObjectiveDialog()
    qtbot.addWidget(dialog)
    dialog.tabs.setCurrentIndex(2)
    assert not dialog.load_button.isEnabled()
    qtbot.keyClicks(dialog.formula_edit, "sum(x**2)")
    assert asked[-1] == "formula:sum(x**2)" and len(asked) == len("sum(x**2)")  # once per keystroke
    assert dialog.formula_message.text() == "✓ a valid formula" and dialog.load_button.isEnabled()
    qtbot.keyClicks(dialog.formula_edit, " + __import__('os')")
    assert dialog.formula_message.text() == "formula: name '__import__' is not allowed; names: x, x0 … x(D-1)"
    assert not dialog.load_button.isEnabled()
    dialog.formula_edit.clear()
    assert dialog.formula_message.text() == "" and not dialog.load_button.isEnabled()
    dialog.formula_edit.setText("sum(x**2) + 0.1*sin(5*x0)")
    dialog.load_button.click()
    assert dialog.spec == "formula:sum(x**2) + 0.1*sin(5*x0)" and dialog.result() == dialog.DialogCode.Accepted


def test_evaluation_settings_round_trip_and_apply_to_the_next_run(make_window, qtbot, monkeypatch):
    sent = []
    monkeypatch.setattr(RunSession, "set_evaluation", lambda session, settings: sent.append(settings),
                        raising=False)
    window = make_window("genetic", "sphere", 3)
    user = window.user_objectives
    user.evaluation_action.trigger()
    dialog = user.evaluation_dialog
    assert dialog.processes_radio.isChecked()  # the default: a pool of the CPU count
    assert dialog.note.text() == ("Applies to the next run (Reset or another objective). The current objective, "
                                  "sphere, is built in: it always evaluates in this process, many θ at once.")
    dialog.dask_radio.setChecked(True)
    assert not dialog.ok_button.isEnabled()  # no address yet
    dialog.scheduler_edit.setText("tcp://10.0.0.5")
    assert not dialog.ok_button.isEnabled() and "tcp://HOST:PORT" in dialog.address_message.text()
    dialog.scheduler_edit.setText("tcp://10.0.0.5:99999")
    assert dialog.address_message.text() == ("scheduler address 'tcp://10.0.0.5:99999' is not tcp://HOST:PORT, "
                                             "e.g. tcp://10.0.0.5:8786")
    dialog.scheduler_edit.setText("tcp://10.0.0.5:8786")
    assert dialog.ok_button.isEnabled() and dialog.address_message.isHidden()
    dialog.timeout_box.setValue(30)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()

    wanted = EvaluationSettings("dask", scheduler="tcp://10.0.0.5:8786", timeout=30.0)
    qtbot.waitUntil(lambda: sent == [wanted])  # carried out on the worker, before any later reset
    assert "applies from the next run" in window.statusBar().currentMessage()
    assert window.status_labels["evaluation"].text() == ""  # sphere is evaluated in this process

    user.evaluation_action.trigger()  # the dialog shows what was chosen
    again = user.evaluation_dialog
    assert again.dask_radio.isChecked() and again.scheduler_edit.text() == "tcp://10.0.0.5:8786"
    again.in_process_radio.setChecked(True)
    again.accept()
    qtbot.waitUntil(lambda: sent[-1] == EvaluationSettings("in-process", timeout=30.0))

    user.begin_run(stand_in("slow.py:f", vectorised=False)(3))  # a user function, one θ at a time
    describe = EvaluationSettings("in-process", timeout=30.0).describe()
    assert window.status_labels["evaluation"].text() == f"evaluation: {describe}"
    user.begin_run(stand_in("batched.py:f", vectorised=True)(3))
    assert window.status_labels["evaluation"].text() == ""


def failure(step, theta, message):
    return FailedEvaluation(step, np.array(theta, dtype=float), message)


def test_failed_evaluations_are_named_in_the_status_bar_and_listed(make_window, qtbot):
    window = make_window("genetic", "sphere", 3)
    user, worker = window.user_objectives, window.controller.worker
    assert user.failures_label.text() == "" and not user.failures_action.isEnabled()
    worker.evaluations_failed.emit(EvaluationsFailed(window.serial, (
        failure(7, [1, 2, 3], "TimeoutError: no answer within 30 s"),
        failure(9, [0, 0, 0], "the command exited with status 1: CUDA out of memory")), total=2))
    worker.evaluations_failed.emit(EvaluationsFailed(window.serial, (
        failure(12, [0.5, -1.25, 3.0], "ValueError: θ out of the simulator's range"),), total=3))
    worker.evaluations_failed.emit(EvaluationsFailed(window.serial - 1, (  # a run the user has left
        failure(40, [9, 9, 9], "from the run before"),), total=1))
    qtbot.waitUntil(lambda: user.failures.total == 3)
    line = "3 evaluations failed — latest at step 12, θ = [0.5, -1.25, 3]: ValueError: θ out of the simulator's range"
    assert user.failures_label.text() == line and user.failures_label.toolTip().startswith(line)
    assert user.failures_label.isVisible() and user.failures_action.isEnabled()

    qtbot.mouseClick(user.failures_label, Qt.MouseButton.LeftButton)  # the line opens the table
    table = user.failures_dialog.table
    assert table.rowCount() == 3
    assert [table.item(0, column).text() for column in range(3)] == [
        "12", "[0.5, -1.25, 3]", "ValueError: θ out of the simulator's range"]
    assert table.item(2, 0).text() == "7" and "from the run before" not in str(
        [table.item(row, 2).text() for row in range(3)])

    many = tuple(failure(100 + i, [i, 0, 0], f"error {i}") for i in range(FAILURES_KEPT + 500))
    worker.evaluations_failed.emit(EvaluationsFailed(window.serial, many, total=3 + len(many)))
    qtbot.waitUntil(lambda: table.rowCount() == FAILURES_KEPT)  # the open table follows, capped
    assert table.item(0, 2).text() == f"error {len(many) - 1}"
    assert user.failures_dialog.heading.text().startswith(f"{3 + len(many):,} evaluations of this run failed")
    assert f"the latest {FAILURES_KEPT:,} are listed" in user.failures_dialog.heading.text()

    window.reset_action.trigger()  # a new run starts with none
    qtbot.waitUntil(lambda: user.failures.total == 0)
    wait_phase(qtbot, window, "ready")
    assert user.failures_label.text() == "" and not user.failures_action.isEnabled()
    assert table.rowCount() == 0


def test_settings_the_core_refuses_keep_the_evaluation_dialog_open_with_its_message(qtbot, monkeypatch):
    def refused(*args, **kwargs):
        raise ValueError("the objective timeout must be a positive number of seconds, got 0")

    dialog = evaluation_dialog.EvaluationDialog(EvaluationSettings())
    qtbot.addWidget(dialog)
    dialog.show()
    monkeypatch.setattr(evaluation_dialog, "EvaluationSettings", refused)
    dialog.ok_button.click()
    assert dialog.isVisible() and dialog.result() != dialog.DialogCode.Accepted
    assert dialog.address_message.text() == "the objective timeout must be a positive number of seconds, got 0"


def test_the_last_sessions_user_objective_is_offered_again_and_a_vanished_one_is_told(
        make_window, qtbot, user_file, registered, monkeypatch, tmp_path):
    from metalearn_gui.ui import controls
    from metalearn_gui.ui.main_window import MainWindow

    window = make_window("genetic", "sphere", 3)
    spec = f"{user_file.resolve()}:bowl"
    registered(stand_in(spec))
    window.panel.add_user_objective(spec)
    qtbot.waitUntil(lambda: window.state.config.objective == spec and window.state.phase == "ready")
    window.close()

    # The menu's fixed entries are the built-in ones: the spec resolves, but is not one of them.
    monkeypatch.setattr(controls, "OBJECTIVES", {name: cls for name, cls in OBJECTIVES.items() if name != spec})
    again = MainWindow.from_last_session()
    again.show()
    qtbot.waitExposed(again)
    try:
        wait_phase(qtbot, again, "ready")
        panel = again.panel
        assert panel.user_objectives() == [spec] and panel.objective() == spec
        assert panel.objective_box.currentText() == "bowl (objective.py)"

        gone = RunConfig("genetic", f"{tmp_path / 'gone.py'}:f", 3, None, 0, {})  # a stored run's file is gone
        again._on_runs_panel_load_requested(SimpleNamespace(id=7, config=gone))
        assert again.banner.isVisible() and "Run 7 cannot be loaded into the controls" in again.banner.text.text()
        assert panel.objective() == spec  # the controls are as they were
    finally:
        again.close()


def test_installed_plugins_objectives_are_offered_and_a_broken_one_is_named(make_window, qtbot, registered,
                                                                            monkeypatch):
    from metalearn_gui.ui import user_objectives

    window = make_window("genetic", "sphere", 3)
    registered(stand_in("good-plugin"))  # as the core resolves a plugin's name
    monkeypatch.setattr(user_objectives, "plugin_names", lambda: ["broken-plugin", "good-plugin"])
    window.user_objectives.offer_plugins()
    panel = window.panel
    assert panel.user_objectives() == ["good-plugin"] and panel.objective() == "sphere"  # offered, not chosen
    assert "source: good-plugin" in panel.objective_box.itemData(panel.objective_box.findData("good-plugin"),
                                                                 Qt.ItemDataRole.ToolTipRole)
    assert window.statusBar().currentMessage().startswith("Plugin objective 'broken-plugin' not offered: ")
