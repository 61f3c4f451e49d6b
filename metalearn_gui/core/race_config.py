"""What a race is: entrants (a learner with hyper-parameter values and a label) on one
objective and dimension, over several seeds, each with the same budget of evaluations.

Each entrant's run is a :class:`~metalearn_gui.core.run.RunConfig` (:meth:`Entrant.run_config`),
checked by it: a race accepts exactly the values a run does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metalearn_gui.core.hyperparams import HyperParamError, Value, brief, resolve
from metalearn_gui.core.learners import LEARNER_NAMES, learner_class, refusal
from metalearn_gui.core.objectives import ObjectiveError, make_objective, objective_class
from metalearn_gui.core.objectives.source import ObjectiveSource
from metalearn_gui.core.run import (
    MAX_EVALUATIONS,
    MAX_SEED,
    ConfigError,
    RunConfig,
    check_header,
    checked_int,
    current_source,
    parse_json,
    read_config_file,
    recorded_source,
    source_json,
    source_warning,
)

RACE_FORMAT = "metalearn-gui race configuration"
RACE_VERSION = 1
#: Seeds a race runs by default: enough for a median and quartiles, few enough to wait for.
DEFAULT_SEEDS = 5
#: The default budget is this many evaluations per dimension (COCO's small-budget regime).
BUDGET_PER_DIM = 100
MAX_SEEDS = 1000
#: Most entrants in one race: one colour each in the figures.
MAX_ENTRANTS = 12
MAX_LABEL = 80


@dataclass(frozen=True)
class Entrant:
    """A learner with hyper-parameter values; ``label`` names it in tables, figures and the
    run store (default: the learner and its values, e.g. ``genetic sigma=0.3``)."""

    learner: str
    hyperparameters: Mapping[str, Value] = field(default_factory=dict)
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", default_label(self.learner, self.hyperparameters))

    def run_config(self, race: RaceConfig, seed: int) -> RunConfig:
        """This entrant's run for ``seed``: bounded by the race's budget only."""
        return RunConfig(self.learner, race.objective, race.dim, steps=None, seed=seed,
                         hyperparameters=dict(self.hyperparameters), budget=race.budget)

    def to_dict(self) -> dict[str, Any]:
        return {"learner": self.learner, "hyperparameters": dict(self.hyperparameters), "label": self.label}

    def every_value(self, race: RaceConfig) -> dict[str, Value]:
        """Every hyper-parameter value this entrant runs with in ``race``, defaults included
        (building a learner is cheap: no TensorFlow until its reset)."""
        objective = make_objective(race.objective, race.dim)
        return dict(learner_class(self.learner)(objective, self.hyperparameters).hp)


def default_label(learner: str, values: Mapping[str, Value]) -> str:
    return " ".join([learner, *(f"{name}={_text(value)}" for name, value in values.items())])


def _text(value: Value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class RaceConfig:
    """Entrants on ``objective`` in ``dim`` dimensions (None: the objective's default), each
    run with seeds ``seed`` … ``seed + seeds − 1`` and at most ``budget`` evaluations;
    ``target``: a loss whose first reaching is timed in evaluations (None: none)."""

    objective: str
    entrants: tuple[Entrant, ...]
    budget: int
    dim: int | None = None
    seeds: int = DEFAULT_SEEDS
    target: float | None = None
    seed: int = 0
    #: A user objective's source as the configuration file recorded it (see
    #: :attr:`RunConfig.recorded_source`).
    recorded_source: ObjectiveSource | None = field(default=None, compare=False)

    @property
    def seed_values(self) -> range:
        return range(self.seed, self.seed + self.seeds)

    def source_warning(self) -> str | None:
        """One line if the recorded objective file's content differs from the one that runs."""
        return source_warning(self.objective, self.recorded_source)

    def refusals(self) -> dict[str, str]:
        """Entrant label → why the objective refuses that entrant's learner (one line each)."""
        objective = make_objective(self.objective, self.dim)
        return {entrant.label: reason for entrant in self.entrants
                if (reason := refusal(entrant.learner, objective)) is not None}

    def check(self, origin: str = "race") -> None:
        """Raise :class:`ConfigError` naming ``origin`` and the first bad value. Refused
        entrants are not errors (:meth:`refusals`), but their values are checked too."""
        try:
            objective = make_objective(self.objective, self.dim)
        except ObjectiveError as error:
            raise ConfigError(f"{origin}: {error}") from None
        checked_int(self.budget, "budget", origin, minimum=1, maximum=MAX_EVALUATIONS)
        checked_int(self.seeds, "seeds", origin, minimum=1, maximum=MAX_SEEDS)
        checked_int(self.seed, "seed", origin, minimum=0, maximum=MAX_SEED - self.seeds)
        if self.target is not None and (isinstance(self.target, bool) or not isinstance(self.target, int | float)
                                        or not math.isfinite(self.target)):
            raise ConfigError(f"{origin}: \"target\" must be a finite number or null, got {brief(self.target)}")
        if not 1 <= len(self.entrants) <= MAX_ENTRANTS:
            raise ConfigError(f"{origin}: a race has 1 … {MAX_ENTRANTS} entrants, got {len(self.entrants)}")
        labels = [entrant.label for entrant in self.entrants]
        for entrant in self.entrants:
            where = f"{origin}: entrant {entrant.label!r}"
            if labels.count(entrant.label) > 1:
                raise ConfigError(f"{where} is given twice (give one a different value or label)")
            if len(entrant.label) > MAX_LABEL or not entrant.label.isprintable():
                raise ConfigError(f"{where}: a label is at most {MAX_LABEL} printable characters")
            if entrant.learner in LEARNER_NAMES and refusal(entrant.learner, objective) is not None:
                try:  # it will not run, but a typo in its values is still a typo
                    resolve(learner_class(entrant.learner).hyperparams, entrant.hyperparameters)
                except HyperParamError as error:
                    raise ConfigError(f"{where}: {error}") from None
            else:
                RunConfig.from_dict(entrant.run_config(self, self.seed).to_dict(), origin=where)

    # -- as JSON ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; :meth:`from_dict` reads them back to an equal config."""
        return {
            "format": RACE_FORMAT,
            "version": RACE_VERSION,
            "objective": self.objective,
            "dim": self.dim,
            "budget": self.budget,
            "seeds": self.seeds,
            "seed": self.seed,
            "target": self.target,
            "entrants": [entrant.to_dict() for entrant in self.entrants],
            **source_json(current_source(self.objective, self.recorded_source)),
        }

    @classmethod
    def from_dict(cls, data: Any, origin: str = "race configuration") -> RaceConfig:
        """A checked config; raises :class:`ConfigError` naming ``origin`` and the bad value."""
        check_header(data, origin, RACE_FORMAT, RACE_VERSION,
                     ("objective", "dim", "budget", "seeds", "seed", "target", "entrants", "objective_source"))
        objective = data.get("objective")
        if not isinstance(objective, str):
            raise ConfigError(f"{origin}: objective {brief(objective)} is not a name")
        try:
            objective_class(objective)
        except ObjectiveError as error:
            raise ConfigError(f"{origin}: {error}") from None
        entrants = data.get("entrants")
        if not isinstance(entrants, list):
            raise ConfigError(f"{origin}: \"entrants\" must be a list of {{\"learner\", \"hyperparameters\", "
                              f"\"label\"}} objects")
        dim = data.get("dim")
        config = cls(
            objective=objective,
            entrants=tuple(_entrant(item, f"{origin}: entrant {number}") for number, item in enumerate(entrants, 1)),
            budget=data.get("budget"),  # check() says what is wrong with it
            dim=None if dim is None else checked_int(dim, "dim", origin, minimum=1),
            seeds=data.get("seeds", DEFAULT_SEEDS),
            target=data.get("target"),
            seed=data.get("seed", 0),
            recorded_source=recorded_source(data, origin),
        )
        config.check(origin)
        return config

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> RaceConfig:
        """Read a race configuration file; any problem is a :class:`ConfigError` naming it."""
        text = read_config_file(path, "race configuration")
        return cls.from_dict(parse_json(text, str(path), "race configuration"), origin=str(path))


def _entrant(item: Any, origin: str) -> Entrant:
    if not isinstance(item, dict) or set(item) - {"learner", "hyperparameters", "label"}:
        raise ConfigError(f"{origin}: expected an object of \"learner\", \"hyperparameters\" and \"label\"")
    learner, values, label = item.get("learner"), item.get("hyperparameters", {}), item.get("label", "")
    if not isinstance(learner, str) or learner not in LEARNER_NAMES:
        raise ConfigError(f"{origin}: learner {brief(learner)} is not one of: {', '.join(LEARNER_NAMES)}")
    if not isinstance(values, dict):
        raise ConfigError(f"{origin}: \"hyperparameters\" must be an object of NAME: VALUE")
    if not isinstance(label, str):
        raise ConfigError(f"{origin}: \"label\" must be text")
    return Entrant(learner, values, label)


def default_budget(objective: str, dim: int | None) -> int:
    """:data:`BUDGET_PER_DIM` evaluations per dimension of ``objective`` in ``dim``."""
    return BUDGET_PER_DIM * make_objective(objective, dim).dim


# -- command-line text ----------------------------------------------------------------
def parse_values(learner: str, items: Iterable[str], option: str = "--set") -> dict[str, Value]:
    """``NAME=VALUE`` texts as ``learner``'s checked values; a :class:`ConfigError` names the bad one."""
    cls = learner_class(learner)
    values: dict[str, Value] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"{option} expects NAME=VALUE, got {item!r}")
        try:
            values[name.strip()] = cls.spec(name.strip()).parse(text)
        except ValueError as error:
            raise ConfigError(str(error)) from None
    return values


def parse_entrant(text: str) -> Entrant:
    """``"genetic sigma=0.3 population=50"``: a learner and its values (``--entrant``)."""
    learner, *items = text.split() or [""]
    if learner not in LEARNER_NAMES:
        raise ConfigError(f"--entrant {text!r}: {learner!r} is not a learner; "
                          f"known: {', '.join(LEARNER_NAMES)}")
    try:
        return Entrant(learner, parse_values(learner, items, option="each setting"))
    except ConfigError as error:
        raise ConfigError(f"--entrant {text!r}: {error}") from None


def parse_settings(items: Iterable[str]) -> dict[str, list[str]]:
    """``LEARNER.NAME=VALUE`` texts (a race's ``--set``) grouped by learner, as ``NAME=VALUE``."""
    settings: dict[str, list[str]] = {}
    for item in items:
        learner, dot, rest = item.partition(".")
        if not dot or learner not in LEARNER_NAMES:
            raise ConfigError(f"--set expects LEARNER.NAME=VALUE (learners: {', '.join(LEARNER_NAMES)}), "
                              f"got {item!r}")
        settings.setdefault(learner, []).append(rest)
    return settings
