"""COCO's BBOB suite as objectives: ``bbob-f08-i01`` is function 8, instance 1.

The 24 noiseless functions of the field's standard benchmark (Hansen et al., *Real-Parameter
Black-Box Optimization Benchmarking*), evaluated by the ``coco-experiment`` package (module
``cocoex``) so that values agree with COCO's own experiments to the last digit. Each instance
shifts and rotates its function and has a known optimum value f_opt, so a loss plot can show
the precision f − f_opt that COCO's targets are expressed in. They are black boxes: no gradient.
"""

from __future__ import annotations

import functools
import re
import time
from typing import Any

import numpy as np

from metalearn_gui.core.interface_priority import yield_to_interface
from metalearn_gui.core.objectives.base import Objective, ObjectiveError

#: The functions' names, f1 … f24, as COCO's documentation gives them.
BBOB_FUNCTIONS: dict[int, str] = {
    1: "sphere", 2: "separable ellipsoid", 3: "separable Rastrigin", 4: "Büche-Rastrigin",
    5: "linear slope", 6: "attractive sector", 7: "step ellipsoid", 8: "Rosenbrock",
    9: "rotated Rosenbrock", 10: "ellipsoid", 11: "discus", 12: "bent cigar", 13: "sharp ridge",
    14: "different powers", 15: "Rastrigin", 16: "Weierstrass", 17: "Schaffer F7",
    18: "ill-conditioned Schaffer F7", 19: "Griewank-Rosenbrock", 20: "Schwefel",
    21: "Gallagher 101 peaks", 22: "Gallagher 21 peaks", 23: "Katsuura", 24: "Lunacek bi-Rastrigin",
}
MAX_INSTANCE = 1000
NAME_PATTERN = re.compile(r"bbob-f(\d\d)-i(\d{2,4})")
#: How ``list`` and error messages write the family.
FAMILY = "bbob-fNN-iNN"
#: cocoex evaluates a batch in C holding the GIL (f15 in 10-D: ~4 µs a row, so 20 ms for one
#: generation of 5,120 strategies, 160 ms for 10,000 rows of f23), and the window's thread waits
#: for the whole call before it may draw. A batch is evaluated in slices of about this long
#: (the window's GIL switch interval), between which other threads take their turn (and a
#: window that is drawing goes first: :mod:`~metalearn_gui.core.interface_priority`).
SLICE_SECONDS = 0.0001


def bbob_name(function: int, instance: int) -> str:
    return f"bbob-f{function:02d}-i{instance:02d}"


def parse_bbob_name(name: str) -> tuple[int, int] | None:
    """(function, instance) for a name of the BBOB family, None for any other name.

    Raises :class:`ObjectiveError` for a family name with a function or instance out of range.
    """
    match = NAME_PATTERN.fullmatch(name)
    if match is None:
        return None
    function, instance = int(match[1]), int(match[2])
    if function not in BBOB_FUNCTIONS:
        raise ObjectiveError(f"objective {name!r}: BBOB has functions f01 … f24, not f{match[1]}")
    if not 1 <= instance <= MAX_INSTANCE:
        raise ObjectiveError(f"objective {name!r}: instances are i01 … i{MAX_INSTANCE}, not i{match[2]}")
    return function, instance


@functools.cache
def bbob_objective_class(function: int, instance: int) -> type[Objective]:
    """The objective class of one BBOB function instance (made once, then reused)."""
    title = BBOB_FUNCTIONS[function]
    return type(f"BBOB_f{function:02d}_i{instance:02d}", (BBOBObjective,), {
        "name": bbob_name(function, instance),
        "description": f"COCO BBOB f{function} {title}, instance {instance}: a black box on [−5, 5]^D",
        "function": function,
        "instance": instance,
    })


class BBOBObjective(Objective):
    """One function instance of the BBOB suite (subclassed per instance by
    :func:`bbob_objective_class`; use that or ``make_objective``)."""

    function: int
    instance: int
    bounds = (-5.0, 5.0)
    default_dim = 5
    min_dim = 2
    differentiable = False

    def __init__(self, dim: int | None = None) -> None:
        super().__init__(dim)
        import cocoex  # about 0.1 s: only when a BBOB objective is used

        self._problem = cocoex.BareProblem("bbob", self.function, self.dim, self.instance)
        self._optimum_value = float(self._problem.best_value())
        self._optimum_theta = np.asarray(self._problem.best_parameter(), dtype=np.float64)
        self._slice_rows = 16  # rows per call to cocoex, sized by the calls' speed (see SLICE_SECONDS)

    # f_opt and x_opt differ per instance and D, so they are per object, not per class.
    @property
    def optimum_value(self) -> float:  # type: ignore[override]
        return self._optimum_value

    @property
    def optimum_theta(self) -> np.ndarray:
        return self._optimum_theta.copy()

    def loss_np(self, thetas, rng=None):
        thetas = np.ascontiguousarray(thetas, dtype=np.float64)
        losses = np.empty(len(thetas))
        start = 0
        while start < len(thetas):  # in slices: see SLICE_SECONDS
            yield_to_interface()
            rows = thetas[start:start + self._slice_rows]
            started = time.perf_counter()
            losses[start:start + len(rows)] = np.asarray(self._problem(rows), dtype=np.float64).reshape(len(rows))
            seconds_per_row = max(time.perf_counter() - started, 1e-9) / len(rows)
            # At most halved or doubled per call: one slice preempted by another process must
            # not shrink the rest to single rows.
            fitting = int(SLICE_SECONDS / seconds_per_row)
            self._slice_rows = max(1, self._slice_rows // 2, min(fitting, 2 * self._slice_rows))
            start += len(rows)
        return losses

    def loss_tf(self, theta: Any, seed: Any = None) -> Any:
        raise ObjectiveError(f"{self.name} is a black box: it has no TensorFlow form to differentiate")
