"""fewshot-digits: tasks from the right classes, deterministic batched losses, real
accuracies, baselines tuned on meta-training tasks, and the task view."""

from __future__ import annotations

import numpy as np
import pytest

from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import fewshot, make_objective
from metalearn_gui.core.objectives.fewshot import (
    BASELINE_GRID,
    INNER_STEPS,
    constant_rate_theta,
    digits,
    heldout_tasks,
    to_natural,
    to_theta,
    tuning_tasks,
)
from metalearn_gui.core.tf_runtime import get_tf


@pytest.fixture(scope="module")
def objective():
    return make_objective("fewshot-digits")


def true_labels(indices: np.ndarray) -> np.ndarray:
    from sklearn.datasets import load_digits

    return load_digits().target[indices]


def assert_tasks_drawn_from(tasks: fewshot.Tasks, classes: set[int]) -> None:
    """Every task has distinct classes from ``classes``, each way's images of its class, no image twice."""
    assert set(np.unique(tasks.classes)) <= classes
    assert all(len(set(row)) == fewshot.WAYS for row in tasks.classes)
    support = true_labels(tasks.support).reshape(len(tasks.classes), fewshot.WAYS, fewshot.SHOTS)
    query = true_labels(tasks.query).reshape(len(tasks.classes), fewshot.WAYS, fewshot.QUERIES)
    assert (support == tasks.classes[..., None]).all() and (query == tasks.classes[..., None]).all()
    images = np.concatenate([tasks.support, tasks.query], axis=1)
    assert all(len(set(row)) == images.shape[1] for row in images)


def test_heldout_tasks_use_only_classes_7_to_9_and_training_tasks_never_do(objective, monkeypatch):
    assert_tasks_drawn_from(heldout_tasks(), {7, 8, 9})
    assert_tasks_drawn_from(tuning_tasks(), set(range(7)))
    drawn = []
    original = fewshot.sample_tasks_np

    def recording(*args):
        drawn.append(original(*args))
        return drawn[-1]

    monkeypatch.setattr(fewshot, "sample_tasks_np", recording)
    objective.loss_np(np.full((2, objective.dim), 0.5), np.random.default_rng(0))
    assert len(drawn) == 1 and len(drawn[0].classes) == objective.batch
    assert_tasks_drawn_from(drawn[0], set(range(7)))


def test_tasks_drawn_by_tensorflow_from_a_seed_are_training_images_with_their_labels():
    tf = get_tf()
    images, _, _ = digits()
    label_of = {row.tobytes(): label for row, label in zip(images, true_labels(np.arange(len(images))), strict=True)}
    support_x, support_y, query_x, query_y, _, _ = fewshot.sample_tasks_tf(
        tf.constant([5, 6], tf.int64), fewshot.TRAINING_CLASSES, 8)
    for x, y in ((support_x.numpy(), support_y), (query_x.numpy(), query_y)):
        labels = np.array([label_of[image.tobytes()] for image in x.reshape(-1, 64)]).reshape(x.shape[:2])
        assert labels.max() <= 6
        # One class per way, a different one for each: the images labelled way k all show one digit.
        way = np.argmax(y, axis=-1)
        for task in range(x.shape[0]):
            shown = [set(labels[task][way[task] == k]) for k in range(fewshot.WAYS)]
            assert [len(digits_of_way) for digits_of_way in shown] == [1] * fewshot.WAYS
            assert len(set.union(*shown)) == fewshot.WAYS


def test_the_loss_is_deterministic_given_the_rng_and_draws_fresh_tasks(objective):
    thetas = objective.initial_theta(np.random.default_rng(1), 3)
    first = objective.loss_np(thetas, np.random.default_rng(7))
    assert np.array_equal(first, objective.loss_np(thetas, np.random.default_rng(7)))
    assert not np.allclose(first, objective.loss_np(thetas, np.random.default_rng(8)))
    assert first.shape == (3,) and np.isfinite(first).all()


def test_a_batch_gives_what_each_strategy_gives_alone(objective):
    # More rows than a compiled chunk holds: a full chunk and a padded one.
    thetas = objective.initial_theta(np.random.default_rng(2), fewshot.CHUNK + 3)
    batched = objective.loss_np(thetas, np.random.default_rng(3))
    for row in (0, 5, fewshot.CHUNK, fewshot.CHUNK + 2):
        alone = objective.loss_np(thetas[row : row + 1], np.random.default_rng(3))
        assert alone[0] == pytest.approx(batched[row], rel=1e-5)


def test_heldout_accuracy_is_chance_for_a_strategy_that_barely_learns_and_high_for_a_good_one(objective):
    barely = constant_rate_theta(-3.0)  # learning rate 0.001 for 20 steps: the network hardly moves
    good = constant_rate_theta(-0.3)
    heldout = objective.heldout(np.stack([barely, good]))
    assert 0.25 < heldout.accuracy[0] < 0.42 and heldout.loss[0] > 1.0  # ln 3 ≈ 1.10 is a blind guess's loss
    assert heldout.accuracy[1] > 0.8 and heldout.loss[1] < 0.5
    assert ((heldout.accuracy >= 0) & (heldout.accuracy <= 1)).all()


def test_a_diverging_strategy_scores_a_finite_ceiling_loss(objective):
    wild = np.array([1, 1, 1, 1, 1, 0, 0], dtype=np.float64)  # learning rate 10, momentum 0.95
    heldout = objective.heldout(wild[None])
    assert np.isfinite(heldout.loss).all() and 1.5 < heldout.loss[0] <= fewshot.LOSS_CEILING
    assert np.isfinite(objective.loss_np(wild[None], np.random.default_rng(0))).all()


def test_the_written_out_support_gradient_is_the_true_gradient():
    tf = get_tf()
    data = fewshot.task_tensors(tuning_tasks().select(slice(0, 2)))
    natural = tf.constant(to_natural(np.array([[0.5] * 7, [0.3] * 7])), tf.float32)
    weights = fewshot._initial_weights(tf.pow(10.0, natural[:, 6]), data[4], data[5])
    x, y = tf.constant(data[0]), tf.constant(data[1])
    with tf.GradientTape() as tape:
        tape.watch(weights)
        _, logits = fewshot._forward(weights, x)
        # Each network's mean support loss, summed over networks: its gradient is each network's own.
        loss = -tf.reduce_sum(tf.reduce_mean(tf.reduce_sum(y[:, :, None, :] * tf.nn.log_softmax(logits), -1), 1))
    for autodiff, written in zip(tape.gradient(loss, weights), fewshot._support_gradient(weights, x, y), strict=True):
        np.testing.assert_allclose(written.numpy(), autodiff.numpy(), rtol=1e-4, atol=1e-6)


def test_loss_tf_is_differentiable_through_the_inner_run(objective):
    tf = get_tf()
    seed = tf.constant([1, 2], tf.int64)
    theta = tf.constant(np.full(objective.dim, 0.5))
    with tf.GradientTape() as tape:
        tape.watch(theta)
        loss = objective.loss_tf(theta, seed)
    gradient = tape.gradient(loss, theta).numpy()
    assert loss.dtype == tf.float64 and np.isfinite(gradient).all() and np.abs(gradient).max() > 1e-3
    # Along the gradient the loss changes at its norm (a central difference; float32 and the
    # ReLUs' kinks make a finer check noisy), and a step against it lowers the loss.
    direction = gradient / np.linalg.norm(gradient)
    step = 1e-2
    ahead = float(objective.loss_tf(theta + step * direction, seed))
    behind = float(objective.loss_tf(theta - step * direction, seed))
    assert (ahead - behind) / (2 * step) == pytest.approx(np.linalg.norm(gradient), rel=0.2)
    assert behind < float(loss) < ahead
    assert float(objective.loss_tf(theta, seed)) == float(loss)  # the seed fixes the tasks
    assert float(objective.loss_tf(theta, tf.constant([1, 3], tf.int64))) != float(loss)


def test_baselines_are_tuned_on_training_tasks_with_plain_sgd_defaults(objective):
    constant, adam = objective.baselines()
    natural = to_natural(constant.theta)
    rate = natural[0]
    assert np.allclose(natural[: fewshot.PHASES], rate) and np.isclose(BASELINE_GRID, rate).any()
    assert np.allclose(natural[fewshot.PHASES :], [0.0, -6.0, 0.0])  # no momentum, weight decay 1e-6, He init
    assert objective.heldout_loss(constant.theta) == pytest.approx(constant.loss)
    assert objective.heldout_accuracy(constant.theta) == pytest.approx(constant.accuracy)
    # The grid's best on the meta-training tasks it was tuned on: its neighbours do worse there.
    neighbours = np.stack([constant_rate_theta(rate - 0.1), constant.theta, constant_rate_theta(rate + 0.1)])
    tuning = fewshot.evaluate_on_tasks(neighbours, tuning_tasks(), tasks_per_call=fewshot.META_BATCH)[0].mean(axis=1)
    assert tuning[1] <= tuning.min()
    assert adam.label == "Adam 0.001" and adam.theta is None
    # Its held-out learning curve (the benchmark's) ends at its held-out result and improves on the way.
    loss_curve, accuracy_curve = fewshot.heldout_curves(constant.theta)
    assert loss_curve[-1] == pytest.approx(constant.loss, rel=1e-5)
    assert accuracy_curve[-1] == pytest.approx(constant.accuracy) and accuracy_curve[0] < 0.5 < accuracy_curve[10]
    assert adam.loss > constant.loss and adam.accuracy < constant.accuracy  # 20 steps of 1e-3 learn little


def test_the_coordinates_map_onto_their_ranges(objective):
    assert objective.bounds == (0.0, 1.0) and len(objective.coordinate_names()) == objective.dim == 7
    assert np.allclose(to_natural(np.zeros(7)), [-3, -3, -3, -3, 0, -6, -1])
    assert np.allclose(to_natural(np.ones(7)), [1, 1, 1, 1, 0.95, -1, 1])
    assert np.allclose(to_theta(to_natural(np.full(7, 0.3))), 0.3)
    i, j = objective.landscape_axes()
    assert "lr steps 1–5" in objective.coordinate_names()[i] and "init scale" in objective.coordinate_names()[j]


def test_the_task_view_trains_one_heldout_task_with_each_strategy(objective):
    constant, _ = objective.baselines()
    view = objective.task_view(constant.theta)
    assert list(view.steps) == list(range(INNER_STEPS + 1)) and "digits" in view.task
    assert list(view.loss) == ["learned", constant.label, "Adam 0.001"] and list(view.accuracy) == list(view.loss)
    assert all(curve.shape == (INNER_STEPS + 1,) for curve in [*view.loss.values(), *view.accuracy.values()])
    learned, tuned, adam = view.loss.values()
    assert np.array_equal(learned, tuned)  # the learned θ is the baseline here
    assert learned[0] == pytest.approx(adam[0])  # the same He-initialised network before any step
    assert learned[-1] < learned[0] and adam[-1] > learned[-1]
    accuracies = np.array(list(view.accuracy.values()))
    assert ((accuracies >= 0) & (accuracies <= 1)).all()
    # Accuracies of 45 query images: multiples of 1/45.
    assert np.allclose(accuracies * 45, np.round(accuracies * 45), atol=1e-4)


def test_evolution_gets_a_population_that_averages_the_task_noise(objective):
    learner = learner_class("evolution")(objective, {})
    assert learner.evaluations_next_step() == 16
    assert learner_class("evolution")(objective, {"population": 9}).evaluations_next_step() == 9
