"""The objective menu's COCO BBOB entry (a function and an instance), and the learners a
black box refuses: disabled in the learner menu, with the reason as their tooltip."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from ui_helpers import run_for_steps, wait_phase

from metalearn_gui.core.learners import LEARNER_NAMES, refusal
from metalearn_gui.core.objectives import OBJECTIVES, make_objective
from metalearn_gui.core.objectives.bbob import BBOB_FUNCTIONS
from metalearn_gui.ui.controls import BBOB_ENTRY
from metalearn_gui.ui.main_window import MainWindow


def choose_bbob(window: MainWindow, function: int, instance: int) -> None:
    panel = window.panel
    panel.objective_box.setCurrentIndex(panel.objective_box.findData(BBOB_ENTRY))
    panel.function_box.setCurrentIndex(panel.function_box.findData(function))
    panel.instance_box.setValue(instance)


def learner_item(window: MainWindow, name: str):
    return window.panel.learner_box.model().item(LEARNER_NAMES.index(name))


def test_one_menu_entry_opens_a_function_and_instance_picker_that_names_the_objective(make_window, qtbot):
    window = make_window("genetic", "sphere", 3)
    panel = window.panel
    assert panel.objective_box.count() == len(OBJECTIVES) + 1 and panel.function_box.isHidden()
    assert panel.function_box.count() == 24
    assert panel.function_box.itemText(23) == f"f24 {BBOB_FUNCTIONS[24]}"
    assert (panel.instance_box.minimum(), panel.instance_box.maximum()) == (1, 1000)

    choose_bbob(window, 8, 7)
    assert panel.function_box.isVisible() and panel.objective() == "bbob-f08-i07"
    qtbot.waitUntil(lambda: window.state.config.objective == "bbob-f08-i07", timeout=10_000)
    wait_phase(qtbot, window, "ready")
    assert window.state.config.dim == 3  # the dimension box kept the user's D (BBOB allows ≥ 2)
    run_for_steps(qtbot, window, 5)
    # The loss plot shows the gap to this instance's known optimum on a log axis.
    assert window.loss_plot._optimum == make_objective("bbob-f08-i07", 3).optimum_value
    plot = window.loss_plot
    assert plot.log_box.isChecked() and "− L*" in plot.plot.getAxis("left").labelText
    optimum = plot._optimum
    _, log_gap = plot.best.getData()  # in a log view pyqtgraph gives log10 of the values drawn
    best = window.history.column("best_loss")
    assert np.isclose(10.0 ** log_gap[-1] + optimum, best, rtol=1e-9).any()  # drawn: L − L*

    panel.objective_box.setCurrentIndex(panel.objective_box.findData("rastrigin"))
    assert panel.function_box.isHidden() and panel.objective() == "rastrigin"


def test_gradient_is_disabled_for_a_black_box_with_the_reason_as_tooltip(make_window, qtbot):
    window = make_window("genetic", "sphere", 3)
    assert learner_item(window, "gradient").isEnabled()
    choose_bbob(window, 15, 2)
    gradient = learner_item(window, "gradient")
    assert not gradient.isEnabled()
    reason = refusal("gradient", make_objective("bbob-f15-i02"))
    assert window.panel.learner_box.itemData(LEARNER_NAMES.index("gradient"), Qt.ItemDataRole.ToolTipRole) == reason
    assert all(learner_item(window, name).isEnabled() for name in LEARNER_NAMES if name != "gradient")
    window.panel.objective_box.setCurrentIndex(window.panel.objective_box.findData("sphere"))
    assert learner_item(window, "gradient").isEnabled()


def test_picking_a_black_box_while_gradient_is_chosen_switches_to_neural_and_says_so(make_window, qtbot):
    window = make_window("gradient", "sphere", 3)
    choose_bbob(window, 1, 1)
    assert window.panel.learner() == "neural"
    assert "Switched to Neural" in window.statusBar().currentMessage()
    assert "black box" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.state.config.learner == "neural"
                    and window.state.config.objective.startswith("bbob-f01"), timeout=60_000)


def test_the_picker_is_restored_with_the_last_session(make_window, qtbot):
    window = make_window("genetic", "sphere", 3)
    choose_bbob(window, 21, 404)
    qtbot.waitUntil(lambda: window.state.config.objective == "bbob-f21-i404", timeout=10_000)
    window.close()

    again = MainWindow.from_last_session()
    again.show()
    qtbot.waitExposed(again)
    try:
        wait_phase(qtbot, again, "ready")
        panel = again.panel
        assert panel.objective() == "bbob-f21-i404" and panel.function_box.isVisible()
        assert (panel.function_box.currentData(), panel.instance_box.value()) == (21, 404)
        assert not learner_item(again, "gradient").isEnabled()
    finally:
        again.close()


def test_loading_a_bbob_configuration_shows_it_in_the_picker(make_window, qtbot):
    from metalearn_gui.core.run import RunConfig

    window = make_window("genetic", "sphere", 3)
    window.panel.show_config(RunConfig("genetic", "bbob-f24-i03", dim=4, steps=None))
    assert window.panel.objective() == "bbob-f24-i03" and window.panel.function_box.isVisible()
    qtbot.waitUntil(lambda: window.state.config.objective == "bbob-f24-i03", timeout=10_000)
