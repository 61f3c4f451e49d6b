"""A race: entrants side by side on one objective, at equal evaluation budgets, over seeds.

Each entrant is a :class:`~metalearn_gui.core.session.RunSession` on one
:class:`~metalearn_gui.core.scheduler.Scheduler`, so a race shares the thread by the
scheduler's fairness rule. The entrants of one seed run interleaved (all at once, as the
window shows them), the seeds one after another; a learner's rows depend only on its
seed and values, so interleaving changes the seconds, never the results. Every run is
stored in the run store as part of the race (:class:`~metalearn_gui.core.record.RaceEntry`).

What a race produces goes to ``on_event`` as plain values: each session's events tagged
with their entrant (:class:`EntrantEvent`), :class:`RunFinished` after each run and
:class:`RaceFinished` at the end. :func:`run_race` drives a race to its end without a
window (the command line, tests); a window posts :meth:`Race.start` to its worker's
scheduler instead and reads :meth:`Race.standings` for its live leaderboard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from metalearn_gui.core.events import ChunkMessage, Event, Notice, RunState
from metalearn_gui.core.learners import Chunk, Learner
from metalearn_gui.core.race_config import Entrant, RaceConfig
from metalearn_gui.core.race_results import RunResult, RunTrace, Standing, leaderboard
from metalearn_gui.core.record import RaceEntry
from metalearn_gui.core.run import ConfigError, RunConfig
from metalearn_gui.core.scheduler import Scheduler
from metalearn_gui.core.session import Recording, RunSession
from metalearn_gui.core.status import Status
from metalearn_gui.core.store import RunStore, StoreError


@dataclass(frozen=True)
class EntrantEvent:
    """An event of entrant number ``entrant``'s session, during its run with ``seed``."""

    entrant: int
    seed: int
    event: Event


@dataclass(frozen=True)
class RunFinished:
    """A run of the race ended; ``done`` of ``total`` runs have."""

    entrant: int
    result: RunResult
    done: int
    total: int


@dataclass(frozen=True)
class RaceFinished:
    """Every run ended (``stopped``: the race was stopped first); the final leaderboard."""

    standings: tuple[Standing, ...]
    stopped: bool = False


@dataclass(frozen=True)
class Leaderboard:
    """The leaderboard as it stands (:meth:`Race.publish_standings`), runs under way included."""

    standings: tuple[Standing, ...]


RaceEvent = EntrantEvent | RunFinished | RaceFinished | Leaderboard


class Race:
    """A race of ``config``'s entrants, less those the objective refuses (:attr:`refused`:
    label → one-line reason). Runs are stored in ``data_dir``'s run store (None: not stored).
    With ``chunks``, the sessions' :class:`ChunkMessage` events are passed on, and the consumer
    must call :meth:`chunk_taken` for each (a window drawing them); without, the race takes
    them itself and passes on none (the command line needs only results); ``hand_out_seconds``:
    at most how often each session hands one out (see :attr:`RunSession.hand_out_seconds`).
    ``landscapes``: whether the sessions compute landscapes (see :attr:`RunSession.draws_landscape`).

    Every method but :meth:`chunk_taken` and :meth:`request_abandon` runs on the scheduler's
    thread. Raises :class:`ConfigError` if no entrant can run.
    """

    def __init__(self, config: RaceConfig, on_event: Callable[[RaceEvent], None], *,
                 data_dir: Path | None = None, source: str = "cli", chunks: bool = False, landscapes: bool = False,
                 hand_out_seconds: float = 0.0, clock: Callable[[], float] = time.perf_counter,
                 build: Callable[[RunConfig], Learner] = RunConfig.build) -> None:
        self.config = config
        self.on_event = on_event
        self.data_dir = data_dir
        self.chunks = chunks
        self.refused = config.refusals()
        self.entrants = tuple(entrant for entrant in config.entrants if entrant.label not in self.refused)
        if not self.entrants:
            raise ConfigError("no entrant can run on " + config.objective + ": "
                              + "; ".join(self.refused.values()))
        self.race_id: int | None = None
        self.scheduler: Scheduler | None = None
        self.results: list[list[RunResult]] = [[] for _ in self.entrants]
        self.finished = False
        self.paused = False
        self._traces: list[RunTrace | None] = [None] * len(self.entrants)
        self._seed_index = 0
        self.sessions = [RunSession(self._events_of(index), clock=clock, build=build, source=source,
                                    on_rows=self._rows_of(index)) for index in range(len(self.entrants))]
        for session in self.sessions:
            session.draws_landscape = landscapes
            session.hand_out_seconds = hand_out_seconds

    @property
    def seed(self) -> int:
        """The seed of the runs under way."""
        return self.config.seed_values[min(self._seed_index, self.config.seeds - 1)]

    @property
    def total_runs(self) -> int:
        return len(self.entrants) * self.config.seeds

    # -- the scheduler's thread ------------------------------------------------------------
    def start(self, scheduler: Scheduler) -> None:
        """Store the race, add its sessions to ``scheduler`` and start the first seed's runs."""
        self.scheduler = scheduler
        if self.data_dir is not None:
            self.race_id = self._store_race()
        for entrant, session in zip(self.entrants, self.sessions, strict=True):
            if self.race_id is not None:
                session.race = RaceEntry(self.race_id, entrant.label)
                session.set_recording(Recording(self.data_dir))
        scheduler.sessions.extend(self.sessions)
        self._start_seed()

    def stop(self) -> None:
        """End the race now: runs under way are stored as stopped."""
        if not self.finished:
            self._end(stopped=True)

    def pause(self) -> None:
        """Pause the runs under way (a run's seconds count only its advancing); the next
        seed's runs wait too, until :meth:`resume`."""
        self.paused = True
        for session in self.sessions:
            if session.running:
                session.pause()

    def resume(self) -> None:
        """Go on with the runs under way (those paused, or prepared while the race was)."""
        self.paused = False
        for trace, session in zip(self._traces, self.sessions, strict=True):
            if trace is not None and session.phase in (Status.PAUSED, Status.READY):
                session.start()

    def show_landscape_of(self, entrant: int, axes: tuple[int, ...]) -> None:
        """Compute landscapes for entrant number ``entrant`` only (on the plane of ``axes``
        through its θ): a window shows one landscape, the selected entrant's."""
        for index, session in enumerate(self.sessions):
            session.draws_landscape = index == entrant
        self.sessions[entrant].set_landscape_axes(axes)

    def set_speed(self, steps_per_second: float | None) -> None:
        """Every entrant's pace (None: as fast as it goes)."""
        for session in self.sessions:
            session.set_speed(steps_per_second)

    def request_abandon(self) -> None:
        """Give up on objectives that have not answered, before posting :meth:`stop` (any thread)."""
        for session in self.sessions:
            session.request_abandon()

    def chunk_taken(self, entrant: int) -> None:
        """The consumer took one of entrant number ``entrant``'s chunks (any thread)."""
        self.sessions[entrant].chunk_taken()

    def publish_standings(self) -> None:
        """Hand out the :class:`Leaderboard` as it stands: a window posts this to the scheduler
        as often as it redraws its table (:meth:`standings` reads the sessions' state, so
        only the scheduler's thread may call it)."""
        self.on_event(Leaderboard(tuple(self.standings())))

    def standings(self) -> list[Standing]:
        """The leaderboard as it stands: ended runs and those under way, ranked."""
        standings = []
        for index, entrant in enumerate(self.entrants):
            runs = list(self.results[index])
            trace = self._traces[index]
            if trace is not None:
                runs.append(self._result(index, trace, self.sessions[index].phase))
            standings.append(Standing(entrant, tuple(runs), self.config.seeds))
        return leaderboard(standings)

    # -- internals --------------------------------------------------------------------------
    def _store_race(self) -> int | None:
        try:
            with RunStore.open(self.data_dir) as store:
                return store.begin_race(self.config.to_dict(), datetime.now(UTC).isoformat(timespec="seconds"))
        except StoreError as error:
            self.data_dir = None
            self.on_event(EntrantEvent(0, self.seed, Notice("warning", f"the race is not saved: {error}")))
            return None

    def _start_seed(self) -> None:
        # Every trace first: a run that fails in its preparation must find the others under way.
        self._traces = [RunTrace(self.config.target) for _ in self.entrants]
        for index, (entrant, session) in enumerate(zip(self.entrants, self.sessions, strict=True)):
            run = entrant.run_config(self.config, self.seed)
            if session.learner is not None and session.learner.changes:
                # A window's live change applied to one seed's run; the next starts from the entrant's values.
                run = replace(run, hyperparameters=entrant.every_value(self.config))
            session.prepare(run)
            learner = session.learner
            if session.phase is not Status.READY or learner is None:
                continue  # its preparation failed: its result is in
            if learner.status.is_finished():  # step 0 spent the budget: started, it would run again
                self._run_ended(index, learner.status, session.message)
            elif not self.paused:
                session.start()

    def _events_of(self, index: int) -> Callable[[Event], None]:
        def on_event(event: Event) -> None:
            if isinstance(event, ChunkMessage) and not self.chunks:
                self.sessions[index].chunk_taken()
            else:
                self.on_event(EntrantEvent(index, self.seed, event))
            if isinstance(event, RunState) and event.phase.is_finished() and not self.finished:
                self._run_ended(index, event.phase, event.message)

        return on_event

    def _rows_of(self, index: int) -> Callable[[Chunk, float], None]:
        def on_rows(chunk: Chunk, seconds: float) -> None:
            trace = self._traces[index]
            if trace is not None:
                if len(chunk) and chunk.step[0] == 0:  # a (re)started run
                    trace = self._traces[index] = RunTrace(self.config.target)
                trace.add(chunk, seconds)

        return on_rows

    def _run_ended(self, index: int, status: Status, message: str) -> None:
        trace, self._traces[index] = self._traces[index], None
        if trace is None:  # this run's end was already counted
            return
        result = self._result(index, trace, status, message)
        self.results[index].append(result)
        done = sum(map(len, self.results))
        self.on_event(RunFinished(index, result, done, self.total_runs))
        if all(trace is None for trace in self._traces):
            assert self.scheduler is not None  # started
            # Not from inside a session's event: the next seed begins between rounds.
            self.scheduler.post(self._next_seed)

    def _next_seed(self) -> None:
        if self.finished:
            return
        self._seed_index += 1
        if self._seed_index < self.config.seeds:
            self._start_seed()
        else:
            self._end(stopped=False)

    def _end(self, stopped: bool) -> None:
        for index, trace in enumerate(self._traces):
            if trace is not None:  # under way: stopped
                self.results[index].append(self._result(index, trace, Status.STOPPED))
        self._traces = [None] * len(self.entrants)
        self.finished = True
        for session in self.sessions:
            session.hand_out_held()  # the consumer's views end at the last row
            session.leave()  # a run under way ends as stopped; the session's store closes
            if self.scheduler is not None and session in self.scheduler.sessions:
                self.scheduler.sessions.remove(session)
        self.on_event(RaceFinished(tuple(self.standings()), stopped))

    def _result(self, index: int, trace: RunTrace, status: Status, message: str = "") -> RunResult:
        recorder = self.sessions[index].recorder
        run_id = recorder.run_id if recorder is not None else None
        return RunResult.of(trace, self.entrants[index].label, self.seed, status, run_id, message)


def run_race(race: Race, between_rounds: Callable[[], None] = lambda: None) -> list[Standing]:
    """Run ``race`` to its end on this thread (no window); ``between_rounds`` is called after
    each round (a place to stop at). Returns the final leaderboard."""
    scheduler = Scheduler()
    race.start(scheduler)
    while not race.finished:
        scheduler.take_commands(0.0)
        if not race.finished:
            scheduler.run_round()
        between_rounds()
    return race.standings()


__all__ = ["Entrant", "EntrantEvent", "Leaderboard", "Race", "RaceConfig", "RaceEvent", "RaceFinished",
           "RunFinished", "run_race"]
