"""The bounded run history (Qt-free): memory stays bounded, recent rows exact, spikes kept."""

from __future__ import annotations

import numpy as np
import pytest

from metalearn_gui.core.history import History, thin_indices


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
    np.testing.assert_array_equal(steps[-500:], np.arange(99_500, 100_000))  # the newest half: every step
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


def test_thin_indices_keeps_the_last_row_and_bucket_extremes():
    loss = np.random.default_rng(0).normal(size=1001)
    keep = thin_indices(loss, 100)
    assert keep[-1] == 1000 and len(keep) <= 110
    assert loss.argmax() in keep and loss.argmin() in keep
    np.testing.assert_array_equal(thin_indices(loss[:50], 100), np.arange(50))


def test_capacity_too_small_is_refused():
    with pytest.raises(ValueError, match="capacity"):
        History(dim=2, capacity=3)
