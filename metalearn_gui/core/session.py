"""One run's lifecycle, without Qt: prepare, start, pause, step, live changes, pacing,
back-pressure, recording, landscape and failures.

A :class:`RunSession` owns one learner. It prepares it for a :class:`RunConfig` (reusing
the learner, and its compiled graphs, when only the seed or values differ), starts,
pauses and steps it, applies live hyper-parameter changes between chunks, paces it
(steps per second, or as fast as possible), records it (run store and TensorBoard,
through a :class:`RunRecorder`) and computes its landscape when due; for an objective
with held-out tasks, it evaluates the best θ on them (and the objective's task view)
on a schedule of its own, sending the baselines once. What it produces goes to one
callback, ``on_event``, as plain values (:mod:`metalearn_gui.core.events`): chunks,
states, landscapes, held-out results and messages, never the learner. The window's worker turns them into Qt
signals; a test collects them in a list.

Every method runs on the thread that drives the session (commands are taken between
chunks, as superqt's ``GeneratorWorker`` checks pause and abort between yields), except
:meth:`~RunSession.chunk_taken`, :meth:`~RunSession.request_abandon` and
:meth:`~RunSession.unanswered`, which any thread may call. Several sessions can share
one thread: :mod:`metalearn_gui.core.scheduler` gives each its turn.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from metalearn_gui.core.evaluation import Evaluation, ObjectiveFailure
from metalearn_gui.core.events import (
    BaselinesReady,
    ChunkMessage,
    EvaluationsFailed,
    Event,
    HeldOutResult,
    InputRejected,
    Notice,
    RecordCopy,
    RunFailed,
    RunState,
)
from metalearn_gui.core.executors import EvaluationSettings
from metalearn_gui.core.history import History
from metalearn_gui.core.hyperparams import HyperParamError, Value
from metalearn_gui.core.landscape import compute_landscape
from metalearn_gui.core.learners import Chunk, Learner, learner_class
from metalearn_gui.core.objectives.tasks import TaskDistribution
from metalearn_gui.core.record import RECORD_CHUNK_ROWS, RaceEntry
from metalearn_gui.core.recorder import RunRecorder
from metalearn_gui.core.run import RunConfig, summarize
from metalearn_gui.core.status import Status
from metalearn_gui.core.store import RunStore, StoreError
from metalearn_gui.core.summary import RunSummary
from metalearn_gui.core.tf_runtime import tf_loaded

log = logging.getLogger(__name__)

#: Work per chunk at full speed: short enough that commands feel immediate.
CHUNK_SECONDS = 0.05
#: Rows of one chunk a consumer gets (thinned by the history's rule, which keeps the
#: extremes and the improvements of the best loss): plots draw ~1,000 buckets of a
#: whole run, and every row sent costs the consumer's time.
MAX_CHUNK_ROWS = 1024
#: Chunks handed out but not yet taken (:meth:`RunSession.chunk_taken`); beyond this the
#: session merges chunks instead of handing out more (a consumer that cannot keep up must
#: not fall behind).
MAX_IN_FLIGHT = 2
#: The landscape follows the moving θ at most this often…
LANDSCAPE_SECONDS = 0.5
#: …and takes at most 1/LANDSCAPE_COST_SHARE of the session's time (an expensive plane,
#: as lr-schedule's thousands of inner training runs, must not starve the run).
LANDSCAPE_COST_SHARE = 10
#: The held-out evaluation of the best θ (and its task view) follows a new best at most
#: this often, and takes at most 1/HELDOUT_COST_SHARE of the session's time (for
#: fewshot-digits it trains networks on every held-out task).
HELDOUT_SECONDS = 1.0
HELDOUT_COST_SHARE = 10


@dataclass(frozen=True)
class Recording:
    """Where runs go: the run store's folder (None: not stored) and a TensorBoard log
    folder (None: no log)."""

    data_dir: Path | None
    tensorboard_dir: Path | None = None


def _guarded(method: Callable[..., None]) -> Callable[..., None]:
    """Report whatever ``method`` raises instead of raising it: a refused value as
    :class:`InputRejected`, any other error as a failed run; the thread keeps serving."""

    @functools.wraps(method)
    def guarded(self: RunSession, *args: Any, **kwargs: Any) -> None:
        try:
            method(self, *args, **kwargs)
        except HyperParamError as error:
            self.on_event(InputRejected(str(error)))
            self._emit_state()
        except Exception as error:  # any failure must reach the user, not kill the thread
            log.exception("run session failed")
            self._fail(error)

    return guarded


class RunSession:
    """One learner's lifecycle; output goes to ``on_event`` (see the module docstring).

    Parameters
    ----------
    on_event:
        Called on the session's thread with every :data:`Event`.
    clock:
        Seconds, for pacing and the landscape's schedule (a test may drive it).
    build:
        Makes the learner for a configuration (default :meth:`RunConfig.build`).
    source:
        What the run store records as the runs' origin.
    on_rows:
        Called with every chunk as the learner made it (step 0's included), before any
        thinning, and the seconds the run has spent advancing by its end: for a consumer
        that needs every row (a race finding the first evaluation that reached a target).
    """

    def __init__(self, on_event: Callable[[Event], None], clock: Callable[[], float] = time.perf_counter,
                 build: Callable[[RunConfig], Learner] = RunConfig.build, source: str = "window",
                 on_rows: Callable[[Chunk, float], None] | None = None) -> None:
        self.on_event = on_event
        self.clock = clock
        self._build = build
        self.source = source
        self.on_rows = on_rows
        #: The race (and entrant) this session's runs are stored as part of, if any.
        self.race: RaceEntry | None = None
        #: Whether to compute landscapes at all (a race draws one entrant's; the command line none).
        self.draws_landscape = True
        self.learner: Learner | None = None
        self.config: RunConfig | None = None
        self.serial = 0
        self.phase = Status.READY
        self.message = ""
        self._loading_tensorflow = False
        self.steps_per_second: float | None = None  # None: as fast as possible
        self._step_budget = 0.0
        self._last_advance = clock()
        self._rate = 0.0
        self._population: np.ndarray | None = None
        self._held: Chunk | None = None  # merged chunks waiting for the consumer to catch up
        #: Chunks are handed out at most this often (seconds; 0: each as it comes), merged in
        #: between: a consumer drawing a few frames a second (a race's window, whose every
        #: chunk wakes its thread) needs no more.
        self.hand_out_seconds = 0.0
        self._handed_at = -math.inf
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self._axes: tuple[int, ...] = (0, 1)
        self._landscape_due = 0.0
        self._landscape_wanted = False
        self._landscape_failed = False  # this run's objective cannot draw it: not tried again
        self._heldout_due = 0.0
        self._heldout_of: np.ndarray | None = None  # the best θ last evaluated on held-out tasks
        self._heldout_failed = False
        self._baselines_sent = False
        self.store: RunStore | None = None
        self._tensorboard_dir: Path | None = None
        self.recorder: RunRecorder | None = None
        self._seconds_advancing = 0.0
        #: Where a user's objective that is not vectorised is evaluated (from the next run on).
        self.evaluation = EvaluationSettings()
        self._failed_evaluations = 0  # in this run so far
        #: Set (from any thread, :meth:`request_abandon`) before a command that leaves the
        #: run: an objective that has not answered is then abandoned, so the command is taken.
        self.abandon_requested = threading.Event()

    @property
    def running(self) -> bool:
        return self.phase is Status.RUNNING

    # -- commands ---------------------------------------------------------------------------
    @_guarded
    def prepare(self, config: RunConfig) -> None:
        """Leave the current run (recorded as stopped) and go to ``config``'s step 0,
        reusing the learner when only seed or values differ."""
        self._prepare(config)

    def _prepare(self, config: RunConfig) -> None:
        # Every value is checked before the current run is left: a refused one (a population
        # below its elite) leaves that run as it was. Building a learner is cheap (no
        # TensorFlow until its reset); a reused learner takes the values below.
        built = self._build(config)
        self.abandon_requested.clear()
        self._finish_recording(Status.STOPPED)
        self.recorder = None  # a reset that fails must not leave the last run's id on this one
        self.serial += 1
        self._landscape_failed = False
        self._heldout_due, self._heldout_of, self._heldout_failed = 0.0, None, False
        self._baselines_sent = False
        self._held, self._handed_at = None, -math.inf
        learner = self.learner if config.same_problem(self.config) else None
        if learner is None:  # drop the old learner first: a failed build must not leave it half-used,
            # and its compiled TensorFlow state goes to the next learner of its shape (graph_pool)
            if self.learner is not None:
                self.learner.evaluator.close()
            self.learner, self._population = None, None
        self.config = config
        uses_tensorflow = learner_class(config.learner).uses_tensorflow
        self._loading_tensorflow = uses_tensorflow and not tf_loaded()
        self.phase = Status.PREPARING
        self.message = ("Loading TensorFlow…" if self._loading_tensorflow
                        else "Compiling…" if uses_tensorflow else "Starting…")
        self._emit_state()
        try:
            if learner is not None:
                learner.set_hyperparameters(config.hyperparameters)
            else:
                learner = self.learner = built
                learner.evaluator.abandon = self.abandon_requested.is_set
            learner.evaluator.use(self.evaluation)
            learner.evaluator.drain_failures()  # the run left behind
            self._failed_evaluations = 0
            chunk = learner.reset(config.seed)
        finally:
            self._loading_tensorflow = False
        self._seconds_advancing = 0.0
        self.recorder = RunRecorder(config, learner, self.source, self.store, self._tensorboard_dir,
                                    on_warning=self._warn, race=self.race)
        if self.on_rows is not None:
            self.on_rows(chunk, 0.0)
        self._record(chunk)
        self._hand_out(chunk)  # before "ready", so a ready run always has its step 0 drawn
        self._report_failed_evaluations()
        self.phase, self.message = Status.READY, ""
        self._emit_state()
        self._landscape_wanted = True

    @_guarded
    def start(self) -> None:
        """Run (again from step 0 if the run has ended, like a media player's play)."""
        if self.learner is None or self.config is None:
            return
        if self.learner.status is not Status.RUNNING:
            self._prepare(self.config)
        self.phase, self.message = Status.RUNNING, ""
        self._step_budget, self._last_advance = 1.0, self.clock()
        self._emit_state()

    @_guarded
    def pause(self) -> None:
        if self.running:
            self.phase = Status.PAUSED
            self._landscape_wanted = True  # the paused picture must show where θ stopped
            self._emit_state()

    @_guarded
    def step(self) -> None:
        """Pause, and advance exactly one step (nothing once the run has ended: its
        state keeps saying why)."""
        if self.learner is None or self.learner.status.is_finished():
            return
        self.phase = Status.PAUSED
        started = self.clock()
        chunk = self.learner.advance(max_steps=1)
        self._seconds_advancing += self.clock() - started
        self._publish(chunk)  # emits the state: not running
        self._landscape_wanted = True

    @_guarded
    def set_values(self, values: dict[str, Value]) -> None:
        """Hyper-parameter values: live ones apply from the next chunk (and are recorded as
        changes), the others wait for the next :meth:`prepare`."""
        if self.learner is None:
            return
        self.learner.set_hyperparameters(values)
        self._emit_state()

    def set_evaluation(self, settings: EvaluationSettings) -> None:
        """Evaluate a user's objective that is not vectorised where ``settings`` say, from
        the next reset on (the run under way keeps its workers)."""
        self.evaluation = settings

    def set_speed(self, steps_per_second: float | None) -> None:
        """Steps per second, or None for as fast as possible."""
        self.steps_per_second = steps_per_second
        self._step_budget = min(self._step_budget, 1.0)

    def set_landscape_axes(self, axes: tuple[int, ...]) -> None:
        self._axes = tuple(axes)
        self._landscape_wanted = True

    @_guarded
    def set_recording(self, recording: Recording) -> None:
        """Store runs in (and TensorBoard-log them to) these folders from now on."""
        if recording.data_dir is not None and self.store is None:
            try:
                self.store = RunStore.open(recording.data_dir)
            except StoreError as error:
                self._warn(f"runs are not saved to the run history: {error}")
            else:
                for message in self.store.messages:
                    self._warn(message)
        self._tensorboard_dir = recording.tensorboard_dir
        if self.recorder is not None:
            self.recorder.set_tensorboard(self._tensorboard_dir)

    def copy_record(self) -> None:
        """Hand out a :class:`RecordCopy` of the run as recorded so far, with its summary as
        it stands (pause first: the copy then describes one step of a run that waits)."""
        record = self.recorder.record if self.recorder is not None else None
        if record is not None:
            history = record.history
            record = replace(record, changes=list(record.changes), summary=self._state_summary(),
                             history=History.from_table(history.dim, history.extra_names, history.table(),
                                                        history.rows_seen, history.capacity))
        self.on_event(RecordCopy(self.serial, record))

    def leave(self) -> None:
        """The user leaves the session (the window closes): the run ends as stopped."""
        self.abandon_requested.clear()
        try:
            self._finish_recording(Status.STOPPED)
        finally:
            if self.learner is not None:
                self.learner.evaluator.close()
            if self.store is not None:
                self.store.close()
                self.store = None

    # -- any thread -------------------------------------------------------------------------
    def request_abandon(self) -> None:
        """Give up on an objective that has not answered (before a command that leaves the run)."""
        self.abandon_requested.set()

    def chunk_taken(self) -> None:
        """The consumer took one :class:`ChunkMessage` (it must say so for every one)."""
        with self._in_flight_lock:
            self._in_flight -= 1

    def unanswered(self) -> Evaluation | None:
        """The evaluation an objective (not built in) is working on, if any: to tell the
        user when one takes long."""
        learner = self.learner
        return learner.evaluator.current if learner is not None else None

    # -- driven by the thread's loop ------------------------------------------------------
    def wait_seconds(self) -> float | None:
        """How long until the session wants the thread again (None: not before a command)."""
        if self._landscape_pending():
            return 0.0
        heldout = max(self._heldout_due - self.clock(), 0.0) if self._heldout_pending() else None
        if not self.running:
            return heldout
        if self.steps_per_second is None or self._step_budget >= 1.0:
            return 0.0
        pace = (1.0 - self._step_budget) / self.steps_per_second
        return pace if heldout is None else min(pace, heldout)

    @_guarded
    def advance(self, seconds: float = CHUNK_SECONDS) -> None:
        """If running and due, advance by one chunk of at most ``seconds`` (and, when paced,
        at most the steps its speed has allowed since the last chunk)."""
        if not self.running or self.learner is None:
            return
        now = started = self.clock()
        if self.steps_per_second is None:
            chunk = self.learner.advance(max_seconds=seconds)
        else:
            self._step_budget = min(self._step_budget + (now - self._last_advance) * self.steps_per_second,
                                    max(1.0, self.steps_per_second * CHUNK_SECONDS))
            steps = int(self._step_budget)
            if steps == 0:
                self._last_advance = now
                return
            chunk = self.learner.advance(max_steps=steps, max_seconds=seconds)
            self._step_budget -= len(chunk)
        # Wall-clock rate (chunk time plus the wait before it), smoothed for display.
        finished = self.clock()
        self._seconds_advancing += finished - started
        rate = len(chunk) / max(finished - self._last_advance, 1e-9)
        self._rate = 0.8 * self._rate + 0.2 * rate if self._rate else rate
        self._last_advance = finished
        self._publish(chunk)

    @_guarded
    def draw_landscape_if_due(self) -> None:
        """Compute and hand out the landscape if wanted (a new run, a pause, new axes, or
        :data:`LANDSCAPE_SECONDS` of running) and allowed by its cost share."""
        learner = self.learner
        if learner is None or not self._landscape_pending():
            return
        self._landscape_wanted = False
        started = self.clock()
        try:
            landscape = compute_landscape(learner, self._axes, self._population, self.serial)
        except ObjectiveFailure as failure:  # the picture is lost, not the run
            if not self.abandon_requested.is_set():
                self._landscape_failed = True
                self._warn(f"the landscape cannot be drawn: {failure}")
            return
        except Exception as error:  # a bug drawing it: the picture is lost, not the run
            log.exception("landscape failed")
            self._landscape_failed = True
            self._warn(f"the landscape cannot be drawn: {type(error).__name__}: {error}")
            return
        cost = self.clock() - started
        self._landscape_due = self.clock() + max(LANDSCAPE_SECONDS, LANDSCAPE_COST_SHARE * cost)
        self.on_event(landscape)

    @_guarded
    def evaluate_heldout_if_due(self) -> None:
        """For an objective with held-out tasks: once the best θ has changed and
        :data:`HELDOUT_SECONDS` have passed (and the last evaluation's cost share allows),
        hand out its results on them and its task view — the baselines first, once."""
        learner = self.learner
        if learner is None or not self._heldout_pending() or self.clock() < self._heldout_due:
            return
        objective, theta = learner.objective, learner.theta_best
        assert isinstance(objective, TaskDistribution) and theta is not None  # _heldout_pending
        try:
            if not self._baselines_sent:  # once per objective, seconds perhaps: not in the cost share
                self.on_event(BaselinesReady(self.serial, tuple(objective.baselines())))
                self._baselines_sent = True
            started = self.clock()
            result = objective.heldout(theta[None, :])
            view = objective.task_view(theta)
        except Exception as error:  # a bug in the objective: the comparison is lost, not the run
            log.exception("held-out evaluation failed")
            self._heldout_failed = True
            self._warn(f"the held-out tasks cannot be evaluated: {type(error).__name__}: {error}")
            return
        cost = self.clock() - started
        self._heldout_of = theta
        self._heldout_due = self.clock() + max(HELDOUT_SECONDS, HELDOUT_COST_SHARE * cost)
        accuracy = None if result.accuracy is None else float(result.accuracy[0])
        self.on_event(HeldOutResult(self.serial, learner.step, learner.evaluations, float(result.loss[0]),
                                    accuracy, view))

    # -- internals ----------------------------------------------------------------------------
    def _landscape_pending(self) -> bool:
        return (self.draws_landscape and self._landscape_wanted and not self._landscape_failed
                and self.learner is not None and self.learner.theta is not None
                and not isinstance(self.learner.objective.landscape_axes(), str))

    def _heldout_pending(self) -> bool:
        """Whether the best θ has changed since its last held-out evaluation (the learner
        replaces ``theta_best`` with a new array at every improvement). Not in a race: its
        entrants are compared on their own losses, at equal evaluations and shares of time."""
        learner = self.learner
        return (learner is not None and self.race is None and not self._heldout_failed
                and learner.theta_best is not None
                and learner.theta_best is not self._heldout_of
                and isinstance(learner.objective, TaskDistribution))

    def _publish(self, chunk: Chunk) -> None:
        if self.on_rows is not None:
            self.on_rows(chunk, self._seconds_advancing)
        # Thinned once, as the record keeps it: what is handed out is thinned from these rows.
        chunk = chunk.thinned(RECORD_CHUNK_ROWS)
        self._record(chunk)
        self._hand_out(chunk)
        self._report_failed_evaluations()
        if chunk.status.is_finished():
            learner = self.learner
            assert learner is not None  # the chunk is its
            learner.evaluator.close()  # its workers start again with the next run
            self.phase = chunk.status
            self.message = chunk.message or f"{chunk.status} at step {learner.step}"
            self._landscape_wanted = True
            if chunk.status is Status.FAILED and not self.abandon_requested.is_set():
                self.on_event(RunFailed(chunk.message, learner.failure.details if learner.failure else ""))
        if not self.running:
            self._emit_state()
        if self.clock() >= self._landscape_due:
            self._landscape_wanted = True

    def _hand_out(self, chunk: Chunk, at_once: bool = False) -> None:
        """Give ``chunk`` to the consumer, or hold it (merged with what is held, thinned)
        while the consumer has :data:`MAX_IN_FLIGHT` chunks it has not taken or the last was
        handed out less than :attr:`hand_out_seconds` ago (a run that ends, or ``at_once``: at once)."""
        if self._held is not None:
            chunk = chunk.after(self._held)
            self._held = None
        with self._in_flight_lock:
            backlog = self._in_flight >= MAX_IN_FLIGHT
        chunk = chunk.thinned(MAX_CHUNK_ROWS)
        now = self.clock()
        too_soon = now - self._handed_at < self.hand_out_seconds
        if (backlog or too_soon) and self.running and chunk.status is Status.RUNNING and not at_once:
            self._held = chunk
            return
        if "population" in chunk.snapshot:
            self._population = chunk.snapshot["population"]
        self._handed_at = now
        with self._in_flight_lock:
            self._in_flight += 1
        self.on_event(ChunkMessage(self.serial, chunk, self._rate if self.running else 0.0))

    def _report_failed_evaluations(self) -> None:
        failures = self.learner.evaluator.drain_failures() if self.learner is not None else []
        if failures:
            self._failed_evaluations += len(failures)
            self.on_event(EvaluationsFailed(self.serial, tuple(failures), self._failed_evaluations))

    def hand_out_held(self) -> None:
        """Hand out the rows held back now (a race that stops: the views end at the last row)."""
        if self._held is not None:
            held, self._held = self._held, None
            self._hand_out(held, at_once=True)

    def _emit_state(self) -> None:
        if not self.running:  # the state must not overtake data
            self.hand_out_held()
        learner = self.learner
        self.on_event(RunState(
            serial=self.serial,
            config=self.config,
            phase=self.phase,
            hp=dict(learner.hp) if learner else {},
            pending=dict(learner.pending) if learner else {},
            changes=tuple(learner.changes) if learner else (),
            message=self.message,
            tf_loaded=tf_loaded(),
            loading_tensorflow=self._loading_tensorflow,
            record_id=self.recorder.run_id if self.recorder else None,
            summary=self._state_summary() if learner and not self.running else None,
        ))

    def _fail(self, error: Exception) -> None:
        if isinstance(error, ObjectiveFailure):  # names the step and θ; its traceback is the objective's
            message, details = str(error), error.details
        else:
            message, details = f"{type(error).__name__}: {error}", traceback.format_exc()
        self.phase, self.message = Status.FAILED, message
        self.on_event(RunFailed(message, details))
        self._emit_state()

    def _warn(self, message: str) -> None:
        self.on_event(Notice("warning", message))

    # -- recording -----------------------------------------------------------------------------
    def _state_summary(self) -> RunSummary | None:
        """The run's summary: the recorded one once it ended (computed once: for lr-schedule
        it re-trains on the held-out tasks), else the learner's as it stands."""
        record = self.recorder.record if self.recorder else None
        return record.summary if record and record.summary else _summary(self.learner, self._seconds_advancing)

    def _record(self, chunk: Chunk) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        recorder.add(chunk)
        # An evaluation abandoned for a reset or close: the run ends as "stopped" with it.
        if chunk.status.is_finished() and not self.abandon_requested.is_set():
            recorder.finish(summarize(recorder.learner, self._seconds_advancing))

    def _finish_recording(self, status: Status) -> None:
        """The user left the run (reset, switch, close): it ends as ``status``."""
        if self.recorder is not None:
            self.recorder.finish(summarize(self.recorder.learner, self._seconds_advancing), status)


def _summary(learner: Learner | None, seconds: float) -> RunSummary | None:
    return summarize(learner, seconds) if learner is not None and learner.seed is not None else None
