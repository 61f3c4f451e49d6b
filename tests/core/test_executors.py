"""A user's objective evaluated row by row in this process, in local worker processes:
the same rows whatever the executor, a worker killed mid-batch changes nothing, a row
past its timeout is a failed evaluation and the run goes on. (Dask: test_dask_executor.py.)"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest
from executor_objectives import KillsItsWorker, row_sphere

from metalearn_gui.core.evaluation import ObjectiveFailure
from metalearn_gui.core.events import EvaluationsFailed
from metalearn_gui.core.executors import EvaluationSettings, SettingsError, open_pool
from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives.row_tasks import CommandTask
from metalearn_gui.core.row_batches import Abandoned, evaluate_rows
from metalearn_gui.core.run import RunConfig, run_to_end
from metalearn_gui.core.session import RunSession
from metalearn_gui.core.status import Status

POPULATION = 8
GENERATIONS = 4
EVALUATIONS = POPULATION * (GENERATIONS + 1)
IN_PROCESS = EvaluationSettings("in-process")
TWO_PROCESSES = EvaluationSettings("processes", 2)


def ga_run(settings: EvaluationSettings, seed: int = 3, **task):
    """A GA run on RowSphere evaluated where ``settings`` say: (learner, every row as one array)."""
    learner = learner_class("genetic")(row_sphere(3, **task), {"population": POPULATION}, max_steps=GENERATIONS)
    learner.evaluator.use(settings)
    chunks = []
    try:
        run_to_end(learner, seed, chunks.append, chunk_seconds=None, chunk_steps=2)
    finally:
        learner.evaluator.close()
    rows = np.column_stack([np.concatenate([chunk.loss for chunk in chunks]),
                            np.concatenate([chunk.theta for chunk in chunks])])
    return learner, rows


def calls_made(folder) -> int:
    return sum(1 for name in os.listdir(folder) if name.startswith("call-"))


def test_the_same_seed_gives_the_same_rows_in_this_process_and_in_two_worker_processes():
    local, local_rows = ga_run(IN_PROCESS)
    pooled, pooled_rows = ga_run(TWO_PROCESSES)
    other_seed = ga_run(IN_PROCESS, seed=4)[1]
    assert local.status is pooled.status is Status.FINISHED
    assert local.evaluations == pooled.evaluations == EVALUATIONS
    np.testing.assert_array_equal(pooled_rows, local_rows)
    assert not np.array_equal(other_seed, local_rows)  # the rows do depend on the seed
    assert local.evaluator.drain_failures() == pooled.evaluator.drain_failures() == []


def test_a_worker_process_killed_mid_batch_changes_nothing_and_no_evaluation_is_lost_or_counted_twice(tmp_path):
    _, undisturbed = ga_run(IN_PROCESS)
    learner, rows = ga_run(TWO_PROCESSES, calls=str(tmp_path), fault_at=EVALUATIONS // 2, fault="kill")
    assert (tmp_path / "faulted").exists()  # the worker did die, once
    np.testing.assert_array_equal(rows, undisturbed)
    assert learner.status is Status.FINISHED and learner.evaluations == EVALUATIONS
    assert learner.evaluator.drain_failures() == []
    # Only rows in flight when it died were evaluated again (one per worker at most).
    assert EVALUATIONS < calls_made(tmp_path) <= EVALUATIONS + TWO_PROCESSES.worker_count


@pytest.mark.parametrize("settings", [TWO_PROCESSES, IN_PROCESS], ids=["processes", "in-process"])
def test_an_evaluation_past_the_timeout_fails_with_a_message_and_the_run_goes_on(settings, tmp_path):
    # The hung worker is killed (in this process: its thread left behind); 5 s is a hang
    # guard for evaluations that take milliseconds.
    settings = EvaluationSettings(settings.mode, settings.workers, timeout=5.0)
    learner, _ = ga_run(settings, calls=str(tmp_path), fault_at=POPULATION + 3, fault="hang")
    failures = learner.evaluator.drain_failures()
    assert learner.status is Status.FINISHED and learner.evaluations == EVALUATIONS
    assert [failure.message for failure in failures] == ["no answer within the timeout of 5 s"]
    assert failures[0].step == 1 and failures[0].theta.shape == (3,)


@pytest.mark.parametrize("fault, message", [("raise", "ValueError: the simulator crashed"),
                                            ("nan", "the objective answered nan")])
def test_an_evaluation_that_raises_or_answers_nan_is_a_failed_evaluation_not_a_failed_run(fault, message, tmp_path):
    learner, rows = ga_run(IN_PROCESS, calls=str(tmp_path), fault_at=POPULATION + 1, fault=fault)
    failures = learner.evaluator.drain_failures()
    assert learner.status is Status.FINISHED and learner.evaluations == EVALUATIONS
    assert [(failure.step, failure.message) for failure in failures] == [(1, message)]
    assert np.isfinite(rows).all()


def test_abandoning_stops_waiting_for_a_hung_worker_promptly_and_stops_it(tmp_path):
    learner = learner_class("genetic")(row_sphere(3, calls=str(tmp_path), fault_at=1, fault="hang"),
                                       {"population": POPULATION}, max_steps=GENERATIONS)
    learner.evaluator.use(TWO_PROCESSES)
    polls = []
    learner.evaluator.abandon = lambda: polls.append(1) or len(polls) > 3
    try:
        with pytest.raises(ObjectiveFailure, match="abandoned") as caught:
            learner.reset(0)
        assert caught.value.abandoned and len(polls) == 4
        assert learner.evaluator.pool._executor is None  # its workers were killed
    finally:
        learner.evaluator.close()


def test_abandoning_a_command_in_flight_on_a_worker_leaves_no_process_behind(tmp_path):
    pid_file = tmp_path / "pid"
    script = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)"
    task = CommandTask((sys.executable, "-c", script, str(pid_file)))
    pool = open_pool(EvaluationSettings("processes", 1, timeout=600))

    def abandon() -> bool:  # once the command is running
        return pid_file.exists() and pid_file.read_text() != ""

    try:
        with pytest.raises(Abandoned):
            evaluate_rows(pool, task, np.zeros((1, 2)), [None], abandon)
    finally:
        pool.close()
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # its worker, stopped, ended it first
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.05)


def test_only_the_row_that_kills_its_worker_fails_not_the_rows_in_flight_beside_it():
    thetas = np.arange(16, dtype=float).reshape(8, 2)
    thetas[3, 0] = 42.0  # this one kills whichever worker evaluates it
    pool = open_pool(TWO_PROCESSES)
    try:
        outcome = evaluate_rows(pool, KillsItsWorker(), thetas, [None] * 8, lambda: False)
    finally:
        pool.close()
    assert outcome.failures == {3: "the worker process evaluating it died 3 times"}
    expected = np.sum(np.square(thetas), axis=1)
    np.testing.assert_array_equal(np.delete(outcome.losses, 3), np.delete(expected, 3))


def test_evaluation_settings_say_where_in_one_line_and_refuse_what_cannot_work():
    assert EvaluationSettings("processes", 2).describe() == "2 local worker processes, timeout 300 s"
    assert EvaluationSettings("in-process", timeout=5).describe() == "in the app's process, timeout 5 s"
    dask = EvaluationSettings("dask", scheduler="tcp://10.0.0.7:8786")
    assert dask.describe() == "the Dask cluster at tcp://10.0.0.7:8786, timeout 300 s"
    for bad in ({"mode": "threads"}, {"workers": 0}, {"timeout": float("nan")}, {"timeout": -1},
                {"mode": "dask"}, {"mode": "dask", "scheduler": "10.0.0.7:8786"},
                {"mode": "dask", "scheduler": "tcp://host:99999"}, {"scheduler": "tcp://h:1"}):
        with pytest.raises(SettingsError):
            EvaluationSettings(**bad)


def test_a_session_reports_failed_evaluations_as_they_happen_and_applies_new_settings_at_the_next_reset(tmp_path):
    objective = row_sphere(3, calls=str(tmp_path), fault_at=POPULATION + 1, fault="raise")
    events = []
    session = RunSession(events.append, build=lambda config: learner_class("genetic")(
        objective, config.hyperparameters, max_steps=config.steps))
    session.set_evaluation(IN_PROCESS)
    session.prepare(RunConfig("genetic", "row-sphere", 3, steps=GENERATIONS,
                              hyperparameters={"population": POPULATION}))
    session.set_evaluation(TWO_PROCESSES)
    assert session.learner.evaluator.settings == IN_PROCESS  # the run under way keeps its executor
    session.start()
    while session.running:
        session.advance()
    reported = [event for event in events if isinstance(event, EvaluationsFailed)]
    assert [(event.total, [failure.message for failure in event.failures]) for event in reported] == [
        (1, ["ValueError: the simulator crashed"])]
    assert reported[0].failures[0].step == 1 and session.phase is Status.FINISHED
    session.start()  # again from step 0, now in two worker processes
    assert session.learner.evaluator.settings == TWO_PROCESSES
    session.leave()
