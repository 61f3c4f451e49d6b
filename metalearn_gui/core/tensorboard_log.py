"""A run written as TensorBoard event files, so that ``tensorboard --logdir DIR`` shows it.

Each run goes to its own subdirectory of DIR (``genetic-sphere-seed0-20261126-041500``),
which TensorBoard lists as a run, so several runs in one DIR can be overlaid. Written:

- scalars ``loss``, ``best_loss`` and ``theta/0`` … ``theta/{D-1}`` per step (x = step);
- each hyper-parameter's value as the scalar ``hyperparameters/<name>``: the starting
  value at step 0, then the new value at the step of every live change (numeric
  values only, finite ones only; choices such as ``optimizer`` appear as text);
- text ``changes``: every hyper-parameter change, "name: old → new", at its step;
- text ``config``: the run's configuration at step 0.

Volume rule: a chunk of more than ``rows_per_chunk`` rows (a gradient chunk holds
~300 000) is thinned with :func:`metalearn_gui.core.history.thin_rows` to at most that
many rows, keeping each bucket's lowest- and highest-loss rows, its first improvement
of the best loss and the chunk's last row, so dips, spikes, improvements and the
current values survive. Smaller chunks (genetic and
neural ones, usually) are written whole. TensorBoard shows ~1 000 points per chart anyway.

Event files are written with TensorBoard's own record framing and protocol buffers
(``tensorboard.compat.proto``), without TensorFlow: TensorBoard's ``EventFileWriter``
would import TensorFlow when it is installed (through ``tensorboard.compat.tf``),
which costs seconds. Scalars are ``simple_value`` (float32): TensorBoard's default
reader (its Rust data server) shows float32 scalars only — float64 tensors come out
as empty charts. Values beyond float32's range are clipped to it so none becomes ∞.
Needs the ``tensorboard`` package (TensorFlow ≥ 2.20 no longer installs it).
"""

from __future__ import annotations

import functools
import json
import math
import os
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np

from metalearn_gui import __version__
from metalearn_gui.core.history import thin_rows
from metalearn_gui.core.hyperparams import Change, Value
from metalearn_gui.core.learners import Chunk
from metalearn_gui.core.run import RunConfig

#: Most rows (about) written per chunk: ~5 chunks/s make ~250 points/s of each tag.
ROWS_PER_CHUNK = 50
FLOAT32_MAX = float(np.finfo(np.float32).max)


def run_name(config: RunConfig, when: datetime | None = None) -> str:
    """``learner-objective-seedN-YYYYmmdd-HHMMSS``: how TensorBoard will list the run."""
    stamp = (when or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return f"{config.learner}-{config.objective}-seed{config.seed}-{stamp}"


class TensorBoardLog:
    """Writes one run into a new subdirectory of ``directory``; use from one thread.

    ``hyperparameters`` are the learner's starting values (``learner.hp``, all of them);
    without it the configuration's (possibly partial) ones are written. Raises
    ``ImportError`` without the ``tensorboard`` package and ``OSError`` if the
    directory cannot be created or written.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        config: RunConfig,
        hyperparameters: Mapping[str, Value] | None = None,
        *,
        rows_per_chunk: int = ROWS_PER_CHUNK,
        name: str | None = None,
    ) -> None:
        self._pb = _protos()
        self.rows_per_chunk = rows_per_chunk
        self.path = _new_run_directory(Path(directory), name or run_name(config))
        file_name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}"
        self._file = open(self.path / file_name, "wb")  # noqa: SIM115 - open until close()
        self._records = self._pb.RecordWriter(self._file)
        self._theta_tags: list[str] = []
        self._changes_written = 0
        self.closed = False
        try:
            self._add(self._pb.event_pb2.Event(
                wall_time=time.time(),
                file_version="brain.Event:2",  # tells readers the format (and how to treat restarts)
                source_metadata=self._pb.event_pb2.SourceMetadata(writer=f"metalearn-gui {__version__}"),
            ))
            starting = dict(config.hyperparameters if hyperparameters is None else hyperparameters)
            self._add_text("config", _config_markdown(config, starting), step=0)
            self._add_hyperparameters(0, starting.items())
            self.flush()
        except BaseException:
            self._file.close()
            raise

    # -- writing ---------------------------------------------------------------------
    def write(self, chunk: Chunk) -> None:
        """Write a chunk's rows (thinned to about ``rows_per_chunk``, see the module doc)."""
        self._check_open()
        if len(chunk) == 0:
            return
        if not self._theta_tags:
            self._theta_tags = [f"theta/{i}" for i in range(chunk.theta.shape[1])]
        keep = thin_rows(chunk.step, chunk.loss, chunk.best_loss, self.rows_per_chunk)
        columns = np.column_stack([chunk.loss[keep], chunk.best_loss[keep], chunk.theta[keep]])
        np.clip(columns, -FLOAT32_MAX, FLOAT32_MAX, out=columns)  # finite by contract; float32 may not be
        tags = ["loss", "best_loss", *self._theta_tags]
        wall_time = time.time()
        for step, row in zip(chunk.step[keep].tolist(), columns.tolist(), strict=True):
            self._add_scalars(step, zip(tags, row, strict=True), wall_time)
        self.flush()

    def write_changes(self, changes: Sequence[Change]) -> None:
        """Write the changes not written yet: pass ``learner.changes`` (it only grows
        during a run) after each chunk. Changes at one step share one text entry."""
        self._check_open()
        if len(changes) < self._changes_written:
            raise ValueError("the changes list shrank: a learner reset starts a new run, "
                             "which needs a new TensorBoardLog")
        unwritten = changes[self._changes_written :]
        self._changes_written = len(changes)
        for step, group in groupby(unwritten, key=lambda change: change.step):
            at_step = list(group)
            self._add_hyperparameters(step, [(change.name, change.new) for change in at_step])
            lines = [f"- `{change.name}`: {change.old} → {change.new}" for change in at_step]
            self._add_text("changes", "\n".join(lines), step)
        self.flush()

    def flush(self) -> None:
        """Make everything written so far readable (``write`` calls it after each chunk)."""
        if not self.closed:
            self._records.flush()

    def close(self) -> None:
        """Flush and close the file; closing again does nothing."""
        if not self.closed:
            self.flush()
            self.closed = True
            self._records.close()

    def __enter__(self) -> TensorBoardLog:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- events ----------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"TensorBoard log {self.path} is closed")

    def _add(self, event: Any) -> None:
        self._records.write(event.SerializeToString())

    def _add_scalars(self, step: int, values: Iterable[tuple[str, float]],
                     wall_time: float | None = None) -> None:
        """One event holding the scalars ``(tag, value)`` at ``step``; values must be finite
        and within float32's range."""
        summary = self._pb.summary_pb2.Summary()
        for tag, value in values:
            summary.value.add(tag=tag, simple_value=value)
        if summary.value:
            event = self._pb.event_pb2.Event(wall_time=wall_time or time.time(), step=step, summary=summary)
            self._add(event)

    def _add_hyperparameters(self, step: int, values: Iterable[tuple[str, Value]]) -> None:
        """Scalars ``hyperparameters/<name>``; values that are not finite numbers (e.g. a
        choice like ``"adam"``, or a NaN that slipped through) are left out."""
        self._add_scalars(step, [
            (f"hyperparameters/{name}", min(max(float(value), -FLOAT32_MAX), FLOAT32_MAX))
            for name, value in values if _finite_number(value)
        ])

    def _add_text(self, tag: str, markdown: str, step: int) -> None:
        summary = self._pb.text_pb(tag, markdown)
        self._add(self._pb.event_pb2.Event(wall_time=time.time(), step=step, summary=summary))


def _finite_number(value: Any) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            and math.isfinite(value))


def _config_markdown(config: RunConfig, hyperparameters: Mapping[str, Value]) -> str:
    """The configuration as TensorBoard's text plugin shows it (Markdown)."""
    rows = [f"| `{name}` | {value} |" for name, value in hyperparameters.items()]
    return "\n".join([
        f"**{config.learner}** on **{config.objective}**, seed {config.seed} (metalearn-gui {__version__})",
        "",
        "| hyper-parameter | starting value |",
        "|---|---|",
        *rows,
        "",
        "Configuration (save as `config.json` to reproduce the run with `metalearn-gui run --config`):",
        "",
        "```json",
        json.dumps(config.to_dict(), indent=2),
        "```",
    ])


def _new_run_directory(root: Path, name: str) -> Path:
    """``root/name``, or ``root/name-2``, ``-3``… if taken (two runs started in one second)."""
    root.mkdir(parents=True, exist_ok=True)
    path, number = root / name, 1
    while True:
        try:
            path.mkdir()  # atomic: two writers never share a directory
            return path
        except FileExistsError:
            number += 1
            path = root / f"{name}-{number}"


class _Protos:
    """TensorBoard's modules, imported on first use (the package is optional)."""

    def __init__(self) -> None:
        try:
            from tensorboard.compat.proto import event_pb2, summary_pb2
            from tensorboard.plugins.text.summary_v2 import text_pb
            from tensorboard.summary.writer.record_writer import RecordWriter
        except ImportError as error:
            raise ImportError(f"writing TensorBoard logs needs the tensorboard package "
                              f"(pip install tensorboard): {error}") from error
        self.event_pb2, self.summary_pb2 = event_pb2, summary_pb2
        self.RecordWriter, self.text_pb = RecordWriter, text_pb


@functools.cache
def _protos() -> _Protos:
    return _Protos()
