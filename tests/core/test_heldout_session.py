"""The session's held-out evaluation of the best θ: sent for task distributions only, on
a schedule bounded in time and cost, baselines first and once; the landscape is not
computed for an objective that says why it has none. Time is a clock the test drives."""

from __future__ import annotations

import numpy as np
import pytest
from session_helpers import GENETIC, FakeClock, config, timed_session

from metalearn_gui.core.events import BaselinesReady, HeldOutResult
from metalearn_gui.core.landscape import Landscape
from metalearn_gui.core.objectives.tasks import FunctionFits, InnerCurves
from metalearn_gui.core.run import RunConfig
from metalearn_gui.core.session import HELDOUT_COST_SHARE, HELDOUT_SECONDS
from metalearn_gui.core.status import Status


def of(events, kind):
    return [event for event in events if isinstance(event, kind)]


def task_config(objective: str = "lr-schedule", dim: int | None = 3) -> RunConfig:
    return RunConfig("genetic", objective, dim, steps=None, hyperparameters=GENETIC)


def drive(session, chunks: int) -> None:
    """What the scheduler does each round, ``chunks`` times."""
    for _ in range(chunks):
        session.advance()
        session.chunk_taken()
        session.draw_landscape_if_due()
        session.evaluate_heldout_if_due()


@pytest.fixture
def clock():
    return FakeClock()


def test_a_task_distribution_gets_baselines_once_then_the_best_thetas_heldout_results(clock):
    events = []
    session = timed_session(events, clock, cost=0.001)
    session.prepare(task_config())
    session.start()
    drive(session, 100)  # 5 s of chunks of 50 ms
    baselines, results = of(events, BaselinesReady), of(events, HeldOutResult)
    assert len(baselines) == 1 and baselines[0].baselines[0].label.startswith("tuned constant")
    assert events.index(baselines[0]) < events.index(results[0])
    assert 2 <= len(results) <= 5 + 1  # at most one per HELDOUT_SECONDS, and only after a new best
    steps = [result.step for result in results]
    assert steps == sorted(steps) and np.isfinite([result.loss for result in results]).all()
    objective = session.learner.objective
    last = results[-1]
    if session.learner.theta_best is not None and last.step == session.learner.step:
        assert last.loss == pytest.approx(objective.heldout_loss(session.learner.theta_best))
    assert isinstance(last.task_view, InnerCurves) and "learned" in last.task_view.loss
    assert last.accuracy is None  # not classification


def test_a_paused_run_is_evaluated_once_its_best_is_due_and_then_waits(clock):
    events = []
    session = timed_session(events, clock, cost=0.001)
    session.prepare(task_config())
    session.evaluate_heldout_if_due()
    assert len(of(events, HeldOutResult)) == 1 and of(events, HeldOutResult)[0].step == 0
    first_best = session.learner.theta_best
    while session.learner.theta_best is first_best:  # a few steps (1 ms each) to a new best
        session.step()
    session.draw_landscape_if_due()
    session.evaluate_heldout_if_due()
    assert len(of(events, HeldOutResult)) == 1  # not due yet: the thread may wait that long
    assert 0 < session.wait_seconds() <= HELDOUT_SECONDS
    clock.advance(HELDOUT_SECONDS)
    session.evaluate_heldout_if_due()
    assert of(events, HeldOutResult)[-1].step == session.learner.step
    assert session.wait_seconds() is None  # nothing more to do until a command


def test_an_expensive_heldout_evaluation_takes_at_most_its_share_of_the_time(clock, task_doubles):
    events = []
    session = timed_session(events, clock, cost=0.01)
    session.prepare(task_config("toy-fewshot", None))
    objective = session.learner.objective
    evaluated_at = []
    real = objective.heldout

    def costly(thetas):
        evaluated_at.append(clock())
        clock.advance(0.5)  # training networks on every held-out task
        return real(thetas)

    objective.heldout = costly
    session.start()
    drive(session, 400)
    assert len(evaluated_at) >= 2
    assert (np.diff(evaluated_at) >= 0.5 + HELDOUT_COST_SHARE * 0.5).all()
    results = of(events, HeldOutResult)
    assert all(0.0 < result.accuracy <= 1.0 for result in results)  # classification: accuracy too


def test_other_objectives_get_no_heldout_results(clock):
    events = []
    session = timed_session(events, clock, cost=0.001)
    session.prepare(config())
    session.start()
    drive(session, 40)
    assert not of(events, HeldOutResult) and not of(events, BaselinesReady)
    assert session.learner.status is Status.RUNNING


def test_no_landscape_is_computed_for_an_objective_that_says_why_it_has_none(clock, task_doubles):
    events = []
    session = timed_session(events, clock, cost=0.001)
    session.prepare(task_config("toy-fits", None))
    session.start()
    drive(session, 20)
    assert not of(events, Landscape)
    assert isinstance(of(events, HeldOutResult)[0].task_view, FunctionFits)


def test_an_objective_whose_heldout_evaluation_raises_warns_once_and_the_run_goes_on(clock, task_doubles):
    from metalearn_gui.core.events import Notice

    events = []
    session = timed_session(events, clock, cost=0.001)
    session.prepare(task_config("toy-fewshot", None))

    def broken(theta):
        raise RuntimeError("no such task")

    session.learner.objective.task_view = broken
    session.start()
    drive(session, 60)
    warnings = [event for event in of(events, Notice) if "held-out" in event.message]
    assert len(warnings) == 1 and "no such task" in warnings[0].message
    assert not of(events, HeldOutResult) and session.learner.status is Status.RUNNING
