"""``lr-schedule``: learn the step sizes of gradient descent over a family of tasks.

θ ∈ R^T are log step sizes. Each task is a random quadratic f(x) = ‖Wx − y‖² with
W ∈ R^{10×10} and y ∈ R^10 drawn N(0, 1) (the task family of Andrychowicz et al.
2016). From x0 = 0 the inner learner takes T steps x ← x − η_k ∇f(x) with
η_k = exp(θ_k) / L_task, where L_task = 2 λmax(WᵀW) is the Lipschitz constant of
∇f. L(θ) is the mean over a fresh batch of tasks of log(f(x_T) / f(x_0)).

A fixed held-out set of tasks (its own seed) measures generalisation, and the
tuned baseline is the best *constant* schedule found by grid search on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from metalearn_gui.core.objectives.base import Objective
from metalearn_gui.core.tf_runtime import get_tf

TASK_SIZE = 10
HELDOUT_TASKS = 100
HELDOUT_SEED = 20160614
#: Repeated squarings of WᵀW/trace used to find λmax: the power (λ2/λ1)^(2^k)
#: vanishes, so the Rayleigh quotient is exact to rounding (checked in tests).
SQUARINGS = 12
#: Constant log-step sizes tried for the tuned baseline.
BASELINE_GRID = np.round(np.arange(-4.0, 1.5 + 1e-9, 0.01), 2)


@dataclass(frozen=True)
class Tasks:
    """A batch of quadratic tasks: ``W`` (B, 10, 10), ``y`` (B, 10), ``lipschitz`` (B,)."""

    W: np.ndarray
    y: np.ndarray
    lipschitz: np.ndarray


def top_eigenvalue_np(gram: np.ndarray) -> np.ndarray:
    """λmax of each symmetric PSD matrix in ``gram`` (B, n, n) by repeated squaring."""
    power = gram / np.trace(gram, axis1=1, axis2=2)[:, None, None]
    for _ in range(SQUARINGS):
        power = power @ power
        power /= np.trace(power, axis1=1, axis2=2)[:, None, None]
    # power ≈ u uᵀ: its largest column is the top eigenvector u (up to scale).
    column = np.argmax(np.sum(power**2, axis=1), axis=1)
    vec = np.take_along_axis(power, column[:, None, None], axis=2)[..., 0]
    return np.einsum("bi,bij,bj->b", vec, gram, vec) / np.einsum("bi,bi->b", vec, vec)


def sample_tasks_np(rng: np.random.Generator, count: int) -> Tasks:
    W = rng.standard_normal((count, TASK_SIZE, TASK_SIZE))
    y = rng.standard_normal((count, TASK_SIZE))
    gram = np.swapaxes(W, 1, 2) @ W
    return Tasks(W, y, 2.0 * top_eigenvalue_np(gram))


def loss_on_tasks_np(thetas: np.ndarray, tasks: Tasks) -> np.ndarray:
    """L for each row of ``thetas`` (n, T) on the same ``tasks``; float64 (n,)."""
    thetas = np.asarray(thetas, dtype=np.float64)
    W, y = tasks.W, tasks.y
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        steps = np.exp(thetas)[None, :, :] / tasks.lipschitz[:, None, None]  # (B, n, T)
        x = np.zeros((W.shape[0], TASK_SIZE, thetas.shape[0]))  # (B, 10, n)
        for k in range(thetas.shape[1]):
            residual = W @ x - y[:, :, None]
            x = x - steps[:, None, :, k] * (2.0 * np.swapaxes(W, 1, 2) @ residual)
        final = np.sum(np.square(W @ x - y[:, :, None]), axis=1)  # (B, n)
        initial = np.sum(np.square(y), axis=1)[:, None]
        return np.mean(np.log(final / initial), axis=0)


def sample_tasks_tf(seed: Any, count: int) -> Tasks:
    tf = get_tf()
    W = tf.random.stateless_normal((count, TASK_SIZE, TASK_SIZE), seed, dtype=tf.float64)
    y = tf.random.stateless_normal(
        (count, TASK_SIZE), seed + tf.constant([0, 1], seed.dtype), dtype=tf.float64
    )
    gram = tf.matmul(W, W, transpose_a=True)
    power = gram / tf.linalg.trace(gram)[:, None, None]
    for _ in range(SQUARINGS):
        power = tf.matmul(power, power)
        power = power / tf.linalg.trace(power)[:, None, None]
    column = tf.argmax(tf.reduce_sum(power**2, axis=1), axis=1)
    vec = tf.gather(tf.transpose(power, [0, 2, 1]), column, axis=1, batch_dims=1)
    top = tf.reduce_sum(vec * tf.linalg.matvec(gram, vec), axis=1) / tf.reduce_sum(vec * vec, axis=1)
    return Tasks(W, y, 2.0 * top)


def loss_on_tasks_tf(theta: Any, tasks: Tasks) -> Any:
    """Differentiable L of one θ (T,) on ``tasks`` (tensors or arrays)."""
    tf = get_tf()
    W = tf.convert_to_tensor(tasks.W, tf.float64)
    y = tf.convert_to_tensor(tasks.y, tf.float64)
    steps = tf.exp(theta)[None, :] / tf.convert_to_tensor(tasks.lipschitz, tf.float64)[:, None]
    x = tf.zeros_like(y)
    for k in range(theta.shape[0]):
        residual = tf.linalg.matvec(W, x) - y
        x = x - steps[:, k : k + 1] * (2.0 * tf.linalg.matvec(W, residual, transpose_a=True))
    final = tf.reduce_sum(tf.square(tf.linalg.matvec(W, x) - y), axis=1)
    initial = tf.reduce_sum(tf.square(y), axis=1)
    return tf.reduce_mean(tf.math.log(final / initial))


class LRSchedule(Objective):
    name = "lr-schedule"
    description = (
        "θ_k = log step sizes of T gradient steps on random quadratics ‖Wx − y‖²; "
        "L = mean log(f(x_T)/f(x_0)) over fresh tasks"
    )
    min_dim = 1
    noisy = True
    suggested: ClassVar = {
        "gradient": {"optimizer": "adam", "alpha": 0.03},
        "genetic": {"sigma": 0.1, "mutation": 0.2},
    }

    def __init__(self, dim: int | None = None, batch: int = 128) -> None:
        super().__init__(dim)
        self.batch = batch

    bounds = (-3.0, 1.5)

    def describe_optimum(self) -> str:
        return f"unknown; tuned constant baseline {self.baseline_heldout_loss():.3f} (held-out)"

    def initial_theta(self, rng, count=None):
        # Around the textbook safe step η = 1/L (θ = 0), with some spread.
        shape = (self.dim,) if count is None else (count, self.dim)
        return self.clip(rng.normal(0.0, 0.5, size=shape))

    def loss_np(self, thetas, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        return loss_on_tasks_np(thetas, sample_tasks_np(rng, self.batch))

    def loss_tf(self, theta, seed=None):
        tf = get_tf()
        seed = tf.constant([0, 0], tf.int64) if seed is None else seed
        return loss_on_tasks_tf(theta, sample_tasks_tf(seed, self.batch))

    @cached_property
    def heldout_tasks(self) -> Tasks:
        return sample_tasks_np(np.random.default_rng(HELDOUT_SEED), HELDOUT_TASKS)

    def heldout_loss(self, theta):
        return float(loss_on_tasks_np(np.asarray(theta)[None, :], self.heldout_tasks)[0])

    @cached_property
    def _baseline(self) -> tuple[float, float]:
        grid = np.repeat(BASELINE_GRID[:, None], self.dim, axis=1)
        losses = loss_on_tasks_np(grid, self.heldout_tasks)
        losses = np.where(np.isfinite(losses), losses, np.inf)
        best = int(np.argmin(losses))
        return float(BASELINE_GRID[best]), float(losses[best])

    def baseline_heldout_loss(self):
        return self._baseline[1]

    def baseline_log_step(self) -> float:
        """The constant log step size of the tuned baseline."""
        return self._baseline[0]
