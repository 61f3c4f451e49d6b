"""The neural learner's search region and space-filling designs (numpy only).

The model is trusted only near the best strategy of the current region; the region's
radius follows the steps that work and shrinks after those that do not. A region that
has collapsed or stalled has found what it can (a local basin): the learner restarts
with a fresh design and region, as TuRBO does (Eriksson et al., 2019).
"""

from __future__ import annotations

import numpy as np

from metalearn_gui.core.objectives import Objective

SHRINK, GROW = 0.7, 2.0
NOISY_MIN_RADIUS = 0.1
#: A region whose radius fell below this fraction of its starting radius has collapsed:
#: the region holding the best loss found so far is refined that far… (a local basin
#: refined further is budget not spent on the restart's step down the funnel. Ackley at
#: 300 evaluations, median of 5 seeds, 5-D/10-D, with the model's funnel restarts: 0.19/2.68
#: at 1e-2, 10-D 3.0 at 5e-3; without the restarts' model 1.65/6.5 at 1e-3, 0.08/3.6 at
#: 1e-2.)
COLLAPSED = 1e-2
#: …one whose best is worse than an earlier region's at this fraction (a hop region needs
#: its refinement to beat the best: ackley 5-D 1.9 rather than 0.47 at 1e-1, measured
#: without the funnel restarts).
LOSING = 1e-2
#: Consecutive steps without improvement (per dimension, at least 10) that count as a stall.
#: 4 rather than 2 gives a region in rosenbrock's curved valley more failed proposals before
#: it is abandoned: 5-D, 300 evaluations, median of 5 seeds 2.28 rather than 3.11; the
#: other own objectives' medians moved by less than their seeds' spread (10-D: unchanged).
STALL_PER_DIM = 4


class TrustRegion:
    """Radius bookkeeping of one region, in θ units; ``initial`` is its starting radius."""

    def __init__(self, initial: float, dim: int, noisy: bool) -> None:
        self.initial, self.radius, self.noisy = initial, initial, noisy
        self.failures = 0
        self.stall_limit = max(10, STALL_PER_DIM * dim)

    def succeeded(self, step: float) -> None:
        """The last evaluation improved on the centre by moving ``step`` from it: the next
        region is sized by the step that worked."""
        self.failures = 0
        self.radius = float(np.clip(2.0 * step, self.radius / GROW, min(self.radius * GROW, self.initial * 4)))

    def failed(self) -> None:
        self.failures += 1
        self.radius *= SHRINK

    def noisy_update(self, improved: bool) -> None:
        """Noise makes single comparisons coin flips: the region adapts slowly and never
        below the scale at which the model still averages the noise (so it never restarts)."""
        self.radius *= 1.1 if improved else 0.97
        self.radius = max(self.radius, NOISY_MIN_RADIUS * self.initial)

    def exhausted(self, losing: bool) -> bool:
        """Collapsed (nothing left to learn at this scale) or stalled (the model's proposals
        keep failing): time to restart elsewhere. ``losing``: an earlier region found a
        better loss than this one has."""
        if self.noisy:
            return False
        smallest = (LOSING if losing else COLLAPSED) * self.initial
        return self.radius < smallest or self.failures >= self.stall_limit


def space_filling_design(objective: Objective, rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` strategies spread over the objective's initial distribution.

    Where that distribution is the default (uniform on the bounds) a Latin hypercube:
    every coordinate's range cut into ``count`` equal slices, one point in each, so
    no two design points share a slice. Otherwise the objective's own draws.
    """
    if type(objective).initial_theta is not Objective.initial_theta:
        return objective.initial_theta(rng, count)
    low, high = objective.bounds
    slices = np.argsort(rng.random((count, objective.dim)), axis=0)
    return low + (high - low) * (slices + rng.random((count, objective.dim))) / count
