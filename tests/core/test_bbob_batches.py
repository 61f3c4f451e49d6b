"""A BBOB objective evaluates a large batch in slices (so that the window's thread gets its turns)
and answers exactly what COCO answers for the whole batch."""

from __future__ import annotations

import cocoex
import numpy as np
import pytest

from metalearn_gui.core.objectives import make_objective


@pytest.mark.parametrize("rows", [0, 1, 3_000])
def test_a_batch_in_slices_gives_cocos_values_row_for_row(rows):
    objective = make_objective("bbob-f15-i01", 10)
    thetas = np.random.default_rng(0).uniform(-5, 5, (rows, 10))
    expected = np.asarray(cocoex.BareProblem("bbob", 15, 10, 1)(thetas), dtype=np.float64).reshape(rows)
    for _ in range(2):  # the second batch is sliced by the sizes the first one measured
        np.testing.assert_array_equal(objective.loss_np(thetas), expected)
