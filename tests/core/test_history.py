"""The bounded run history (Qt-free): memory stays bounded, recent rows exact, and the
thinning keeps the run's shape at every scale: spikes, dips, every improvement of the best
loss, the early steps at full resolution and even density on a log-scaled step axis."""

from __future__ import annotations

import numpy as np
import pytest

from metalearn_gui.core.history import History, thin_rows


def append_steps(history: History, first: int, count: int, loss: np.ndarray | None = None) -> None:
    steps = np.arange(first, first + count)
    loss = np.exp(-steps / 1e4) if loss is None else loss
    theta = np.stack([steps, -steps], axis=1).astype(float)
    history.append(steps, loss, np.minimum.accumulate(loss), steps * 3, theta, {"grad_norm": loss * 2})


def test_long_run_stays_within_capacity_with_recent_steps_exact():
    history = History(dim=2, extras=("grad_norm",), capacity=1000)
    for first in range(0, 100_000, 200):
        append_steps(history, first, 200)
    assert len(history) <= 1000 and history.rows_seen == 100_000
    steps = history.column("step")
    assert steps[0] == 0 and steps[-1] == 99_999
    assert np.all(np.diff(steps) > 0)
    np.testing.assert_array_equal(steps[-250:], np.arange(99_750, 100_000))  # the newest quarter: every step
    np.testing.assert_array_equal(history.theta()[:, 0], steps)  # rows stay whole when thinned
    np.testing.assert_array_equal(history.column("grad_norm"), 2 * history.column("loss"))


def test_thinning_keeps_spikes_and_dips():
    history = History(dim=1, capacity=1000)
    loss = np.ones(50_000)
    loss[1234], loss[4321] = 1e6, 1e-6
    for first in range(0, 50_000, 500):
        history.append(np.arange(first, first + 500), loss[first:first + 500], loss[first:first + 500],
                       np.arange(first, first + 500), np.zeros((500, 1)))
    assert history.column("loss").max() == 1e6 and history.column("loss").min() == 1e-6


def test_a_chunk_bigger_than_the_history_is_thinned_on_the_way_in():
    history = History(dim=2, capacity=100)
    append_steps(history, 0, 10_000)
    assert len(history) <= 100 and history.column("step")[-1] == 9_999


def test_thin_rows_keeps_the_first_and_last_rows_and_extremes_within_the_target():
    loss = np.random.default_rng(0).normal(size=1001)
    keep = thin_rows(np.arange(1001), loss, np.minimum.accumulate(loss), 100)
    assert keep[0] == 0 and keep[-1] == 1000 and len(keep) <= 100
    assert loss.argmax() in keep and loss.argmin() in keep
    np.testing.assert_array_equal(thin_rows(np.arange(50), loss[:50], loss[:50], 100), np.arange(50))


def test_every_improvement_of_the_best_loss_survives_thinning():
    """A run that improves rarely (as a genetic run that has converged) keeps each
    improvement, with its best loss, through many rounds of thinning."""
    rng = np.random.default_rng(1)
    loss = 10 + rng.random(200_000)
    improved_at = np.unique(np.geomspace(1, 199_999, 120).astype(int))
    loss[improved_at] = np.linspace(9, 1, len(improved_at))
    best = np.minimum.accumulate(loss)
    history = History(dim=1, capacity=4000)
    for first in range(0, 200_000, 1000):
        rows = slice(first, first + 1000)
        history.append(np.arange(first, first + 1000), loss[rows], best[rows], np.arange(first, first + 1000),
                       np.zeros((1000, 1)))
    steps = history.column("step")
    assert np.isin(improved_at, steps).all()
    np.testing.assert_array_equal(history.column("best_loss")[np.isin(steps, improved_at)], best[improved_at])


def test_early_steps_stay_at_full_resolution_and_a_log_axis_stays_evenly_dense():
    loss = np.random.default_rng(2).random(1_000_000)
    keep = thin_rows(np.arange(1_000_000), loss, np.full(1_000_000, 0.0), 4000)
    assert len(keep) <= 4000
    np.testing.assert_array_equal(keep[:200], np.arange(200))  # every one of the first steps
    per_decade = np.histogram(keep, bins=[1e3, 1e4, 1e5, 1e6])[0]
    # Geometric buckets: each decade of steps gets about as many rows (even buckets
    # would give the last decade 90 % of them, the first two 1 %).
    assert per_decade.min() > 0.6 * per_decade.max() and per_decade.min() > 500


def test_a_best_loss_improving_at_every_step_is_thinned_within_the_target():
    """A smooth descent improves at every step: its improvements cannot all be kept, but the
    target holds and the descent's shape (each bucket's first and lowest rows) stays."""
    steps = np.arange(300_000)
    loss = np.exp(-steps / 50_000) * (1 + 0.01 * np.random.default_rng(3).random(300_000))
    best = np.minimum.accumulate(loss)
    for target in (8, 50, 1024, 5000):
        keep = thin_rows(steps, loss, best, target)
        assert len(keep) <= target and keep[0] == 0 and keep[-1] == 299_999 and np.all(np.diff(keep) > 0)
    keep = thin_rows(steps, loss, best, 1024)
    assert np.interp(steps, steps[keep], best[keep]) == pytest.approx(best, rel=0.02)


def test_a_nan_loss_is_kept_as_the_highest():
    loss = np.linspace(1, 0, 10_000)
    loss[7_777] = np.nan
    keep = thin_rows(np.arange(10_000), loss, np.fmin.accumulate(loss), 100)
    assert 7_777 in keep and len(keep) <= 100


def test_capacity_too_small_is_refused():
    with pytest.raises(ValueError, match="capacity"):
        History(dim=2, capacity=3)


def test_an_overlaid_runs_curve_keeps_its_losses_without_its_strategies():
    dim, rows = 50, 10_000
    history = History(dim, extras=("sigma", "diversity"), capacity=50_000)
    rng = np.random.default_rng(0)
    loss = rng.random(rows)
    history.append(np.arange(rows), loss, np.minimum.accumulate(loss), np.arange(rows) * 7,
                   rng.random((rows, dim)), {"sigma": rng.random(rows)})
    curve = history.loss_curve()
    for name in ("step", "loss", "best_loss", "evaluations"):
        np.testing.assert_array_equal(curve.column(name), history.column(name))
    assert len(curve) == len(history) == rows and curve.rows_seen == rows and curve.theta().shape == (rows, 0)
    assert curve.nbytes * 10 < history.nbytes  # 4 columns instead of 56
