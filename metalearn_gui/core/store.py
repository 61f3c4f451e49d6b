"""The run store: every run's configuration, hyper-parameter changes and bounded
history in one SQLite file, ``runs.sqlite3`` in the data folder (:func:`resolve_data_dir`).

Each chunk is committed in its own transaction, so a killed process loses nothing
committed; WAL and a busy timeout let the window and a command-line run write at
once. History rows are little-endian float64 blobs in :class:`History`'s column
layout, one blob per chunk, bounded like the core's history and by the same rule
(:func:`~metalearn_gui.core.history.thin_rows`): a chunk is thinned
(:meth:`RunStore._chunk_rows`) before it is written, and once a run holds more than
``capacity`` rows its batches older than the newest quarter are merged and thinned to
half the capacity. Nothing is ever pickled.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metalearn_gui import __version__
from metalearn_gui.core.history import (
    BASE_COLUMNS,
    EXACT_SHARE,
    THINNED_SHARE,
    History,
    as_rows,
    thin_rows,
    thin_table,
)
from metalearn_gui.core.hyperparams import Change
from metalearn_gui.core.learners import Chunk
from metalearn_gui.core.owner import Owner
from metalearn_gui.core.record import RECORD_ROWS, RaceEntry, RunRecord
from metalearn_gui.core.run import ConfigError, RunConfig
from metalearn_gui.core.status import Status
from metalearn_gui.core.store_file import StoreError, is_damage, mark_damaged, open_database, transaction
from metalearn_gui.core.summary import RunSummary

ENV_DATA_DIR = "METALEARN_GUI_DATA_DIR"
DB_NAME = "runs.sqlite3"
SOURCES = ("cli", "window")
__all__ = ["DB_NAME", "ENV_DATA_DIR", "RaceInfo", "RunInfo", "RunStore", "StoreError", "UnknownRunError",
           "resolve_data_dir"]


class UnknownRunError(StoreError):
    pass


def resolve_data_dir(override: str | os.PathLike | None = None) -> Path:
    """The data folder: ``override`` (``--data-dir``), else ``$METALEARN_GUI_DATA_DIR``,
    else the platform's application-data folder."""
    chosen = override or os.environ.get(ENV_DATA_DIR)
    if chosen:
        return Path(chosen).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("metalearn-gui", appauthor=False))


@dataclass(frozen=True)
class RunInfo:
    """A stored run in brief, as ``runs list`` shows it."""

    id: int
    created: str
    learner: str
    objective: str
    dim: int
    seed: int
    status: Status
    best_loss: float | None
    final_loss: float | None
    steps: int
    evaluations: int
    source: str
    app_version: str
    #: The race the run belongs to (None: a run on its own) and its entrant's label there.
    race_id: int | None = None
    entrant: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))  # read back as the stored string

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RaceInfo:
    """A stored race: its id, when it began and its configuration (``RaceConfig.to_dict()``;
    :mod:`metalearn_gui.core.race` reads it back)."""

    id: int
    created: str
    config: dict[str, Any]


class RunStore:
    """An open run store. One instance per thread (a SQLite connection is not shared);
    ``messages`` says what :meth:`open` had to repair, one line each."""

    def __init__(self, connection: sqlite3.Connection, path: Path, capacity: int) -> None:
        self._db = connection
        self.path = path
        self.capacity = capacity
        self.messages: list[str] = []
        self._layouts: dict[int, tuple[int, tuple[str, ...]]] = {}

    @classmethod
    def open(cls, data_dir: str | os.PathLike | None = None, capacity: int = RECORD_ROWS) -> RunStore:
        """Open (creating if needed) the store in ``data_dir`` (see :func:`resolve_data_dir`).

        A corrupt or foreign file is moved aside and replaced by a fresh store; runs
        whose process has ended are marked ``interrupted``. Raises :class:`StoreError`
        if the folder or file cannot be used at all.
        """
        folder = resolve_data_dir(data_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"data folder {str(folder)!r} cannot be created: {error.strerror}") from None
        path = folder / DB_NAME
        connection, messages = open_database(path)
        store = cls(connection, path, capacity)
        store.messages = messages
        try:
            store.mark_interrupted()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writing a run -------------------------------------------------------------
    def begin(self, record: RunRecord, source: str) -> int:
        """Store ``record`` (its rows and changes so far) as a new running run owned by
        this process; sets and returns ``record.id``."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        history, config, owner, race = record.history, record.config, Owner.current(), record.race
        with self._write():
            run_id = self._db.execute(
                "INSERT INTO runs (created, learner, objective, dim, seed, config, extras, status, "
                "app_version, source, owner_pid, owner_host, owner_boot, race_id, entrant) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
                (record.created, config.learner, config.objective, history.dim, config.seed,
                 json.dumps(config.to_dict()), json.dumps(history.extra_names), __version__, source,
                 owner.pid, owner.host, owner.boot, race and race.race_id, race and race.entrant),
            ).lastrowid
            assert run_id is not None  # set by the INSERT
            self._layouts[run_id] = (history.dim, history.extra_names)
            table = history.table()
            if len(table):
                self._write_rows(run_id, thin_table(table, self.capacity // EXACT_SHARE), history.rows_seen)
            self._insert_changes(run_id, record.changes)
        record.id = run_id
        return run_id

    def append(self, run_id: int, chunk: Chunk) -> None:
        """Commit one chunk's rows, thinned to at most :meth:`_chunk_rows`."""
        if len(chunk) == 0:
            return
        _, extras = self._layout(run_id)
        keep = thin_rows(chunk.step, chunk.loss, chunk.best_loss, self._chunk_rows(run_id))
        kept_extras = {name: np.asarray(chunk.extras[name]).reshape(len(chunk))[keep]
                       for name in extras if name in chunk.extras}
        rows = as_rows(extras, chunk.step[keep], chunk.loss[keep], chunk.best_loss[keep],
                       chunk.evaluations[keep], chunk.theta[keep], kept_extras)
        with self._write():
            self._write_rows(run_id, rows, chunk.span())

    def add_changes(self, run_id: int, changes: Iterable[Change]) -> None:
        with self._write():
            self._insert_changes(run_id, changes)

    def finish(self, run_id: int, summary: RunSummary) -> None:
        """Mark the run ended with ``summary`` (:func:`~metalearn_gui.core.run.summarize`)
        and its status."""
        with self._write():
            updated = self._db.execute(
                "UPDATE runs SET status = ?, summary = ?, best_loss = COALESCE(?, best_loss), "
                "final_loss = COALESCE(?, final_loss), steps = COALESCE(?, steps), "
                "evaluations = COALESCE(?, evaluations), owner_pid = NULL, owner_host = NULL, "
                "owner_boot = NULL WHERE id = ?",
                (summary.status, json.dumps(summary.to_dict()), summary.best_loss, summary.final_loss,
                 summary.steps, summary.evaluations, run_id),
            ).rowcount
            if not updated:
                raise self._unknown(run_id)

    def begin_race(self, config: dict[str, Any], created: str) -> int:
        """Store a race's configuration (``RaceConfig.to_dict()``); returns its id, which its
        runs carry (:class:`~metalearn_gui.core.record.RaceEntry`)."""
        with self._write():
            race_id = self._db.execute("INSERT INTO races (created, config) VALUES (?, ?)",
                                       (created, json.dumps(config))).lastrowid
        assert race_id is not None  # set by the INSERT
        return race_id

    # -- reading and deleting ------------------------------------------------------
    def list_races(self) -> list[RaceInfo]:
        with self._guard():
            rows = self._db.execute("SELECT id, created, config FROM races ORDER BY id").fetchall()
        races = []
        for race_id, created, config in rows:
            try:
                races.append(RaceInfo(race_id, created, json.loads(config)))
            except (ValueError, RecursionError) as error:
                raise StoreError(f"stored configuration of race {race_id} cannot be used: {error}") from None
        return races

    def list_runs(self) -> list[RunInfo]:
        fields = ", ".join(RunInfo.__dataclass_fields__)
        with self._guard():
            rows = self._db.execute(f"SELECT {fields} FROM runs ORDER BY id").fetchall()
        return [RunInfo(*row) for row in rows]

    def load(self, run_id: int) -> RunRecord:
        """The stored run as a record whose history holds exactly the stored rows."""
        with self._guard():
            config_json, summary_json, status, created, rows_seen, race_id, entrant = self._run_row(
                run_id, "config, summary, status, created, rows_seen, race_id, entrant")
            dim, extras = self._layout(run_id)
            blobs = self._db.execute(
                "SELECT data FROM history WHERE run_id = ? ORDER BY first_step", (run_id,)).fetchall()
            changes = self._db.execute(
                "SELECT step, name, old, new FROM changes WHERE run_id = ? ORDER BY rowid", (run_id,)
            ).fetchall()
        try:
            config = RunConfig.from_json(config_json, origin=f"run {run_id}")
        except ConfigError as error:
            raise StoreError(f"stored configuration cannot be used: {error}") from None
        try:
            summary = RunSummary.from_dict(json.loads(summary_json)) if summary_json else None
        except (ValueError, TypeError, RecursionError) as error:
            raise StoreError(f"stored summary of run {run_id} cannot be used: {error}") from None
        table = _table([blob for (blob,) in blobs], self._columns(run_id))
        return RunRecord(
            config=config,
            history=History.from_table(dim, extras, table, rows_seen, self.capacity),
            changes=[Change(step, name, json.loads(old), json.loads(new)) for step, name, old, new in changes],
            summary=summary,
            status=Status(status),
            created=created,
            id=run_id,
            race=None if race_id is None else RaceEntry(race_id, entrant or ""),
        )

    def delete(self, run_id: int) -> None:
        """Remove a run; one that another live process is still writing is refused."""
        with self._write():
            status, race_id, *owner = self._run_row(run_id, "status, race_id, owner_pid, owner_host, owner_boot")
            if status == "running" and not Owner(*owner).is_gone():
                raise StoreError(f"run {run_id} is still running (process {owner[0]} on {owner[1]}); "
                                 f"stop it first")
            for table in ("history", "changes"):
                self._db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            self._db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            # A race whose last run is gone goes too.
            self._db.execute("DELETE FROM races WHERE id = ? AND NOT EXISTS "
                             "(SELECT 1 FROM runs WHERE race_id = ?)", (race_id, race_id))
        self._layouts.pop(run_id, None)
        with self._guard():
            self._db.execute("PRAGMA incremental_vacuum")  # give the freed pages back to the disk

    def mark_interrupted(self) -> None:
        """Mark runs still ``running`` whose process has ended as ``interrupted`` (their
        committed rows stay). :meth:`open` does this; a long-lived window may call it
        again before listing runs."""
        with self._guard():
            running = self._db.execute(
                "SELECT id, owner_pid, owner_host, owner_boot FROM runs WHERE status = 'running'").fetchall()
        gone = [run_id for run_id, *owner in running if Owner(*owner).is_gone()]
        if not gone:
            return
        self.interrupt(*gone)
        ids = ", ".join(str(run_id) for run_id in gone)
        self.messages.append(f"run{'s' if len(gone) > 1 else ''} {ids} marked interrupted: the process "
                             f"running {'them' if len(gone) > 1 else 'it'} ended; committed steps are kept")

    def interrupt(self, *run_ids: int) -> None:
        """Mark these runs, if still ``running``, ``interrupted``: their committed rows stay
        and their summary is what those rows tell."""
        with self._write():
            self._db.executemany(
                "UPDATE runs SET status = 'interrupted', owner_pid = NULL, owner_host = NULL, "
                "owner_boot = NULL WHERE id = ? AND status = 'running'", [(run_id,) for run_id in run_ids])

    # -- internals -------------------------------------------------------------------
    def _write_rows(self, run_id: int, rows: np.ndarray, rows_seen: int) -> None:
        """Insert one batch (inside a write transaction) and keep the run within capacity."""
        self._insert_batch(run_id, rows)
        step, loss, best_loss, evaluations = rows[-1, :4]
        self._db.execute(
            "UPDATE runs SET stored_rows = stored_rows + ?, rows_seen = rows_seen + ?, steps = ?, "
            "evaluations = ?, best_loss = ?, final_loss = ? WHERE id = ?",
            (len(rows), rows_seen, int(step), int(evaluations), float(best_loss), float(loss), run_id),
        )
        while self._stored_rows(run_id) > self.capacity and self._thin_old_batches(run_id):
            pass

    def _thin_old_batches(self, run_id: int) -> bool:
        """Merge the batches older than the newest ``capacity // EXACT_SHARE`` rows and thin
        them to ``capacity // THINNED_SHARE``; returns whether anything was thinned."""
        batches = self._db.execute(
            "SELECT first_step, rows FROM history WHERE run_id = ? ORDER BY first_step DESC", (run_id,)
        ).fetchall()
        exact = 0
        for index, (_, rows) in enumerate(batches):
            if exact >= self.capacity // EXACT_SHARE:
                newest_exact_step = batches[index - 1][0]
                break
            exact += rows
        else:
            return False
        old = _table([blob for (blob,) in self._db.execute(
            "SELECT data FROM history WHERE run_id = ? AND first_step < ? ORDER BY first_step",
            (run_id, newest_exact_step))], self._columns(run_id))
        kept = thin_table(old, self.capacity // THINNED_SHARE)
        if len(kept) == len(old):
            return False
        self._db.execute("DELETE FROM history WHERE run_id = ? AND first_step < ?",
                         (run_id, newest_exact_step))
        self._insert_batch(run_id, kept)
        self._db.execute("UPDATE runs SET stored_rows = stored_rows - ? WHERE id = ?",
                         (len(old) - len(kept), run_id))
        return True

    def _insert_batch(self, run_id: int, rows: np.ndarray) -> None:
        self._db.execute(
            "INSERT INTO history (run_id, first_step, rows, data) VALUES (?, ?, ?, ?)",
            (run_id, int(rows[0, 0]), len(rows), np.ascontiguousarray(rows, dtype="<f8").tobytes()),
        )

    def _insert_changes(self, run_id: int, changes: Iterable[Change]) -> None:
        self._db.executemany(
            "INSERT INTO changes (run_id, step, name, old, new) VALUES (?, ?, ?, ?, ?)",
            [(run_id, int(step), name, json.dumps(old), json.dumps(new)) for step, name, old, new in changes],
        )

    def _chunk_rows(self, run_id: int) -> int:
        """Rows one chunk may keep: a quarter of the capacity (as :class:`History` keeps)
        until the run has made ``capacity`` steps, then a 64th: a long gradient run then
        writes ~40 kB per chunk instead of ~600 kB, and its newest exact quarter spans
        seconds instead of one chunk."""
        with self._guard():
            [rows_seen] = self._run_row(run_id, "rows_seen")
        return self.capacity // EXACT_SHARE if rows_seen <= self.capacity else self.capacity // 64

    def _stored_rows(self, run_id: int) -> int:
        return self._run_row(run_id, "stored_rows")[0]

    def _run_row(self, run_id: int, columns: str) -> tuple:
        """One run's ``columns``; an unknown id is an :class:`UnknownRunError`."""
        row = self._db.execute(f"SELECT {columns} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise self._unknown(run_id)
        return row

    def _layout(self, run_id: int) -> tuple[int, tuple[str, ...]]:
        """(θ's length, extra names) of a run's history rows."""
        if run_id not in self._layouts:
            with self._guard():
                dim, extras = self._run_row(run_id, "dim, extras")
            self._layouts[run_id] = (dim, tuple(json.loads(extras)))
        return self._layouts[run_id]

    def _columns(self, run_id: int) -> int:
        dim, extras = self._layout(run_id)
        return len(BASE_COLUMNS) + len(extras) + dim

    def _unknown(self, run_id: int) -> UnknownRunError:
        return UnknownRunError(f"no run with id {run_id} in {self.path}")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite and disk failures (disk full, a lock held too long, damage) as one-line
        StoreErrors; a damaged file is marked to be moved aside when next opened."""
        try:
            yield
        except sqlite3.Error as error:
            if is_damage(error):
                mark_damaged(self.path, error)
                raise StoreError(f"run store {self.path} is damaged ({error}); it will be moved aside "
                                 "and a fresh one started the next time it is opened") from None
            raise StoreError(f"run store {self.path}: {error}") from None
        except OSError as error:
            raise StoreError(f"run store {self.path}: {error.strerror or error}") from None

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction, committed when the block ends."""
        with self._guard(), transaction(self._db):
            yield


def _table(blobs: list[bytes], columns: int) -> np.ndarray:
    """Concatenate stored batches into one (rows, columns) float64 matrix."""
    arrays = [np.frombuffer(blob, dtype="<f8") for blob in blobs]
    if any(len(array) % columns for array in arrays):
        raise StoreError(f"a stored history batch does not have {columns} columns; the store is damaged")
    return np.concatenate(arrays).reshape(-1, columns) if arrays else np.empty((0, columns))
