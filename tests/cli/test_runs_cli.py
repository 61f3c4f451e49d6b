"""`run` stores every run; `runs list|show|delete` read the store; a killed or
interrupted run keeps what was committed; user mistakes are one line, exit 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from metalearn_gui.cli import main
from metalearn_gui.core.store import ENV_DATA_DIR, RunStore


def cli(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def genetic_run(capsys, data_dir, *extra):
    code, out, err = cli(capsys, "run", "--learner", "genetic", "--objective", "sphere", "--dim", "2",
                         "--steps", "30", "--data-dir", data_dir, *extra)
    assert code == 0, err
    return out


def test_runs_from_run_are_listed_shown_and_deleted(capsys, tmp_path):
    out = genetic_run(capsys, tmp_path, "--seed", "3", "--set", "population=12")
    assert "stored as run 1" in out
    genetic_run(capsys, tmp_path, "--quiet")

    code, out, _ = cli(capsys, "runs", "list", "--data-dir", tmp_path)
    header, first, second = out.splitlines()
    assert code == 0 and header.split() == ["id", "learner", "objective", "dim", "seed", "best", "loss",
                                            "steps", "status", "date", "source"]
    cells = first.split()
    assert cells[:5] == ["1", "genetic", "sphere", "2", "3"] and cells[6:8] == ["30", "finished"]
    assert cells[-1] == "cli" and second.split()[0] == "2"

    # --data-dir before the action works too
    code, out, _ = cli(capsys, "runs", "--data-dir", tmp_path, "list", "--json")
    runs = json.loads(out)
    assert code == 0 and [run["id"] for run in runs] == [1, 2]
    assert set(runs[0]) == {"id", "created", "learner", "objective", "dim", "seed", "status", "best_loss",
                            "final_loss", "steps", "evaluations", "source", "app_version", "race_id", "entrant"}
    assert [runs[0][key] for key in ("learner", "objective", "dim", "seed", "status", "steps", "source")] == [
        "genetic", "sphere", 2, 3, "finished", 30, "cli"]
    assert runs[0]["best_loss"] == pytest.approx(float(cells[5]), rel=1e-5)

    code, out, _ = cli(capsys, "runs", "show", "1", "--data-dir", tmp_path)
    assert code == 0 and out.startswith("run 1: genetic on sphere (dim 2), seed 3, finished")
    assert '"population": 12' in out and '"best_loss"' in out and "hyper-parameter changes:\n  (none)" in out

    code, out, _ = cli(capsys, "runs", "delete", "1", "--data-dir", tmp_path)
    assert code == 0 and out == "deleted run 1\n"
    remaining = json.loads(cli(capsys, "runs", "list", "--json", "--data-dir", tmp_path)[1])
    assert [run["id"] for run in remaining] == [2]


def test_no_store_and_the_environment_variable(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path))
    genetic_run(capsys, tmp_path / "unused", "--no-store")
    assert not (tmp_path / "unused").exists()
    code, _, _ = cli(capsys, "run", "--learner", "genetic", "--objective", "sphere", "--steps", 3, "--quiet")
    assert code == 0 and cli(capsys, "runs", "list")[1].splitlines()[1].split()[0] == "1"


@pytest.mark.parametrize("argv, named", [
    (["runs", "show", "42"], "no run with id 42"),
    (["runs", "delete", "42"], "no run with id 42"),
    (["runs", "show", "abc"], "'abc'"),
    (["runs", "list", "--data-dir", "{blocker}/store"], "'{blocker}/store' cannot be created"),
    (["run", "--learner", "genetic", "--objective", "sphere", "--data-dir", "{blocker}/store"],
     "'{blocker}/store' cannot be created"),
    (["runs"], "required: ACTION"),
    (["runs", "export", "7", "out"], "no run with id 7"),
    (["run", "--learner", "genetic", "--objective", "sphere", "--seed", "-3"], "--seed: must be a non-negative"),
    (["run", "--learner", "genetic", "--objective", "sphere", "--tensorboard", "{blocker}/tb"],
     "--tensorboard '{blocker}/tb' cannot be written"),
])
def test_mistakes_are_one_line_exit_2(capsys, tmp_path, argv, named):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    argv = [arg.format(blocker=blocker) for arg in argv]
    if "--data-dir" not in argv and argv[0] == "runs" and len(argv) > 1:
        argv += ["--data-dir", str(tmp_path)]
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("metalearn-gui: error: ") and named.format(blocker=blocker) in err


ENDLESS = {"genetic": [], "gradient": ["--set", "alpha=0.0001"]}  # slow enough never to converge


def start_endless_run(data_dir, learner="genetic"):
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}  # the product's
    return subprocess.Popen(
        [sys.executable, "-m", "metalearn_gui", "run", "--learner", learner, "--objective", "rastrigin",
         "--steps", "100000000", *ENDLESS[learner], "--quiet", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for_steps(data_dir, process, steps, timeout=60.0):
    """Poll the store (a second process reading while the run writes) until ``steps`` are committed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if (data_dir / "runs.sqlite3").exists():
            with RunStore.open(data_dir) as store:
                runs = store.list_runs()
            if runs and runs[0].steps >= steps:
                assert runs[0].status == "running"  # a live writer's run is left alone
                return runs[0].steps
        time.sleep(0.1)
    raise AssertionError(f"fewer than {steps} steps committed after {timeout} s")


def test_kill_9_keeps_committed_chunks_and_the_run_shows_interrupted(capsys, tmp_path):
    process = start_endless_run(tmp_path)
    try:
        committed = wait_for_steps(tmp_path, process, 1000)
    finally:
        process.kill()  # SIGKILL: no clean-up of any kind
        process.communicate()
    code, out, err = cli(capsys, "runs", "list", "--json", "--data-dir", tmp_path)
    [run] = json.loads(out)
    assert code == 0 and run["status"] == "interrupted" and run["steps"] >= committed
    assert "run 1 marked interrupted" in err
    with RunStore.open(tmp_path) as store:
        history = store.load(1).history
    assert history.column("step")[-1] == run["steps"] and len(history) == run["steps"] + 1  # all rows, exact

    # The interrupted run still exports: its summary is what its rows tell.
    code, out, _ = cli(capsys, "runs", "export", "1", tmp_path / "bundle", "--data-dir", tmp_path)
    summary = json.loads((tmp_path / "bundle" / "summary.json").read_text())
    assert code == 0 and summary["from_rows"] and summary["status"] == "interrupted"
    assert summary["steps"] == run["steps"] and summary["best_loss"] == run["best_loss"]
    assert len((tmp_path / "bundle" / "history.csv").read_text().splitlines()) == run["steps"] + 2  # + header


@pytest.mark.skipif(sys.platform == "win32", reason="signals to a child process are POSIX")
@pytest.mark.parametrize("signum, status, learner", [
    (signal.SIGINT, 130, "genetic"), (signal.SIGTERM, 143, "genetic"), (signal.SIGHUP, 129, "genetic"),
    (signal.SIGTERM, 143, "gradient"),  # TensorFlow loaded: the process skips its slow teardown
])
def test_a_stop_signal_ends_the_run_as_stopped_with_every_step(capsys, tmp_path, signum, status, learner):
    process = start_endless_run(tmp_path, learner)
    try:
        wait_for_steps(tmp_path, process, 200, timeout=120)
        process.send_signal(signum)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    [line] = err.splitlines()
    assert process.returncode == status and line.startswith("metalearn-gui: stopped at step ")
    assert signal.Signals(signum).name in line and "stored as run 1" in line
    reported = int(line.split("stopped at step ")[1].split()[0])
    [run] = json.loads(cli(capsys, "runs", "list", "--json", "--data-dir", tmp_path)[1])
    assert run["status"] == "stopped" and run["steps"] == reported
    with RunStore.open(tmp_path) as store:
        record = store.load(1)
    assert record.summary.status == "stopped" and record.summary.steps == reported
    assert record.history.column("step")[-1] == reported  # the last chunk before the signal included


def test_tensorboard_option_logs_the_run(capsys, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    code, _, _ = cli(capsys, "run", "--learner", "genetic", "--objective", "sphere", "--steps", "30",
                     "--quiet", "--tensorboard", tmp_path / "tb", "--data-dir", tmp_path)
    [log] = (tmp_path / "tb").iterdir()
    events = EventAccumulator(str(log))
    events.Reload()
    loss = events.Scalars("loss")
    assert code == 0 and [event.step for event in loss] == list(range(31))
    assert "theta/9" in events.Tags()["scalars"]


def test_data_dir_before_the_sub_command_applies_to_it(capsys, tmp_path):
    cli(capsys, "--data-dir", tmp_path, "run", "--learner", "genetic", "--objective", "sphere",
        "--steps", "3", "--quiet")
    code, out, _ = cli(capsys, "--data-dir", tmp_path, "runs", "list", "--json")
    assert code == 0 and len(json.loads(out)) == 1
    with RunStore.open(tmp_path) as store:
        assert [info.steps for info in store.list_runs()] == [3]
