"""The reference loss ``seed`` and the classic test landscapes."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from metalearn_gui.core.objectives.base import Objective
from metalearn_gui.core.tf_runtime import get_tf


def _row_sums(terms: np.ndarray) -> np.ndarray:
    """Σ over the last axis, as a product with ones: for the short last axis of a population
    (a strategy's D coordinates) several times faster than ``np.sum(axis=-1)``."""
    return terms @ np.ones(terms.shape[-1])


#: cos(t) = Σ (−1)^k t^{2k} / (2k)!, k = 0 … 14, in powers of (2πr)²: beyond k = 14 the terms
#: at |t| ≤ π are below 1e-17.
_COS_SERIES = tuple((-1) ** k * (2.0 * math.pi) ** (2 * k) / math.factorial(2 * k) for k in range(15))


def _cos_2pi(thetas: np.ndarray) -> np.ndarray:
    """cos(2πθ): the whole periods taken off exactly (r = θ − round(θ), |r| ≤ ½), then cos(2πr)
    from its series in whole-array steps. numpy's float64 cos calls libm one value at a time;
    on a population this is 1.5–3× faster, and within 4e-15 of it on [−5, 5] (further out,
    numpy's is the less exact: it rounds 2πθ first)."""
    r = np.array(thetas, dtype=np.float64)
    r -= np.rint(r)
    squared = np.square(r, out=r)
    result = np.full_like(squared, _COS_SERIES[-1])
    for coefficient in _COS_SERIES[-2::-1]:  # Horner's rule, in (2πr)² through the coefficients
        result *= squared
        result += coefficient
    return result


class Seed(Objective):
    """L(θ) = −log(e^{−‖θ‖²} / (1 + e^{−‖θ‖²})) = softplus(‖θ‖²).

    Written as softplus so that large ‖θ‖ never overflows; minimum log 2 at θ = 0.
    """

    name = "seed"
    description = "the reference text's loss softplus(‖θ‖²), minimum log 2 at 0"
    min_dim = 1
    bounds = (-3.0, 3.0)
    optimum_value = math.log(2.0)
    optimum_coordinate = 0.0

    def initial_theta(self, rng, count=None):
        # θ0 ~ N(0, I), as the reference text draws it, kept inside the domain.
        shape = (self.dim,) if count is None else (count, self.dim)
        return self.clip(rng.standard_normal(shape))

    def loss_np(self, thetas, rng=None):
        return np.logaddexp(0.0, _row_sums(np.square(thetas)))

    def loss_tf(self, theta, seed=None):
        tf = get_tf()
        return tf.math.softplus(tf.reduce_sum(tf.square(theta)))


class Sphere(Objective):
    name = "sphere"
    description = "Σ θ_i², minimum 0 at 0"
    bounds = (-5.12, 5.12)
    optimum_value = 0.0
    optimum_coordinate = 0.0

    def loss_np(self, thetas, rng=None):
        return _row_sums(np.square(thetas))

    def loss_tf(self, theta, seed=None):
        tf = get_tf()
        return tf.reduce_sum(tf.square(theta))


class Rosenbrock(Objective):
    name = "rosenbrock"
    description = "Σ 100(θ_{i+1} − θ_i²)² + (1 − θ_i)², a curved valley, minimum 0 at (1, …, 1)"
    bounds = (-2.048, 2.048)
    optimum_value = 0.0
    optimum_coordinate = 1.0

    def loss_np(self, thetas, rng=None):
        head, tail = thetas[..., :-1], thetas[..., 1:]
        return _row_sums(100.0 * np.square(tail - head**2) + np.square(1.0 - head))

    def loss_tf(self, theta, seed=None):
        tf = get_tf()
        head, tail = theta[:-1], theta[1:]
        return tf.reduce_sum(100.0 * tf.square(tail - head**2) + tf.square(1.0 - head))


class Rastrigin(Objective):
    name = "rastrigin"
    description = "10·D + Σ θ_i² − 10 cos(2πθ_i), many local minima, minimum 0 at 0"
    # Its curvature reaches ~400, so α = 0.01 would bounce between basins.
    suggested: ClassVar = {"gradient": {"alpha": 0.001}}
    bounds = (-5.12, 5.12)
    optimum_value = 0.0
    optimum_coordinate = 0.0

    def loss_np(self, thetas, rng=None):
        # 10·D + Σ θ² − 10·cos(2πθ), with two temporaries instead of five (learners call it
        # with whole populations).
        waves = _cos_2pi(thetas)
        waves *= 10.0
        terms = np.square(thetas)
        terms -= waves
        return 10.0 * self.dim + _row_sums(terms)

    def loss_tf(self, theta, seed=None):
        tf = get_tf()
        return 10.0 * self.dim + tf.reduce_sum(
            tf.square(theta) - 10.0 * tf.cos(2.0 * math.pi * theta)
        )


class Ackley(Objective):
    name = "ackley"
    description = "−20 e^{−0.2 √(mean θ²)} − e^{mean cos 2πθ} + 20 + e, minimum 0 at 0"
    bounds = (-5.0, 5.0)
    optimum_value = 0.0
    optimum_coordinate = 0.0

    def loss_np(self, thetas, rng=None):
        rms = np.sqrt(_row_sums(np.square(thetas)) / self.dim)
        mean_cos = _row_sums(_cos_2pi(thetas)) / self.dim
        return -20.0 * np.exp(-0.2 * rms) - np.exp(mean_cos) + 20.0 + math.e

    def loss_tf(self, theta, seed=None):
        tf = get_tf()
        rms = tf.sqrt(tf.reduce_mean(tf.square(theta)))
        mean_cos = tf.reduce_mean(tf.cos(2.0 * math.pi * theta))
        return -20.0 * tf.exp(-0.2 * rms) - tf.exp(mean_cos) + 20.0 + math.e
