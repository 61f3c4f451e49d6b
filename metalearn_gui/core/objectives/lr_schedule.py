"""``lr-schedule``: learn the step sizes of gradient descent over a family of tasks.

θ ∈ R^T are log step sizes. Each task is a random quadratic f(x) = ‖Wx − y‖² with
W ∈ R^{10×10} and y ∈ R^10 drawn N(0, 1) (the task family of Andrychowicz et al.
2016). From x0 = 0 the inner learner takes T steps x ← x − η_k ∇f(x) with
η_k = exp(θ_k) / L_task, where L_task = 2 λmax(WᵀW) is the Lipschitz constant of
∇f. L(θ) is the mean over a fresh batch of tasks of log(f(x_T) / f(x_0)).

A fixed held-out set of tasks (its own seed) measures generalisation. The baselines
are computed the same way on it: the best *constant* schedule, tuned by grid search on
a fixed set of meta-training tasks (another seed), and Adam at 1e-3 for T steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from metalearn_gui.core.objectives.tasks import Baseline, HeldOut, InnerCurves, TaskDistribution
from metalearn_gui.core.tf_runtime import get_tf

TASK_SIZE = 10
HELDOUT_TASKS = 100
HELDOUT_SEED = 20160614
#: The meta-training tasks the constant baseline is tuned on (not the held-out ones).
TUNING_TASKS = 256
TUNING_SEED = 20160615
ADAM_RATE = 1e-3
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
    return np.mean(descent_np(thetas, tasks)[-1], axis=0)


def descent_np(thetas: np.ndarray, tasks: Tasks, every_step: bool = False) -> list[np.ndarray]:
    """log(f(x_k)/f(x_0)) of each task (B) and θ (n), shape (B, n): after the last step
    only, or after every step k = 0 … T when ``every_step``."""
    thetas = np.asarray(thetas, dtype=np.float64)
    W, y = tasks.W, tasks.y
    initial = np.sum(np.square(y), axis=1)[:, None]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        steps = np.exp(thetas)[None, :, :] / tasks.lipschitz[:, None, None]  # (B, n, T)
        x = np.zeros((W.shape[0], TASK_SIZE, thetas.shape[0]))  # (B, 10, n)
        trace = []
        for k in range(thetas.shape[1]):
            residual = W @ x - y[:, :, None]
            if every_step:
                trace.append(np.log(np.sum(np.square(residual), axis=1) / initial))
            x = x - steps[:, None, :, k] * (2.0 * np.swapaxes(W, 1, 2) @ residual)
        final = np.sum(np.square(W @ x - y[:, :, None]), axis=1)  # (B, n)
        return [*trace, np.log(final / initial)]


def adam_descent_np(tasks: Tasks, count: int, rate: float = ADAM_RATE) -> np.ndarray:
    """log(f(x_k)/f(x_0)) of each task after each of ``count`` Adam steps from x0 = 0,
    shape (count + 1, B) (Kingma and Ba's defaults β = 0.9, 0.999, ε = 1e-8)."""
    W, y = tasks.W, tasks.y
    initial = np.sum(np.square(y), axis=1)
    x, m, v = np.zeros_like(y), np.zeros_like(y), np.zeros_like(y)
    trace = [np.zeros(len(y))]
    for k in range(1, count + 1):
        residual = np.einsum("bij,bj->bi", W, x) - y
        gradient = 2.0 * np.einsum("bji,bj->bi", W, residual)
        m = 0.9 * m + 0.1 * gradient
        v = 0.999 * v + 0.001 * gradient**2
        x = x - rate * (m / (1 - 0.9**k)) / (np.sqrt(v / (1 - 0.999**k)) + 1e-8)
        final = np.sum(np.square(np.einsum("bij,bj->bi", W, x) - y), axis=1)
        trace.append(np.log(final / initial))
    return np.array(trace)


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


class LRSchedule(TaskDistribution):
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

    def coordinate_names(self):
        return tuple(f"log η{k + 1}" for k in range(self.dim))

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

    def heldout(self, thetas):
        return HeldOut(loss_on_tasks_np(thetas, self.heldout_tasks))

    def baseline_log_step(self) -> float:
        """The constant log step size that does best on the meta-training tasks."""
        grid = np.repeat(BASELINE_GRID[:, None], self.dim, axis=1)
        losses = loss_on_tasks_np(grid, sample_tasks_np(np.random.default_rng(TUNING_SEED), TUNING_TASKS))
        return float(BASELINE_GRID[int(np.argmin(np.where(np.isfinite(losses), losses, np.inf)))])

    def baselines(self):
        return self._baselines

    @cached_property
    def _baselines(self) -> tuple[Baseline, ...]:
        constant = np.full(self.dim, self.baseline_log_step())
        adam = adam_descent_np(self.heldout_tasks, self.dim)[-1]
        return (
            Baseline(f"tuned constant step e^{constant[0]:.2f}/L", float(self.heldout(constant[None]).loss[0]),
                     theta=constant),
            Baseline(f"Adam {ADAM_RATE:g}", float(np.mean(adam))),
        )

    def task_view(self, theta):
        task = Tasks(*(part[:1] for part in (self.heldout_tasks.W, self.heldout_tasks.y,
                                             self.heldout_tasks.lipschitz)))
        strategies = {"learned": np.asarray(theta, dtype=np.float64)}
        strategies.update({b.label: b.theta for b in self.baselines() if b.theta is not None})
        loss = {label: np.array(descent_np(s[None, :], task, every_step=True))[:, 0, 0]
                for label, s in strategies.items()}
        loss[f"Adam {ADAM_RATE:g}"] = adam_descent_np(task, self.dim)[:, 0]
        return InnerCurves("held-out quadratic task 1", np.arange(self.dim + 1), loss)
