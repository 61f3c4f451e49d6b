"""Signals that end a command-line run: Ctrl+C (SIGINT), SIGTERM (``kill``, a batch scheduler,
systemd) and SIGHUP (the terminal closed) all stop it the same way: the run is kept as
``stopped`` with every step it made, and the process exits with 128 + the signal's number.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from contextlib import suppress
from types import FrameType
from typing import Any, NoReturn

#: The signals that stop a run (Windows has no SIGHUP).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
#: The exit statuses of a run they stopped.
STOP_STATUSES = frozenset(128 + signum for signum in STOP_SIGNALS)

#: What ``signal.signal`` takes and gives back.
Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class RunInterrupted(BaseException):
    """A stop signal arrived; raised where the run can stop cleanly. A BaseException, like
    KeyboardInterrupt: raised inside an objective's evaluation it must not be taken for
    the objective's own error (a run failed) by the handlers of ``Exception``."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(self.signal_name)

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_status(self) -> int:
        """As shells report a command a signal ended: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP."""
        return 128 + self.signum


class StopOnSignals:
    """While entered, a stop signal raises :class:`RunInterrupted` at the next :meth:`checkpoint`
    (between chunks, so that the chunk in hand is recorded whole) — or at once before the first
    checkpoint, when nothing is recorded yet and loading TensorFlow may take seconds.
    Later signals (a second Ctrl+C while the run is being saved) are absorbed.
    """

    def __init__(self) -> None:
        self.signum: int | None = None  # the first stop signal
        self._at_once = True
        self._raised = False
        self._previous: dict[int, Handler] = {}

    def __enter__(self) -> StopOnSignals:
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) is signal.SIG_IGN:
                continue  # ignored on purpose: `nohup` (SIGHUP), a shell's background job (SIGINT)
            try:
                self._previous[signum] = signal.signal(signum, self._on_signal)
            except ValueError:  # not the main thread: Ctrl+C stays a KeyboardInterrupt
                break
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def checkpoint(self) -> None:
        """A clean point to stop at; from now on signals wait for the next one."""
        self._at_once = False
        if self.signum is not None and not self._raised:
            self._raise(self.signum)

    def signalled(self) -> bool:
        """For a wait that reaches no checkpoint (an objective that does not answer): raise
        :class:`RunInterrupted` now if a stop signal has arrived, else return False."""
        if self.signum is not None and not self._raised:
            self._raise(self.signum)
        return False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
            if self._at_once:
                self._raise(signum)

    def _raise(self, signum: int) -> None:
        self._at_once, self._raised = False, True
        raise RunInterrupted(signum)


def exit_at_once(status: int) -> NoReturn:
    """End the process now, without the interpreter's teardown: with TensorFlow loaded that
    takes seconds, and a stopped command should stop. Call it once everything is written."""
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # the terminal is gone (SIGHUP), or the stream closed
            stream.flush()
    os._exit(status)
