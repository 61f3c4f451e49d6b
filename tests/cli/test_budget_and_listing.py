"""The command line's evaluation budget, COCO's BBOB objectives, and `list --json` for scripts."""

from __future__ import annotations

import json

import pytest

from metalearn_gui.cli import main
from metalearn_gui.core.learners import LEARNER_NAMES, learner_class
from metalearn_gui.core.objectives import OBJECTIVES
from metalearn_gui.core.objectives.bbob import BBOB_FUNCTIONS
from metalearn_gui.core.run import RunConfig


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def summary_of(capsys, tmp_path, *argv) -> dict:
    path = tmp_path / "summary.json"
    code, _, err = run_cli(capsys, "run", *argv, "--json", str(path), "--quiet", "--no-store")
    assert code == 0, err
    return json.loads(path.read_text())


def test_budget_stops_genetic_at_the_last_generation_that_fits(capsys, tmp_path):
    # 10 evaluations at step 0, then 8 a generation (2 elites kept): 10 + 8·10 = 90 ≤ 95 < 98.
    summary = summary_of(capsys, tmp_path, "--learner", "genetic", "--objective", "sphere", "--dim", "3",
                         "--set", "population=10", "--budget", "95")
    assert summary["evaluations"] == 90 and summary["steps"] == 10
    assert summary["status"] == "finished"


def test_budget_stops_gradient_at_exactly_the_budget_and_steps_still_bound_it(capsys, tmp_path):
    summary = summary_of(capsys, tmp_path, "--learner", "gradient", "--objective", "sphere", "--budget", "300")
    assert summary["evaluations"] == 300 and summary["steps"] == 299 and summary["status"] == "finished"
    summary = summary_of(capsys, tmp_path, "--learner", "gradient", "--objective", "sphere",
                         "--budget", "300", "--steps", "20")
    assert summary["evaluations"] == 21 and summary["steps"] == 20


def test_a_budget_smaller_than_step_0_says_so_in_one_line(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", "--learner", "genetic", "--objective", "sphere", "--budget", "5",
                           "--set", "population=10", "--quiet", "--no-store")
    assert code == 0 and err.strip().splitlines() == [
        "metalearn-gui: step 0 alone made 10 evaluations, more than --budget 5; the run ended there"]


def test_a_budget_in_a_config_file_is_kept_and_can_be_overridden(capsys, tmp_path):
    config = tmp_path / "config.json"
    RunConfig("gradient", "sphere", steps=None, budget=40).save(config)
    assert summary_of(capsys, tmp_path, "--config", str(config))["evaluations"] == 40
    assert summary_of(capsys, tmp_path, "--config", str(config), "--budget", "25")["evaluations"] == 25


BAD_INPUT = [
    (["--learner", "genetic", "--objective", "sphere", "--budget", "0"], "'0'"),
    (["--learner", "genetic", "--objective", "sphere", "--budget", "-4"], "'-4'"),
    (["--learner", "genetic", "--objective", "sphere", "--budget", "2.5"], "'2.5'"),
    (["--learner", "genetic", "--objective", "sphere", "--budget", "lots"], "'lots'"),
    (["--learner", "genetic", "--objective", "bbob-f25-i01"], "f25"),
    (["--learner", "genetic", "--objective", "bbob-f01-i1001"], "i1001"),
    (["--learner", "genetic", "--objective", "nonsense"], "'nonsense'"),
]


@pytest.mark.parametrize("args,bad", BAD_INPUT)
def test_bad_budgets_and_objective_names_exit_2_with_one_line(capsys, args, bad):
    code, out, err = run_cli(capsys, "run", *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert bad in err and err.startswith("metalearn-gui: error:")


def test_a_bbob_objective_runs_and_reports_its_optimum(capsys, tmp_path):
    summary = summary_of(capsys, tmp_path, "--learner", "genetic", "--objective", "bbob-f08-i01", "--steps", "5")
    assert summary["objective"] == "bbob-f08-i01" and summary["dim"] == 5
    assert summary["optimum"] is not None and summary["best_loss"] >= summary["optimum"]


def test_gradient_on_a_black_box_is_refused_naming_the_learners_that_apply(capsys):
    code, out, err = run_cli(capsys, "run", "--learner", "gradient", "--objective", "bbob-f01-i01")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "black box" in err and "neural" in err and "genetic" in err


def test_list_shows_the_bbob_family_one_line_per_function(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0 and "bbob-fNN-iNN" in out and "bbob-f08-i01" in out
    for number, title in BBOB_FUNCTIONS.items():
        assert f"  f{number:02d}  {title}\n" in out


def test_list_json_describes_learners_and_objectives_for_scripts(capsys):
    code, out, _ = run_cli(capsys, "list", "--json")
    listing = json.loads(out)
    assert code == 0
    assert [learner["name"] for learner in listing["learners"]] == list(LEARNER_NAMES)
    gradient = next(learner for learner in listing["learners"] if learner["name"] == "gradient")
    assert gradient["requires"] == ["differentiable"]
    alpha = next(spec for spec in gradient["hyperparameters"] if spec["name"] == "alpha")
    assert alpha == {**alpha, "low": 1e-6, "high": 10.0, "log": True, "live": True, "integer": False,
                     "default": learner_class("gradient").spec("alpha").default}
    objectives = {objective["name"]: objective for objective in listing["objectives"]}
    assert set(OBJECTIVES) <= objectives.keys()
    assert objectives["rosenbrock"]["bounds"] == [-2.048, 2.048] and objectives["rosenbrock"]["optimum"] == 0.0
    assert objectives["lr-schedule"]["optimum"] is None and "noisy" in objectives["lr-schedule"]["kind"]
    bbob = [name for name in objectives if name.startswith("bbob-")]
    assert bbob == [f"bbob-f{number:02d}-i01" for number in range(1, 25)]
    f08 = objectives["bbob-f08-i01"]
    assert f08["default_dim"] == 5 and f08["bounds"] == [-5.0, 5.0] and "black box" in f08["kind"]
    assert isinstance(f08["optimum"], float)
    assert "1000" in listing["family"]["note"] and listing["family"]["min_dim"] == 2


def test_list_names_the_coordinates_of_objectives_that_give_them_meaning(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    fewshot = out[out.index("  fewshot-digits —"):]
    assert "coordinates: log₁₀ lr steps 1–5, " in fewshot.split("\n\n")[0]
    maml = out[out.index("  maml-sine —"):].split("\n\n")[0]
    assert "coordinates: W1[0,0], " in maml and "… (1,761 in all)" in maml
    sphere = out[out.index("  sphere —"):].split("\n\n")[0]
    assert "coordinates" not in sphere  # θ1 … θD: nothing to say
