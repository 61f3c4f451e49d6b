"""L on a plane of two coordinates through a strategy: the picture behind the landscape plot.

Pure numpy, so the window's worker (live, through the current θ) and the exporters
(headless, through a finished run's final θ) draw the same surface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from metalearn_gui.core.objectives.base import Objective

#: Grid points per side of the plane.
GRID = 61


@dataclass(frozen=True)
class Landscape:
    """L on the plane of coordinates ``axes`` through ``center``; rows index y, columns x."""

    run_id: int
    axes: tuple[int, int]
    center: np.ndarray
    xs: np.ndarray
    ys: np.ndarray
    true_loss: np.ndarray
    #: The neural model's μ on its own grid (model_xs × model_ys): the trust region
    #: it was fit in, since far outside it the network only extrapolates.
    predicted: np.ndarray | None = None
    model_xs: np.ndarray | None = None
    model_ys: np.ndarray | None = None


def true_landscape(objective: Objective, center: np.ndarray, axes: tuple[int, int] = (0, 1),
                   grid: int = GRID, run_id: int = 0,
                   losses: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None) -> Landscape:
    """L on a ``grid`` × ``grid`` plane over the objective's bounds on ``axes`` through ``center``
    (coordinates 0 and 1 if ``axes`` do not exist in this dimension), computed by ``losses``
    (default: the objective's ``loss_np``)."""
    i, j = axes if max(axes) < objective.dim else (0, 1)
    low, high = objective.bounds
    # Widen the plane if the run has wandered outside the objective's usual range.
    low = min(low, float(center[i]), float(center[j]))
    high = max(high, float(center[i]), float(center[j]))
    xs = ys = np.linspace(low, high, grid)
    # A noisy objective gets one fixed task draw, so the picture does not flicker.
    with np.errstate(all="ignore"):
        true_loss = (losses or objective.loss_np)(plane(center, (i, j), xs, ys), np.random.default_rng(0))
    return Landscape(run_id, (i, j), np.array(center, dtype=float), xs, ys, true_loss.reshape(grid, grid))


def plane(center: np.ndarray, axes: tuple[int, int], xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Strategies on the grid xs × ys in coordinates ``axes``, the others as in ``center``."""
    gx, gy = np.meshgrid(xs, ys)
    thetas = np.repeat(np.asarray(center, dtype=float)[None, :], gx.size, axis=0)
    thetas[:, axes[0]], thetas[:, axes[1]] = gx.ravel(), gy.ravel()
    return thetas
