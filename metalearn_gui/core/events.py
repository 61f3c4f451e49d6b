"""What a run session hands out (:mod:`metalearn_gui.core.session`): plain values a
consumer on another thread may keep — chunks, states, landscapes, held-out results and
messages, never the learner.
"""

from __future__ import annotations

from dataclasses import dataclass

from metalearn_gui.core.evaluation import FailedEvaluation
from metalearn_gui.core.hyperparams import Change, Value
from metalearn_gui.core.landscape import Landscape
from metalearn_gui.core.learners import Chunk
from metalearn_gui.core.objectives.tasks import Baseline, TaskView
from metalearn_gui.core.record import RunRecord
from metalearn_gui.core.run import RunConfig
from metalearn_gui.core.status import Status
from metalearn_gui.core.summary import RunSummary


@dataclass(frozen=True)
class RunState:
    """Where a session stands, sent whenever it changes."""

    #: Which of the session's runs this is (it counts preparations); every event of a
    #: run carries it, so a consumer can drop what belongs to a run the user has left.
    serial: int
    config: RunConfig | None
    phase: Status
    hp: dict[str, Value]
    pending: dict[str, Value]
    changes: tuple[Change, ...]
    message: str = ""
    tf_loaded: bool = False
    #: Preparing this run imports TensorFlow (seconds, once per process).
    loading_tensorflow: bool = False
    #: The run's id in the run store (None until its first step is stored, or unstored).
    record_id: int | None = None
    #: The run's summary when it is not running (None while it runs).
    summary: RunSummary | None = None


@dataclass(frozen=True)
class ChunkMessage:
    serial: int
    chunk: Chunk
    steps_per_second: float


@dataclass(frozen=True)
class RecordCopy:
    """A copy of the run's record (every row it was given, thinned by the history's rule),
    for export; None before the run has a step."""

    serial: int
    record: RunRecord | None


@dataclass(frozen=True)
class HeldOutResult:
    """A task-distribution objective's held-out tasks learned with the run's best θ as it
    was at ``step`` (after ``evaluations`` evaluations): its mean query loss, accuracy
    (classification only) and the task view (one held-out task, beside the baselines)."""

    serial: int
    step: int
    evaluations: int
    loss: float
    accuracy: float | None
    task_view: TaskView | None


@dataclass(frozen=True)
class BaselinesReady:
    """The objective's baselines on its held-out tasks, the reference first (sent once per run)."""

    serial: int
    baselines: tuple[Baseline, ...]


@dataclass(frozen=True)
class InputRejected:
    """A value the learner refused; one line naming it."""

    message: str


@dataclass(frozen=True)
class RunFailed:
    """The run stopped with an error: one line, and the traceback."""

    message: str
    details: str


@dataclass(frozen=True)
class Notice:
    """News of the run store or TensorBoard log (``kind``: info or warning), one line."""

    kind: str
    message: str


@dataclass(frozen=True)
class EvaluationsFailed:
    """Evaluations of a user objective that failed since the last such event (their loss is
    NaN; the run goes on); ``total``: failed evaluations so far in the run."""

    serial: int
    failures: tuple[FailedEvaluation, ...]
    total: int


Event = (RunState | ChunkMessage | Landscape | HeldOutResult | BaselinesReady | RecordCopy | InputRejected
         | RunFailed | Notice | EvaluationsFailed)
