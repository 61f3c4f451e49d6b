"""Registry of objectives by command-line name."""

from __future__ import annotations

from metalearn_gui.core.objectives.base import Objective, ObjectiveError
from metalearn_gui.core.objectives.classic import Ackley, Rastrigin, Rosenbrock, Seed, Sphere
from metalearn_gui.core.objectives.lr_schedule import LRSchedule

OBJECTIVES: dict[str, type[Objective]] = {
    cls.name: cls for cls in (Seed, Sphere, Rosenbrock, Rastrigin, Ackley, LRSchedule)
}


def make_objective(name: str, dim: int | None = None) -> Objective:
    """Build the objective called ``name``; raises :class:`ObjectiveError` naming what is allowed."""
    try:
        cls = OBJECTIVES[name]
    except KeyError:
        raise ObjectiveError(
            f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}"
        ) from None
    return cls(dim)


__all__ = ["OBJECTIVES", "Objective", "ObjectiveError", "make_objective"]
