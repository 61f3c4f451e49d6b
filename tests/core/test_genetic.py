"""The genetic learner stops wasting evaluations: it restarts a stagnated population with
twice as many strategies, never loses its best, evaluates only inside the bounds, and a
seed reproduces a run exactly."""

from __future__ import annotations

import numpy as np
from run_helpers import run_all

from metalearn_gui.core.learners import Status


def steps_of(learner, count: int) -> list:
    """``count`` chunks of one step each (each one generation, or one restart)."""
    return [learner.advance(max_steps=1) for _ in range(count)]


def test_a_stagnated_population_restarts_with_twice_the_strategies(make_learner):
    learner = make_learner("genetic", "rastrigin", dim=3, population=10)
    learner.reset(0)
    sizes, restarts, costs = [10], [0.0], []
    for _ in range(400):
        expected = learner.evaluations_next_step()
        before = learner.evaluations
        chunk = learner.advance(max_steps=1)
        costs.append((expected, learner.evaluations - before))
        sizes.append(len(chunk.snapshot["population"]))
        restarts.append(float(chunk.extras["restarts"][-1]))
    assert restarts[-1] >= 2  # a multimodal landscape: the population stagnates in a basin
    rose = np.flatnonzero(np.diff(restarts) > 0) + 1
    for step in rose:
        assert sizes[step] == 2 * sizes[step - 1]
        assert restarts[step] == restarts[step - 1] + 1
        assert costs[step - 1] == (sizes[step], sizes[step])  # a restart evaluates the whole new design
    assert all(expected == spent for expected, spent in costs)  # what a budget relies on
    assert learner.status is Status.RUNNING


def test_the_best_loss_never_worsens_across_restarts(make_learner):
    learner = make_learner("genetic", "rastrigin", dim=3, max_steps=400, population=10)
    chunks = run_all(learner, seed=1)
    loss = np.concatenate([chunk.loss for chunk in chunks])
    best = np.concatenate([chunk.best_loss for chunk in chunks])
    restarts = np.concatenate([chunk.extras["restarts"] for chunk in chunks])
    assert restarts[-1] >= 1 and (np.diff(loss) > 0).any()  # a restart's population starts worse …
    assert (np.diff(best) <= 0).all() and best[-1] == loss.min()  # … but the run's best stays
    assert learner.best_loss == loss.min()


def test_every_evaluated_strategy_lies_inside_the_bounds(make_learner, monkeypatch):
    # σ as wide as the domain: most mutations would leave it unless reflected.
    learner = make_learner("genetic", "rastrigin", dim=4, max_steps=150, population=12, sigma=1.0)
    evaluated = []
    original = learner.objective.loss_np

    def recording(thetas, rng=None):
        evaluated.append(np.array(thetas))
        return original(thetas, rng)

    monkeypatch.setattr(learner.objective, "loss_np", recording)
    run_all(learner, seed=2)
    thetas = np.concatenate(evaluated)
    assert len(thetas) == learner.evaluations
    assert learner.objective.within_bounds(thetas).all()
    low, high = learner.objective.bounds
    assert (thetas < low + 0.5).any() and (thetas > high - 0.5).any()  # the edges are reached, not avoided


def _rows(chunks) -> dict[str, np.ndarray]:
    rows = {name: np.concatenate([getattr(chunk, name) for chunk in chunks])
            for name in ("step", "loss", "best_loss", "evaluations", "theta")}
    for name in chunks[0].extras:
        rows[name] = np.concatenate([chunk.extras[name] for chunk in chunks])
    return rows


def test_the_same_seed_gives_identical_rows(make_learner):
    def run(seed):
        learner = make_learner("genetic", "rastrigin", dim=3, max_steps=400, population=10)
        return _rows(run_all(learner, seed))

    first, again, other = run(5), run(5), run(6)
    assert first["restarts"][-1] >= 1  # restarts included
    assert first.keys() == again.keys()
    for name in first:
        np.testing.assert_array_equal(first[name], again[name], err_msg=name)
    assert not np.array_equal(first["theta"], other["theta"])


def test_the_run_converges_only_once_no_restart_is_left(make_learner):
    learner = make_learner("genetic", "sphere", dim=2, population=8, restarts=1)
    learner.reset(0)
    chunks = []
    while learner.status is Status.RUNNING and learner.step < 5000:
        chunks.append(learner.advance(max_steps=50))
    restarts = np.concatenate([chunk.extras["restarts"] for chunk in chunks])
    assert learner.status is Status.CONVERGED
    assert restarts[-1] == 1  # the first stagnation restarted instead of ending the run
    assert learner.best_loss < 1e-10


def test_a_live_sigma_change_resets_every_strategys_step(make_learner):
    learner = make_learner("genetic", "sphere", dim=2, population=8)
    learner.reset(0)
    learner.advance(max_steps=60)
    assert learner.advance(max_steps=1).extras["sigma"][-1] < 0.1  # adapted down towards the optimum
    learner.set_hyperparameters({"sigma": 0.3})
    low, high = learner.objective.bounds
    np.testing.assert_allclose(learner._sigma, 0.3 * (high - low))


def test_in_high_dimensions_the_variation_adapts_to_each_coordinates_spread(make_learner):
    """Above ROTATION_MAX_DIM the shape is a spread per coordinate (no D×D decomposition,
    which would cost seconds a generation): the run still descends."""
    from metalearn_gui.core.learners.genetic import ROTATION_MAX_DIM

    dim = ROTATION_MAX_DIM + 50
    learner = make_learner("genetic", "sphere", dim=dim, population=40)
    learner.reset(0)
    first = learner.best_loss
    learner.advance(max_steps=300)
    assert learner.best_loss < 0.85 * first
    assert learner._shape.shape == (dim,)
    assert learner.status is Status.RUNNING


def test_each_component_mutates_with_the_mutation_rates_chance():
    # The kept components of a child's noise are drawn from the gaps between them at low rates
    # and one draw each at high ones; either way each is kept with the rate's chance.
    from metalearn_gui.core.learners.genetic import _kept_positions

    rng = np.random.default_rng(0)
    count, repeats = 997, 400
    for rate in (0.0, 0.003, 0.1, 0.19, 0.2, 0.7, 1.0):
        kept = np.zeros(count)
        for _ in range(repeats):
            positions = _kept_positions(rng, count, rate)
            assert np.all(np.diff(positions) > 0)  # sorted, each once
            assert positions.size == 0 or 0 <= positions[0] <= positions[-1] < count
            kept[positions] += 1
        share = kept.sum() / (count * repeats)
        assert abs(share - rate) <= 5 * np.sqrt(rate * (1 - rate) / (count * repeats)) + 1e-12, rate
        if 0.0 < rate < 1.0:  # no position is favoured: the first and last tenth as often as the rest
            assert abs(kept[: count // 10].mean() - kept[-(count // 10):].mean()) < 6 * np.sqrt(rate * repeats)
