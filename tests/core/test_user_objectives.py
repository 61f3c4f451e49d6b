"""Users' own objectives: a function from a file or a module, a plugin, an external command;
their row tasks run identically in another process; configurations record their source."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pickle
import re
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from user_objective_doubles import (
    fresh_specs,  # noqa: F401 - a fixture
    write_command,
    write_file,
    write_package,
    write_plugin,
)

from metalearn_gui import objective
from metalearn_gui.core.objectives import ObjectiveError, make_objective, objective_class, plugin_objectives
from metalearn_gui.core.objectives.row_tasks import EvaluationError
from metalearn_gui.core.run import ConfigError, RunConfig, run_to_end, summarize
from metalearn_gui.core.store import RunStore, StoreError

pytestmark = pytest.mark.usefixtures("fresh_specs")


# -- Python functions from a file -------------------------------------------------------------
def test_a_decorated_function_declares_dimension_bounds_names_and_optimum(tmp_path):
    path = write_file(tmp_path)
    loss = make_objective(f"{path}:sphere")
    assert (loss.dim, loss.bounds, loss.optimum_value) == (3, (-2.0, 2.0), 0.0)
    assert loss.coordinate_names() == ("lr", "momentum", "decay")
    assert loss.description == "Σ θ², declared 3-D" and loss.name == f"{path}:sphere"
    assert loss.black_box and not loss.vectorised and not loss.noisy
    np.testing.assert_array_equal(loss.loss_np(np.array([[1.0, 2.0, 0.0], [0.5, 0.5, 0.5]])), [5.0, 0.75])
    with pytest.raises(ObjectiveError, match="dimension 5 is not allowed"):
        make_objective(f"{path}:sphere", 5)
    with pytest.raises(ObjectiveError, match="black box"):
        loss.loss_tf(None)
    assert isinstance(loss.landscape_axes(), str)  # one θ at a time: no 3,721-evaluation picture


def test_an_undecorated_function_takes_the_requested_dimension_and_default_bounds(tmp_path):
    path = write_file(tmp_path)
    assert make_objective(f"{path}:plain").dim == 10
    loss = make_objective(f"{path}:plain", 4)
    assert (loss.dim, loss.bounds, loss.optimum_value) == (4, (-5.0, 5.0), None)
    assert loss.coordinate_names() == ("θ1", "θ2", "θ3", "θ4")
    assert loss.loss(np.array([1.0, -2.0, 0.0, 3.0])) == 6.0
    assert make_objective(f"{path}:bare", 1).loss(np.array([-4.0])) == -4.0  # bare @objective


def test_the_source_records_the_files_sha256_and_one_spec_gives_one_class(tmp_path):
    path = write_file(tmp_path)
    cls = objective_class(f"{path}:sphere")
    assert cls.source is not None and cls.source.kind == "file" and cls.source.spec == f"{path}:sphere"
    assert cls.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert objective_class(f"{path}:sphere") is cls
    assert objective_class("sphere").source is None  # built-in


def test_a_file_runs_once_however_its_path_is_typed(tmp_path, monkeypatch):
    counter = tmp_path / "runs.txt"
    write_file(tmp_path, f"open({str(counter)!r}, 'a').write('ran\\n')\ndef f(theta):\n    return 1.0\n", "once.py")
    monkeypatch.chdir(tmp_path)
    relative, absolute = objective_class("once.py:f"), objective_class(f"{tmp_path}/once.py:f")
    assert relative is not absolute and relative.source.sha256 == absolute.source.sha256
    assert counter.read_text() == "ran\n"


def test_a_noisy_function_gets_a_seeded_rng_per_row_drawn_from_the_learners_rng(tmp_path):
    loss = make_objective(f"{write_file(tmp_path)}:noisy_by_hand")
    thetas = np.zeros((4, 2))
    first = loss.loss_np(thetas, np.random.default_rng(7))
    np.testing.assert_array_equal(first, loss.loss_np(thetas, np.random.default_rng(7)))
    assert len(set(first)) == 4  # one seed per row
    assert not np.array_equal(first, loss.loss_np(thetas, np.random.default_rng(8)))


def test_a_batched_function_gets_the_whole_population_in_process(tmp_path):
    loss = make_objective(f"{write_file(tmp_path)}:batched", 3)
    assert loss.vectorised and loss.noisy and loss.bounds == (-1.0, 1.0)
    assert not hasattr(loss, "row_task") and loss.landscape_axes() == (0, 1)
    values = loss.loss_np(np.ones((5, 3)), np.random.default_rng(0))
    assert values.shape == (5,) and np.all(np.abs(values - 3.0) < 0.1)


@pytest.mark.parametrize("kwargs, message", [
    ({"dim": 0}, "dim=0: must be an integer"),
    ({"bounds": (1, -1)}, "low < high"),
    ({"bounds": [(-1, 1), (-2, 2)]}, "one \\(low, high\\) pair"),
    ({"names": ("a", "b"), "dim": 3}, "2 names for dim=3"),
    ({"batched": "yes"}, "batched='yes'"),
])
def test_the_decorator_refuses_bad_declarations_in_one_line(kwargs, message):
    with pytest.raises(ObjectiveError, match=message):
        objective(**kwargs)


@pytest.mark.parametrize("spec, message", [
    ("{dir}/gone.py:f", "file '{dir}/gone.py' not found"),
    ("{path}:nope", "has no function 'nope' (it defines: sphere, plain, noisy_by_hand, batched, bare, rng_undeclared)"),
    ("{path}:not_callable", "is a int, not a function"),
    ("{path}:rng_undeclared", "needs an rng argument but is not declared noisy"),
    ("{path}", "name the function too"),
    ("C:\\dir\\x.py:f", "file 'C:\\dir\\x.py' not found"),  # a drive letter: split at the last colon
    ("{dir}/broken.py:f", "{dir}/broken.py:2: SyntaxError: '(' was never closed"),
    ("{dir}/raising.py:f", "{dir}/raising.py:2: running it raised ZeroDivisionError: division by zero"),
])
def test_a_file_spec_that_cannot_be_built_is_one_line_naming_it(tmp_path, spec, message):
    path = write_file(tmp_path)
    write_file(tmp_path, "def f(theta):\n    return (\n\n", "broken.py")
    write_file(tmp_path, "x = 1\ny = x / 0\n", "raising.py")
    with pytest.raises(ObjectiveError, match=re.escape(message.format(dir=tmp_path, path=path))) as caught:
        objective_class(spec.format(dir=tmp_path, path=path))
    assert "\n" not in str(caught.value)


# -- a module, a plugin -------------------------------------------------------------------------
def test_a_module_function_is_imported_by_name(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(write_package(tmp_path, "mlgui_pkg_a"))
    loss = make_objective("mlgui_pkg_a.losses:quartic")
    assert loss.dim == 4 and loss.source.kind == "module"
    assert loss.loss(np.array([1.0, 2.0, 0.0, -1.0])) == 18.0
    with pytest.raises(ObjectiveError, match=re.escape("no module named 'mlgui_pkg_none.x'")):
        objective_class("mlgui_pkg_none.x:f")
    with pytest.raises(ObjectiveError, match=re.escape("module mlgui_pkg_a.losses has no 'cubic'")):
        objective_class("mlgui_pkg_a.losses:cubic")


def test_plugins_appear_under_their_names_with_their_distribution(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(write_plugin(tmp_path, "mlgui_plugin_a"))
    function = make_objective("plug-sphere")
    assert function.dim == 2 and function.description == "a plugged-in sphere"
    assert function.source.kind == "plugin" and function.loss(np.array([3.0, 4.0])) == 25.0
    cube = make_objective("plug-cube", 2)
    assert cube.name == "plug-cube" and cube.bounds == (-1.0, 1.0) and cube.source.kind == "plugin"
    listed = {plugin.name: (plugin.origin(), found) for plugin, found in plugin_objectives()}
    assert listed["plug-sphere"] == ("plugin from dist 'fakeplug'", objective_class("plug-sphere"))
    assert isinstance(listed["plug-broken"][1], ObjectiveError)
    assert "has no 'missing'" in str(listed["plug-broken"][1])


# -- an external command ------------------------------------------------------------------------
def test_a_command_gets_theta_as_json_and_answers_its_last_line(tmp_path):
    loss = make_objective(f"command:{write_command(tmp_path)} good", 3)
    assert loss.source.kind == "command" and not loss.vectorised
    assert loss.loss(np.array([1.0, 2.0, 0.5])) == 5.25
    assert json.loads((tmp_path / "request.json").read_text()) == {"theta": [1.0, 2.0, 0.5], "seed": None}


@pytest.mark.parametrize("mode, message", [
    ("fail", "exited with status 3: RuntimeError: out of memory"),
    ("junk", "printed 'loss: 0.5' as its last line, not a number"),
])
def test_a_command_that_fails_raises_one_line_with_its_last_stderr_line(tmp_path, mode, message):
    task = make_objective(f"command:{write_command(tmp_path)} {mode}", 2).row_task()
    with pytest.raises(EvaluationError, match=message) as caught:
        task(np.zeros(2), None, 60.0)
    assert "\n" not in str(caught.value)


def test_a_command_past_its_timeout_is_killed(tmp_path):
    task = make_objective(f"command:{write_command(tmp_path)} hang", 2).row_task()
    with pytest.raises(EvaluationError, match="gave no answer within 1 s and was killed: loading data"):
        task(np.zeros(2), None, 1.0)
    with pytest.raises(ProcessLookupError):
        os.kill(int((tmp_path / "pid").read_text()), 0)


def test_a_command_that_does_not_exist_is_refused_when_named():
    with pytest.raises(ObjectiveError, match="program 'no-such-program-x' not found on PATH"):
        objective_class("command:no-such-program-x --epochs 3")


# -- row tasks elsewhere ------------------------------------------------------------------------
def test_row_tasks_evaluate_identically_in_a_fresh_spawn_process(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(write_package(tmp_path, "mlgui_pkg_b"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), *sys.path]))
    path = write_file(tmp_path)
    objectives = [make_objective(f"{path}:noisy_by_hand"), make_objective(f"{path}:sphere"),
                  make_objective("mlgui_pkg_b.losses:quartic"),
                  make_objective(f"command:{write_command(tmp_path)} good", 2)]
    tasks = [loss.row_task() for loss in objectives]
    thetas = [np.linspace(-1.0, 1.0, loss.dim) for loss in objectives]
    here = [task(theta, 11, 60.0) for task, theta in zip(tasks, thetas, strict=True)]
    path.unlink()  # the file's task carries its source: the other process needs no file
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = list(pool.map(_call, tasks, thetas))
    assert there == here


def _call(task, theta):
    return task(theta, 11, 60.0)


def test_a_row_task_unpickles_without_tensorflow_or_qt(tmp_path):
    task = make_objective(f"{write_file(tmp_path)}:sphere").row_task()
    child = ("import pickle, sys, numpy as np; task = pickle.load(sys.stdin.buffer); "
             "print(task(np.array([1.0, 2.0, 3.0]), None, None)); "
             "print(sorted(m for m in ('tensorflow', 'PySide6', 'pyqtgraph') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", child], input=pickle.dumps(task), capture_output=True,
                            timeout=120, check=True)
    assert result.stdout.decode().split() == ["14.0", "[]"]


# -- records -----------------------------------------------------------------------------------
def test_a_configuration_records_the_source_and_warns_when_the_file_changed(tmp_path, monkeypatch):
    path = write_file(tmp_path)
    config = RunConfig("genetic", f"{path}:plain", dim=2, steps=3)
    recorded = config.to_dict()["objective_source"]
    assert recorded == {"kind": "file", "spec": f"{path}:plain",
                        "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    assert RunConfig.from_dict(config.to_dict()).source_warning() is None
    path.write_text(path.read_text() + "\n# tuned\n")
    monkeypatch.setattr("metalearn_gui.core.objectives._user_classes", {})  # as a new process would
    warning = RunConfig.from_dict(config.to_dict() | {"objective_source": recorded}).source_warning()
    assert warning is not None and "\n" not in warning and f"{path} has changed" in warning
    assert "objective_source" not in RunConfig("genetic", "sphere").to_dict()
    with pytest.raises(ConfigError, match="kind 'url' is not one of"):
        RunConfig.from_dict(config.to_dict() | {"objective_source": {"kind": "url", "spec": "x"}})


def test_a_summary_records_the_source(tmp_path, make_learner):
    learner = make_learner("genetic", f"command:{write_command(tmp_path)} good", 2, max_steps=1, population=4)
    run_to_end(learner, 0)
    summary = summarize(learner, 1.0).to_dict()
    assert summary["objective_source"]["kind"] == "command"
    assert summary["best_loss"] is not None
    assert "objective_source" not in summarize(_finished(make_learner), 1.0).to_dict()


def _finished(make_learner):
    learner = make_learner("genetic", "sphere", 2, max_steps=1)
    run_to_end(learner, 0)
    return learner


def test_a_stored_run_whose_file_vanished_is_listed_and_named_when_opened(tmp_path, make_learner):
    from metalearn_gui.core.recorder import RunRecorder

    path = write_file(tmp_path)
    config = RunConfig("genetic", f"{path}:plain", dim=2, steps=2, hyperparameters={"population": 6})
    learner = config.build()
    with RunStore.open(tmp_path / "data") as store:
        recorder = RunRecorder(config, learner, "cli", store)
        run_to_end(learner, 0, recorder.add)
        recorder.finish(summarize(learner, 1.0))
        run_id = recorder.run_id
    path.unlink()
    with RunStore.open(tmp_path / "data") as store:
        assert [info.objective for info in store.list_runs()] == [f"{path}:plain"]
        store.load(run_id)  # still resolved in this process: it ran here
    from metalearn_gui.core import objectives

    objectives._user_classes.clear()  # a later process
    with RunStore.open(tmp_path / "data") as store, pytest.raises(StoreError) as caught:
        store.load(run_id)
    assert f"file '{path}' not found" in str(caught.value) and "\n" not in str(caught.value)


def test_a_file_that_exits_at_import_is_one_error_line_not_the_apps_exit(tmp_path, capsys):
    path = write_file(tmp_path, "import argparse\nargparse.ArgumentParser().parse_args(['--epochs'])\n"
                                "def f(theta):\n    return 0.0\n", "train.py")
    with pytest.raises(ObjectiveError, match=r"train\.py:2: running it called sys\.exit\(2\) \(does it parse "
                                             r"command-line arguments"):
        objective_class(f"{path}:f")
    assert capsys.readouterr().err == ""  # argparse's usage message is not the app's


def test_an_edited_file_runs_as_it_is_now_when_its_spec_is_asked_for_again(tmp_path):
    path = write_file(tmp_path, "def f(theta):\n    return 1.0\n", "edited.py")
    before = objective_class(f"{path}:f")
    path.write_text("def f(theta):\n    return 2.0\n", encoding="utf-8")
    after = objective_class(f"{path}:f")
    assert after(3).loss(np.zeros(3)) == 2.0 and before(3).loss(np.zeros(3)) == 1.0
    assert after.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() != before.source.sha256
    assert objective_class(f"{path}:f") is after  # unchanged since: the same class
