"""``genetic``: a vectorised numpy genetic algorithm; one step = one generation.

Operators (the same as DEAP's ``selTournament``, ``cxBlend`` and ``mutGaussian``):
tournament selection, blend crossover (BLX-0.5) of consecutive parent pairs,
per-gene Gaussian mutation, and elitism. No TensorFlow anywhere on this path.
"""

from __future__ import annotations

import numpy as np

from metalearn_gui.core.hyperparams import HyperParam, HyperParamError
from metalearn_gui.core.learners.base import Learner, Rows

BLEND_ALPHA = 0.5


class GeneticLearner(Learner):
    name = "genetic"
    label = "Genetic (search-based)"
    description = "a population of strategies evolves by tournament selection, blend crossover and Gaussian mutation"
    max_block = 1 << 20  # generations are cheap to bound by time, one at a time
    hyperparams = (
        HyperParam(
            "population", "Population size", 100,
            "number of strategies evaluated per generation",
            low=4, high=5000, integer=True, log=True, live=False,
        ),
        HyperParam(
            "tournament", "Tournament size", 3,
            "parents are the best of this many strategies drawn at random (higher = greedier)",
            low=1, high=50, integer=True,
        ),
        HyperParam(
            "crossover", "Crossover rate", 0.9,
            "probability that a parent pair is blended: child = (1−γ)·a + γ·b, γ ~ U(−0.5, 1.5) per gene",
            low=0.0, high=1.0,
        ),
        HyperParam(
            "mutation", "Mutation rate", 0.1,
            "probability that each gene of a child gets Gaussian noise N(0, σ²)",
            low=0.0, high=1.0,
        ),
        HyperParam(
            "sigma", "Mutation σ", 0.1,
            "standard deviation of the Gaussian mutation noise",
            low=1e-6, high=10.0, log=True,
        ),
        HyperParam(
            "elite", "Elite count", 2,
            "the best strategies copied unchanged into the next generation",
            low=0, high=100, integer=True,
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

    def _reset(self, seed):
        # Separate streams for the operators and for a noisy objective's tasks, so
        # either can change without shifting the other.
        operators_seed, noise_seed = np.random.SeedSequence(seed).spawn(2)
        self._rng = np.random.default_rng(operators_seed)
        self._noise = np.random.default_rng(noise_seed)
        self._population = self.objective.initial_theta(self._rng, int(self.hp["population"]))
        self._losses = self._evaluate(self._population)
        self._evaluated = len(self._population)
        row = self._row()
        row.snapshot = self._snapshot()
        return row

    def _evaluate(self, population: np.ndarray) -> np.ndarray:
        losses = self._objective_losses(population, self._noise)
        # A non-finite loss ranks last instead of breaking the selection.
        return np.where(np.isfinite(losses), losses, np.inf)

    def _run(self, count):
        chunk = self._run_each(count, self._next_generation)
        chunk.snapshot = self._snapshot()
        return chunk

    def _next_generation(self) -> Rows:
        rng, hp = self._rng, self.hp
        size = len(self._population)
        elite = int(hp["elite"])
        elites = self._elite_indices(elite)
        children = self._population[self._tournament(size - elite)]
        self._crossover(children, float(hp["crossover"]))
        mutate = rng.random(children.shape) < hp["mutation"]
        children[mutate] += rng.normal(0.0, float(hp["sigma"]), size=int(mutate.sum()))
        elite_losses = self._losses[elites]
        self._population = np.concatenate([self._population[elites], children])
        if self.objective.noisy:  # elites must face the new tasks like everyone else
            self._losses = self._evaluate(self._population)
            self._evaluated += size
        else:
            self._losses = np.concatenate([elite_losses, self._evaluate(children)])
            self._evaluated += size - elite
        return self._row()

    def _elite_indices(self, count: int) -> np.ndarray:
        """Indices of the ``count`` best, best first (ties: lower index first)."""
        if count == 0:
            return np.empty(0, dtype=np.int64)
        candidates = np.argpartition(self._losses, count - 1)[:count]
        order = np.lexsort((candidates, self._losses[candidates]))
        return candidates[order]

    def _tournament(self, count: int) -> np.ndarray:
        """Indices of ``count`` parents, each the best of ``tournament`` random entrants."""
        size = len(self._population)
        entrants = self._rng.integers(0, size, size=(count, int(self.hp["tournament"])))
        winner = np.argmin(self._losses[entrants], axis=1)
        return entrants[np.arange(count), winner]

    def _crossover(self, parents: np.ndarray, rate: float) -> None:
        """Blend consecutive pairs in place, each pair with probability ``rate``."""
        pairs = len(parents) // 2
        first, second = parents[0 : 2 * pairs : 2], parents[1 : 2 * pairs : 2]
        blend = self._rng.random(pairs) < rate
        gamma = (1.0 + 2.0 * BLEND_ALPHA) * self._rng.random(first.shape) - BLEND_ALPHA
        gamma = np.where(blend[:, None], gamma, 0.0)
        a, b = first.copy(), second.copy()
        parents[0 : 2 * pairs : 2] = (1.0 - gamma) * a + gamma * b
        parents[1 : 2 * pairs : 2] = gamma * a + (1.0 - gamma) * b

    def _row(self) -> Rows:
        losses = self._losses
        finite = losses[np.isfinite(losses)]
        best = int(np.argmin(losses))
        stats = (finite.min(), finite.mean(), finite.std()) if finite.size else (np.inf,) * 3
        return Rows(
            loss=np.array([losses[best]]),
            theta=self._population[best][None, :].copy(),
            evaluations=np.array([self._evaluated]),
            extras={
                "population_best": np.array([stats[0]]),
                "population_mean": np.array([stats[1]]),
                "population_std": np.array([stats[2]]),
                # Mean per-coordinate spread of the population: 0 once it has collapsed.
                "diversity": np.array([self._population.std(axis=0).mean()]),
                "invalid": np.array([losses.size - finite.size]),
            },
        )

    def _snapshot(self) -> dict[str, np.ndarray]:
        return {"population": self._population.copy(), "population_loss": self._losses.copy()}

    def _converged(self, rows):
        return bool(rows.extras["diversity"][-1] == 0.0)
