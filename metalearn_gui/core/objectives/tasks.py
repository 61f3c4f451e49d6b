"""Objectives that are task distributions: learning to learn.

L(θ) is how well θ — a learning strategy, or a network's initialisation — makes a learner
do on tasks drawn fresh for every evaluation (meta-training). A fixed set of **held-out**
tasks, never drawn in meta-training, measures how θ generalises, and **baselines**
computed the same way (e.g. the best constant learning rate, tuned on meta-training tasks)
say what learning to learn has bought. The gap between the meta-training loss and the
held-out loss is what the field calls the generalisation challenge.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from metalearn_gui.core.objectives.base import Objective


@dataclass(frozen=True)
class HeldOut:
    """Strategies' results on the held-out tasks: one mean query loss per θ, and the mean
    query accuracy per θ for classification."""

    loss: np.ndarray
    accuracy: np.ndarray | None = None


@dataclass(frozen=True)
class Baseline:
    """A reference result on the held-out tasks, computed the same way as a learned θ's.

    ``label`` names it in legends and tables (e.g. "tuned constant rate 0.3");
    ``theta`` is its strategy in θ-space when it is one (Adam is not)."""

    label: str
    loss: float
    accuracy: float | None = None
    theta: np.ndarray | None = None


@dataclass(frozen=True)
class InnerCurves:
    """One held-out task trained by each strategy: the query loss (and accuracy, for
    classification) after each inner step 0 … T, keyed by the strategy's label."""

    task: str
    steps: np.ndarray
    loss: dict[str, np.ndarray]
    accuracy: dict[str, np.ndarray] | None = None


@dataclass(frozen=True)
class FunctionFits:
    """One held-out regression task: the true function on ``x``, the support points the
    learner saw, and each initialisation's fitted curve after some inner steps
    (``fits[label][steps]``, values on ``x``)."""

    task: str
    x: np.ndarray
    truth: np.ndarray
    support_x: np.ndarray
    support_y: np.ndarray
    fits: dict[str, dict[int, np.ndarray]]


TaskView = InnerCurves | FunctionFits


class TaskDistribution(Objective):
    """An objective whose loss is a learner's result on tasks drawn fresh per evaluation
    (so it is noisy), with fixed held-out tasks and baselines (see the module docstring)."""

    noisy = True
    #: Classification tasks: held-out results and task views carry accuracy too.
    classification: ClassVar[bool] = False

    @abstractmethod
    def heldout(self, thetas: np.ndarray) -> HeldOut:
        """Results of each row of ``thetas`` (n, dim) on the held-out tasks (one batched call)."""

    @abstractmethod
    def baselines(self) -> tuple[Baseline, ...]:
        """The baselines, the reference first (the loss plot's dashed line, the summary's
        ``baseline_heldout_*``). Computed once per objective and cached: the first call may
        take seconds."""

    @abstractmethod
    def task_view(self, theta: np.ndarray) -> TaskView:
        """One held-out task (always the same one) learned with ``theta`` and with the
        baselines, for the task view panel and exports."""

    # -- the single-θ forms the summary uses --------------------------------------------
    def heldout_loss(self, theta: np.ndarray) -> float:
        return float(self._heldout_of_one(theta).loss[0])

    def heldout_accuracy(self, theta: np.ndarray) -> float | None:
        accuracy = self._heldout_of_one(theta).accuracy
        return None if accuracy is None else float(accuracy[0])

    def _heldout_of_one(self, theta: np.ndarray) -> HeldOut:
        """:meth:`heldout` of one θ, remembered for the last θ asked: a summary asks for
        its loss and then its accuracy, and one evaluation may train hundreds of networks."""
        theta = np.asarray(theta, dtype=np.float64)
        key = theta.tobytes()
        last = getattr(self, "_last_heldout", None)
        if last is None or last[0] != key:
            last = self._last_heldout = (key, self.heldout(theta[None, :]))
        return last[1]

    def baseline_heldout_loss(self) -> float:
        return self.baselines()[0].loss

    def baseline_heldout_accuracy(self) -> float | None:
        return self.baselines()[0].accuracy


def is_task_distribution(objective: Objective | type[Objective]) -> bool:
    """Whether ``objective`` (or its class) has held-out tasks, baselines and a task view."""
    cls = objective if isinstance(objective, type) else type(objective)
    return issubclass(cls, TaskDistribution)
