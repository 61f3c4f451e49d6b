"""The command line when things fail under a run: a user's objective that raises (exit
1) or answers NaN (diverged, exit 0), told in one line naming step and θ, every earlier
step kept and nothing non-finite written; a run store whose disk fills up (one line, the
run goes on)."""

from __future__ import annotations

import csv
import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from metalearn_gui import cli
from metalearn_gui.core.store import RunStore

TESTS = Path(__file__).resolve().parents[1]
STEP = 12  # faulty_objectives.FAULT_STEP
#: The CLI with the test-only objectives registered first, as a user's would be.
WITH_FAULTY_OBJECTIVES = ("import sys, faulty_objectives; faulty_objectives.register(); "
                          "from metalearn_gui.cli import main; sys.exit(main(sys.argv[1:]))")


def run_with_faulty_objectives(objective, tmp_path, *extra):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-c", WITH_FAULTY_OBJECTIVES, "run", "--learner", "genetic", "--objective", objective,
         "--dim", "3", "--steps", "40", "--set", "population=20", "elite=0", "--quiet",
         "--data-dir", str(tmp_path / "data"), "--csv", str(tmp_path / "run.csv"), "--json", str(tmp_path / "summary.json"), *extra],
        capture_output=True, text=True, env=env, timeout=300)


def assert_only_numbers(text: str) -> None:
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} written as a number"))


@pytest.mark.parametrize("objective, at, line", [
    ("raises-from-step", STEP + 2, "every evaluation failed for 3 steps running (60 evaluations; the last: "
                                   f"ValueError: a bug in the user's objective) at step {STEP + 2} for θ = ["),
    # NaN from step 12 on: 3 generations of 20 failed strategies (steps 12-14), then the run fails.
    ("nan-from-step", STEP + 2, "every evaluation failed for 3 steps running (60 evaluations; the last: the "
                                f"objective answered nan) at step {STEP + 2} for θ = ["),
])
def test_a_failing_objective_is_one_line_naming_step_and_theta_and_every_step_before_is_kept(
        tmp_path, objective, at, line, faulty_objectives):  # registered here too, to load the stored run
    export = ("--export", str(tmp_path / "bundle")) if objective == "nan-from-step" else ()
    done = run_with_faulty_objectives(objective, tmp_path, *export)
    assert done.returncode == 1, done.stderr
    [message] = done.stderr.splitlines()  # not a traceback
    assert message.startswith(f"metalearn-gui: run failed: {line}")
    assert f"esults up to step {at - 1} kept" in message

    rows = list(csv.reader((tmp_path / "run.csv").open()))
    assert [int(row[0]) for row in rows[1:]] == list(range(at))
    summary_text = (tmp_path / "summary.json").read_text()
    assert_only_numbers(summary_text)
    summary = json.loads(summary_text)
    assert summary["status"] == "failed" and summary["steps"] == at - 1 and summary["failed_at"] == at
    with RunStore.open(tmp_path / "data") as store:
        [info] = store.list_runs()
        stored = store.load(info.id)
    assert info.status == "failed" and list(stored.history.column("step")) == list(range(at))
    if export:
        bundle = tmp_path / "bundle"
        history = (bundle / "history.csv").read_text()
        assert len(history.splitlines()) == at + 1 and "nan" not in history.lower() and "inf" not in history
        assert_only_numbers((bundle / "summary.json").read_text())


class FullDiskAfter:
    """A store connection whose COMMITs fail with ENOSPC after the first ``commits``."""

    def __init__(self, connection, commits):
        self.connection, self.commits = connection, commits

    def execute(self, sql, *args):
        if sql == "COMMIT":
            if self.commits == 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.commits -= 1
        return self.connection.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.connection, name)


def test_a_full_disk_mid_run_is_one_line_and_the_run_goes_on_to_its_end(capsys, tmp_path, monkeypatch):
    def store_that_fills_up(data_dir):
        store = RunStore.open(data_dir)
        store._db = FullDiskAfter(store._db, commits=1)  # the run enters; its next chunk or end fails
        return store

    monkeypatch.setattr(cli, "open_store", store_that_fills_up)
    code = cli.main(["run", "--learner", "genetic", "--objective", "sphere", "--dim", "2", "--steps", "60",
                     "--quiet", "--data-dir", str(tmp_path), "--json", str(tmp_path / "summary.json")])
    _, err = capsys.readouterr()
    assert code == 0
    assert err.splitlines() == ["metalearn-gui: this run is no longer saved to the run history: "
                                f"run store {tmp_path / 'runs.sqlite3'}: No space left on device"]
    assert json.loads((tmp_path / "summary.json").read_text())["steps"] == 60  # it ran to its end
    with RunStore.open(tmp_path) as store:
        [info] = store.list_runs()
        stored = store.load(info.id).history
    steps = stored.column("step")
    assert steps[0] == 0 and len(stored) == steps[-1] + 1 > 1  # the committed steps, every one


def a_store_with_garbage_over(table, data_dir, capsys):
    """A store of two CLI runs with the root page of ``table`` overwritten by garbage."""
    for seed in ("1", "2"):
        assert cli.main(["run", "--learner", "genetic", "--objective", "sphere", "--dim", "2", "--steps", "30",
                         "--seed", seed, "--quiet", "--data-dir", str(data_dir)]) == 0
    with RunStore.open(data_dir) as store:
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = store._db.execute("PRAGMA page_size").fetchone()[0]
        [root] = store._db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    path = data_dir / "runs.sqlite3"
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(bytes([0xA5]) * page_size)
    capsys.readouterr()
    return path.read_bytes()


def test_runs_list_on_a_damaged_store_says_so_in_one_line_and_keeps_the_file(capsys, tmp_path):
    damaged = a_store_with_garbage_over("runs", tmp_path, capsys)
    code = cli.main(["runs", "list", "--data-dir", str(tmp_path)])  # was: exit 2, every time
    out, err = capsys.readouterr()
    [aside] = tmp_path.glob("runs.sqlite3.corrupt-*")
    assert code == 0 and out == f"no runs stored in {tmp_path / 'runs.sqlite3'}\n"
    assert err.splitlines() == [f"metalearn-gui: the run store {tmp_path / 'runs.sqlite3'} is damaged or not a "
                                f"database (database disk image is malformed); moved it aside to {aside.name} "
                                "and started a fresh one"]
    assert aside.read_bytes() == damaged


def test_a_stop_signal_ends_a_run_whose_objective_hangs(tmp_path, faulty_objectives):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen(
        [sys.executable, "-c", WITH_FAULTY_OBJECTIVES, "run", "--learner", "genetic", "--objective",
         "hangs-at-step", "--dim", "3", "--steps", "40", "--quiet", "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:  # the objective says when it starts to hang
        assert process.stdout.readline().startswith(f"hanging at step {STEP}"), process.stderr.read()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # before: SIGTERM was absorbed, only SIGKILL ended it
            process.kill()
            process.communicate()
            pytest.fail("SIGTERM did not stop a run whose objective hangs")
    assert process.returncode == 143, err
    assert err.startswith("metalearn-gui: stopped at step") and err.count("\n") == 1


def test_a_reader_that_goes_away_ends_the_listing_quietly(tmp_path):
    """`metalearn-gui list | head -1`: no BrokenPipeError traceback, status 1."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first line is written
    env = dict(os.environ, METALEARN_GUI_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "metalearn_gui", "list"], stdout=write_end,
                            stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    os.close(write_end)
    assert result.returncode == 1 and result.stderr == ""
