"""Small task-distribution objectives for tests only: what lr-schedule cannot show.

* ``toy-fewshot`` — classification with accuracy, a fixed D = 7 with named coordinates,
  its task view :class:`InnerCurves` with accuracy.
* ``toy-fits`` — a fixed D = 40 (a network's initialisation), its task view
  :class:`FunctionFits`, and no landscape (``landscape_axes`` gives the reason).

Both are cheap closed forms (a bowl around a fixed point), so tests about the window,
the session and exports run fast. Tests register them with the ``task_doubles`` fixture,
which removes them again so that tests over every objective never see them.
"""

from __future__ import annotations

import numpy as np

from metalearn_gui.core.objectives import OBJECTIVES, register_objective
from metalearn_gui.core.objectives.tasks import Baseline, FunctionFits, HeldOut, InnerCurves, TaskDistribution

INNER_STEPS = 10
FITS_DIM = 40  # fixed and large enough for a heat map; the genetic learner resets fast
NO_LANDSCAPE = "θ is a network's initialisation: no two of its weights make a meaningful plane"


class _Bowl(TaskDistribution):
    """L(θ) = mean (θ − 0.5)², plus fresh noise per evaluation; held-out: the same bowl
    shifted a little (the generalisation gap), without noise."""

    description = "a noisy bowl posing as a task distribution (tests only)"
    differentiable = False
    bounds = (-2.0, 2.0)

    def loss_np(self, thetas, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        thetas = np.atleast_2d(thetas)
        return np.mean((thetas - 0.5) ** 2, axis=1) + 0.01 * rng.standard_normal(len(thetas))

    def loss_tf(self, theta, seed=None):
        raise NotImplementedError("not differentiable")

    def heldout(self, thetas):
        loss = _heldout_loss(thetas)
        return HeldOut(loss, 1.0 / (1.0 + loss) if self.classification else None)

    def baselines(self):
        loss = float(_heldout_loss(np.zeros(self.dim))[0])
        accuracy = 1.0 / (1.0 + loss) if self.classification else None
        return (Baseline("tuned constant rate 0.1", loss, accuracy, np.zeros(self.dim)),
                Baseline("Adam 0.001", 2 * loss, accuracy and accuracy / 2))


def _heldout_loss(thetas: np.ndarray) -> np.ndarray:
    return np.mean((np.atleast_2d(thetas) - 0.6) ** 2, axis=1)


class ToyFewShot(_Bowl):
    name = "toy-fewshot"
    classification = True
    default_dim = min_dim = max_dim = 7

    def coordinate_names(self):
        return ("log η1", "log η2", "log η3", "log η4", "momentum", "weight decay", "log init scale")

    def task_view(self, theta):
        steps = np.arange(INNER_STEPS + 1)
        gap = float(_heldout_loss(theta)[0])
        loss = {"learned": np.exp(-steps / (1.0 + gap)), "tuned constant rate 0.1": np.exp(-steps / 3.0)}
        accuracy = {label: 1.0 - 0.6 * curve for label, curve in loss.items()}
        return InnerCurves("held-out task: digits 7, 8, 9", steps, loss, accuracy)


class ToyFits(_Bowl):
    name = "toy-fits"
    default_dim = min_dim = max_dim = FITS_DIM

    def landscape_axes(self):
        return NO_LANDSCAPE

    def task_view(self, theta):
        x = np.linspace(-5.0, 5.0, 100)
        truth = 2.0 * np.sin(x + 1.0)
        support_x = np.linspace(-4.0, 4.0, 10)
        offset = float(np.mean(theta)) - 0.5  # the bowl's centre fits best
        fits = {label: {steps: truth * (1 - 1 / (steps + 2)) + shift for steps in (0, 1, 10)}
                for label, shift in (("learned", offset), ("pre-trained", 0.5))}
        return FunctionFits("held-out sine: amplitude 2.0, phase 1.0", x, truth, support_x,
                            2.0 * np.sin(support_x + 1.0), fits)


DOUBLES = (ToyFewShot, ToyFits)


def register() -> None:
    for cls in DOUBLES:
        register_objective(cls)


def unregister() -> None:
    for cls in DOUBLES:
        OBJECTIVES.pop(cls.name, None)
