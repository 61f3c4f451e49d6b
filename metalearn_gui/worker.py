"""The only place where Qt meets the core: run sessions served on one long-lived QThread.

The core's :class:`~metalearn_gui.core.scheduler.Scheduler` runs the sessions and takes
commands between chunks; this module only gives it a QThread, turns the sessions'
events into signals (plain Python payloads, never per step, never TensorFlow objects)
and offers the window typed commands through :class:`RunController`.
"""

from __future__ import annotations

import functools
import logging
import sys
import weakref
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal
from threadpoolctl import threadpool_limits

from metalearn_gui.core.evaluation import Evaluation
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
from metalearn_gui.core.hyperparams import Value
from metalearn_gui.core.interface_priority import InterfacePriority, install
from metalearn_gui.core.landscape import Landscape
from metalearn_gui.core.race import Race
from metalearn_gui.core.race_config import RaceConfig
from metalearn_gui.core.run import RunConfig
from metalearn_gui.core.scheduler import Scheduler
from metalearn_gui.core.session import Recording, RunSession

log = logging.getLogger(__name__)

#: The learners' numpy loops hold the GIL between small array operations; a shorter
#: switch interval (default 5 ms) lets the GUI thread in sooner.
GIL_SWITCH_SECONDS = 0.0001
#: numpy's BLAS threads for the whole process. The learners multiply a population by a D×D
#: matrix: too small to share out, and between products OpenBLAS's helper threads spin on
#: the cores the window and the worker need. Multi-threaded, a genetic run (rastrigin, D = 10)
#: made 0.4-0.7 M evaluations/s on a busy 2-core machine once its population passed a few
#: thousand, single-threaded 1.1-1.7 M.
BLAS_THREADS = 1
#: The window's claim to go first: while it redraws (``with INTERFACE_PRIORITY.interface_busy():``)
#: the worker steps aside at its next yield point, within caps (core/interface_priority.py).
#: One per process, as there is one GIL.
INTERFACE_PRIORITY = InterfacePriority()
#: Every controller alive, so tests can check that no worker thread is left running.
CONTROLLERS: weakref.WeakSet[RunController] = weakref.WeakSet()


class Worker(QObject):
    """Serves one run session; lives on its own QThread and runs :meth:`serve` there."""

    chunk_ready = Signal(object)  # ChunkMessage
    state_changed = Signal(object)  # RunState
    landscape_ready = Signal(object)  # Landscape
    heldout_ready = Signal(object)  # HeldOutResult
    baselines_ready = Signal(object)  # BaselinesReady
    record_ready = Signal(object)  # RecordCopy
    evaluations_failed = Signal(object)  # EvaluationsFailed: a user objective's failed evaluations (the run goes on)
    input_rejected = Signal(str)  # a bad value from the user, one line
    run_failed = Signal(str, str)  # one line, traceback
    notice = Signal(str, str)  # kind (info, warning), one line: the run store's news
    race_event = Signal(object, object)  # (Race, RaceEvent): a race's events, its sessions' tagged by entrant

    def __init__(self) -> None:
        super().__init__()
        self.session = RunSession(self._emit)
        self.scheduler = Scheduler([self.session])

    def serve(self) -> None:
        self.scheduler.serve()

    def _emit(self, event: Event) -> None:
        """On the worker thread: a session's event as a signal (queued to the GUI thread)."""
        match event:
            case ChunkMessage():
                self.chunk_ready.emit(event)
            case RunState():
                self.state_changed.emit(event)
            case Landscape():
                self.landscape_ready.emit(event)
            case HeldOutResult():
                self.heldout_ready.emit(event)
            case BaselinesReady():
                self.baselines_ready.emit(event)
            case RecordCopy():
                self.record_ready.emit(event)
            case EvaluationsFailed():
                self.evaluations_failed.emit(event)
            case InputRejected(message=message):
                self.input_rejected.emit(message)
            case RunFailed(message=message, details=details):
                self.run_failed.emit(message, details)
            case Notice(kind=kind, message=message):
                self.notice.emit(kind, message)


class RunController(QObject):
    """GUI-side handle of the worker thread: typed commands in, the worker's signals out.

    Every command is queued and carried out on the worker thread between chunks, in
    order. Call :meth:`shutdown` before the owner goes away; it stops the loop
    cooperatively and joins the thread (never ``QThread.terminate``).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        threadpool_limits(BLAS_THREADS, user_api="blas")
        install(INTERFACE_PRIORITY)
        self.worker = Worker()
        self._session = self.worker.session
        self._thread = QThread()
        self._thread.setObjectName("metalearn-worker")
        self.worker.moveToThread(self._thread)
        self._thread.started.connect(self.worker.serve)
        self._thread.start()
        CONTROLLERS.add(self)

    def _post(self, command: Callable[..., None], *args: object) -> None:
        self.worker.scheduler.post(functools.partial(command, *args))

    def prepare(self, config: RunConfig) -> None:
        """Leave the current run (abandoning an objective that has not answered) for ``config``'s step 0."""
        self._session.request_abandon()
        self._post(self._session.prepare, config)

    def start(self) -> None:
        self._post(self._session.start)

    def pause(self) -> None:
        self._post(self._session.pause)

    def step(self) -> None:
        self._post(self._session.step)

    def set_values(self, values: dict[str, Value]) -> None:
        self._post(self._session.set_values, dict(values))

    def set_speed(self, steps_per_second: float | None) -> None:
        self._post(self._session.set_speed, steps_per_second)

    def set_landscape_axes(self, axes: tuple[int, ...]) -> None:
        self._post(self._session.set_landscape_axes, tuple(axes))

    def set_recording(self, recording: Recording) -> None:
        self._post(self._session.set_recording, recording)

    def set_evaluation(self, settings: EvaluationSettings) -> None:
        """Where a user objective's rows are evaluated, from the next reset on."""
        self._post(self._session.set_evaluation, settings)

    def copy_record(self) -> None:
        """Ask for a copy of the current run's record: ``worker.record_ready`` brings it."""
        self._post(self._session.copy_record)

    def chunk_taken(self) -> None:
        """Say so for every chunk received: the worker holds chunks back while two wait."""
        self._session.chunk_taken()

    # -- races: a race's sessions share the worker with the window's own (paused) session --
    def new_race(self, config: RaceConfig, data_dir: Path | None, hand_out_seconds: float = 0.0) -> Race:
        """A race of ``config`` whose events come as ``worker.race_event(race, event)`` signals, stored in
        ``data_dir``'s run store (None: not stored), each entrant's chunks at most every ``hand_out_seconds``;
        :meth:`start_race` starts it. Raises :class:`~metalearn_gui.core.run.ConfigError` if the objective
        refuses every entrant."""
        race = Race(config, lambda event: None, data_dir=data_dir, source="window", chunks=True,
                    hand_out_seconds=hand_out_seconds)
        # Tagged with their race: a stopped race's last events must not be taken for the next one's.
        race.on_event = functools.partial(self.worker.race_event.emit, race)
        return race

    def start_race(self, race: Race) -> None:
        self._post(race.start, self.worker.scheduler)

    def stop_race(self, race: Race) -> None:
        """End ``race`` (runs under way are stored as stopped), abandoning an objective that has not answered."""
        race.request_abandon()
        self._post(race.stop)

    def post_to_race(self, command: Callable[..., None], *args: object) -> None:
        """Run one of a race's methods (``race.pause``, ``race.sessions[i].set_values`` …) on the worker."""
        self._post(command, *args)

    def unanswered(self) -> Evaluation | None:  # what a slow objective (not built in) works on
        return self._session.unanswered()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def idle(self) -> bool:
        """Whether every command sent so far has been carried out (its signals are posted;
        the GUI thread has them once it processes its events)."""
        return self.worker.scheduler.idle()

    def shutdown(self, timeout_ms: int = 1000) -> bool:
        """Stop and join the worker; True if it ended within ``timeout_ms``.

        A worker busy in an uninterruptible call (importing TensorFlow, compiling)
        cannot end sooner; then we keep waiting rather than kill it, because
        destroying a running QThread aborts the process.
        """
        if not self._thread.isRunning():
            return True
        self.worker.scheduler.stop()
        self._thread.quit()
        if self._thread.wait(timeout_ms):
            return True
        log.warning("worker busy (TensorFlow import or compile?); waiting for it to finish")
        self._thread.wait()
        return False
