"""Small finished runs to export, made in-process (a few hundred milliseconds each)."""

from __future__ import annotations

import pytest

from metalearn_gui.core.record import RunRecord
from metalearn_gui.core.run import RunConfig, summarize

from export_runs import CHANGE, CHANGE_STEP


@pytest.fixture
def genetic_record() -> RunRecord:
    """30 generations on a 3-D sphere, sigma lowered live after step 10."""
    config = RunConfig("genetic", "sphere", dim=3, steps=30, seed=4, hyperparameters={"sigma": CHANGE[1]})
    learner = config.build()
    record = RunRecord.begin(config, learner.reset(config.seed))
    record.add(learner.advance(max_steps=CHANGE_STEP))
    learner.set_hyperparameters({CHANGE[0]: CHANGE[2]})
    while learner.status.value == "running":
        record.add(learner.advance())
    record.changes = list(learner.changes)
    record.summary = summarize(learner, seconds=1.0)
    record.status = learner.status.value
    return record
