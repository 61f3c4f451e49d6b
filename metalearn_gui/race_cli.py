"""``metalearn-gui race``: learners side by side on one objective at equal evaluation budgets.

Bad input is a :class:`~metalearn_gui.core.run.ConfigError` (or an
:class:`~metalearn_gui.export.files.ExportError`) whose one line :func:`metalearn_gui.cli.main`
prints with exit status 2, before any run starts. An entrant the objective refuses is named
in one line on stderr and the race runs without it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from metalearn_gui.core.events import Notice
from metalearn_gui.core.learners import LEARNER_NAMES
from metalearn_gui.core.objectives import FAMILY, OBJECTIVES, ObjectiveError, make_objective
from metalearn_gui.core.race import EntrantEvent, Race, RaceEvent, RunFinished, run_race
from metalearn_gui.core.race_config import (
    BUDGET_PER_DIM,
    DEFAULT_SEEDS,
    Entrant,
    RaceConfig,
    default_budget,
    parse_entrant,
    parse_settings,
    parse_values,
)
from metalearn_gui.core.race_results import Standing
from metalearn_gui.core.run import ConfigError
from metalearn_gui.core.status import Status
from metalearn_gui.core.store import resolve_data_dir
from metalearn_gui.evaluation_cli import add_evaluation_options, evaluation_settings
from metalearn_gui.export.files import ExportError, check_directory, check_file
from metalearn_gui.export.race_files import race_summary, write_race_csv, write_race_json
from metalearn_gui.interrupts import RunInterrupted, StopOnSignals
from metalearn_gui.runs_cli import PROG, add_data_dir_option, add_figure_options, open_store


def add_race_command(commands: argparse._SubParsersAction,
                     add_objective_options: Callable[[argparse.ArgumentParser, str], None],
                     positive_int: Callable[[str], int], seed: Callable[[str], int],
                     budget: Callable[[str], int]) -> None:
    race = commands.add_parser(
        "race", help="race learners side by side on one objective at equal evaluation budgets",
        description="Race learners on one objective: every entrant gets the same budget of evaluations, "
                    "over several seeds; prints the leaderboard (median best loss, or median evaluations "
                    "to --target once reached). Entrants: --learners (each with its defaults) and/or "
                    "--entrant \"LEARNER NAME=VALUE …\" (the same learner with different values), or "
                    "--config FILE (a config.json written by --export) to repeat a race.")
    race.add_argument("--learners", metavar="L1,L2,…",
                      help=f"learners to race with their default values ({', '.join(LEARNER_NAMES)})")
    race.add_argument("--entrant", dest="entrants", action="append", default=[], metavar='"LEARNER NAME=VALUE …"',
                      help="an entrant with its own values, e.g. \"genetic sigma=0.3 population=50\" (repeatable)")
    add_objective_options(race, "required unless --config is given")
    race.add_argument("--dim", type=positive_int, metavar="D", help="dimension of θ (default: the objective's)")
    race.add_argument("--seeds", type=positive_int, metavar="N",
                      help=f"runs per entrant, with seeds S … S+N−1 (default {DEFAULT_SEEDS})")
    race.add_argument("--seed", type=seed, metavar="S", help="the first seed (default 0)")
    race.add_argument("--budget", type=budget, metavar="EVALUATIONS",
                      help=f"evaluations per run, the same for every entrant: a step that would cross it is "
                           f"not taken (default {BUDGET_PER_DIM} × D)")
    race.add_argument("--target", type=_target, metavar="T",
                      help="a loss to reach: the leaderboard counts the evaluations each run took to first "
                           "get its best loss ≤ T, and ranks by their median once reached (default: none)")
    race.add_argument("--set", dest="settings", action="extend", nargs="+", default=[],
                      metavar="LEARNER.NAME=VALUE", help="a value for every entrant of that learner (an "
                                                         "--entrant's own values win)")
    race.add_argument("--config", type=Path, metavar="FILE",
                      help="repeat the race in FILE (an export's config.json); --dim, --seeds, --seed, "
                           "--budget and --target override its values")
    race.add_argument("--json", type=Path, metavar="PATH", help="write the leaderboard as JSON")
    race.add_argument("--csv", type=Path, metavar="PATH",
                      help="write every run's rows: entrant, seed, evaluations, loss, best_loss, seconds")
    race.add_argument("--export", type=Path, metavar="DIR",
                      help="write race.csv, race.json, config.json and the loss-vs-evaluations figure "
                           "(median and interquartile band per entrant; PNG and SVG) into DIR")
    add_figure_options(race)
    race.add_argument("--quiet", action="store_true", help="no progress line per finished run")
    add_data_dir_option(race)
    race.add_argument("--no-store", action="store_true", help="do not keep the runs in the run store")
    add_evaluation_options(race)


def _target(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def race_command(args: argparse.Namespace, out: IO[str]) -> int:
    """Run the race ``args`` describe; returns the exit status."""
    config = _race_config(args) if args.config is None else _config_from_file(args)
    race_events = _Progress(args.quiet, config.budget)
    for option, path in (("--csv", args.csv), ("--json", args.json)):
        if path is not None:
            _checked(option, check_file, path)
    if args.export is not None:
        _checked("--export", check_directory, args.export)
    evaluation = evaluation_settings(args)
    race = Race(config, race_events, data_dir=None if args.no_store else resolve_data_dir(args.data_dir))
    for session in race.sessions:
        session.set_evaluation(evaluation)
    if not args.no_store:
        open_store(args.data_dir).close()  # fails now if it cannot be used, and tells what it repaired
    for label, reason in race.refused.items():
        print(f"{PROG}: entrant {label!r} cannot race: {reason}", file=sys.stderr)
    with StopOnSignals() as stop:
        try:
            standings = run_race(race, between_rounds=stop.checkpoint)
        except RunInterrupted as interruption:
            race.stop()
            done = sum(map(len, race.results)) - sum(run.status is Status.STOPPED
                                                     for runs in race.results for run in runs)
            print(f"{PROG}: race stopped after {done} of {race.total_runs} runs ({interruption.signal_name})"
                  f"{_stored(race, '; ')}", file=sys.stderr)
            return interruption.exit_status
    out.write(leaderboard_table(standings, config))
    if race.race_id is not None:
        out.write(_stored(race, "") + "\n")
    summary = race_summary(race, standings)
    if args.json is not None:
        _checked("--json", write_race_json, summary, args.json)
    if args.csv is not None:
        _checked("--csv", write_race_csv, standings, args.csv)
    if args.export is not None:
        from metalearn_gui.export.race_bundle import write_race_export  # Qt: only when exporting

        paths = _checked("--export", write_race_export, race, standings, summary, args.export,
                         scale=args.scale, log_x=args.log_x)
        if not args.quiet:
            print(f"  exported    {len(paths)} files to {args.export}", file=out)
    failed = any(run.status is Status.FAILED for standing in standings for run in standing.runs)
    return 1 if failed else 0


def _checked(option: str, action: Callable[..., Any], *arguments: Any, **options: Any) -> Any:
    """``action(*arguments)``; an :class:`ExportError` becomes a one-line :class:`ConfigError` naming ``option``."""
    try:
        return action(*arguments, **options)
    except ExportError as error:
        raise ConfigError(f"{option} {error}") from None


class _Progress:
    """A line on stderr per finished run (unless quiet); failures and notices always."""

    def __init__(self, quiet: bool, budget: int) -> None:
        self.quiet, self.budget = quiet, budget

    def __call__(self, event: RaceEvent) -> None:
        if isinstance(event, EntrantEvent) and isinstance(event.event, Notice):
            print(f"{PROG}: {event.event.message}", file=sys.stderr)
        if not isinstance(event, RunFinished):
            return
        run = event.result
        where = f"{run.entrant!r}, seed {run.seed}"
        if run.status in (Status.FAILED, Status.DIVERGED):
            print(f"{PROG}: {where}: {run.message}", file=sys.stderr)
        if run.evaluations > self.budget:
            print(f"{PROG}: {where}: step 0 alone made {run.evaluations} evaluations, more than the budget "
                  f"{self.budget}; the run ended there", file=sys.stderr)
        if not self.quiet:
            print(f"[{event.done}/{event.total}] {where}: best {_number(run.best_loss)} after "
                  f"{run.evaluations} evaluations, {run.status} ({run.seconds:.2f} s)", file=sys.stderr)


def _race_config(args: argparse.Namespace) -> RaceConfig:
    if args.objective is None:
        raise ConfigError(f"the following arguments are required: --objective (objectives: "
                          f"{', '.join(OBJECTIVES)}, {FAMILY}), or --config FILE")
    entrants = [Entrant(name) for name in _learner_names(args.learners)]
    entrants += [parse_entrant(text) for text in args.entrants]
    if not entrants:
        raise ConfigError(f"name the entrants: --learners L1,L2,… ({', '.join(LEARNER_NAMES)}) "
                          f"and/or --entrant \"LEARNER NAME=VALUE …\", or --config FILE")
    shared = parse_settings(args.settings)
    for learner, items in shared.items():
        if all(entrant.learner != learner for entrant in entrants):
            raise ConfigError(f"--set {learner}.{items[0]}: no entrant is a {learner} learner")
    entrants = [Entrant(entrant.learner,
                        {**parse_values(entrant.learner, shared.get(entrant.learner, [])), **entrant.hyperparameters},
                        entrant.label) for entrant in entrants]
    try:
        budget = args.budget or default_budget(args.objective, args.dim)
    except ObjectiveError as error:
        raise ConfigError(str(error)) from None
    config = RaceConfig(args.objective, tuple(entrants), budget, args.dim,
                        DEFAULT_SEEDS if args.seeds is None else args.seeds, args.target,
                        0 if args.seed is None else args.seed)
    config.check("race")
    return config


def _learner_names(text: str | None) -> list[str]:
    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    for name in names:
        if name not in LEARNER_NAMES:
            raise ConfigError(f"--learners: {name!r} is not a learner; known: {', '.join(LEARNER_NAMES)}")
    return names


def _config_from_file(args: argparse.Namespace) -> RaceConfig:
    """The file's race with --dim, --seeds, --seed, --budget and --target applied over it."""
    for option, value in (("--learners", args.learners), ("--entrant", args.entrants or None),
                          ("--objective", args.objective), ("--set", args.settings or None)):
        if value is not None:
            raise ConfigError(f"{option} cannot be combined with --config (the file names the race's "
                              f"objective and entrants); edit {str(args.config)!r} instead")
    loaded = RaceConfig.load(args.config)
    warning = loaded.source_warning()
    if warning:
        print(f"{PROG}: {warning}", file=sys.stderr)
    data = loaded.to_dict()
    overrides = {"dim": args.dim, "seeds": args.seeds, "seed": args.seed, "budget": args.budget,
                 "target": args.target}
    data.update({key: value for key, value in overrides.items() if value is not None})
    return RaceConfig.from_dict(data, origin=str(args.config))


# -- the table ---------------------------------------------------------------------------
def leaderboard_table(standings: list[Standing], config: RaceConfig) -> str:
    """The ranked entrants, one line each, under a line saying what was raced."""
    objective = make_objective(config.objective, config.dim)
    seeds = config.seed_values
    seed_text = f"seeds {seeds[0]}…{seeds[-1]}" if len(seeds) > 1 else f"seed {seeds[0]}"
    title = f"race on {objective.name} ({objective.dim}-D), {config.budget:,} evaluations per run, {seed_text}"
    if config.target is not None:  # a loss, not a gap: the optimum beside it says where the floor is
        optimum = objective.optimum_value
        title += f", target {config.target:g}" + ("" if optimum is None else f" (optimum {optimum:g})")
    header = ("#", "entrant", "median best", "reached", "evals to target", "evaluations", "seconds", "evals/s",
              "status")
    rows = []
    for rank, standing in enumerate(standings, 1):
        runs = standing.runs
        target = config.target is not None
        rows.append((
            str(rank), standing.entrant.label, _number(standing.median_best_loss),
            f"{standing.reached} of {standing.planned}" if target else "—",
            _number(standing.median_evaluations_to_target) if target else "—",
            _number(_median([run.evaluations for run in runs])),
            f"{sum(standing.seconds):.2f}",
            _number(standing.evaluations_per_second),
            _statuses([run.status for run in runs]),
        ))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    numeric = {0, 2, 3, 4, 5, 6, 7}
    lines = ["  ".join(cell.rjust(width) if i in numeric else cell.ljust(width)
                       for i, (cell, width) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in [header, *rows]]
    return "\n".join([title, *lines]) + "\n"


def _statuses(statuses: list[Status]) -> str:
    """``finished`` when all runs say so, else ``finished 4, diverged 1``."""
    counts = {status: statuses.count(status) for status in dict.fromkeys(statuses)}
    if len(counts) == 1:
        return str(statuses[0])
    return ", ".join(f"{status} {count}" for status, count in counts.items())


def _median(values: list[int]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def _stored(race: Race, lead: str) -> str:
    if race.race_id is None:
        return ""
    return f"{lead}stored as race {race.race_id} (`{PROG} runs list`)"
