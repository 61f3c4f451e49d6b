"""`race`: the leaderboard printed and written as promised, refused entrants named, user
mistakes one line (exit 2), a race repeated from its config.json, runs listed grouped,
and a killed race keeps every committed run."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from metalearn_gui.cli import main
from metalearn_gui.core.store import RunStore

RACE = ["race", "--learners", "genetic,evolution", "--entrant", "genetic sigma=0.05 population=20",
        "--objective", "rastrigin", "--dim", "3", "--seeds", "3", "--budget", "300", "--target", "6",
        "--set", "genetic.population=30"]


def cli(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_race_prints_the_leaderboard_and_writes_json_and_csv(capsys, tmp_path):
    code, out, err = cli(capsys, *RACE, "--json", tmp_path / "race.json", "--csv", tmp_path / "race.csv",
                         "--data-dir", tmp_path)
    assert code == 0
    title, header, *table, stored = out.splitlines()
    assert title == "race on rastrigin (3-D), 300 evaluations per run, seeds 0…2, target 6 (optimum 0)"
    assert header.split()[:4] == ["#", "entrant", "median", "best"] and len(table) == 3
    assert stored.startswith("stored as race 1")
    assert len([line for line in err.splitlines() if line.startswith("[")]) == 9  # a line per run

    summary = json.loads((tmp_path / "race.json").read_text())
    assert {"objective", "dim", "budget", "seeds", "target", "entrants"} <= set(summary)
    assert (summary["objective"], summary["dim"], summary["budget"], summary["seeds"], summary["target"]) == (
        "rastrigin", 3, 300, [0, 1, 2], 6.0)
    labels = [entrant["label"] for entrant in summary["entrants"]]
    assert sorted(labels) == ["evolution", "genetic", "genetic sigma=0.05 population=20"]
    for entrant, line in zip(summary["entrants"], table, strict=True):
        assert {"learner", "hyperparameters", "median_best_loss", "best_losses", "evaluations_to_target",
                "reached", "seconds", "label"} <= set(entrant)
        assert len(entrant["best_losses"]) == len(entrant["evaluations_to_target"]) == len(entrant["seconds"]) == 3
        assert entrant["reached"] == sum(e is not None for e in entrant["evaluations_to_target"])
        assert all(evaluations <= 300 for evaluations in entrant["evaluations"])
        assert line.split()[1] == entrant["label"].split()[0]  # the table in the leaderboard's order
    genetic = {entrant["label"]: entrant for entrant in summary["entrants"]}
    assert genetic["genetic"]["hyperparameters"]["population"] == 30  # --set
    assert genetic["genetic sigma=0.05 population=20"]["hyperparameters"]["population"] == 20  # its own wins

    with (tmp_path / "race.csv").open() as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["entrant", "seed", "evaluations", "loss", "best_loss", "seconds"]
    assert {row[0] for row in rows[1:]} == set(labels) and {row[1] for row in rows[1:]} == {"0", "1", "2"}
    for entrant in summary["entrants"]:  # each run's last row holds its best loss
        for seed, best in zip(summary["seeds"], entrant["best_losses"], strict=True):
            last = [row for row in rows[1:] if row[0] == entrant["label"] and row[1] == str(seed)][-1]
            assert float(last[4]) == best


def test_a_refused_entrant_is_named_in_one_line_and_the_race_runs_without_it(capsys, tmp_path):
    code, out, err = cli(capsys, "race", "--learners", "gradient,genetic", "--objective", "bbob-f01-i01",
                         "--dim", "2", "--seeds", "2", "--budget", "200", "--quiet", "--no-store")
    [line] = err.splitlines()
    assert code == 0 and line.startswith("metalearn-gui: entrant 'gradient' cannot race: ")
    assert "black box" in line and "genetic" in out and "gradient" not in out


@pytest.mark.parametrize("argv, named", [
    (["--learners", "genetic,tabu", "--objective", "sphere"], "--learners: 'tabu' is not a learner"),
    (["--entrant", "genetic sigma=lots", "--objective", "sphere"], "--entrant 'genetic sigma=lots': sigma='lots'"),
    (["--entrant", "genetic colour=3", "--objective", "sphere"], "unknown hyper-parameter 'colour'"),
    (["--learners", "genetic", "--objective", "sphere", "--set", "neural.alpha=0.1"],
     "--set neural.alpha=0.1: no entrant is a neural learner"),
    (["--learners", "genetic", "--objective", "sphere", "--set", "sigma=0.1"], "--set expects LEARNER.NAME=VALUE"),
    (["--learners", "genetic", "--objective", "sphere", "--budget", "0"], "--budget: must be a positive integer"),
    (["--learners", "genetic", "--objective", "sphere", "--target", "nan"], "--target: must be a finite number"),
    (["--learners", "genetic", "--objective", "sphere", "--dim", "0"], "--dim: must be a positive integer"),
    (["--learners", "genetic"], "required: --objective"),
    (["--objective", "sphere"], "name the entrants"),
    (["--learners", "genetic", "--entrant", "genetic", "--objective", "sphere"], "'genetic' is given twice"),
    (["--learners", "gradient", "--objective", "bbob-f01-i01"], "no entrant can run on bbob-f01-i01"),
    (["--learners", "genetic", "--objective", "sphere", "--json", "{blocker}/x.json"], "--json '{blocker}/x.json'"),
    (["--config", "{blocker}"], "not valid JSON"),
    (["--config", "{blocker}", "--learners", "genetic"], "--learners cannot be combined with --config"),
])
def test_mistakes_are_one_line_exit_2(capsys, tmp_path, argv, named):
    blocker = tmp_path / "a-file"
    blocker.write_text("{")
    code, out, err = cli(capsys, "race", *[arg.format(blocker=blocker) for arg in argv], "--data-dir", tmp_path)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("metalearn-gui: error: ") and named.format(blocker=blocker) in err
    assert not (tmp_path / "runs.sqlite3").exists()  # refused before anything ran or was stored


def test_an_exported_config_repeats_the_race(capsys, tmp_path):
    code, out, _ = cli(capsys, *RACE, "--export", tmp_path / "first", "--quiet", "--no-store")
    first = tmp_path / "first"
    assert code == 0 and {path.name for path in first.iterdir()} == {
        "race.csv", "race.json", "config.json", "race-loss.png", "race-loss.svg", "manifest.json"}
    assert (first / "race-loss.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (first / "race-loss.svg").read_bytes()
    code, again, _ = cli(capsys, "race", "--config", first / "config.json", "--json", tmp_path / "again.json",
                         "--csv", tmp_path / "again.csv", "--quiet", "--no-store")
    assert code == 0

    def results(path):
        entrants = json.loads(path.read_text())["entrants"]
        return [{key: value for key, value in entrant.items() if key not in ("seconds", "evaluations_per_second")}
                for entrant in entrants]

    assert results(first / "race.json") == results(tmp_path / "again.json")

    def rows(path):  # every row but its seconds
        return [row[:5] for row in csv.reader(path.open())]

    assert rows(first / "race.csv") == rows(tmp_path / "again.csv")
    assert again.splitlines()[0] == out.splitlines()[0] == (
        "race on rastrigin (3-D), 300 evaluations per run, seeds 0…2, target 6 (optimum 0)")


def test_runs_list_shows_a_race_line_and_its_runs_indented(capsys, tmp_path):
    cli(capsys, "run", "--learner", "genetic", "--objective", "sphere", "--steps", "3", "--quiet",
        "--data-dir", tmp_path)
    cli(capsys, "race", "--learners", "genetic,evolution", "--objective", "sphere", "--dim", "2",
        "--seeds", "2", "--budget", "120", "--quiet", "--data-dir", tmp_path)
    code, out, _ = cli(capsys, "runs", "list", "--data-dir", tmp_path)
    header, alone, race, *members = out.splitlines()
    assert code == 0 and header.split()[0] == "id" and alone.split()[:2] == ["1", "genetic"]
    assert race.startswith("race 1: 2 entrants × 2 seeds on sphere, 120 evaluations per run")
    assert len(members) == 4 and all(line.startswith("  ") for line in members)
    assert sorted(line.split()[1] for line in members) == ["evolution", "evolution", "genetic", "genetic"]
    runs = json.loads(cli(capsys, "runs", "list", "--json", "--data-dir", tmp_path)[1])
    assert [(run["race_id"], run["entrant"]) for run in runs][:2] == [(None, None), (1, runs[1]["entrant"])]
    shown = cli(capsys, "runs", "show", runs[1]["id"], "--data-dir", tmp_path)[1]
    assert f"  race        1, entrant {runs[1]['entrant']!r}\n" in shown


def _endless_race(data_dir):
    """A race of 2 entrants × 1000 seeds (far more than any test waits for)."""
    return subprocess.Popen(
        [sys.executable, "-m", "metalearn_gui", "race", "--learners", "genetic", "--entrant", "genetic sigma=0.05",
         "--objective", "rastrigin", "--dim", "5", "--seeds", "1000", "--budget", "5000", "--quiet",
         "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def test_killing_a_race_keeps_every_committed_run(capsys, tmp_path):
    process = _endless_race(tmp_path)
    try:
        finished = _wait_for_finished_runs(tmp_path, process, 4)
    finally:
        process.kill()  # SIGKILL: no clean-up of any kind
        process.communicate()
    code, out, _ = cli(capsys, "runs", "list", "--json", "--data-dir", tmp_path)
    runs = json.loads(out)
    done = [run for run in runs if run["status"] == "finished"]
    assert code == 0 and len(done) >= len(finished) and {run["race_id"] for run in runs} == {1}
    assert {run["id"] for run in finished} <= {run["id"] for run in done}
    assert all(run["status"] in ("finished", "interrupted") for run in runs)
    with RunStore.open(tmp_path) as store:
        for run in done:  # every row of a finished run is there
            history = store.load(run["id"]).history
            assert history.column("step")[-1] == run["steps"] and len(history) == run["steps"] + 1
            assert run["evaluations"] <= 5000


def _wait_for_finished_runs(data_dir, process, count, timeout=120.0):
    """Poll the store (a second process reading while the race writes) until ``count`` runs have finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if (data_dir / "runs.sqlite3").exists():
            with RunStore.open(data_dir) as store:
                finished = [info.to_dict() for info in store.list_runs() if info.status == "finished"]
            if len(finished) >= count:
                return finished
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} runs finished after {timeout} s")


@pytest.mark.skipif(sys.platform == "win32", reason="signals to a child process are POSIX")
def test_sigterm_stops_the_race_with_its_runs_under_way_kept_as_stopped(capsys, tmp_path):
    process = _endless_race(tmp_path)
    try:
        finished = _wait_for_finished_runs(tmp_path, process, 2)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    [line] = err.splitlines()
    assert process.returncode == 143 and line.startswith("metalearn-gui: race stopped after ")
    assert "SIGTERM" in line and "stored as race 1" in line
    runs = json.loads(cli(capsys, "runs", "list", "--json", "--data-dir", tmp_path)[1])
    statuses = [run["status"] for run in runs]
    # The runs under way (none if the signal came between two seeds) are kept as stopped.
    assert statuses.count("finished") >= len(finished) and set(statuses) <= {"finished", "stopped"}
    assert statuses.count("stopped") <= 2
    assert int(line.split("after ")[1].split()[0]) == statuses.count("finished")
