"""The learners learn: the issue's acceptance figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from run_helpers import run_all
from metalearn_gui.core.learners import Status


def test_gradient_on_seed_with_the_listings_settings_reaches_log_2(make_learner):
    learner = make_learner("gradient", "seed", max_steps=1000, alpha=0.01)
    assert learner.objective.dim == 10 and learner.hp["optimizer"] == "sgd"
    chunks = run_all(learner, seed=0)
    assert chunks[-1].status is Status.FINISHED and learner.step == 1000
    assert abs(chunks[-1].loss[-1] - math.log(2)) < 1e-6


def test_genetic_beats_gradient_on_rastrigin_at_equal_evaluations(make_learner):
    generations = 100
    genetic_best, gradient_best = [], []
    for seed in range(5):
        genetic = make_learner("genetic", "rastrigin", max_steps=generations)
        run_all(genetic, seed)
        gradient = make_learner("gradient", "rastrigin", max_steps=genetic.evaluations - 1)
        run_all(gradient, seed)
        assert gradient.evaluations == genetic.evaluations
        genetic_best.append(genetic.best_loss)
        gradient_best.append(gradient.best_loss)
    # Gradient descent settles in the local minimum nearest θ0; search keeps going.
    assert np.median(genetic_best) < 0.5 * np.median(gradient_best)


@pytest.mark.parametrize("learner_name,steps", [("gradient", 1000), ("genetic", 300)])
def test_learned_schedule_beats_the_tuned_constant_baseline_on_heldout_tasks(
    make_learner, learner_name, steps
):
    learner = make_learner(learner_name, "lr-schedule", max_steps=steps)
    run_all(learner, seed=0)
    objective = learner.objective
    heldout = objective.heldout_loss(learner.theta_best)
    assert heldout <= objective.baseline_heldout_loss() - 0.3
