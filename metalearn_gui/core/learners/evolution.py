"""``evolution``: CMA-ES with IPOP restarts; one step = one generation.

The covariance matrix adaptation evolution strategy samples each generation from a Gaussian
N(m, σ²C) and moves its mean m, step size σ and covariance C towards the better samples. When
a run stops making progress (the library's stopping tests: the losses of recent generations
agree to 1e-12, σ has shrunk below its tolerance, C became ill-conditioned …), IPOP restarts
it from a fresh random mean with twice the population, up to ``restarts`` times; the loss
plot marks each restart.

The CMA-ES itself is the ``cmaes`` package's, chosen over pycma (``cma``) by measurement
(``bench/bench_evolution.py``): per evaluation it costs about a third of pycma's time at
default populations in 5-D and 10-D (2.2–5.7× the evaluations/s), and with IPOP restarts the
learner reaches about as many BBOB targets at equal evaluations (10-D, 10^4·D evaluations: ECDF
0.709 against pycma-IPOP's 0.725) at about twice pycma's evaluations/s. The library adapts the
distribution (mean, σ, C) and says when a run has stalled; the learner draws each generation
from it in one batch (the library's ``ask()`` draws one sample per Python call, which made large
IPOP populations slower than pycma: 2,330 against 4,925 evaluations/s over the BBOB 10-D runs) and
tells it the generation as arrays (:mod:`~metalearn_gui.core.learners.batch_cma`).

Bounds: the search runs in unbounded space folded into the box, mirrored at each face (as
pycma's boundary transformation does, without its smoothing): the library is told its own sample,
the objective is asked about the folded one, so every evaluated θ lies inside the bounds and the
distribution's statistics stay consistent. Measured on BBOB 10-D (bench_evolution.py): redrawing
outside samples (the library's rule) let σ run away on the linear slope f5 (55,000 evaluations to
reach 1e-8, or stuck at 3.5, against ~3,500 folded); clipping them reached a third as many targets.

Failed evaluations (a user objective's NaN): a failed strategy ranks last. The library is told a
finite loss for it, worse than the generation's worst success (CMA-ES uses only the ranking, and
its stopping tests compare the generation's best and worst losses, which must be numbers); with
active CMA the worst-ranked steps make the covariance shrink along them, away from the failures.
A generation in which every strategy failed is not told at all (the distribution stays as it was
and the next generation is a fresh sample from it, as rejection sampling of failed points does);
its row repeats the previous one.
"""

from __future__ import annotations

import math

import numpy as np

from metalearn_gui.core.hyperparams import HyperParam, HyperParamError
from metalearn_gui.core.learners.base import Learner, Rows
from metalearn_gui.core.learners.batch_cma import BatchCMA

#: Each IPOP restart multiplies the population by this …
POPULATION_GROWTH = 2
#: … up to this many (a generation's cost and memory stay bounded whatever ``restarts`` is).
MAX_POPULATION = 10_000


def default_population(dim: int) -> int:
    """CMA-ES's default population size, 4 + ⌊3 ln D⌋."""
    return 4 + math.floor(3 * math.log(dim))


class EvolutionLearner(Learner):
    name = "evolution"
    label = "Evolution (CMA-ES)"
    description = ("CMA-ES: a Gaussian search distribution adapts its mean, step size and covariance "
                   "each generation; stalled runs restart with twice the population (IPOP)")
    max_block = 1 << 20  # generations are cheap to bound by time, one at a time
    gil_bound = True  # a generation's update is Python and small arrays
    #: Each generation updates and decomposes a full D × D covariance: measured ~4 s of CPU a
    #: generation at 1,000-D and ~9 s at 1,761-D (a network's weights) on a 2-core machine.
    max_dim = 1000
    max_dim_reason = "its full D × D covariance costs seconds per generation beyond that"
    hyperparams = (
        HyperParam(
            "sigma0", "Initial step size σ₀", 0.2,
            "initial σ of each run as a fraction of the domain's width (high − low)",
            low=1e-4, high=1.0, log=True, live=False,
        ),
        HyperParam(
            "population", "Population size", 0,
            "strategies per generation of the first run; auto (0) = CMA-ES's default 4 + ⌊3 ln D⌋",
            low=0, high=1000, integer=True, live=False, low_means="auto",
        ),
        HyperParam(
            "restarts", "IPOP restarts", 9,
            "most restarts after a run stalls; each starts at a random mean with twice the population "
            f"(at most {MAX_POPULATION:,})",
            low=0, high=20, integer=True, live=False,
        ),
    )

    def check_hyperparameters(self, values):
        if int(values["population"]) == 1:  # CMA-ES recombines the better half: at least two
            raise HyperParamError("population=1 is too small; allowed: 0 (CMA-ES's default) or 2 … 1000")

    def divergence_hint(self) -> str:
        return "Every strategy's loss became non-finite: try a smaller initial step size σ₀."

    # -- runs ------------------------------------------------------------------------
    def _reset(self, seed):
        # Separate streams: run starts, the generations' samples, a noisy objective's tasks.
        self._starts, self._sampler, self._noise = map(np.random.default_rng, np.random.SeedSequence(seed).spawn(3))
        self._restarts = 0
        self._evaluated = 0
        population = int(self.hp["population"]) or default_population(self.objective.dim)
        self._cma = self._new_run(population)
        return self._generation()

    def _new_run(self, population: int) -> BatchCMA:
        low, high = self.objective.bounds
        return BatchCMA(
            mean=self.objective.initial_theta(self._starts),
            sigma=float(self.hp["sigma0"]) * (high - low),
            seed=0,  # the library's own sampler goes unused: see _sample
            population_size=population,
        )

    def _restart_due(self) -> bool:
        return self._restarts < int(self.hp["restarts"]) and self._cma.should_stop()

    def evaluations_next_step(self) -> int:
        if self.seed is None:  # not reset yet: the first generation
            return int(self.hp["population"]) or default_population(self.objective.dim)
        return self._grown_population() if self._restart_due() else self._cma.population_size

    def _grown_population(self) -> int:
        size = self._cma.population_size
        return max(size, min(size * POPULATION_GROWTH, MAX_POPULATION))

    def _run(self, count):
        return self._run_each(count, self._generation)

    def _generation(self) -> Rows:
        """Restart if due, then sample one generation, evaluate it in one batch and tell the library."""
        if self._restart_due():
            self._restarts += 1
            self._cma = self._new_run(self._grown_population())
        cma = self._cma
        samples = self._sample()
        population = self._fold(samples)  # the strategies evaluated: inside the bounds
        losses = self._objective_losses(population, self._noise)
        self._evaluated += len(population)
        finite = losses[np.isfinite(losses)]
        if finite.size:
            cma.tell_batch(samples, _ranked_last(losses, finite))
        # A non-finite loss ranks last (reported as +inf: the row's loss is a success's).
        ranked = np.where(np.isfinite(losses), losses, np.inf)
        best = int(np.argmin(ranked))
        return Rows(
            loss=np.array([ranked[best]]),
            theta=population[best][None, :].copy(),
            evaluations=np.array([self._evaluated]),
            extras={
                "population_best": np.array([ranked[best]]),
                "population_mean": np.array([finite.mean() if finite.size else np.inf]),
                "sigma": np.array([self.sigma()]),
                "population_size": np.array([float(cma.population_size)]),
                "restarts": np.array([float(self._restarts)]),
            },
            snapshot={"population": population, "population_loss": ranked,
                      "mean": self._fold(cma.mean), "covariance": self.covariance()},
        )

    def _sample(self) -> np.ndarray:
        """A generation drawn from N(m, σ²C) in one batch (in the library's unbounded space)."""
        axes, scales = self._cma._eigen_decomposition()  # C = B·diag(D²)·Bᵀ, cached by the library
        transform = (axes * scales).T * self.sigma()  # z·transform ~ N(0, σ²C) for z ~ N(0, I)
        noise = self._sampler.standard_normal((self._cma.population_size, len(axes)))
        return self._cma.mean + noise @ transform

    def _fold(self, points: np.ndarray) -> np.ndarray:
        """``points`` folded into the bounds, mirrored at each face (period twice the width)."""
        low, high = self.objective.bounds
        width = high - low
        offset = np.mod(points - low, 2 * width)
        return self.objective.clip(low + np.where(offset > width, 2 * width - offset, offset))

    # -- the search distribution (the library keeps σ and C as private attributes) --
    def sigma(self) -> float:
        """The step size σ of the current run."""
        return float(self._cma._sigma)

    def covariance(self) -> np.ndarray:
        """The search distribution's covariance σ²C (D × D)."""
        return self._cma._sigma ** 2 * self._cma._C

    # -- the end -------------------------------------------------------------------
    def _limit_reached(self) -> bool:
        """Also finished when every restart is used and the last run has stopped."""
        return super()._limit_reached() or (
            self._restarts >= int(self.hp["restarts"]) and self._cma.should_stop())


def _ranked_last(losses: np.ndarray, finite: np.ndarray) -> np.ndarray:
    """``losses`` with each non-finite one replaced by a finite loss worse than every finite one
    (``finite``, not empty): the worst plus the generation's range (at least 1)."""
    worst = float(finite.max())
    margin = max(worst - float(finite.min()), abs(worst) * 1e-6, 1.0)
    return np.where(np.isfinite(losses), losses, worst + margin)
