"""Users' own objectives: a Python function (from a file or a module), an external command,
or a plugin registered under the entry-point group :data:`PLUGIN_GROUP`.

Each is named by a spec string that :func:`~metalearn_gui.core.objectives.objective_class`
resolves (``path/to/file.py:function``, ``package.module:function``, ``command:CMD``, a
plugin's name). A function declares what it is with :func:`objective` (or the same-named
attributes set by hand); one that is not ``batched`` is evaluated one θ at a time through a
picklable :mod:`~metalearn_gui.core.objectives.row_tasks` task, so another process or host
can run it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import io
import os
import re
import shlex
import shutil
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from metalearn_gui.core.objectives.base import Objective, ObjectiveError
from metalearn_gui.core.objectives.row_tasks import (
    DEFAULT_TIMEOUT,
    CommandTask,
    FileFunctionTask,
    ModuleFunctionTask,
    RowTask,
    attribute,
    evaluate_rows,
    source_module,
)
from metalearn_gui.core.objectives.source import ObjectiveSource

#: The entry-point group plugins register objectives under (an Objective subclass or a function).
PLUGIN_GROUP = "metalearn_gui.objectives"
COMMAND_PREFIX = "command:"
FORMULA_PREFIX = "formula:"
#: ``package.module`` and ``function`` (or ``Class.attribute``) of a module spec.
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


# -- the declaration --------------------------------------------------------------------
@dataclass(frozen=True)
class Declaration:
    """What a function says of itself (see :func:`objective`)."""

    dim: int | None = None
    bounds: tuple[float, float] = (-5.0, 5.0)
    names: tuple[str, ...] | None = None
    batched: bool = False
    noisy: bool = False
    optimum: float | None = None
    name: str | None = None
    description: str | None = None

    @classmethod
    def checked(cls, dim: Any = None, bounds: Any = (-5.0, 5.0), names: Any = None, batched: Any = False,
                noisy: Any = False, optimum: Any = None, name: Any = None, description: Any = None) -> Declaration:
        """A declaration of these values; :class:`ObjectiveError` naming the first bad one."""
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, (int, np.integer))
                                or not 1 <= dim <= Objective.max_dim):
            raise ObjectiveError(f"dim={dim!r}: must be an integer 1 … {Objective.max_dim}")
        try:
            low, high = (float(value) for value in bounds)
        except (TypeError, ValueError):
            raise ObjectiveError(f"bounds={bounds!r}: must be one (low, high) pair for every coordinate") from None
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ObjectiveError(f"bounds={bounds!r}: must be finite with low < high")
        if names is not None:
            if isinstance(names, str) or not all(isinstance(item, str) for item in names) or not names:
                raise ObjectiveError(f"names={names!r}: must be a sequence of strings, one per coordinate")
            names = tuple(names)
            if dim is not None and len(names) != dim:
                raise ObjectiveError(f"names: {len(names)} names for dim={dim}")
            dim = len(names)
        for key, flag in (("batched", batched), ("noisy", noisy)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ObjectiveError(f"{key}={flag!r}: must be True or False")
        if optimum is not None and not isinstance(optimum, (int, float, np.number)):
            raise ObjectiveError(f"optimum={optimum!r}: must be a number (the minimum's value) or None")
        for key, text in (("name", name), ("description", description)):
            if text is not None and not isinstance(text, str):
                raise ObjectiveError(f"{key}={text!r}: must be a string")
        return cls(None if dim is None else int(dim), (low, high), names, bool(batched), bool(noisy),
                   None if optimum is None else float(optimum), name, description)

    @classmethod
    def of(cls, function: Callable[..., Any]) -> Declaration:
        """What ``function``'s attributes (set by :func:`objective` or by hand) declare."""
        defaults = asdict(cls())
        return cls.checked(**{key: getattr(function, key, default) for key, default in defaults.items()})


def objective(dim: Any = None, bounds: Sequence[float] = (-5.0, 5.0), names: Sequence[str] | None = None,
              batched: bool = False, noisy: bool = False, optimum: float | None = None,
              name: str | None = None, description: str | None = None) -> Any:
    """Declare a function as an objective, for ``--objective FILE.py:FUNCTION``::

        @metalearn_gui.objective(dim=3, bounds=(-2, 2), optimum=0.0)
        def loss(theta):                 # θ: numpy vector (dim,) → float
            return float(theta @ theta)

    ``dim``: its fixed dimension (None: ``--dim``, default 10); ``bounds``: one (low, high)
    pair for every coordinate; ``names``: the coordinates' names (they fix ``dim``);
    ``batched``: it takes θ of shape (n, dim) and returns n losses (evaluated in-process,
    and it gets a landscape picture); ``noisy``: its value is random (if it takes an
    ``rng`` keyword, it gets a seeded ``numpy.random.Generator``); ``optimum``: the known
    minimum's value; ``name`` and ``description``: how lists show it (default: the
    function's name and its docstring's first line). It is a black box: no gradient.

    Returns the function itself with these values as attributes (``loss.dim`` …), which
    may also be set by hand. Plain ``@objective`` without parentheses takes the defaults.
    """
    if callable(dim):  # bare @objective
        return objective()(dim)
    declaration = Declaration.checked(dim, bounds, names, batched, noisy, optimum, name, description)

    def declare(function: Callable[..., Any]) -> Callable[..., Any]:
        for key, value in asdict(declaration).items():
            setattr(function, key, value)
        return function

    return declare


# -- the objective classes ------------------------------------------------------------------
class UserObjective(Objective):
    """An objective a user brought (built per spec by the functions below): a black box."""

    #: How lists show it (the spec in ``name`` is what rebuilds it).
    title: ClassVar[str] = ""
    differentiable = False
    min_dim = 1
    bounds = (-5.0, 5.0)
    declared_names: ClassVar[tuple[str, ...] | None] = None

    def loss_tf(self, theta: Any, seed: Any = None) -> Any:
        raise ObjectiveError(f"{self.name} is a black box: it has no TensorFlow form")

    def coordinate_names(self) -> tuple[str, ...]:
        return self.declared_names or super().coordinate_names()


class RowObjective(UserObjective):
    """A user objective evaluated one θ at a time by :meth:`row_task`, here or elsewhere."""

    vectorised = False
    task: ClassVar[RowTask]

    def row_task(self) -> RowTask:
        """The picklable task evaluating one θ (see :mod:`~metalearn_gui.core.objectives.row_tasks`)."""
        return self.task

    def loss_np(self, thetas: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return evaluate_rows(self.task, thetas, rng, self.noisy, DEFAULT_TIMEOUT)

    def landscape_axes(self) -> tuple[int, int] | str:
        return (f"{self.title} is evaluated one θ at a time: its landscape would cost "
                f"{self.landscape_grid ** 2:,} evaluations (declare it batched for one)")


class BatchedObjective(UserObjective):
    """A user function taking θ of shape (n, dim): called in-process with the whole batch."""

    function: ClassVar[Callable[..., Any]]
    accepts_rng: ClassVar[bool] = False

    def loss_np(self, thetas: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        keywords = {"rng": np.random.default_rng() if rng is None else rng} if self.accepts_rng else {}
        return np.asarray(self.function(np.asarray(thetas, dtype=np.float64), **keywords), dtype=np.float64)


def _class(base: type[Objective], spec: str, title: str, attributes: dict[str, Any]) -> type[Objective]:
    attributes = {"name": spec, "title": title, **attributes}
    safe = re.sub(r"\W", "_", title)[:40]
    return type(f"UserObjective_{safe}", (base,), attributes)


def function_objective_class(spec: str, function: Callable[..., Any], title: str, source: ObjectiveSource,
                             task: Callable[[bool], RowTask]) -> type[Objective]:
    """The class of ``function`` (declared as :func:`objective` says); ``task(accepts_rng)``
    builds its row task when it is not batched."""
    try:
        declaration = Declaration.of(function)
    except ObjectiveError as error:
        raise ObjectiveError(f"objective '{spec}': {error}") from None
    takes_rng, needs_rng = _rng_parameter(function)
    accepts_rng = declaration.noisy and takes_rng
    if needs_rng and not declaration.noisy:
        raise ObjectiveError(f"objective '{spec}': {title} needs an rng argument but is not declared noisy "
                             "(declare noisy=True, or give rng a default)")
    doc = (inspect.getdoc(function) or "").strip().splitlines()
    title = declaration.name or title
    attributes: dict[str, Any] = {
        "description": declaration.description or (doc[0] if doc else f"{title}, a Python function"),
        "source": source, "bounds": declaration.bounds, "noisy": declaration.noisy,
        "optimum_value": declaration.optimum, "declared_names": declaration.names,
    }
    if declaration.dim is not None:
        attributes.update(default_dim=declaration.dim, min_dim=declaration.dim, max_dim=declaration.dim)
    if declaration.batched:
        return _class(BatchedObjective, spec, title, {**attributes, "function": staticmethod(function),
                                                      "accepts_rng": accepts_rng})
    return _class(RowObjective, spec, title, {**attributes, "task": task(accepts_rng)})


def _rng_parameter(function: Callable[..., Any]) -> tuple[bool, bool]:
    """Whether ``function`` takes an ``rng`` keyword, and whether it must be given one."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # a builtin without a signature: θ only
        return False, False
    rng = parameters.get("rng")
    takes = rng is not None or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    return takes, rng is not None and rng.default is inspect.Parameter.empty


def _from_target(spec: str, target: Any, title: str, source: ObjectiveSource,
                 task: Callable[[bool], RowTask]) -> type[Objective]:
    """The objective class of what a spec points at: an Objective subclass or a function."""
    if isinstance(target, type) and issubclass(target, Objective):
        if inspect.isabstract(target):
            raise ObjectiveError(f"objective '{spec}': {target.__name__} is abstract")
        return type(target.__name__, (target,), {"name": spec, "source": source,
                                                 "title": getattr(target, "title", "") or title})
    if not callable(target):
        raise ObjectiveError(f"objective '{spec}': {title} is a {type(target).__name__}, not a function")
    return function_objective_class(spec, target, title, source, task)


# -- a Python file: path/to/file.py:function --------------------------------------------------
def file_objective_class(spec: str, path_text: str, function: str) -> type[Objective]:
    path = Path(path_text).expanduser()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ObjectiveError(f"objective '{spec}': file '{path_text}' not found") from None
    except OSError as error:
        raise ObjectiveError(f"objective '{spec}': file '{path_text}' cannot be read: "
                             f"{error.strerror or error}") from None
    try:
        text = importlib.util.decode_source(data)
    except (UnicodeDecodeError, SyntaxError) as error:
        raise ObjectiveError(f"{path_text}: not Python source text ({error})") from None
    sha256 = hashlib.sha256(data).hexdigest()
    display = str(path.resolve())  # one module per file, however its path was typed
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):  # a usage message before a sys.exit is not ours to show
            module = source_module(text, display, sha256)
        sys.stderr.write(said.getvalue())
    except SyntaxError as error:
        raise ObjectiveError(f"{path_text}:{error.lineno}: {type(error).__name__}: {error.msg}") from None
    except SystemExit as error:  # e.g. argparse at import, reading the app's own command line
        raise ObjectiveError(f"{path_text}{_line_in(display, error)}: running it called sys.exit({error.code!r}) "
                             "(does it parse command-line arguments outside `if __name__ == \"__main__\"`?)") from None
    except Exception as error:  # noqa: BLE001 - whatever the user's file raises is named in one line
        raise ObjectiveError(f"{path_text}{_line_in(display, error)}: running it raised "
                             f"{_one_line(error)}") from None
    try:
        target = attribute(module, function)
    except AttributeError:
        defined = [key for key, value in vars(module).items()
                   if inspect.isfunction(value) and value.__module__ == module.__name__]
        hint = f" (it defines: {', '.join(defined[:6])})" if defined else " (it defines no function)"
        raise ObjectiveError(f"objective '{spec}': {path_text} has no function {function!r}{hint}") from None
    source = ObjectiveSource("file", spec, sha256)
    return _from_target(spec, target, f"{path.name}:{function}", source,
                        lambda rng: FileFunctionTask(text, function, display, sha256, rng))


def _line_in(path: str, error: BaseException) -> str:
    """``:LINE`` of the deepest frame of ``error``'s traceback inside ``path``, if any."""
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == path]
    return f":{lines[-1]}" if lines else ""


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


# -- a module: package.module:function --------------------------------------------------------
def module_objective_class(spec: str, module_name: str, function: str,
                           source: ObjectiveSource | None = None, title: str | None = None) -> type[Objective]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and (module_name == error.name or module_name.startswith(error.name + ".")):
            raise ObjectiveError(f"objective '{spec}': no module named {module_name!r} "
                                 "(is its folder on PYTHONPATH?)") from None
        raise ObjectiveError(f"objective '{spec}': importing {module_name} raised {_one_line(error)}") from None
    except SystemExit as error:  # e.g. argparse at import, reading the app's own command line
        raise ObjectiveError(f"objective '{spec}': importing {module_name} called sys.exit({error.code!r})") from None
    except Exception as error:  # noqa: BLE001 - whatever the user's module raises is named in one line
        raise ObjectiveError(f"objective '{spec}': importing {module_name} raised {_one_line(error)}") from None
    try:
        target = attribute(module, function)
    except AttributeError:
        raise ObjectiveError(f"objective '{spec}': module {module_name} has no {function!r}") from None
    return _from_target(spec, target, title or f"{module_name}:{function}", source or ObjectiveSource("module", spec),
                        lambda rng: ModuleFunctionTask(module_name, function, rng))


# -- an external command: command:CMD ----------------------------------------------------------
def command_objective_class(spec: str) -> type[Objective]:
    """The objective running the command after ``command:`` once per θ (see
    :class:`~metalearn_gui.core.objectives.row_tasks.CommandTask` for its protocol)."""
    text = spec[len(COMMAND_PREFIX):].strip()
    try:
        argv = split_command(text)
    except ValueError as error:
        raise ObjectiveError(f"objective '{spec}': the command cannot be split into words ({error})") from None
    if not argv:
        raise ObjectiveError(f"objective '{spec}': no command after {COMMAND_PREFIX!r}")
    if shutil.which(argv[0]) is None:
        where = "" if os.sep in argv[0] or "/" in argv[0] else " on PATH"
        raise ObjectiveError(f"objective '{spec}': program {argv[0]!r} not found{where}")
    title = shlex.join(argv)
    return _class(RowObjective, spec, title, {
        "description": f"external command `{title}`: θ as JSON on stdin, the loss on stdout",
        "source": ObjectiveSource("command", spec), "task": CommandTask(tuple(argv)),
    })


def split_command(text: str) -> list[str]:
    """Shell words of ``text`` (no shell runs them); on Windows backslashes stay as typed."""
    if os.name != "nt":
        return shlex.split(text)
    return [word[1:-1] if len(word) > 1 and word[0] == word[-1] and word[0] in "\"'" else word
            for word in shlex.split(text, posix=False)]


# -- plugins ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plugin:
    """An objective registered under :data:`PLUGIN_GROUP`: its name, target and distribution."""

    name: str
    value: str
    dist: str | None

    def origin(self) -> str:
        return f"plugin from dist {self.dist!r}" if self.dist else f"plugin {self.value}"


def plugins() -> list[Plugin]:
    """The objectives installed packages register (read anew each call: it is cheap)."""
    found = []
    for entry in importlib.metadata.entry_points(group=PLUGIN_GROUP):
        dist = getattr(entry, "dist", None)
        found.append(Plugin(entry.name, entry.value, getattr(dist, "name", None)))
    return found


def plugin_objective_class(spec: str) -> type[Objective] | None:
    """The class of the plugin called ``spec``, or None if none is."""
    plugin = next((plugin for plugin in plugins() if plugin.name == spec), None)
    if plugin is None:
        return None
    module_name, _, function = plugin.value.partition(":")
    function = function.split("[")[0].strip()  # "module:attr [extra]" → attr
    if not function:
        raise ObjectiveError(f"objective '{spec}' ({plugin.origin()}): its entry point {plugin.value!r} "
                             "names no object (module:object)")
    return module_objective_class(spec, module_name.strip(), function, ObjectiveSource("plugin", spec), spec)


# -- the spec dispatcher ------------------------------------------------------------------------
def user_objective_class(spec: str) -> type[Objective] | None:
    """The class a user spec names: ``formula:…``, ``command:…``, ``FILE.py:FUNCTION``,
    ``MODULE:FUNCTION`` or a plugin's name; None if ``spec`` is none of these. Raises
    :class:`ObjectiveError` (one line) for one that names something that cannot be built."""
    if spec.startswith(FORMULA_PREFIX):
        # Imported here: only formulas need their parser (and its TensorFlow form).
        formula = importlib.import_module("metalearn_gui.core.objectives.formula")
        built: type[Objective] = formula.formula_objective_class(spec[len(FORMULA_PREFIX):])
        return built
    if spec.startswith(COMMAND_PREFIX):
        return command_objective_class(spec)
    head, colon, tail = spec.rpartition(":")  # the last colon: C:\dir\file.py:f keeps its drive
    if colon and head.lower().endswith(".py"):
        if not _DOTTED.fullmatch(tail):
            raise ObjectiveError(f"objective '{spec}': {tail!r} is not a function name")
        return file_objective_class(spec, head, tail)
    if spec.lower().endswith(".py"):
        raise ObjectiveError(f"objective '{spec}': name the function too, as {spec}:FUNCTION")
    if colon and _DOTTED.fullmatch(head) and _DOTTED.fullmatch(tail):
        return module_objective_class(spec, head, tail)
    return plugin_objective_class(spec)


def canonical_spec(spec: str) -> str:
    """``spec`` with a file's path made absolute, so a recorded configuration finds it from
    any folder; other specs unchanged."""
    head, colon, tail = spec.rpartition(":")
    if colon and head.lower().endswith(".py") and not spec.startswith((COMMAND_PREFIX, FORMULA_PREFIX)):
        return f"{Path(head).expanduser().resolve()}:{tail}"
    return spec


__all__ = ["PLUGIN_GROUP", "BatchedObjective", "Declaration", "Plugin", "RowObjective", "UserObjective",
           "canonical_spec", "objective", "plugins", "user_objective_class"]
