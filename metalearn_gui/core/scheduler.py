"""Run sessions on one thread: commands between chunks, and each session its fair turn.

The fairness rule
-----------------
The scheduler works in rounds. In each round, every running session advances by one
chunk of at most ``CHUNK_SECONDS / N`` seconds, N being the number of running sessions,
in the order they were added; then each draws its landscape if due. So N sessions at
full speed share the thread's time equally whatever their cost per step (a session whose
step costs 10× more makes 10× fewer steps), and a round lasts about ``CHUNK_SECONDS``
however many there are, so a command never waits longer than one chunk. A paced session
takes only the steps its speed has allowed since its last chunk ended: what it leaves of
its share shortens the round, so the others' next turns come sooner. A chunk ends at the
first step (or block of steps) past its deadline, so a session overruns its share by at
most one block. A landscape takes at most 1/``LANDSCAPE_COST_SHARE`` of its session's
time (:meth:`RunSession.draw_landscape_if_due`), and so does a held-out evaluation
(1/``HELDOUT_COST_SHARE``, :meth:`RunSession.evaluate_heldout_if_due`).

Commands are callables (a session's methods with their arguments) queued from any
thread with :meth:`Scheduler.post` and run on the scheduler's thread between rounds,
in the order posted.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable

from metalearn_gui.core.session import CHUNK_SECONDS, RunSession

log = logging.getLogger(__name__)


class Scheduler:
    """Serves its :attr:`sessions` and queued commands on the thread that calls :meth:`serve`."""

    def __init__(self, sessions: list[RunSession] | None = None) -> None:
        self.sessions: list[RunSession] = list(sessions or [])
        self.commands: queue.Queue[Callable[[], None]] = queue.Queue()
        self._stopping = False

    # -- any thread ------------------------------------------------------------------------
    def post(self, command: Callable[[], None]) -> None:
        """Run ``command`` on the scheduler's thread, between chunks, after those posted before."""
        self.commands.put(command)

    def idle(self) -> bool:
        """Whether every command posted so far has been carried out."""
        return self.commands.unfinished_tasks == 0

    def stop(self) -> None:
        """Leave every session (their runs end as stopped; an objective that has not
        answered is abandoned) and end :meth:`serve`, after the commands posted before."""
        for session in self.sessions:
            session.request_abandon()
        self.post(self._leave_all)

    # -- the scheduler's thread ---------------------------------------------------------------
    def serve(self) -> None:
        """Take commands and run rounds until stopped."""
        while not self._stopping:
            self.take_commands(self.wait_seconds())
            if not self._stopping:
                self.run_round()
        log.debug("scheduler stopped")

    def run_round(self) -> None:
        """One chunk for every running session (see the fairness rule), then landscapes
        and held-out evaluations."""
        running = [session for session in self.sessions if session.running]
        for session in running:
            session.advance(CHUNK_SECONDS / len(running))
        for session in self.sessions:
            session.draw_landscape_if_due()
            session.evaluate_heldout_if_due()

    def wait_seconds(self) -> float | None:
        """How long to wait for a command before the next round (None: until one comes)."""
        waits = [wait for session in self.sessions if (wait := session.wait_seconds()) is not None]
        return min(waits, default=None)

    def take_commands(self, wait: float | None) -> None:
        """Every command queued, waiting up to ``wait`` seconds for the first."""
        try:
            command = self.commands.get(timeout=wait) if wait != 0.0 else self.commands.get_nowait()
        except queue.Empty:
            return
        while True:
            try:
                command()
            except Exception:  # sessions report their own failures; this is a bug
                log.exception("command %r failed", command)
            finally:
                self.commands.task_done()  # idle() counts the commands still to do
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return

    def _leave_all(self) -> None:
        for session in self.sessions:
            try:
                session.leave()
            except Exception:  # whatever happens, the loop must end: its owner waits to join it
                log.exception("leaving a session failed")
        self._stopping = True
