"""``genetic``: a vectorised numpy genetic algorithm; one step = one generation.

Operators (as DEAP's ``selTournament``, ``cxBlend`` and ``mutGaussian``): tournament
selection, blend crossover (BLX-0.5) of random parent pairs, Gaussian mutation, and
elitism. What keeps it from wasting evaluations:

- **Self-adaptive mutation strength**, as in evolution strategies: every strategy carries
  its own σ; a child inherits its parents' (geometric mean) and multiplies it by
  exp(τ·N(0, 1)), τ = 1/√D, before mutating with it. Selection keeps the σ that made good
  children, so the step size follows the landscape down to the optimum's precision.
- **Variation shaped by the population**: the Gaussian noise follows a running average of
  the selected parents' spread around the population's mean (principal axes, scaled to a
  unit geometric mean), so it stretches along a valley being followed (a rotated,
  ill-conditioned landscape). Each strategy also carries its crossover kind — blending gene
  by gene (good on separable landscapes such as Rastrigin) or along those principal axes
  (good on rotated ones) — which its children inherit, so selection picks the kind that pays.
- **IPOP restarts**: when the population has stagnated (its best no longer improves, its
  losses have all become equal, or its steps have shrunk to nothing), it starts again from
  a fresh initial design with twice as many strategies; the run's best loss is kept (the
  history's best never worsens). Stagnating with no restart left ends the run (converged).

Children are reflected at the objective's bounds, so every evaluated θ lies inside them.
No TensorFlow anywhere on this path.

Failed evaluations (a user objective's NaN) rank last: a failed strategy loses every tournament
it enters against one that succeeded and is never an elite ahead of one, so the population
moves out of the region where the objective fails. A step's loss is the best of the population
that succeeded (elites included); the ``invalid`` extra counts the population's failed strategies.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from metalearn_gui.core.hyperparams import HyperParam, HyperParamError, Value
from metalearn_gui.core.learners.base import Learner, Rows

BLEND_ALPHA = 0.5
#: τ·√D of the log-normal self-adaptation σ' = σ·exp(τ·N(0, 1)).
SELF_ADAPTATION = 1.0
#: Chance that a child's crossover kind differs from its parents' (both kinds stay in play).
KIND_FLIP = 0.1
#: Weight of each generation's parents in the running average of the variation's shape.
SHAPE_RATE = 0.2
#: Generations between updates of the shape and its decomposition into principal axes
#: (the shape drifts slowly; updating it every generation costs a third of one).
EIGEN_INTERVAL = 2
#: Most parents whose spread updates the shape: a random sample (tournament winners come
#: in random order) estimates a D×D spread as well as a population of thousands does.
SHAPE_SAMPLE = 256
#: Above this D the variation is shaped along the coordinate axes only (a spread per
#: coordinate): a D×D decomposition grows as D³ (seconds a generation at D = 1,761).
ROTATION_MAX_DIM = 200
#: Most ratio between the widest and narrowest spread that shapes the variation.
MAX_CONDITION = 1e7
#: Up to this many elites are found by successive minima instead of a sort.
FEW_ELITES = 8
#: Below this chance, the components kept (mutated, flipped) are found from the gaps between them.
SPARSE_RATE = 0.2
#: Each restart multiplies the population by this (IPOP), up to ``MAX_POPULATION``.
POPULATION_GROWTH = 2
MAX_POPULATION = 1 << 16
#: Losses closer together than this (absolute) are indistinguishable: a population whose
#: losses all lie within it has collapsed.
LOSS_TOLERANCE = 1e-11
#: A population whose σ (geometric mean) is below this fraction of the domain's width has collapsed.
STEP_TOLERANCE = 1e-10
#: Generations without improvement of the population's best that count as a stall:
#: this base plus a share that grows with D per strategy (fewer strategies need longer).
STALL_GENERATIONS = 30
STALL_PER_DIM = 300.0


class GeneticLearner(Learner):
    name = "genetic"
    label = "Genetic (search-based)"
    description = ("a population of strategies evolves by tournament selection, blend crossover and "
                   "self-adaptive Gaussian mutation, restarting with a doubled population when it stagnates")
    max_block = 1 << 20  # generations are cheap to bound by time, one at a time
    # Its numpy operations on a population hold the GIL between them: stepping aside while the
    # window draws took the stall p99 (rastrigin 10-D, population 1,000, quiet machine, 4 runs
    # each) from 15–26 to 14–21 ms at the same evaluations/s.
    gil_bound = True
    hyperparams = (
        HyperParam(
            "population", "Population size", 100,
            "strategies per generation at the start; each restart doubles it (IPOP)",
            low=4, high=5000, integer=True, log=True, live=False,
        ),
        HyperParam(
            "tournament", "Tournament size", 4,
            "parents are the best of this many strategies drawn at random (higher = greedier)",
            low=1, high=50, integer=True,
        ),
        HyperParam(
            "crossover", "Crossover rate", 0.9,
            "probability that a parent pair is blended: child = (1−γ)·a + γ·b, γ ~ U(−0.5, 1.5) per gene "
            "or per principal axis (each strategy's inherited kind)",
            low=0.0, high=1.0,
        ),
        HyperParam(
            "mutation", "Mutation rate", 1.0,
            "probability that each component of a child's Gaussian noise σ·N(0, 1) is kept (σ its own step; "
            "components along the population's principal axes)",
            low=0.0, high=1.0,
        ),
        HyperParam(
            "sigma", "Mutation σ", 0.2,
            "initial mutation step as a fraction of the domain's width; each strategy then adapts its own "
            "(σ' = σ·e^{τ·N(0,1)}); a live change resets every strategy's σ to it",
            low=1e-6, high=10.0, log=True,
        ),
        HyperParam(
            "elite", "Elite count", 2,
            "the best strategies copied unchanged into the next generation",
            low=0, high=100, integer=True,
        ),
        HyperParam(
            "restarts", "Restarts", 9,
            "most restarts, each with a doubled population (up to 65,536), after the population stagnates; "
            "stagnating with none left ends the run (0 = never restart)",
            low=0, high=20, integer=True,
        ),
    )

    def check_hyperparameters(self, values):
        population = int(values["population"])
        if values["tournament"] > population:
            raise HyperParamError(
                f"tournament={values['tournament']} exceeds population={population}; "
                f"allowed: 1 … {population}"
            )
        if values["elite"] >= population:
            raise HyperParamError(
                f"elite={values['elite']} must be below population={population}; "
                f"allowed: 0 … {population - 1}"
            )

    def divergence_hint(self) -> str:
        return "Every strategy's loss became non-finite: try a smaller mutation σ."

    def evaluations_next_step(self) -> int:
        if self._restart_due:
            return self._restart_size()
        if self.objective.noisy:  # the elites face the new tasks too
            return len(self._population)
        return len(self._population) - int(self.hp["elite"])

    def _apply_live(self, name: str, value: Value) -> None:
        if name == "sigma":
            self._sigma[:] = self._initial_sigma()

    def _initial_sigma(self) -> float:
        low, high = self.objective.bounds
        return float(self.hp["sigma"]) * (high - low)

    # -- generations ---------------------------------------------------------------------
    def _reset(self, seed):
        # Separate streams for the operators and for a noisy objective's tasks, so
        # either can change without shifting the other.
        operators_seed, noise_seed = np.random.SeedSequence(seed).spawn(2)
        # SFC64: the fastest of numpy's generators, and a generation draws some 20,000 numbers.
        self._rng = np.random.Generator(np.random.SFC64(operators_seed))
        self._noise = np.random.default_rng(noise_seed)
        self._restarts = 0
        self._evaluated = 0
        self._start_population(int(self.hp["population"]))
        row = self._row()
        row.snapshot = self._snapshot()
        return row

    def _start_population(self, size: int) -> None:
        """A fresh initial design of ``size`` strategies, each with the initial σ, either
        crossover kind, and an unshaped variation."""
        self._population = self.objective.initial_theta(self._rng, size)
        self._sigma = np.full(size, self._initial_sigma())
        self._principal = self._rng.random(size) < 0.5
        self._losses = self._evaluate(self._population)
        self._evaluated += size
        self._restart_best = float(self._losses.min())
        self._stalled = 0
        self._restart_due = self._exhausted = False
        self._note_population()
        dim = self.objective.dim
        self._shape = np.eye(dim) if dim <= ROTATION_MAX_DIM else np.ones(dim)
        self._axes = _principal_axes(self._shape)
        self._shape_updates = 0

    def _evaluate(self, population: np.ndarray) -> np.ndarray:
        losses = self._objective_losses(population, self._noise)
        # A non-finite loss ranks last instead of breaking the selection.
        return np.where(np.isfinite(losses), losses, np.inf)

    def _run(self, count):
        chunk = self._run_each(count, self._next_generation)
        chunk.snapshot = self._snapshot()
        return chunk

    def _next_generation(self) -> Rows:
        if self._restart_due:
            self._restarts += 1
            self._start_population(self._restart_size())
            return self._row()
        hp = self.hp
        size = len(self._population)
        elite = int(hp["elite"])
        elites = self._elite_indices(elite)
        parents = self._tournament(size - elite)
        # The next generation is written in place: the elites, then the children. (``take``
        # gathers rows several times faster than indexing with an array.)
        population, sigma, principal = (np.empty_like(self._population), np.empty_like(self._sigma),
                                        np.empty_like(self._principal))
        self._population.take(elites, axis=0, out=population[:elite])
        self._sigma.take(elites, out=sigma[:elite])
        self._principal.take(elites, out=principal[:elite])
        children, child_sigma, child_principal = population[elite:], sigma[elite:], principal[elite:]
        axes, spread = self._mutation_shape(parents)
        self._crossover(parents, children, child_sigma, child_principal, axes, float(hp["crossover"]))
        self._mutate(children, child_sigma, axes, spread, float(hp["mutation"]))
        elite_losses = self._losses.take(elites)
        self._population, self._sigma, self._principal = population, sigma, principal
        child_principal[_kept_positions(self._rng, len(child_principal), KIND_FLIP)] ^= True  # both kinds stay in play
        if self.objective.noisy:  # elites must face the new tasks like everyone else
            self._losses = self._evaluate(self._population)
            self._evaluated += size
        else:
            self._losses = np.concatenate([elite_losses, self._evaluate(children)])
            self._evaluated += size - elite
        self._note_population()
        stagnated = self._stagnated()
        self._restart_due = stagnated and self._restarts < int(self.hp["restarts"])
        self._exhausted = stagnated and not self._restart_due
        return self._row()

    def _note_population(self) -> None:
        """What several parts of a generation use of the new population: its mean, typical σ,
        best strategy, and finite losses (``_evaluate`` turned the others into +inf)."""
        self._population_mean = _mean_row(self._population)
        self._sigma_mean = _geometric_mean(self._sigma)
        losses = self._losses
        self._best = int(losses.argmin())
        worst = float(losses.max())
        if worst < np.inf:
            self._finite_losses = losses
        else:
            self._finite_losses = losses[np.isfinite(losses)]
            worst = float(self._finite_losses.max()) if self._finite_losses.size else np.inf
        self._loss_width = worst - float(losses[self._best])  # of the finite ones

    def _restart_size(self) -> int:
        return min(POPULATION_GROWTH * len(self._population), max(MAX_POPULATION, len(self._population)))

    def _stagnated(self) -> bool:
        """Whether the population has stagnated: its best has not improved for a while,
        or its losses have all become equal."""
        best = float(self._losses[self._best])
        if best < self._restart_best - LOSS_TOLERANCE:
            self._restart_best, self._stalled = best, 0
        else:
            self._stalled += 1
        patience = STALL_GENERATIONS + math.ceil(STALL_PER_DIM * self.objective.dim / len(self._population))
        finite = self._finite_losses
        flat = finite.size > 1 and self._loss_width <= LOSS_TOLERANCE
        low, high = self.objective.bounds
        tiny_steps = self._sigma_mean < STEP_TOLERANCE * (high - low)
        return self._stalled >= patience or flat or tiny_steps

    def _mutation_shape(self, parents: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """Principal axes and relative spreads for this generation's variation: a running
        average of the spread of the ``parents`` (indices) around the population's mean (it
        includes the direction selection moved them in, so it stretches along a valley being
        followed)."""
        self._shape_updates += 1
        if self._shape_updates % EIGEN_INTERVAL == 0:
            steps = self._population.take(parents[:SHAPE_SAMPLE], axis=0)
            steps -= self._population_mean
            if self._shape.ndim == 2:
                spread = steps.T @ steps / len(steps)
                spread /= max(float(np.trace(spread)), 1e-300) / len(spread)
            else:  # one spread per coordinate (high D)
                spread = _mean_row(steps * steps)
                spread /= max(float(spread.mean()), 1e-300)
            rate = 1.0 - (1.0 - SHAPE_RATE) ** EIGEN_INTERVAL  # the weight of the generations skipped
            self._shape = (1.0 - rate) * self._shape + rate * spread
            self._axes = _principal_axes(self._shape)
        return self._axes

    def _elite_indices(self, count: int) -> np.ndarray:
        """Indices of the ``count`` best, best first (ties: lower index first)."""
        if count <= FEW_ELITES:  # a few successive minima cost less than a sort
            rest = self._losses.copy()
            picked = []
            for _ in range(count):
                best = int(rest.argmin())  # (the lowest index among equals)
                if rest[best] == np.inf:
                    break  # only failed strategies are left: the sort below orders them
                picked.append(best)
                rest[best] = np.inf
            else:
                return np.array(picked, dtype=np.intp)
        return np.argsort(self._losses, kind="stable")[:count]

    def _tournament(self, count: int) -> np.ndarray:
        """Indices of ``count`` parents, each the best of ``tournament`` random entrants."""
        size, entrants_each = len(self._population), int(self.hp["tournament"])
        entrants = self._rng.integers(0, size, size=(count, entrants_each))
        winner = self._losses.take(entrants).argmin(axis=1)
        return entrants.take(_row_starts(count, entrants_each) + winner)

    def _crossover(self, parents: np.ndarray, children: np.ndarray, sigma: np.ndarray, principal: np.ndarray,
                   axes: np.ndarray | None, rate: float) -> None:
        """Write into ``children``, their ``sigma`` and their ``principal`` kind the ``parents``
        (indices into the population, in random order) paired first half with second half,
        each pair blended with probability ``rate``: gene by gene, or along the population's
        principal ``axes`` (so a rotated landscape is blended as if it were not) if the pair's
        first parent carries that kind. Both children of a pair inherit its first parent's kind
        and, if blended, the geometric mean of the pair's σ."""
        pairs = len(parents) // 2
        # The parents come in random order, so blending the first of the pairs -- as many as
        # pairs blended with probability ``rate`` would be -- is the same as choosing each pair
        # by chance; and putting those along the axes first makes each kind one block of rows.
        blended = int(self._rng.binomial(pairs, rate))
        firsts = parents[:blended]
        if axes is not None:
            firsts = firsts.take(np.argsort(~self._principal.take(firsts), kind="stable"))
        # Pair i's children take place i of the first and of the second half (an odd one out last).
        chosen = np.concatenate([firsts, parents[blended:]])
        self._population.take(chosen, axis=0, out=children)
        self._sigma.take(chosen, out=sigma)
        self._principal.take(chosen, out=principal)
        principal[pairs:2 * pairs] = principal[:pairs]
        a, b = children[:blended], children[pairs:pairs + blended]
        # γ in single precision: any γ is as valid as another, and drawing it costs less.
        gamma = self._rng.random((blended, children.shape[1]), dtype=np.float32)
        gamma *= 1.0 + 2.0 * BLEND_ALPHA
        gamma -= BLEND_ALPHA
        # (1−γ)·a + γ·b and γ·a + (1−γ)·b per coordinate: a + γ·(b − a), b − γ·(b − a).
        difference = b - a
        shift = np.empty_like(difference)
        rotated = int(np.count_nonzero(principal[:blended])) if axes is not None else 0
        np.multiply(gamma[rotated:], difference[rotated:], out=shift[rotated:])
        if axes is not None and rotated:
            np.matmul(gamma[:rotated] * (difference[:rotated] @ axes), axes.T, out=shift[:rotated])
        a += shift
        b -= shift
        sigma[:blended] *= sigma[pairs:pairs + blended]
        np.sqrt(sigma[:blended], out=sigma[:blended])
        sigma[pairs:pairs + blended] = sigma[:blended]

    def _mutate(self, children: np.ndarray, sigma: np.ndarray, axes: np.ndarray | None, spread: np.ndarray,
                rate: float) -> None:
        """Self-adapt each child's σ, then add σ·B·S·z, z ~ N(0, I) with each component
        kept with probability ``rate`` (B: the population's principal ``axes`` as columns,
        None for the coordinate axes; S: the relative ``spread`` along each, of unit
        geometric mean); reflect the result into the objective's bounds."""
        count, dim = children.shape
        factors = self._rng.standard_normal((count,))
        factors *= SELF_ADAPTATION
        factors /= math.sqrt(dim)
        sigma *= np.exp(factors, out=factors)
        if rate >= 1.0:
            noise = self._rng.standard_normal(children.shape)
            noise *= spread
            noise *= sigma[:, None]
        else:  # normals only for the kept components: a low rate is cheap
            kept = _kept_positions(self._rng, children.size, rate)
            normals = self._rng.standard_normal(len(kept))
            child, component = np.divmod(kept, dim)
            normals *= spread.take(component)
            normals *= sigma.take(child)
            noise = np.zeros(children.shape)
            noise.put(kept, normals)
        children += noise if axes is None else noise @ axes.T
        low, high = self.objective.bounds
        width = high - low
        np.minimum(sigma, width, out=sigma)  # a step wider than the domain only folds back
        if children.min() < low or children.max() > high:
            outside = (children < low) | (children > high)
            # Reflect at the bounds (a mirror, folded as often as needed): keeps the step's size.
            folded = np.mod(children[outside] - low, 2.0 * width)
            children[outside] = low + np.where(folded > width, 2.0 * width - folded, folded)

    def _row(self) -> Rows:
        losses, finite, best = self._losses, self._finite_losses, self._best
        stats = (losses[best], *_mean_std(finite)) if finite.size else (np.inf,) * 3
        return Rows(
            loss=np.array([losses[best]]),
            theta=self._population[best:best + 1].copy(),
            evaluations=np.array([self._evaluated]),
            extras={
                "population_best": np.array([stats[0]]),
                "population_mean": np.array([stats[1]]),
                "population_std": np.array([stats[2]]),
                # Mean per-coordinate spread of the population: 0 once it has collapsed.
                "diversity": np.array([_mean_spread(self._population, self._population_mean)]),
                "sigma": np.array([self._sigma_mean]),
                "invalid": np.array([losses.size - finite.size]),
                "restarts": np.array([float(self._restarts)]),
            },
        )

    def _snapshot(self) -> dict[str, np.ndarray]:
        return {"population": self._population.copy(), "population_loss": self._losses.copy()}

    def _converged(self, rows):
        # Stagnated with no restart left (with one left, the next step restarts instead).
        return self._exhausted


def _principal_axes(covariance: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Principal axes of ``covariance`` (orthonormal columns; None for the coordinate
    axes when ``covariance`` is given as its diagonal) and the spread along each, scaled
    to a geometric mean of 1 (at most ``MAX_CONDITION`` apart)."""
    if covariance.ndim == 1:
        variance, axes = covariance, None
    else:
        variance, axes = np.linalg.eigh(covariance)
    top = max(float(variance.max()), 1e-300)
    spread = np.sqrt(np.maximum(variance, top / MAX_CONDITION**2))
    return axes, spread / np.exp(np.log(spread).sum() / len(spread))  # (``mean`` costs more)


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    """``values.mean(), values.std()`` without their overhead (they run every generation)."""
    mean = float(values.sum()) / len(values)
    centred = values - mean
    return mean, math.sqrt(float(centred @ centred) / len(values))


# The helpers below avoid numpy's reductions over the short axis of a tall array (slow);
# they run every generation.
def _mean_row(points: np.ndarray) -> np.ndarray:
    """``points.mean(axis=0)``, as one matrix-vector product."""
    return _mean_weights(len(points)) @ points


@lru_cache(maxsize=4)
def _mean_weights(count: int) -> np.ndarray:
    weights = np.full(count, 1.0 / count)
    weights.flags.writeable = False
    return weights


def _mean_spread(points: np.ndarray, mean: np.ndarray) -> float:
    """Mean over coordinates of the points' standard deviation (``points.std(axis=0).mean()``)."""
    centred = points - mean
    centred *= centred
    return float(np.sqrt(_mean_row(centred)).sum()) / len(mean)


def _geometric_mean(values: np.ndarray) -> float:
    """The geometric mean of positive ``values``: the centre of self-adapted, log-normal σ."""
    return math.exp(float(np.log(values).sum()) / len(values))


def _kept_positions(rng: np.random.Generator, count: int, rate: float) -> np.ndarray:
    """Sorted positions of the components kept among ``count``, each with probability ``rate``."""
    if rate <= 0.0:
        return np.empty(0, dtype=np.intp)
    if rate >= SPARSE_RATE:
        return np.flatnonzero(rng.random(count, dtype=np.float32) < rate)
    # The gaps between kept components are geometric: about count·rate draws instead of count.
    expected = count * rate
    draws = int(expected + 6.0 * math.sqrt(expected) + 16)
    positions = np.cumsum(rng.geometric(rate, draws)) - 1
    while positions[-1] < count:  # (rarely) the gaps drawn end before the last component
        positions = np.concatenate([positions, positions[-1] + np.cumsum(rng.geometric(rate, draws))])
    return positions[:np.searchsorted(positions, count)]


@lru_cache(maxsize=4)
def _row_starts(rows: int, width: int) -> np.ndarray:
    """Flat index of each row's first element in a C-ordered (rows, width) array."""
    starts = np.arange(0, rows * width, width)
    starts.flags.writeable = False
    return starts
