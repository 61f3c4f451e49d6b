"""A stored race read back from the run store: its configuration and its runs as a
leaderboard, for a window reopening it.

The store keeps each run's rows thinned by the history's rule (not a race's trace), and
not their seconds: a reopened run's seconds are spread over its rows by their
evaluations from its summary's speed (unknown: NaN), and its evaluations to target are
those of the first kept row that reached it (the exact row may have been thinned away).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from metalearn_gui.core.race_config import Entrant, RaceConfig
from metalearn_gui.core.race_results import RunResult, Standing, leaderboard
from metalearn_gui.core.record import RunRecord
from metalearn_gui.core.run import ConfigError
from metalearn_gui.core.store import RaceInfo, RunStore, StoreError


@dataclass(frozen=True)
class StoredRace:
    """A race reopened from the run store, with what its export reads of a live
    :class:`~metalearn_gui.core.race.Race`: its configuration, id and refused entrants."""

    config: RaceConfig
    race_id: int | None
    refused: dict[str, str] = field(default_factory=dict)


def stored_race(store: RunStore, race: RaceInfo) -> tuple[StoredRace, list[Standing]]:
    """``race`` and its leaderboard from its stored runs; raises :class:`StoreError` if
    its configuration or a run cannot be read."""
    try:
        config = RaceConfig.from_dict(race.config, origin=f"race {race.id}")
    except ConfigError as error:
        raise StoreError(str(error)) from None
    runs: dict[str, list[RunResult]] = {}
    for info in store.list_runs():
        if info.race_id == race.id:
            record = store.load(info.id)
            label = info.entrant or record.config.learner
            runs.setdefault(label, []).append(stored_result(record, label, config.target))
    by_label = {entrant.label: entrant for entrant in config.entrants}
    standings = [Standing(by_label.get(label) or Entrant(label.split()[0], {}, label),
                          tuple(sorted(results, key=lambda run: run.seed)), config.seeds)
                 for label, results in runs.items()]
    order = [entrant.label for entrant in config.entrants]
    standings.sort(key=lambda standing: order.index(standing.entrant.label)
                   if standing.entrant.label in order else len(order))
    return StoredRace(config, race.id, config.refusals()), leaderboard(standings)


def stored_result(record: RunRecord, label: str, target: float | None) -> RunResult:
    """``record`` as a race's run of entrant ``label`` (see the module docstring)."""
    history = record.history
    step, evaluations = history.column("step"), history.column("evaluations")
    best = history.column("best_loss")
    summary = record.summary
    steps = int(step[-1]) if len(step) else 0
    speed = summary.steps_per_second if summary is not None else None
    seconds_total = steps / speed if speed and steps else (0.0 if steps == 0 else math.nan)
    made = evaluations - (evaluations[0] if len(evaluations) else 0)
    share = made / made[-1] if len(made) and made[-1] > 0 else np.zeros(len(made))
    trace = np.column_stack([step, evaluations, history.column("loss"), best, share * seconds_total])
    reached = np.flatnonzero(best <= target) if target is not None else np.empty(0, dtype=int)
    finite = best[np.isfinite(best)]
    return RunResult(
        entrant=label, seed=record.config.seed, status=record.status,
        best_loss=float(finite.min()) if len(finite) else None,
        evaluations=int(evaluations[-1]) if len(evaluations) else 0, steps=steps,
        evaluations_to_target=int(evaluations[reached[0]]) if len(reached) else None,
        seconds=seconds_total, trace=trace,
        initial_evaluations=int(evaluations[0]) if len(evaluations) else 0, run_id=record.id)
