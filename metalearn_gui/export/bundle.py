"""Everything about a run in one folder, or one piece at a time (the window's Export menu).

Each writer checks its path before any rendering and raises :class:`ExportError`
(one line naming the path) if it cannot be written; files are replaced whole
(:func:`~metalearn_gui.export.files.write_atomic`), never left half-written.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from metalearn_gui.core.generalisation import of_record
from metalearn_gui.core.record import RunRecord
from metalearn_gui.core.run import RunConfig, source_json
from metalearn_gui.export.figures import FORMATS, SIZE, FigureError, figure_names, render_figure
from metalearn_gui.export.files import (
    ExportError,
    check_file,
    prepare_directory,
    write_atomic,
    write_bytes,
    write_json,
)
from metalearn_gui.export.table import write_history_csv
from metalearn_gui.versions import library_versions

MANIFEST = "manifest.json"
#: The bundle's files besides the manifest and the figures, in the order they are written.
DATA_FILES = ("history.csv", "config.json", "summary.json")
#: A bundle's files besides the manifest for an objective with a landscape and no
#: held-out tasks (:func:`bundle_files` says which a run has).
BUNDLE_FILES = (*(f"{name}.{fmt}" for name in ("loss", "theta", "landscape") for fmt in FORMATS), *DATA_FILES)


def bundle_files(figures: tuple[str, ...]) -> tuple[str, ...]:
    """The files of a bundle with these ``figures`` (:func:`figure_names`), manifest aside."""
    return (*(f"{name}.{fmt}" for name in figures for fmt in FORMATS), *DATA_FILES)


def write_bundle(record: RunRecord, directory: Path, scale: int = 1,
                 size: tuple[int, int] = SIZE, log_x: bool = False) -> list[Path]:
    """Write the run's figures (:func:`figure_names`: a task view for objectives with
    held-out tasks), its data files and ``manifest.json`` into ``directory`` (created if
    missing; files of the same names are replaced), the figures with a log-scaled step
    axis if ``log_x``. The manifest comes last: a folder with one holds a complete
    bundle. Returns the paths written."""
    _check_has_rows(record)
    directory = prepare_directory(directory)
    names = figure_names(record)
    generalisation = of_record(record)  # once for every figure that shows it
    # Render first: a failure while drawing leaves the folder as it was.
    figures = {f"{name}.{fmt}": render_figure(record, name, fmt, scale, size, log_x, generalisation)
               for name in names for fmt in FORMATS}
    for filename, data in figures.items():
        write_bytes(directory / filename, data)
    _write_history_csv(record, directory / "history.csv")
    _write_config(record.config, directory / "config.json")
    write_json(directory / "summary.json", record.outcome().to_dict())
    files = bundle_files(names)
    write_json(directory / MANIFEST, manifest(record, files))
    return [directory / name for name in (*files, MANIFEST)]


def manifest(record: RunRecord, files: tuple[str, ...]) -> dict[str, Any]:
    """What made the bundle: versions, the run's identity, dates and files."""
    config = record.config
    return {
        "app": "metalearn-gui",
        "versions": library_versions(),
        "learner": config.learner,
        "objective": config.objective,
        **source_json(config.objective_source()),
        "dim": record.history.dim,
        "seed": config.seed,
        "status": record.status,
        "run_date": record.created,
        "export_date": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": list(files),
    }


# -- single pieces --------------------------------------------------------------------
def write_figure(record: RunRecord, figure: str, path: Path, scale: int = 1,
                 size: tuple[int, int] = SIZE, log_x: bool = False) -> None:
    """One figure (``loss``, ``theta``, ``landscape`` or ``taskview``); the format follows
    the suffix (``.png`` at ``scale`` × ``size`` pixels, or ``.svg``)."""
    _check_has_rows(record)
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ExportError(f"{str(path)!r}: a figure is saved as .png or .svg, not {path.suffix or 'no suffix'!r}")
    check_file(path)
    try:
        data = render_figure(record, figure, fmt, scale, size, log_x)
    except FigureError as error:
        raise ExportError(str(error)) from None
    write_bytes(path, data)


def write_history(record: RunRecord, path: Path) -> None:
    _check_has_rows(record)
    check_file(path)
    _write_history_csv(record, Path(path))


def write_config(config: RunConfig, path: Path) -> None:
    check_file(path)
    _write_config(config, Path(path))


def _check_has_rows(record: RunRecord) -> None:
    if len(record.history) == 0:
        raise ExportError("the run has no steps yet (it is still being prepared): nothing to export")


def _write_history_csv(record: RunRecord, path: Path) -> None:
    text = io.StringIO()
    write_history_csv(text, record)
    write_bytes(path, text.getvalue().encode("utf-8"))


def _write_config(config: RunConfig, path: Path) -> None:
    write_atomic(path, config.save)
