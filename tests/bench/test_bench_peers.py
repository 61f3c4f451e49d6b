"""The peer benchmark (bench/bench_peers.py): COCO's ECDF computed by its rules on hand-made
curves, and a smoke run that writes the figure and the tables."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from peers_ecdf import TARGETS, Curve, ecdf, ecdf_steps, first_hits  # noqa: E402

from metalearn_gui.core.objectives import make_objective  # noqa: E402


def test_targets_are_cocos_51_precisions_from_1e2_to_1e_minus_8():
    assert len(TARGETS) == 51
    assert TARGETS[0] == pytest.approx(1e2) and TARGETS[-1] == pytest.approx(1e-8)
    assert np.allclose(np.log10(TARGETS[:-1] / TARGETS[1:]), 0.2)  # 5 a decade, decreasing


def test_a_target_is_reached_at_the_first_evaluation_whose_best_is_at_or_below_it():
    curve = Curve([1, 10, 100], [50.0, 0.5, 1e-9], budget=1000)
    hits = first_hits(curve, np.array([1e3, 50.0, 10.0, 0.5, 0.4, 1e-8, 1e-10]))
    # equal to the target counts as reached; never reached is inf
    assert hits.tolist() == [1, 1, 10, 10, 100, 100, math.inf]


def test_a_run_records_only_improvements_within_its_budget():
    """A learner's last step may cross the budget: its rows past it do not count."""
    from peers_methods import Recorder, Task

    recorder = Recorder(make_objective("sphere", 2), Task("genetic", "sphere", 2, 0, budget=20))
    thetas = np.arange(10.0).reshape(5, 2)
    recorder.record(np.array([5, 10, 15, 20, 25]), np.array([3.0, 3.0, 1.0, 1.0, 0.1]), thetas)
    assert recorder.evaluations == [5, 15] and recorder.values == [3.0, 1.0]
    assert [recorder.quality_at(at) for at in (4, 14, 20)] == [math.inf, 3.0, 1.0]


def test_a_noisy_objectives_result_is_the_heldout_loss_of_the_best_theta_so_far():
    from peers_methods import Recorder, Task

    objective = make_objective("lr-schedule", 3)
    recorder = Recorder(objective, Task("random", "lr-schedule", 3, 0, budget=10))
    good, bad = np.zeros(3), np.full(3, -3.0)  # the textbook step 1/L, and tiny steps
    recorder.record(np.array([1, 2]), np.array([-1.0, -2.0]), np.stack([bad, good]))
    assert recorder.quality_at(1) == objective.heldout_loss(bad)
    assert recorder.quality_at(2) == objective.heldout_loss(good) < objective.heldout_loss(bad)


def test_ecdf_is_the_fraction_of_problem_target_pairs_reached_within_the_budget():
    targets = np.array([10.0, 1.0, 0.1, 0.01])
    fast = Curve([2, 20], [5.0, 0.05], budget=100)  # 10 at 2; 1 and 0.1 at 20; 0.01 never
    slow = Curve([50], [0.5], budget=100)  # 10 and 1 at 50
    assert ecdf([fast, slow], 1, targets) == 0.0
    assert ecdf([fast, slow], 2, targets) == 1 / 8
    assert ecdf([fast, slow], 20, targets) == 3 / 8
    assert ecdf([fast, slow], 100, targets) == 5 / 8
    # beyond a run's budget its fate is unknown: no number
    assert math.isnan(ecdf([fast, Curve([50], [0.5], budget=60)], 100, targets))


def test_the_drawn_ecdf_steps_up_at_each_hit_and_ends_at_the_budget():
    targets = np.array([10.0, 1.0, 0.1, 0.01])
    curves = [Curve([2, 20], [5.0, 0.05], budget=100), Curve([50], [0.5], budget=100)]
    x, y = ecdf_steps(curves, dim=5, targets=targets)
    assert x.tolist() == [1 / 5, 2 / 5, 2 / 5, 20 / 5, 20 / 5, 50 / 5, 50 / 5, 100 / 5]
    assert y.tolist() == [0, 0, 1 / 8, 1 / 8, 3 / 8, 3 / 8, 5 / 8, 5 / 8]


QUICK_METHODS = "genetic,random,optuna-cmaes"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One smoke run in 2 processes, without TensorFlow's and pycma's slower methods."""
    out = tmp_path_factory.mktemp("peers")
    command = [sys.executable, str(BENCH / "bench_peers.py"), "--quick", "--jobs", "2",
               "--methods", QUICK_METHODS, "--out", str(out)]
    result = subprocess.run(command, cwd=out, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def test_quick_run_writes_the_ecdf_figure_and_tables(quick_run):
    out, printed = quick_run
    png = (out / "ecdf.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    ecdf_rows = (out / "ecdf.csv").read_text().splitlines()
    assert ecdf_rows[0] == "D,method,100,300,10³·D,10⁴·D"
    assert {row.split(",")[1] for row in ecdf_rows[1:]} == set(QUICK_METHODS.split(","))
    summary = (out / "summary.md").read_text()
    assert "| 5 | genetic |" in summary and "## Goal checks" in summary
    assert "genetic evaluations/s ≥ 10× pycma-ipop's" in printed  # goal lines printed (n/a without pycma)


def test_quick_runs_do_not_depend_on_the_process_that_ran_them(quick_run):
    """Seeded by (method, problem): a cached run from a worker process equals the same task
    run here, and a second benchmark reuses the cache."""
    from peers_methods import Task, run_task

    out, _ = quick_run
    for path in sorted((out / "runs").glob("*.json"))[:4]:
        cached = json.loads(path.read_text())
        task = Task(cached["method"], cached["problem"], cached["dim"], cached["repeat"], cached["budget"],
                    stop_below=TARGETS[-1] if cached["problem"].startswith("bbob-") else -math.inf,
                    checkpoints=tuple(int(at) for at in cached["quality"]))
        again = run_task(task)
        assert again["curve_evaluations"] == cached["curve_evaluations"]
        assert again["curve_values"] == cached["curve_values"]
    command = [sys.executable, str(BENCH / "bench_peers.py"), "--quick", "--methods", QUICK_METHODS,
               "--out", str(out)]
    result = subprocess.run(command, cwd=out, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "0 to run" in result.stdout
