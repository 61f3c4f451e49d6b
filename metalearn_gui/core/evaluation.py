"""Calling an objective for a learner: every evaluation knows the step and θ it is for,
so that a failure can name them.

An objective that is not built in (one registered with
:func:`~metalearn_gui.core.objectives.register_objective`) is called on a helper thread
while the learner's thread waits, asking ``abandon`` every :data:`POLL_SECONDS`: an
objective that never answers then holds only that helper (a daemon thread, left
behind), and the window can still reset, switch or close. Built-in objectives are
called directly: they always answer, and a thread per call would cost them speed.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from metalearn_gui.core.objectives import Objective, is_built_in

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
    """One evaluation of a user objective that raised, timed out or answered no number:
    its loss counts as NaN and the run goes on."""

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
        self.evaluation = evaluation
        self.details = details
        self.rows: Any = None


def _never() -> bool:
    return False


class Evaluator:
    """Calls one objective for one learner. Other threads may read ``current`` to tell
    the user an objective is slow to answer."""

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self._built_in = is_built_in(objective)
        #: The evaluation under way of an objective not built in (None between calls).
        self.current: Evaluation | None = None
        #: Asked while waiting for an objective that is not built in: True gives up on it.
        self.abandon: Callable[[], bool] = _never

    def losses(self, thetas: np.ndarray, rng: np.random.Generator | None, step: int) -> np.ndarray:
        """The objective's losses of ``thetas`` (n, dim) as float64 (n,).

        NaN and ±inf pass through: the learner decides what they mean (the genetic
        learner ranks such a strategy last; a run whose loss is not finite diverges,
        its message naming the step and θ).
        """
        if self._built_in:  # the fast path: no bookkeeping for an objective that answers
            try:
                return self.objective.loss_np(thetas, rng)
            except Exception as error:  # a bug of ours, still named by step and θ
                raise _raised(error, Evaluation(step, thetas, time.monotonic())) from error
        evaluation = Evaluation(step, thetas, time.monotonic())
        self.current = evaluation
        try:
            answer = self._on_helper_thread(thetas, rng, evaluation)
        except ObjectiveFailure:
            raise
        except Exception as error:  # whatever a user's objective raises is its failure
            raise _raised(error, evaluation) from error
        finally:
            self.current = None
        return _checked(answer, evaluation)

    def _on_helper_thread(self, thetas: np.ndarray, rng: np.random.Generator | None,
                          evaluation: Evaluation) -> Any:
        outcome: dict[str, Any] = {}
        answered = threading.Event()

        def call() -> None:
            try:
                outcome["answer"] = self.objective.loss_np(thetas, rng)
            except BaseException as error:  # noqa: BLE001 - handed to the waiting learner
                outcome["error"] = error
            answered.set()

        threading.Thread(target=call, name=f"objective {self.objective.name}", daemon=True).start()
        while not answered.wait(POLL_SECONDS):
            if self.abandon():
                raise ObjectiveFailure(f"the objective was abandoned after {evaluation.seconds():.0f} s "
                                       "without an answer", evaluation)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["answer"]


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
