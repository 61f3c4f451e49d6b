"""Several sessions on one thread: equal time for runs at full speed whatever their cost
per step, paced runs take only their speed, and commands between chunks. Time is a clock
the test drives, so the shares are step counts."""

from __future__ import annotations

import threading

import pytest
from session_helpers import FakeClock, config, timed_session

from metalearn_gui.core.run import RunConfig
from metalearn_gui.core.scheduler import Scheduler
from metalearn_gui.core.events import RunFailed
from metalearn_gui.core.session import CHUNK_SECONDS, Recording, RunSession
from metalearn_gui.core.status import Status
from metalearn_gui.core.store import RunStore

COSTS = (2e-4, 6e-4, 2e-3)  # seconds per step: the dearest is 10× the cheapest


def started(scheduler: Scheduler) -> None:
    for seed, session in enumerate(scheduler.sessions):
        session.prepare(config(seed=seed))
        session.start()


def test_sessions_at_full_speed_share_the_thread_equally_whatever_their_cost():
    clock = FakeClock()
    scheduler = Scheduler([timed_session([], clock, cost) for cost in COSTS])
    started(scheduler)
    begun = clock()
    for _ in range(40):
        scheduler.run_round()
    seconds = [session.learner.step * cost for session, cost in zip(scheduler.sessions, COSTS)]
    assert max(seconds) / min(seconds) < 1.1  # equal shares, up to one step's overrun per chunk
    assert scheduler.sessions[0].learner.step > 8 * scheduler.sessions[2].learner.step
    assert clock() - begun == pytest.approx(40 * CHUNK_SECONDS, rel=0.1)  # a round lasts one chunk


def test_a_paced_session_takes_its_speed_and_leaves_the_rest_to_the_others():
    clock = FakeClock()
    paced, fast = timed_session([], clock, 1e-3), timed_session([], clock, 2e-4)
    scheduler = Scheduler([paced, fast])
    paced.set_speed(100.0)
    started(scheduler)
    begun = clock()
    for _ in range(60):
        scheduler.run_round()
    elapsed = clock() - begun
    paced_seconds = paced.learner.step * 1e-3
    # Its speed counts the time between its chunks (not its own steps' time).
    assert paced.learner.step == pytest.approx(100 * (elapsed - paced_seconds), abs=3)
    assert fast.learner.step * 2e-4 == pytest.approx(elapsed - paced_seconds, rel=0.05)


def test_commands_run_between_chunks_in_the_order_posted():
    clock = FakeClock()
    session = timed_session([], clock, 1e-3)
    scheduler = Scheduler([session])
    scheduler.post(lambda: session.prepare(config()))
    scheduler.post(session.start)
    scheduler.post(lambda: session.set_values({"sigma": 0.5}))
    assert not scheduler.idle()
    scheduler.take_commands(0.0)
    assert scheduler.idle() and session.phase is Status.RUNNING and session.learner.changes == [
        (0, "sigma", 0.1, 0.5)]
    assert scheduler.wait_seconds() == 0.0  # running at full speed: no waiting for commands


def test_stop_abandons_a_hung_objective_and_records_its_run_as_stopped(faulty_objectives, tmp_path):
    events = []
    session = RunSession(events.append)
    scheduler = Scheduler([session])
    thread = threading.Thread(target=scheduler.serve)
    thread.start()
    try:
        scheduler.post(lambda: session.set_recording(Recording(tmp_path)))
        scheduler.post(lambda: session.prepare(RunConfig("genetic", "hangs-at-step", 2, steps=None)))
        scheduler.post(session.start)
        hung = threading.Event()
        while not hung.wait(0.01):  # until the objective hangs at its step
            if (evaluation := session.unanswered()) is not None and evaluation.step == faulty_objectives.FAULT_STEP:
                hung.set()
    finally:
        scheduler.stop()
        thread.join()
    assert not [event for event in events if isinstance(event, RunFailed)]  # abandoned: not a failure
    with RunStore.open(tmp_path) as store:
        [info] = store.list_runs()
    assert info.status is Status.STOPPED and info.steps == faulty_objectives.FAULT_STEP - 1
