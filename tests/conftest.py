"""Shared test set-up: quiet TensorFlow, headless Qt, small helpers."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Every run the CLI or the window makes is stored: keep the tests' runs out of the
# user's data folder (forced, not setdefault; subprocesses inherit it).
_DATA_DIR = tempfile.mkdtemp(prefix="metalearn-gui-tests-")
os.environ["METALEARN_GUI_DATA_DIR"] = _DATA_DIR
atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)

import numpy as np
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


def run_all(learner, seed=0, max_steps=None):
    """Reset and advance to the end; returns the chunks (step 0's first)."""
    chunks = [learner.reset(seed)]
    while learner.status.value == "running":
        chunks.append(learner.advance(max_steps))
    return chunks


def history(chunks, field):
    return np.concatenate([getattr(c, field) for c in chunks])


@pytest.fixture
def faulty_objectives():
    """The objectives of ``tests/faulty_objectives.py``, registered for this test only."""
    import faulty_objectives as module

    module.register()
    yield module
    module.unregister()
