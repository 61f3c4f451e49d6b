"""The run store failing under a run: a full disk or a failing commit, a read-only data
folder, a file truncated or overwritten with garbage, damage found mid-run. The run
goes on, the user is told once, nothing committed is lost, the user's file is kept."""

from __future__ import annotations

import errno
import os
import sqlite3

import pytest

from metalearn_gui.core.recorder import RunRecorder
from metalearn_gui.core.run import RunConfig, summarize
from metalearn_gui.core.store import DB_NAME, RunStore

CONFIG = RunConfig("genetic", "sphere", dim=2, steps=20)
DISK_FULL = (OSError(errno.ENOSPC, "No space left on device"),
             sqlite3.OperationalError("database or disk is full"))


class FailingCommits:
    """A store connection whose COMMITs raise ``error`` while ``failures`` is above 0."""

    def __init__(self, connection: sqlite3.Connection, error: Exception) -> None:
        self.connection, self.error, self.failures = connection, error, 0

    def execute(self, sql: str, *args):
        if sql == "COMMIT" and self.failures > 0:
            self.failures -= 1
            raise self.error
        return self.connection.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self.connection, name)


def record_run(store, steps_before_fault=None, fault=None, source="cli"):
    """Run CONFIG through a RunRecorder, one step per chunk; ``fault()`` is called after
    ``steps_before_fault`` steps. Returns (recorder, warnings)."""
    learner = CONFIG.build()
    warnings = []
    recorder = RunRecorder(CONFIG, learner, source, store, on_warning=warnings.append)
    recorder.add(learner.reset(0))
    while learner.status.value == "running":
        if learner.step == steps_before_fault:
            fault()
        recorder.add(learner.advance(1))
    recorder.finish(summarize(learner, 1.0))
    return recorder, warnings


@pytest.mark.parametrize("error", DISK_FULL, ids=["OSError-ENOSPC", "sqlite-full"])
def test_a_full_disk_at_commit_stops_saving_the_run_once_keeps_its_rows_and_the_next_run_is_saved(tmp_path, error):
    store = RunStore.open(tmp_path)
    store._db = failing = FailingCommits(store._db, error)

    def disk_full():
        failing.failures = 10**9

    recorder, warnings = record_run(store, steps_before_fault=5, fault=disk_full)
    assert len(warnings) == 1 and "no longer saved" in warnings[0]
    assert ("No space left on device" if isinstance(error, OSError) else "disk is full") in warnings[0]
    assert len(recorder.record.history) == 21  # the run itself went on to its end

    failing.failures = 0  # space again: the window's next run on the same connection is saved
    second, warnings = record_run(store, source="window")
    assert warnings == []  # was: "cannot start a transaction within a transaction", every later run
    store.close()
    with RunStore.open(tmp_path) as reopened:
        first = reopened.load(recorder.run_id).history
        assert list(first.column("step")) == [0, 1, 2, 3, 4, 5]  # every row committed before the fault
        assert reopened.load(second.run_id).status == "finished"


def test_a_commit_that_fails_once_leaves_the_run_interrupted_with_its_rows(tmp_path):
    with RunStore.open(tmp_path) as store:
        store._db = failing = FailingCommits(store._db, DISK_FULL[0])
        recorder, warnings = record_run(store, steps_before_fault=3, fault=lambda: setattr(failing, "failures", 1))
        [info] = store.list_runs()
    assert len(warnings) == 1
    # Not "running" for as long as the window stays open: the run will never be written again.
    assert info.status == "interrupted" and info.steps == 3


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes through chmod; the injected failures above stand in for it")
def test_a_data_folder_made_read_only_mid_run_costs_no_committed_row(tmp_path):
    store = RunStore.open(tmp_path)

    def read_only():
        for path in [tmp_path, *tmp_path.iterdir()]:
            path.chmod(0o500 if path.is_dir() else 0o400)

    try:
        recorder, warnings = record_run(store, steps_before_fault=5, fault=read_only)
    finally:
        store.close()
        for path in [tmp_path, *tmp_path.iterdir()]:
            path.chmod(0o700 if path.is_dir() else 0o600)
    assert len(warnings) <= 1 and len(recorder.record.history) == 21
    with RunStore.open(tmp_path) as reopened:
        assert len(reopened.load(recorder.run_id).history) >= 6


# -- a damaged file ------------------------------------------------------------------------
def a_store_with_runs(folder, runs=3):
    with RunStore.open(folder) as store:
        for _ in range(runs):
            record_run(store)
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
        page_size = store._db.execute("PRAGMA page_size").fetchone()[0]
        roots = dict(store._db.execute("SELECT name, rootpage FROM sqlite_master"))
    path = folder / DB_NAME
    return path, path.read_bytes(), page_size, roots


def overwrite_page(data: bytes, page_size: int, page: int) -> bytes:
    """``data`` with page ``page`` (1-based, as SQLite counts) overwritten by garbage."""
    start = (page - 1) * page_size
    return data[:start] + bytes([0xA5]) * page_size + data[start + page_size:]


@pytest.mark.parametrize("damage", ["half", "page boundary + 100 bytes", "garbage over the runs table"])
def test_a_truncated_or_overwritten_store_is_moved_aside_once_and_a_fresh_one_works(tmp_path, damage):
    path, original, page_size, roots = a_store_with_runs(tmp_path)
    damaged = {
        "half": original[:len(original) // 2],
        "page boundary + 100 bytes": original[:3 * page_size + 100],
        # Opened fine and failed every query on the runs table: each `run` exited 2.
        "garbage over the runs table": overwrite_page(original, page_size, roots["runs"]),
    }[damage]
    path.write_bytes(damaged)
    with RunStore.open(tmp_path) as store:
        [message] = store.messages
        [aside] = tmp_path.glob(f"{DB_NAME}.corrupt-*")
        assert "is damaged" in message and aside.name in message and "started a fresh one" in message
        assert aside.read_bytes() == damaged  # the user's file, moved, not deleted
        assert store.list_runs() == []
        recorder, warnings = record_run(store)
        assert warnings == [] and [info.id for info in store.list_runs()] == [recorder.run_id]


def test_damage_found_mid_run_is_told_once_and_the_next_open_moves_the_file_aside(tmp_path):
    path, original, page_size, roots = a_store_with_runs(tmp_path)
    # The history index: opening and listing work, storing a new run's rows does not.
    path.write_bytes(overwrite_page(original, page_size, roots["history_by_run"]))
    with RunStore.open(tmp_path) as store:
        assert store.messages == [] and len(store.list_runs()) == 3
        recorder, warnings = record_run(store)
    assert len(warnings) == 1 and "is damaged" in warnings[0] and "moved aside" in warnings[0]
    assert len(recorder.record.history) == 21
    # Before, the next open found nothing wrong and every later run failed the same way.
    with RunStore.open(tmp_path) as store:
        [message] = store.messages
        assert "found damaged while in use" in message and "started a fresh one" in message
        record_run(store)
        assert len(store.list_runs()) == 1
    assert len(list(tmp_path.glob(f"{DB_NAME}.corrupt-*"))) == 1
