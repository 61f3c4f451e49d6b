"""A race in one folder: ``race.csv``, ``race.json``, ``config.json`` (from which
``metalearn-gui race --config`` repeats the race), the loss-vs-evaluations figure (PNG
and SVG) and ``manifest.json``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metalearn_gui.core.race_results import Standing
from metalearn_gui.export.files import prepare_directory, write_atomic, write_bytes, write_json
from metalearn_gui.export.race_figure import render_race_figure
from metalearn_gui.export.race_files import race_csv
from metalearn_gui.versions import library_versions

if TYPE_CHECKING:
    from metalearn_gui.core.race import Race
    from metalearn_gui.core.race_store import StoredRace

FIGURE = "race-loss"
FORMATS = ("png", "svg")
EXPORT_FILES = ("race.csv", "race.json", "config.json", *(f"{FIGURE}.{fmt}" for fmt in FORMATS))


def write_race_export(race: Race | StoredRace, standings: list[Standing], summary: dict[str, Any], directory: Path,
                      scale: int = 1, log_x: bool = False) -> list[Path]:
    """:data:`EXPORT_FILES` and ``manifest.json`` into ``directory`` (created if missing);
    the figure is drawn first, so a failure to draw leaves the folder as it was."""
    directory = prepare_directory(directory)
    figures = {fmt: render_race_figure(race.config, standings, fmt, scale, log_x) for fmt in FORMATS}
    write_bytes(directory / "race.csv", race_csv(standings).encode("utf-8"))
    write_json(directory / "race.json", summary)
    write_atomic(directory / "config.json", race.config.save)
    for fmt, data in figures.items():
        write_bytes(directory / f"{FIGURE}.{fmt}", data)
    write_json(directory / "manifest.json", {
        "app": "metalearn-gui", "versions": library_versions(), "race_id": race.race_id,
        "export_date": datetime.now(UTC).isoformat(timespec="seconds"), "files": list(EXPORT_FILES)})
    return [directory / name for name in (*EXPORT_FILES, "manifest.json")]
