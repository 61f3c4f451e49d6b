"""One vocabulary for where a run stands, from the learner to the run store and the window.

A learner is ``running`` until it ``converged``, ``diverged``, ``finished`` its step
budget or ``failed`` (its objective raised, answered nonsense or was abandoned). A
session adds the states around it: ``preparing`` (building the learner, maybe loading
TensorFlow), ``ready`` (at step 0) and ``paused``. The run store adds the ends a learner
does not choose: ``stopped`` (the user left the run) and ``interrupted`` (its process
ended without saying). The values are the strings stored in the run store and written
to JSON, so they never change.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PREPARING = "preparing"
    READY = "ready"
    RUNNING = "running"
    PAUSED = "paused"
    CONVERGED = "converged"
    DIVERGED = "diverged"
    FINISHED = "finished"
    FAILED = "failed"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"

    def is_finished(self) -> bool:
        """Whether the run has ended: it takes no further step without a reset."""
        return self in _FINISHED


_FINISHED = frozenset({Status.CONVERGED, Status.DIVERGED, Status.FINISHED, Status.FAILED, Status.STOPPED,
                       Status.INTERRUPTED})
