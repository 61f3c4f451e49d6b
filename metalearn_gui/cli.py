"""Command line: ``metalearn-gui [run|race|list|runs] …``; no sub-command opens the window.

User mistakes end with exit status 2 and one line on stderr naming the bad value
and what is allowed, checked before any work starts; never a traceback. A run whose
objective fails ends with exit status 1 and one line naming the step and θ, its
outputs written with every step before it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

from metalearn_gui import __version__
from metalearn_gui.core.evaluation import ObjectiveFailure
from metalearn_gui.core.executors import SettingsError
from metalearn_gui.core.hyperparams import HyperParam, Value, brief
from metalearn_gui.core.learners import LEARNER_NAMES, Chunk, Learner, Status, learner_class
from metalearn_gui.core.objectives import (
    FAMILY,
    OBJECTIVES,
    USER_SPECS,
    Objective,
    ObjectiveError,
    make_objective,
    objective_class,
    plugin_objectives,
)
from metalearn_gui.core.objectives.bbob import BBOB_FUNCTIONS, MAX_INSTANCE, BBOBObjective, bbob_name
from metalearn_gui.core.objectives.user import COMMAND_PREFIX, FORMULA_PREFIX, PLUGIN_GROUP, Plugin, canonical_spec
from metalearn_gui.core.race_config import parse_values
from metalearn_gui.core.record import RunRecord
from metalearn_gui.core.recorder import RunRecorder
from metalearn_gui.core.run import MAX_EVALUATIONS, MAX_SEED, MAX_STEPS, ConfigError, RunConfig, run_to_end, summarize
from metalearn_gui.core.store import StoreError
from metalearn_gui.core.summary import RunSummary
from metalearn_gui.core.tf_runtime import tf_loaded
from metalearn_gui.display import display_problem
from metalearn_gui.evaluation_cli import FailureTally, add_evaluation_options, evaluation_settings
from metalearn_gui.export.files import ExportError, check_directory, check_file
from metalearn_gui.export.table import CsvWriter
from metalearn_gui.interrupts import STOP_STATUSES, RunInterrupted, StopOnSignals, exit_at_once
from metalearn_gui.race_cli import add_race_command, race_command
from metalearn_gui.runs_cli import (
    add_data_dir_option,
    add_figure_options,
    add_runs_command,
    open_store,
    runs_command,
)

if TYPE_CHECKING:  # imported when the bar starts
    from tqdm import tqdm

PROG = "metalearn-gui"
DEFAULT_STEPS = 1000
DEFAULT_SEED = 0


class UsageError(Exception):
    """A user mistake; its message is the one line we print."""


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's hook; it must not return
        raise UsageError(message)


def _integer_from(minimum: int, wanted: str, maximum: int | None = None):
    """An argparse type for integers in ``minimum`` … ``maximum``; argparse prefixes the option's name."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {brief(text)}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {brief(value)}")
        return value

    return parse


_positive_int = _integer_from(1, "a positive integer")
_steps = _integer_from(1, "a positive integer", MAX_STEPS)
_seed = _integer_from(0, "a non-negative integer", MAX_SEED)
_budget = _integer_from(1, "a positive integer", MAX_EVALUATIONS)


def _objective_name(text: str) -> str:
    """An argparse type: a registered objective, a BBOB function instance or a user's spec
    (a file's path made absolute, so that a recorded configuration finds it from anywhere)."""
    try:
        objective_class(text)
        spec = canonical_spec(text)
        objective_class(spec)
    except ObjectiveError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return spec


def add_objective_options(parser: argparse.ArgumentParser, required: str) -> None:
    """``--objective`` and its sugar ``--objective-cmd`` / ``--objective-formula`` (one of them;
    ``required``: when, for the help)."""
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--objective", type=_objective_name, metavar="NAME",
                        help=f"one of: {', '.join(OBJECTIVES)}, COCO's {FAMILY} (e.g. bbob-f08-i01), or "
                             f"your own: {USER_SPECS} (see `list`); {required}")
    chosen.add_argument("--objective-cmd", dest="objective", metavar="CMD",
                        type=lambda text: _objective_name(COMMAND_PREFIX + text),
                        help="an external command as the objective, run once per θ (no shell): it reads "
                             '{"theta": [...], "seed": null} as one line of JSON on stdin and prints the loss '
                             "as the last line of its stdout; same as --objective 'command:CMD'")
    chosen.add_argument("--objective-formula", dest="objective", metavar="EXPR",
                        type=lambda text: _objective_name(FORMULA_PREFIX + text),
                        help="a formula of θ as the objective, e.g. \"sum(x**2) + 0.1*sin(5*x0)\"; "
                             "same as --objective 'formula:EXPR'")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=PROG,
        description="A desktop strategy lab for meta-learning. Without a sub-command it opens "
                    "the window; sub-commands run learners headless.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--data-dir", type=Path, metavar="DIR", dest="global_data_dir",
                        help="the run-history folder, for the window and every sub-command (default: "
                             "$METALEARN_GUI_DATA_DIR, else the platform's application-data folder)")
    parser.add_argument("--smoke", action="store_true",
                        help="check this installation: open the window offscreen, run each learner a "
                             "few steps, print one line and exit 0 (1 with what failed); takes ~20 s")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run", help="run a learner on an objective without a window",
        description="Run a learner on an objective without a window. Give --learner and --objective, "
                    "or --config FILE (a config.json written by --export or the window) to run it again: "
                    "then --dim, --steps, --budget, --seed and --set override the file's values, and "
                    "--learner/--objective are refused (they would not fit its hyper-parameters).")
    run.add_argument("--learner", choices=LEARNER_NAMES, help="required unless --config is given")
    add_objective_options(run, "required unless --config is given")
    run.add_argument("--config", type=Path, metavar="FILE",
                     help="run the configuration in FILE; other flags override its values")
    run.add_argument("--dim", type=_positive_int, metavar="D",
                     help="dimension of θ (default: the objective's)")
    run.add_argument("--steps", type=_steps, metavar="N",
                     help=f"steps to run (generations for genetic; default {DEFAULT_STEPS} without "
                          "--budget, or the config file's)")
    run.add_argument("--budget", type=_budget, metavar="EVALUATIONS",
                     help="at most this many true evaluations of the objective: the run finishes "
                          "before a step would exceed it (with --steps, whichever comes first)")
    run.add_argument("--seed", type=_seed, metavar="S",
                     help=f"random seed (default {DEFAULT_SEED}, or the config file's)")
    run.add_argument("--set", dest="settings", action="extend", nargs="+", default=[],
                     metavar="NAME=VALUE", help="hyper-parameters (see `list`)")
    run.add_argument("--csv", type=Path, metavar="PATH",
                     help="write one row per step: step,loss,best_loss,evaluations,theta_0,…")
    run.add_argument("--json", type=Path, metavar="PATH", help="write the run's summary")
    run.add_argument("--export", type=Path, metavar="DIR",
                     help="after the run, write its figures (loss, theta, landscape as PNG and SVG), "
                          "history.csv, config.json, summary.json and manifest.json into DIR "
                          "(created if missing; files of the same names are replaced)")
    add_figure_options(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    add_data_dir_option(run)
    run.add_argument("--no-store", action="store_true",
                     help="do not keep the run in the run store (see `runs list`)")
    run.add_argument("--tensorboard", type=Path, metavar="DIR",
                     help="also log loss, best loss, θ and hyper-parameter changes as TensorBoard "
                          "scalars under DIR (view with `tensorboard --logdir DIR`)")
    add_evaluation_options(run)

    listing = commands.add_parser("list", help="list learners (with hyper-parameters) and objectives")
    listing.add_argument("--json", action="store_true",
                         help="write them as JSON for scripts (learners with their hyper-parameters' "
                              "ranges and defaults; objectives with kind, D, bounds and optimum)")
    add_race_command(commands, add_objective_options, _positive_int, _seed, _budget)
    add_runs_command(commands, _positive_int)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "data_dir", None) is None:  # `--data-dir` before the sub-command
            args.data_dir = args.global_data_dir
        if args.smoke:
            return _smoke(args)
        if args.command == "list":
            (_list_json if args.json else _list)(sys.stdout)
            return 0
        if args.command == "runs":
            return runs_command(args, sys.stdout)
        if args.command == "race":
            status = race_command(args, sys.stdout)
        else:
            status = _run(args) if args.command == "run" else launch_gui(args.data_dir)
        if status in STOP_STATUSES and argv is None and tf_loaded():
            # A stop signal ended the run or the window, and everything is written: skip
            # TensorFlow's seconds of teardown. argv None: this process is the command.
            exit_at_once(status)
        return status
    except (UsageError, ConfigError, StoreError, ExportError, SettingsError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`metalearn-gui list | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 1


def _smoke(args: argparse.Namespace) -> int:
    if args.command is not None or args.data_dir is not None:
        raise UsageError("--smoke takes no other options or sub-command (it runs in a scratch data folder)")
    from metalearn_gui.smoke import main as smoke

    return smoke()


def launch_gui(data_dir: Path | None = None) -> int:
    """Open the desktop app (Qt is imported only here, so headless commands stay light)."""
    problem = display_problem()  # where Qt would abort the process instead of raising
    if problem:
        raise UsageError(problem)
    from metalearn_gui.app import launch

    return launch(data_dir=data_dir)


# -- run -------------------------------------------------------------------------------
def _run(args: argparse.Namespace) -> int:
    config = _run_config(args) if args.config is None else _config_from_file(args)
    try:
        learner = config.build()
    except ValueError as error:
        raise UsageError(str(error)) from None
    for option, path in (("--csv", args.csv), ("--json", args.json)):
        if path is not None:
            _check_writable(option, path)
    if args.export is not None:
        with _path_errors("--export"):
            check_directory(args.export)
    if args.tensorboard is not None:
        with _path_errors("--tensorboard"):
            check_directory(args.tensorboard)
    learner.evaluator.use(evaluation_settings(args))
    failures = FailureTally()
    store = None if args.no_store else open_store(args.data_dir)
    recorder = RunRecorder(config, learner, "cli", store, args.tensorboard,
                           on_warning=lambda message: print(f"{PROG}: {message}", file=sys.stderr))
    progress = ProgressBar(config.steps, f"{learner.name} on {learner.objective.name}", args.quiet)
    csv_file = args.csv.open("w", encoding="utf-8") if args.csv else None
    with StopOnSignals() as stop:
        # A user's objective that never answers is waited for in polls: a signal stops it there.
        learner.evaluator.abandon = stop.signalled
        try:
            writer = CsvWriter(csv_file, learner.objective.dim) if csv_file else None

            def on_chunk(chunk: Chunk) -> None:
                recorder.add(chunk)
                failures.take(learner.evaluator)
                if writer:
                    writer.write(chunk)
                progress.show(chunk)
                stop.checkpoint()  # a signal during the chunk stops the run here, the chunk recorded

            seconds = run_to_end(learner, config.seed, on_chunk)
            summary = summarize(learner, seconds)
            recorder.finish(summary)
        except (RunInterrupted, KeyboardInterrupt) as interruption:
            progress.close()
            if not isinstance(interruption, RunInterrupted):  # signal handlers not installed
                interruption = RunInterrupted(signal.SIGINT)
            return _stopped(learner, recorder, progress.seconds(), interruption)
        except ObjectiveFailure as failure:  # at step 0, in the reset: nothing to keep
            progress.close()
            print(f"{PROG}: run failed: {failure}", file=sys.stderr)
            return 1
        finally:
            progress.close()
            learner.evaluator.close()
            if csv_file:
                csv_file.close()
            if store is not None:
                store.close()

    record = recorder.record
    assert record is not None, "the recorder has the step-0 chunk"
    if config.budget is not None and learner.step == 0 and learner.evaluations > config.budget:
        print(f"{PROG}: step 0 alone made {learner.evaluations} evaluations, more than --budget "
              f"{config.budget}; the run ended there", file=sys.stderr)
    if failures.line() is not None and learner.status is not Status.FAILED:  # a failed run says it in one line
        print(f"{PROG}: {failures.line()}", file=sys.stderr)
    if learner.status is Status.DIVERGED:
        print(f"{PROG}: {_divergence_line(learner)}", file=sys.stderr)
    elif learner.status is Status.FAILED:  # the outputs below still hold every step before it
        print(f"{PROG}: run failed: {learner.failure}; results up to step {learner.step} kept", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(summary.to_dict(), indent=2) + "\n", encoding="utf-8")
    if not args.quiet:
        print(_format_summary(summary) + _stored_line(recorder, "\n  "))
    if args.export is not None:
        _export(record, args.export, args)
    return 1 if learner.status is Status.FAILED else 0


def _stopped(learner: Learner, recorder: RunRecorder, seconds: float, interruption: RunInterrupted) -> int:
    """Keep the run as ``stopped`` with every step it made; one line; 128 + the signal's number."""
    if recorder.record is not None:  # else it stopped before its first step: nothing to keep
        recorder.finish(summarize(learner, seconds), Status.STOPPED)
    with contextlib.suppress(OSError):  # SIGHUP: the terminal may be gone
        print(f"{PROG}: stopped at step {learner.step} ({interruption.signal_name})"
              f"{_stored_line(recorder, '; ')}", file=sys.stderr)
    return interruption.exit_status


class ProgressBar:
    """tqdm's bar on stderr, started with the learner's first chunk: its reset may load
    TensorFlow for seconds, which is not the run's speed."""

    def __init__(self, total: int | None, description: str, quiet: bool) -> None:
        self.total, self.description, self.quiet = total, description, quiet  # total None: until stopped
        self.bar: tqdm | None = None
        self.started: float | None = None  # when the learner was ready

    def seconds(self) -> float:
        """Since the learner was ready (0 before)."""
        return 0.0 if self.started is None else time.perf_counter() - self.started

    def show(self, chunk: Chunk) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.started = time.perf_counter()
            self.bar = tqdm(total=self.total, file=sys.stderr, unit="step", disable=self.quiet,
                            desc=self.description, dynamic_ncols=True)
        if len(chunk):
            self.bar.update(int(chunk.step[-1]) - self.bar.n)
            self.bar.set_postfix(best=f"{chunk.best_loss[-1]:.6g}", refresh=False)

    def close(self) -> None:
        """Print the bar's last state once (tqdm's close is idempotent too)."""
        if self.bar is not None:
            self.bar.close()


def _stored_line(recorder: RunRecorder, lead: str) -> str:
    """Where the run is stored (empty if it is not)."""
    if recorder.run_id is None or recorder.store is None:
        return ""
    return f"{lead}stored as run {recorder.run_id} (`{PROG} runs show {recorder.run_id}`)"


def _run_config(args: argparse.Namespace) -> RunConfig:
    missing = [option for option, value in (("--learner", args.learner), ("--objective", args.objective))
               if value is None]
    if missing:
        raise UsageError(f"the following arguments are required: {', '.join(missing)} "
                         f"(learners: {', '.join(LEARNER_NAMES)}; objectives: {', '.join(OBJECTIVES)}, "
                         f"{FAMILY}), "
                         "or --config FILE")
    return RunConfig(
        learner=args.learner,
        objective=args.objective,
        dim=args.dim,
        # A budget alone bounds the run; without either, DEFAULT_STEPS do.
        steps=DEFAULT_STEPS if args.steps is None and args.budget is None else args.steps,
        seed=DEFAULT_SEED if args.seed is None else args.seed,
        hyperparameters=_parse_settings(args.learner, args.settings),
        budget=args.budget,
    )


def _config_from_file(args: argparse.Namespace) -> RunConfig:
    """The file's configuration with --dim, --steps, --seed and --set applied over it."""
    for option, value in (("--learner", args.learner), ("--objective", args.objective)):
        if value is not None:
            raise UsageError(f"{option} cannot be combined with --config (the file names the learner "
                             f"and objective its hyper-parameters are for); edit {str(args.config)!r} instead")
    try:
        loaded = RunConfig.load(args.config)
        warning = loaded.source_warning()
        if warning:
            print(f"{PROG}: {warning}", file=sys.stderr)
        data = loaded.to_dict()
        overrides = {"dim": args.dim, "steps": args.steps, "seed": args.seed, "budget": args.budget}
        data.update({key: value for key, value in overrides.items() if value is not None})
        data["hyperparameters"].update(_parse_settings(data["learner"], args.settings))
        config = RunConfig.from_dict(data, origin=str(args.config))
    except ConfigError as error:
        raise UsageError(str(error)) from None
    if config.steps is None and config.budget is None:
        raise UsageError(f"{args.config}: \"steps\" is null (a run from the window has no step budget); "
                         "give --steps N or --budget EVALUATIONS")
    return config


@contextmanager
def _path_errors(option: str) -> Iterator[None]:
    """A path that cannot be written is a user mistake: one line naming the option, exit 2."""
    try:
        yield
    except ExportError as error:
        raise UsageError(f"{option} {error}") from None


def _export(record: RunRecord, directory: Path, args: argparse.Namespace) -> None:
    """Write the bundle (drawn as ``--scale`` and ``--log-x`` say); a failure now (disk
    full…) still exits 2 with one line, and the run's other outputs are already written."""
    from metalearn_gui.export.bundle import write_bundle  # Qt: imported only when exporting

    with _path_errors("--export"):
        paths = write_bundle(record, directory, scale=args.scale, log_x=args.log_x)
    if not args.quiet:
        print(f"  exported    {len(paths)} files to {directory}")


def _parse_settings(learner_name: str, settings: list[str]) -> dict[str, Value]:
    try:
        return parse_values(learner_name, settings)
    except ConfigError as error:
        raise UsageError(str(error)) from None


def _check_writable(option: str, path: Path) -> None:
    """Fail now, not after the run, if ``path`` cannot be written."""
    with _path_errors(option):
        check_file(path)


def _divergence_line(learner: Learner) -> str:
    return f"run {learner.divergence} Results up to step {learner.step} kept."


def _format_summary(summary: RunSummary) -> str:
    def num(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.6g}"

    lines = [
        f"{summary.learner} on {summary.objective} ({summary.dim}-D), seed {summary.seed}: "
        f"{summary.steps} steps, {summary.evaluations} evaluations, {num(summary.steps_per_second)} steps/s",
        f"  status      {summary.status}",
        f"  final loss  {num(summary.final_loss)}",
        f"  best loss   {num(summary.best_loss)}   (optimum {num(summary.optimum)})",
    ]
    if summary.evaluated_on is not None:
        lines.append(f"  evaluated   on {summary.evaluated_on}")
    if summary.baseline_heldout_loss is not None:
        lines.append(f"  held-out    loss {num(summary.heldout_loss)}   "
                     f"(reference baseline {num(summary.baseline_heldout_loss)})")
    if summary.baseline_heldout_accuracy is not None:
        lines.append(f"  held-out    accuracy {num(summary.heldout_accuracy)}   "
                     f"(reference baseline {num(summary.baseline_heldout_accuracy)})")
    return "\n".join(lines)


# -- list ------------------------------------------------------------------------------
def _list(out: IO[str]) -> None:
    out.write("Learners (set hyper-parameters with --set NAME=VALUE):\n")
    for name in LEARNER_NAMES:
        learner_type = learner_class(name)
        needs = f" (needs a {' and '.join(sorted(learner_type.requires))} objective)" if learner_type.requires else ""
        out.write(f"\n  {name} — {learner_type.label}: {learner_type.description}{needs}\n")
        for spec in learner_type.hyperparams:
            live = "" if spec.live else "  [applies on reset]"
            out.write(f"    {spec.name:<11} {spec.describe_range():<32} default {spec.default}{live}\n")
            out.write(f"    {'':<11} {spec.help}\n")
    out.write("\nObjectives (--objective NAME, --dim D):\n")
    for name, objective_type in OBJECTIVES.items():
        _describe_objective(out, name, objective_type)
    plugged = plugin_objectives()
    if plugged:
        out.write(f"\nPlugin objectives (installed packages' entry points, group {PLUGIN_GROUP}):\n")
    for plugin, found in plugged:
        if isinstance(found, ObjectiveError):
            out.write(f"\n  {plugin.name} — cannot be loaded: {found}\n    {plugin.origin()}\n")
        else:
            _describe_objective(out, plugin.name, found, plugin.origin())
    out.write("\nYour own objectives (black boxes; dimension from --dim, default 10, and bounds [−5, 5] "
              "unless declared):\n"
              "  --objective path/to/file.py:FUNCTION or --objective package.module:FUNCTION\n"
              "      a Python function of θ (a numpy vector) returning a float; declare its dim, bounds, names,\n"
              "      batched, noisy, optimum with @metalearn_gui.objective(...) or attributes of the function\n"
              "  --objective-cmd \"CMD\"   a command run once per θ: one line of JSON {\"theta\": [...], "
              "\"seed\": null}\n"
              "      on stdin, the loss as the last line of its stdout\n"
              "  --objective-formula \"EXPR\"   a formula of θ, e.g. \"sum(x**2) + 0.1*sin(5*x0)\"\n")
    out.write(f"\nCOCO BBOB functions: {FAMILY} is function NN (01 … 24), instance NN (01 … {MAX_INSTANCE}),\n"
              f"  e.g. bbob-f08-i01; dimension {BBOBObjective.default_dim} by default, "
              f"any D ≥ {BBOBObjective.min_dim}; bounds [−5, 5]^D;\n"
              "  black boxes, each instance with its known optimum:\n")
    for function, title in BBOB_FUNCTIONS.items():
        out.write(f"  f{function:02d}  {title}\n")
    out.write("\n")


def _describe_objective(out: IO[str], name: str, objective_type: type[Objective], origin: str | None = None) -> None:
    try:
        objective = objective_type()
    except Exception as error:  # noqa: BLE001 - a plugin's own class: named, the listing goes on
        out.write(f"\n  {name} — cannot be built: {type(error).__name__}: {error}\n")
        return
    suggestions = "; ".join(
        f"{learner}: " + ", ".join(f"{k}={v}" for k, v in values.items())
        for learner, values in objective_type.suggested.items()
    )
    out.write(f"\n  {name} — {objective_type.description}\n")
    if origin:
        out.write(f"    {origin}\n")
    low, high = objective.bounds
    out.write(f"    dimension {objective.dim} by default ({objective_type.min_dim} … {objective_type.max_dim}); "
              f"bounds [{low:g}, {high:g}]; optimum {objective.describe_optimum()}\n")
    out.write(f"    kind: {', '.join(objective.capabilities())}\n")
    names = objective.coordinate_names()
    if names != Objective.coordinate_names(objective):  # the objective gives θ's coordinates meaning
        shown = ", ".join(names[:LISTED_COORDINATES])
        more = f", … ({len(names):,} in all)" if len(names) > LISTED_COORDINATES else ""
        out.write(f"    coordinates: {shown}{more}\n")
    if suggestions:
        out.write(f"    its own defaults: {suggestions}\n")


def _list_json(out: IO[str]) -> None:
    """What ``list`` shows, as JSON for scripts."""
    learners = [{
        "name": name, "label": cls.label, "description": cls.description, "requires": sorted(cls.requires),
        "hyperparameters": [_spec_json(spec) for spec in cls.hyperparams],
    } for name, cls in ((name, learner_class(name)) for name in LEARNER_NAMES)]
    objectives = [_objective_json(cls()) for cls in OBJECTIVES.values()]
    objectives += [_objective_json(make_objective(bbob_name(function, 1))) for function in BBOB_FUNCTIONS]
    objectives += [_plugin_json(plugin, found) for plugin, found in plugin_objectives()]
    family = {"pattern": FAMILY, "functions": {f"f{number:02d}": title for number, title in BBOB_FUNCTIONS.items()},
              "instances": [1, MAX_INSTANCE], "min_dim": BBOBObjective.min_dim,
              "note": f"every function has instances 1 … {MAX_INSTANCE} (bbob-fNN-i01 … bbob-fNN-i{MAX_INSTANCE}) "
                      f"in any D ≥ {BBOBObjective.min_dim}; the optimum value differs per instance and D"}
    json.dump({"version": __version__, "learners": learners, "objectives": objectives, "family": family},
              out, indent=2, ensure_ascii=False)
    out.write("\n")


def _spec_json(spec: HyperParam) -> dict[str, object]:
    return {"name": spec.name, "label": spec.label, "default": spec.default, "low": spec.low, "high": spec.high,
            "integer": spec.integer, "log": spec.log, "live": spec.live, "choices": spec.choices,
            "low_means": spec.low_means, "help": spec.help}


#: Coordinate names ``list`` shows for an objective that names them.
LISTED_COORDINATES = 8


def _plugin_json(plugin: Plugin, found: type[Objective] | ObjectiveError) -> dict[str, object]:
    """A plugin objective as ``list --json`` shows it: ``source`` says where it is from."""
    about: dict[str, object] = {"name": plugin.name, "source": plugin.origin(), "entry_point": plugin.value}
    try:
        if isinstance(found, ObjectiveError):
            raise found
        return {**_objective_json(found()), **about}
    except Exception as error:  # noqa: BLE001 - a plugin's own class: named, the listing goes on
        return {**about, "error": str(error).splitlines()[0] if str(error) else type(error).__name__}


def _objective_json(objective: Objective) -> dict[str, object]:
    cls = type(objective)
    low, high = objective.bounds
    return {"name": objective.name, "description": cls.description, "kind": objective.capabilities(),
            "default_dim": objective.dim, "min_dim": cls.min_dim, "max_dim": cls.max_dim,
            "bounds": [low, high], "optimum": objective.optimum_value}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
