"""Shared test set-up: a temporary home, quiet TensorFlow, headless Qt, small helpers."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The tests and every process they start see a temporary home: the window's settings
# (QSettings), stored runs (platformdirs), TensorBoard logs and caches all land there,
# never in the user's folders. Set before anything imports Qt, and forced (not
# setdefault); subprocesses inherit the environment.
_TEMP_HOME = Path(tempfile.mkdtemp(prefix="metalearn-gui-tests-"))
atexit.register(shutil.rmtree, _TEMP_HOME, ignore_errors=True)
TEMP_FOLDERS = {
    "HOME": _TEMP_HOME,
    "XDG_CONFIG_HOME": _TEMP_HOME / ".config",
    "XDG_DATA_HOME": _TEMP_HOME / ".local" / "share",
    "XDG_CACHE_HOME": _TEMP_HOME / ".cache",
    "XDG_STATE_HOME": _TEMP_HOME / ".local" / "state",
    "METALEARN_GUI_DATA_DIR": _TEMP_HOME / "data",
}
for _name, _folder in TEMP_FOLDERS.items():
    _folder.mkdir(parents=True, exist_ok=True)
    os.environ[_name] = str(_folder)

import pytest

from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import make_objective


@pytest.fixture
def make_learner():
    """``make_learner(learner, objective, dim=None, max_steps=None, **hyperparameters)``."""

    def build(learner, objective, dim=None, max_steps=None, **hyperparameters):
        return learner_class(learner)(
            make_objective(objective, dim), hyperparameters, max_steps=max_steps
        )

    return build


@pytest.fixture
def faulty_objectives():
    """The objectives of ``tests/faulty_objectives.py``, registered for this test only."""
    import faulty_objectives as module

    module.register()
    yield module
    module.unregister()


@pytest.fixture
def task_doubles():
    """The task-distribution objectives of ``tests/task_doubles.py``, registered for this test only."""
    import task_doubles as module

    module.register()
    yield module
    module.unregister()
