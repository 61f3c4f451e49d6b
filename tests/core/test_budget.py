"""An evaluation budget ends a run before a step would exceed it, for every kind of learner."""

from __future__ import annotations

import pytest

from metalearn_gui.core.learners import Status
from metalearn_gui.core.run import ConfigError, RunConfig, run_to_end


def run_with_budget(learner: str, budget: int, chunk_steps: int | None = None, **hyperparameters) -> list[int]:
    """The cumulative evaluations of every row of a budgeted run (chunks by step count)."""
    built = RunConfig(learner, "sphere", dim=3, steps=None, budget=budget, hyperparameters=hyperparameters).build()
    evaluations: list[int] = []
    run_to_end(built, seed=1, on_chunk=lambda chunk: evaluations.extend(chunk.evaluations.tolist()),
               chunk_seconds=None, chunk_steps=chunk_steps)
    assert built.status is Status.FINISHED and built.evaluations == evaluations[-1]
    return evaluations


@pytest.mark.parametrize("chunk_steps", [None, 3])
def test_genetic_stops_at_the_last_generation_that_fits(chunk_steps):
    # Step 0 evaluates the population of 10; each generation 8 children (2 elites are kept).
    evaluations = run_with_budget("genetic", 95, chunk_steps, population=10)
    assert evaluations[-1] <= 95 and evaluations[-1] + 8 > 95
    assert evaluations == [10 + 8 * generation for generation in range(11)]


@pytest.mark.parametrize("chunk_steps", [None, 7])
def test_gradient_stops_at_exactly_the_budget_within_its_compiled_blocks(chunk_steps):
    evaluations = run_with_budget("gradient", 50, chunk_steps)
    assert evaluations == list(range(1, 51))


def test_neural_stops_at_exactly_the_budget():
    evaluations = run_with_budget("neural", 12, chunk_steps=5, initial=10, epochs=1)
    assert evaluations == list(range(1, 13))


def test_a_learner_stopped_by_its_budget_takes_no_further_step():
    learner = RunConfig("gradient", "sphere", dim=2, steps=None, budget=5).build()
    run_to_end(learner, seed=0, chunk_seconds=None)
    assert len(learner.advance(max_steps=10)) == 0 and learner.evaluations == 5


@pytest.mark.parametrize("budget", [0, -1, 2.5, "10", True])
def test_a_configuration_refuses_a_budget_that_is_not_a_positive_integer(budget):
    data = {**RunConfig("genetic", "sphere").to_dict(), "budget": budget}
    with pytest.raises(ConfigError, match='"budget" must be an integer ≥ 1'):
        RunConfig.from_dict(data)


def test_a_configuration_accepts_bbob_names_and_refuses_gradient_on_a_black_box():
    assert RunConfig.from_dict(RunConfig("neural", "bbob-f08-i01").to_dict()).objective == "bbob-f08-i01"
    with pytest.raises(ConfigError, match=r"black box\. Learners that apply: neural, genetic"):
        RunConfig.from_dict(RunConfig("gradient", "bbob-f08-i01").to_dict())
    with pytest.raises(ConfigError, match="f30"):
        RunConfig.from_dict(RunConfig("genetic", "bbob-f30-i01").to_dict())
