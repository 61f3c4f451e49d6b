"""Registry of strategy learners by command-line name.

Learner classes are imported on first use so that, e.g., listing them or running
the genetic learner never imports TensorFlow.
"""

from __future__ import annotations

import importlib

from metalearn_gui.core.learners.base import Chunk, Learner, Status
from metalearn_gui.core.objectives import Objective

_LOCATIONS = {
    "neural": "metalearn_gui.core.learners.neural:NeuralLearner",
    "genetic": "metalearn_gui.core.learners.genetic:GeneticLearner",
    "gradient": "metalearn_gui.core.learners.gradient:GradientLearner",
    "evolution": "metalearn_gui.core.learners.evolution:EvolutionLearner",
}
LEARNER_NAMES = tuple(_LOCATIONS)


class UnknownLearnerError(ValueError):
    pass


def learner_class(name: str) -> type[Learner]:
    """The learner class called ``name`` (imports its module on first use)."""
    where = _LOCATIONS.get(name)
    if where is None:
        raise UnknownLearnerError(f"unknown learner {name!r}; known: {', '.join(LEARNER_NAMES)}")
    module, attribute = where.split(":")
    return getattr(importlib.import_module(module), attribute)


def refusal(learner: str, objective: Objective | type[Objective], dim: int | None = None) -> str | None:
    """Why ``learner`` cannot run on ``objective`` in ``dim`` dimensions (one line naming
    the learners that can), or None when it can.

    Each learner ``requires`` capabilities the objective must have (class attributes, so
    the objective's class will do) and may have a ``max_dim``. ``dim`` defaults to the
    objective's own (an instance's) or its smallest allowed (a class's)."""
    if dim is None:
        dim = objective.dim if isinstance(objective, Objective) else objective.min_dim
    missing = _missing(learner, objective)
    if missing:
        what = "a black box" if "differentiable" in missing else "not " + " and not ".join(missing)
        reason = f"learner {learner!r} needs a {' and '.join(missing)} objective; {objective.name} is {what}"
    elif _too_many_dimensions(learner, dim):
        cls = learner_class(learner)
        reason = (f"learner {learner!r} handles at most {cls.max_dim} dimensions ({cls.max_dim_reason}); "
                  f"{objective.name} has {dim}")
    else:
        return None
    usable = [name for name in LEARNER_NAMES
              if not _missing(name, objective) and not _too_many_dimensions(name, dim)]
    return f"{reason}. Learners that apply: {', '.join(usable) or 'none'}"


def _missing(learner: str, objective: Objective | type[Objective]) -> list[str]:
    return [need for need in learner_class(learner).requires if not getattr(objective, need)]


def _too_many_dimensions(learner: str, dim: int) -> bool:
    limit = learner_class(learner).max_dim
    return limit is not None and dim > limit


__all__ = ["LEARNER_NAMES", "Chunk", "Learner", "Status", "UnknownLearnerError", "learner_class", "refusal"]
