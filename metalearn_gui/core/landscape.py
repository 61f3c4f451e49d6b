"""L on a plane of two coordinates through a strategy: the picture behind the landscape plot.
A 1-D strategy has no plane: its landscape is the curve L(θ₀).

Pure numpy, so a live run session (through the current θ, :func:`compute_landscape`)
and the exporters (headless, through a finished run's final θ) draw the same surface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from metalearn_gui.core.objectives.base import Objective

if TYPE_CHECKING:
    from metalearn_gui.core.learners import Learner

#: Grid points per side of the plane.
GRID = 61
#: Points on a 1-D landscape's curve: cheap, and enough for rastrigin's ripples to look round.
CURVE_POINTS = 401


@dataclass(frozen=True)
class Landscape:
    """L on the plane of coordinates ``axes`` through ``center`` (rows index y, columns x);
    for a 1-D θ, L on the line of θ₀ (``axes == (0,)``, ``ys`` empty, one loss per x)."""

    #: Which of its session's runs it belongs to (:attr:`~metalearn_gui.core.session.RunState.serial`); 0 for none.
    serial: int
    axes: tuple[int, ...]
    center: np.ndarray
    xs: np.ndarray
    ys: np.ndarray
    true_loss: np.ndarray
    #: The neural model's μ on its own grid (model_xs × model_ys): the trust region
    #: it was fit in, since far outside it the network only extrapolates.
    predicted: np.ndarray | None = None
    model_xs: np.ndarray | None = None
    model_ys: np.ndarray | None = None

    @property
    def is_curve(self) -> bool:
        return len(self.axes) == 1

    @property
    def model(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The model's picture ``(predicted, model_xs, model_ys)``, if there is one."""
        if self.predicted is None or self.model_xs is None or self.model_ys is None:
            return None
        return self.predicted, self.model_xs, self.model_ys


def true_landscape(objective: Objective, center: np.ndarray, axes: tuple[int, ...] = (0, 1),
                   grid: int = GRID, serial: int = 0,
                   losses: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None) -> Landscape:
    """L on a ``grid`` × ``grid`` plane over the objective's bounds on ``axes`` through ``center``
    (coordinates 0 and 1 if ``axes`` do not exist in this dimension); in 1-D, on the line of θ₀.
    Computed by ``losses`` (default: the objective's ``loss_np``)."""
    if objective.dim == 1:
        axes, points = (0,), CURVE_POINTS
    else:
        axes, points = (tuple(axes) if max(axes) < objective.dim and len(set(axes)) == 2 else (0, 1)), grid
    low, high = objective.bounds
    # Widen the range if the run has wandered outside the objective's usual one.
    low = min(low, *(float(center[axis]) for axis in axes))
    high = max(high, *(float(center[axis]) for axis in axes))
    xs = np.linspace(low, high, points)
    ys = xs if len(axes) == 2 else np.empty(0)
    # A noisy objective gets one fixed task draw, so the picture does not flicker.
    with np.errstate(all="ignore"):
        true_loss = (losses or objective.loss_np)(grid_points(center, axes, xs, ys), np.random.default_rng(0))
    return Landscape(serial, axes, np.array(center, dtype=float), xs, ys, true_loss.reshape(grid_shape(xs, ys)))


def grid_points(center: np.ndarray, axes: tuple[int, ...], xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Strategies on the grid xs × ys in coordinates ``axes`` (on xs alone for one axis),
    the other coordinates as in ``center``; row-major, as :func:`grid_shape` reshapes them."""
    coordinates = [xs] if len(axes) == 1 else [g.ravel() for g in np.meshgrid(xs, ys)]
    thetas = np.repeat(np.asarray(center, dtype=float)[None, :], len(coordinates[0]), axis=0)
    for axis, values in zip(axes, coordinates, strict=True):
        thetas[:, axis] = values
    return thetas


def grid_shape(xs: np.ndarray, ys: np.ndarray) -> tuple[int, ...]:
    """The shape of losses on :func:`grid_points`: (y, x) on a plane, (x,) on a line."""
    return (len(ys), len(xs)) if len(ys) else (len(xs),)


def compute_landscape(learner: Learner, axes: tuple[int, ...], population: np.ndarray | None = None,
                      serial: int = 0, grid: int | None = None) -> Landscape:
    """L (and the neural model's μ) on a grid over the objective's bounds on ``axes``,
    through the population's mean (genetic) or the learner's current θ; the objective
    is called through the learner's evaluator, so a failure names the step and θ."""
    if population is not None:
        center = np.mean(population, axis=0)
    elif learner.theta is not None:
        center = learner.theta
    else:
        raise ValueError("the learner has no θ to centre the landscape on: reset it first")

    def losses(thetas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # The picture's points are not the run's evaluations: their failures are not its.
        return learner.evaluator.losses(thetas, rng, learner.step, record_failures=False)

    grid = learner.objective.landscape_grid if grid is None else grid
    landscape = true_landscape(learner.objective, center, axes, grid, serial, losses)
    region = learner.trust_region()
    if region is None:
        return landscape
    model_center, radius = region
    offsets = np.linspace(-2 * radius, 2 * radius, len(landscape.xs))
    model_xs = offsets + model_center[landscape.axes[0]]
    model_ys = np.empty(0) if landscape.is_curve else offsets + model_center[landscape.axes[1]]
    prediction = learner.predict(grid_points(model_center, landscape.axes, model_xs, model_ys))
    if prediction is None:  # a trust region without a model to predict on it: draw L alone
        return landscape
    mean, _ = prediction
    return replace(landscape, predicted=np.asarray(mean, float).reshape(grid_shape(model_xs, model_ys)),
                   model_xs=model_xs, model_ys=model_ys)
