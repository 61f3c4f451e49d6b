"""A run's summary: one type for a finished run and one summarised from its rows, whose
JSON form keeps the documented keys and reads back equal."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from metalearn_gui.core.learners import Status
from metalearn_gui.core.record import RunRecord
from metalearn_gui.core.run import RunConfig, summarize
from metalearn_gui.core.summary import RunSummary

#: The keys of ``--json`` and ``summary.json`` for a run that ended normally, in order.
KEYS = ["version", "learner", "objective", "dim", "seed", "steps", "evaluations", "status", "final_loss",
        "best_loss", "optimum", "theta_final", "theta_best", "steps_per_second", "hyperparameters",
        "diverged_at"]


@pytest.fixture
def finished():
    config = RunConfig("genetic", "sphere", dim=2, steps=6, seed=1)
    learner = config.build()
    record = RunRecord.begin(config, learner.reset(config.seed))
    while learner.status is Status.RUNNING:
        record.add(learner.advance(max_steps=2))
    return learner, record


def test_a_summary_round_trips_through_json_with_the_documented_keys(finished):
    learner, _ = finished
    summary = summarize(learner, 2.0)
    data = json.loads(json.dumps(summary.to_dict(), allow_nan=False))
    assert list(data) == KEYS
    assert data["theta_best"] == list(summary.theta_best) and data["steps_per_second"] == 3.0
    assert RunSummary.from_dict(data) == summary
    assert RunSummary.from_dict(data).status is Status.FINISHED


def test_a_failure_and_held_out_losses_add_their_keys_and_round_trip(finished):
    learner, _ = finished
    summary = replace(summarize(learner, 1.0), status=Status.FAILED, failed_at=4, failure="raised at step 4",
                      heldout_loss=0.5, baseline_heldout_loss=0.75)
    data = summary.to_dict()
    assert list(data) == KEYS + ["failed_at", "failure", "heldout_loss", "baseline_heldout_loss"]
    assert RunSummary.from_dict(json.loads(json.dumps(data))) == summary


def test_a_run_without_a_summary_is_summarised_from_its_rows_with_the_same_keys(finished):
    learner, record = finished
    record.status = Status.INTERRUPTED
    from_rows = record.outcome()
    data = from_rows.to_dict()
    assert list(data) == KEYS + ["from_rows"] and data["from_rows"] is True
    ended = summarize(learner, 1.0)
    for key in ("steps", "evaluations", "final_loss", "best_loss", "optimum", "theta_final", "theta_best",
                "hyperparameters"):
        assert getattr(from_rows, key) == getattr(ended, key), key
    assert from_rows.status == "interrupted" and from_rows.steps_per_second is None
    assert RunSummary.from_dict(json.loads(json.dumps(data))) == from_rows


@pytest.mark.parametrize("data, problem", [
    ([], "must be a JSON object"),
    ({"learner": "genetic"}, "has no objective, dim, seed, steps, evaluations, status"),
    ({**dict.fromkeys(KEYS[:8], 1), "theta_best": "abc"}, "theta_best is 'abc'"),
    ({**dict.fromkeys(KEYS[:7], 1), "status": "exploded"}, "status is 'exploded'"),
])
def test_a_summary_that_is_not_one_is_refused_naming_why(data, problem):
    with pytest.raises(ValueError, match=problem):
        RunSummary.from_dict(data)


def test_classification_adds_heldout_accuracies_after_the_losses_and_round_trips(finished):
    learner, _ = finished
    summary = replace(summarize(learner, 1.0), heldout_loss=0.5, baseline_heldout_loss=0.75,
                      heldout_accuracy=0.9, baseline_heldout_accuracy=0.8)
    data = summary.to_dict()
    assert list(data) == KEYS + ["heldout_loss", "baseline_heldout_loss", "heldout_accuracy",
                                 "baseline_heldout_accuracy"]
    assert RunSummary.from_dict(json.loads(json.dumps(data))) == summary
    regression = replace(summary, heldout_accuracy=None, baseline_heldout_accuracy=None).to_dict()
    assert "heldout_accuracy" not in regression and "baseline_heldout_accuracy" not in regression
