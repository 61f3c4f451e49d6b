"""The objective interface: a loss L(θ) in two forms that must agree.

* ``loss_np(thetas)`` — batched numpy, one loss per row of a population;
  the genetic and neural learners use it (no TensorFlow needed).
* ``loss_tf(theta)`` — a differentiable TensorFlow function of one θ; the
  gradient learner differentiates it inside a compiled loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from metalearn_gui.core.hyperparams import brief

if TYPE_CHECKING:  # source.py raises this module's ObjectiveError
    from metalearn_gui.core.objectives.source import ObjectiveSource


class ObjectiveError(ValueError):
    """An objective cannot be built as asked (e.g. an unsupported dimension)."""


class Objective(ABC):
    """A loss to minimise over strategies θ ∈ R^dim.

    Noisy objectives (``noisy = True``) draw fresh randomness per evaluation:
    numpy callers pass a ``np.random.Generator``; TensorFlow callers pass a
    stateless seed tensor of shape [2], so compiled loops stay deterministic.
    """

    name: ClassVar[str]
    #: One line on what it is: ``list`` prints it, the window's objective menu shows it as a tooltip.
    description: ClassVar[str]
    default_dim: ClassVar[int] = 10
    min_dim: ClassVar[int] = 2
    #: The largest D allowed. The cost that grows fastest with D is the landscape picture
    #: (61² strategies of D float64 values: 30 MB at D = 1000), and the window's controls
    #: offer the same range; so a hand-edited D of 10⁹ is refused, not allocated.
    max_dim: ClassVar[int] = 1000
    # -- what it is: learners declare what they need of these (``Learner.requires``) ----
    #: Draws fresh randomness per evaluation (see the class docstring).
    noisy: ClassVar[bool] = False
    #: Has a TensorFlow form ``loss_tf`` whose gradient the ``gradient`` learner can follow.
    differentiable: ClassVar[bool] = True
    #: ``loss_np`` evaluates a whole population in one call (not row by row).
    vectorised: ClassVar[bool] = True
    #: Per-learner hyper-parameter values that suit this objective better than the
    #: learner's generic defaults, e.g. ``{"gradient": {"alpha": 0.05}}``.
    suggested: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    #: Where a user's objective came from (recorded in configurations and summaries);
    #: None for the built-in ones.
    source: ClassVar[ObjectiveSource | None] = None

    def __init__(self, dim: int | None = None) -> None:
        dim = self.default_dim if dim is None else dim
        if (isinstance(dim, bool) or not isinstance(dim, (int, np.integer))
                or not self.min_dim <= dim <= self.max_dim):
            raise ObjectiveError(
                f"dimension {brief(dim)} is not allowed for objective {self.name!r}; "
                f"allowed: an integer {self.min_dim} … {self.max_dim}"
            )
        self.dim = int(dim)

    @property
    def black_box(self) -> bool:
        """Only its values can be known: no gradient."""
        return not self.differentiable

    def capabilities(self) -> list[str]:
        """What it is, in words: e.g. ``["differentiable", "vectorised"]``."""
        names = ["differentiable" if self.differentiable else "black box"]
        return names + [name for name in ("vectorised", "noisy") if getattr(self, name)]

    # -- description ---------------------------------------------------------------
    #: Per-coordinate domain [low, high]: learners evaluate only strategies inside it,
    #: the plots show it, and initial designs are drawn from it (uniformly, unless
    #: :meth:`initial_theta` says otherwise).
    bounds: ClassVar[tuple[float, float]]
    #: The known minimum of L (None where unknown) and the value of each θ_i there.
    optimum_value: ClassVar[float | None] = None
    optimum_coordinate: ClassVar[float | None] = None

    @property
    def optimum_theta(self) -> np.ndarray | None:
        if self.optimum_coordinate is None:
            return None
        return np.full(self.dim, self.optimum_coordinate)

    def describe_optimum(self) -> str:
        if self.optimum_value is None:
            return "unknown"
        return f"{self.optimum_value:.6g}"

    def clip(self, thetas: np.ndarray) -> np.ndarray:
        """``thetas`` moved onto the nearest point of the domain (a new array)."""
        low, high = self.bounds
        return np.clip(thetas, low, high)

    def within_bounds(self, thetas: np.ndarray) -> np.ndarray:
        """Which rows of ``thetas`` (n, dim) lie inside the domain."""
        low, high = self.bounds
        thetas = np.atleast_2d(thetas)
        return np.asarray(((thetas >= low) & (thetas <= high)).all(axis=1))

    # -- sampling ------------------------------------------------------------------
    def initial_theta(self, rng: np.random.Generator, count: int | None = None) -> np.ndarray:
        """Draw θ0 (shape ``(dim,)``) or a population (``(count, dim)``) from the
        objective's initialisation distribution; uniform on the bounds by default."""
        low, high = self.bounds
        shape = (self.dim,) if count is None else (count, self.dim)
        return rng.uniform(low, high, size=shape)

    # -- the loss ------------------------------------------------------------------
    @abstractmethod
    def loss_np(self, thetas: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Losses of a population ``thetas`` of shape ``(n, dim)``, as float64 ``(n,)``."""

    @abstractmethod
    def loss_tf(self, theta: Any, seed: Any = None) -> Any:
        """Scalar float64 loss of one θ (a float64 tensor of shape ``(dim,)``)."""

    def loss(self, theta: np.ndarray, rng: np.random.Generator | None = None) -> float:
        """Loss of one θ (numpy form)."""
        return float(self.loss_np(np.asarray(theta, dtype=np.float64)[None, :], rng)[0])

    def coordinate_names(self) -> tuple[str, ...]:
        """Names of θ's coordinates for plots and tables: θ1 … θD unless the objective
        gives them meaning."""
        return tuple(f"θ{i + 1}" for i in range(self.dim))

    #: Points per side of the landscape's grid: an objective that costs much per
    #: evaluation draws a coarser one (the picture is computed between chunks of the run).
    landscape_grid: ClassVar[int] = 61

    def landscape_axes(self) -> tuple[int, int] | str:
        """The two coordinates the landscape varies at first, or one line saying why no
        two coordinates make a meaningful picture."""
        return (0, 1)

    # -- generalisation (task distributions override these: see objectives.tasks) -----
    def heldout_loss(self, theta: np.ndarray) -> float | None:
        return None

    def heldout_accuracy(self, theta: np.ndarray) -> float | None:
        return None

    def baseline_heldout_loss(self) -> float | None:
        return None

    def baseline_heldout_accuracy(self) -> float | None:
        return None
