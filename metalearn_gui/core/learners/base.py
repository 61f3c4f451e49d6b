"""The learner interface shared by every strategy learner.

A learner is reset with a seed, then advanced by *chunks*: up to ``max_steps``
steps and about ``max_seconds`` of work, returned as plain numpy arrays so that
a GUI thread, a CSV writer or a test can consume them without touching the
learner's internals (or TensorFlow).

Failed evaluations: a built-in objective's non-finite loss diverges the run. A user's
objective may fail for some θ (it raised, timed out, answered NaN: the evaluator hands the
learner NaN); to a learner whose ``bad_points`` is true that θ is a bad point, handled as its
docstring says, and the run goes on. Each step's row reports the successful evaluations and,
in the extra ``failed``, the failed evaluations so far in the run; a step whose every
evaluation failed repeats the previous row's loss and θ (nothing new was measured). The run
fails cleanly only when every evaluation has failed for :data:`FAILING_STEPS` steps and
:data:`FAILING_EVALUATIONS` evaluations running (a step 0 whose every evaluation failed is
followed by the learner's next step as step 0, under the same limit).
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from metalearn_gui.core.evaluation import Evaluation, Evaluator, ObjectiveFailure, format_theta
from metalearn_gui.core.history import thin_rows
from metalearn_gui.core.hyperparams import Change, HyperParam, HyperParamError, Value, resolve
from metalearn_gui.core.interface_priority import yield_to_interface
from metalearn_gui.core.objectives import Objective, is_built_in
from metalearn_gui.core.status import Status

__all__ = ["Chunk", "Learner", "Rows", "Status"]

#: A run of a user's objective fails once every evaluation has failed for this many steps
#: running (a population sampled three times over where nothing answers is not escaping it:
#: most likely the objective fails everywhere, and each further step wastes its evaluations) …
FAILING_STEPS = 3
#: … and this many evaluations running, so that a learner evaluating one θ a step does not end
#: a run on a streak of bad luck (with half the domain failing, 20 in a row: one in a million).
FAILING_EVALUATIONS = 20


@dataclass
class Rows:
    """What a learner produced for some consecutive steps (one row per step).

    ``evaluations`` is cumulative; ``extras`` holds per-step arrays (first axis =
    rows); ``snapshot`` the learner's state after the last row (e.g. a population).
    """

    loss: np.ndarray
    theta: np.ndarray
    evaluations: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    snapshot: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.loss)

    def select(self, part: slice) -> Rows:
        return Rows(
            self.loss[part],
            self.theta[part],
            self.evaluations[part],
            {key: value[part] for key, value in self.extras.items()},
            self.snapshot,
        )

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        if len(parts) == 1:
            return parts[0]
        return Rows(
            np.concatenate([p.loss for p in parts]),
            np.concatenate([p.theta for p in parts]),
            np.concatenate([p.evaluations for p in parts]),
            {key: np.concatenate([p.extras[key] for p in parts]) for key in parts[0].extras},
            parts[-1].snapshot,
        )


@dataclass
class Chunk:
    """Consecutive steps of a run, ready to plot or write: every number is finite.

    ``step`` numbers rows (0 is the initial θ), ``best_loss`` is the best loss seen
    so far. When ``status`` is ``diverged``, ``diverged_at`` is the first step whose
    loss or θ was not finite (that row is not included) and ``message`` says what to try;
    when it is ``failed``, ``message`` says what the objective did at which step and θ.
    """

    step: np.ndarray
    loss: np.ndarray
    best_loss: np.ndarray
    evaluations: np.ndarray
    theta: np.ndarray
    extras: dict[str, np.ndarray]
    snapshot: dict[str, np.ndarray]
    status: Status
    diverged_at: int | None = None
    message: str = ""

    def __len__(self) -> int:
        return len(self.step)

    def select(self, rows: slice | np.ndarray) -> Chunk:
        """These rows (a slice or indices), with this chunk's snapshot and status."""
        return replace(self, step=self.step[rows], loss=self.loss[rows], best_loss=self.best_loss[rows],
                       evaluations=self.evaluations[rows], theta=self.theta[rows],
                       extras={name: values[rows] for name, values in self.extras.items()})

    def span(self) -> int:
        """How many steps these rows stand for (they are consecutive steps, some perhaps
        thinned out): the last step − the first + 1."""
        return int(self.step[-1] - self.step[0]) + 1 if len(self) else 0

    def thinned(self, rows: int) -> Chunk:
        """At most ``rows`` of this chunk's rows, by the history's rule (:func:`thin_rows`:
        extremes and every improvement of the best loss kept); itself if it has no more."""
        if len(self) <= rows:
            return self
        return self.select(thin_rows(self.step, self.loss, self.best_loss, rows))

    def after(self, earlier: Chunk) -> Chunk:
        """``earlier``'s rows followed by this chunk's, with this chunk's snapshot and status."""
        return replace(
            self, step=np.concatenate([earlier.step, self.step]), loss=np.concatenate([earlier.loss, self.loss]),
            best_loss=np.concatenate([earlier.best_loss, self.best_loss]),
            evaluations=np.concatenate([earlier.evaluations, self.evaluations]),
            theta=np.concatenate([earlier.theta, self.theta]),
            extras={name: np.concatenate([earlier.extras[name], values]) for name, values in self.extras.items()})


class Learner(ABC):
    """Base class: step bookkeeping, time-bounded chunks, divergence and best tracking.

    Subclasses declare ``hyperparams`` and implement :meth:`_reset` (returning the
    row of step 0) and :meth:`_run` (returning up to ``count`` further rows). They call
    the objective through :meth:`_objective_losses`, so that an objective that fails ends the run
    as ``failed`` naming the step and θ, with every row before it kept.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    #: One line on how it learns: ``list`` prints it, the window's learner menu shows it as a tooltip.
    description: ClassVar[str]
    hyperparams: ClassVar[tuple[HyperParam, ...]]
    uses_tensorflow: ClassVar[bool] = False
    #: What the objective must be for this learner to apply: names of its boolean
    #: capabilities, e.g. ``{"differentiable"}`` (see :func:`refusal`).
    requires: ClassVar[frozenset[str]] = frozenset()
    #: The largest D this learner can learn in (None: any the objective allows), and why,
    #: completing "learner X handles at most N dimensions: …".
    max_dim: ClassVar[int | None] = None
    max_dim_reason: ClassVar[str] = ""
    #: Most steps one :meth:`_run` call may be asked for.
    max_block: ClassVar[int] = 1
    #: Whether a step holds the GIL nearly throughout (Python and small arrays): such a learner
    #: steps aside between steps and before its evaluations while a window draws
    #: (core/interface_priority.py). One whose steps run outside the GIL (XLA) would only
    #: lose time by it: measured, gradient −26 % evaluations/s with no gain in the window's stall.
    gil_bound: ClassVar[bool] = False
    #: Per-step extras that may be NaN, meaning "not available at this step" (e.g. a
    #: model's prediction before the model exists); all other values must be finite.
    optional_extras: ClassVar[frozenset[str]] = frozenset()
    #: Whether a user objective's failed evaluation is a bad point to this learner (the run
    #: goes on; see the module's docstring); False: its non-finite loss diverges the run, as a
    #: built-in objective's does.
    bad_points: ClassVar[bool] = True

    def __init__(
        self,
        objective: Objective,
        hyperparameters: Mapping[str, Value] | None = None,
        *,
        max_steps: int | None = None,
    ) -> None:
        self.objective = objective
        #: Calls the objective; its ``abandon`` lets a caller give up on one that hangs.
        self.evaluator = Evaluator(objective)
        #: Whether failed evaluations are bad points counted in the ``failed`` extra.
        self.counts_failures = self.bad_points and not is_built_in(objective)
        #: Failed evaluations so far in the run.
        self.failed = 0
        self.hp = resolve(self.hyperparams, objective.suggested.get(self.name), hyperparameters)
        self.check_hyperparameters(self.hp)
        self.max_steps = max_steps
        #: A budget of true evaluations: the run finishes before a step would exceed it.
        self.max_evaluations: int | None = None
        self.pending: dict[str, Value] = {}
        #: Every change made to a running learner.
        self.changes: list[Change] = []
        self.seed: int | None = None
        self.status = Status.RUNNING
        self.step = 0
        self.evaluations = 0
        self.best_loss = np.inf
        self.last_loss: float | None = None
        self.diverged_at: int | None = None
        self.divergence = ""  # what diverged at which step and θ, and what to try
        #: Why the run failed (status ``failed``); its message names the step and θ.
        self.failure: ObjectiveFailure | None = None
        self.theta: np.ndarray | None = None
        self.theta_best: np.ndarray | None = None
        self._seconds_per_step: float | None = None
        self._computing_step = 0  # the step whose row is being computed
        self._evaluations_made = 0  # evaluations of the rows computed so far, before _finish counts them
        self._last_step_cost = 1  # evaluations the latest step made
        self._clear_failure_counts()
        #: What chunks are timed by (a test may time a learner by a clock it drives).
        self.clock: Callable[[], float] = time.perf_counter

    # -- hyper-parameters ------------------------------------------------------------
    @classmethod
    def spec(cls, name: str) -> HyperParam:
        for spec in cls.hyperparams:
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in cls.hyperparams)
        raise HyperParamError(f"unknown hyper-parameter {name!r} for {cls.name}; known: {known}")

    def check_hyperparameters(self, values: Mapping[str, Value]) -> None:
        """Raise :class:`HyperParamError` for combinations the specs alone allow but
        this learner cannot use (e.g. a tournament bigger than the population)."""

    def set_hyperparameters(self, values: Mapping[str, Value]) -> dict[str, Value]:
        """Change hyper-parameters between chunks.

        Live ones take effect at the next chunk; the others wait for :meth:`reset`.
        Returns the changes that are pending a reset. Raises :class:`HyperParamError`
        (changing nothing) if any value is not allowed.
        """
        checked = {name: self.spec(name).validate(value) for name, value in values.items()}
        self.check_hyperparameters({**self.hp, **self.pending, **checked})
        for name, value in checked.items():
            if not self.spec(name).live:
                self.pending[name] = value
                continue
            if value != self.hp[name]:
                self.changes.append(Change(self.step, name, self.hp[name], value))
                self.hp[name] = value
                self._apply_live(name, value)
        return dict(self.pending)

    def _apply_live(self, name: str, value: Value) -> None:
        """Make a live change effective in the learner's state (default: ``self.hp`` suffices)."""

    # -- running ---------------------------------------------------------------------
    def reset(self, seed: int = 0) -> Chunk:
        """Start again from the seed's initial θ; returns the chunk holding step 0."""
        self.hp.update(self.pending)
        self.pending.clear()
        self.changes.clear()
        self.seed = int(seed)
        self.status = Status.RUNNING
        self.step = 0
        self.evaluations = 0
        self.best_loss = np.inf
        self.last_loss = self.diverged_at = self.failure = None
        self.divergence = ""
        self.theta = self.theta_best = None
        self._seconds_per_step = None
        self._computing_step = self._evaluations_made = 0
        self._last_step_cost = 1
        self.failed = 0
        self._clear_failure_counts()
        try:
            first = self._account(self._reset(self.seed))
            while not np.isfinite(first.loss).all() and self.counts_failures:
                first = self._next_step_as_step_zero()
        except ObjectiveFailure as failure:  # no row to keep: the caller tells the user
            self.status, self.failure = Status.FAILED, failure
            raise
        except BaseException:  # a bug, or an interrupt: never leave a half-reset learner that advances
            self.status = Status.FAILED
            raise
        self._count_evaluations(first, before=0)
        return self._finish(first, first_step=0)

    def _next_step_as_step_zero(self) -> Rows:
        """Every evaluation of step 0 failed, leaving nothing to report: the next step stands
        in for it (:meth:`_run_each` ends the run if failures go on)."""
        self._computing_step = 0
        rows = self._run(1)
        if not len(rows):  # the budget ran out
            raise self._every_evaluation_failed()
        return rows

    def advance(self, max_steps: int | None = None, max_seconds: float | None = None) -> Chunk:
        """Run up to ``max_steps`` steps, stopping after about ``max_seconds``."""
        if self.seed is None:
            raise RuntimeError("call reset(seed) before advance()")
        remaining = self._steps_allowed(max_steps)
        if self.status is not Status.RUNNING or remaining == 0:
            return self._finish(self._no_rows(), first_step=self.step + 1)
        deadline = None if max_seconds is None else self.clock() + max_seconds
        first_step = self.step + 1
        parts: list[Rows] = []
        failure = None
        self._evaluations_made = self.evaluations
        while remaining > 0:
            self._yield_to_interface()
            count = self._block_size(remaining, deadline)
            if count == 0:  # the budget allows no further step
                break
            started = self.clock()
            self._computing_step = first_step + sum(len(part) for part in parts)
            before = self._evaluations_made
            try:
                rows = self._run(count)
            except ObjectiveFailure as error:
                failure = error
                parts += [error.rows] if error.rows is not None else []
                break
            # The latest block's speed decides the next block's size: blocks grow
            # from one step to as many as fit in the time left.
            if not len(rows):  # _run_each stopped at the budget
                break
            self._seconds_per_step = (self.clock() - started) / len(rows)
            parts.append(rows)
            remaining -= len(rows)
            self._count_evaluations(rows, before)
            # Non-finite values propagate, so the last row tells whether to stop
            # early; _finish finds the first bad row.
            healthy = _finite_rows(rows.select(slice(-1, None)), self.optional_extras).all()
            out_of_time = deadline is not None and self.clock() >= deadline
            if not healthy or out_of_time:
                break
        return self._finish(Rows.concat(parts) if parts else self._no_rows(), first_step, failure)

    def _steps_allowed(self, max_steps: int | None) -> int:
        allowed = max_steps if max_steps is not None else 1 << 62
        if self.max_steps is not None:
            allowed = min(allowed, self.max_steps - self.step)
        return max(allowed, 0)

    def _block_size(self, remaining: int, deadline: float | None) -> int:
        count = min(remaining, self.max_block, self._steps_in_budget())
        if deadline is not None and self._seconds_per_step:
            time_left = max(deadline - self.clock(), 0.0)
            count = min(count, max(1, int(time_left / self._seconds_per_step)))
        elif deadline is not None:
            count = min(count, 1)  # first block: measure the speed before committing to more
        return count

    def _steps_in_budget(self) -> int:
        """How many steps the budget allows at the next step's cost (no budget: unbounded).
        A block learner runs at most this many; :meth:`_run_each` checks each step again,
        since a step's cost may change (a restart with a larger population)."""
        if self.max_evaluations is None:
            return 1 << 62
        left = self.max_evaluations - self._evaluations_made
        return max(left // max(self.evaluations_next_step(), 1), 0)

    def _count_evaluations(self, rows: Rows, before: int) -> None:
        """Note the evaluations ``rows`` (at least one) brought the run to, ``before`` them
        the count was ``before``: the total and what the last step cost."""
        previous = rows.evaluations[-2] if len(rows) > 1 else before
        self._last_step_cost = int(rows.evaluations[-1] - previous)
        self._evaluations_made = int(rows.evaluations[-1])

    def _limit_reached(self) -> bool:
        """Whether the run has made its steps, or its budget cannot pay for another step."""
        if self.max_steps is not None and self.step >= self.max_steps:
            return True
        return self.status is Status.RUNNING and self._steps_in_budget() == 0

    def _finish(self, rows: Rows, first_step: int, failure: ObjectiveFailure | None = None) -> Chunk:
        """Turn raw rows into a chunk: cut at divergence, track the best, set the status
        (``failed`` after the rows, if ``failure``)."""
        good = _finite_rows(rows, self.optional_extras)
        diverged_at: int | None = None
        message = ""
        if not good.all():
            bad = int(np.argmin(good))
            diverged_at = first_step + bad
            message = self._divergence_message(rows, bad, diverged_at)
            rows = rows.select(slice(bad))
        count = len(rows)
        steps = np.arange(first_step, first_step + count, dtype=np.int64)
        best = np.minimum.accumulate(np.concatenate([[self.best_loss], rows.loss]))[1:]
        if count:
            where = int(np.argmin(rows.loss))
            if rows.loss[where] < self.best_loss:
                self.theta_best = rows.theta[where].copy()
            self.best_loss = float(best[-1])
            self.theta = rows.theta[-1].copy()
            self.last_loss = float(rows.loss[-1])
            self.evaluations = int(rows.evaluations[-1])
            self.step = int(steps[-1])
        if diverged_at is not None:
            self.status = Status.DIVERGED
            self.diverged_at, self.divergence = diverged_at, message
        elif failure is not None:
            self.status, self.failure, message = Status.FAILED, failure, str(failure)
        elif count and self._converged(rows):
            self.status = Status.CONVERGED
        elif self._limit_reached():
            self.status = Status.FINISHED
        return Chunk(
            step=steps,
            loss=rows.loss.astype(np.float64, copy=False),
            best_loss=best,
            evaluations=rows.evaluations.astype(np.int64, copy=False),
            theta=rows.theta,
            extras=rows.extras,
            snapshot=rows.snapshot,
            status=self.status,
            diverged_at=diverged_at,
            message=message,
        )

    def _divergence_message(self, rows: Rows, bad: int, step: int) -> str:
        if np.isfinite(rows.loss[bad]):
            what = "θ became non-finite"
        else:  # an objective answering NaN, or a run that ran away
            what = f"the loss became non-finite for θ = {format_theta(rows.theta[bad])}"
        return f"diverged at step {step}: {what}. {self.divergence_hint()}"

    def divergence_hint(self) -> str:
        """One sentence on what to try after a divergence."""
        return "Try smaller steps."

    def evaluations_next_step(self) -> int:
        """How many true evaluations the next step will cost (a budget stops a run before
        a step would cross it): by default what the latest step cost (step 0's initial design
        included), which is exact for learners whose steps all cost the same. Learners whose
        cost changes (a restart with a larger population) override it."""
        return self._last_step_cost

    # -- optional abilities: a learner with a model of the loss overrides these --------
    def trust_region(self) -> tuple[np.ndarray, float] | None:
        """Centre and radius of the region the learner's model describes (None: no model yet)."""
        return None

    def predict(self, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The model's predicted loss and its spread at ``thetas`` (n, D) (None: no model yet)."""
        return None

    def _objective_losses(self, thetas: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """The objective's losses of ``thetas`` (n, dim), for the step being computed (NaN
        for a user objective's failed evaluations)."""
        self._yield_to_interface()  # between a step's own work and its evaluations
        losses = self.evaluator.losses(np.asarray(thetas, dtype=np.float64), rng, self._computing_step)
        if self.counts_failures:
            self._step_evaluations += len(losses)
            self._step_failures += int(np.count_nonzero(~np.isfinite(losses)))
        return losses

    def _clear_failure_counts(self) -> None:
        self._step_evaluations = self._step_failures = 0  # of the step being computed
        self._failing_steps = self._failing_evaluations = 0  # running, where every evaluation failed
        self._previous: Rows | None = None  # the latest row with a finite loss

    def _account(self, row: Rows) -> Rows:
        """Note a step's failed evaluations (a user objective's): the row with the ``failed``
        extra, a step whose every evaluation failed carrying the previous row's loss and θ;
        raises :class:`ObjectiveFailure` when failures have gone on too long."""
        if not self.counts_failures:
            return row
        evaluated, failed = self._step_evaluations, self._step_failures
        self._step_evaluations = self._step_failures = 0
        self.failed += failed
        if evaluated and failed == evaluated:
            self._failing_steps += 1
            self._failing_evaluations += failed
            if self._failing_steps >= FAILING_STEPS and self._failing_evaluations >= FAILING_EVALUATIONS:
                raise self._every_evaluation_failed()
            if self._previous is not None:
                row = _carried_over(row, self._previous)
        elif evaluated:
            self._failing_steps = self._failing_evaluations = 0
        row.extras["failed"] = np.array([float(self.failed)])
        if np.isfinite(row.loss).all():
            self._previous = row
        return row

    def _every_evaluation_failed(self) -> ObjectiveFailure:
        last = self.evaluator.last_failure
        assert last is not None, "the evaluator notes each failed evaluation"
        what = (f"every evaluation failed for {self._failing_steps} steps running "
                f"({self._failing_evaluations} evaluations; the last: {last.message})")
        return ObjectiveFailure(what, Evaluation(last.step, last.theta[None, :], time.monotonic()))

    def _yield_to_interface(self) -> None:
        if self.gil_bound:
            yield_to_interface()

    def _run_each(self, count: int, step: Callable[[], Rows]) -> Rows:
        """Up to ``count`` steps of one row each (``step()`` makes one), stopping after a
        non-finite row or before a step the evaluation budget cannot pay for; an objective
        failure carries the rows made before it."""
        rows: list[Rows] = []
        for _ in range(count):
            if self._steps_in_budget() == 0:
                break
            self._yield_to_interface()
            try:
                row = self._account(step())
            except ObjectiveFailure as failure:
                failure.rows = Rows.concat(rows) if rows else None
                raise
            rows.append(row)
            self._computing_step += 1
            self._count_evaluations(row, self._evaluations_made)
            if not (math.isfinite(row.loss[-1]) and np.isfinite(row.theta[-1]).all()):
                break  # _finish cuts the chunk there
        return Rows.concat(rows) if rows else self._no_rows()

    def _no_rows(self) -> Rows:
        dim = self.objective.dim
        return Rows(np.empty(0), np.empty((0, dim)), np.empty(0, dtype=np.int64))

    def _converged(self, rows: Rows) -> bool:
        """Whether the learner can make no further progress (default: never says so)."""
        return False

    @abstractmethod
    def _reset(self, seed: int) -> Rows:
        """Initialise from ``seed``; return the single row of step 0."""

    @abstractmethod
    def _run(self, count: int) -> Rows:
        """Run ``count`` steps (fewer only when something became non-finite)."""


def _carried_over(row: Rows, previous: Rows) -> Rows:
    """A one-row step whose every evaluation failed: its loss and θ are ``previous``'s, and
    so is each per-step value it could not compute (not finite)."""
    extras = {name: values if not np.issubdtype(values.dtype, np.floating) or np.isfinite(values).all()
              else previous.extras[name] for name, values in row.extras.items()}
    return replace(row, loss=previous.loss.copy(), theta=previous.theta.copy(), extras=extras)


def _finite_rows(rows: Rows, optional: frozenset[str]) -> np.ndarray:
    """Which rows are healthy; optional extras' non-finite values become NaN instead."""
    good = np.isfinite(rows.loss) & np.isfinite(rows.theta).all(axis=1)
    for name, values in rows.extras.items():
        if values.dtype.kind != "f":
            continue
        if name in optional:
            values[~np.isfinite(values)] = np.nan
        else:
            good &= np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    return good
