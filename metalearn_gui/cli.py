"""Command line: ``metalearn-gui [run|list] …``; no sub-command opens the window.

User mistakes end with exit status 2 and one line on stderr naming the bad value
and what is allowed, checked before any work starts; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import IO, Sequence

import numpy as np

from metalearn_gui import __version__
from metalearn_gui.core.learners import LEARNER_NAMES, Chunk, Learner, Status, learner_class
from metalearn_gui.core.objectives import OBJECTIVES, make_objective
from metalearn_gui.core.record import RunRecord
from metalearn_gui.core.run import RunConfig, run_to_end, summarize

PROG = "metalearn-gui"


class UsageError(Exception):
    """A user mistake; its message is the one line we print."""


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's hook; it must not return
        if "required: --learner" in message or "required: --objective" in message:
            message += (f" (learners: {', '.join(LEARNER_NAMES)}; "
                        f"objectives: {', '.join(OBJECTIVES)})")
        raise UsageError(message)


def _positive_int(text: str) -> int:
    """argparse type; argparse prefixes the message with the option's name."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=PROG,
        description="A desktop strategy lab for meta-learning. Without a sub-command it opens "
                    "the window; sub-commands run learners headless.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run a learner on an objective without a window")
    run.add_argument("--learner", required=True, choices=LEARNER_NAMES)
    run.add_argument("--objective", required=True, choices=tuple(OBJECTIVES), metavar="NAME",
                     help=f"one of: {', '.join(OBJECTIVES)}")
    run.add_argument("--dim", type=_positive_int, metavar="D",
                     help="dimension of θ (default: the objective's)")
    run.add_argument("--steps", type=_positive_int, default=1000, metavar="N",
                     help="steps to run (generations for genetic; default 1000)")
    run.add_argument("--seed", type=_integer, default=0, metavar="S")
    run.add_argument("--set", dest="settings", action="extend", nargs="+", default=[],
                     metavar="NAME=VALUE", help="hyper-parameters (see `list`)")
    run.add_argument("--csv", type=Path, metavar="PATH",
                     help="write one row per step: step,loss,best_loss,evaluations,theta_0,…")
    run.add_argument("--json", type=Path, metavar="PATH", help="write the run's summary")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no summary")

    commands.add_parser("list", help="list learners (with hyper-parameters) and objectives")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "run":
            return _run(args)
        if args.command == "list":
            _list(sys.stdout)
            return 0
        return launch_gui()
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2


def launch_gui() -> int:
    """Open the desktop app (Qt is imported only here, so headless commands stay light)."""
    _check_display()
    from metalearn_gui.app import launch

    return launch()


def _check_display() -> None:
    """Without a display Qt aborts the process with a core dump; say what to do instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise UsageError("no display to open the window on (DISPLAY is not set); run it in a "
                         "desktop session, or use `metalearn-gui run …` to learn without a window")


# -- run -------------------------------------------------------------------------------
def _run(args: argparse.Namespace) -> int:
    config = RunConfig(
        learner=args.learner,
        objective=args.objective,
        dim=args.dim,
        steps=args.steps,
        seed=args.seed,
        hyperparameters=_parse_settings(args.learner, args.settings),
    )
    try:
        learner = config.build()
    except ValueError as error:
        raise UsageError(str(error)) from None
    for option, path in (("--csv", args.csv), ("--json", args.json)):
        if path is not None:
            _check_writable(option, path)

    from tqdm import tqdm

    progress = tqdm(total=config.steps, file=sys.stderr, unit="step", disable=args.quiet,
                    desc=f"{learner.name} on {learner.objective.name}", dynamic_ncols=True)
    csv_file = args.csv.open("w", encoding="utf-8") if args.csv else None
    record: RunRecord | None = None
    try:
        writer = _CsvWriter(csv_file, learner.objective.dim) if csv_file else None

        def on_chunk(chunk: Chunk) -> None:
            nonlocal record
            if record is None:
                record = RunRecord.begin(config, chunk)
            else:
                record.add(chunk)
            if writer:
                writer.write(chunk)
            if len(chunk):
                progress.update(int(chunk.step[-1]) - progress.n)
                progress.set_postfix(best=f"{chunk.best_loss[-1]:.6g}", refresh=False)

        seconds = run_to_end(learner, config.seed, on_chunk)
    finally:
        progress.close()
        if csv_file:
            csv_file.close()

    summary = summarize(learner, seconds)
    record.summary = summary
    if learner.status is Status.DIVERGED:
        print(f"{PROG}: {_divergence_line(learner)}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if not args.quiet:
        print(_format_summary(summary))
    return 0


def _parse_settings(learner_name: str, settings: list[str]) -> dict[str, object]:
    cls = learner_class(learner_name)
    values: dict[str, object] = {}
    for item in settings:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--set expects NAME=VALUE, got {item!r}")
        try:
            values[name] = cls.spec(name.strip()).parse(text)
        except ValueError as error:
            raise UsageError(str(error)) from None
    return values


def _check_writable(option: str, path: Path) -> None:
    """Fail now, not after the run, if ``path`` cannot be written."""
    if path.is_dir():
        raise UsageError(f"{option} {str(path)!r} is a directory; give a file path")
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as error:
        raise UsageError(f"{option} {str(path)!r} cannot be written: {error.strerror}") from None
    if not existed:
        os.unlink(path)


def _divergence_line(learner: Learner) -> str:
    return (f"run diverged at step {learner.diverged_at}; results up to step {learner.step} kept. "
            f"{learner.divergence_hint()}")


class _CsvWriter:
    """Streams chunks as CSV rows, so long runs never hold their history in memory."""

    def __init__(self, file: IO[str], dim: int) -> None:
        self._file = file
        header = ["step", "loss", "best_loss", "evaluations"] + [f"theta_{i}" for i in range(dim)]
        file.write(",".join(header) + "\n")
        self._format = ["%d", "%.17g", "%.17g", "%d"] + ["%.17g"] * dim

    def write(self, chunk: Chunk) -> None:
        if len(chunk) == 0:
            return
        table = np.column_stack([chunk.step, chunk.loss, chunk.best_loss, chunk.evaluations, chunk.theta])
        np.savetxt(self._file, table, fmt=self._format, delimiter=",")


def _format_summary(summary: dict) -> str:
    def num(value):
        return "n/a" if value is None else f"{value:.6g}"

    lines = [
        f"{summary['learner']} on {summary['objective']} ({summary['dim']}-D), seed {summary['seed']}: "
        f"{summary['steps']} steps, {summary['evaluations']} evaluations, "
        f"{num(summary['steps_per_second'])} steps/s",
        f"  status      {summary['status']}",
        f"  final loss  {num(summary['final_loss'])}",
        f"  best loss   {num(summary['best_loss'])}   (optimum {num(summary['optimum'])})",
    ]
    if "heldout_loss" in summary:
        lines.append(f"  held-out    {num(summary['heldout_loss'])}   "
                     f"(tuned constant baseline {num(summary['baseline_heldout_loss'])})")
    return "\n".join(lines)


# -- list ------------------------------------------------------------------------------
def _list(out: IO[str]) -> None:
    out.write("Learners (set hyper-parameters with --set NAME=VALUE):\n")
    for name in LEARNER_NAMES:
        cls = learner_class(name)
        out.write(f"\n  {name} — {cls.label}: {cls.summary}\n")
        for spec in cls.hyperparams:
            live = "" if spec.live else "  [applies on reset]"
            out.write(f"    {spec.name:<11} {spec.describe_range():<32} default {spec.default}{live}\n")
            out.write(f"    {'':<11} {spec.help}\n")
    out.write("\nObjectives (--objective NAME, --dim D):\n")
    for name, cls in OBJECTIVES.items():
        objective = make_objective(name)
        suggestions = "; ".join(
            f"{learner}: " + ", ".join(f"{k}={v}" for k, v in values.items())
            for learner, values in cls.suggested.items()
        )
        out.write(f"\n  {name} — {cls.summary}\n")
        out.write(f"    dimension {objective.dim} by default (≥ {cls.min_dim}); "
                  f"optimum {objective.describe_optimum()}\n")
        if suggestions:
            out.write(f"    its own defaults: {suggestions}\n")
    out.write("\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
