"""Each objective's numpy and TensorFlow forms agree, and each is the function it claims."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metalearn_gui.core.objectives import OBJECTIVES, ObjectiveError, make_objective
from metalearn_gui.core.objectives import lr_schedule
from metalearn_gui.core.tf_runtime import get_tf

DETERMINISTIC = [name for name, cls in OBJECTIVES.items() if not cls.noisy]


@pytest.mark.parametrize("name", DETERMINISTIC)
@pytest.mark.parametrize("dim", [2, 10])
def test_numpy_and_tensorflow_forms_agree(name, dim):
    tf = get_tf()
    objective = make_objective(name, dim)
    thetas = objective.initial_theta(np.random.default_rng(1), count=8)
    batched = objective.loss_np(thetas)
    single = [float(objective.loss_tf(tf.constant(theta))) for theta in thetas]
    assert batched.shape == (8,)
    np.testing.assert_allclose(batched, single, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_known_optimum_is_reached_at_optimum_theta(name):
    objective = make_objective(name)
    assert objective.loss(objective.optimum_theta) == pytest.approx(objective.optimum_value, abs=1e-12)
    # …and it is a minimum: nearby points are worse.
    rng = np.random.default_rng(0)
    nearby = objective.optimum_theta + 1e-3 * rng.standard_normal((20, objective.dim))
    assert np.all(objective.loss_np(nearby) > objective.optimum_value)


def test_classic_definitions_at_known_points():
    assert make_objective("rosenbrock", 2).loss(np.array([0.0, 0.0])) == pytest.approx(1.0)
    assert make_objective("rosenbrock", 2).loss(np.array([-1.0, 1.0])) == pytest.approx(4.0)
    assert make_objective("rastrigin", 2).loss(np.array([1.0, 0.0])) == pytest.approx(1.0)
    assert make_objective("sphere", 3).loss(np.array([1.0, 2.0, 3.0])) == pytest.approx(14.0)
    assert make_objective("ackley", 2).loss(np.array([1.0, 1.0])) == pytest.approx(3.6253849, abs=1e-6)


def test_seed_is_the_reference_loss_and_stable_for_huge_theta():
    objective = make_objective("seed")
    theta = np.full(10, 0.3)
    r = float(np.sum(theta**2))
    reference = -math.log(math.exp(-r) / (1 + math.exp(-r)))
    assert objective.loss(theta) == pytest.approx(reference, rel=1e-14)
    huge = np.full(10, 1e3)  # ‖θ‖² = 1e7: e^{‖θ‖²} would overflow
    assert objective.loss(huge) == pytest.approx(1e7)
    tf = get_tf()
    assert float(objective.loss_tf(tf.constant(huge))) == pytest.approx(1e7)


def test_seed_tensorflow_gradient_is_2_theta_sigmoid():
    tf = get_tf()
    objective = make_objective("seed")
    theta = tf.constant(np.random.default_rng(3).standard_normal(10))
    with tf.GradientTape() as tape:
        tape.watch(theta)
        loss = objective.loss_tf(theta)
    grad = tape.gradient(loss, theta).numpy()
    r = float(np.sum(theta.numpy() ** 2))
    expected = 2 * theta.numpy() / (1 + math.exp(-r))
    np.testing.assert_allclose(grad, expected, rtol=1e-12)


@pytest.mark.parametrize("name,dim,allowed", [("sphere", 1, "2 … 1000"), ("rastrigin", 0, "2 … 1000"),
                                              ("seed", 0, "1 … 1000"), ("seed", 10**9, "1 … 1000")])
def test_unsupported_dimension_is_refused_with_the_allowed_range(name, dim, allowed):
    with pytest.raises(ObjectiveError, match=rf"dimension {dim} .*allowed: an integer {allowed}"):
        make_objective(name, dim)


def test_unknown_objective_lists_known_ones():
    with pytest.raises(ObjectiveError, match="unknown objective 'nope'; known: seed, sphere"):
        make_objective("nope")


# -- lr-schedule ---------------------------------------------------------------------------
def reference_lr_schedule_loss(theta, W, y):
    """Plain gradient descent on each task, one at a time: the definition, literally."""
    logs = []
    for Wi, yi in zip(W, y):
        lipschitz = 2 * np.linalg.eigvalsh(Wi.T @ Wi)[-1]
        x = np.zeros(10)
        for theta_k in theta:
            x = x - math.exp(theta_k) / lipschitz * 2 * Wi.T @ (Wi @ x - yi)
        logs.append(math.log(np.sum((Wi @ x - yi) ** 2) / np.sum(yi**2)))
    return float(np.mean(logs))


def test_lr_schedule_matches_plain_gradient_descent():
    tasks = lr_schedule.sample_tasks_np(np.random.default_rng(5), 16)
    thetas = np.random.default_rng(6).normal(0.0, 0.5, size=(4, 10))
    batched = lr_schedule.loss_on_tasks_np(thetas, tasks)
    expected = [reference_lr_schedule_loss(theta, tasks.W, tasks.y) for theta in thetas]
    np.testing.assert_allclose(batched, expected, rtol=1e-10)


def test_lr_schedule_lipschitz_constant_is_exact():
    tf = get_tf()
    for tasks in (
        lr_schedule.sample_tasks_np(np.random.default_rng(7), 500),
        lr_schedule.sample_tasks_tf(tf.constant([7, 8], tf.int64), 500),
    ):
        W = np.asarray(tasks.W)
        exact = 2 * np.linalg.eigvalsh(np.swapaxes(W, 1, 2) @ W)[:, -1]
        np.testing.assert_allclose(np.asarray(tasks.lipschitz), exact, rtol=1e-9)


def test_lr_schedule_tensorflow_form_agrees_and_is_differentiable():
    tf = get_tf()
    tasks = lr_schedule.sample_tasks_np(np.random.default_rng(9), 32)
    theta = np.random.default_rng(10).normal(0.0, 0.5, size=10)
    variable = tf.constant(theta)
    with tf.GradientTape() as tape:
        tape.watch(variable)
        loss = lr_schedule.loss_on_tasks_tf(variable, tasks)
    grad = tape.gradient(loss, variable).numpy()
    assert float(loss) == pytest.approx(lr_schedule.loss_on_tasks_np(theta[None], tasks)[0], rel=1e-10)
    # Central differences on the numpy form check the autodiff gradient.
    eps = 1e-6
    numeric = [
        (lr_schedule.loss_on_tasks_np((theta + eps * e)[None], tasks)[0]
         - lr_schedule.loss_on_tasks_np((theta - eps * e)[None], tasks)[0]) / (2 * eps)
        for e in np.eye(10)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-7)


def test_lr_schedule_draws_fresh_tasks_but_is_reproducible():
    objective = make_objective("lr-schedule")
    theta = np.zeros((1, 10))
    first = objective.loss_np(theta, np.random.default_rng(1))
    again = objective.loss_np(theta, np.random.default_rng(1))
    other = objective.loss_np(theta, np.random.default_rng(2))
    assert first == again and first != other


def test_lr_schedule_baselines_are_tuned_on_training_tasks_and_measured_on_heldout_ones():
    objective = make_objective("lr-schedule")
    constant, adam = objective.baselines()
    best_step = objective.baseline_log_step()
    assert np.array_equal(constant.theta, np.full(10, best_step))
    assert objective.heldout_loss(constant.theta) == pytest.approx(constant.loss)
    assert objective.baseline_heldout_loss() == constant.loss
    # Tuned on other tasks, it is still within a hair of the best constant on the held-out ones.
    for other in (-1.0, 0.0, best_step - 0.3, best_step + 0.3):
        assert objective.heldout_loss(np.full(10, other)) >= constant.loss - 0.01
    assert -3.0 < constant.loss < -1.5
    assert adam.label == "Adam 0.001" and adam.theta is None and -0.5 < adam.loss < 0.0  # Adam barely moves in 10 steps


def test_lr_schedule_task_view_shows_each_strategy_learning_one_heldout_task():
    objective = make_objective("lr-schedule")
    view = objective.task_view(np.full(10, objective.baseline_log_step()))
    assert list(view.steps) == list(range(11)) and view.accuracy is None
    learned, constant, adam = view.loss.values()
    assert np.array_equal(learned, constant)  # the learned θ is the tuned constant here
    assert learned[0] == 0.0 and learned[-1] < -1.0 and adam[-1] > learned[-1]


def test_lr_schedule_huge_steps_give_a_non_finite_loss_not_a_warning():
    objective = make_objective("lr-schedule")
    losses = objective.loss_np(np.full((2, 10), 400.0), np.random.default_rng(0))
    assert not np.isfinite(losses).any()


@pytest.mark.parametrize("name", ["rastrigin", "ackley"])
def test_periodic_objectives_are_their_textbook_formulas_across_the_domain(name):
    # Their cos(2πθ) is computed by series after taking whole periods off, not by numpy's cos.
    def textbook(thetas):
        cosines = np.cos(2.0 * np.pi * thetas)
        if name == "rastrigin":
            return 10.0 * thetas.shape[-1] + np.sum(thetas**2 - 10.0 * cosines, axis=-1)
        rms = np.sqrt(np.mean(thetas**2, axis=-1))
        return -20.0 * np.exp(-0.2 * rms) - np.exp(np.mean(cosines, axis=-1)) + 20.0 + math.e

    objective = make_objective(name, 4)
    rng = np.random.default_rng(3)
    low, high = objective.bounds
    points = rng.uniform(low, high, (2000, 4))
    whole_and_half_periods = np.array([[0.0, 0.5, -1.0, 2.5], [0.25, -0.25, 4.75, -3.5], [1e-9, -1e-9, 5.0, -5.0]])
    for thetas in (points, whole_and_half_periods, points.reshape(20, 100, 4)):
        np.testing.assert_allclose(objective.loss_np(thetas), textbook(thetas), rtol=1e-12, atol=1e-12)
    single = objective.loss_np(points[0])
    assert np.ndim(single) == 0 and single == pytest.approx(float(textbook(points[0])), abs=1e-12)
    assert make_objective("rastrigin", 3).loss(np.array([0.5, 0.0, 0.0])) == pytest.approx(20.25, abs=1e-12)
