"""Registry of objectives by command-line name: the built-in ones, any a user adds at run
time with :func:`register_objective`, and users' own named by a spec string (a Python
function in a file or module, an external command, a formula, a plugin's name: see
:mod:`metalearn_gui.core.objectives.user`)."""

from __future__ import annotations

import hashlib
import inspect
import threading
from pathlib import Path

from metalearn_gui.core.objectives.base import Objective, ObjectiveError
from metalearn_gui.core.objectives.bbob import FAMILY, BBOBObjective, bbob_objective_class, parse_bbob_name
from metalearn_gui.core.objectives.classic import Ackley, Rastrigin, Rosenbrock, Seed, Sphere
from metalearn_gui.core.objectives.fewshot import FewShotDigits
from metalearn_gui.core.objectives.lr_schedule import LRSchedule
from metalearn_gui.core.objectives.maml_sine import MAMLSine
from metalearn_gui.core.objectives.user import Plugin, plugins, user_objective_class

BUILT_IN: tuple[type[Objective], ...] = (Seed, Sphere, Rosenbrock, Rastrigin, Ackley, LRSchedule, FewShotDigits,
                                          MAMLSine)
OBJECTIVES: dict[str, type[Objective]] = {cls.name: cls for cls in BUILT_IN}
#: What else a name may be: users' own objectives' spec strings.
USER_SPECS = "FILE.py:FUNCTION, MODULE:FUNCTION, command:CMD, formula:EXPR or a plugin's name"

#: Users' objective classes by spec: one class per spec and process (a learner's compiled
#: graphs are keyed by class). Reentrant: resolving a file runs its code, which may look up others.
_user_classes: dict[str, type[Objective]] = {}
_user_classes_lock = threading.RLock()


def objective_class(name: str) -> type[Objective]:
    """The objective class called ``name``: a registered one, a BBOB function instance such
    as ``bbob-f08-i01``, or a user's spec (see :data:`USER_SPECS`); raises
    :class:`ObjectiveError` naming what is allowed, or the one thing wrong with a spec."""
    if name in OBJECTIVES:
        return OBJECTIVES[name]
    if not isinstance(name, str):
        raise ObjectiveError(f"objective {name!r} is not a name")
    bbob = parse_bbob_name(name)
    if bbob is not None:
        return bbob_objective_class(*bbob)
    with _user_classes_lock:
        if name not in _user_classes or _file_changed(_user_classes[name]):
            cls = user_objective_class(name)
            if cls is None:
                raise ObjectiveError(f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}, {FAMILY}, "
                                     f"or {USER_SPECS}")
            _user_classes[name] = cls
        return _user_classes[name]


def _file_changed(cls: type[Objective]) -> bool:
    """Whether the file a user's objective was read from has other bytes now (edited since:
    its spec then runs the file as it is now; a file gone keeps the class read before)."""
    source = cls.source
    if source is None or source.kind != "file":
        return False
    try:
        data = Path(source.spec.rpartition(":")[0]).read_bytes()
    except OSError:
        return False
    return hashlib.sha256(data).hexdigest() != source.sha256


def plugin_objectives() -> list[tuple[Plugin, type[Objective] | ObjectiveError]]:
    """Every objective installed packages register (loaded now), with its class or the
    one-line error that loading it raised; one whose name a built-in has is left out."""
    found: list[tuple[Plugin, type[Objective] | ObjectiveError]] = []
    for plugin in plugins():
        if plugin.name in OBJECTIVES or parse_bbob_name(plugin.name) is not None:
            continue
        try:
            found.append((plugin, objective_class(plugin.name)))
        except ObjectiveError as error:
            found.append((plugin, error))
    return found


def make_objective(name: str, dim: int | None = None) -> Objective:
    """Build the objective called ``name``; raises :class:`ObjectiveError` naming what is allowed."""
    return objective_class(name)(dim)


def register_objective(cls: type[Objective]) -> type[Objective]:
    """Add an objective of one's own under ``cls.name`` (usable as a class decorator).

    Register it before the command line parses its arguments or the window is built:
    both list the objectives they offer then. Its ``loss_np`` is called on a helper
    thread (see :mod:`metalearn_gui.core.evaluation`), so that one that hangs can be
    abandoned; one that raises ends the run as ``failed``, naming the step and θ.
    Raises :class:`ObjectiveError` for a class that is not a concrete :class:`Objective`
    or a name already taken.
    """
    if not (isinstance(cls, type) and issubclass(cls, Objective)) or inspect.isabstract(cls):
        raise ObjectiveError(f"{cls!r} is not a concrete Objective subclass")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ObjectiveError(f"{cls.__name__} has no name (a class attribute `name = \"…\"`)")
    if name.startswith("bbob-"):
        raise ObjectiveError(f"objective names starting 'bbob-' belong to COCO's suite ({FAMILY}); choose another")
    if name in OBJECTIVES and OBJECTIVES[name] is not cls:
        raise ObjectiveError(f"an objective called {name!r} exists already")
    OBJECTIVES[name] = cls
    return cls


def is_built_in(objective: Objective) -> bool:
    """Whether ``objective`` ships with metalearn-gui (and so is called directly)."""
    return type(objective) in BUILT_IN or isinstance(objective, BBOBObjective)


__all__ = ["BUILT_IN", "FAMILY", "OBJECTIVES", "USER_SPECS", "Objective", "ObjectiveError", "is_built_in",
           "make_objective", "objective_class", "plugin_objectives", "register_objective"]
