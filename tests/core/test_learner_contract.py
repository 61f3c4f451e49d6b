"""What every learner promises: chunks, determinism, divergence, live changes."""

from __future__ import annotations

import numpy as np
import pytest

from run_helpers import history, run_all
from metalearn_gui.core.hyperparams import HyperParamError
from metalearn_gui.core.learners import LEARNER_NAMES, Status, learner_class

QUICK = {"gradient": {}, "genetic": {"population": 20}, "neural": {"epochs": 10, "initial": 5}, "evolution": {}}


@pytest.mark.parametrize("name", LEARNER_NAMES)
def test_chunks_are_contiguous_finite_and_match_the_step_budget(make_learner, name):
    learner = make_learner(name, "sphere", dim=3, max_steps=25, **QUICK[name])
    chunks = run_all(learner, seed=0, max_steps=7)
    steps = history(chunks, "step")
    assert list(steps) == list(range(26))  # step 0 (the initial θ) then 25 steps
    assert [len(c) for c in chunks] == [1, 7, 7, 7, 4]
    assert chunks[-1].status is Status.FINISHED
    loss, best = history(chunks, "loss"), history(chunks, "best_loss")
    assert np.isfinite(loss).all() and np.isfinite(history(chunks, "theta")).all()
    np.testing.assert_array_equal(best, np.minimum.accumulate(loss))
    assert np.all(np.diff(history(chunks, "evaluations")) > 0)
    assert history(chunks, "theta").shape == (26, 3)
    # A finished learner stays finished and returns nothing more.
    assert len(learner.advance(5)) == 0


@pytest.mark.parametrize("name", LEARNER_NAMES)
def test_same_seed_same_history_and_other_seed_differs(make_learner, name):
    def trace(seed):
        learner = make_learner(name, "rastrigin", dim=4, max_steps=30, **QUICK[name])
        chunks = run_all(learner, seed=seed, max_steps=11)
        return history(chunks, "loss"), history(chunks, "theta")

    first, again, other = trace(3), trace(3), trace(4)
    np.testing.assert_array_equal(first[0], again[0])  # bit-identical
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1])


@pytest.mark.parametrize("name", LEARNER_NAMES)
def test_reset_restores_the_seeds_initial_theta(make_learner, name):
    learner = make_learner(name, "ackley", dim=5, **QUICK[name])
    start = learner.reset(7)
    learner.advance(20)
    again = learner.reset(7)
    np.testing.assert_array_equal(start.theta, again.theta)
    assert again.step.tolist() == [0] and learner.step == 0


class FakeClock:
    """The learner's clock: each step a learner runs costs 1 ms,
    so a time bound cuts a chunk at the same step on any machine."""

    STEP_SECONDS = 0.001

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


@pytest.mark.parametrize("name", LEARNER_NAMES)
def test_time_bound_cuts_a_chunk_short(make_learner, monkeypatch, name):
    learner = make_learner(name, "lr-schedule", **QUICK[name])
    learner.reset(0)
    clock = FakeClock()
    learner.clock = clock.perf_counter
    run = learner._run

    def timed_run(count):
        rows = run(count)
        clock.now += FakeClock.STEP_SECONDS * len(rows)
        return rows

    monkeypatch.setattr(learner, "_run", timed_run)
    chunk = learner.advance(max_steps=100_000, max_seconds=0.01)
    # 10 ms at 1 ms a step: about 10 steps (blocks are sized from the last block's speed).
    assert 5 <= len(chunk) <= 12 and chunk.status is Status.RUNNING


def test_gradient_divergence_ends_the_run_with_finite_values_only(make_learner, faulty_objectives):
    # θ ← θ − 10·2θ: |θ| grows ×19 a step until θ² overflows (the bounds are too wide to stop it).
    learner = make_learner("gradient", "unbounded-sphere", alpha=10.0)
    chunks = run_all(learner, seed=0, max_steps=50)
    last = chunks[-1]
    assert last.status is Status.DIVERGED
    assert learner.diverged_at == last.diverged_at and last.diverged_at >= 1
    assert "step" in last.message and "learning rate" in last.message
    assert np.isfinite(history(chunks, "loss")).all()
    assert np.isfinite(history(chunks, "theta")).all()
    assert history(chunks, "step")[-1] == last.diverged_at - 1
    assert len(learner.advance(10)) == 0 and learner.status is Status.DIVERGED


def test_genetic_with_all_members_blown_up_diverges_cleanly(make_learner, monkeypatch):
    learner = make_learner("genetic", "lr-schedule", population=8, sigma=1.0, mutation=1.0)
    learner.reset(0)
    # Children stay inside the bounds, so only an objective failing everywhere blows them all up.
    monkeypatch.setattr(learner.objective, "loss_np", lambda thetas, rng=None: np.full(len(thetas), np.inf))
    learner._losses[:] = np.inf
    chunk = learner.advance(3)
    assert chunk.status is Status.DIVERGED and "non-finite" in chunk.message
    assert all(np.isfinite(values).all() for values in chunk.extras.values())


def test_live_change_applies_without_reset_and_is_recorded(make_learner):
    learner = make_learner("gradient", "sphere", dim=2)
    learner.reset(0)
    learner.advance(5)
    theta_before = learner.theta.copy()
    pending = learner.set_hyperparameters({"alpha": 0.1})
    assert pending == {}
    learner.advance(1)
    # Plain SGD on Σθ²: θ ← θ − 0.1·2θ = 0.8 θ, so the new α is in force now.
    np.testing.assert_allclose(learner.theta, 0.8 * theta_before, rtol=1e-12)
    assert learner.changes == [(5, "alpha", 0.01, 0.1)]
    assert learner.step == 6


def test_non_live_change_waits_for_reset(make_learner):
    learner = make_learner("gradient", "sphere", dim=2)
    learner.reset(0)
    assert learner.set_hyperparameters({"optimizer": "adam"}) == {"optimizer": "adam"}
    assert learner.hp["optimizer"] == "sgd"
    learner.reset(0)
    assert learner.hp["optimizer"] == "adam" and learner.pending == {}


@pytest.mark.parametrize(
    "values,message",
    [
        ({"tournament": 30, "population": 10}, "tournament=30 exceeds population=10"),
        ({"elite": 10, "population": 10}, "elite=10 must be below population=10"),
        ({"sigma": -1.0}, "sigma=-1 is out of range"),
        ({"colour": 1}, "unknown hyper-parameter 'colour'"),
    ],
)
def test_impossible_genetic_settings_are_refused(make_learner, values, message):
    with pytest.raises(HyperParamError, match=message):
        make_learner("genetic", "sphere", **values)


def test_a_refused_live_change_changes_nothing(make_learner):
    learner = make_learner("genetic", "sphere", population=10)
    learner.reset(0)
    with pytest.raises(HyperParamError):
        learner.set_hyperparameters({"sigma": 0.5, "tournament": 11})
    assert learner.hp["sigma"] == 0.2 and learner.changes == []


def test_objective_suggestions_are_defaults_that_the_user_overrides(make_learner):
    assert make_learner("gradient", "lr-schedule").hp["optimizer"] == "adam"
    assert make_learner("gradient", "lr-schedule", optimizer="sgd").hp["optimizer"] == "sgd"
    assert learner_class("gradient").spec("alpha").default == 0.01
