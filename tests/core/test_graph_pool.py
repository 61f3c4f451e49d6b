"""Compiled TensorFlow state is built once per shape and lent to one learner at a time."""

from __future__ import annotations

import gc

import numpy as np

from run_helpers import history, run_all
from metalearn_gui.core.learners.gradient import GRAPHS
from metalearn_gui.core.learners.graph_pool import GraphPool
from metalearn_gui.core.learners.neural import MODELS


class Owner:
    pass


def test_a_kit_is_lent_to_one_owner_and_reused_once_it_is_gone_or_released():
    built = []
    pool = GraphPool(lambda key: built.append(key) or f"kit {len(built)}")
    first, second = Owner(), Owner()
    kit = pool.acquire("shape", first)
    assert pool.acquire("shape", first) is kit  # its owner again
    other = pool.acquire("shape", second)
    assert other is not kit  # both alive: never shared
    del first
    gc.collect()
    third = Owner()
    assert pool.acquire("shape", third) is kit
    pool.release(other)
    assert pool.acquire("shape", Owner()) is other
    assert pool.size() == 2


def test_a_new_gradient_learner_of_a_known_shape_is_not_traced_again(make_learner):
    learner = make_learner("gradient", "rastrigin", 3, max_steps=40, optimizer="adam")
    first = history(run_all(learner, seed=4), "loss")
    built = GRAPHS.size()
    del learner
    gc.collect()
    again = make_learner("gradient", "rastrigin", 3, max_steps=40, optimizer="adam")
    np.testing.assert_array_equal(history(run_all(again, seed=4), "loss"), first)
    assert GRAPHS.size() == built


def test_learners_of_one_shape_alive_together_keep_their_own_state(make_learner):
    alone = history(run_all(make_learner("gradient", "sphere", 2, max_steps=30), seed=1), "theta")
    one, two = (make_learner("gradient", "sphere", 2, max_steps=30) for _ in range(2))
    one.reset(1)
    two.reset(2)
    chunks = []
    for _ in range(3):  # interleaved: each advance must start where that learner stopped
        chunks.append(one.advance(max_steps=10))
        two.advance(max_steps=10)
    np.testing.assert_array_equal(np.concatenate([c.theta for c in chunks]), alone[1:])


def test_a_new_neural_learner_of_a_known_shape_reuses_the_model(make_learner):
    first = make_learner("neural", "sphere", 2, max_steps=12, initial=4, epochs=5)
    losses = history(run_all(first, seed=3), "loss")
    built = MODELS.size()
    del first
    gc.collect()
    again = make_learner("neural", "sphere", 2, max_steps=12, initial=4, epochs=5)
    np.testing.assert_array_equal(history(run_all(again, seed=3), "loss"), losses)
    assert MODELS.size() == built
