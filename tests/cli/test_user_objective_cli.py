"""`--objective FILE.py:FUNCTION | MODULE:FUNCTION | plugin`, `--objective-cmd`: runs on users'
objectives record where they came from, `run --config` warns when the file changed, `list`
shows plugins, and every mistake is one line with exit status 2."""

from __future__ import annotations

import json
import sys

import pytest
from user_objective_doubles import (
    fresh_specs,  # noqa: F401 - a fixture
    write_command,
    write_file,
    write_package,
    write_plugin,
)

from metalearn_gui.cli import main

pytestmark = pytest.mark.usefixtures("fresh_specs")


def cli(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def genetic(capsys, tmp_path, *objective, steps="3"):
    return cli(capsys, "run", "--learner", "genetic", *objective, "--steps", steps, "--seed", "1",
               "--set", "population=6", "--data-dir", tmp_path / "data", "--quiet")


def test_a_run_on_a_file_function_records_its_absolute_path_and_hash(capsys, tmp_path, monkeypatch):
    path = write_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, _, err = genetic(capsys, tmp_path, "--objective", "losses.py:sphere", "--json", tmp_path / "s.json",
                           "--export", tmp_path / "bundle")
    assert code == 0, err
    summary = json.loads((tmp_path / "s.json").read_text())
    config = json.loads((tmp_path / "bundle" / "config.json").read_text())
    assert summary["objective"] == config["objective"] == f"{path}:sphere" and summary["dim"] == 3
    assert summary["objective_source"] == config["objective_source"]
    assert config["objective_source"]["kind"] == "file" and len(config["objective_source"]["sha256"]) == 64
    assert json.loads((tmp_path / "bundle" / "manifest.json").read_text())["objective_source"]["spec"] == (
        f"{path}:sphere")


def test_run_config_warns_in_one_line_when_the_file_changed_and_runs(capsys, tmp_path, monkeypatch):
    path = write_file(tmp_path)
    assert genetic(capsys, tmp_path, "--objective", f"{path}:plain", "--dim", "2",
                   "--export", tmp_path / "bundle")[0] == 0
    config = tmp_path / "bundle" / "config.json"
    assert cli(capsys, "run", "--config", config, "--quiet", "--no-store")[2] == ""
    path.write_text(path.read_text() + "\n# tuned\n")
    monkeypatch.setattr("metalearn_gui.core.objectives._user_classes", {})  # a new process
    code, _, err = cli(capsys, "run", "--config", config, "--quiet", "--no-store")
    assert code == 0
    assert err.count("\n") == 1 and f"warning: {path} has changed since the configuration was recorded" in err


def test_a_command_objective_runs_and_is_recorded(capsys, tmp_path):
    command = f"{write_command(tmp_path)} good"
    code, _, err = genetic(capsys, tmp_path, "--objective-cmd", command, "--dim", "2", "--json", tmp_path / "s.json")
    assert code == 0, err
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["objective_source"] == {"kind": "command", "spec": f"command:{command}", "sha256": None}
    assert summary["best_loss"] == pytest.approx(sum(v * v for v in summary["theta_best"]))


def test_a_typed_formula_runs_with_the_gradient_learner_and_is_recorded(capsys, tmp_path):
    formula = "sum((x-1)**2) + 0.1*sin(5*x0)"
    code, _, err = cli(capsys, "run", "--learner", "gradient", "--objective-formula", formula, "--dim", "3",
                       "--steps", "200", "--seed", "0", "--no-store", "--quiet", "--json", tmp_path / "s.json")
    assert code == 0, err
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["objective_source"] == {"kind": "formula", "spec": formula, "sha256": None}
    assert summary["best_loss"] < 0.2  # from about 12 at a random start: the gradient followed the formula


def test_a_module_function_and_a_plugin_run(capsys, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(write_package(tmp_path, "mlgui_cli_pkg"))
    monkeypatch.syspath_prepend(write_plugin(tmp_path, "mlgui_cli_plugin"))
    assert genetic(capsys, tmp_path, "--objective", "mlgui_cli_pkg.losses:quartic")[0] == 0
    assert genetic(capsys, tmp_path, "--objective", "plug-sphere")[0] == 0
    _, out, _ = cli(capsys, "runs", "list", "--data-dir", tmp_path / "data")
    assert "mlgui_cli_pkg.losses:quartic" in out and "plug-sphere" in out


def test_list_shows_plugins_with_their_source(capsys, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(write_plugin(tmp_path, "mlgui_list_plugin"))
    code, out, _ = cli(capsys, "list")
    assert code == 0
    plugins = out[out.index("Plugin objectives"):out.index("Your own objectives")]
    assert "plug-sphere — a plugged-in sphere\n    plugin from dist 'fakeplug'" in plugins
    assert "plug-cube — Σ |θ|³" in plugins and "plug-broken — cannot be loaded:" in plugins
    code, out, _ = cli(capsys, "list", "--json")
    listed = {entry["name"]: entry for entry in json.loads(out)["objectives"]}
    assert listed["plug-sphere"]["source"] == "plugin from dist 'fakeplug'"
    assert listed["plug-sphere"]["default_dim"] == 2
    assert listed["plug-cube"]["bounds"] == [-1.0, 1.0] and "error" in listed["plug-broken"]
    assert "source" not in listed["sphere"]


@pytest.mark.parametrize("options, named", [
    (["--objective", "{dir}/gone.py:f"], "file '{dir}/gone.py' not found"),
    (["--objective", "{dir}/losses.py:nope"], "has no function 'nope'"),
    (["--objective", "{dir}/broken.py:f"], "{dir}/broken.py:2: SyntaxError: '(' was never closed"),
    (["--objective", "{dir}/losses.py:not_callable"], "is a int, not a function"),
    (["--objective", "no_such_module_x:f"], "no module named 'no_such_module_x'"),
    (["--objective-cmd", "no-such-program-x --fast"], "program 'no-such-program-x' not found"),
    (["--objective", "sphere", "--objective-cmd", "{python} x.py"], "not allowed with argument --objective"),
    (["--objective", "{dir}/losses.py:sphere", "--dim", "4"], "dimension 4 is not allowed"),
    (["--objective-formula", "x.__class__"], "formula: "),
    (["--objective-formula", "sum(x**2)", "--objective-cmd", "{python} x.py"], "not allowed with argument"),
])
def test_a_bad_objective_is_one_line_exit_2_naming_it(capsys, tmp_path, options, named):
    write_file(tmp_path)
    write_file(tmp_path, "def f(theta):\n    return (\n", "broken.py")
    options = [option.format(dir=tmp_path, python=sys.executable) for option in options]
    code, out, err = cli(capsys, "run", "--learner", "genetic", *options, "--no-store")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and named.format(dir=tmp_path) in err


def test_a_stored_run_whose_file_vanished_is_listed_and_shown_as_one_line(capsys, tmp_path, monkeypatch):
    path = write_file(tmp_path)
    assert genetic(capsys, tmp_path, "--objective", f"{path}:plain", "--dim", "2")[0] == 0
    path.unlink()
    monkeypatch.setattr("metalearn_gui.core.objectives._user_classes", {})  # a later process
    code, out, _ = cli(capsys, "runs", "list", "--data-dir", tmp_path / "data")
    assert code == 0 and f"{path}:plain" in out
    code, out, err = cli(capsys, "runs", "show", "1", "--data-dir", tmp_path / "data")
    assert code == 2 and err.count("\n") == 1 and f"file '{path}' not found" in err


def test_a_race_on_a_users_objective_records_it_and_warns_when_the_file_changed(capsys, tmp_path, monkeypatch):
    path = write_file(tmp_path)
    code, out, err = cli(capsys, "race", "--objective", f"{path}:sphere", "--learners", "genetic,evolution",
                         "--budget", "60", "--seeds", "1", "--no-store", "--quiet", "--export", tmp_path / "race")
    assert code == 0, err
    assert f"race on {path}:sphere (3-D)" in out
    recorded = json.loads((tmp_path / "race" / "config.json").read_text())["objective_source"]
    assert recorded["kind"] == "file" and recorded["spec"] == f"{path}:sphere"
    assert json.loads((tmp_path / "race" / "race.json").read_text())["objective_source"] == recorded
    path.write_text(path.read_text() + "\n# tuned\n")
    monkeypatch.setattr("metalearn_gui.core.objectives._user_classes", {})  # a new process
    code, _, err = cli(capsys, "race", "--config", tmp_path / "race" / "config.json", "--no-store", "--quiet")
    assert code == 0 and f"warning: {path} has changed since the configuration was recorded" in err
