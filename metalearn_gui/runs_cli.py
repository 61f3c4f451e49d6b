"""The run store on the command line: ``runs list|show|export|delete``.

Store problems a user can fix (an unwritable data folder, an unknown run id) are
:class:`StoreError`s, which :func:`metalearn_gui.cli.main` prints as one line (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from metalearn_gui.core.record import RunRecord, local_time
from metalearn_gui.core.store import ENV_DATA_DIR, RaceInfo, RunInfo, RunStore

PROG = "metalearn-gui"


def add_data_dir_option(parser: argparse.ArgumentParser, default: Any = None) -> None:
    parser.add_argument("--data-dir", type=Path, metavar="DIR", default=default,
                        help=f"folder of the run store (default: ${ENV_DATA_DIR}, else the "
                             "platform's application-data folder)")


def add_figure_options(parser: argparse.ArgumentParser) -> None:
    """How exported figures are drawn: ``--scale`` and ``--log-x``."""
    parser.add_argument("--scale", type=int, choices=(1, 2, 3, 4), default=1,
                        help="pixels per figure pixel in the exported PNGs (2 for print; default 1)")
    parser.add_argument("--log-x", action="store_true",
                        help="draw the exported figures' step axis on a log scale (as step + 1: "
                             "step 0 at 1), the usual way to look at convergence")


def add_runs_command(commands: argparse._SubParsersAction, run_id: Callable[[str], int]) -> None:
    """The ``runs`` sub-command; ``run_id`` parses an ID argument."""
    runs = commands.add_parser("runs", help="list, show, export or delete stored runs")
    add_data_dir_option(runs)
    actions = runs.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="one line per stored run")
    listing.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    show = actions.add_parser("show", help="a run's configuration, summary and hyper-parameter changes")
    show.add_argument("id", type=run_id, metavar="ID")
    export = actions.add_parser("export", help="write a run's figures and data into a folder "
                                                "(as `run --export` does)")
    export.add_argument("id", type=run_id, metavar="ID")
    export.add_argument("directory", type=Path, metavar="DIR")
    add_figure_options(export)
    delete = actions.add_parser("delete", help="remove a stored run")
    delete.add_argument("id", type=run_id, metavar="ID")
    for action in (listing, show, export, delete):  # also after the action; SUPPRESS keeps a `runs --data-dir` value
        add_data_dir_option(action, default=argparse.SUPPRESS)


def open_store(data_dir: Path | None) -> RunStore:
    """Open the store, telling on stderr what had to be repaired."""
    store = RunStore.open(data_dir)
    for message in store.messages:
        print(f"{PROG}: {message}", file=sys.stderr)
    return store


def runs_command(args: argparse.Namespace, out: IO[str]) -> int:
    with open_store(args.data_dir) as store:
        if args.runs_command == "list":
            runs = store.list_runs()
            if args.json:
                out.write(json.dumps([info.to_dict() for info in runs], indent=2) + "\n")
            else:
                races = {race.id: race for race in store.list_races()}
                out.write(_table(runs, races) if runs else f"no runs stored in {store.path}\n")
        elif args.runs_command == "show":
            out.write(_describe(store.load(args.id)))
        elif args.runs_command == "export":
            from metalearn_gui.export.bundle import write_bundle  # Qt: only when exporting

            paths = write_bundle(store.load(args.id), args.directory, scale=args.scale, log_x=args.log_x)
            out.write(f"exported run {args.id}: {len(paths)} files to {args.directory}\n")
        elif args.runs_command == "delete":
            store.delete(args.id)
            out.write(f"deleted run {args.id}\n")
    return 0


def _table(runs: list[RunInfo], races: dict[int, RaceInfo]) -> str:
    """One line per run; a race's runs together under a line naming the race, indented, with
    their entrant's label for a learner."""
    header = ("id", "learner", "objective", "dim", "seed", "best loss", "steps", "status", "date", "source")
    indent = "  " if any(info.race_id is not None for info in runs) else ""
    groups: dict[int | None, list[RunInfo]] = {}
    for info in runs:  # a race's place is its first run's
        groups.setdefault(info.race_id if info.race_id is not None else -info.id, []).append(info)
    lines: list[tuple[str, ...] | str] = []
    for key, members in groups.items():
        race = races.get(key) if key is not None and key > 0 else None
        if race is not None:
            lines.append(_race_line(race, members))
        for info in members:
            lines.append((indent + str(info.id) if race is not None else str(info.id),
                          info.entrant if race is not None and info.entrant else info.learner, info.objective,
                          str(info.dim), str(info.seed), _number(info.best_loss), str(info.steps), info.status,
                          local_time(info.created), info.source))
    rows = [line for line in lines if isinstance(line, tuple)]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    numeric = {3, 4, 5, 6} | (set() if indent else {0})  # right-aligned columns; a race's ids stand indented
    return "".join(
        (line if isinstance(line, str) else
         "  ".join(cell.rjust(width) if i in numeric else cell.ljust(width)
                   for i, (cell, width) in enumerate(zip(line, widths, strict=True))).rstrip()) + "\n"
        for line in [header, *lines])


def _race_line(race: RaceInfo, runs: list[RunInfo]) -> str:
    config = race.config
    entrants = len({info.entrant for info in runs})
    seeds = len({info.seed for info in runs})
    return (f"race {race.id}: {entrants} entrant{'s' * (entrants != 1)} × {seeds} seed{'s' * (seeds != 1)} "
            f"on {config.get('objective')}, {config.get('budget')} evaluations per run, "
            f"{local_time(race.created)}")


def _describe(record: RunRecord) -> str:
    config, summary = record.config, record.summary
    lines = [
        f"run {record.id}: {config.learner} on {config.objective} (dim {record.history.dim}), "
        f"seed {config.seed}, {record.status}",
        f"  created     {local_time(record.created)}",
        f"  history     {len(record.history)} rows stored of {record.history.rows_seen}",
        *([f"  race        {record.race.race_id}, entrant {record.race.entrant!r}"] if record.race else []),
        "configuration:",
        _indent(json.dumps(config.to_dict(), indent=2)),
        "summary:",
        _indent(json.dumps(summary.to_dict(), indent=2)) if summary else "  (none: the run did not end normally)",
        "hyper-parameter changes:",
    ]
    changes = [f"  step {change.step}: {change.name} {change.old!r} → {change.new!r}" for change in record.changes]
    lines += changes or ["  (none)"]
    return "\n".join(lines) + "\n"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"


