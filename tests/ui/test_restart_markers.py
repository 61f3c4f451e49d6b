"""A learner's restarts are marked on the loss plot, in the window and in exported figures,
at the steps where its ``restarts`` count rose."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metalearn_gui.core.history import History
from metalearn_gui.core.record import RunRecord
from metalearn_gui.core.run import RunConfig
from metalearn_gui.export.figures import build_figure, render_figure
from metalearn_gui.plots.learner_plot import history_extras
from metalearn_gui.plots.loss_plot import LossPlot


def genetic_run_with_restarts() -> tuple[RunRecord, list[int]]:
    """A multimodal run long enough to restart a few times; the steps at which it did."""
    config = RunConfig("genetic", "rastrigin", dim=3, steps=300, seed=0, hyperparameters={"population": 10})
    learner = config.build()
    record = RunRecord.begin(config, learner.reset(config.seed))
    restarts, steps = [0.0], [0]
    while learner.status.value == "running":
        chunk = learner.advance(max_steps=40)
        record.add(chunk)
        restarts += chunk.extras["restarts"].tolist()
        steps += chunk.step.tolist()
    rose = [steps[i] for i in range(1, len(steps)) if restarts[i] > restarts[i - 1]]
    return record, rose


def test_the_loss_plot_marks_each_restart_at_its_step(qtbot):
    record, restart_steps = genetic_run_with_restarts()
    assert len(restart_steps) >= 2
    # The window's history keeps the column (the genetic view asks for it).
    assert "restarts" in history_extras("genetic")
    history = History(3, history_extras("genetic"), capacity=4096)
    table = record.history
    history.append(table.column("step"), table.column("loss"), table.column("best_loss"),
                   table.column("evaluations"), table.theta(),
                   {name: table.column(name) for name in table.extra_names})
    panel = LossPlot()
    qtbot.addWidget(panel)
    panel.set_run(history, optimum=0.0)

    assert panel.restart_steps().tolist() == restart_steps
    assert [line.value() for line in panel.restart_markers] == restart_steps
    assert all(line.scene() is panel.plot.scene() for line in panel.restart_markers)  # drawn
    assert panel.restart_markers[0].toolTip().startswith(f"restart 1 at step {restart_steps[0]}")
    assert not set(panel.restart_markers) & set(panel.markers)  # not the hyper-parameter change markers
    assert [label.text for _, label in panel.plot.legend.items].count("restart") == 1

    panel.set_log_x(True)  # markers follow the step axis
    assert [line.value() for line in panel.restart_markers] == [math.log10(s + 1) for s in restart_steps]


def test_a_run_without_restarts_has_no_marker(qtbot):
    history = History(1, ("restarts",), capacity=64)
    steps = np.arange(10)
    history.append(steps, np.linspace(1, 0, 10), np.linspace(1, 0, 10), steps, np.zeros((10, 1)),
                   {"restarts": np.zeros(10)})
    panel = LossPlot()
    qtbot.addWidget(panel)
    panel.set_run(history, optimum=0.0)
    assert panel.restart_markers == [] and len(panel.restart_steps()) == 0
    assert "restart" not in [label.text for _, label in panel.plot.legend.items]


def test_exported_loss_figures_mark_the_restarts(qapp):
    record, restart_steps = genetic_run_with_restarts()
    panel = build_figure(record, "loss", (500, 300))
    assert panel.restart_steps().tolist() == restart_steps
    assert len(panel.restart_markers) == len(restart_steps)
    svg = render_figure(record, "loss", "svg", 1, (500, 300)).decode()
    assert svg.count(">restart<") == 1  # the legend names the dashed lines once


def test_a_gap_too_small_for_the_floats_is_drawn_not_dropped(qtbot):
    """A BBOB run that reaches f_opt exactly keeps its best-so-far line on the log axis."""
    history = History(1, (), capacity=64)
    optimum = 1000.0
    loss = np.array([1010.0, 1000.5, optimum, optimum])
    history.append(np.arange(4), loss, np.minimum.accumulate(loss), np.arange(4), np.zeros((4, 1)), {})
    panel = LossPlot()
    qtbot.addWidget(panel)
    panel.set_run(history, optimum=optimum)
    _, best = panel.best.getData()
    assert np.isfinite(best).all() and best[-1] == pytest.approx(np.log10(np.spacing(optimum)))  # log axis
