"""The ``evolution`` learner: CMA-ES that improves, IPOP restarts that double the population,
every evaluated θ inside the bounds, a seed that fixes everything, settings refused clearly."""

from __future__ import annotations

import numpy as np
import pytest

from run_helpers import history, run_all
from metalearn_gui.core.hyperparams import HyperParamError
from metalearn_gui.core.learners import Status, learner_class
from metalearn_gui.core.learners.evolution import default_population
from metalearn_gui.core.objectives import make_objective


def recording(objective):
    """``objective`` whose every evaluated θ is kept in ``objective.evaluated``."""
    objective.evaluated = []
    loss_np = objective.loss_np

    def record(thetas, rng=None):
        objective.evaluated.append(np.array(thetas))
        return loss_np(thetas, rng)

    objective.loss_np = record
    return objective


def evolution(objective, dim, **hyperparameters):
    return learner_class("evolution")(recording(make_objective(objective, dim)), hyperparameters)


@pytest.mark.parametrize("objective, dim, steps, precision", [("sphere", 5, 150, 1e-8),
                                                              ("bbob-f08-i01", 5, 400, 1e-6)])
def test_it_improves_by_orders_of_magnitude(objective, dim, steps, precision):
    learner = evolution(objective, dim)
    optimum = learner.objective.optimum_value
    start = learner.reset(0).loss[0] - optimum
    learner.advance(max_steps=steps)
    assert start > 1.0 and learner.best_loss - optimum < precision


def test_a_step_is_one_generation_reported_by_its_best():
    learner = evolution("rastrigin", 4)
    chunks = [learner.reset(1), learner.advance(max_steps=5)]
    size = default_population(4)
    assert size == 8 and learner.evaluations_next_step() == size
    np.testing.assert_array_equal(history(chunks, "evaluations"), size * np.arange(1, 7))
    generations = learner.objective.evaluated  # one batch per generation
    assert [len(batch) for batch in generations] == [size] * 6
    last = generations[-1]
    losses = learner.objective.loss_np(last)
    np.testing.assert_array_equal(chunks[-1].theta[-1], last[np.argmin(losses)])
    assert chunks[-1].loss[-1] == losses.min()
    snapshot = chunks[-1].snapshot
    np.testing.assert_array_equal(snapshot["population"], last)
    np.testing.assert_array_equal(snapshot["population_loss"], losses)


def test_restarts_double_the_population_until_they_run_out():
    learner = evolution("sphere", 2, restarts=3)
    chunks = [learner.reset(0)]
    expected_costs = []
    while learner.status is Status.RUNNING:
        expected_costs.append(learner.evaluations_next_step())
        chunks.append(learner.advance(max_steps=1))
    restarts = np.concatenate([c.extras["restarts"] for c in chunks])
    sizes = np.concatenate([c.extras["population_size"] for c in chunks])
    # Each restart doubles the population: 6, 12, 24, 48 on a 2-D sphere.
    steps_of_restarts = np.flatnonzero(np.diff(restarts)) + 1
    assert restarts[0] == 0 and restarts[-1] == 3 and len(steps_of_restarts) == 3
    assert sorted(set(sizes)) == [6, 12, 24, 48]
    np.testing.assert_array_equal(sizes[steps_of_restarts], [12, 24, 48])
    np.testing.assert_array_equal(np.diff(history(chunks, "evaluations")), expected_costs)
    # The last run stopped with no restart left: the run is over, not merely converged.
    assert chunks[-1].status is Status.FINISHED and len(learner.advance(5)) == 0


def test_the_population_stops_growing_at_its_cap(monkeypatch):
    from metalearn_gui.core.learners import evolution as module

    monkeypatch.setattr(module, "MAX_POPULATION", 20)
    learner = evolution("sphere", 2, restarts=3)
    chunks = run_all(learner, max_steps=1)
    sizes = np.concatenate([c.extras["population_size"] for c in chunks])
    assert list(dict.fromkeys(sizes)) == [6, 12, 20]  # 24 would be too many
    assert chunks[-1].extras["restarts"][-1] == 3


def test_a_restart_starts_from_a_fresh_mean_with_sigma0_again():
    learner = evolution("sphere", 3, restarts=1)
    chunks = run_all(learner, seed=2, max_steps=1)
    sigma = np.concatenate([c.extras["sigma"] for c in chunks])
    restarts = np.concatenate([c.extras["restarts"] for c in chunks])
    first_of_second_run = int(np.argmax(restarts))
    theta = history(chunks, "theta")
    # The first run had converged on the optimum θ = 0 …
    assert sigma[first_of_second_run - 1] < 1e-4 and np.abs(theta[first_of_second_run - 1]).max() < 1e-4
    # … and the second starts wide again (σ₀ = 0.2·10) somewhere else.
    assert sigma[first_of_second_run] > 0.1 and np.abs(theta[first_of_second_run]).max() > 0.5


@pytest.mark.parametrize("objective, dim", [("rastrigin", 3), ("bbob-f20-i01", 4), ("rosenbrock", 2)])
def test_every_evaluated_theta_is_inside_the_bounds(objective, dim):
    # σ₀ as wide as the domain: most raw Gaussian samples fall outside it.
    learner = evolution(objective, dim, sigma0=1.0, restarts=2)
    run_all(learner, max_steps=50)
    evaluated = np.concatenate(learner.objective.evaluated)
    assert len(evaluated) > 500
    assert learner.objective.within_bounds(evaluated).all()


@pytest.mark.parametrize("seed", [1, 3])
def test_an_optimum_on_the_bounds_is_reached(seed):
    # BBOB's linear slope is least at a corner of the box: the search must press against the
    # faces without its step size running away (redrawing outside samples took 55,000
    # evaluations or stalled at 3.5; folded, about 3,500).
    learner = evolution("bbob-f05-i03", 10)
    learner.reset(seed)
    while learner.evaluations < 10_000 and learner.best_loss - learner.objective.optimum_value > 1e-8:
        learner.advance(max_steps=10)
    assert learner.best_loss - learner.objective.optimum_value <= 1e-8


def test_the_same_seed_gives_the_same_run_through_its_restarts():
    def run(seed):
        chunks = run_all(evolution("rastrigin", 2, restarts=2), seed=seed, max_steps=17)
        return history(chunks, "loss"), history(chunks, "theta"), np.concatenate(
            [c.extras["sigma"] for c in chunks]), chunks[-1].snapshot["covariance"]

    first, again, other = run(5), run(5), run(6)
    for mine, same in zip(first, again, strict=True):
        np.testing.assert_array_equal(mine, same)
    assert not np.array_equal(first[1], other[1])


def test_the_snapshot_holds_the_search_distribution():
    learner = evolution("sphere", 4)
    first = learner.reset(0)
    later = learner.advance(max_steps=120)
    for chunk in (first, later):
        covariance, mean = chunk.snapshot["covariance"], chunk.snapshot["mean"]
        assert covariance.shape == (4, 4) and mean.shape == (4,)
        np.testing.assert_allclose(covariance, covariance.T)
        assert np.linalg.eigvalsh(covariance).min() > 0
    # Converging on the sphere, the distribution closes in on the optimum θ = 0.
    assert np.trace(later.snapshot["covariance"]) < 1e-6 * np.trace(first.snapshot["covariance"])
    assert np.abs(later.snapshot["mean"]).max() < 1e-3


@pytest.mark.parametrize("values, message", [
    ({"population": 1}, r"population=1 is too small; allowed: 0 \(CMA-ES's default\) or 2 … 1000"),
    ({"sigma0": 0.0}, "sigma0=0 is out of range; allowed: 0.0001 … 1, log scale"),
    ({"restarts": 2.5}, "restarts=2.5 is not an integer"),
    ({"population": 5000}, "population=5000 is out of range"),
])
def test_impossible_settings_are_refused_with_the_allowed_range(values, message):
    with pytest.raises(HyperParamError, match=message):
        evolution("sphere", 3, **values)


def test_a_population_of_zero_means_the_default_and_a_number_is_used_as_given():
    default, chosen = evolution("sphere", 10), evolution("sphere", 10, population=30)
    assert default.evaluations_next_step() == default_population(10) == 10  # before the first step too
    assert default.reset(0).evaluations[0] == 10
    assert chosen.evaluations_next_step() == chosen.reset(0).evaluations[0] == 30


def test_population_auto_is_its_lowest_value_by_name():
    spec = learner_class("evolution").spec("population")
    assert spec.parse("auto") == 0 and spec.parse("12") == 12
    assert "0 (auto)" in spec.describe_range()
