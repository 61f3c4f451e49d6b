"""A run: a learner configured from plain values, driven chunk by chunk to its end.

Shared by the command line, the window's worker and the run store, so that a run
described by the same configuration always means the same thing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metalearn_gui import __version__
from metalearn_gui.core.hyperparams import Value, brief
from metalearn_gui.core.learners import LEARNER_NAMES, Chunk, Learner, Status, learner_class, refusal
from metalearn_gui.core.objectives import ObjectiveError, make_objective, objective_class
from metalearn_gui.core.objectives.source import ObjectiveSource
from metalearn_gui.core.summary import RunSummary

#: Written into every configuration file; a file without it is not ours.
CONFIG_FORMAT = "metalearn-gui run configuration"
CONFIG_VERSION = 1
#: Limits on what a configuration may ask for: a step count or seed beyond these is a typo or
#: a hostile file, not a run (seeds also go into TensorFlow's and SQLite's 64-bit integers).
MAX_STEPS = 10**12
MAX_EVALUATIONS = 10**12
MAX_SEED = 2**63 - 1
#: A configuration file is a few hundred bytes; a larger one is refused unread.
MAX_CONFIG_BYTES = 1_000_000


class ConfigError(ValueError):
    """A configuration (file) that cannot describe a run; the message names the bad value."""


@dataclass(frozen=True)
class RunConfig:
    """A learner on an objective with a seed; ``steps=None`` runs until stopped (the GUI).

    ``budget``: at most this many true evaluations (the run finishes before a step would
    exceed it); None: no budget.
    """

    learner: str
    objective: str
    dim: int | None = None
    steps: int | None = 1000
    seed: int = 0
    hyperparameters: Mapping[str, Value] = field(default_factory=dict)
    budget: int | None = None
    #: A user objective's source as the configuration file recorded it (None: not read
    #: from a file, or a built-in objective); :meth:`source_warning` compares it with now.
    recorded_source: ObjectiveSource | None = field(default=None, compare=False)

    def objective_source(self) -> ObjectiveSource | None:
        """Where the objective comes from now (the recorded source if it cannot be built)."""
        return current_source(self.objective, self.recorded_source)

    def source_warning(self) -> str | None:
        """One line if the recorded objective file's content differs from the one that runs."""
        return source_warning(self.objective, self.recorded_source)

    def same_problem(self, other: RunConfig | None) -> bool:
        """Whether ``other``'s learner (and its compiled graphs) can serve this run by a reset."""
        return other is not None and (self.learner, self.objective, self.dim) == (
            other.learner, other.objective, other.dim)

    def build(self) -> Learner:
        """The configured learner, not yet reset; raises a ``ValueError`` subclass
        with a one-line message for any value that is not allowed."""
        objective = make_objective(self.objective, self.dim)
        reason = refusal(self.learner, objective)
        if reason is not None:
            raise ConfigError(reason)
        learner = learner_class(self.learner)(objective, self.hyperparameters, max_steps=self.steps)
        learner.max_evaluations = self.budget
        return learner

    # -- as JSON ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; :meth:`from_dict` reads them back to an equal config."""
        return {
            "format": CONFIG_FORMAT,
            "version": CONFIG_VERSION,
            "learner": self.learner,
            "objective": self.objective,
            "dim": self.dim,
            "steps": self.steps,
            "budget": self.budget,
            "seed": self.seed,
            "hyperparameters": dict(self.hyperparameters),
            **source_json(self.objective_source()),
        }

    @classmethod
    def from_dict(cls, data: Any, origin: str = "configuration") -> RunConfig:
        """A checked config; raises :class:`ConfigError` naming ``origin`` and the bad value.

        Unknown keys, unknown names and out-of-range values are refused rather than
        ignored: a reproduction that silently differs is worse than none.
        """
        check_header(data, origin, CONFIG_FORMAT, CONFIG_VERSION,
                     ("learner", "objective", "dim", "steps", "budget", "seed", "hyperparameters",
                      "objective_source"))
        learner, objective = data.get("learner"), data.get("objective")
        if not isinstance(learner, str) or learner not in LEARNER_NAMES:
            raise ConfigError(f"{origin}: learner {brief(learner)} is not one of: {', '.join(LEARNER_NAMES)}")
        if not isinstance(objective, str):
            raise ConfigError(f"{origin}: objective {brief(objective)} is not a name")
        try:
            objective_class(objective)
        except ObjectiveError as error:
            raise ConfigError(f"{origin}: {error}") from None
        dim = optional_int(data.get("dim"), "dim", origin, minimum=1)  # the objective checks its range
        steps = optional_int(data.get("steps"), "steps", origin, minimum=1, maximum=MAX_STEPS)
        budget = optional_int(data.get("budget"), "budget", origin, minimum=1, maximum=MAX_EVALUATIONS)
        seed = checked_int(data.get("seed", 0), "seed", origin, minimum=0, maximum=MAX_SEED)
        hyperparameters = data.get("hyperparameters", {})
        if not isinstance(hyperparameters, dict):
            raise ConfigError(f"{origin}: \"hyperparameters\" must be an object of NAME: VALUE")
        config = cls(learner, objective, dim, steps, seed, dict(hyperparameters), budget,
                     recorded_source(data, origin))
        try:
            config.build()  # checks the dimension and every hyper-parameter; cheap, no TensorFlow
        except ValueError as error:
            raise ConfigError(f"{origin}: {error}") from None
        return config

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, text: str, origin: str = "configuration") -> RunConfig:
        """:meth:`from_dict` of JSON ``text``; JSON that cannot be read is a :class:`ConfigError` too."""
        return cls.from_dict(parse_json(text, origin, "run configuration"), origin=origin)

    @classmethod
    def load(cls, path: Path) -> RunConfig:
        """Read a configuration file; any problem is a :class:`ConfigError` naming the file."""
        return cls.from_json(read_config_file(path, "run configuration"), origin=str(path))


def parse_json(text: str, origin: str, kind: str) -> Any:
    """The value of JSON ``text``; JSON that cannot be read is a :class:`ConfigError` naming
    ``origin`` (``kind``: what the text should have been, e.g. "run configuration")."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{origin}: not valid JSON ({error})") from None
    except RecursionError:
        raise ConfigError(f"{origin}: not a {kind} (JSON nested too deeply)") from None
    except ValueError as error:  # an integer of more digits than Python converts (4300)
        reason = str(error).split(";")[0]  # Python's own advice after ";" is not for users
        raise ConfigError(f"{origin}: not a {kind} ({reason})") from None


def read_config_file(path: Path, kind: str) -> str:
    """The text of a configuration file (at most :data:`MAX_CONFIG_BYTES`); any problem is a
    :class:`ConfigError` naming the file."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: {size:,} bytes is too large for a {kind} "
                              f"(at most {MAX_CONFIG_BYTES:,})")
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from None


def run_to_end(
    learner: Learner,
    seed: int,
    on_chunk: Callable[[Chunk], None] | None = None,
    chunk_seconds: float | None = 0.2,
    chunk_steps: int | None = None,
) -> float:
    """Reset ``learner`` with ``seed`` and advance it until it stops.

    Chunks end after ``chunk_seconds`` or ``chunk_steps`` steps, whichever comes
    first (``None``: no such bound); tests that need a run split into several chunks
    bound them by steps, which splits a run the same way on any machine. Every chunk,
    the step-0 one included, goes to ``on_chunk``. Returns the seconds spent advancing
    (the reset, which may import TensorFlow, excluded).
    """
    chunk = learner.reset(seed)
    if on_chunk:
        on_chunk(chunk)
    started = time.perf_counter()
    while learner.status is Status.RUNNING:
        chunk = learner.advance(max_steps=chunk_steps, max_seconds=chunk_seconds)
        if on_chunk:
            on_chunk(chunk)
    return time.perf_counter() - started


def summarize(learner: Learner, seconds: float) -> RunSummary:
    """The result of ``learner``'s run (reset at least), which took ``seconds`` of advancing."""
    if learner.seed is None:
        raise ValueError("a learner that was never reset has no result")
    objective, failure = learner.objective, learner.failure
    baseline, baseline_accuracy = objective.baseline_heldout_loss(), objective.baseline_heldout_accuracy()
    heldout = heldout_accuracy = None
    if baseline is not None and learner.theta_best is not None:
        heldout = _number(objective.heldout_loss(learner.theta_best))
        if baseline_accuracy is not None:
            heldout_accuracy = _number(objective.heldout_accuracy(learner.theta_best))
    return RunSummary(
        version=__version__,
        learner=learner.name,
        objective=objective.name,
        dim=objective.dim,
        seed=learner.seed,
        steps=learner.step,
        evaluations=learner.evaluations,
        status=learner.status,
        final_loss=_number(learner.last_loss),
        best_loss=_number(learner.best_loss),
        optimum=objective.optimum_value,
        theta_final=_vector(learner.theta),
        theta_best=_vector(learner.theta_best),
        steps_per_second=learner.step / seconds if seconds > 0 else None,
        hyperparameters=dict(learner.hp),
        diverged_at=learner.diverged_at,
        failed_at=None if failure is None else failure.evaluation.step,
        failure=None if failure is None else str(failure),
        heldout_loss=heldout,
        baseline_heldout_loss=_number(baseline),
        heldout_accuracy=heldout_accuracy,
        baseline_heldout_accuracy=_number(baseline_accuracy),
        objective_source=None if objective.source is None else objective.source.to_json(),
        evaluated_on=learner.evaluator.settings.describe() if learner.evaluator.uses_pool else None,
    )


# -- a user objective's source in configuration files ---------------------------------------
def current_source(objective: str, recorded: ObjectiveSource | None = None) -> ObjectiveSource | None:
    """Where ``objective`` comes from now (``recorded`` if it cannot be built)."""
    try:
        return objective_class(objective).source
    except ObjectiveError:
        return recorded


def source_json(source: ObjectiveSource | None) -> dict[str, Any]:
    """``{"objective_source": …}`` for a user's objective; nothing for a built-in one."""
    return {} if source is None else {"objective_source": source.to_json()}


def recorded_source(data: dict[str, Any], origin: str) -> ObjectiveSource | None:
    """The ``objective_source`` a configuration file recorded (None: none); raises
    :class:`ConfigError` naming ``origin`` for one that is not a source."""
    try:
        return None if data.get("objective_source") is None else ObjectiveSource.from_json(data["objective_source"])
    except ValueError as error:
        raise ConfigError(f"{origin}: {error}") from None


def source_warning(objective: str, recorded: ObjectiveSource | None) -> str | None:
    """One line if the file ``recorded`` hashes differs from the one ``objective`` runs now."""
    now = current_source(objective, recorded)
    if recorded is None or recorded.kind != "file" or now is None or now.sha256 == recorded.sha256:
        return None
    path = recorded.spec.rpartition(":")[0]
    return (f"warning: {path} has changed since the configuration was recorded (sha256 "
            f"{str(recorded.sha256)[:12]}… then, {str(now.sha256)[:12]}… now); running it as it is now")


def check_header(data: Any, origin: str, fmt: str, version: int, keys: tuple[str, ...]) -> None:
    """Refuse (:class:`ConfigError`) ``data`` unless it is a JSON object of format ``fmt`` and
    ``version`` holding no key but "format", "version" and ``keys``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a JSON object, got {type(data).__name__}")
    if data.get("format") != fmt:
        raise ConfigError(f"{origin}: not a {fmt} (\"format\" must be {fmt!r})")
    if data.get("version") != version:
        raise ConfigError(f"{origin}: configuration version {brief(data.get('version'))} is not "
                          f"supported (this is version {version})")
    known = ("format", "version", *keys)
    unknown = [key for key in data if key not in known]
    if unknown:
        raise ConfigError(f"{origin}: unknown key {brief(unknown[0])}; known: {', '.join(known)}")


def optional_int(value: Any, key: str, origin: str, minimum: int, maximum: int | None = None) -> int | None:
    return None if value is None else checked_int(value, key, origin, minimum, maximum)


def checked_int(value: Any, key: str, origin: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        wanted = f"an integer ≥ {minimum}"
    elif maximum is not None and value > maximum:
        wanted = f"at most {maximum:,}"
    else:
        return value
    raise ConfigError(f"{origin}: \"{key}\" must be {wanted}, got {brief(value)}")


def _number(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _vector(values: np.ndarray | None) -> tuple[float, ...] | None:
    return None if values is None else tuple(float(v) for v in values)
