"""Registry of objectives by command-line name: the built-in ones, and any a user adds
at run time with :func:`register_objective`."""

from __future__ import annotations

import inspect

from metalearn_gui.core.objectives.base import Objective, ObjectiveError
from metalearn_gui.core.objectives.bbob import FAMILY, BBOBObjective, bbob_objective_class, parse_bbob_name
from metalearn_gui.core.objectives.classic import Ackley, Rastrigin, Rosenbrock, Seed, Sphere
from metalearn_gui.core.objectives.fewshot import FewShotDigits
from metalearn_gui.core.objectives.lr_schedule import LRSchedule
from metalearn_gui.core.objectives.maml_sine import MAMLSine

BUILT_IN: tuple[type[Objective], ...] = (Seed, Sphere, Rosenbrock, Rastrigin, Ackley, LRSchedule, FewShotDigits,
                                          MAMLSine)
OBJECTIVES: dict[str, type[Objective]] = {cls.name: cls for cls in BUILT_IN}


def objective_class(name: str) -> type[Objective]:
    """The objective class called ``name``: a registered one, or a BBOB function instance
    such as ``bbob-f08-i01``; raises :class:`ObjectiveError` naming what is allowed."""
    if name in OBJECTIVES:
        return OBJECTIVES[name]
    bbob = parse_bbob_name(name) if isinstance(name, str) else None
    if bbob is None:
        raise ObjectiveError(f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}, {FAMILY}")
    return bbob_objective_class(*bbob)


def make_objective(name: str, dim: int | None = None) -> Objective:
    """Build the objective called ``name``; raises :class:`ObjectiveError` naming what is allowed."""
    return objective_class(name)(dim)


def register_objective(cls: type[Objective]) -> type[Objective]:
    """Add an objective of one's own under ``cls.name`` (usable as a class decorator).

    Register it before the command line parses its arguments or the window is built:
    both list the objectives they offer then. Its ``loss_np`` is called on a helper
    thread (see :mod:`metalearn_gui.core.evaluation`), so that one that hangs can be
    abandoned; one that raises ends the run as ``failed``, naming the step and θ.
    Raises :class:`ObjectiveError` for a class that is not a concrete :class:`Objective`
    or a name already taken.
    """
    if not (isinstance(cls, type) and issubclass(cls, Objective)) or inspect.isabstract(cls):
        raise ObjectiveError(f"{cls!r} is not a concrete Objective subclass")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ObjectiveError(f"{cls.__name__} has no name (a class attribute `name = \"…\"`)")
    if name.startswith("bbob-"):
        raise ObjectiveError(f"objective names starting 'bbob-' belong to COCO's suite ({FAMILY}); choose another")
    if name in OBJECTIVES and OBJECTIVES[name] is not cls:
        raise ObjectiveError(f"an objective called {name!r} exists already")
    OBJECTIVES[name] = cls
    return cls


def is_built_in(objective: Objective) -> bool:
    """Whether ``objective`` ships with metalearn-gui (and so is called directly)."""
    return type(objective) in BUILT_IN or isinstance(objective, BBOBObjective)


__all__ = ["BUILT_IN", "FAMILY", "OBJECTIVES", "Objective", "ObjectiveError", "is_built_in", "make_objective",
           "objective_class", "register_objective"]
