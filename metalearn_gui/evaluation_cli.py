"""Command-line options saying where a user's objective is evaluated (``--workers``,
``--scheduler``, ``--objective-timeout``), and the one line that tells how many of its
evaluations failed. Shared by ``run`` and ``race``.

A malformed or unreachable scheduler is an
:class:`~metalearn_gui.core.executors.SettingsError`: one line, exit status 2, before
any run starts.
"""

from __future__ import annotations

import argparse
import math
import os

from metalearn_gui.core.evaluation import Evaluator, FailedEvaluation, format_theta
from metalearn_gui.core.executors import (
    DEFAULT_TIMEOUT,
    EvaluationSettings,
    SettingsError,
    check_scheduler_reachable,
    scheduler_address,
)
from metalearn_gui.core.hyperparams import brief


def add_evaluation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=_workers, metavar="N",
                        help="local worker processes evaluating a user's objective that is not vectorised "
                             f"(default: one per CPU, {os.cpu_count()} here; 0: in this process, one at a "
                             "time); built-in and vectorised objectives are always evaluated in this process")
    parser.add_argument("--scheduler", type=_scheduler, metavar="tcp://HOST:PORT",
                        help="evaluate it on the Dask cluster whose scheduler listens there (started with "
                             "`dask scheduler`; workers with `dask worker tcp://HOST:PORT`) instead")
    parser.add_argument("--objective-timeout", type=_seconds, metavar="SECONDS",
                        help="an evaluation of a user's objective taking longer has failed "
                             f"(default {DEFAULT_TIMEOUT:g})")


def evaluation_settings(args: argparse.Namespace) -> EvaluationSettings:
    """The settings the options ask for; a scheduler must be reachable now."""
    timeout = DEFAULT_TIMEOUT if args.objective_timeout is None else args.objective_timeout
    if args.scheduler is not None:
        if args.workers is not None:
            raise SettingsError("--workers and --scheduler cannot be combined (the cluster's workers "
                                  "are started with `dask worker`)")
        check_scheduler_reachable(args.scheduler)
        return EvaluationSettings("dask", scheduler=args.scheduler, timeout=timeout)
    if args.workers == 0:
        return EvaluationSettings("in-process", timeout=timeout)
    return EvaluationSettings("processes", args.workers, timeout=timeout)


class FailureTally:
    """Counts a run's failed evaluations as they happen (keeping only the latest)."""

    def __init__(self) -> None:
        self.count = 0
        self.latest: FailedEvaluation | None = None

    def take(self, evaluator: Evaluator) -> None:
        failures = evaluator.drain_failures()
        if failures:
            self.count += len(failures)
            self.latest = failures[-1]

    def line(self) -> str | None:
        """``3 evaluations failed; the latest at step 7 for θ = […]: ValueError: …`` (None if none)."""
        if self.latest is None:
            return None
        plural = "s" if self.count != 1 else ""
        return (f"{self.count} evaluation{plural} failed; the latest at step {self.latest.step} "
                f"for θ = {format_theta(self.latest.theta)}: {self.latest.message}")


#: More local worker processes than this is a typo, not a machine.
MAX_WORKERS = 1024


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be an integer 0 … {MAX_WORKERS}, got {brief(text)}")
    return value


def _scheduler(text: str) -> str:
    try:
        return scheduler_address(text)
    except SettingsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {brief(text)}")
    return value
