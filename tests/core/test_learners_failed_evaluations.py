"""A user's objective that fails for some θ: each learner treats the failure as a bad point and
goes on; a run fails cleanly, naming the step and θ, only once nothing has succeeded for a while."""

from __future__ import annotations

import json

import numpy as np
import pytest

from run_helpers import history, run_all

from metalearn_gui.core.evaluation import ObjectiveFailure
from metalearn_gui.core.learners import Status
from metalearn_gui.core.learners.base import FAILING_EVALUATIONS, FAILING_STEPS
from metalearn_gui.core.learners.neural import SEPARATION
from metalearn_gui.core.run import summarize

STEP = 12  # faulty_objectives.FAULT_STEP
#: Small runs of each learner that applies to a black box, long enough to improve a lot.
RUNS = {
    "genetic": ({"population": 20}, 40),
    "evolution": ({}, 40),
    "neural": ({"initial": 6, "epochs": 10}, 60),
}


def extra(chunks, name):
    return np.concatenate([chunk.extras[name] for chunk in chunks])


@pytest.mark.parametrize("name", RUNS)
def test_failed_evaluations_are_bad_points_the_run_goes_on_and_improves(name, make_learner, faulty_objectives):
    hyperparameters, steps = RUNS[name]
    learner = make_learner(name, "nan-in-region", dim=3, max_steps=steps, **hyperparameters)
    chunks = run_all(learner, seed=0, max_steps=7)
    assert learner.status is Status.FINISHED, chunks[-1].message
    loss, theta, failed = history(chunks, "loss"), history(chunks, "theta"), extra(chunks, "failed")
    assert len(loss) == steps + 1 and np.isfinite(loss).all()
    assert (theta[:, 0] <= 1.0).all()  # a row reports a success (or repeats one), never a failed θ
    seen = len(learner.objective.failed)
    assert seen > 0 and failed.dtype == np.float64 and (np.diff(failed) >= 0).all()
    assert failed[-1] == seen == learner.failed  # every failed evaluation counted once
    assert history(chunks, "best_loss")[-1] < 1e-3 * loss[0]
    assert len(learner.evaluator.drain_failures()) == seen and learner.evaluator.drain_failures() == []


def test_a_generation_where_every_strategy_failed_repeats_the_previous_row(make_learner, faulty_objectives):
    # Without elites every strategy of generation 12 gets NaN; the run goes on.
    learner = make_learner("genetic", "nan-at-step", dim=3, max_steps=30, population=20, elite=0)
    chunks = run_all(learner, seed=0, max_steps=5)
    loss, theta = history(chunks, "loss"), history(chunks, "theta")
    failed = extra(chunks, "failed")
    assert learner.status is Status.FINISHED and np.isfinite(loss).all()
    assert loss[STEP] == loss[STEP - 1] and (theta[STEP] == theta[STEP - 1]).all()
    assert failed[STEP - 1] == 0 and failed[STEP] == failed[-1] == 20
    json.dumps(summarize(learner, 1.0).to_dict(), allow_nan=False)


@pytest.mark.parametrize("name, failing_at", [
    # genetic: its 18 children (2 elites) fail each generation, 3 generations make 54 evaluations;
    # evolution: 7 strategies a generation (3-D), 3 make 21; neural: one θ a step, 20 steps.
    ("genetic", STEP + FAILING_STEPS - 1), ("evolution", STEP + FAILING_STEPS - 1),
    ("neural", STEP + FAILING_EVALUATIONS - 1)])
def test_a_run_where_everything_fails_from_some_step_on_fails_naming_step_and_theta(
        name, failing_at, make_learner, faulty_objectives):
    hyperparameters, _ = RUNS[name]
    learner = make_learner(name, "nan-from-step", dim=3, max_steps=100, **hyperparameters)
    chunks = run_all(learner, seed=0, max_steps=10)
    assert learner.status is Status.FAILED
    message = chunks[-1].message
    assert message.startswith(f"every evaluation failed for {FAILING_STEPS if name != 'neural' else 20} steps "
                              f"running (")
    assert "; the last: the objective answered nan) " f"at step {failing_at} for θ = [" in message
    assert list(history(chunks, "step")) == list(range(failing_at))  # every row before it kept
    assert np.isfinite(history(chunks, "loss")).all()
    summary = summarize(learner, 1.0)
    assert summary.status == "failed" and summary.failed_at == failing_at and summary.failure == message
    json.dumps(summary.to_dict(), allow_nan=False)  # every number a number


@pytest.mark.parametrize("name", RUNS)
def test_an_objective_failing_everywhere_fails_at_the_reset(name, make_learner, faulty_objectives):
    hyperparameters, _ = RUNS[name]
    learner = make_learner(name, "nan-everywhere", dim=3, max_steps=100, **hyperparameters)
    with pytest.raises(ObjectiveFailure, match=r"every evaluation failed for \d+ steps running \(\d+ evaluations; "
                                               r"the last: the objective answered nan\) at step 0 for θ = \["):
        learner.reset(0)
    assert learner.status is Status.FAILED
    assert FAILING_EVALUATIONS <= len(learner.objective.failed) <= 3 * 20  # three generations at most


def test_a_step_zero_that_failed_is_stood_in_for_by_the_next_step(make_learner, faulty_objectives):
    # The neural learner's first design points fall where the objective fails (seed 0).
    learner = make_learner("neural", "nan-in-region", dim=3, max_steps=10, initial=6, epochs=10)
    first = learner.reset(0)
    assert learner.objective.failed and first.evaluations[0] == len(learner.objective.failed) + 1
    assert first.extras["failed"][0] == len(learner.objective.failed) and np.isfinite(first.loss).all()
    assert list(first.step) == [0] and first.theta[0, 0] <= 1.0


def test_the_neural_learner_proposes_nothing_near_a_theta_that_failed(make_learner, faulty_objectives):
    learner = make_learner("neural", "nan-in-region", dim=2, max_steps=80, initial=4, epochs=10)
    learner.objective.centre = np.array([2.0, 0.0])  # the losses that succeed fall towards the failures
    chunks = run_all(learner, seed=1)
    evaluated, failing = np.array(learner.objective.evaluated), learner.objective.fails
    proposed = np.isfinite(extra(chunks, "predicted_mean"))  # the model's proposals (not a design's)
    radius, evaluations = extra(chunks, "trust_radius"), history(chunks, "evaluations")
    checked = 0
    for step in np.flatnonzero(proposed):
        index = evaluations[step] - 1  # one θ a step: the step's own
        earlier = evaluated[:index][failing(evaluated[:index])]
        if len(earlier):
            gap = np.linalg.norm(earlier - evaluated[index], axis=1).min()
            assert gap >= SEPARATION * radius[step - 1] * (1 - 1e-9), step  # the region it was proposed in
            checked += 1
    assert checked >= 20 and len(np.unique(evaluated, axis=0)) == len(evaluated)


def test_gradient_diverges_on_a_users_non_finite_loss_as_on_a_built_in_objective(make_learner, faulty_objectives):
    learner = make_learner("gradient", "unbounded-sphere", alpha=10.0)  # it overflows (see test_learner_contract)
    chunks = run_all(learner, seed=0, max_steps=50)
    assert not learner.counts_failures and "failed" not in chunks[0].extras
    assert learner.status is Status.DIVERGED and "the loss became non-finite for θ = [" in chunks[-1].message
