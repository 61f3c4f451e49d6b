"""A run session without Qt: pacing, back-pressure, live changes, pause/step/reset,
failures, recording and the landscape's schedule. Time is a clock the test drives
(:mod:`session_helpers`), so every count is the same on any machine."""

from __future__ import annotations

import numpy as np
import pytest
from session_helpers import FakeClock, config, timed_session

from metalearn_gui.core import session as session_module
from metalearn_gui.core.landscape import Landscape
from metalearn_gui.core.run import RunConfig
from metalearn_gui.core.learners import Chunk
from metalearn_gui.core.events import ChunkMessage, EvaluationsFailed, InputRejected, RecordCopy, RunFailed, RunState
from metalearn_gui.core.session import (
    CHUNK_SECONDS, LANDSCAPE_COST_SHARE, LANDSCAPE_SECONDS, MAX_CHUNK_ROWS, Recording,
)
from metalearn_gui.core.status import Status
from metalearn_gui.core.store import RunStore


def of(events, kind):
    return [event for event in events if isinstance(event, kind)]


def steps_of(events) -> list[int]:
    return [int(step) for message in of(events, ChunkMessage) for step in message.chunk.step]


def take_all(session, events) -> None:
    """The consumer takes every chunk handed out so far."""
    for _ in of(events, ChunkMessage):
        session.chunk_taken()


def keen(session, events) -> None:
    """The consumer takes every chunk as it comes."""
    def take(event):
        events.append(event)
        if isinstance(event, ChunkMessage):
            session.chunk_taken()

    session.on_event = take


def position(events, event) -> int:
    return next(index for index, seen in enumerate(events) if seen is event)


@pytest.fixture
def clock():
    return FakeClock()


def test_a_prepared_run_has_its_step_0_handed_out_before_it_is_ready(clock):
    events = []
    session = timed_session(events, clock)
    session.prepare(config())
    kinds = [(type(event).__name__, getattr(event, "phase", None)) for event in events]
    assert kinds == [("RunState", Status.PREPARING), ("ChunkMessage", None), ("RunState", Status.READY)]
    assert steps_of(events) == [0] and events[-1].serial == 1 and not events[0].loading_tensorflow


def test_a_paced_run_takes_the_steps_its_speed_allows(clock):
    events = []
    session = timed_session(events, clock)
    session.set_speed(128.0)
    session.prepare(config())
    session.start()  # the first step is due at once
    for _ in range(64):  # one second in ticks of 1/64 s (exact in binary)
        clock.advance(1 / 64)
        session.advance()
        session.draw_landscape_if_due()
    assert session.learner.step == 1 + 128
    assert session.wait_seconds() == 1 / 128  # the next step is due in 1/128 s
    session.set_speed(None)
    assert session.wait_seconds() == 0.0


def test_at_full_speed_a_chunk_lasts_its_share_of_time(clock):
    events = []
    session = timed_session(events, clock, cost=0.001)
    keen(session, events)
    session.prepare(config())
    session.start()
    session.advance()
    session.advance(seconds=CHUNK_SECONDS / 5)
    first, second = (len(message.chunk) for message in of(events, ChunkMessage)[1:])
    assert 50 <= first <= 51 and 10 <= second <= 11  # the chunk ends at the first step past its time


def test_a_consumer_that_falls_behind_gets_merged_thinned_chunks_with_the_best_rows(clock, tmp_path):
    events = []
    session = timed_session(events, clock, cost=4e-5)
    session.prepare(config())
    take_all(session, events)
    session.start()
    for _ in range(6):  # ~1,250 steps each; the consumer takes none of them
        session.advance()
    handed = of(events, ChunkMessage)[1:]
    assert len(handed) == 2  # MAX_IN_FLIGHT; the other chunks wait, merged
    session.pause()
    merged = of(events, ChunkMessage)[3]
    assert position(events, merged) < position(events, of(events, RunState)[-1])  # the state never overtakes data
    assert len(merged.chunk) <= MAX_CHUNK_ROWS
    assert merged.chunk.step[0] == handed[-1].chunk.step[-1] + 1  # four chunks' steps in one
    assert merged.chunk.step[-1] == session.learner.step > handed[-1].chunk.step[-1] + 3 * MAX_CHUNK_ROWS

    rows = session.recorder.record.history  # every row the learner made
    delivered = np.concatenate([m.chunk.step for m in of(events, ChunkMessage)])
    loss = np.concatenate([m.chunk.loss for m in of(events, ChunkMessage)])
    assert np.all(np.diff(delivered) > 0) and delivered[-1] == session.learner.step == rows.column("step")[-1]
    assert loss.min() == rows.column("loss").min()  # the best row survives the thinning
    assert merged.chunk.best_loss[-1] == session.learner.best_loss


def test_merging_and_thinning_keep_every_isolated_improvement():
    steps = np.arange(1_000_000, 1_200_000)
    loss = 5 + np.random.default_rng(0).random(len(steps))
    improved_at = [1_000_001, 1_030_000, 1_030_003, 1_070_000, 1_160_000]
    loss[np.isin(steps, improved_at)] = 4 - np.arange(len(improved_at)) / 10
    best = np.minimum.accumulate(loss)
    whole = Chunk(steps, loss, best, steps, np.zeros((len(steps), 2)), {}, {}, Status.RUNNING)
    merged = whole.select(slice(100_000, None)).after(whole.select(slice(0, 100_000)))
    thinned = merged.thinned(MAX_CHUNK_ROWS)
    assert len(thinned) <= MAX_CHUNK_ROWS and np.isin(improved_at, thinned.step).all()


def test_a_live_change_lands_at_the_next_chunk_and_is_recorded(clock, tmp_path):
    events = []
    session = timed_session(events, clock)
    session.set_recording(Recording(tmp_path))
    session.set_speed(1000.0)
    session.prepare(config())
    session.start()
    clock.advance(0.01)
    session.advance()
    changed_at = session.learner.step
    session.set_values({"sigma": 1.0})
    assert session.learner.hp["sigma"] == 1.0 and session.learner.step == changed_at  # between chunks
    assert events[-1].changes == ((changed_at, "sigma", 0.1, 1.0),)
    clock.advance(0.01)
    session.advance()
    session.set_values({"sigma": -1.0})
    assert of(events, InputRejected)[-1].message.startswith("sigma")  # refused, one line; nothing changed
    assert session.learner.hp["sigma"] == 1.0 and isinstance(events[-1], RunState)
    session.leave()
    with RunStore.open(tmp_path) as store:
        assert store.load(session.recorder.run_id).changes == [(changed_at, "sigma", 0.1, 1.0)]


def test_pause_step_and_reset(clock):
    events = []
    session = timed_session(events, clock)
    session.set_speed(100.0)
    session.prepare(config())
    session.step()
    assert steps_of(events) == [0, 1] and session.phase is Status.PAUSED
    session.start()
    clock.advance(0.05)
    session.advance()
    session.pause()
    assert session.phase is Status.PAUSED and session.wait_seconds() == 0.0  # the landscape is due
    session.draw_landscape_if_due()
    assert session.wait_seconds() is None  # nothing to do until a command
    before = len(events)
    clock.advance(1.0)
    session.advance()
    assert len(events) == before  # paused: no step
    session.prepare(config(seed=1))
    assert session.serial == 2 and steps_of(events[before:]) == [0] and session.phase is Status.READY


def test_play_after_the_end_starts_again(clock):
    events = []
    session = timed_session(events, clock, cost=0.001)
    session.prepare(config(steps=5))
    session.start()
    session.advance()
    assert session.phase is Status.FINISHED and events[-1].summary.steps == 5
    session.start()
    assert (session.serial, session.phase, session.learner.step) == (2, Status.RUNNING, 0)


def test_a_failure_is_a_failed_state_with_its_message(clock):
    events = []

    def build(config):
        raise RuntimeError("no such learner today")

    session = session_module.RunSession(events.append, clock=clock, build=build)
    session.prepare(config())
    assert of(events, RunFailed)[0].message == "RuntimeError: no such learner today"
    assert "Traceback" in of(events, RunFailed)[0].details
    assert events[-1].phase is Status.FAILED and events[-1].message == "RuntimeError: no such learner today"


def test_an_objective_that_keeps_raising_fails_the_run_naming_step_and_theta(clock, faulty_objectives, tmp_path):
    events = []
    session = timed_session(events, clock, cost=0.001)
    session.set_recording(Recording(tmp_path))
    session.prepare(RunConfig("genetic", "raises-from-step", 2, steps=None))
    session.start()
    session.advance()
    [failure] = of(events, RunFailed)
    failing_from = faulty_objectives.FAULT_STEP  # 3 steps of failed evaluations end the run
    assert "ValueError: a bug" in failure.message and f"at step {failing_from + 2} for θ" in failure.message
    assert of(events, RunState)[-1].phase is Status.FAILED and steps_of(events)[-1] == failing_from + 1
    assert sum(len(event.failures) for event in of(events, EvaluationsFailed)) == 3 * (100 - 2)  # 98 children a generation
    session.leave()
    with RunStore.open(tmp_path) as store:
        assert store.load(session.recorder.run_id).status is Status.FAILED  # not "stopped": it ended by itself


def running_session(events, clock, tmp_path) -> session_module.RunSession:
    """A recorded run that has made one chunk of steps and goes on running."""
    session = timed_session(events, clock, cost=0.001)
    session.set_recording(Recording(tmp_path))
    session.prepare(config())
    session.start()
    session.advance()
    return session


def test_leaving_records_the_run_as_stopped(clock, tmp_path):
    events = []
    session = running_session(events, clock, tmp_path)
    steps = session.learner.step
    session.leave()
    assert session.store is None
    with RunStore.open(tmp_path) as store:
        [info] = store.list_runs()
    assert (info.status, info.steps, info.source) == (Status.STOPPED, steps, "window")


def test_a_copy_of_the_record_holds_every_row_and_stays_as_it_was(clock):
    events = []
    session = timed_session(events, clock, cost=4e-5)
    session.prepare(config())
    session.start()
    session.advance()
    session.pause()
    session.copy_record()
    copy = events[-1]
    assert isinstance(copy, RecordCopy) and copy.serial == 1
    rows = copy.record.history.column("step")
    assert list(rows) == list(range(session.learner.step + 1))  # every step: more than a chunk hands out
    assert len(rows) > MAX_CHUNK_ROWS and copy.record.summary.steps == session.learner.step
    session.start()
    session.advance()
    assert copy.record.history.column("step")[-1] < session.learner.step  # a copy, not the live record


def test_the_landscape_follows_a_running_run_at_most_every_half_second(clock):
    events, drawn_at = [], []
    session = timed_session(events, clock, cost=0.001)
    session.on_event = lambda event: (events.append(event),
                                      drawn_at.append(clock()) if isinstance(event, Landscape) else None)
    session.prepare(config())
    session.draw_landscape_if_due()
    assert len(of(events, Landscape)) == 1 and of(events, Landscape)[0].serial == 1  # a new run: at once
    session.start()
    for _ in range(60):  # 3 s of chunks of 50 ms
        session.advance()
        session.draw_landscape_if_due()
    assert 5 <= len(drawn_at) - 1 <= 6 and (np.diff(drawn_at) >= LANDSCAPE_SECONDS).all()


def test_an_expensive_landscape_takes_at_most_a_tenth_of_the_time(clock, monkeypatch):
    events = []
    session = timed_session(events, clock, cost=0.01)
    real = session_module.compute_landscape

    drawn_at = []

    def costly(*args, **kwargs):
        drawn_at.append(clock())
        clock.advance(1.0)  # a plane of lr-schedule: thousands of inner training runs
        return real(*args, **kwargs)

    monkeypatch.setattr(session_module, "compute_landscape", costly)
    session.prepare(config())
    session.start()
    for _ in range(300):  # 15 s of chunks, plus the landscapes' own time
        session.advance()
        session.draw_landscape_if_due()
    assert len(drawn_at) >= 2 and (np.diff(drawn_at) >= 1.0 + LANDSCAPE_COST_SHARE * 1.0).all()


def test_a_refused_value_at_reset_leaves_the_run_as_it_was(clock, tmp_path):
    events = []
    session = running_session(events, clock, tmp_path)
    step, serial = session.learner.step, session.serial
    del events[:]
    session.prepare(config(population=4, elite=5))  # each value in range, together refused
    [refused] = of(events, InputRejected)
    assert "elite=5" in refused.message
    assert session.phase is Status.RUNNING and session.serial == serial and session.learner.step == step
    session.advance()  # and it goes on
    assert session.learner.step > step


def test_a_step_after_the_run_ended_keeps_its_state_and_says_nothing_more(clock, faulty_objectives):
    events = []
    session = timed_session(events, clock, cost=0.001)
    session.prepare(RunConfig("genetic", "raises-from-step", 2, steps=None))
    session.start()
    session.advance()
    failed = of(events, RunState)[-1]
    assert failed.phase is Status.FAILED and "ValueError: a bug" in failed.message
    del events[:]
    session.step()
    assert not of(events, RunFailed) and session.message == failed.message and session.phase is Status.FAILED
