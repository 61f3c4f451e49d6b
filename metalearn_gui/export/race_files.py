"""A race's files: ``race.json`` (the leaderboard), ``race.csv`` (every run's rows),
``config.json`` (from which ``metalearn-gui race --config`` repeats the race) and the
loss-vs-evaluations figure. Files are replaced whole; Qt is imported only to draw.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metalearn_gui.core.objectives import make_objective
from metalearn_gui.core.race_results import TRACE_COLUMNS, Standing
from metalearn_gui.export.files import check_file, prepare_directory, write_atomic, write_bytes, write_json
from metalearn_gui.versions import library_versions

if TYPE_CHECKING:
    from metalearn_gui.core.race import Race

#: race.csv's columns.
CSV_COLUMNS = ("entrant", "seed", "evaluations", "loss", "best_loss", "seconds")
FIGURE = "race-loss"
FORMATS = ("png", "svg")
EXPORT_FILES = ("race.csv", "race.json", "config.json", *(f"{FIGURE}.{fmt}" for fmt in FORMATS))


def race_summary(race: Race, standings: list[Standing]) -> dict[str, Any]:
    """The leaderboard as JSON-ready values (``race.json``, ``race --json``): lists per
    entrant are in seed order; a loss that is not a finite number is null."""
    config = race.config
    return {
        "objective": config.objective,
        "dim": make_objective(config.objective, config.dim).dim,
        "budget": config.budget,
        "seeds": list(config.seed_values),
        "target": config.target,
        "race_id": race.race_id,
        "entrants": [{
            "rank": rank,
            "label": standing.entrant.label,
            "learner": standing.entrant.learner,
            "hyperparameters": standing.entrant.every_value(config),
            "median_best_loss": standing.median_best_loss,
            "best_losses": [_finite(loss) for loss in standing.best_losses],
            "evaluations_to_target": list(standing.evaluations_to_target),
            "median_evaluations_to_target": standing.median_evaluations_to_target,
            "reached": standing.reached,
            "seconds": [run.seconds for run in standing.runs],
            "evaluations": [run.evaluations for run in standing.runs],
            "evaluations_per_second": standing.evaluations_per_second,
            "statuses": [str(run.status) for run in standing.runs],
            "run_ids": [run.run_id for run in standing.runs],
        } for rank, standing in enumerate(standings, 1)],
        "refused": [{"label": label, "reason": reason} for label, reason in race.refused.items()],
    }


def write_race_json(summary: dict[str, Any], path: Path) -> None:
    check_file(path)
    write_json(Path(path), summary)


def write_race_csv(standings: list[Standing], path: Path) -> None:
    """Every kept row of every run: entrant by entrant (in the leaderboard's order), seed by seed."""
    check_file(path)
    write_bytes(Path(path), race_csv(standings).encode("utf-8"))


def race_csv(standings: list[Standing]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    columns = [TRACE_COLUMNS.index(name) for name in CSV_COLUMNS[2:]]
    for standing in standings:
        for run in standing.runs:
            for row in run.trace[:, columns]:
                evaluations, loss, best, seconds = row
                writer.writerow([run.entrant, run.seed, int(evaluations), f"{loss:.17g}", f"{best:.17g}",
                                 f"{seconds:.6f}"])
    return text.getvalue()


def write_race_export(race: Race, standings: list[Standing], summary: dict[str, Any], directory: Path,
                      scale: int = 1, log_x: bool = False) -> list[Path]:
    """:data:`EXPORT_FILES` and ``manifest.json`` into ``directory`` (created if missing);
    the figure is drawn first, so a failure to draw leaves the folder as it was."""
    from metalearn_gui.export.race_figure import render_race_figure  # Qt: only to draw

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


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
