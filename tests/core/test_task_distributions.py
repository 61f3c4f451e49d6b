"""What every task-distribution objective promises: held-out results batched, cached
baselines, a task view, named coordinates (and learners refused beyond their D)."""

from __future__ import annotations

import numpy as np
import pytest

from metalearn_gui.core.learners import refusal
from metalearn_gui.core.learners.base import Learner
from metalearn_gui.core.objectives import OBJECTIVES, make_objective
from metalearn_gui.core.objectives.tasks import TaskDistribution, is_task_distribution

TASK_OBJECTIVES = [name for name, cls in OBJECTIVES.items() if issubclass(cls, TaskDistribution)]


def test_lr_schedule_is_a_task_distribution_and_sphere_is_not():
    assert "lr-schedule" in TASK_OBJECTIVES
    assert not is_task_distribution(make_objective("sphere", 2))


@pytest.mark.parametrize("name", TASK_OBJECTIVES)
def test_heldout_results_are_batched_and_agree_with_the_single_theta_form(name):
    objective = make_objective(name)
    thetas = objective.initial_theta(np.random.default_rng(0), 3)
    heldout = objective.heldout(thetas)
    assert heldout.loss.shape == (3,) and np.isfinite(heldout.loss).all()
    assert objective.heldout_loss(thetas[1]) == pytest.approx(heldout.loss[1])
    assert (heldout.accuracy is not None) == objective.classification
    assert objective.heldout(thetas[:1]).loss[0] == pytest.approx(heldout.loss[0])  # held-out tasks are fixed


@pytest.mark.parametrize("name", TASK_OBJECTIVES)
def test_baselines_are_labelled_finite_and_computed_once(name):
    objective = make_objective(name)
    baselines = objective.baselines()
    assert baselines is objective.baselines() and len({b.label for b in baselines}) == len(baselines)
    assert all(np.isfinite(b.loss) for b in baselines)
    assert objective.baseline_heldout_loss() == baselines[0].loss
    assert len(objective.coordinate_names()) == objective.dim


def test_a_learner_is_refused_beyond_its_largest_dimension(monkeypatch):
    from metalearn_gui.core.learners import learner_class

    genetic = learner_class("genetic")
    monkeypatch.setattr(genetic, "max_dim", 5)
    monkeypatch.setattr(genetic, "max_dim_reason", "a test's limit")
    reason = refusal("genetic", make_objective("sphere", 6))
    assert reason.startswith("learner 'genetic' handles at most 5 dimensions (a test's limit); sphere has 6.")
    assert "Learners that apply: " in reason and "genetic" not in reason.split("apply: ")[1]
    assert refusal("genetic", make_objective("sphere", 5)) is None
    assert Learner.max_dim is None


def test_a_summarys_loss_and_accuracy_of_one_theta_cost_one_heldout_evaluation(monkeypatch):
    objective = make_objective("lr-schedule")
    calls = []
    evaluate = objective.heldout
    monkeypatch.setattr(objective, "heldout", lambda thetas: calls.append(len(thetas)) or evaluate(thetas))
    theta = np.zeros(objective.dim)
    loss = objective.heldout_loss(theta)
    assert objective.heldout_accuracy(theta) is None and calls == [1]
    assert objective.heldout_loss(theta + 0.1) != loss and calls == [1, 1]  # another θ: evaluated anew
