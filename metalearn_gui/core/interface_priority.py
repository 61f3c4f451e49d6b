"""The interface's thread goes first: a worker steps aside while the window draws.

A learner's Python and a BBOB objective's C code hold the GIL almost all the time, so a
window on another thread of the same process gets about half of it and every redraw takes
twice as long. The window marks what it draws ``with priority.interface_busy():``; the
core calls :func:`yield_to_interface` at fine-grained points (between the steps of a learner
whose steps hold the GIL, and between a BBOB batch's evaluation slices), which waits, without
the GIL, while the interface is busy. The waits
are capped so a busy interface can never starve the worker: each lasts at most
``max_wait`` seconds, and in all they take at most ``share`` of the worker's time (plus
one ``max_wait`` of credit).

Without an interface (the command line, scripts, tests of the core) nothing is installed
and :func:`yield_to_interface` returns at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: A redraw of one plot (refresh and paint) takes a few ms; waiting longer than this for
#: one busy spell would stall the run for a window stuck in something long.
MAX_WAIT_SECONDS = 0.02
#: At most this fraction of the worker's time goes to waiting for the interface.
MAX_SHARE = 0.5


class InterfacePriority:
    """A busy flag the interface thread raises and a capped wait for the worker thread."""

    def __init__(self, max_wait: float = MAX_WAIT_SECONDS, share: float = MAX_SHARE) -> None:
        self.max_wait, self.share = max_wait, share
        self._idle = threading.Event()
        self._idle.set()
        self._depth = 0  # nested busy spells of the interface thread
        self._interface_thread: int | None = None
        self._credit = max_wait  # seconds the worker may still wait (see share)
        self._credited_at = time.monotonic()
        #: Seconds waited in all (for benchmarks and tests).
        self.waited_seconds = 0.0

    @property
    def busy(self) -> bool:
        """Whether the interface has said it is busy (workers defer to it)."""
        return not self._idle.is_set()

    # -- the interface thread -------------------------------------------------------------------
    @contextmanager
    def interface_busy(self) -> Iterator[None]:
        """While this lasts, workers calling :meth:`yield_turn` wait (capped)."""
        self._interface_thread = threading.get_ident()
        self._depth += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._idle.set()

    # -- a worker thread --------------------------------------------------------------------------
    def yield_turn(self) -> None:
        """Wait while the interface is busy, within the caps; return at once otherwise."""
        if self._idle.is_set() or threading.get_ident() == self._interface_thread:
            return
        now = time.monotonic()
        credit = min(self.max_wait, self._credit + (now - self._credited_at) * self.share)
        self._credited_at = now
        if credit > 0:
            self._idle.wait(credit)
            waited = time.monotonic() - now
            credit -= waited
            self.waited_seconds += waited
        self._credit = credit


def _no_interface() -> None:
    return None


_yield: Callable[[], None] = _no_interface


def yield_to_interface() -> None:
    """Let an interface that is drawing go first (see the module's docstring); the core calls
    this between steps, blocks and evaluation slices."""
    _yield()


def install(priority: InterfacePriority | None) -> None:
    """Make :func:`yield_to_interface` defer to ``priority`` (None: to nothing)."""
    global _yield
    _yield = _no_interface if priority is None else priority.yield_turn
