"""Exports of runs on objectives with held-out tasks: the loss figure carries the held-out
series and the baseline's line, a task view figure joins the bundle, the summary its
held-out keys; objectives without them keep the bundle they had."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtGui import QImage

from metalearn_gui.core.generalisation import of_record
from metalearn_gui.core.record import RunRecord
from metalearn_gui.core.run import RunConfig, summarize
from metalearn_gui.export.bundle import BUNDLE_FILES, MANIFEST, write_bundle, write_figure
from metalearn_gui.export.figures import build_figure, figure_names, light_theme, render_figure
from metalearn_gui.export.files import ExportError

SMALL = (500, 320)


def finished_record(objective: str, dim: int | None, steps: int = 40) -> RunRecord:
    config = RunConfig("genetic", objective, dim=dim, steps=steps, seed=1,
                       hyperparameters={"population": 8, "tournament": 2})
    learner = config.build()
    record = RunRecord.begin(config, learner.reset(config.seed))
    while learner.status.value == "running":
        record.add(learner.advance(max_steps=10))
    record.summary = summarize(learner, seconds=1.0)
    record.status = learner.status.value
    return record


@pytest.fixture(scope="module")
def lr_record() -> RunRecord:
    return finished_record("lr-schedule", 4)


def test_the_heldout_series_of_a_record_follows_its_best_theta(lr_record):
    generalisation = of_record(lr_record)
    series = generalisation.heldout
    steps = series.column("step")
    assert steps[-1] == lr_record.history.column("step")[-1] and (np.diff(steps) > 0).all()
    objective = lr_record.config.build().objective
    best = np.asarray(lr_record.summary.theta_best)
    assert series.column("loss")[-1] == pytest.approx(objective.heldout_loss(best))
    assert np.isnan(series.column("accuracy")).all()  # not classification
    assert generalisation.baselines[0].label.startswith("tuned constant step")
    assert of_record(finished_record("sphere", 2, steps=5)) is None


def test_the_loss_figure_shows_the_heldout_series_and_the_labelled_baseline(qapp, lr_record):
    with light_theme():
        panel = build_figure(lr_record, "loss", SMALL)
    labels = [label.text for _, label in panel.plot.legend.items]
    assert "held-out (best θ)" in labels and "baseline (held-out)" in labels
    assert panel.heldout.isVisible() and panel.baseline.isVisible()
    _, y = panel.heldout.getData()
    assert np.isfinite(y).all()
    svg = render_figure(lr_record, "loss", "svg", size=SMALL).decode()
    assert "held-out (best " in svg and "baseline (held-out)" in svg and "tuned constant step" in svg


def test_the_bundle_of_a_task_distribution_run_holds_the_task_view_and_heldout_summary(qapp, lr_record, tmp_path):
    assert figure_names(lr_record) == ("loss", "theta", "landscape", "taskview")
    paths = write_bundle(lr_record, tmp_path / "bundle", size=SMALL)
    names = {path.name for path in paths}
    assert {"taskview.png", "taskview.svg", MANIFEST} <= names
    image = QImage.fromData((tmp_path / "bundle" / "taskview.png").read_bytes(), "PNG")
    assert not image.isNull() and image.width() == SMALL[0]
    svg = (tmp_path / "bundle" / "taskview.svg").read_text()
    ET.fromstring(svg)
    assert "learned" in svg and "Adam" in svg and "query loss" in svg
    manifest = json.loads((tmp_path / "bundle" / MANIFEST).read_text())
    assert "taskview.svg" in manifest["files"]
    summary = json.loads((tmp_path / "bundle" / "summary.json").read_text())
    assert np.isfinite(summary["heldout_loss"]) and np.isfinite(summary["baseline_heldout_loss"])
    assert "heldout_accuracy" not in summary


def test_a_classification_run_exports_accuracy_and_a_reasoned_objective_no_landscape(qapp, task_doubles, tmp_path):
    fewshot = finished_record("toy-fewshot", None, steps=15)
    summary = fewshot.summary.to_dict()
    assert 0 < summary["heldout_accuracy"] <= 1 and 0 < summary["baseline_heldout_accuracy"] <= 1
    with light_theme():
        panel = build_figure(fewshot, "taskview", SMALL)
    assert panel.accuracy.isVisible()
    fits = finished_record("toy-fits", None, steps=5)
    assert figure_names(fits) == ("loss", "theta", "taskview")
    with pytest.raises(ExportError, match="toy-fits has no landscape: "):
        write_figure(fits, "landscape", tmp_path / "landscape.png")
    names = {path.name for path in write_bundle(fits, tmp_path / "fits", size=SMALL)}
    assert "landscape.png" not in names and "taskview.svg" in names


def test_other_objectives_keep_their_bundle_and_have_no_task_view(qapp, genetic_record, tmp_path):
    assert tuple(name for name in figure_names(genetic_record)) == ("loss", "theta", "landscape")
    names = sorted(path.name for path in write_bundle(genetic_record, tmp_path / "b", size=SMALL))
    assert names == sorted((*BUNDLE_FILES, MANIFEST))
    with pytest.raises(ExportError, match="sphere has no held-out tasks"):
        write_figure(genetic_record, "taskview", tmp_path / "taskview.png")
