"""A clock the test drives, and a genetic learner whose steps cost time on it: sessions and
the scheduler are then timed by step counts, the same on every machine."""

from __future__ import annotations

from metalearn_gui.core.learners.genetic import GeneticLearner
from metalearn_gui.core.objectives import make_objective
from metalearn_gui.core.run import RunConfig
from metalearn_gui.core.session import RunSession

#: A small population: cheap steps.
GENETIC = {"population": 8, "mutation": 0.5, "tournament": 2, "sigma": 0.1}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TimedGenetic(GeneticLearner):
    """The genetic learner; each step costs ``cost`` seconds on ``clock``."""

    def __init__(self, config: RunConfig, clock: FakeClock, cost: float) -> None:
        super().__init__(make_objective(config.objective, config.dim), config.hyperparameters,
                         max_steps=config.steps)
        self.clock, self.cost = clock, cost

    def _run(self, count):
        rows = super()._run(count)
        self.clock.advance(self.cost * len(rows))
        return rows

    def _stagnated(self) -> bool:
        return False  # never restarts or converges: a run lasts as many steps as it is given


def config(steps: int | None = None, seed: int = 0, **values) -> RunConfig:
    return RunConfig("genetic", "sphere", 2, steps=steps, seed=seed, hyperparameters={**GENETIC, **values})


def timed_session(events: list, clock: FakeClock, cost: float = 0.0, **options) -> RunSession:
    """A session whose learners cost ``cost`` seconds a step on ``clock``; events go to ``events``."""
    return RunSession(events.append, clock=clock, build=lambda c: TimedGenetic(c, clock, cost), **options)
