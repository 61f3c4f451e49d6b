"""``BatchCMA.tell_batch`` makes the library's own update: the same distribution as ``cmaes``'
``tell`` after every generation, ties and non-finite losses included."""

from __future__ import annotations

import numpy as np
import pytest
from cmaes import CMA

from metalearn_gui.core.learners.batch_cma import BatchCMA


def ill_conditioned(samples: np.ndarray) -> np.ndarray:
    return np.sum(samples ** 2 * np.logspace(0, 4, samples.shape[1]), axis=1)


@pytest.mark.parametrize("population", [6, 64])
def test_every_generation_moves_the_distribution_as_the_library_does(population):
    dim = 6
    library = CMA(mean=np.full(dim, 2.0), sigma=1.5, seed=0, population_size=population)
    batch = BatchCMA(mean=np.full(dim, 2.0), sigma=1.5, seed=0, population_size=population)
    rng = np.random.default_rng(3)
    for generation in range(40):
        axes, scales = library._eigen_decomposition()
        samples = library._mean + library._sigma * rng.standard_normal((population, dim)) @ (axes * scales).T
        losses = ill_conditioned(samples)
        losses[1] = losses[2]  # a tie: both keep the order they came in
        if generation % 5 == 0:
            losses[0] = np.inf  # a strategy whose loss was not finite ranks last
        library.tell(list(zip(samples, losses, strict=True)))
        batch.tell_batch(samples, losses)
        for name in ("_mean", "_sigma", "_C", "_p_sigma", "_pc"):
            np.testing.assert_allclose(getattr(batch, name), getattr(library, name), rtol=1e-10,
                                       err_msg=f"{name} at generation {generation}")
        written = 2 * (library.generation % library._funhist_term) + np.arange(2)  # the rest is np.empty's
        np.testing.assert_array_equal(batch._funhist_values[written], library._funhist_values[written])
        assert batch.generation == library.generation
        assert batch.should_stop() == library.should_stop()
    assert library._sigma < 0.5  # it converged on the way: the comparison covered σ's adaptation


def test_a_generation_of_the_wrong_size_is_refused():
    batch = BatchCMA(mean=np.zeros(3), sigma=1.0, population_size=8)
    with pytest.raises(ValueError, match="8 samples, not 7"):
        batch.tell_batch(np.zeros((7, 3)), np.zeros(7))
