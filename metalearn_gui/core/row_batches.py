"""Sending the rows of one batch to an :class:`~metalearn_gui.core.executors.EvaluationPool`
and collecting their losses in the batch's order.

One future per row, at most ``pool.capacity()`` running — each row's timeout counts from
when it may run — plus, for worker processes or a cluster, as many queued behind them (so that
a worker need not wait for us, or a round trip, for its next row; a queued row's clock starts
when one sent before it ends). A row is answered exactly once: a number (kept if finite), or a failure message — it
raised, answered something that is no finite number, or passed the timeout. A row whose
worker process died is sent again (to a new pool), up to :data:`MAX_WORKER_DEATHS` times; a
Dask cluster resends such rows itself.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metalearn_gui.core.executors import EvaluationPool, PoolUnavailable

#: Seconds past the timeout before the pool gives up on a row (see :func:`evaluate_rows`).
GRACE_SECONDS = 5.0
#: How often waiting for rows checks the timeout and whether to give up.
POLL_SECONDS = 0.05
#: A row whose worker process died this many times (it may be what kills it) has failed.
MAX_WORKER_DEATHS = 3


class Abandoned(Exception):
    """The caller gave up waiting (a reset or close); rows still running were stopped."""


@dataclass
class BatchOutcome:
    """Losses (n,) in the batch's order, NaN where a row failed; ``failures`` maps those
    rows' indices to one-line messages."""

    losses: np.ndarray
    failures: dict[int, str] = field(default_factory=dict)


def evaluate_rows(pool: EvaluationPool, task: Callable[..., Any], thetas: np.ndarray,
                  seeds: Sequence[int | None], abandon: Callable[[], bool]) -> BatchOutcome:
    """Evaluate ``task(theta, seed, timeout)`` for every row of ``thetas`` on ``pool``.

    Raises :class:`Abandoned` when ``abandon()`` turns true, and
    :class:`~metalearn_gui.core.executors.PoolUnavailable` when the Dask cluster goes away.
    """
    timeout = pool.settings.timeout
    # A task that keeps the timeout itself (a command: killed, its last stderr line named)
    # answers before the pool gives up on it.
    deadline = timeout + min(GRACE_SECONDS, timeout / 2)
    outcome = BatchOutcome(np.full(len(thetas), np.nan))
    waiting = deque(range(len(thetas)))
    running: dict[Future, tuple[int, float]] = {}
    deaths: Counter[int] = Counter()
    # Rows in flight when a worker died: each goes again alone, so that only the row that
    # kills a worker counts a death (a broken pool fails every row it holds).
    suspects: set[int] = set()
    slots = pool.capacity()
    in_flight = slots * (1 + pool.queued_per_slot)
    try:
        while waiting or running:
            alone = bool(suspects) and (waiting[0] in suspects if waiting else False)
            while waiting and len(running) < (1 if alone or _suspect_running(running, suspects) else in_flight):
                row = waiting.popleft()
                # A copy: a task in this process must not be able to change the learner's θ.
                running[pool.submit(task, thetas[row].copy(), seeds[row], timeout)] = (row, time.monotonic())
            done, _ = wait(running, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            died = False
            was_alone = len(running) == 1
            for future in done:
                row, _ = running.pop(future)
                if future.cancelled():  # we cancel only futures we drop: the executor lost it
                    raise PoolUnavailable(pool.lost() or pool.cancelled_message())
                error = future.exception()
                if error is not None and pool.worker_died(error):
                    died = True
                    if was_alone:
                        deaths[row] += 1
                    suspects.add(row)
                    if deaths[row] < MAX_WORKER_DEATHS:
                        waiting.appendleft(row)
                    else:
                        outcome.failures[row] = (f"the worker process evaluating it died "
                                                 f"{MAX_WORKER_DEATHS} times")
                    continue
                suspects.discard(row)
                _settle(outcome, row, future, error)
            _start_clocks(running, slots)
            overdue = [future for future, (_, sent) in running.items() if time.monotonic() - sent > deadline]
            for future in overdue:
                row, _ = running.pop(future)
                future.cancel()
                outcome.failures[row] = f"no answer within the timeout of {timeout:g} s"
            if died or overdue:
                if pool.replacing_stops_rows:  # rows in flight go again, to the fresh workers
                    _resend(running, waiting)
                pool.replace()
            if abandon():
                raise Abandoned()
    except BaseException:
        for future in running:
            future.cancel()
        if running:
            pool.replace()  # stop the rows still running: their answers would come to no one
        raise
    return outcome


def _suspect_running(running: dict[Future, tuple[int, float]], suspects: set[int]) -> bool:
    return any(row in suspects for row, _ in running.values())


def _start_clocks(running: dict[Future, tuple[int, float]], slots: int) -> None:
    """The rows sent after the first ``slots`` in flight wait for them: their clocks start now."""
    now = time.monotonic()
    for position, (future, (row, _)) in enumerate(list(running.items())):
        if position >= slots:
            running[future] = (row, now)


def _resend(running: dict[Future, tuple[int, float]], waiting: deque[int]) -> None:
    """Put the rows in flight back at the head of the queue, in their order."""
    for row in sorted((row for row, _ in running.values()), reverse=True):
        waiting.appendleft(row)
    for future in running:
        future.cancel()
    running.clear()


def _settle(outcome: BatchOutcome, row: int, future: Future, error: BaseException | None) -> None:
    if error is not None:
        outcome.failures[row] = describe_error(error)
        return
    answer = future.result()
    try:
        loss = float(answer)
    except (TypeError, ValueError):
        outcome.failures[row] = f"the objective answered {type(answer).__name__}, not a number"
        return
    if not math.isfinite(loss):
        outcome.failures[row] = f"the objective answered {loss}"
        return
    outcome.losses[row] = loss


def describe_error(error: BaseException) -> str:
    """``ValueError: its message``, the message's first line only."""
    text = str(error).strip()
    name = type(error).__name__
    return f"{name}: {text.splitlines()[0]}" if text else name

