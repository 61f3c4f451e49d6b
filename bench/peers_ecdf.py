"""Best-so-far curves and COCO's empirical cumulative distribution (ECDF) of runtimes.

A run is recorded as the evaluations at which its best-so-far precision f − f_opt
improved. COCO's rule: a run reaches a target at the first evaluation whose best-so-far
precision is ≤ the target; ECDF(budget) is the fraction of (problem, target) pairs
reached within ``budget`` evaluations. Pure numpy: the tests check it on hand-made curves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: COCO's targets: precisions f − f_opt from 10² down to 10⁻⁸, 51 log-spaced (5 a decade).
TARGETS = np.logspace(2, -8, 51)


@dataclass
class Curve:
    """Where a run's best-so-far value improved: ``values[i]`` is the best after
    ``evaluations[i]`` evaluations (evaluations increase, values strictly decrease); ``budget`` is the
    most evaluations the run was allowed (it may have stopped earlier)."""

    evaluations: np.ndarray
    values: np.ndarray
    budget: int

    def __post_init__(self) -> None:
        self.evaluations = np.asarray(self.evaluations, dtype=np.int64)
        self.values = np.asarray(self.values, dtype=np.float64)


def first_hits(curve: Curve, targets: np.ndarray = TARGETS) -> np.ndarray:
    """For each target, the first evaluation whose best-so-far is ≤ it (inf: never)."""
    hits = np.full(len(targets), np.inf)
    if len(curve.values) == 0:
        return hits
    # values decrease: the first value ≤ t is at the count of values > t.
    order = np.searchsorted(-curve.values, -np.asarray(targets), side="left")
    reached = order < len(curve.values)
    hits[reached] = curve.evaluations[order[reached]]
    return hits


def ecdf(curves: list[Curve], budget: float, targets: np.ndarray = TARGETS) -> float:
    """Fraction of (curve, target) pairs reached within ``budget`` evaluations; NaN if
    ``budget`` exceeds some run's own budget (what happened there is unknown)."""
    if not curves or any(budget > curve.budget for curve in curves):
        return float("nan")
    hits = np.concatenate([first_hits(curve, targets) for curve in curves])
    return float(np.mean(hits <= budget))


def ecdf_steps(curves: list[Curve], dim: int, targets: np.ndarray = TARGETS) -> tuple[np.ndarray, np.ndarray]:
    """The ECDF as a step line against evaluations / ``dim``, from 1 evaluation to the
    smallest budget of the runs: (x, y) with a vertical edge at every hit."""
    budget = min(curve.budget for curve in curves)
    hits = np.sort(np.concatenate([first_hits(curve, targets) for curve in curves]))
    pairs = len(hits)
    hits = hits[hits <= budget]
    # Each distinct hitting evaluation raises the line from the previous level to its own.
    where = np.unique(hits)
    levels = np.searchsorted(hits, where, side="right") / pairs
    before = np.concatenate([[0.0], levels[:-1]])
    final = levels[-1] if len(levels) else 0.0
    x = np.concatenate([[1.0], np.repeat(where, 2), [budget]])
    y = np.concatenate([[0.0], np.column_stack([before, levels]).ravel(), [final]])
    return x / dim, y
