"""One evaluation of a user's objective, as a small picklable task that runs anywhere.

A task is called as ``task(theta, seed, timeout) -> float`` for one θ of shape ``(dim,)``
in this process, a worker process or on another host. This module imports only the
standard library and numpy, so a worker that unpickles a task loads nothing heavy
(no TensorFlow, no Qt).

* :class:`FileFunctionTask` carries a Python file's source text, so a remote host needs
  no copy of the file; the file is executed once per process (cached by its sha256).
* :class:`ModuleFunctionTask` names a module and a function; the module must be
  importable where the task runs.
* :class:`CommandTask` runs an external command: θ goes in on stdin as one line of JSON,
  ``{"theta": [0.5, -1.25, ...], "seed": null}``, and the command prints the loss as the
  last non-empty line of its stdout.

``seed`` is None unless the objective is noisy; then a function that takes an ``rng``
keyword gets ``numpy.random.default_rng(seed)``. A task that fails raises an exception
whose message is one line saying what went wrong.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

#: Seconds an evaluation may take when nobody says otherwise (the executors' default too).
DEFAULT_TIMEOUT = 300.0
#: Longest command or output excerpt quoted in a message.
QUOTED = 80


class EvaluationError(RuntimeError):
    """An evaluation that gave no loss; the message is one line."""


class RowTask(Protocol):
    """Evaluates one θ: ``task(theta (dim,), seed, timeout) -> float``; picklable."""

    def __call__(self, theta: np.ndarray, seed: int | None = None, timeout: float | None = None) -> float: ...


def row_seeds(rng: np.random.Generator | None, count: int) -> list[int]:
    """One seed per row of a batch of a noisy objective, drawn from the learner's ``rng``
    (fresh entropy if None): the same rng state gives the same seeds wherever rows run."""
    rng = np.random.default_rng() if rng is None else rng
    return [int(seed) for seed in rng.integers(0, 2**63 - 1, size=count)]


def evaluate_rows(task: RowTask, thetas: np.ndarray, rng: np.random.Generator | None, noisy: bool,
                  timeout: float | None = DEFAULT_TIMEOUT) -> np.ndarray:
    """Losses (n,) of ``thetas`` (n, dim), one task call per row, in this process."""
    thetas = np.asarray(thetas, dtype=np.float64)
    seeds: Sequence[int | None] = row_seeds(rng, len(thetas)) if noisy else [None] * len(thetas)
    return np.array([task(theta, seed, timeout) for theta, seed in zip(thetas, seeds, strict=True)],
                    dtype=np.float64)


# -- Python functions -----------------------------------------------------------------
_modules: dict[str, types.ModuleType] = {}
_modules_lock = threading.Lock()


def source_module(source: str, path: str, sha256: str) -> types.ModuleType:
    """The module that Python ``source`` (read from ``path``) defines, executed once per
    process, content and path: under a private name, registered in ``sys.modules`` (so that
    pickle and dataclasses work inside it). Raises what executing it raises."""
    key = hashlib.sha256(f"{sha256}:{path}".encode()).hexdigest()[:16]
    with _modules_lock:
        module = _modules.get(key)
        if module is not None:
            return module
        name = f"_metalearn_gui_user_{key}"
        module = types.ModuleType(name)
        module.__file__ = path
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(folder) and folder not in sys.path:
            sys.path.append(folder)  # the file's neighbours import as they do under `python FILE`
        sys.modules[name] = module
        try:
            exec(compile(source, path, "exec"), module.__dict__)  # the user's own file, as `python FILE` would
        except BaseException:
            del sys.modules[name]
            raise
        _modules[key] = module
        return module


def attribute(owner: Any, dotted: str) -> Any:
    """``owner.a.b`` for ``dotted`` "a.b"; AttributeError if missing."""
    for part in dotted.split("."):
        owner = getattr(owner, part)
    return owner


def call_function(function: Callable[..., Any], theta: np.ndarray, seed: int | None, accepts_rng: bool,
                  label: str) -> float:
    """``function(theta)`` (with ``rng=`` if it takes one) as a float."""
    keywords = {"rng": np.random.default_rng(seed)} if accepts_rng else {}
    answer = function(np.asarray(theta, dtype=np.float64), **keywords)
    try:
        return float(np.asarray(answer, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        raise EvaluationError(f"{label} returned {_quote(repr(answer))}, not one number") from None


@dataclass(frozen=True)
class FileFunctionTask:
    """``function`` of the Python file whose text is ``source`` (``path`` names it in messages)."""

    source: str
    function: str
    path: str
    sha256: str
    accepts_rng: bool = False

    def __call__(self, theta: np.ndarray, seed: int | None = None, timeout: float | None = None) -> float:
        # A Python function is not interrupted here: whoever runs the task enforces ``timeout``.
        module = source_module(self.source, self.path, self.sha256)
        label = f"{self.path}:{self.function}"
        return call_function(attribute(module, self.function), theta, seed, self.accepts_rng, label)


@dataclass(frozen=True)
class ModuleFunctionTask:
    """``function`` (possibly dotted, ``Class.method``) of the importable ``module``."""

    module: str
    function: str
    accepts_rng: bool = False

    def __call__(self, theta: np.ndarray, seed: int | None = None, timeout: float | None = None) -> float:
        target = attribute(importlib.import_module(self.module), self.function)
        return call_function(target, theta, seed, self.accepts_rng, f"{self.module}:{self.function}")


# -- external commands -------------------------------------------------------------------
@dataclass(frozen=True)
class CommandTask:
    """An external command (``argv``, run without a shell) answering one θ per run."""

    argv: tuple[str, ...]

    def __call__(self, theta: np.ndarray, seed: int | None = None, timeout: float | None = None) -> float:
        request = json.dumps({"theta": [float(value) for value in np.asarray(theta).ravel()], "seed": seed})
        try:
            child = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=os.name == "posix")
        except OSError as error:
            raise EvaluationError(f"command {self.label()} cannot start: {error.strerror or error}") from None
        RUNNING_COMMANDS.add(child)
        try:
            out, err = child.communicate((request + "\n").encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(child)
            out, err = _leftovers(child)
            raise EvaluationError(f"command {self.label()} gave no answer within {timeout:g} s and was "
                                  f"killed{_last_line(err)}") from None
        finally:
            RUNNING_COMMANDS.discard(child)
            if child.poll() is None:  # interrupted while waiting: leave no process behind
                _kill(child)
        if child.returncode != 0:
            how = (f"was killed by signal {-child.returncode}" if child.returncode < 0
                   else f"exited with status {child.returncode}")
            raise EvaluationError(f"command {self.label()} {how}{_last_line(err)}")
        lines = [line.strip() for line in _text(out).splitlines() if line.strip()]
        if not lines:
            raise EvaluationError(f"command {self.label()} printed nothing on stdout (expected a number "
                                  f"as its last line){_last_line(err)}")
        try:
            return float(lines[-1])
        except ValueError:
            raise EvaluationError(f"command {self.label()} printed {_quote(lines[-1])} as its last line, "
                                  "not a number") from None

    def label(self) -> str:
        return _quote(shlex.join(self.argv))


#: The commands this process is waiting for: a worker process told to stop ends them first
#: (each runs in a session of its own, which its worker's death would not end).
RUNNING_COMMANDS: set[subprocess.Popen] = set()


def kill_running_commands() -> None:
    for child in list(RUNNING_COMMANDS):
        _kill(child)


def _kill(child: subprocess.Popen) -> None:
    """End ``child`` and, on POSIX, every process it started (its own session)."""
    try:
        if os.name == "posix":
            os.killpg(child.pid, signal.SIGKILL)
        else:
            child.kill()
    except (ProcessLookupError, PermissionError):
        pass  # it ended on its own meanwhile


def _leftovers(child: subprocess.Popen) -> tuple[bytes, bytes]:
    """What a killed child had written (nothing if its pipes stay open elsewhere)."""
    try:
        return child.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        return b"", b""


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def _last_line(err: bytes | None) -> str:
    """``: <the last non-empty line of stderr>``, or nothing."""
    lines = [line.strip() for line in _text(err).splitlines() if line.strip()]
    return f": {_quote(lines[-1], quoted=False)}" if lines else ""


def _quote(text: str, quoted: bool = True) -> str:
    short = text if len(text) <= QUOTED else text[:QUOTED - 1] + "…"
    return repr(short) if quoted else short
