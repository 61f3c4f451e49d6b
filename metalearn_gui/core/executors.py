"""Where a user's objective that is not vectorised is evaluated: in the app's process, in
a pool of local worker processes, or on a Dask distributed cluster.

:class:`EvaluationSettings` says which (plain values: the command line, the window and a
run's summary carry them). :func:`open_pool` turns them into an :class:`EvaluationPool`,
which starts its ``concurrent.futures.Executor`` on first use (so a built-in objective,
always evaluated directly, never starts one), replaces it after a worker process died or
hung, and closes it when the run ends. What to send and how to wait for the answers is the
evaluator's (:mod:`metalearn_gui.core.evaluation`).

Worker processes are started by "spawn", never "fork": a forked copy of a process running
TensorFlow's threads can deadlock. Dask is imported only when a cluster is asked for.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import signal
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from metalearn_gui.core.objectives.row_tasks import DEFAULT_TIMEOUT, kill_running_commands

#: The modes of :class:`EvaluationSettings`.
MODES = ("in-process", "processes", "dask")
#: Seconds to connect to a Dask scheduler (and to wait for it to come back after a blip)
#: before the command line, or the run, gives up on it.
CONNECT_SECONDS = 5.0
#: Seconds idle local workers get to exit when a run ends before they are stopped.
CLOSE_SECONDS = 2.0
#: Seconds a stopped worker gets to end the commands it runs before it is killed.
TERMINATE_SECONDS = 1.0


class SettingsError(ValueError):
    """Evaluation settings that cannot work (a malformed or unreachable scheduler address,
    a bad worker count or timeout); the message is one line naming the bad value."""


@dataclass(frozen=True)
class EvaluationSettings:
    """Where rows of a user's objective that is not vectorised are evaluated.

    ``mode``: "in-process" (one at a time, on a helper thread of the app's process),
    "processes" (``workers`` local processes; None: one per CPU) or "dask" (the cluster whose
    scheduler listens at ``scheduler``, "tcp://HOST:PORT"). ``timeout``: seconds one
    evaluation may take before it counts as failed.
    """

    mode: str = "processes"
    workers: int | None = None
    scheduler: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SettingsError(f"evaluation mode {self.mode!r} is not one of: {', '.join(MODES)}")
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int)
                                         or self.workers < 1):
            raise SettingsError(f"workers must be a positive integer, got {self.workers!r}")
        if (self.mode == "dask") != (self.scheduler is not None):
            raise SettingsError("a Dask scheduler address goes with mode \"dask\", and only with it")
        if self.scheduler is not None:
            object.__setattr__(self, "scheduler", scheduler_address(self.scheduler))
        if (isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float))
                or not math.isfinite(self.timeout) or self.timeout <= 0):
            raise SettingsError(f"the objective timeout must be a positive number of seconds, "
                                  f"got {self.timeout!r}")

    @property
    def worker_count(self) -> int:
        """Local worker processes (mode "processes")."""
        return self.workers if self.workers is not None else os.cpu_count() or 1

    def describe(self) -> str:
        """One line for a status bar or a summary, e.g. "2 local worker processes, timeout 300 s"."""
        if self.mode == "in-process":
            where = "in the app's process"
        elif self.mode == "processes":
            count = self.worker_count
            where = f"{count} local worker process{'es' if count != 1 else ''}"
        else:
            where = f"the Dask cluster at {self.scheduler}"
        return f"{where}, timeout {self.timeout:g} s"


def scheduler_address(text: str) -> str:
    """``text`` checked as a Dask scheduler address ``tcp://HOST:PORT`` (``tls://`` too);
    :class:`SettingsError` naming it otherwise."""
    problem = f"scheduler address {str(text)[:200]!r} is not tcp://HOST:PORT"
    if not isinstance(text, str) or any(character.isspace() for character in text):
        raise SettingsError(problem)
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:  # not a number, or beyond 65535
        port = None
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None or port == 0 \
            or parts.path or parts.query or parts.fragment or parts.username:
        raise SettingsError(problem)
    return text


def check_scheduler_reachable(address: str, seconds: float = CONNECT_SECONDS) -> None:
    """Raise :class:`SettingsError` unless something accepts connections at ``address``
    within ``seconds`` (a plain TCP connection: cheap, and Dask need not be imported)."""
    parts = urlsplit(scheduler_address(address))
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=seconds):
            pass
    except TimeoutError:
        raise SettingsError(f"cannot reach the Dask scheduler at {address} (no answer within "
                              f"{seconds:g} s)") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SettingsError(f"cannot reach the Dask scheduler at {address} ({reason})") from None


class PoolUnavailable(Exception):
    """The workers cannot evaluate anything: the Dask cluster went away, or local worker
    processes cannot start. The message says which, in one line."""


class EvaluationPool(ABC):
    """An executor for the rows of one run, started on first use.

    ``capacity()`` rows run at once; ``queued_per_slot`` more per running row wait in the
    executor's queue (so a worker that finishes a row starts the next at once).
    """

    #: Rows waiting in the executor's queue per running row.
    queued_per_slot: ClassVar[int] = 0
    #: Whether :meth:`replace` stops every row in flight (they must be sent again).
    replacing_stops_rows: ClassVar[bool] = False

    def __init__(self, settings: EvaluationSettings) -> None:
        self.settings = settings
        self._executor: Executor | None = None

    def executor(self) -> Executor:
        if self._executor is None:
            self._executor = self._start()
        return self._executor

    def submit(self, function: Callable[..., Any], *args: Any) -> Future:
        return self.executor().submit(function, *args)

    @abstractmethod
    def _start(self) -> Executor:
        """A new executor (for a Dask cluster: connected)."""

    @abstractmethod
    def capacity(self) -> int:
        """How many rows can run at once (starting the executor if need be)."""

    def worker_died(self, error: BaseException) -> bool:
        """Whether ``error``, raised by a row's future, means the worker running it died
        (the row did not fail: it is sent again)."""
        return False

    def lost(self) -> str | None:
        """Why the cluster is gone, if it is (None otherwise)."""
        return None

    def cancelled_message(self) -> str:
        """Why a row's future was cancelled by the executor, in one line."""
        return "the executor cancelled an evaluation"

    def replace(self) -> None:
        """Drop the executor (stopping rows still running, as far as it can): after a worker
        died or a row hung. The next row starts a new one."""
        self.close()

    def close(self) -> None:
        """Stop the executor and its workers (a no-op if none was started)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


class InProcessPool(EvaluationPool):
    """One row at a time on a daemon helper thread of this process: a row that hangs holds
    only its thread, left behind, and cannot stop the process from exiting."""

    def _start(self) -> Executor:
        return DaemonThreads()

    def capacity(self) -> int:
        return 1


class LocalProcessPool(EvaluationPool):
    """``settings.worker_count`` spawned worker processes of this machine."""

    replacing_stops_rows = True
    queued_per_slot = 1  # a worker takes its next row from the pool's queue, not after a wake-up of ours

    def _start(self) -> Executor:
        """A pool whose workers are up: a row's timeout then excludes their start (a second or more)."""
        count = self.settings.worker_count
        executor = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_ignore_interrupts)
        try:
            for ready in [executor.submit(os.getpid) for _ in range(count)]:
                ready.result()
        except BrokenProcessPool as error:
            executor.shutdown(wait=False, cancel_futures=True)
            raise PoolUnavailable(f"the local worker processes cannot start ({_first_line(error)})") from None
        return executor

    def capacity(self) -> int:
        return self.settings.worker_count

    def submit(self, function: Callable[..., Any], *args: Any) -> Future:
        try:
            return super().submit(function, *args)
        except BrokenProcessPool:  # a worker died since the last row: start afresh
            self.replace()
            return super().submit(function, *args)

    def worker_died(self, error: BaseException) -> bool:
        return isinstance(error, BrokenProcessPool)

    def replace(self) -> None:
        """Kill the workers (one may be hung: a pool's shutdown would wait for it forever)."""
        self._stop(grace=0.0)

    def close(self) -> None:
        """Let idle workers exit; kill any still busy after a moment (a row hung past its
        timeout must not hold the app's exit, which joins the pool's threads)."""
        self._stop(grace=CLOSE_SECONDS)

    def _stop(self, grace: float) -> None:
        executor, self._executor = self._executor, None
        if not isinstance(executor, ProcessPoolExecutor):
            return
        # The public way (kill_workers) arrives with Python 3.14; before it, the pool's own table.
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.join(grace)
        for process in processes:
            if process.is_alive():  # busy or hung: its commands first (SIGTERM), then itself
                process.terminate()
                process.join(TERMINATE_SECONDS)
                if process.is_alive():
                    process.kill()
                process.join()


class DaskPool(EvaluationPool):
    """The Dask cluster whose scheduler is ``settings.scheduler``. Dask sends the rows of a
    worker that died to another itself; a row whose future is cancelled without our asking
    means the connection to the scheduler was lost."""

    queued_per_slot = 1

    def __init__(self, settings: EvaluationSettings) -> None:
        super().__init__(settings)
        self._client: Any = None

    def _start(self) -> Executor:
        from distributed import Client

        _quiet_dask_logs()
        address = self.settings.scheduler
        try:
            self._client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise PoolUnavailable(f"cannot reach the Dask scheduler at {address} ({_first_line(error)})") from None
        return self._client.get_executor(pure=False)

    def capacity(self) -> int:
        """The cluster's worker threads now (at least 1: rows wait for a worker to join)."""
        self.executor()
        reason = self.lost()
        if reason is not None:
            raise PoolUnavailable(reason)
        try:
            threads = sum(self._client.nthreads().values())
        except Exception:  # noqa: BLE001 - the scheduler went away just now: the rows will say so
            threads = 0
        return max(threads, 1)

    def lost(self) -> str | None:
        if self._client is None or self._client.status == "running":
            return None
        return (f"the Dask cluster at {self.settings.scheduler} went away (the connection to its "
                "scheduler was lost)")

    def cancelled_message(self) -> str:
        return (f"the Dask cluster at {self.settings.scheduler} dropped the evaluations under way (its "
                "scheduler restarted, or the connection to it was lost)")

    def replace(self) -> None:
        """A row that hung keeps its worker's thread busy (Dask cannot stop a running task):
        the row is cancelled, the client kept."""

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)  # cancels the rows still running
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # a cluster already gone has nothing left to close
                client.close(timeout=CONNECT_SECONDS)


def open_pool(settings: EvaluationSettings) -> EvaluationPool:
    """The pool for ``settings`` (nothing is started until a row is sent)."""
    kinds: dict[str, type[EvaluationPool]] = {"in-process": InProcessPool, "processes": LocalProcessPool,
                                              "dask": DaskPool}
    return kinds[settings.mode](settings)


class DaemonThreads(Executor):
    """An executor running each call on a new daemon thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        future.set_running_or_notify_cancel()

        def call() -> None:
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as error:  # noqa: BLE001 - handed to whoever waits for the future
                future.set_exception(error)

        threading.Thread(target=call, name="objective", daemon=True).start()
        return future


def _quiet_dask_logs() -> None:
    """Our one line replaces the client's log of reconnection attempts and failures (Dask's
    configuration gives some of its loggers levels of their own)."""
    for name in [*logging.root.manager.loggerDict, "distributed"]:
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _ignore_interrupts() -> None:
    """In a worker process: Ctrl+C is the app's to handle (it stops the workers itself);
    SIGTERM (the app stopping it) ends the commands it runs, then the worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _end_commands_and_exit)


def _end_commands_and_exit(signum: int, frame: Any) -> None:
    kill_running_commands()
    os._exit(128 + signum)  # at once: the row it was evaluating is the app's to resend or fail


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
