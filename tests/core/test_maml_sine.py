"""maml-sine: MAML's sinusoid regression, θ a 1-40-40-1 network's initialisation."""

from __future__ import annotations

import numpy as np
import pytest

from metalearn_gui.core.learners import Status, learner_class, refusal
from metalearn_gui.core.objectives import make_objective, maml_sine
from metalearn_gui.core.objectives.maml_sine import Tasks
from metalearn_gui.core.objectives.tasks import FunctionFits
from metalearn_gui.core.tf_runtime import get_tf


@pytest.fixture(scope="module")
def objective():
    """One instance for the module: its baselines (pre-training, tuning) are computed once."""
    return make_objective("maml-sine")


def tasks_as_numpy(tasks: Tasks) -> Tasks:
    return Tasks(*(np.asarray(part, dtype=np.float64) for part in (
        tasks.support_x, tasks.support_y, tasks.query_x, tasks.query_y, tasks.amplitude, tasks.phase)))


def test_theta_is_the_flattened_network_with_named_weights(objective):
    assert objective.dim == 1 * 40 + 40 + 40 * 40 + 40 + 40 * 1 + 1 == 1761
    names = objective.coordinate_names()
    assert len(names) == len(set(names)) == 1761
    assert names[:2] == ("W1[0,0]", "W1[0,1]") and names[40] == "b1[0]"
    assert names[80] == "W2[0,0]" and names[81] == "W2[0,1]" and names[120] == "W2[1,0]"
    assert names[1680] == "b2[0]" and names[1720] == "W3[0,0]" and names[-1] == "b3[0]"
    with pytest.raises(ValueError, match="1761"):
        make_objective("maml-sine", 10)
    reason = objective.landscape_axes()
    assert isinstance(reason, str) and "\n" not in reason and "1,761" in reason


def test_unpacked_parameters_are_the_named_coordinates(objective):
    theta = np.arange(1761.0)
    _, _, W2, b2, W3, b3 = maml_sine.unpack(theta)
    names = objective.coordinate_names()
    assert W2.shape == (40, 40) and names[int(W2[3, 7])] == "W2[3,7]"
    assert names[int(b2[0, 7])] == "b2[7]" and names[int(W3[5, 0])] == "W3[5,0]" and names[int(b3[0, 0])] == "b3[0]"


def test_initial_theta_is_a_standard_initialisation(objective):
    thetas = objective.initial_theta(np.random.default_rng(0), 50)
    W1, b1, W2, b2, _, b3 = maml_sine.unpack(thetas)
    assert not b1.any() and not b2.any() and not b3.any()  # biases start at zero
    assert np.abs(W1).max() <= np.sqrt(6.0) and np.abs(W2).max() <= np.sqrt(6.0 / 40)
    assert np.abs(W1).max() > 0.9 * np.sqrt(6.0)  # uniform up to He's limit, not a narrower spread
    assert objective.within_bounds(thetas).all()


def test_losses_are_deterministic_given_the_random_stream(objective):
    tf = get_tf()
    thetas = objective.initial_theta(np.random.default_rng(1), 3)
    first = objective.loss_np(thetas, np.random.default_rng(5))
    np.testing.assert_array_equal(first, objective.loss_np(thetas, np.random.default_rng(5)))
    assert not np.allclose(first, objective.loss_np(thetas, np.random.default_rng(6)))  # fresh tasks
    seed = tf.constant([3, 4], tf.int64)
    theta = tf.constant(thetas[0])
    assert float(objective.loss_tf(theta, seed)) == float(objective.loss_tf(theta, seed))
    assert float(objective.loss_tf(theta, seed)) != float(objective.loss_tf(theta, seed + 1))


def test_a_batch_is_evaluated_as_each_theta_alone_in_memory_bounded_chunks(objective, monkeypatch):
    thetas = objective.initial_theta(np.random.default_rng(2), 5)
    alone = [objective.loss_np(theta[None], np.random.default_rng(7))[0] for theta in thetas]
    monkeypatch.setattr(maml_sine, "CHUNK_ELEMENTS", 2 * maml_sine.META_BATCH * maml_sine.DIM)  # two θ a chunk
    np.testing.assert_allclose(objective.loss_np(thetas, np.random.default_rng(7)), alone, rtol=1e-12)


def test_numpy_and_tensorflow_forms_agree_on_the_same_tasks(objective):
    tf = get_tf()
    seed = tf.constant([11, 12], tf.int64)
    tasks = tasks_as_numpy(maml_sine.sample_tasks_tf(seed, maml_sine.META_BATCH))
    assert tasks.amplitude.min() >= 0.1 and tasks.amplitude.max() <= 5.0
    assert tasks.phase.min() >= 0.0 and tasks.phase.max() <= np.pi
    assert np.abs(tasks.query_x).max() <= 5.0 and tasks.support_x.shape == (25, 10, 1)
    thetas = objective.initial_theta(np.random.default_rng(3), 3)
    thetas[1] = objective.pretrained_theta
    numpy_form = maml_sine.loss_on_tasks_np(thetas, tasks)
    tensorflow_form = [float(objective.loss_tf(tf.constant(theta), seed)) for theta in thetas]
    np.testing.assert_allclose(numpy_form, tensorflow_form, rtol=1e-4)  # TF runs in float32


def test_the_hand_written_inner_gradient_is_the_true_gradient():
    tf = get_tf()
    rng = np.random.default_rng(4)
    theta = maml_sine.he_uniform(rng) + 0.1 * rng.standard_normal(maml_sine.DIM)  # nonzero biases too
    tasks = maml_sine.sample_tasks_np(rng, 1)
    x, y = tasks.support_x[0], tasks.support_y[0]
    ours = np.concatenate([g.ravel() for g in maml_sine.mse_gradient(maml_sine.unpack(theta), x, y)])
    variable = tf.constant(theta)
    with tf.GradientTape() as tape:
        tape.watch(variable)
        ops = maml_sine.TensorOps()
        prediction, _ = maml_sine.forward(maml_sine.unpack(variable, ops), tf.constant(x), ops)
        mse = tf.reduce_mean((prediction - y) ** 2)
    np.testing.assert_allclose(ours, tape.gradient(mse, variable).numpy(), rtol=1e-9, atol=1e-12)


def test_the_meta_gradient_is_finite_and_second_order_exact(objective):
    """∇L through the inner step agrees with L's finite differences along random directions
    (a first-order approximation, dropping the inner gradient's own derivative, would not)."""
    tf = get_tf()
    theta = objective.initial_theta(np.random.default_rng(8))
    seed = tf.constant([1, 2], tf.int64)
    variable = tf.constant(theta)
    with tf.GradientTape() as tape:
        tape.watch(variable)
        loss = objective.loss_tf(variable, seed)
    gradient = tape.gradient(loss, variable).numpy()
    assert gradient.shape == (1761,) and np.isfinite(gradient).all() and np.abs(gradient).max() > 0
    tasks = tasks_as_numpy(maml_sine.sample_tasks_tf(seed, maml_sine.META_BATCH))
    # First-order MAML's gradient: the query loss's gradient at the adapted parameters.
    adapted = maml_sine.adapt(maml_sine.unpack(theta), tasks.support_x, tasks.support_y, 1, maml_sine.INNER_STEP_SIZE)
    first_order = np.concatenate(
        [g.mean(axis=0).ravel() for g in maml_sine.mse_gradient(adapted, tasks.query_x, tasks.query_y)])
    for direction in np.random.default_rng(9).standard_normal((3, 1761)):
        direction /= np.linalg.norm(direction)
        ends = maml_sine.loss_on_tasks_np(theta + 1e-5 * np.array([[1.0], [-1.0]]) * direction, tasks)
        slope = (ends[0] - ends[1]) / 2e-5
        assert gradient @ direction == pytest.approx(slope, rel=1e-4, abs=1e-4)
        assert abs(first_order @ direction - slope) > 0.1 * abs(slope)


def test_only_learners_that_can_cope_with_1761_weights_apply(objective):
    reason = refusal("neural", objective)
    assert reason is not None and "\n" not in reason
    assert reason.startswith("learner 'neural' handles at most 100 dimensions (") and "maml-sine has 1761" in reason
    assert "evolution" in refusal("evolution", objective).split(". Learners")[0]
    assert refusal("gradient", objective) is None and refusal("genetic", objective) is None


def test_baselines_pre_trained_first_and_better_than_a_random_network(objective):
    pretrained, random_init = objective.baselines()
    assert pretrained.label.startswith("pre-trained") and random_init.label.startswith("random init")
    assert np.isfinite(pretrained.loss) and np.isfinite(random_init.loss)
    assert objective.baseline_heldout_loss() == pretrained.loss < random_init.loss
    unadapted = objective.heldout_mse(np.stack([pretrained.theta, random_init.theta]), steps=0)
    assert unadapted[0] < unadapted[1]
    # Pooled regression learns the tasks' mean, E[y | x] = −(2 E[A] / π)·cos x: as good as it on held-out tasks.
    tasks = objective.heldout_tasks
    mean_prediction = -2.0 * np.mean(maml_sine.AMPLITUDE) / np.pi * np.cos(tasks.query_x)
    assert unadapted[0] < 1.03 * np.mean((mean_prediction - tasks.query_y) ** 2)
    # Fine-tuning at its tuned step size helps, and the tuned size beats the grid's neighbours on held-out tasks too.
    assert pretrained.loss < unadapted[0]
    size = objective.baseline_step_size("pre-trained", 1)
    for other in (size / 4, size * 4):
        assert objective.heldout_mse(pretrained.theta[None], 1, other)[0] > pretrained.loss


def test_pretraining_is_deterministic(monkeypatch):
    monkeypatch.setattr(maml_sine, "PRETRAIN_STEPS", 20)
    first = maml_sine.pretrain(np.random.default_rng(1))
    np.testing.assert_array_equal(first, maml_sine.pretrain(np.random.default_rng(1)))


def test_task_view_shows_the_fits_after_0_1_and_10_steps(objective):
    theta = objective.initial_theta(np.random.default_rng(10))
    view = objective.task_view(theta)
    assert isinstance(view, FunctionFits) and view.task.startswith("held-out sine 1")
    assert view.x.shape == view.truth.shape and view.x.min() == -5.0 and view.x.max() == 5.0
    assert view.support_x.shape == view.support_y.shape == (10,)
    amplitude, phase = objective.heldout_tasks.amplitude[0, 0, 0], objective.heldout_tasks.phase[0, 0, 0]
    np.testing.assert_allclose(view.support_y, amplitude * np.sin(view.support_x - phase))
    learned, pretrained = view.fits
    assert learned.startswith("learned θ") and pretrained == objective.baselines()[0].label
    for fits in view.fits.values():
        assert sorted(fits) == [0, 1, 10]
        assert all(fit.shape == view.x.shape and np.isfinite(fit).all() for fit in fits.values())
    # At 0 steps the learned curve is θ's own network; steps fit the support points better.
    own_network, _ = maml_sine.forward(maml_sine.unpack(theta), view.x[:, None])
    np.testing.assert_allclose(view.fits[learned][0], own_network[:, 0])
    on_support = {steps: np.interp(view.support_x, view.x, fit) for steps, fit in view.fits[pretrained].items()}
    errors = {steps: np.mean((fit - view.support_y) ** 2) for steps, fit in on_support.items()}
    assert errors[10] < errors[1] < errors[0]


def test_gradient_learner_meta_trains_a_better_initialisation(objective):
    """A few hundred steps of second-order MAML with the objective's suggested optimiser."""
    learner = learner_class("gradient")(objective, max_steps=400)
    first = learner.reset(0)
    while learner.status is Status.RUNNING:
        learner.advance(max_steps=400)
    assert learner.step == 400 and learner.hp["optimizer"] == "adam"
    before, after = objective.heldout(np.stack([first.theta[0], learner.theta])).loss
    assert after < before / 2, (before, after)
