"""``cmaes``' CMA-ES told a whole generation as arrays.

The library's ``tell`` takes a list of (sample, loss) pairs and works through it in Python:
an overflow check per sample, a sort with a key function, a list rebuilt into an array. At IPOP's
large populations that is most of a generation's time (1,280 samples in 10-D: 9.8 ms against
0.5 ms for the same update on arrays), all of it interpreted code holding the GIL that the
window's thread needs to draw. :meth:`BatchCMA.tell_batch` makes the same update (the library's
equations, step for step; a test checks it against ``tell``) with numpy operations over the whole
generation.
"""

from __future__ import annotations

import math

import numpy as np
from cmaes import CMA
from cmaes._cma import _EPS, _MEAN_MAX, _SIGMA_MAX


class BatchCMA(CMA):
    """:class:`cmaes.CMA` with :meth:`tell_batch` (learning-rate adaptation not supported)."""

    # The library's state that the update rewrites (its own code leaves their types to inference).
    _sigma: float
    _C: np.ndarray
    _p_sigma: np.ndarray
    _pc: np.ndarray

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self._lr_adapt:
            raise ValueError("BatchCMA does not support lr_adapt")

    def tell_batch(self, samples: np.ndarray, losses: np.ndarray) -> None:
        """Update the distribution from one generation: ``samples`` (population × D) as the
        library drew them, ``losses`` (population,) finite or +inf, lower is better."""
        if len(samples) != self._popsize:
            raise ValueError(f"a generation has {self._popsize} samples, not {len(samples)}")
        if not np.all(np.abs(samples) < _MEAN_MAX):
            raise ValueError(f"every sample's coordinates must be below {_MEAN_MAX} in magnitude")
        self._g += 1
        order = np.argsort(losses, kind="stable")  # the library's list.sort is stable too
        funhist = 2 * (self.generation % self._funhist_term)
        self._funhist_values[funhist] = losses[order[0]]
        self._funhist_values[funhist + 1] = losses[order[-1]]

        axes, scales = self._eigen_decomposition()
        self._B, self._D = None, None
        steps = (samples[order] - self._mean) / self._sigma  # y_k ~ N(0, C), best first

        # Selection and recombination
        weighted_step = self._weights[: self._mu] @ steps[: self._mu]
        self._mean += self._cm * self._sigma * weighted_step

        # Step-size control
        inverse_sqrt_c = (axes / scales) @ axes.T  # C^(-1/2) = B D^(-1) Bᵀ
        self._p_sigma = (1 - self._c_sigma) * self._p_sigma + math.sqrt(
            self._c_sigma * (2 - self._c_sigma) * self._mu_eff) * inverse_sqrt_c.dot(weighted_step)
        norm_p_sigma = np.linalg.norm(self._p_sigma)
        self._sigma *= np.exp((self._c_sigma / self._d_sigma) * (norm_p_sigma / self._chi_n - 1))
        self._sigma = min(self._sigma, _SIGMA_MAX)

        # Covariance matrix adaptation
        h_sigma_left = norm_p_sigma / math.sqrt(1 - (1 - self._c_sigma) ** (2 * (self._g + 1)))
        h_sigma_right = (1.4 + 2 / (self._n_dim + 1)) * self._chi_n
        h_sigma = 1.0 if h_sigma_left < h_sigma_right else 0.0
        self._pc = (1 - self._cc) * self._pc + h_sigma * math.sqrt(
            self._cc * (2 - self._cc) * self._mu_eff) * weighted_step
        # Negative (active) weights are rescaled by the step's Mahalanobis length.
        lengths = np.linalg.norm(steps @ inverse_sqrt_c.T, axis=1) ** 2
        w_io = self._weights * np.where(self._weights >= 0, 1, self._n_dim / (lengths + _EPS))
        delta_h_sigma = (1 - h_sigma) * self._cc * (2 - self._cc)
        rank_one = np.outer(self._pc, self._pc)
        rank_mu = (steps.T * w_io) @ steps  # Σ w_k y_k y_kᵀ
        self._C = ((1 + self._c1 * delta_h_sigma - self._c1 - self._cmu * np.sum(self._weights)) * self._C
                   + self._c1 * rank_one + self._cmu * rank_mu)
