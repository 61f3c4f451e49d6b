"""Exports of a finished run: figures that decode and hold the data, the CSV as specified,
a complete bundle, and paths that cannot be written refused before any work."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QImage

from export_runs import CHANGE, CHANGE_STEP
from metalearn_gui.cli import main as cli_main
from metalearn_gui.core.history import History
from metalearn_gui.core.record import RunRecord
from metalearn_gui.core.run import RunConfig
from metalearn_gui.export.bundle import (
    BUNDLE_FILES, MANIFEST, write_bundle, write_config, write_figure, write_history,
)
from metalearn_gui.export.figures import render_figure
from metalearn_gui.export.files import ExportError, write_atomic
from metalearn_gui.export.table import CsvWriter

SMALL = (400, 250)
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"


def decode_png(data: bytes) -> QImage:
    image = QImage.fromData(data, "PNG")
    assert not image.isNull()
    return image


@pytest.mark.parametrize("scale", [1, 2])
def test_png_has_scale_times_the_figure_size(qapp, genetic_record, scale):
    image = decode_png(render_figure(genetic_record, "theta", "png", scale, SMALL))
    assert (image.width(), image.height()) == (SMALL[0] * scale, SMALL[1] * scale)


def test_figures_are_light_even_under_a_dark_theme(qapp, genetic_record):
    pg.setConfigOptions(background="#101010", foreground="#EEEEEE")  # as apply_palette() on a dark desktop
    try:
        image = decode_png(render_figure(genetic_record, "landscape", "png", 1, SMALL))
        assert pg.getConfigOption("background") == "#101010"  # the window's theme is given back
    finally:
        pg.setConfigOptions(background="default", foreground="d")
    assert image.pixelColor(1, 1) == QColor("#FFFFFF")
    colours = {image.pixel(x, y) for x in range(0, SMALL[0], 7) for y in range(0, SMALL[1], 7)}
    assert len(colours) > 20  # the surface, axes and text were drawn, not just a blank page


def path_points(element: ET.Element) -> np.ndarray:
    text = element.get("d") or element.get("points") or ""
    return np.array([float(v) for v in re.findall(NUMBER, text, re.IGNORECASE)]).reshape(-1, 2)


def test_svg_parses_and_holds_the_loss_curve_in_data_coordinates(qapp, genetic_record):
    root = ET.fromstring(render_figure(genetic_record, "loss", "svg", size=SMALL))
    elements = [e for e in root.iter() if e.tag.rsplit("}", 1)[-1] in ("path", "polyline")]
    history = genetic_record.history
    expected = np.column_stack([history.column("step"), np.log10(history.column("loss"))])  # log y axis
    assert any(len(points) == len(expected) and np.allclose(points, expected, rtol=1e-5, atol=1e-5)
               for points in map(path_points, elements))
    assert_finite_coordinates(root)


def assert_finite_coordinates(root: ET.Element) -> None:
    for element in root.iter():
        for name, value in element.attrib.items():
            if not name.endswith("href"):  # embedded images are base64, not coordinates
                assert not re.search(r"\b(nan|inf)", value, re.IGNORECASE), (name, value)


def test_svg_gaps_in_a_log_axis_are_moves_not_nan_coordinates(qapp):
    history = History(2, capacity=64)
    history.append(np.arange(5), np.array([1.0, 0.0, 0.5, 0.0, 0.01]), np.array([1.0, 0, 0, 0, 0]),
                   np.arange(5) * 10, np.ones((5, 2)))  # L = L* = 0: no log, a gap
    record = RunRecord(RunConfig("genetic", "sphere", dim=2, steps=4), history)
    record.summary = replace(record.outcome(), diverged_at=5)
    for figure in ("loss", "theta", "landscape"):
        assert_finite_coordinates(ET.fromstring(render_figure(record, figure, "svg", size=SMALL)))


def test_a_1d_run_from_the_command_line_exports_its_landscape_as_the_curve_of_l(qapp, capsys, tmp_path):
    out = tmp_path / "out"
    code = cli_main(["run", "--learner", "genetic", "--objective", "seed", "--dim", "1", "--steps", "20",
                     "--export", str(out), "--quiet", "--no-store"])
    assert code == 0 and capsys.readouterr().err == ""
    root = ET.parse(out / "landscape.svg").getroot()
    curves = [path_points(e) for e in root.iter() if e.tag.rsplit("}", 1)[-1] in ("path", "polyline")]
    # L(θ₀) = softplus(θ₀²) across the objective's bounds, in data coordinates
    assert any(len(points) > 100 and points[:, 0].min() <= -3 and points[:, 0].max() >= 3
               and np.allclose(points[:, 1], np.logaddexp(0, points[:, 0] ** 2), rtol=1e-4, atol=1e-4)
               for points in curves)
    assert_finite_coordinates(root)
    image = decode_png((out / "landscape.png").read_bytes())
    curve_blue = QColor("#0072B2").rgb()
    assert any(image.pixel(x, y) == curve_blue for x in range(image.width()) for y in range(image.height()))


def test_history_csv_has_the_columns_a_row_per_step_and_the_change(qapp, genetic_record, tmp_path):
    path = tmp_path / "history.csv"
    write_history(genetic_record, path)
    header, *rows = list(csv.reader(path.open()))
    assert header == ["step", "loss", "best_loss", "evaluations", "theta_0", "theta_1", "theta_2", "change"]
    history = genetic_record.history
    assert [int(row[0]) for row in rows] == history.column("step").astype(int).tolist()
    assert np.array_equal([float(row[1]) for row in rows], history.column("loss"))  # exact round trip
    name, old, new = CHANGE
    assert {int(row[0]): row[-1] for row in rows if row[-1]} == {CHANGE_STEP: f"{name}: {old} -> {new}"}


def test_non_finite_values_are_empty_cells_named_in_the_change_column(tmp_path):
    history = History(2, capacity=64)
    history.append(np.array([0, 1]), np.array([1.0, np.inf]), np.array([1.0, 1.0]), np.array([5, 10]),
                   np.array([[0.5, 0.5], [0.25, np.nan]]))
    path = tmp_path / "rows.csv"
    with path.open("w") as file:
        CsvWriter(file, 2, notes=True).write_table(
            np.column_stack([history.column("step"), history.column("loss"), history.column("best_loss"),
                             history.column("evaluations"), history.theta()]), ["", "alpha: 1 -> 2"])
    rows = list(csv.reader(path.open()))
    assert rows[1] == ["0", "1", "1", "5", "0.5", "0.5", ""]
    assert rows[2] == ["1", "", "1", "10", "0.25", "", "alpha: 1 -> 2; not finite: loss, theta_1"]
    assert "nan" not in path.read_text().lower() and "inf" not in path.read_text().lower()


def test_bundle_writes_every_file_and_a_manifest(qapp, genetic_record, tmp_path):
    directory = tmp_path / "new" / "bundle"  # missing folders are created
    paths = write_bundle(genetic_record, directory, scale=2)
    names = sorted(p.name for p in directory.iterdir())
    assert names == sorted(BUNDLE_FILES + (MANIFEST,)) == sorted(p.name for p in paths)
    assert decode_png((directory / "loss.png").read_bytes()).width() == 1600
    assert RunConfig.load(directory / "config.json") == genetic_record.config
    assert json.loads((directory / "summary.json").read_text()) == genetic_record.summary.to_dict()
    manifest = json.loads((directory / MANIFEST).read_text())
    assert manifest["files"] == list(BUNDLE_FILES)
    assert (manifest["learner"], manifest["objective"], manifest["seed"]) == ("genetic", "sphere", 4)
    assert {"metalearn-gui", "Python", "numpy", "PySide6", "pyqtgraph", "TensorFlow"} <= manifest["versions"].keys()
    assert manifest["run_date"] == genetic_record.created and manifest["export_date"]


def test_a_folder_under_a_file_is_refused_with_its_path_and_nothing_is_touched(qapp, genetic_record, tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep me")
    target = blocker / "bundle"
    with pytest.raises(ExportError) as error:
        write_bundle(genetic_record, target)
    message = str(error.value)
    assert "\n" not in message and str(target) in message and "is a file" in message
    assert blocker.read_text() == "keep me" and sorted(tmp_path.iterdir()) == [blocker]
    for write in (lambda path: write_figure(genetic_record, "loss", path),
                  lambda path: write_config(genetic_record.config, path)):
        with pytest.raises(ExportError, match=re.escape(str(target))):
            write(target / "file.svg")


def test_a_figure_needs_a_png_or_svg_suffix(qapp, genetic_record, tmp_path):
    with pytest.raises(ExportError, match=r"\.png or \.svg"):
        write_figure(genetic_record, "loss", tmp_path / "loss.pdf")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_old_file_and_leaves_no_partial_one(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text("old")

    def fail_midway(temporary):
        temporary.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(ExportError, match="No space left"):
        write_atomic(path, fail_midway)
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"] and path.read_text() == "old"


def test_csv_and_file_checks_do_not_import_qt():
    code = ("import sys, metalearn_gui.export, metalearn_gui.export.files, metalearn_gui.export.table;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr
