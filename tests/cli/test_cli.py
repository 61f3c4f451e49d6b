"""The command line: results written as promised, every user mistake one clear line."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metalearn_gui import __version__
from metalearn_gui.cli import main

REQUIRED_KEYS = {
    "learner", "objective", "dim", "seed", "steps", "evaluations", "final_loss", "best_loss",
    "theta_final", "theta_best", "status", "steps_per_second", "hyperparameters", "version",
}


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_genetic_run_writes_csv_rows_and_json_summary(capsys, tmp_path):
    csv_path, json_path = tmp_path / "run.csv", tmp_path / "run.json"
    code, out, _ = run_cli(
        capsys, "run", "--learner", "genetic", "--objective", "sphere", "--dim", "3",
        "--steps", "40", "--seed", "5", "--set", "population=30", "sigma=0.2",
        "--csv", str(csv_path), "--json", str(json_path),
    )
    assert code == 0 and "status      finished" in out
    rows = list(csv.reader(csv_path.open()))
    assert rows[0] == ["step", "loss", "best_loss", "evaluations", "theta_0", "theta_1", "theta_2"]
    assert [int(r[0]) for r in rows[1:]] == list(range(41))
    summary = json.loads(json_path.read_text())
    assert REQUIRED_KEYS <= summary.keys()
    assert summary["hyperparameters"]["population"] == 30 and summary["hyperparameters"]["sigma"] == 0.2
    assert summary["steps"] == 40 and summary["seed"] == 5 and summary["version"] == __version__
    assert summary["evaluations"] == int(rows[-1][3])
    assert summary["best_loss"] == pytest.approx(float(rows[-1][2]), rel=1e-15)
    assert summary["best_loss"] < float(rows[1][1])  # it learned something
    assert "heldout_loss" not in summary


def test_same_seed_same_csv(capsys, tmp_path):
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for path in paths:
        run_cli(capsys, "run", "--learner", "genetic", "--objective", "rastrigin",
                "--steps", "15", "--seed", "9", "--csv", str(path), "--quiet")
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_gradient_on_lr_schedule_reports_heldout_and_baseline(capsys, tmp_path):
    json_path = tmp_path / "run.json"
    code, out, _ = run_cli(capsys, "run", "--learner", "gradient", "--objective", "lr-schedule",
                           "--steps", "20", "--json", str(json_path))
    summary = json.loads(json_path.read_text())
    assert code == 0 and "held-out" in out
    assert summary["hyperparameters"]["optimizer"] == "adam"  # the objective's own default
    assert math.isfinite(summary["heldout_loss"]) and summary["baseline_heldout_loss"] < -1.5


def test_diverged_run_is_a_result_exit_0_with_the_step_on_stderr(capsys, tmp_path, faulty_objectives):
    json_path, csv_path = tmp_path / "run.json", tmp_path / "run.csv"
    code, _, err = run_cli(capsys, "run", "--learner", "gradient", "--objective", "unbounded-sphere",
                           "--set", "alpha=10", "--steps", "300", "--no-store", "--json", str(json_path),
                           "--csv", str(csv_path), "--quiet")
    summary = json.loads(json_path.read_text())
    assert code == 0 and summary["status"] == "diverged"
    assert f"diverged at step {summary['diverged_at']}" in err and "smaller learning rate" in err
    text = csv_path.read_text().lower()
    assert "nan" not in text and "inf" not in text
    assert len(text.splitlines()) == 1 + summary["diverged_at"]  # header + steps 0 … diverged_at−1


def test_the_progress_bar_starts_when_the_learner_is_ready_and_ends_once(capsys, monkeypatch):
    import tqdm

    from metalearn_gui.core.learners.genetic import GeneticLearner

    events = []
    reset = GeneticLearner.reset
    monkeypatch.setattr(GeneticLearner, "reset", lambda self, seed=0: events.append("reset") or reset(self, seed))

    class ObservedBar(tqdm.tqdm):
        def __init__(self, *args, **kwargs):
            events.append("bar")
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tqdm, "tqdm", ObservedBar)
    code, out, err = run_cli(capsys, "run", "--learner", "genetic", "--objective", "sphere", "--steps", "30")
    # The bar's clock starts after the reset (which loads TensorFlow for the other learners).
    assert code == 0 and events == ["reset", "bar"]
    assert err.count("\n") == 1 and "30/30" in err.splitlines()[-1]  # its final state, printed once
    assert "steps/s" in out


def test_list_documents_hyperparameters_and_objectives(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    for word in ("alpha", "optimizer", "beta", "population", "tournament", "crossover",
                 "mutation", "sigma", "elite", "sgd | momentum | adam", "default 0.01",
                 "kappa", "width", "epochs", "initial", "trust", "neural — Neural (model-based)"):
        assert word in out
    for name in ("seed", "sphere", "rosenbrock", "rastrigin", "ackley", "lr-schedule"):
        assert f"\n  {name} — " in out
    assert "optimum 0.693147" in out


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "run" in out and "list" in out and "window" in out
    assert "--smoke" in out and "check this installation" in " ".join(out.split())


def test_no_subcommand_launches_the_gui(monkeypatch):
    import metalearn_gui.cli as cli

    launches = []
    monkeypatch.setattr(cli, "launch_gui", lambda data_dir: launches.append(data_dir) or 0)
    assert main([]) == 0
    assert main(["--data-dir", "elsewhere"]) == 0
    assert launches == [None, Path("elsewhere")]


def test_no_display_is_one_clear_line_not_a_qt_abort(capsys, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    code, out, err = run_cli(capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "no display" in err and "metalearn-gui run" in err


def an_x11_desktop(monkeypatch):
    """As on an X11 desktop; the window itself is not opened (Qt would abort the tests)."""
    import metalearn_gui.app as app

    monkeypatch.setattr(app, "launch", lambda data_dir=None: 0)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    for name in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)


def test_missing_xcb_libraries_are_one_line_with_install_commands_not_a_qt_abort(capsys, monkeypatch):
    import metalearn_gui.display as display

    an_x11_desktop(monkeypatch)
    missing = ("libmetalearn-missing.so.7", "libmetalearn-missing7", "metalearn-missing-libs")
    monkeypatch.setattr(display, "XCB_LIBRARIES", (("libc.so.6", "libc6", "glibc"), missing))
    code, out, err = run_cli(capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "missing: libmetalearn-missing.so.7;" in err and "libc.so.6" not in err  # only what is missing
    assert "`sudo apt install libmetalearn-missing7`" in err and "`sudo dnf install metalearn-missing-libs`" in err


def test_offscreen_and_wayland_need_no_xcb_libraries(monkeypatch):
    import metalearn_gui.display as display

    checked = []
    monkeypatch.setattr(display, "_loadable", lambda library: checked.append(library) or False)
    an_x11_desktop(monkeypatch)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert main([]) == 0
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert main([]) == 0
    assert checked == []
    monkeypatch.delenv("WAYLAND_DISPLAY")  # a plain X11 session: every library is checked
    assert main([]) == 2 and "libxcb-cursor.so.0" in checked


def test_the_readme_names_every_system_package_the_window_needs():
    from metalearn_gui.display import XCB_LIBRARIES

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for _, debian, fedora in XCB_LIBRARIES:
        assert f" {debian} " in readme.replace("\n", " ") and f" {fedora} " in readme.replace("\n", " ")


BAD_INPUT = [
    (["--learner", "bogus", "--objective", "seed"], "bogus", "genetic"),
    (["--learner", "gradient", "--objective", "moon"], "moon", "rastrigin"),
    (["--learner", "gradient", "--objective", "seed", "--set", "gamma=1"], "gamma", "alpha"),
    (["--learner", "gradient", "--objective", "seed", "--set", "alpha=50"], "alpha=50", "10"),
    (["--learner", "gradient", "--objective", "seed", "--set", "alpha=fast"], "fast", "1e-06"),
    (["--learner", "gradient", "--objective", "seed", "--set", "alpha=nan"], "nan", "1e-06"),
    (["--learner", "gradient", "--objective", "seed", "--set", "optimizer=rmsprop"], "rmsprop", "adam"),
    (["--learner", "genetic", "--objective", "seed", "--set", "population=2.5"], "2.5", "integer"),
    (["--learner", "genetic", "--objective", "seed", "--set", "tournament=200", "population=50"],
     "tournament=200", "50"),
    (["--learner", "gradient", "--objective", "seed", "--set", "alpha"], "'alpha'", "NAME=VALUE"),
    (["--learner", "neural", "--objective", "seed", "--set", "kappa=9"], "kappa=9", "0 … 5"),
    (["--learner", "neural", "--objective", "seed", "--set", "sigma=1"], "'sigma'", "kappa"),
    (["--learner", "gradient", "--objective", "seed", "--dim", "0"], "'0'", "positive integer"),
    (["--learner", "gradient", "--objective", "seed", "--dim", "-3"], "'-3'", "positive integer"),
    (["--learner", "gradient", "--objective", "seed", "--dim", "2.5"], "'2.5'", "positive integer"),
    (["--learner", "gradient", "--objective", "sphere", "--dim", "1"], "dimension 1", "2 … 1000"),
    (["--learner", "gradient", "--objective", "seed", "--dim", "1001"], "dimension 1001", "1 … 1000"),
    (["--learner", "genetic", "--objective", "seed", "--steps", "1" + "0" * 400], "1000", "at most 1,000,000,000,000"),
    (["--learner", "genetic", "--objective", "seed", "--seed", str(2**63)], str(2**63)[:10], "at most 9,223"),
    (["--learner", "gradient", "--objective", "seed", "--steps", "0"], "'0'", "positive integer"),
    (["--learner", "gradient", "--objective", "seed", "--steps", "many"], "'many'", "positive integer"),
    (["--learner", "gradient", "--objective", "seed", "--seed", "x"], "'x'", "integer"),
    (["--objective", "seed"], "--learner", "neural, genetic, gradient"),
    (["--learner", "neural"], "--objective", "lr-schedule"),
]


@pytest.mark.parametrize("args,bad,allowed", BAD_INPUT)
def test_bad_input_exits_2_with_one_line_naming_value_and_what_is_allowed(capsys, args, bad, allowed):
    code, out, err = run_cli(capsys, "run", *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert bad in err and allowed in err and err.startswith("metalearn-gui: error:")


@pytest.mark.parametrize("option", ["--csv", "--json"])
def test_unwritable_output_path_is_refused_before_any_work(capsys, tmp_path, option):
    for path in (tmp_path / "missing-dir" / "out.file", tmp_path):
        code, out, err = run_cli(capsys, "run", "--learner", "gradient", "--objective", "seed",
                                 option, str(path))
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert option in err and str(path) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing was written


def test_console_script_errors_have_no_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "metalearn_gui", "run", "--learner", "genetic",
         "--objective", "seed", "--set", "sigma=-1"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "metalearn-gui: error: sigma=-1 is out of range; allowed: 1e-06 … 10, log scale"
    )


@pytest.mark.parametrize("learner", ["gradient", "neural"])
def test_a_quiet_tensorflow_run_leaves_stderr_empty(learner):
    # The product's own defaults: the suite's TF_CPP_MIN_LOG_LEVEL would count as the user's choice.
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "metalearn_gui", "run", "--learner", learner, "--objective", "sphere",
         "--dim", "2", "--steps", "15", "--quiet", "--no-store"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0 and result.stderr == "" and result.stdout == ""


def test_smoke_is_an_option_of_every_install():
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-m", "metalearn_gui", "--smoke"], capture_output=True, text=True,
                            timeout=600, env={**env, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0 and result.stdout.startswith("metalearn-gui smoke: ok"), result.stderr
    assert result.stderr == ""


def test_version():
    result = subprocess.run([sys.executable, "-m", "metalearn_gui", "--version"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == f"metalearn-gui {__version__}"


def test_a_classification_run_reports_heldout_accuracy_in_text_and_json(capsys, tmp_path, task_doubles):
    json_path = tmp_path / "run.json"
    code, out, _ = run_cli(capsys, "run", "--learner", "genetic", "--objective", "toy-fewshot",
                           "--steps", "5", "--json", str(json_path))
    summary = json.loads(json_path.read_text())
    assert code == 0
    assert 0 < summary["heldout_accuracy"] <= 1 and 0 < summary["baseline_heldout_accuracy"] <= 1
    assert f"held-out    accuracy {summary['heldout_accuracy']:.6g}" in out
    assert f"(reference baseline {summary['baseline_heldout_accuracy']:.6g})" in out
