"""The neural learner's model: a deep ensemble of small MLPs θ → P(y|θ).

Each member maps a (normalised) θ to the mean and log-variance of a Gaussian over
the (transformed) loss and is fit by maximising the log-likelihood of the
observations. The ensemble's spread (aleatoric + disagreement) is the honest
uncertainty the learner explores with. Everything runs in XLA-compiled calls on
fixed-size buffers, so it is traced once and a fit costs the same at 10 or 10 000
observations.
"""

from __future__ import annotations

import math

import numpy as np

from metalearn_gui.core.tf_runtime import get_tf, pooled_function

LOG_VAR_MIN, LOG_VAR_MAX = -9.0, 3.0
ADAM_BETAS = (0.9, 0.999)
WEIGHT_DECAY = 1e-4


class Surrogate:
    """An ensemble of ``members`` MLPs with two hidden layers of ``width`` units.

    Train on up to ``capacity`` points at a time (a mask marks the real ones).
    Inputs and targets are expected to be normalised by the caller (O(1) scale).
    """

    def __init__(self, dim: int, width: int, rng: np.random.Generator, members: int = 4,
                 capacity: int = 128, learning_rate: float = 0.01) -> None:
        tf = get_tf()
        self.dim, self.width, self.members, self.capacity = dim, width, members, capacity
        self._shapes = [(dim, width), (width,), (width, width), (width,), (width, 2), (2,)]
        self.params = [tf.Variable(tf.zeros((members, *shape), tf.float64)) for shape in self._shapes]
        self._moments = [tf.Variable(tf.zeros_like(p)) for p in self.params for _ in (0, 1)]
        self._adam_step = tf.Variable(tf.constant(0.0, tf.float64))
        self.reinitialise(rng)
        self._learning_rate = learning_rate
        self._x = tf.Variable(tf.zeros((capacity, dim), tf.float64))
        self._y = tf.Variable(tf.zeros((capacity,), tf.float64))
        self._mask = tf.Variable(tf.zeros((capacity,), tf.float64))
        self.epochs = tf.Variable(tf.constant(50, tf.int32))
        # XLA for the training loop (the costly part). Calls that read the weights
        # stay plain graphs: an XLA call reading variables another XLA call wrote
        # was recompiled (seconds) on every call here.
        # One model per (D, width) and process (neural.MODELS). Predictions take any
        # number of rows: traced for the first two, then for rows of any count.
        self._fit = pooled_function(self._fit_graph, jit_compile=True)
        self._predict = pooled_function(self._predict_graph, reduce_retracing=True)
        self._members_out = pooled_function(self._members_graph, reduce_retracing=True)

    def reinitialise(self, rng: np.random.Generator) -> None:
        """Fresh weights drawn from ``rng`` and a fresh optimiser: the model as new, without
        tracing its functions again."""
        for param, shape in zip(self.params, self._shapes, strict=True):
            param.assign(_init(rng, self.members, shape))
        for moment in self._moments:
            moment.assign(np.zeros(moment.shape))
        self._adam_step.assign(0.0)

    # -- model --------------------------------------------------------------------------
    def _members_graph(self, x):
        """Per-member mean and log-variance of y at ``x`` (n, dim): two (members, n) tensors."""
        tf = get_tf()
        w1, b1, w2, b2, w3, b3 = self.params
        h = tf.tanh(tf.einsum("nd,edh->enh", x, w1) + b1[:, None, :])
        h = tf.tanh(tf.einsum("enh,ehk->enk", h, w2) + b2[:, None, :])
        out = tf.einsum("enh,eho->eno", h, w3) + b3[:, None, :]
        # Soft limits keep the variance from collapsing onto single points.
        log_var = LOG_VAR_MAX - tf.nn.softplus(LOG_VAR_MAX - out[..., 1])
        log_var = LOG_VAR_MIN + tf.nn.softplus(log_var - LOG_VAR_MIN)
        return out[..., 0], log_var

    def _predict_graph(self, x):
        return self.mixture(*self._members_graph(x))

    @staticmethod
    def mixture(means, log_vars):
        """The ensemble's mean and spread from its members' means and log-variances."""
        tf = get_tf()
        mean = tf.reduce_mean(means, axis=0)
        variance = tf.reduce_mean(tf.exp(log_vars) + tf.square(means), axis=0) - tf.square(mean)
        return mean, tf.sqrt(tf.maximum(variance, 1e-12))

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and spread (standard deviation) at each row of ``x``."""
        tf = get_tf()
        mean, spread = self._predict(tf.constant(np.asarray(x, np.float64).reshape(-1, self.dim)))
        return mean.numpy(), spread.numpy()

    def negative_log_likelihood(self, x: np.ndarray, y: np.ndarray) -> float:
        """Mean NLL per point of ``y`` under the ensemble's Gaussian mixture."""
        tf = get_tf()
        means, log_vars = self._members_out(tf.constant(np.asarray(x, np.float64)))
        means, log_vars = means.numpy(), log_vars.numpy()
        log_p = -0.5 * (log_vars + (y - means) ** 2 / np.exp(log_vars) + math.log(2 * math.pi))
        mixture = np.logaddexp.reduce(log_p, axis=0) - math.log(self.members)
        return float(-np.mean(mixture))

    # -- fitting ------------------------------------------------------------------------
    def _nll_graph(self):
        tf = get_tf()
        means, log_vars = self._members_graph(self._x)
        per_point = 0.5 * (log_vars + tf.square(self._y - means) * tf.exp(-log_vars))
        count = tf.maximum(tf.reduce_sum(self._mask), 1.0)
        nll = tf.reduce_sum(per_point * self._mask, axis=1) / count  # per member
        decay = WEIGHT_DECAY * tf.add_n([tf.reduce_sum(tf.square(w)) for w in self.params[::2]])
        return tf.reduce_sum(nll) + decay, tf.reduce_mean(nll) + 0.5 * math.log(2 * math.pi)

    def _fit_graph(self):
        tf = get_tf()
        beta1, beta2 = ADAM_BETAS

        def body(i, nll):
            with tf.GradientTape() as tape:
                objective, nll = self._nll_graph()
            grads = tape.gradient(objective, self.params)
            self._adam_step.assign_add(1.0)
            t = self._adam_step
            scale = self._learning_rate * tf.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
            for k, (param, grad) in enumerate(zip(self.params, grads, strict=True)):
                first, second = self._moments[2 * k], self._moments[2 * k + 1]
                first.assign(beta1 * first + (1.0 - beta1) * grad)
                second.assign(beta2 * second + (1.0 - beta2) * tf.square(grad))
                param.assign_sub(scale * first / (tf.sqrt(second) + 1e-8))
            return i + 1, nll

        _, nll = tf.while_loop(lambda i, _: i < self.epochs, body,
                               (tf.constant(0), tf.constant(0.0, tf.float64)))
        return nll

    def fit(self, x: np.ndarray, y: np.ndarray, epochs: int) -> float:
        """Continue training (warm start) on ``x`` (n, dim), ``y`` (n,), n ≤ capacity.

        Returns the last epoch's mean negative log-likelihood per point.
        """
        count = len(y)
        padded_x = np.zeros((self.capacity, self.dim))
        padded_y, mask = np.zeros(self.capacity), np.zeros(self.capacity)
        padded_x[:count], padded_y[:count], mask[:count] = x, y, 1.0
        self._x.assign(padded_x)
        self._y.assign(padded_y)
        self._mask.assign(mask)
        self.epochs.assign(epochs)
        return float(self._fit())


def _init(rng: np.random.Generator, members: int, shape: tuple[int, ...]) -> np.ndarray:
    """Glorot-uniform weights (zero biases), one independent draw per member."""
    if len(shape) == 1:
        return np.zeros((members, *shape))
    limit = math.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, size=(members, *shape))
