"""A user's objective that raises or never answers: a raise is a failed evaluation named by
step and θ; an objective that keeps failing or never answers ends the run in a clear state
naming them, every row before it kept, nothing non-finite stored (one that answers NaN:
tests/core/test_learners_failed_evaluations.py)."""

from __future__ import annotations

import json
import re
import signal

import numpy as np
import pytest

from metalearn_gui.core.evaluation import ObjectiveFailure
from metalearn_gui.core.learners import Status
from metalearn_gui.core.objectives import OBJECTIVES, ObjectiveError, Sphere, register_objective
from metalearn_gui.core.recorder import RunRecorder
from metalearn_gui.core.run import RunConfig, summarize
from metalearn_gui.core.store import RunStore

STEP = 12


def genetic_on(objective, steps=40):
    config = RunConfig("genetic", objective, dim=3, steps=steps, hyperparameters={"population": 20})
    return config, config.build()


def chunks_until_the_end(learner, max_steps=5):
    chunks = [learner.reset(0)]
    while learner.status is Status.RUNNING:
        chunks.append(learner.advance(max_steps=max_steps))
    return chunks


def steps_of(chunks):
    return [int(step) for chunk in chunks for step in chunk.step]


def test_an_objective_that_raises_has_failed_evaluations_named_by_step_and_theta_and_the_run_goes_on(
        faulty_objectives):
    _, learner = genetic_on("raises-at-step")
    chunks = chunks_until_the_end(learner, max_steps=5)
    assert learner.status is Status.FINISHED and steps_of(chunks) == list(range(41))
    failures = learner.evaluator.drain_failures()
    assert len(failures) == 18 and {failure.step for failure in failures} == {STEP}  # the genetic children
    assert failures[0].message == "ValueError: a bug in the user's objective"
    rows = np.concatenate([chunk.loss for chunk in chunks])
    assert np.isfinite(rows).all() and rows[STEP] == rows[STEP - 1]  # nothing measured: the row carried over
    assert summarize(learner, 1.0).status == "finished"


@pytest.mark.parametrize("max_steps", [5, 1000], ids=["fault mid-chunk", "one long chunk"])
def test_an_objective_that_keeps_raising_fails_the_run_naming_step_and_theta_keeping_every_row_before(
        faulty_objectives, max_steps):
    _, learner = genetic_on("raises-from-step")
    chunks = chunks_until_the_end(learner, max_steps)
    last = chunks[-1]
    assert last.status is Status.FAILED and learner.status is Status.FAILED
    # Steps 12 and 13 failed whole and carried the row before over; step 14 ended the run.
    assert steps_of(chunks) == list(range(STEP + 2))
    assert last.message.startswith("every evaluation failed for 3 steps running (54 evaluations; the last: "
                                   "ValueError: a bug in the user's objective) "
                                   f"at step {STEP + 2} for θ = [")
    assert len(learner.advance(5)) == 0 and learner.status is Status.FAILED
    summary = summarize(learner, 1.0)
    assert summary.status == "failed" and summary.failed_at == STEP + 2 and summary.steps == STEP + 1
    assert summary.failure == last.message
    json.dumps(summary.to_dict(), allow_nan=False)  # every number a number


def test_a_failed_run_is_stored_as_failed_with_every_row_before_the_fault(faulty_objectives, tmp_path):
    config, learner = genetic_on("raises-from-step")
    with RunStore.open(tmp_path) as store:
        warnings = []
        recorder = RunRecorder(config, learner, "cli", store, on_warning=warnings.append)
        for chunk in chunks_until_the_end(learner, max_steps=5):
            recorder.add(chunk)
        recorder.finish(summarize(learner, 1.0))
        stored = store.load(recorder.run_id)
    assert warnings == [] and stored.status == "failed"
    assert list(stored.history.column("step")) == list(range(STEP + 2))
    assert np.isfinite(stored.history.table()).all()
    assert f"at step {STEP + 2} for θ" in stored.summary.failure


def test_an_objective_failing_everywhere_fails_at_the_reset_and_a_reset_can_retry(faulty_objectives):
    _, learner = genetic_on("raises-from-step")
    learner.objective.fault_step = 0
    # The initial design (20) and two generations (18 each) failed: step 0 is never made.
    failed = r"^every evaluation failed for 3 steps running \(56 evaluations; the last: ValueError: a bug in the user's"
    with pytest.raises(ObjectiveFailure, match=failed + r" objective\) at step 0 for θ = \["):
        learner.reset(0)
    assert learner.status is Status.FAILED  # not a half-reset learner that advances
    learner.objective.fault_step = 10**9  # it answers again
    assert len(learner.reset(0)) == 1 and learner.status is Status.RUNNING


def test_an_objective_that_never_answers_can_be_abandoned_and_says_where_it_hung(faulty_objectives):
    _, learner = genetic_on("hangs-at-step")
    learner.reset(0)
    seen = []

    def abandon():  # what the window does when the user resets or closes while it hangs
        seen.append(learner.evaluator.current)
        return learner.evaluator.current.step == STEP

    learner.evaluator.abandon = abandon
    chunk = learner.advance(max_steps=100)
    assert chunk.status is Status.FAILED and list(chunk.step) == list(range(1, STEP))
    assert re.match(rf"the objective was abandoned after \d+ s without an answer at step {STEP} for θ = \[",
                    chunk.message)
    assert seen[-1].step == STEP and learner.evaluator.current is None


def test_built_in_objectives_are_called_directly_and_others_on_a_helper_thread(faulty_objectives):
    _, learner = genetic_on("sphere", steps=3)
    learner.evaluator.abandon = lambda: pytest.fail("a built-in objective is never waited for")
    chunks_until_the_end(learner)
    assert learner.status is Status.FINISHED


def test_register_objective_refuses_what_it_cannot_use(faulty_objectives):
    assert "raises-at-step" in OBJECTIVES
    assert RunConfig.from_dict({**RunConfig("genetic", "raises-at-step").to_dict()}).objective == "raises-at-step"

    class Another(Sphere):
        pass  # the name "sphere" is taken

    with pytest.raises(ObjectiveError, match="'sphere' exists already"):
        register_objective(Another)
    with pytest.raises(ObjectiveError, match="not a concrete Objective"):
        register_objective(dict)


def test_a_stop_signal_inside_an_evaluation_is_not_taken_for_the_objectives_error(faulty_objectives):
    """Ctrl+C while the objective computes must stop the run (exit 130), not fail it."""
    from metalearn_gui.interrupts import RunInterrupted

    def interrupted(thetas, rng):
        raise RunInterrupted(signal.SIGINT)

    learner = RunConfig("genetic", "sphere", 2, steps=5).build()
    learner.objective.loss_np = interrupted
    with pytest.raises(RunInterrupted):
        learner.reset(0)


def test_a_reset_that_breaks_unexpectedly_leaves_a_failed_learner_that_makes_no_steps(monkeypatch):
    _, learner = genetic_on("sphere")

    def broken(*args, **kwargs):
        raise RuntimeError("the pool broke")

    monkeypatch.setattr(learner.evaluator, "losses", broken)
    with pytest.raises(RuntimeError, match="the pool broke"):
        learner.reset(0)
    assert learner.status is Status.FAILED
    assert len(learner.advance(3)) == 0  # not a half-reset learner stepping into missing state
