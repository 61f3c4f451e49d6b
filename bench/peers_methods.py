"""The methods of the peer benchmark, each run on one objective within an evaluation budget.

Our learners run with default hyper-parameters through their public interface
(``learner_class(name)(objective)``, ``reset``, ``advance``); the peers are Optuna's TPE
and CMA-ES samplers, pycma with IPOP restarts, and uniform random search. Every method's
evaluations go into a :class:`Recorder` that keeps where the best-so-far improved.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from peers_ecdf import Curve

from metalearn_gui.core.learners import LEARNER_NAMES, Status, learner_class
from metalearn_gui.core.objectives import Objective, make_objective

#: Our learners measured (those registered; ``evolution`` may not be yet).
LEARNERS = ("neural", "genetic", "evolution")
PEERS = ("optuna-tpe", "optuna-cmaes", "pycma-ipop", "random")
#: Every method, in the order of tables and figure colours.
METHODS = (*LEARNERS, *PEERS)
#: Peers whose every step costs milliseconds (a model refit or a sampler's bookkeeping):
#: they get the short budget, like our learners that use TensorFlow.
EXPENSIVE_PEERS = frozenset({"optuna-tpe", "optuna-cmaes"})
#: CMA-ES's initial step size as a share of the box's width (2 on BBOB's [−5, 5]).
SIGMA0_SHARE = 0.2
#: Steps per ``advance`` call of our learners: a run stopped at the final target wastes at most this.
CHUNK_STEPS = 100
RANDOM_BATCH = 1000


def available(method: str) -> bool:
    return method in PEERS or method in LEARNER_NAMES


def is_expensive(method: str) -> bool:
    """Whether ``method`` gets the short budget (a model-based method's)."""
    return method in EXPENSIVE_PEERS or (method in LEARNER_NAMES and learner_class(method).uses_tensorflow)


def stable_seed(*parts: object) -> int:
    """A seed from the parts' text (the same in every process and Python session)."""
    return zlib.crc32("|".join(map(str, parts)).encode()) & 0x7FFFFFF


@dataclass(frozen=True)
class Task:
    """One run: ``method`` on ``problem`` in ``dim`` D, repetition ``repeat``, at most
    ``budget`` evaluations; it stops early once the best precision is ≤ ``stop_below``."""

    method: str
    problem: str
    dim: int
    repeat: int
    budget: int
    stop_below: float = -math.inf
    #: Evaluations at which the run's final quality is reported (own objectives).
    checkpoints: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.method}__{self.problem}__{self.dim}d__r{self.repeat}__b{self.budget}"

    @property
    def seed(self) -> int:
        """The method's seed: by (method, problem), never by the process that runs it."""
        return stable_seed(self.method, self.problem, self.dim, self.repeat)

    def start(self, objective: Objective) -> np.ndarray:
        """A random point in the box, the same for every method of this problem and repetition."""
        rng = np.random.default_rng(stable_seed("start", self.problem, self.dim, self.repeat))
        low, high = objective.bounds
        return rng.uniform(low, high, objective.dim)


class Finished(Exception):
    """The run has spent its budget or reached its final target (ends a peer's loop)."""


class Recorder:
    """Counts a run's evaluations and keeps where its best precision (f − f_opt; f where
    f_opt is unknown) improved, with the θ that improved it."""

    def __init__(self, objective: Objective, task: Task) -> None:
        self.objective, self.task = objective, task
        self.offset = objective.optimum_value or 0.0
        self.noise = np.random.default_rng(stable_seed("noise", task.method, task.problem, task.dim, task.repeat))
        self.count = 0
        self.best = math.inf
        self.evaluations: list[int] = []
        self.values: list[float] = []
        self.thetas: list[np.ndarray] = []

    @property
    def finished(self) -> bool:
        return self.count >= self.task.budget or self.best <= self.task.stop_below

    def record(self, counts: np.ndarray, losses: np.ndarray, thetas: np.ndarray) -> None:
        """Note losses of ``thetas`` reached at cumulative evaluation ``counts`` (rows past the
        budget are ignored: a learner's last step may cross it)."""
        within = counts <= self.task.budget
        gaps = np.where(np.isfinite(losses), losses - self.offset, np.inf)[within]
        counts, thetas = counts[within], thetas[within]
        running = np.minimum.accumulate(np.concatenate([[self.best], gaps]))
        for row in np.flatnonzero(running[1:] < running[:-1]):
            self.evaluations.append(int(counts[row]))
            self.values.append(float(gaps[row]))
            self.thetas.append(np.array(thetas[row]))
        self.best = float(running[-1])

    def evaluate(self, thetas: np.ndarray) -> np.ndarray:
        """The losses of ``thetas`` (n, D), as many as the budget allows."""
        if self.finished:
            raise Finished
        thetas = np.asarray(thetas, dtype=np.float64)[: self.task.budget - self.count]
        losses = self.objective.loss_np(thetas, self.noise)
        self.record(self.count + np.arange(1, len(thetas) + 1), losses, thetas)
        self.count += len(thetas)
        return losses

    def generation(self, thetas) -> list[float]:
        """A whole population's losses in one call (a noisy objective draws one batch of tasks for
        it); :class:`Finished` if the budget ends within it."""
        thetas = np.asarray(thetas, dtype=np.float64)
        losses = self.evaluate(thetas)
        if len(losses) < len(thetas):
            raise Finished
        return losses.tolist()

    def __call__(self, theta) -> float:
        return float(self.evaluate(np.asarray(theta, dtype=np.float64)[None, :])[0])

    def curve(self) -> Curve:
        return Curve(np.array(self.evaluations, dtype=np.int64), np.array(self.values), self.task.budget)

    def quality_at(self, evaluations: int) -> float:
        """The run's result after ``evaluations``: the held-out loss of its best θ on an objective
        with held-out tasks (its own losses are noisy), else its best precision."""
        index = int(np.searchsorted(self.evaluations, evaluations, side="right")) - 1
        if index < 0:
            return math.inf
        heldout = self.objective.heldout_loss(self.thetas[index])
        return float(heldout) if heldout is not None else self.values[index]


# -- the methods -----------------------------------------------------------------------------
def run_learner(name: str, recorder: Recorder) -> None:
    """Our learner ``name`` with default hyper-parameters, stepped while the next step fits the
    budget (a step's cost: ``evaluations_next_step()``, or what the last steps cost if more)."""
    task = recorder.task
    learner = learner_class(name)(recorder.objective)
    chunk = learner.reset(task.seed)
    per_step = float(chunk.evaluations[-1])
    while True:
        recorder.record(chunk.evaluations, chunk.loss, chunk.theta)
        recorder.count = learner.evaluations
        cost = max(learner.evaluations_next_step(), math.ceil(per_step))
        steps = (task.budget - learner.evaluations) // cost
        if learner.status is not Status.RUNNING or recorder.finished or steps < 1:
            return
        evaluations, step = learner.evaluations, learner.step
        chunk = learner.advance(max_steps=min(steps, CHUNK_STEPS))
        per_step = (learner.evaluations - evaluations) / max(learner.step - step, 1)


def run_random(recorder: Recorder) -> None:
    rng = np.random.default_rng(recorder.task.seed)
    low, high = recorder.objective.bounds
    while not recorder.finished:
        count = min(RANDOM_BATCH, recorder.task.budget - recorder.count)
        recorder.evaluate(rng.uniform(low, high, (count, recorder.objective.dim)))


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def run_optuna(sampler, recorder: Recorder) -> None:
    """An Optuna study over the box, asked and told one trial at a time."""
    optuna = _optuna()
    low, high = recorder.objective.bounds
    names = [f"x{i}" for i in range(recorder.objective.dim)]
    space = {name: optuna.distributions.FloatDistribution(low, high) for name in names}
    study = optuna.create_study(sampler=sampler)
    while not recorder.finished:
        trial = study.ask(space)
        study.tell(trial, recorder(np.array([trial.params[name] for name in names])))


def run_optuna_tpe(recorder: Recorder) -> None:
    run_optuna(_optuna().samplers.TPESampler(seed=recorder.task.seed), recorder)


def _sigma0(objective: Objective) -> float:
    low, high = objective.bounds
    return SIGMA0_SHARE * (high - low)


def run_optuna_cmaes(recorder: Recorder) -> None:
    # From the run's random start: by default it starts at the box's centre, the optimum
    # of several test functions.
    start = recorder.task.start(recorder.objective)
    with warnings.catch_warnings():  # Optuna 4.9 deprecated x0 and sigma0 (gone in 6) and offers no successor
        warnings.filterwarnings("ignore", message="`(x0|sigma0)` has been deprecated", category=FutureWarning)
        sampler = _optuna().samplers.CmaEsSampler(
            x0={f"x{i}": float(value) for i, value in enumerate(start)},
            sigma0=_sigma0(recorder.objective), seed=recorder.task.seed)
    run_optuna(sampler, recorder)


def _cma():
    with warnings.catch_warnings():  # "Could not import matplotlib": its plots are not used
        warnings.simplefilter("ignore")
        import cma
    return cma


def run_pycma_ipop(recorder: Recorder) -> None:
    """pycma's ``fmin`` with up to 9 IPOP restarts (population doubled each time), each
    generation evaluated in one call (one point a call made ``lr-schedule`` cost ~3 ms an evaluation)."""
    task, objective = recorder.task, recorder.objective
    low, high = objective.bounds
    options = {"bounds": [low, high], "maxfevals": task.budget, "seed": task.seed + 1,
               "verbose": -9, "verb_log": 0, "verb_disp": 0}
    with contextlib.suppress(Finished):
        _cma().fmin(recorder, task.start(objective), _sigma0(objective), restarts=9, incpopsize=2,
                    options=options, parallel_objective=recorder.generation)


_PEER_RUNNERS: dict[str, Callable[[Recorder], None]] = {
    "optuna-tpe": run_optuna_tpe, "optuna-cmaes": run_optuna_cmaes,
    "pycma-ipop": run_pycma_ipop, "random": run_random,
}
_PEER_IMPORTS: dict[str, Callable[[], object]] = {"optuna-tpe": _optuna, "optuna-cmaes": _optuna, "pycma-ipop": _cma}


def import_method(method: str) -> None:
    """Import what ``method`` needs (untimed: a run's seconds exclude imports)."""
    if method in _PEER_IMPORTS:
        _PEER_IMPORTS[method]()
    elif method in LEARNER_NAMES and learner_class(method).uses_tensorflow:
        from metalearn_gui.core.tf_runtime import get_tf

        get_tf()


def run_task(task: Task) -> dict:
    """Run ``task``: its curve (where the best precision improved), evaluations, seconds
    (wall-clock, the method's imports excluded) and quality at its checkpoints."""
    objective = make_objective(task.problem, task.dim)
    import_method(task.method)
    recorder = Recorder(objective, task)
    started = time.perf_counter()
    if task.method in _PEER_RUNNERS:
        _PEER_RUNNERS[task.method](recorder)
    else:
        run_learner(task.method, recorder)
    seconds = time.perf_counter() - started
    return {
        "key": task.key, "method": task.method, "problem": task.problem, "dim": task.dim,
        "repeat": task.repeat, "budget": task.budget, "evaluations": recorder.count, "seconds": seconds,
        "curve_evaluations": recorder.evaluations, "curve_values": recorder.values,
        "quality": {str(at): recorder.quality_at(at) for at in task.checkpoints},
    }
