"""Every learner evaluates only strategies inside the objective's declared bounds."""

from __future__ import annotations

import numpy as np
import pytest

from metalearn_gui.core.learners import LEARNER_NAMES, refusal
from metalearn_gui.core.objectives import BUILT_IN, make_objective
from metalearn_gui.core.run import RunConfig, run_to_end

OBJECTIVE_NAMES = [cls.name for cls in BUILT_IN] + ["bbob-f08-i01", "bbob-f21-i03"]
#: Steps per run: enough for every learner to leave its initial design (neural's 10
#: random evaluations, genetic's first population) and move by its own rule.
STEPS = {"neural": 25, "gradient": 300}
DEFAULT_STEPS = 30
#: Fewer where a step costs seconds: genetic's generations on maml-sine's 1,761 weights
#: (its variation's D × D shape); from the first generation on children are its own.
COSTLY_STEPS = {("genetic", "maml-sine"): 2}


def cases() -> list:
    return [(learner, objective)
            for learner in LEARNER_NAMES for objective in OBJECTIVE_NAMES
            if refusal(learner, make_objective(objective)) is None]


def evaluated_thetas(learner_name: str, objective_name: str, **hyperparameters) -> np.ndarray:
    """Every θ the run evaluated: through ``loss_np`` (recorded), and each row's θ, which
    is what a learner evaluating inside TensorFlow (gradient: one θ a step) evaluated."""
    steps = COSTLY_STEPS.get((learner_name, objective_name), STEPS.get(learner_name, DEFAULT_STEPS))
    learner = RunConfig(learner_name, objective_name, steps=steps, seed=3, hyperparameters=hyperparameters).build()
    objective, recorded = learner.objective, []
    evaluate = objective.loss_np

    def recording(thetas, rng=None):
        recorded.append(np.array(thetas, dtype=np.float64, copy=True))
        return evaluate(thetas, rng)

    objective.loss_np = recording  # type: ignore[method-assign]
    run_to_end(learner, seed=3, on_chunk=lambda chunk: recorded.append(chunk.theta.copy()), chunk_seconds=None)
    assert learner.step == steps, f"the run ended early: {learner.status}"
    return np.concatenate(recorded)


@pytest.mark.parametrize("learner,objective", cases())
def test_every_evaluated_theta_lies_inside_the_bounds(learner, objective):
    thetas = evaluated_thetas(learner, objective)
    bounds = make_objective(objective).bounds
    outside = ~make_objective(objective, thetas.shape[1]).within_bounds(thetas)
    assert not outside.any(), (f"{outside.sum()} of {len(thetas)} evaluated θ outside {bounds}, "
                               f"e.g. {thetas[outside][0]}")


def test_gradient_steps_that_overshoot_are_projected_onto_the_bounds():
    # On rosenbrock's steep walls a step of α = 0.05 jumps far past ±2.048 (unprojected, it diverges).
    thetas = evaluated_thetas("gradient", "rosenbrock", alpha=0.05)
    low, high = make_objective("rosenbrock").bounds
    assert thetas.min() >= low and thetas.max() <= high
    assert np.isclose(thetas, low).any() or np.isclose(thetas, high).any(), "the test never reached a bound"
