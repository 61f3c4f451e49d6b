"""What a run leaves behind as it goes: its in-memory record, its entry in the run store
and, if asked, a TensorBoard log. The command line and the window's worker both feed
their chunks through a :class:`RunRecorder`, so a run is stored the same way wherever
it ran.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Callable

from metalearn_gui.core.learners import Chunk, Learner
from metalearn_gui.core.record import RunRecord
from metalearn_gui.core.run import RunConfig
from metalearn_gui.core.status import Status
from metalearn_gui.core.store import RunStore, StoreError
from metalearn_gui.core.summary import RunSummary

log = logging.getLogger(__name__)


class RunRecorder:
    """Records one run of ``learner`` (already reset or about to be).

    The run enters the store (and TensorBoard) with its first step after step 0, so
    resetting without running leaves no empty runs behind. A store or TensorBoard
    that fails mid-run is dropped with a message to ``on_warning``; the run and its
    in-memory record go on. Once finished, the recorder takes nothing more (a step
    after the end adds no rows to the stored run).
    """

    def __init__(self, config: RunConfig, learner: Learner, source: str, store: RunStore | None = None,
                 tensorboard_dir: Path | None = None, on_warning: Callable[[str], None] | None = None) -> None:
        self.config, self.learner, self.source = config, learner, source
        self.store, self.tensorboard_dir = store, tensorboard_dir
        self.record: RunRecord | None = None
        self.on_warning = on_warning or (lambda message: None)
        self._tensorboard = None
        self._entered = False  # in the store and TensorBoard
        self._changes_stored = 0
        self._finished = False

    @property
    def run_id(self) -> int | None:
        return None if self.record is None else self.record.id

    def add(self, chunk: Chunk) -> None:
        if self._finished:
            return
        if self.record is None:
            self.record = RunRecord.begin(self.config, chunk)
        else:
            self.record.add(chunk)
        self.record.changes = list(self.learner.changes)
        if not self._entered:
            if self.record.history.rows_seen < 2:
                return
            self._enter()
            chunk = None  # _enter wrote the record so far, this chunk included
        self._store_step(chunk)
        self._tensorboard_step(chunk)

    def set_tensorboard(self, directory: Path | None) -> None:
        """Log this run to TensorBoard from now on (rows so far included), or stop logging it."""
        if directory == self.tensorboard_dir:
            return
        self.tensorboard_dir = directory
        if self._tensorboard is not None:
            self._guarded("tensorboard", self._tensorboard.close)
            self._tensorboard = None
        if directory is not None and self._entered and not self._finished:
            self._guarded("tensorboard", self._open_tensorboard)

    def finish(self, summary: RunSummary, status: Status | None = None) -> None:
        """The run ended (``status`` e.g. ``stopped`` when the user left it); idempotent."""
        if self._finished or self.record is None:
            return
        self._finished = True
        if status is not None:  # the learner's own status says "running"
            summary = replace(summary, status=status)
        self.record.summary = summary
        self.record.status = summary.status
        if self.store is not None and self.run_id is not None:
            self._guarded("store", lambda: self.store.finish(self.run_id, summary))
        if self._tensorboard is not None:
            self._guarded("tensorboard", self._tensorboard.close)

    # -- internals -----------------------------------------------------------------------
    def _enter(self) -> None:
        self._entered = True
        if self.store is not None:
            self._guarded("store", lambda: self.store.begin(self.record, self.source))
            self._changes_stored = len(self.record.changes)
        if self.tensorboard_dir is not None:
            self._guarded("tensorboard", self._open_tensorboard)

    def _open_tensorboard(self) -> None:
        from metalearn_gui.core.tensorboard_log import TensorBoardLog

        self._tensorboard = TensorBoardLog(self.tensorboard_dir, self.config, self.learner.hp)
        self._tensorboard.write(_rows_so_far(self.record))

    def _store_step(self, chunk: Chunk | None) -> None:
        if self.store is None or self.run_id is None:
            return
        new_changes = self.record.changes[self._changes_stored:]

        def write() -> None:
            if chunk is not None:
                self.store.append(self.run_id, chunk)
            if new_changes:
                self.store.add_changes(self.run_id, new_changes)
            self._changes_stored = len(self.record.changes)

        self._guarded("store", write)

    def _tensorboard_step(self, chunk: Chunk | None) -> None:
        if self._tensorboard is None:
            return

        def write() -> None:
            if chunk is not None:
                self._tensorboard.write(chunk)
            self._tensorboard.write_changes(self.record.changes)

        self._guarded("tensorboard", write)

    def _guarded(self, sink: str, action) -> None:
        """Run ``action``; on failure drop ``sink`` for the rest of the run, with a message."""
        try:
            action()
        except (StoreError, OSError, ImportError, ValueError) as error:
            if sink == "store":
                self._drop_store()
                message = f"this run is no longer saved to the run history: {error}"
            else:
                self._tensorboard = None
                message = f"TensorBoard logging stopped for this run: {error}"
            log.warning(message)
            self.on_warning(message)

    def _drop_store(self) -> None:
        """Stop writing this run: a failing store is not retried chunk after chunk (a disk
        that is full stays full, and a run stored with a gap would misstate its history).
        What was committed stays, marked ``interrupted`` if the store still takes that."""
        store, self.store = self.store, None
        if self.run_id is not None:
            try:
                store.interrupt(self.run_id)
            except (StoreError, OSError):
                pass  # still "running": marked interrupted once this process has ended


def _rows_so_far(record: RunRecord) -> Chunk:
    """The record's rows as one chunk: TensorBoard starts once the run has entered the store."""
    history = record.history
    return Chunk(
        step=history.column("step").astype(int), loss=history.column("loss"),
        best_loss=history.column("best_loss"), evaluations=history.column("evaluations").astype(int),
        theta=history.theta(), extras={name: history.column(name) for name in history.extra_names},
        snapshot={}, status=Status.RUNNING,
    )
