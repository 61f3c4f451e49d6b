"""What a run leaves behind as it goes: its in-memory record, its entry in the run store
and, if asked, a TensorBoard log. The command line and the window's worker both feed
their chunks through a :class:`RunRecorder`, so a run is stored the same way wherever
it ran.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from metalearn_gui.core.learners import Chunk, Learner
from metalearn_gui.core.record import RECORD_CHUNK_ROWS, RaceEntry, RunRecord
from metalearn_gui.core.run import RunConfig
from metalearn_gui.core.status import Status
from metalearn_gui.core.store import RunStore, StoreError
from metalearn_gui.core.summary import RunSummary

if TYPE_CHECKING:  # imported when a run is logged: it may import TensorBoard
    from metalearn_gui.core.tensorboard_log import TensorBoardLog

log = logging.getLogger(__name__)


class RunRecorder:
    """Records one run of ``learner`` (already reset or about to be).

    The run enters the store (and TensorBoard) with its first step after step 0, so
    resetting without running leaves no empty runs behind. A store or TensorBoard
    that fails mid-run is dropped with a message to ``on_warning``; the run and its
    in-memory record go on. A run of a race carries its ``race`` entry into the store.
    Once finished, the recorder takes nothing more (a step
    after the end adds no rows to the stored run).
    """

    def __init__(self, config: RunConfig, learner: Learner, source: str, store: RunStore | None = None,
                 tensorboard_dir: Path | None = None, on_warning: Callable[[str], None] | None = None,
                 race: RaceEntry | None = None) -> None:
        self.config, self.learner, self.source, self.race = config, learner, source, race
        self.store, self.tensorboard_dir = store, tensorboard_dir
        self.record: RunRecord | None = None
        self.on_warning = on_warning or (lambda message: None)
        self._tensorboard: TensorBoardLog | None = None
        self._entered = False  # in the store and TensorBoard
        self._changes_stored = 0
        self._finished = False

    @property
    def run_id(self) -> int | None:
        return None if self.record is None else self.record.id

    def add(self, chunk: Chunk) -> None:
        if self._finished:
            return
        # Thinned once here; the store and TensorBoard thin it further from these rows.
        chunk = chunk.thinned(RECORD_CHUNK_ROWS)
        if self.record is None:
            self.record = RunRecord.begin(self.config, chunk)
            self.record.race = self.race
        else:
            self.record.add(chunk)
        self.record.changes = list(self.learner.changes)
        unwritten: Chunk | None = chunk
        if not self._entered:
            if self.record.history.rows_seen < 2:
                return
            self._enter(self.record)
            unwritten = None  # _enter wrote the record so far, this chunk included
        self._store_step(unwritten)
        self._tensorboard_step(unwritten)

    def set_tensorboard(self, directory: Path | None) -> None:
        """Log this run to TensorBoard from now on (rows so far included), or stop logging it."""
        if directory == self.tensorboard_dir:
            return
        self.tensorboard_dir = directory
        if self._tensorboard is not None:
            self._guarded("tensorboard", self._tensorboard.close)
            self._tensorboard = None
        record = self.record
        if directory is not None and record is not None and self._entered and not self._finished:
            self._guarded("tensorboard", lambda: self._open_tensorboard(directory, record))

    def finish(self, summary: RunSummary, status: Status | None = None) -> None:
        """The run ended (``status`` e.g. ``stopped`` when the user left it); idempotent."""
        if self._finished or self.record is None:
            return
        self._finished = True
        if not self._entered and self.race is not None:
            # A race's run that ended at step 0 (its initial design spent the budget) is a result.
            self._enter(self.record)
        if status is not None:  # the learner's own status says "running"
            summary = replace(summary, status=status)
        self.record.summary = summary
        self.record.status = summary.status
        store, run_id = self.store, self.run_id
        if store is not None and run_id is not None:
            self._guarded("store", lambda: store.finish(run_id, summary))
        if self._tensorboard is not None:
            self._guarded("tensorboard", self._tensorboard.close)

    # -- internals -----------------------------------------------------------------------
    def _enter(self, record: RunRecord) -> None:
        self._entered = True
        store, directory = self.store, self.tensorboard_dir
        if store is not None:
            self._guarded("store", lambda: store.begin(record, self.source))
            self._changes_stored = len(record.changes)
        if directory is not None:
            self._guarded("tensorboard", lambda: self._open_tensorboard(directory, record))

    def _open_tensorboard(self, directory: Path, record: RunRecord) -> None:
        from metalearn_gui.core.tensorboard_log import TensorBoardLog

        self._tensorboard = TensorBoardLog(directory, self.config, self.learner.hp)
        self._tensorboard.write(_rows_so_far(record))

    def _store_step(self, chunk: Chunk | None) -> None:
        store, run_id, record = self.store, self.run_id, self.record
        if store is None or run_id is None or record is None:
            return
        new_changes = record.changes[self._changes_stored:]

        def write() -> None:
            if chunk is not None:
                store.append(run_id, chunk)
            if new_changes:
                store.add_changes(run_id, new_changes)
            self._changes_stored = len(record.changes)

        self._guarded("store", write)

    def _tensorboard_step(self, chunk: Chunk | None) -> None:
        tensorboard, record = self._tensorboard, self.record
        if tensorboard is None or record is None:
            return

        def write() -> None:
            if chunk is not None:
                tensorboard.write(chunk)
            tensorboard.write_changes(record.changes)

        self._guarded("tensorboard", write)

    def _guarded(self, sink: str, action: Callable[[], object]) -> None:
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
        if store is not None and self.run_id is not None:
            # If this fails too, the run stays "running": marked interrupted once this process has ended.
            with contextlib.suppress(StoreError, OSError):
                store.interrupt(self.run_id)


def _rows_so_far(record: RunRecord) -> Chunk:
    """The record's rows as one chunk: TensorBoard starts once the run has entered the store."""
    history = record.history
    return Chunk(
        step=history.column("step").astype(int), loss=history.column("loss"),
        best_loss=history.column("best_loss"), evaluations=history.column("evaluations").astype(int),
        theta=history.theta(), extras={name: history.column(name) for name in history.extra_names},
        snapshot={}, status=Status.RUNNING,
    )
