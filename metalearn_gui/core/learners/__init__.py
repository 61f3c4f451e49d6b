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


def refusal(learner: str, objective: Objective | type[Objective]) -> str | None:
    """Why ``learner`` cannot run on ``objective`` (one line naming the learners that can),
    or None when it can: each learner ``requires`` capabilities the objective must have
    (class attributes, so the objective's class will do)."""
    missing = [need for need in learner_class(learner).requires if not getattr(objective, need)]
    if not missing:
        return None
    usable = [name for name in LEARNER_NAMES
              if all(getattr(objective, need) for need in learner_class(name).requires)]
    what = "a black box" if "differentiable" in missing else "not " + " and not ".join(missing)
    return (f"learner {learner!r} needs a {' and '.join(missing)} objective; {objective.name} is {what}. "
            f"Learners that apply: {', '.join(usable)}")


__all__ = ["LEARNER_NAMES", "Chunk", "Learner", "Status", "UnknownLearnerError", "learner_class", "refusal"]
