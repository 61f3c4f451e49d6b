"""Objectives that fail on purpose, for tests only. :func:`register` adds them as a user
adds an objective of their own (tests use the ``faulty_objectives`` fixture, which also
removes them again, so that tests going over every objective never see them).

Each is the sphere Σ θ_i² until the evaluation of step :data:`FAULT_STEP` (a genetic or
neural learner calls the objective once per step; step 0 is the reset's call), which:

* ``raises-at-step`` raises ``ValueError``,
* ``nan-at-step`` answers NaN for every θ,
* ``nan-from-step`` answers NaN for every θ, then and at every later evaluation,
* ``hangs-at-step`` never answers until :func:`unregister`.

``nan-in-region`` answers NaN wherever θ_1 > 1 (two fifths of the box, away from the
optimum at 0, which a test may move into it) and ``nan-everywhere`` for every θ: user
objectives failing for some or all θ, each noting the θs it was asked about in ``evaluated``
and those it failed for in ``failed``.

``unbounded-sphere`` never fails by itself: it is the sphere on bounds so wide that a
learner's steps, kept inside them, can still overflow the loss (a learning rate too large
makes the gradient learner diverge there).

Only that one evaluation fails (for ``nan-from-step``, every one from it on): after a reset
the objective (kept by the learner) answers normally again. Calls of more than
:data:`PICTURE_ROWS` θs are the landscape's picture in the window and never fail, so the
fault always hits the learner at the same step.
"""

from __future__ import annotations

import threading

import numpy as np

from metalearn_gui.core.objectives import OBJECTIVES, Objective, register_objective
from metalearn_gui.core.objectives.classic import Sphere

FAULT_STEP = 12
PICTURE_ROWS = 1000
_released = threading.Event()


def register() -> None:
    _released.clear()
    for cls in FAULTY:
        register_objective(cls)


def unregister() -> None:
    """Remove them and let every hanging evaluation answer."""
    _released.set()
    for cls in FAULTY:
        OBJECTIVES.pop(cls.name, None)


class _FaultAtStep(Objective):
    description = "Σ θ_i², failing once at the evaluation of a fixed step (tests only)"
    min_dim = 1
    bounds = (-5.0, 5.0)
    optimum_value = 0.0
    optimum_coordinate = 0.0
    lasting = False  # whether every evaluation after the fault's fails too

    def __init__(self, dim: int | None = None) -> None:
        super().__init__(dim)
        self.calls = 0
        self.fault_step = FAULT_STEP  # a test may move it (0: the reset's evaluation)

    def loss_np(self, thetas, rng=None):
        losses = np.sum(np.square(thetas), axis=-1)
        if len(thetas) > PICTURE_ROWS:
            return losses
        self.calls += 1
        faulty = self.calls > self.fault_step if self.lasting else self.calls == self.fault_step + 1
        return self.fault(thetas, losses) if faulty else losses

    def loss_tf(self, theta, seed=None):
        from metalearn_gui.core.tf_runtime import get_tf

        tf = get_tf()
        return tf.reduce_sum(tf.square(theta))

    def fault(self, thetas, losses):
        raise NotImplementedError


class RaisesAtStep(_FaultAtStep):
    name = "raises-at-step"

    def fault(self, thetas, losses):
        raise ValueError("a bug in the user's objective")


class RaisesFromStep(RaisesAtStep):
    name = "raises-from-step"
    lasting = True


class NanAtStep(_FaultAtStep):
    name = "nan-at-step"

    def fault(self, thetas, losses):
        return np.full_like(losses, np.nan)


class NanFromStep(NanAtStep):
    name = "nan-from-step"
    lasting = True


class HangsAtStep(_FaultAtStep):
    name = "hangs-at-step"

    def fault(self, thetas, losses):
        print(f"hanging at step {self.fault_step}", flush=True)  # for tests watching a process
        _released.wait()
        return losses


class NanInRegion(Sphere):
    name = "nan-in-region"
    description = "Σ θ_i², NaN wherever θ_1 > 1 (tests only)"

    def __init__(self, dim: int | None = None) -> None:
        super().__init__(dim)
        self.evaluated: list[np.ndarray] = []
        self.centre = np.zeros(self.dim)  # where Σ (θ − centre)² is least: a test may move it
        self.failed: list[np.ndarray] = []

    def fails(self, thetas):
        return thetas[:, 0] > 1.0

    def loss_np(self, thetas, rng=None):
        failing = self.fails(thetas)
        if len(thetas) <= PICTURE_ROWS:
            self.evaluated += list(thetas)
            self.failed += list(thetas[failing])
        return np.where(failing, np.nan, np.sum(np.square(thetas - self.centre), axis=-1))


class NanEverywhere(NanInRegion):
    name = "nan-everywhere"
    description = "NaN for every θ (tests only)"

    def fails(self, thetas):
        return np.ones(len(thetas), dtype=bool)


class UnboundedSphere(Sphere):
    name = "unbounded-sphere"
    description = "Σ θ_i² on bounds ±1e300, where too large a step overflows the loss (tests only)"
    bounds = (-1e300, 1e300)

    def initial_theta(self, rng, count=None):
        shape = (self.dim,) if count is None else (count, self.dim)
        return rng.standard_normal(shape)

    def loss_np(self, thetas, rng=None):
        with np.errstate(over="ignore"):  # overflowing is what it is for
            return super().loss_np(thetas, rng)


FAULTY = (RaisesAtStep, RaisesFromStep, NanAtStep, NanFromStep, HangsAtStep, NanInRegion, NanEverywhere, UnboundedSphere)
