"""``--workers``, ``--scheduler`` and ``--objective-timeout``: mistakes and an unreachable
scheduler end in one line (exit 2) before any run; a run through worker processes tells how
many evaluations failed and where it was evaluated."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from metalearn_gui import cli

TESTS = Path(__file__).resolve().parents[1]
#: The CLI with RowSphere registered first, as a user's objective would be.
WITH_ROW_SPHERE = ("import sys, executor_objectives as o; from metalearn_gui.core.objectives import "
                   "register_objective; o.RowSphere.task = o.SphereTask(calls=sys.argv.pop(1), fault_at=11, "
                   "fault='raise'); register_objective(o.RowSphere); from metalearn_gui.cli import main; "
                   "sys.exit(main(sys.argv[1:]))")


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (just released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("options, message", [
    (["--workers", "-1"], "argument --workers: must be an integer 0 … 1024, got '-1'"),
    (["--scheduler", "10.0.0.7:8786"], "argument --scheduler: scheduler address '10.0.0.7:8786' is not tcp://HOST:PORT"),
    (["--scheduler", "tcp://host:99999"], "argument --scheduler: scheduler address 'tcp://host:99999' is not"),
    (["--objective-timeout", "0"], "argument --objective-timeout: must be a positive number of seconds, got '0'"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "--workers and --scheduler cannot be combined"),
])
def test_a_bad_evaluation_option_is_one_line_and_exit_2(capsys, options, message):
    assert cli.main(["run", "--learner", "genetic", "--objective", "sphere", "--no-store", *options]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_an_unreachable_scheduler_is_one_line_and_exit_2_before_the_run(capsys, tmp_path):
    address = f"tcp://127.0.0.1:{closed_port()}"
    status = cli.main(["run", "--learner", "genetic", "--objective", "sphere", "--scheduler", address,
                       "--data-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err == f"metalearn-gui: error: cannot reach the Dask scheduler at {address} (Connection refused)\n"
    assert not list(tmp_path.iterdir())  # no run was stored


def test_a_run_through_worker_processes_counts_its_failed_evaluations_and_says_where_it_ran(tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-c", WITH_ROW_SPHERE, str(calls), "run", "--learner", "genetic", "--objective",
         "row-sphere", "--steps", "3", "--set", "population=8", "--workers", "2", "--objective-timeout", "60",
         "--quiet", "--no-store", "--json", str(tmp_path / "summary.json")],
        capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("metalearn-gui: 1 evaluation failed; the latest at step 1 for θ = [")
    assert lines[0].endswith(": ValueError: the simulator crashed")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["evaluated_on"] == "2 local worker processes, timeout 60 s"
