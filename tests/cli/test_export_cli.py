"""`run --export DIR` and `run --config FILE`: a bundle after the run, the run reproduced
from its config.json, and every bad path or file one line and exit status 2 before any work."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from metalearn_gui.cli import main

BUNDLE = {"loss.png", "loss.svg", "theta.png", "theta.svg", "landscape.png", "landscape.svg",
          "history.csv", "config.json", "summary.json", "manifest.json"}
RUNS = {
    "genetic": ["--learner", "genetic", "--objective", "rastrigin", "--dim", "3", "--steps", "25",
                "--seed", "7", "--set", "population=20"],
    "gradient": ["--learner", "gradient", "--objective", "sphere", "--dim", "3", "--steps", "20",
                 "--seed", "3", "--set", "alpha=0.05"],
}
#: Summary fields that measure the machine, not the run.
TIMING = {"steps_per_second"}


@pytest.fixture(autouse=True)
def private_run_store(monkeypatch, tmp_path_factory):
    """Runs are stored: in a folder of the test's own, away from tmp_path and the user's."""
    monkeypatch.setenv("METALEARN_GUI_DATA_DIR", str(tmp_path_factory.mktemp("store")))


def run_cli(capsys, *argv):
    code = main(["run", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_exit_2(code, out, err, *words):
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("metalearn-gui: error:")
    for word in words:
        assert str(word) in err


def without_timing(summary_path):
    return {key: value for key, value in json.loads(summary_path.read_text()).items() if key not in TIMING}


@pytest.mark.parametrize("learner", sorted(RUNS))
def test_the_config_of_an_export_reproduces_its_history_and_summary(qapp, capsys, tmp_path, learner):
    first, second = tmp_path / "A", tmp_path / "B"
    code, out, _ = run_cli(capsys, *RUNS[learner], "--export", first)
    assert code == 0 and f"exported    10 files to {first}" in out
    assert {p.name for p in first.iterdir()} == BUNDLE
    code, _, _ = run_cli(capsys, "--config", first / "config.json", "--export", second, "--quiet")
    assert code == 0 and {p.name for p in second.iterdir()} == BUNDLE
    assert (first / "history.csv").read_bytes() == (second / "history.csv").read_bytes()
    assert without_timing(first / "summary.json") == without_timing(second / "summary.json")


def test_flags_override_the_config_file(capsys, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"format": "metalearn-gui run configuration", "version": 1,
                                  "learner": "genetic", "objective": "sphere", "dim": 2, "steps": None,
                                  "seed": 1, "hyperparameters": {"population": 20}}))
    summary = tmp_path / "summary.json"
    code, _, _ = run_cli(capsys, "--config", config, "--steps", "5", "--seed", "9",
                         "--set", "sigma=0.3", "--json", summary, "--quiet")
    result = json.loads(summary.read_text())
    assert code == 0 and (result["steps"], result["seed"], result["dim"]) == (5, 9, 2)
    assert result["hyperparameters"]["population"] == 20 and result["hyperparameters"]["sigma"] == 0.3


def test_a_window_config_without_a_step_budget_asks_for_steps(capsys, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"format": "metalearn-gui run configuration", "version": 1,
                                  "learner": "genetic", "objective": "sphere", "steps": None}))
    assert_one_line_exit_2(*run_cli(capsys, "--config", config), str(config), '"steps" is null', "--steps")


GOOD = {"format": "metalearn-gui run configuration", "version": 1, "learner": "genetic",
        "objective": "sphere", "dim": 3, "steps": 10, "seed": 0, "hyperparameters": {}}
BAD_CONFIGS = [
    ({**GOOD, "colour": "red"}, "unknown key 'colour'"),
    ({**GOOD, "steps": 0}, '"steps" must be an integer ≥ 1, got 0'),
    ({**GOOD, "hyperparameters": {"sigma": 99}}, "sigma=99"),
    ({**GOOD, "learner": "oracle"}, "'oracle' is not one of"),
    ({**GOOD, "seed": -3}, '"seed" must be an integer ≥ 0, got -3'),
]


@pytest.mark.parametrize("content,words", BAD_CONFIGS)
def test_a_bad_config_file_is_one_line_and_exit_2(capsys, tmp_path, content, words):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(content))
    assert_one_line_exit_2(*run_cli(capsys, "--config", config, "--export", tmp_path / "out"), config, words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def _with(key: str, literal: str) -> str:
    """GOOD as JSON text with ``key``'s value replaced by a raw JSON literal."""
    return json.dumps({**GOOD, key: "PLACEHOLDER"}).replace('"PLACEHOLDER"', literal)


DEEP = 100_000
HOSTILE_CONFIGS = [
    (_with("dim", "1e308"), '"dim" must be an integer ≥ 1, got 1e+308'),
    (_with("hyperparameters", '{"sigma": 1e308}'), "sigma=1e+308 is out of range; allowed: 1e-06 … 10"),
    (_with("dim", "1" + "0" * 400), "allowed: an integer 2 … 1000"),  # 10**400 as an integer literal
    (_with("steps", "1" + "0" * 400), '"steps" must be at most 1,000,000,000,000'),
    (_with("seed", "1" + "0" * 400), '"seed" must be at most 9,223,372,036,854,775,807'),
    (_with("hyperparameters", '{"population": 1' + "0" * 400 + "}"), "population=1000000"),
    (_with("dim", "1" + "0" * 5000), "not a run configuration (Exceeds the limit (4300 digits)"),
    (_with("hyperparameters", '{"sigma": [[[[1, 2]]], {"a": [[]]}]}'), "sigma=[[[...]], {'a': [...]}] is not a number"),
    (_with("learner", json.dumps([[list(range(100))]] * 100)), "learner [[[...]], [[...]], [[...]], [[...]], ...] is not"),
    (_with("objective", "[" * DEEP + "]" * DEEP), "not a run configuration (JSON nested too deeply)"),
    (_with("learner", json.dumps("x" * 10_000_000)), "bytes is too large for a run configuration (at most 1,000,000)"),
    ("x" * 10_000_000, "10,000,000 bytes is too large"),
    (_with("dim", str(10**9)), "dimension 1000000000 is not allowed for objective 'sphere'; allowed: an integer 2 … 1000"),
]


@pytest.mark.parametrize("text,words", HOSTILE_CONFIGS, ids=range(len(HOSTILE_CONFIGS)))
def test_a_hostile_config_file_is_one_short_line_and_exit_2(capsys, tmp_path, text, words):
    config = tmp_path / "config.json"
    config.write_text(text)
    code, out, err = run_cli(capsys, "--config", config, "--quiet")
    assert_one_line_exit_2(code, out, err, config, words)
    assert len(err) < 300  # the value is quoted in short, whatever its size


def test_unreadable_config_and_conflicting_flags_are_one_line(capsys, tmp_path):
    broken = tmp_path / "config.json"
    broken.write_text("{not json")
    assert_one_line_exit_2(*run_cli(capsys, "--config", broken), broken, "not valid JSON")
    assert_one_line_exit_2(*run_cli(capsys, "--config", tmp_path / "missing.json"), "cannot be read")
    assert_one_line_exit_2(*run_cli(capsys, "--config", broken, "--learner", "gradient"),
                           "--learner cannot be combined with --config")


def test_an_export_folder_that_cannot_be_made_is_refused_before_the_run(capsys, tmp_path):
    blocker = tmp_path / "report.txt"
    blocker.write_text("keep me")
    summary = tmp_path / "summary.json"
    code, out, err = run_cli(capsys, *RUNS["genetic"], "--json", summary, "--export", blocker / "run")
    assert_one_line_exit_2(code, out, err, "--export", blocker / "run", "is a file, not a directory")
    assert blocker.read_text() == "keep me" and sorted(tmp_path.iterdir()) == [blocker]  # no run, nothing written


def test_help_says_how_flags_combine_with_config(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--config FILE" in out and "override the file's values" in out and "--export DIR" in out


def test_a_run_without_export_does_not_import_qt():
    code = ("import sys; from metalearn_gui.cli import main;"
            "main(['run', '--learner', 'genetic', '--objective', 'sphere', '--steps', '3', '--quiet']);"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr
