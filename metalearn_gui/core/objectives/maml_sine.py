"""``maml-sine``: learn a network's initialisation so that one gradient step fits a new sine.

MAML's sinusoid regression (Finn, Abbeel and Levine 2017). A task is y = A·sin(x − φ) with
amplitude A ~ U[0.1, 5] and phase φ ~ U[0, π]; the learner sees K = 10 support points with
x ~ U[−5, 5] and is judged on 10 query points of the same task. The network is a 1-40-40-1
ReLU perceptron and θ ∈ R^1761 is its *initialisation*, flattened layer by layer (W1, b1,
W2, b2, W3, b3; each weight matrix row-major, fan-in × fan-out). From θ the inner learner
takes k SGD steps (default 1) of size α = 0.01 (the paper's) on the support points' mean
squared error; L(θ) is the query MSE afterwards, averaged over a batch of fresh tasks.

The inner gradient is written out by hand (backpropagation through the two ReLU layers) in
one function shared by the numpy form (batched over strategies and tasks) and the TensorFlow
form; TensorFlow differentiates through it, so the ``gradient`` learner follows the exact
second-order MAML gradient (ReLU's second derivative is zero, as autodiff would find).

Held-out tasks (their own seed) measure generalisation. The baselines are fine-tuned the
same way (k steps on the support points) at the step size that suits each best, tuned on a
grid on meta-training tasks: a network pre-trained on the pooled meta-training tasks by
ordinary regression (the reference, as in MAML's paper) and the standard random
initialisation that :meth:`MAMLSine.initial_theta` draws.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from metalearn_gui.core.objectives.tasks import Baseline, FunctionFits, HeldOut, TaskDistribution
from metalearn_gui.core.tf_runtime import get_tf

HIDDEN = 40
#: (fan-in, fan-out) of each layer: 1-40-40-1.
LAYERS = ((1, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 1))
#: θ's parts in order: each layer's weight matrix, then its bias (a row).
PARTS = tuple(
    (f"{kind}{layer + 1}", shape)
    for layer, (fan_in, fan_out) in enumerate(LAYERS)
    for kind, shape in (("W", (fan_in, fan_out)), ("b", (1, fan_out)))
)
DIM = sum(rows * columns for _, (rows, columns) in PARTS)  # 1,761

AMPLITUDE = (0.1, 5.0)
PHASE = (0.0, math.pi)
INPUT = (-5.0, 5.0)
SUPPORT = 10
QUERY = 10
INNER_STEPS = 1
#: The inner SGD step size α (MAML's paper's for this problem).
INNER_STEP_SIZE = 0.01
META_BATCH = 25

HELDOUT_TASKS = 100
#: Query points per held-out task: more than in meta-training, for a precise figure.
HELDOUT_QUERY = 100
HELDOUT_SEED = 20170309
#: Meta-training tasks the baselines' fine-tuning step sizes are tuned on.
TUNING_TASKS = 200
TUNING_QUERY = 20
TUNING_SEED = 20170310
#: Fine-tuning step sizes tried for the baselines (log-spaced).
STEP_SIZE_GRID = np.round(np.logspace(-4, 0, 33), 6)
#: Pre-training: ordinary regression on pooled meta-training tasks (Adam, fresh tasks each step).
PRETRAIN_SEED = 20170311
PRETRAIN_STEPS = 1500
PRETRAIN_TASKS = 25
PRETRAIN_RATE = 1e-2
#: The random initialisation the "random" baseline starts from.
RANDOM_INIT_SEED = 20170312
#: The baselines' names, the reference first.
BASELINES = ("pre-trained", "random init")
#: Inner steps whose fitted curves the task view shows.
VIEW_STEPS = (0, 1, 10)
#: Elements of the largest intermediate array ``loss_np`` builds at once (~32 MB of float64).
CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class Tasks:
    """Sine tasks: support points ``(B, K, 1)``, query points ``(B, Q, 1)``, and each task's
    ``amplitude`` and ``phase`` ``(B, 1, 1)`` (numpy arrays or tensors)."""

    support_x: Any
    support_y: Any
    query_x: Any
    query_y: Any
    amplitude: Any
    phase: Any

    def __len__(self) -> int:
        return int(self.support_x.shape[0])


def tasks_from_uniform(uniform: Any, sin: Any) -> Tasks:
    """Tasks from U[0, 1) draws ``(B, 2 + points)``: amplitude, phase, then the points' x, the
    first :data:`SUPPORT` of them the support set. Plain arithmetic (and ``sin``, numpy's or
    TensorFlow's), so one draw of either library makes all of a task's randomness."""
    amplitude = AMPLITUDE[0] + (AMPLITUDE[1] - AMPLITUDE[0]) * uniform[:, 0:1, None]
    phase = PHASE[0] + (PHASE[1] - PHASE[0]) * uniform[:, 1:2, None]
    x = INPUT[0] + (INPUT[1] - INPUT[0]) * uniform[:, 2:, None]
    y = amplitude * sin(x - phase)
    return Tasks(x[:, :SUPPORT], y[:, :SUPPORT], x[:, SUPPORT:], y[:, SUPPORT:], amplitude, phase)


def sample_tasks_np(rng: np.random.Generator, count: int, query: int = QUERY) -> Tasks:
    return tasks_from_uniform(rng.random((count, 2 + SUPPORT + query)), np.sin)


def sample_tasks_tf(seed: Any, count: int) -> Tasks:
    """``count`` tasks drawn from the stateless ``seed`` (float32 tensors)."""
    tf = get_tf()
    return tasks_from_uniform(tf.random.stateless_uniform((count, 2 + SUPPORT + QUERY), seed), tf.sin)


# -- the network, for numpy arrays and TensorFlow tensors alike ------------------------------
class NumpyOps:
    @staticmethod
    def relu(z):
        return np.maximum(z, 0.0)

    @staticmethod
    def active(z):
        return (z > 0.0).astype(z.dtype)

    @staticmethod
    def sum_points(z):
        return np.sum(z, axis=-2, keepdims=True)

    @staticmethod
    def transpose(z):
        return np.swapaxes(z, -1, -2)

    @staticmethod
    def reshape(z, shape):
        return np.reshape(z, shape)

    @staticmethod
    def mean_points(z):
        return np.mean(z, axis=(-2, -1))


class TensorOps:
    def __init__(self) -> None:
        self.tf = get_tf()

    def relu(self, z):
        return self.tf.nn.relu(z)

    def active(self, z):
        return self.tf.cast(z > 0.0, z.dtype)

    def sum_points(self, z):
        return self.tf.reduce_sum(z, axis=-2, keepdims=True)

    def transpose(self, z):
        return self.tf.linalg.matrix_transpose(z)

    def reshape(self, z, shape):
        return self.tf.reshape(z, shape)

    def mean_points(self, z):
        return self.tf.reduce_mean(z, axis=(-2, -1))


NUMPY = NumpyOps()


def unpack(theta: Any, ops=NUMPY) -> list[Any]:
    """θ ``(..., 1761)`` as the network's parameters, each ``(..., rows, columns)``."""
    leading = tuple(theta.shape[:-1])
    parts, start = [], 0
    for _, shape in PARTS:
        size = shape[0] * shape[1]
        parts.append(ops.reshape(theta[..., start:start + size], leading + shape))
        start += size
    return parts


def forward(params: list[Any], x: Any, ops=NUMPY) -> tuple[Any, list[tuple[Any, Any]]]:
    """The network's output for inputs ``x`` (..., N, 1), and each hidden layer's input and
    pre-activation (what backpropagation needs)."""
    hidden, layers = x, []
    for weight, bias in zip(params[:-2:2], params[1:-2:2], strict=True):
        z = hidden @ weight + bias
        layers.append((hidden, z))
        hidden = ops.relu(z)
    return hidden @ params[-2] + params[-1], layers


def mse_gradient(params: list[Any], x: Any, y: Any, ops=NUMPY) -> list[Any]:
    """∇ of the mean squared error on (x, y) with respect to each parameter (backpropagation)."""
    prediction, layers = forward(params, x, ops)
    error = 2.0 * (prediction - y) / int(x.shape[-2])  # ∂MSE/∂output
    last_input = ops.relu(layers[-1][1])
    grads = [ops.transpose(last_input) @ error, ops.sum_points(error)]
    for layer in range(len(LAYERS) - 2, -1, -1):
        layer_input, z = layers[layer]
        error = (error @ ops.transpose(params[2 * layer + 2])) * ops.active(z)
        grads = [ops.transpose(layer_input) @ error, ops.sum_points(error), *grads]
    return grads


def adapt(params: list[Any], x: Any, y: Any, steps: int, step_size: Any, ops=NUMPY) -> list[Any]:
    """The parameters after ``steps`` SGD steps on the support points (x, y)."""
    for _ in range(steps):
        params = [p - step_size * g for p, g in zip(params, mse_gradient(params, x, y, ops), strict=True)]
    return params


def query_mse(params: list[Any], x: Any, y: Any, ops=NUMPY) -> Any:
    """Mean squared error on the query points of each task (the points' axis reduced)."""
    prediction, _ = forward(params, x, ops)
    return ops.mean_points((prediction - y) ** 2)


def adapted_mse_np(thetas: np.ndarray, tasks: Tasks, steps: int = INNER_STEPS,
                   step_size: float = INNER_STEP_SIZE) -> np.ndarray:
    """Query MSE of each θ (n, D) on each task after ``steps`` inner steps: (n, B), computed in
    chunks of strategies so that memory stays bounded for any n."""
    thetas = np.asarray(thetas, dtype=np.float64)
    points = max(tasks.support_x.shape[1], tasks.query_x.shape[1])
    per_theta = len(tasks) * max(DIM, points * HIDDEN)
    rows = max(1, CHUNK_ELEMENTS // per_theta)
    results = []
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(thetas), rows):
            # (n, 1, r, c) parameters broadcast against (B, N, 1) points: (n, B, …).
            params = unpack(thetas[start:start + rows, None, :])
            params = adapt(params, tasks.support_x, tasks.support_y, steps, step_size)
            results.append(query_mse(params, tasks.query_x, tasks.query_y))
    return np.concatenate(results) if results else np.empty((0, len(tasks)))


def loss_on_tasks_np(thetas: np.ndarray, tasks: Tasks, steps: int = INNER_STEPS) -> np.ndarray:
    """L for each row of ``thetas`` (n, D) on ``tasks``: float64 (n,), +inf where it overflowed."""
    losses = np.mean(adapted_mse_np(thetas, tasks, steps), axis=1)
    return np.where(np.isnan(losses), np.inf, losses)


def loss_on_tasks_tf(theta: Any, tasks: Tasks, steps: int = INNER_STEPS) -> Any:
    """Differentiable L of one θ (D,) on ``tasks``, float64 (float32 inside: a meta-gradient
    step took 1.0 ms against 1.4 ms in float64, and agrees with :func:`loss_on_tasks_np` to 1e-4)."""
    tf = get_tf()
    ops = TensorOps()
    params = unpack(tf.cast(theta, tf.float32), ops)
    support_x, support_y, query_x, query_y = (
        tf.cast(part, tf.float32) for part in (tasks.support_x, tasks.support_y, tasks.query_x, tasks.query_y))
    # (r, c) parameters broadcast against (B, N, 1) points; after a step they are per task.
    params = adapt(params, support_x, support_y, steps, INNER_STEP_SIZE, ops)
    return tf.cast(tf.reduce_mean(query_mse(params, query_x, query_y, ops)), tf.float64)


def he_uniform(rng: np.random.Generator, count: int | None = None) -> np.ndarray:
    """Standard initialisations laid out as θ: each weight U(±√(6 / fan-in)) (He et al.'s
    uniform rule for ReLU networks), each bias 0; shape (D,) or (count, D)."""
    leading = () if count is None else (count,)
    parts = []
    for name, (rows, columns) in PARTS:
        limit = math.sqrt(6.0 / rows) if name.startswith("W") else 0.0
        parts.append(rng.uniform(-limit, limit, size=(*leading, rows * columns)))
    return np.concatenate(parts, axis=-1)


def pretrain(rng: np.random.Generator) -> np.ndarray:
    """A network trained by ordinary regression on pooled meta-training tasks (Adam, fresh tasks
    each step), from a standard initialisation: it learns the tasks' average, E[y | x]."""
    theta = he_uniform(rng)
    first, second = np.zeros(DIM), np.zeros(DIM)
    for step in range(1, PRETRAIN_STEPS + 1):
        tasks = sample_tasks_np(rng, PRETRAIN_TASKS)
        # All the tasks' points pooled into one regression data set.
        x = np.concatenate([tasks.support_x, tasks.query_x], axis=1).reshape(-1, 1)
        y = np.concatenate([tasks.support_y, tasks.query_y], axis=1).reshape(-1, 1)
        grad = np.concatenate([g.ravel() for g in mse_gradient(unpack(theta), x, y)])
        first = 0.9 * first + 0.1 * grad
        second = 0.999 * second + 0.001 * grad**2
        rate = PRETRAIN_RATE * (1.0 - step / (PRETRAIN_STEPS + 1))  # decayed to settle at the mean
        theta = theta - rate * (first / (1 - 0.9**step)) / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
    return theta


class MAMLSine(TaskDistribution):
    name = "maml-sine"
    description = (
        "θ = initialisation of a 1-40-40-1 ReLU network (1,761 weights); L = query MSE on fresh sine "
        "tasks after one SGD step on 10 support points (MAML's sinusoid regression)"
    )
    default_dim = min_dim = max_dim = DIM
    #: Inner SGD steps from θ on each task's support points (the held-out figure's too).
    inner_steps: ClassVar[int] = INNER_STEPS
    #: Twice He's widest initial weight. Unbounded, meta-training drove a few of W2's weights to
    #: ~10 (99 % stayed within ±4.6); inside this box it learns as well (held-out MSE after one
    #: step ~0.34 after 30–40 s either way), a few weights resting on its faces.
    bounds = (-5.0, 5.0)
    suggested: ClassVar = {
        # MAML's meta-optimiser (Adam, one task batch per step) at a larger rate: held-out MSE after
        # one step 0.30 after 60 s of meta-training; at 0.01 0.42, at 0.001 1.07 after 40 s.
        "gradient": {"optimizer": "adam", "alpha": 0.003},
        # Mutations of 0.02 (the default 0.2 of the box's width is 2, wrecking a network):
        # best loss 3.3 after 12 generations against 20 (and 13 at 0.1).
        "genetic": {"sigma": 0.002},
    }

    def __init__(self, dim: int | None = None) -> None:
        super().__init__(dim)
        self._step_sizes: dict[tuple[str, int], float] = {}

    def describe_optimum(self) -> str:
        # Not the baseline's figure: listing objectives should not pre-train a network.
        return "unknown (compare the held-out MSE with the pre-trained network's)"

    def coordinate_names(self) -> tuple[str, ...]:
        names = []
        for name, (rows, columns) in PARTS:
            if name.startswith("W"):
                names += [f"{name}[{i},{j}]" for i in range(rows) for j in range(columns)]
            else:
                names += [f"{name}[{j}]" for j in range(columns)]
        return tuple(names)

    def landscape_axes(self) -> str:
        return "no two of a network's 1,761 weights make a meaningful picture (each matters only with the others)"

    def initial_theta(self, rng, count=None):
        """A standard random initialisation (see :func:`he_uniform`), as a network would start."""
        return self.clip(he_uniform(rng, count))

    # -- the loss ---------------------------------------------------------------------
    def loss_np(self, thetas, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        return loss_on_tasks_np(thetas, sample_tasks_np(rng, META_BATCH), self.inner_steps)

    def loss_tf(self, theta, seed=None):
        tf = get_tf()
        seed = tf.constant([0, 0], tf.int64) if seed is None else seed
        return loss_on_tasks_tf(theta, sample_tasks_tf(seed, META_BATCH), self.inner_steps)

    # -- held-out tasks and baselines ---------------------------------------------------
    @cached_property
    def heldout_tasks(self) -> Tasks:
        return sample_tasks_np(np.random.default_rng(HELDOUT_SEED), HELDOUT_TASKS, HELDOUT_QUERY)

    @cached_property
    def tuning_tasks(self) -> Tasks:
        return sample_tasks_np(np.random.default_rng(TUNING_SEED), TUNING_TASKS, TUNING_QUERY)

    def heldout(self, thetas):
        return HeldOut(loss_on_tasks_np(thetas, self.heldout_tasks, self.inner_steps))

    def heldout_mse(self, thetas: np.ndarray, steps: int, step_size: float = INNER_STEP_SIZE) -> np.ndarray:
        """Mean held-out query MSE of each θ (n, D) after ``steps`` SGD steps of ``step_size``."""
        return np.mean(adapted_mse_np(thetas, self.heldout_tasks, steps, step_size), axis=1)

    def tuned_step_size(self, theta: np.ndarray, steps: int) -> float:
        """The grid's fine-tuning step size that does best for ``theta`` after ``steps`` SGD
        steps, judged on meta-training tasks (never the held-out ones)."""
        thetas = np.asarray(theta, dtype=np.float64)[None, :]
        with _small_matrices():
            losses = np.array([np.mean(adapted_mse_np(thetas, self.tuning_tasks, steps, size))
                               for size in STEP_SIZE_GRID])
        return float(STEP_SIZE_GRID[int(np.argmin(np.where(np.isfinite(losses), losses, np.inf)))])

    @cached_property
    def pretrained_theta(self) -> np.ndarray:
        with _small_matrices():
            return self.clip(pretrain(np.random.default_rng(PRETRAIN_SEED)))

    @cached_property
    def random_theta(self) -> np.ndarray:
        return self.initial_theta(np.random.default_rng(RANDOM_INIT_SEED))

    def baseline_initialisation(self, name: str) -> np.ndarray:
        """A baseline's initialisation by name (:data:`BASELINES`)."""
        return self.pretrained_theta if name == "pre-trained" else self.random_theta

    def baseline_step_size(self, name: str, steps: int) -> float:
        """The fine-tuning step size tuned for baseline ``name`` and ``steps`` steps (cached)."""
        key = (name, steps)
        if key not in self._step_sizes:
            self._step_sizes[key] = self.tuned_step_size(self.baseline_initialisation(name), steps)
        return self._step_sizes[key]

    def baseline_heldout_mse(self, name: str, steps: int) -> float:
        """Baseline ``name``'s held-out query MSE after ``steps`` steps at its tuned step size."""
        theta = self.baseline_initialisation(name)[None, :]
        return float(self.heldout_mse(theta, steps, self.baseline_step_size(name, steps))[0])

    def baselines(self):
        return self._baselines

    @cached_property
    def _baselines(self) -> tuple[Baseline, ...]:
        return tuple(
            Baseline(self._baseline_label(name), self.baseline_heldout_mse(name, self.inner_steps),
                     theta=self.baseline_initialisation(name))
            for name in BASELINES
        )

    def _baseline_label(self, name: str) -> str:
        return f"{name} (fine-tuned at step {self.baseline_step_size(name, self.inner_steps):g})"

    def task_view(self, theta):
        """Held-out task 1 fitted from the learned θ (at α) and from the pre-trained network (at
        its step size tuned for k steps), after 0, 1 and 10 steps: MAML's paper's picture."""
        tasks = self.heldout_tasks
        amplitude, phase = float(tasks.amplitude[0, 0, 0]), float(tasks.phase[0, 0, 0])
        x = np.linspace(*INPUT, 201)
        support_x, support_y = tasks.support_x[:1], tasks.support_y[:1]
        starts = {
            f"learned θ (step {INNER_STEP_SIZE:g})": (theta, INNER_STEP_SIZE),
            self._baseline_label(BASELINES[0]): (
                self.baseline_initialisation(BASELINES[0]), self.baseline_step_size(BASELINES[0], self.inner_steps)),
        }
        fits: dict[str, dict[int, np.ndarray]] = {}
        for label, (start, step_size) in starts.items():
            params, done, fits[label] = unpack(np.asarray(start, dtype=np.float64)[None, :]), 0, {}
            for steps in VIEW_STEPS:
                params = adapt(params, support_x, support_y, steps - done, step_size)
                done = steps
                fits[label][steps] = forward(params, x[None, :, None])[0][0, :, 0]
        return FunctionFits(
            f"held-out sine 1: y = {amplitude:.2f}·sin(x − {phase:.2f})", x, amplitude * np.sin(x - phase),
            support_x[0, :, 0], support_y[0, :, 0], fits,
        )


@contextmanager
def _small_matrices() -> Iterator[None]:
    """BLAS on one thread: this network's matrices are at most 40 × 40, too small to share
    out, and on a busy 2-core machine a loop of small products ran 5-20× slower multi-threaded
    (pre-training: 21 s against 3.9 s measured)."""
    with threadpool_limits(1, user_api="blas"):
        yield
