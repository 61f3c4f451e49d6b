"""A race's data files: ``race.json`` (the leaderboard) and ``race.csv`` (every run's rows),
replaced whole. No Qt: :mod:`metalearn_gui.export.race_bundle` adds the figure.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metalearn_gui.core.objectives import make_objective
from metalearn_gui.core.race_results import TRACE_COLUMNS, Standing
from metalearn_gui.core.run import current_source, source_json
from metalearn_gui.export.files import check_file, write_bytes, write_json

if TYPE_CHECKING:
    from metalearn_gui.core.race import Race
    from metalearn_gui.core.race_store import StoredRace

#: race.csv's columns.
CSV_COLUMNS = ("entrant", "seed", "evaluations", "loss", "best_loss", "seconds")


def race_summary(race: Race | StoredRace, standings: list[Standing]) -> dict[str, Any]:
    """The leaderboard as JSON-ready values (``race.json``, ``race --json``): lists per
    entrant are in seed order; a loss that is not a finite number is null."""
    config = race.config
    return {
        "objective": config.objective,
        **source_json(current_source(config.objective, config.recorded_source)),
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


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
