"""The run store (Qt-free): runs load back as stored, storage stays bounded, and a
crashed writer, a damaged or foreign file or a second process cost nothing committed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading

import numpy as np
import pytest

from metalearn_gui.core.history import thin_rows
from metalearn_gui.core.record import RECORD_ROWS, RunRecord
from metalearn_gui.core.run import RunConfig, summarize
from metalearn_gui.core.store import (
    DB_NAME, ENV_DATA_DIR, RunStore, StoreError, UnknownRunError, resolve_data_dir,
)
from metalearn_gui.core.store_file import APPLICATION_ID
from metalearn_gui.core.summary import RunSummary

#: A finished run's summary as the versions before RunSummary stored it (a plain dict).
EARLIER_SUMMARY = {
    "version": "0.1.0", "learner": "genetic", "objective": "sphere", "dim": 2, "seed": 3, "steps": 5,
    "evaluations": 150, "status": "finished", "final_loss": 0.25, "best_loss": 0.125, "optimum": 0.0,
    "theta_final": [0.5, -0.25], "theta_best": [0.25, 0.25], "steps_per_second": 900.5,
    "hyperparameters": {"population": 30, "sigma": 0.1}, "diverged_at": None,
}


def store_run(store, config, source="cli", advance_steps=None, chunks=None):
    """Run ``config`` to its end storing every chunk as the CLI does; returns the record.

    ``advance_steps`` makes chunks of a fixed size (deterministic) instead of 0.2 s.
    """
    learner = config.build()
    record = RunRecord.begin(config, learner.reset(config.seed))
    store.begin(record, source)
    while learner.status.value == "running":
        chunk = learner.advance(max_steps=advance_steps, max_seconds=None if advance_steps else 0.2)
        record.add(chunk)
        store.append(record.id, chunk)
        if chunks is not None:
            chunks.append(chunk)
    record.summary = summarize(learner, 1.0)
    store.finish(record.id, record.summary)
    return record


@pytest.fixture
def store(tmp_path):
    with RunStore.open(tmp_path) as opened:
        yield opened


def test_finished_run_loads_back_equal(store):
    config = RunConfig("genetic", "sphere", dim=3, steps=60, seed=4, hyperparameters={"population": 20})
    record = store_run(store, config, advance_steps=7)
    changes = [(20, "sigma", 0.1, 0.05), (31, "tournament", 3, 5)]
    store.add_changes(record.id, changes)

    loaded = store.load(record.id)
    assert loaded.config == config and loaded.id == record.id and loaded.created == record.created
    assert loaded.status == "finished" and loaded.summary == record.summary
    assert loaded.changes == changes and isinstance(loaded.changes[1].new, int)
    assert loaded.history.extra_names == record.history.extra_names and loaded.history.dim == 3
    assert loaded.history.rows_seen == record.history.rows_seen == 61
    np.testing.assert_array_equal(loaded.history.table(), record.history.table())
    [info] = store.list_runs()
    assert (info.id, info.learner, info.objective, info.dim, info.seed, info.source) == (
        record.id, "genetic", "sphere", 3, 4, "cli")
    assert (info.steps, info.status, info.best_loss) == (60, "finished", record.summary.best_loss)


def test_a_summary_stored_by_an_earlier_version_loads_and_shows_the_same_json(store):
    record = store_run(store, RunConfig("genetic", "sphere", dim=2, steps=5, seed=3))
    with sqlite3.connect(store.path) as other:  # as an earlier version left it in the file
        other.execute("UPDATE runs SET summary = ? WHERE id = ?", (json.dumps(EARLIER_SUMMARY), record.id))
    summary = store.load(record.id).summary
    assert (summary.steps, summary.best_loss, summary.theta_best) == (5, 0.125, (0.25, 0.25))
    assert summary.to_dict() == EARLIER_SUMMARY  # `runs show` and `runs export` write what it wrote


def test_a_stored_summary_that_cannot_be_read_is_a_one_line_error(store):
    record = store_run(store, RunConfig("genetic", "sphere", dim=2, steps=5))
    for damaged in ("{not json", json.dumps([1, 2]), json.dumps({"learner": "genetic"})):
        with sqlite3.connect(store.path) as other:
            other.execute("UPDATE runs SET summary = ? WHERE id = ?", (damaged, record.id))
        with pytest.raises(StoreError, match=f"stored summary of run {record.id} cannot be used: "):
            store.load(record.id)


def test_long_gradient_run_stays_bounded_with_last_row_exact_and_min_kept(store):
    config = RunConfig("gradient", "seed", steps=2_400_000, seed=1, hyperparameters={"alpha": 1e-6})
    chunks = []
    record = store_run(store, config, advance_steps=20_000, chunks=chunks)

    history = store.load(record.id).history
    steps = history.column("step")
    assert len(history) <= RECORD_ROWS < history.rows_seen == 2_400_001
    assert steps[0] == 0 and np.all(np.diff(steps) > 0)
    last = chunks[-1]
    np.testing.assert_array_equal(history.table()[-1], record.history.table()[-1])
    assert steps[-1] == last.step[-1] == 2_400_000
    assert history.column("loss").min() == min(chunk.loss.min() for chunk in chunks)
    # The newest chunk is stored as thinned on arrival, untouched by the thinning of old rows.
    kept = thin_rows(last.step, last.loss, last.best_loss, RECORD_ROWS // 64)
    np.testing.assert_array_equal(steps[-len(kept):], last.step[kept])


def test_thinning_old_rows_keeps_the_store_within_a_small_capacity(tmp_path):
    with RunStore.open(tmp_path, capacity=256) as small:
        # Small steps: the run keeps improving for all 3,000 steps (genetic would restart and end).
        record = store_run(small, RunConfig("gradient", "seed", dim=2, steps=3000, seed=2,
                                            hyperparameters={"alpha": 1e-4}), advance_steps=25)
        history = small.load(record.id).history
    assert len(history) <= 256 and history.column("step")[-1] == 3000
    assert history.column("loss").min() == record.history.column("loss").min()


def test_open_marks_runs_of_ended_processes_interrupted_and_leaves_live_ones(tmp_path):
    config = RunConfig("genetic", "sphere", dim=2, steps=5)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with RunStore.open(tmp_path) as store:
            ids = {}
            for owner in ("ended", "live", "other host"):
                record = RunRecord.begin(config, config.build().reset(0))
                ids[owner] = store.begin(record, "window")
            with sqlite3.connect(tmp_path / DB_NAME) as db:
                db.execute("UPDATE runs SET owner_pid = ? WHERE id = ?", (_dead_pid(), ids["ended"]))
                db.execute("UPDATE runs SET owner_pid = ? WHERE id = ?", (live.pid, ids["live"]))
                db.execute("UPDATE runs SET owner_host = 'elsewhere' WHERE id = ?", (ids["other host"],))
        with RunStore.open(tmp_path) as store:
            status = {info.id: info.status for info in store.list_runs()}
            assert status == {ids["ended"]: "interrupted", ids["live"]: "running",
                              ids["other host"]: "running"}
            assert store.messages == [f"run {ids['ended']} marked interrupted: the process running it "
                                      "ended; committed steps are kept"]
            with pytest.raises(StoreError, match=f"run {ids['live']} is still running"):
                store.delete(ids["live"])
            store.delete(ids["ended"])
            assert [info.id for info in store.list_runs()] == [ids["live"], ids["other host"]]
    finally:
        live.kill()
        live.wait()


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _write_sqlite(path, *statements):
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)
    db.close()


def random_bytes(path):
    path.write_bytes(np.random.default_rng(0).bytes(8192))


def another_apps_database(path):
    _write_sqlite(path, "CREATE TABLE users (name TEXT)", "INSERT INTO users VALUES ('x')")


def a_newer_schema(path):
    _write_sqlite(path, f"PRAGMA application_id = {APPLICATION_ID}", "PRAGMA user_version = 7")


@pytest.mark.parametrize("kind, make, problem", [
    ("corrupt", random_bytes, "is damaged or not a database"),
    ("foreign", another_apps_database, "belongs to another application"),
    ("newer", a_newer_schema, "was written by a newer metalearn-gui"),
])
def test_unusable_file_is_moved_aside_with_one_message_and_a_fresh_store_works(tmp_path, kind, make, problem):
    path = tmp_path / DB_NAME
    make(path)
    original = path.read_bytes()
    with RunStore.open(tmp_path) as store:
        [message] = store.messages
        [aside] = tmp_path.glob(f"{DB_NAME}.{kind}-*")
        assert problem in message and aside.name in message and "started a fresh one" in message
        assert aside.read_bytes() == original
        record = store_run(store, RunConfig("genetic", "sphere", dim=2, steps=3))
        assert [info.id for info in store.list_runs()] == [record.id]
    with RunStore.open(tmp_path) as store:
        assert store.messages == [] and len(store.list_runs()) == 1


def test_unknown_ids_and_unusable_folders_are_one_line_errors(store, tmp_path):
    summary = RunSummary.from_dict(EARLIER_SUMMARY)
    for action in (store.load, store.delete, lambda run_id: store.finish(run_id, summary)):
        with pytest.raises(UnknownRunError, match="no run with id 42 in"):
            action(42)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="data folder .*a-file/store' cannot be created"):
        RunStore.open(blocker / "store")


def test_two_writers_at_once(tmp_path):
    """The window and a command-line run share the file: WAL plus a busy timeout."""
    errors = []

    def write(seed):
        try:
            with RunStore.open(tmp_path) as own:
                store_run(own, RunConfig("genetic", "sphere", dim=2, steps=300, seed=seed), advance_steps=1)
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with RunStore.open(tmp_path) as store:
        assert [(info.status, info.steps) for info in store.list_runs()] == [("finished", 300)] * 2
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_processes_creating_the_store_at_once_neither_move_it_aside_nor_fail(tmp_path):
    """Read one by one, a store being created looked foreign and was moved aside (a run lost)."""
    for trial in range(30):
        folder, messages, errors = tmp_path / str(trial), [], []

        def open_and_close():
            try:
                with RunStore.open(folder) as store:
                    messages.extend(store.messages)
            except StoreError as error:
                errors.append(error)

        threads = [threading.Thread(target=open_and_close) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert messages == [] and errors == [], trial


def test_data_dir_is_the_option_else_the_environment_else_the_platform_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "option") == tmp_path / "option"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.delenv(ENV_DATA_DIR)
    assert resolve_data_dir().name == "metalearn-gui"
