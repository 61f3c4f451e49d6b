"""The only place where Qt meets the core: a learner driven on one long-lived QThread.

The GUI talks to :class:`Worker` through :class:`RunController`, which puts commands
on a thread-safe queue. The worker loop takes them between chunks, advances the
learner by time-bounded chunks and emits plain Python payloads (numpy arrays,
dataclasses) — never per step, never TensorFlow objects. Every exception is caught
and reported with its traceback through ``run_failed``; the thread keeps serving.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from metalearn_gui.core.evaluation import Evaluation, ObjectiveFailure
from metalearn_gui.core.history import thin_rows
from metalearn_gui.core.hyperparams import Change, HyperParamError, Value
from metalearn_gui.core.landscape import (
    GRID as LANDSCAPE_GRID, Landscape, grid_points, grid_shape, true_landscape,
)
from metalearn_gui.core.learners import Chunk, Learner, Status, learner_class
from metalearn_gui.core.recorder import RunRecorder
from metalearn_gui.core.run import RunConfig, summarize
from metalearn_gui.core.store import RunStore, StoreError
from metalearn_gui.core.summary import RunSummary
from metalearn_gui.core.tf_runtime import tf_loaded

log = logging.getLogger(__name__)

#: Work per chunk at full speed: short enough that commands feel immediate.
CHUNK_SECONDS = 0.05
#: Rows of one chunk the GUI gets (thinned by the history's rule, which keeps the
#: extremes and the improvements of the best loss): plots draw ~1,000 buckets of a
#: whole run, and every row sent costs GUI-thread time.
MAX_CHUNK_ROWS = 1024
#: Chunks sent but not yet taken by the GUI; beyond this the worker merges chunks
#: instead of queueing more signals (a GUI that cannot keep up must not fall behind).
MAX_IN_FLIGHT = 2
#: The landscape follows the moving θ at most this often.
LANDSCAPE_SECONDS = 0.5
LANDSCAPE_COST_SHARE = 10
GIL_SWITCH_SECONDS = 0.0001
#: Every controller alive, so tests can check that no worker thread is left running.
CONTROLLERS: weakref.WeakSet[RunController] = weakref.WeakSet()


@dataclass(frozen=True)
class RunState:
    """The worker's state, sent whenever it changes."""

    #: Counts the worker's runs (each prepare starts one): tells a chunk or state of a run the
    #: window has left from one of the current run. Not the run store's id (``record_id``).
    run_serial: int
    config: RunConfig | None
    phase: str  # preparing, ready, running, paused, converged, diverged, failed
    hp: dict[str, Value]
    pending: dict[str, Value]
    changes: tuple[Change, ...]
    message: str = ""
    tf_loaded: bool = False
    #: The run's id in the run store (None until its first step is stored, or unstored).
    record_id: int | None = None
    #: :func:`summarize` of the run when it is not running (None while it runs).
    summary: RunSummary | None = None


@dataclass(frozen=True)
class Recording:
    """Where the worker's runs go: the run store's folder (None: not stored) and a
    TensorBoard log folder (None: no log)."""

    data_dir: Path | None
    tensorboard_dir: Path | None = None


@dataclass(frozen=True)
class ChunkMessage:
    run_serial: int
    chunk: Chunk
    steps_per_second: float


class Worker(QObject):
    """Owns the learner; lives on its own QThread and runs :meth:`serve` there."""

    chunk_ready = Signal(object)  # ChunkMessage
    state_changed = Signal(object)  # RunState
    landscape_ready = Signal(object)  # Landscape
    input_rejected = Signal(str)  # a bad value from the user, one line
    run_failed = Signal(str, str)  # one line, traceback
    notice = Signal(str, str)  # kind (info, warning), one line: the run store's news

    def __init__(self) -> None:
        super().__init__()
        self.commands: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._learner: Learner | None = None
        self._spec: RunConfig | None = None
        self._run_id = 0
        self._phase = "ready"
        self._message = ""
        self._running = False
        self._steps_per_second: float | None = None  # None = as fast as possible
        self._step_budget = 0.0
        self._last_advance = time.perf_counter()
        self._rate = 0.0
        self._population: np.ndarray | None = None
        self._held: Chunk | None = None  # merged chunks waiting for the GUI to catch up
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self._axes = (0, 1)
        self._landscape_due = 0.0
        self._landscape_wanted = False
        self._landscape_failed = False  # this run's objective cannot draw it: not tried again
        self._stopping = False
        self._store: RunStore | None = None
        self._tensorboard_dir: Path | None = None
        self._recorder: RunRecorder | None = None
        self._seconds_advancing = 0.0
        #: Set by the controller with a command that leaves the run (prepare, stop): an
        #: objective that has not answered is then abandoned, so the command is taken.
        self.abandon_requested = threading.Event()

    # -- the loop ---------------------------------------------------------------------
    def serve(self) -> None:
        """Take commands and advance the learner until told to stop."""
        while not self._stopping:
            self._take_commands(self._wait_seconds())
            if self._stopping:
                break
            self._guarded(self._advance_if_due)
            self._guarded(self._landscape_if_due)
        log.debug("worker stopped")

    def _wait_seconds(self) -> float | None:
        """How long to block waiting for commands (None = until one arrives)."""
        if self._landscape_wanted:
            return 0.0
        if not self._running:
            return None
        if self._steps_per_second is None or self._step_budget >= 1.0:
            return 0.0
        return (1.0 - self._step_budget) / self._steps_per_second

    def _take_commands(self, wait: float | None) -> None:
        try:
            command = self.commands.get(timeout=wait) if wait != 0.0 else self.commands.get_nowait()
        except queue.Empty:
            return
        while True:
            name, argument = command
            try:
                self._guarded(getattr(self, f"_do_{name}"), argument)
            finally:
                self.commands.task_done()  # RunController.idle() counts the commands still to do
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return

    def _guarded(self, action: Callable[..., None], *args: Any) -> None:
        try:
            action(*args)
        except HyperParamError as error:
            self.input_rejected.emit(str(error))
            self._emit_state()
        except Exception as error:  # noqa: BLE001 - any failure must reach the user, not kill the thread
            log.exception("worker failed")
            self._running = False
            if isinstance(error, ObjectiveFailure):  # names the step and θ; its traceback is the objective's
                self._phase, self._message, details = "failed", str(error), error.details
            else:
                self._phase, self._message = "failed", f"{type(error).__name__}: {error}"
                details = traceback.format_exc()
            self.run_failed.emit(self._message, details)
            self._emit_state()

    # -- commands (run on the worker thread) -----------------------------------------
    def _do_stop(self, _: None) -> None:
        self.abandon_requested.clear()
        try:
            self._finish_recording("stopped")
        finally:  # whatever happens, the loop must end: the window waits to join it
            if self._store is not None:
                self._store.close()
            self._stopping = True

    def _do_record(self, recording: Recording) -> None:
        """Store runs in (and TensorBoard-log them to) these folders from now on."""
        if recording.data_dir is not None and self._store is None:
            try:
                self._store = RunStore.open(recording.data_dir)
            except StoreError as error:
                self._warn(f"runs are not saved to the run history: {error}")
            else:
                for message in self._store.messages:
                    self._warn(message)
        self._tensorboard_dir = recording.tensorboard_dir
        if self._recorder is not None:
            self._recorder.set_tensorboard(self._tensorboard_dir)

    def _do_prepare(self, spec: RunConfig) -> None:
        """Reset to ``spec``'s step 0, reusing the learner when only seed or values differ."""
        self.abandon_requested.clear()
        self._finish_recording("stopped")
        self._recorder = None  # a reset that fails must not leave the last run's id on this one
        self._running = False
        self._run_id += 1
        self._landscape_failed = False
        reuse = self._learner is not None and spec.same_problem(self._spec)
        self._held = None
        if not reuse:  # drop the old learner first: a failed build must not leave it half-used,
            # and its compiled TensorFlow state goes to the next learner of its shape (graph_pool)
            self._learner, self._population, self._recorder = None, None, None
        self._spec = spec
        cls = learner_class(spec.learner)
        self._phase = "preparing"
        self._message = ("Loading TensorFlow…" if cls.uses_tensorflow and not tf_loaded()
                         else "Compiling…" if cls.uses_tensorflow else "Starting…")
        self._emit_state()
        if reuse:
            self._learner.set_hyperparameters(spec.hyperparameters)
        else:
            self._learner = spec.build()
            self._learner.evaluator.abandon = self.abandon_requested.is_set
        chunk = self._learner.reset(spec.seed)
        self._seconds_advancing = 0.0
        self._recorder = RunRecorder(spec, self._learner, "window", self._store, self._tensorboard_dir,
                                     on_warning=self._warn)
        self._record(chunk)
        self._emit_chunk(chunk)  # before "ready", so a ready run always has its step 0 drawn
        self._phase, self._message = "ready", ""
        self._emit_state()
        self._landscape_wanted = True

    def _do_start(self, _: None) -> None:
        if self._learner is None:
            return
        if self._learner.status is not Status.RUNNING:
            self._do_prepare(self._spec)  # play after the end starts again, like a media player
        self._running = True
        self._step_budget, self._last_advance = 1.0, time.perf_counter()
        self._phase, self._message = "running", ""
        self._emit_state()

    def _do_pause(self, _: None) -> None:
        if self._running:
            self._running = False
            self._phase = "paused"
            self._landscape_wanted = True  # the paused picture must show where θ stopped
            self._emit_state()

    def _do_step(self, _: None) -> None:
        if self._learner is None:
            return
        self._running = False
        self._phase = "paused"
        started = time.perf_counter()
        chunk = self._learner.advance(max_steps=1)
        self._seconds_advancing += time.perf_counter() - started
        self._publish(chunk)  # emits the state: not running
        self._landscape_wanted = True

    def _do_set(self, values: dict[str, Value]) -> None:
        if self._learner is None:
            return
        self._learner.set_hyperparameters(values)
        self._emit_state()

    def _do_speed(self, steps_per_second: float | None) -> None:
        self._steps_per_second = steps_per_second
        self._step_budget = min(self._step_budget, 1.0)

    def _do_landscape(self, axes: tuple[int, int]) -> None:
        self._axes = axes
        self._landscape_wanted = True

    # -- running ----------------------------------------------------------------------
    def _advance_if_due(self) -> None:
        if not self._running or self._learner is None:
            return
        now = started = time.perf_counter()
        if self._steps_per_second is None:
            chunk = self._learner.advance(max_seconds=CHUNK_SECONDS)
        else:
            self._step_budget = min(self._step_budget + (now - self._last_advance) * self._steps_per_second,
                                    max(1.0, self._steps_per_second * CHUNK_SECONDS))
            steps = int(self._step_budget)
            if steps == 0:
                self._last_advance = now
                return
            chunk = self._learner.advance(max_steps=steps, max_seconds=CHUNK_SECONDS)
            self._step_budget -= len(chunk)
        # Wall-clock rate (chunk time plus the wait before it), smoothed for display.
        finished = time.perf_counter()
        self._seconds_advancing += finished - started
        rate = len(chunk) / max(finished - self._last_advance, 1e-9)
        self._rate = 0.8 * self._rate + 0.2 * rate if self._rate else rate
        self._last_advance = finished
        self._publish(chunk)

    def _publish(self, chunk: Chunk) -> None:
        self._record(chunk)
        self._emit_chunk(chunk)
        if chunk.status is not Status.RUNNING:
            self._running = False
            self._phase = chunk.status.value
            self._message = chunk.message or f"{chunk.status.value} at step {self._learner.step}"
            self._landscape_wanted = True
            if chunk.status is Status.FAILED and not self.abandon_requested.is_set():
                self.run_failed.emit(chunk.message, self._learner.failure.details)
        if not self._running:
            self._emit_state()
        if time.perf_counter() >= self._landscape_due:
            self._landscape_wanted = True

    def chunk_taken(self) -> None:
        """Called by the GUI thread for every chunk it received."""
        with self._in_flight_lock:
            self._in_flight -= 1

    def _emit_chunk(self, chunk: Chunk) -> None:
        if self._held is not None:
            chunk = _merged(self._held, chunk)
            self._held = None
        with self._in_flight_lock:
            backlog = self._in_flight >= MAX_IN_FLIGHT
        if backlog and self._running and chunk.status is Status.RUNNING:
            self._held = _thinned(chunk, MAX_CHUNK_ROWS)
            return
        if len(chunk) > MAX_CHUNK_ROWS:
            chunk = _thinned(chunk, MAX_CHUNK_ROWS)
        if "population" in chunk.snapshot:
            self._population = chunk.snapshot["population"]
        with self._in_flight_lock:
            self._in_flight += 1
        rate = self._rate if self._running else 0.0
        self.chunk_ready.emit(ChunkMessage(self._run_id, chunk, rate))

    def _emit_state(self) -> None:
        if self._held is not None and not self._running:  # the state must not overtake data
            held, self._held = self._held, None
            self._emit_chunk(held)
        learner = self._learner
        self.state_changed.emit(RunState(
            run_serial=self._run_id,
            config=self._spec,
            phase=self._phase,
            hp=dict(learner.hp) if learner else {},
            pending=dict(learner.pending) if learner else {},
            changes=tuple(learner.changes) if learner else (),
            message=self._message,
            tf_loaded=tf_loaded(),
            record_id=self._recorder.run_id if self._recorder else None,
            summary=self._state_summary() if learner and not self._running else None,
        ))

    # -- recording ---------------------------------------------------------------------
    def _state_summary(self) -> RunSummary | None:
        """The run's summary: the recorded one once it ended (computed once: for lr-schedule
        it re-trains on the held-out tasks), else the learner's as it stands."""
        record = self._recorder.record if self._recorder else None
        return record.summary if record and record.summary else _summary(self._learner, self._seconds_advancing)

    def _warn(self, message: str) -> None:
        self.notice.emit("warning", message)

    def unanswered(self) -> Evaluation | None:
        """The evaluation an objective (not built in) is working on, if any; safe to call
        from the GUI thread, to tell the user when one takes long."""
        learner = self._learner
        return learner.evaluator.current if learner is not None else None

    def _record(self, chunk: Chunk) -> None:
        recorder = self._recorder
        if recorder is None:
            return
        recorder.add(chunk)
        # An evaluation abandoned for a reset or close: the run ends as "stopped" with it.
        if chunk.status is not Status.RUNNING and not self.abandon_requested.is_set():
            recorder.finish(summarize(recorder.learner, self._seconds_advancing))

    def _finish_recording(self, status: str) -> None:
        """The user left the run (reset, switch, close): it ends as ``status``."""
        if self._recorder is not None:
            self._recorder.finish(summarize(self._recorder.learner, self._seconds_advancing), status)

    # -- landscape ----------------------------------------------------------------------
    def _landscape_if_due(self) -> None:
        if (not self._landscape_wanted or self._learner is None or self._learner.theta is None
                or self._landscape_failed):
            return
        self._landscape_wanted = False
        started = time.perf_counter()
        try:
            landscape = compute_landscape(self._learner, self._axes, self._population, self._run_id)
        except ObjectiveFailure as failure:  # the picture is lost, not the run
            if not self.abandon_requested.is_set():
                self._landscape_failed = True
                self._warn(f"the landscape cannot be drawn: {failure}")
            return
        # An expensive plane (lr-schedule: thousands of inner training runs) must not
        # starve the run: it may take at most 1/LANDSCAPE_COST_SHARE of the worker's time.
        cost = time.perf_counter() - started
        self._landscape_due = time.perf_counter() + max(LANDSCAPE_SECONDS, LANDSCAPE_COST_SHARE * cost)
        self.landscape_ready.emit(landscape)


def _summary(learner: Learner, seconds: float) -> RunSummary | None:
    return summarize(learner, seconds) if learner.seed is not None else None


def compute_landscape(learner: Learner, axes: tuple[int, ...], population: np.ndarray | None = None,
                      run_serial: int = 0, grid: int = LANDSCAPE_GRID) -> Landscape:
    """L (and the neural model's μ) on a grid over the objective's bounds on ``axes``,
    through the population's mean (genetic) or the current θ."""
    center = np.mean(population, axis=0) if population is not None else learner.theta

    def losses(thetas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return learner.evaluator.losses(thetas, rng, learner.step)

    landscape = true_landscape(learner.objective, center, axes, grid, run_serial, losses)
    region = learner.trust_region()
    if region is not None:
        model_center, radius = region
        offsets = np.linspace(-2 * radius, 2 * radius, len(landscape.xs))
        model_xs = offsets + model_center[landscape.axes[0]]
        model_ys = np.empty(0) if landscape.is_curve else offsets + model_center[landscape.axes[1]]
        mean, _ = learner.predict(grid_points(model_center, landscape.axes, model_xs, model_ys))
        landscape = replace(landscape, predicted=np.asarray(mean, float).reshape(grid_shape(model_xs, model_ys)),
                            model_xs=model_xs, model_ys=model_ys)
    return landscape


_ROW_FIELDS = ("step", "loss", "best_loss", "evaluations", "theta")


def _thinned(chunk: Chunk, rows: int) -> Chunk:
    if len(chunk) <= rows:
        return chunk
    keep = thin_rows(chunk.step, chunk.loss, chunk.best_loss, rows)
    return replace(chunk, **{name: getattr(chunk, name)[keep] for name in _ROW_FIELDS},
                   extras={name: values[keep] for name, values in chunk.extras.items()})


def _merged(first: Chunk, second: Chunk) -> Chunk:
    """Both chunks' rows, with the second's snapshot and status."""
    return replace(
        second,
        **{name: np.concatenate([getattr(first, name), getattr(second, name)]) for name in _ROW_FIELDS},
        extras={name: np.concatenate([first.extras[name], values]) for name, values in second.extras.items()},
    )


class RunController(QObject):
    """GUI-side handle of the worker thread: commands in, signals out.

    Call :meth:`shutdown` before the owner goes away; it stops the loop
    cooperatively and joins the thread (never ``QThread.terminate``).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # The learners' numpy loops hold the GIL between small array operations; a
        # shorter switch interval (default 5 ms) lets the GUI thread in sooner.
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        self.worker = Worker()
        self._thread = QThread()
        self._thread.setObjectName("metalearn-worker")
        self.worker.moveToThread(self._thread)
        self._thread.started.connect(self.worker.serve)
        self._thread.start()
        CONTROLLERS.add(self)

    def send(self, name: str, argument: Any = None) -> None:
        """Queue a command: prepare, start, pause, step, set, speed, landscape, record or stop."""
        if not hasattr(Worker, f"_do_{name}"):
            raise ValueError(f"unknown worker command {name!r}")
        if name in ("prepare", "stop"):
            self.worker.abandon_requested.set()
        self.worker.commands.put((name, argument))

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def idle(self) -> bool:
        """Whether every command sent so far has been carried out (its signals are posted;
        the GUI thread has them once it processes its events)."""
        return self.worker.commands.unfinished_tasks == 0

    def shutdown(self, timeout_ms: int = 1000) -> bool:
        """Stop and join the worker; True if it ended within ``timeout_ms``.

        A worker busy in an uninterruptible call (importing TensorFlow, compiling)
        cannot end sooner; then we keep waiting rather than kill it, because
        destroying a running QThread aborts the process.
        """
        if not self._thread.isRunning():
            return True
        self.send("stop")
        self._thread.quit()
        if self._thread.wait(timeout_ms):
            return True
        log.warning("worker busy (TensorFlow import or compile?); waiting for it to finish")
        self._thread.wait()
        return False
