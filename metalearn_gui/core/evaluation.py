"""Calling an objective for a learner: every evaluation knows the step and θ it is for,
so that a failure can name them.

An objective that is not built in (one registered with
:func:`~metalearn_gui.core.objectives.register_objective`, or a user's) is called on a helper
thread while the learner's thread waits, asking ``abandon`` every :data:`POLL_SECONDS`: an
objective that never answers then holds only that helper (a daemon thread, left
behind), and the window can still reset, switch or close. Built-in objectives are
called directly: they always answer, and a thread per call would cost them speed.

A user's objective that is not vectorised (it has ``row_task()``) is evaluated row by row
where the :class:`~metalearn_gui.core.executors.EvaluationSettings` say — in this process,
local worker processes or a Dask cluster — with one seed per row drawn from the learner's
generator the same way whichever, so a seed gives the same run everywhere. For an
objective that is not built in, a row that raises, answers no finite number or passes
the timeout is a *failed evaluation*: its loss is NaN and a :class:`FailedEvaluation`
says why (:meth:`Evaluator.drain_failures`); the learner decides what NaN means.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from concurrent.futures import wait
from dataclasses import dataclass
from typing import Any

import numpy as np

from metalearn_gui.core.executors import (
    DaemonThreads,
    EvaluationPool,
    EvaluationSettings,
    PoolUnavailable,
    open_pool,
)
from metalearn_gui.core.objectives import Objective, is_built_in
from metalearn_gui.core.objectives.row_tasks import row_seeds
from metalearn_gui.core.row_batches import Abandoned, describe_error, evaluate_rows

#: How often a learner waiting for an objective that is not built in checks ``abandon``.
POLL_SECONDS = 0.05


def format_theta(theta: np.ndarray, shown: int = 6) -> str:
    """θ in one short line, ``[0.1735, -0.4382, …, 2.5]``: four significant digits, the
    middle of a vector longer than ``shown`` elided."""
    values = [f"{value:.4g}" for value in np.asarray(theta, dtype=float)]
    if len(values) > shown:
        values = [*values[:shown // 2], "…", *values[-(shown // 2):]]
    return f"[{', '.join(values)}]"


@dataclass(frozen=True)
class Evaluation:
    """One call of the objective: the step it computes, the θs (n, dim) it was given
    and when it began (``time.monotonic()``)."""

    step: int
    thetas: np.ndarray
    started: float

    def describe(self) -> str:
        """``at step 12 for θ = [0.1, 0.2]``: where a failure happened."""
        where = f"at step {self.step} for θ = {format_theta(self.thetas[0])}"
        if len(self.thetas) > 1:
            where += f" (the first of {len(self.thetas)} evaluated together)"
        return where

    def seconds(self) -> float:
        return time.monotonic() - self.started


@dataclass(frozen=True)
class FailedEvaluation:
    """One evaluation of a user's objective that gave no loss: at ``step``, for ``theta``,
    and why (one line)."""

    step: int
    theta: np.ndarray
    message: str


class ObjectiveFailure(Exception):
    """The objective raised, answered something that is not one loss per θ, or was
    abandoned; the message (one line) names what happened, the step and θ.

    ``details`` holds the objective's traceback, if it raised; ``rows`` the learner's
    rows of the steps completed in the block that failed (set by the learner).
    """

    def __init__(self, what: str, evaluation: Evaluation, details: str = "") -> None:
        super().__init__(f"{what} {evaluation.describe()}")
        #: What happened, without where.
        self.what = what
        self.evaluation = evaluation
        self.details = details
        self.rows: Any = None
        #: The caller gave up waiting (a reset or close), not the objective failing.
        self.abandoned = False


def _never() -> bool:
    return False


class Evaluator:
    """Calls one objective for one learner. Other threads may read ``current`` to tell
    the user an objective is slow to answer.

    ``settings`` say where a user's objective that is not vectorised is evaluated
    (:meth:`use` changes them); its pool starts with the first such evaluation and stops
    at :meth:`close` (the next evaluation starts it again).
    """

    def __init__(self, objective: Objective, settings: EvaluationSettings | None = None) -> None:
        self.objective = objective
        self._built_in = is_built_in(objective)
        #: A user's objective: its failed evaluations are NaN losses, not run failures.
        self._user = not self._built_in
        self._by_rows = callable(getattr(objective, "row_task", None)) and not objective.vectorised
        self._task: Callable[..., float] | None = None
        self.pool: EvaluationPool = open_pool(settings or EvaluationSettings())
        self._failures: list[FailedEvaluation] = []
        #: The evaluation under way of an objective not built in (None between calls).
        self.current: Evaluation | None = None
        #: Asked while waiting for an objective that is not built in: True gives up on it.
        self.abandon: Callable[[], bool] = _never
        #: The latest failed evaluation (kept when :meth:`drain_failures` empties the list).
        self.last_failure: FailedEvaluation | None = None

    @property
    def settings(self) -> EvaluationSettings:
        return self.pool.settings

    @property
    def uses_pool(self) -> bool:
        """Whether evaluations go to :attr:`pool` (a user's objective that is not vectorised)."""
        return self._by_rows

    def use(self, settings: EvaluationSettings) -> None:
        """Evaluate where ``settings`` say from the next evaluation on (the pool is replaced
        only if they differ)."""
        if settings != self.pool.settings:
            self.pool.close()
            self.pool = open_pool(settings)

    def close(self) -> None:
        """Stop the pool's workers (they start again with the next evaluation)."""
        self.pool.close()

    def drain_failures(self) -> list[FailedEvaluation]:
        """The failed evaluations since the last call, oldest first."""
        failures, self._failures = self._failures, []
        return failures

    def losses(self, thetas: np.ndarray, rng: np.random.Generator | None, step: int, *,
               record_failures: bool = True) -> np.ndarray:
        """The objective's losses of ``thetas`` (n, dim) as float64 (n,); a user's objective's
        failed evaluations are noted for :meth:`drain_failures` unless ``record_failures`` is false.

        For objectives that are not a user's, NaN and ±inf pass through: the learner
        decides what they mean (the genetic learner ranks such a strategy last; a run whose
        loss is not finite diverges, its message naming the step and θ).
        """
        if self._built_in:  # the fast path: no bookkeeping for an objective that answers
            try:
                return self.objective.loss_np(thetas, rng)
            except Exception as error:  # a bug of ours, still named by step and θ
                raise _raised(error, Evaluation(step, thetas, time.monotonic())) from error
        evaluation = Evaluation(step, thetas, time.monotonic())
        self.current = evaluation
        failures_before, last_before = len(self._failures), self.last_failure
        try:
            if self._by_rows:
                return self._rows_elsewhere(thetas, rng, evaluation)
            try:
                losses = _checked(self._on_helper_thread(thetas, rng, evaluation), evaluation)
            except ObjectiveFailure as failure:
                if not self._user or failure.abandoned:
                    raise
                return self._all_failed(evaluation, failure.what)
            except Exception as error:  # whatever a user's objective raises is its failure
                if not self._user:
                    raise _raised(error, evaluation) from error
                return self._all_failed(evaluation, describe_error(error))
            if self._user:
                self._note_non_finite(losses, evaluation)
            return losses
        finally:
            self.current = None
            if not record_failures:
                del self._failures[failures_before:]
                self.last_failure = last_before

    # -- a user's objective ------------------------------------------------------------------
    def _rows_elsewhere(self, thetas: np.ndarray, rng: np.random.Generator | None,
                        evaluation: Evaluation) -> np.ndarray:
        """Row by row on the pool; one seed per row (noisy objectives only), drawn here
        whatever the pool, so that results do not depend on it."""
        seeds: list[int | None] = [*row_seeds(rng, len(thetas))] if self.objective.noisy else [None] * len(thetas)
        if self._task is None:
            self._task = self.objective.row_task()  # type: ignore[attr-defined]  # checked in __init__
        try:
            outcome = evaluate_rows(self.pool, self._task, thetas, seeds, self.abandon)
        except Abandoned:
            raise _abandoned(evaluation) from None
        except PoolUnavailable as lost:
            raise ObjectiveFailure(str(lost), evaluation) from None
        for row, message in sorted(outcome.failures.items()):
            self._fail(evaluation.step, thetas[row], message)
        return outcome.losses

    def _fail(self, step: int, theta: np.ndarray, message: str) -> None:
        self.last_failure = FailedEvaluation(step, theta.copy(), message)
        self._failures.append(self.last_failure)

    def _all_failed(self, evaluation: Evaluation, message: str) -> np.ndarray:
        for theta in evaluation.thetas:
            self._fail(evaluation.step, theta, message)
        return np.full(len(evaluation.thetas), np.nan)

    def _note_non_finite(self, losses: np.ndarray, evaluation: Evaluation) -> None:
        for row in np.flatnonzero(~np.isfinite(losses)):
            message = f"the objective answered {losses[row]}"
            self._fail(evaluation.step, evaluation.thetas[row], message)
        losses[~np.isfinite(losses)] = np.nan

    def _on_helper_thread(self, thetas: np.ndarray, rng: np.random.Generator | None,
                          evaluation: Evaluation) -> Any:
        answer = DaemonThreads().submit(self.objective.loss_np, thetas, rng)
        timeout = self.settings.timeout if self._user else None
        while not wait([answer], POLL_SECONDS).done:
            if self.abandon():
                raise _abandoned(evaluation)
            if timeout is not None and evaluation.seconds() > timeout:
                raise ObjectiveFailure(f"no answer within the timeout of {timeout:g} s", evaluation)
        return answer.result()  # raises what the objective raised


def _abandoned(evaluation: Evaluation) -> ObjectiveFailure:
    failure = ObjectiveFailure(f"the objective was abandoned after {evaluation.seconds():.0f} s "
                               "without an answer", evaluation)
    failure.abandoned = True
    return failure


def _checked(answer: Any, evaluation: Evaluation) -> np.ndarray:
    count = len(evaluation.thetas)
    try:
        losses = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        raise ObjectiveFailure(f"the objective answered {type(answer).__name__}, not numbers",
                               evaluation) from None
    if losses.shape != (count,):
        raise ObjectiveFailure(f"the objective answered shape {losses.shape} for {count} θ "
                               f"(one loss per θ is expected)", evaluation)
    return losses


def _raised(error: BaseException, evaluation: Evaluation) -> ObjectiveFailure:
    """The failure of an objective that raised ``error`` (being handled), with its traceback."""
    text = str(error).splitlines()[0] if str(error) else ""
    what = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return ObjectiveFailure(f"the objective raised {what}", evaluation, traceback.format_exc())
