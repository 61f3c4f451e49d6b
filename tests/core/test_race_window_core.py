"""What the window needs of a race besides the command line's: bands against steps and
seconds, pausing and resuming a race, and a stored race read back."""

from __future__ import annotations

import numpy as np
from session_helpers import FakeClock, TimedGenetic

from metalearn_gui.core.learners import Status
from metalearn_gui.core.race import Race, RaceFinished, run_race
from metalearn_gui.core.race_config import Entrant, RaceConfig
from metalearn_gui.core.race_results import TRACE_COLUMNS, band
from metalearn_gui.core.race_store import stored_race
from metalearn_gui.core.scheduler import Scheduler
from metalearn_gui.core.store import RunStore


def two_genetics(**options) -> RaceConfig:
    values = {"objective": "sphere", "dim": 2, "budget": 300, "seeds": 3, "target": 1e-2,
              "entrants": (Entrant("genetic", {"population": 10}), Entrant("genetic", {"population": 20}))}
    return RaceConfig(**{**values, **options})


def test_a_band_against_steps_or_seconds_follows_that_column():
    race = Race(two_genetics(), lambda event: None)
    run_race(race)
    runs = race.results[0]
    for x in ("step", "seconds"):
        column = TRACE_COLUMNS.index(x)
        drawn = band(runs, points=64, x=x)
        assert drawn is not None and drawn.x == x
        assert drawn.evaluations[0] == max(run.trace[0, column] for run in runs)
        assert drawn.evaluations[-1] == max(run.trace[-1, column] for run in runs)
        # At the last x every run has ended: the median of their best losses.
        assert drawn.median[-1] == np.median([run.best_loss for run in runs])
        assert np.all(np.diff(drawn.median) <= 0)  # best so far never rises
    by_steps = band(runs, points=64, x="step", log_x=True)
    assert by_steps is not None and by_steps.evaluations[0] == 1.0  # a log axis starts at step 1, not 0


def test_a_paused_race_takes_no_step_until_resumed():
    clock = FakeClock()
    events: list = []
    race = Race(two_genetics(budget=10**6, seeds=1), events.append, clock=clock,
                build=lambda run: TimedGenetic(run, clock, 1e-3))
    scheduler = Scheduler()
    race.start(scheduler)
    for _ in range(3):
        scheduler.run_round()
    race.pause()
    steps = [session.learner.step for session in race.sessions]
    for _ in range(3):
        scheduler.run_round()
    assert [session.learner.step for session in race.sessions] == steps and race.paused
    assert all(session.phase is Status.PAUSED for session in race.sessions)
    race.resume()
    scheduler.run_round()
    assert all(session.learner.step > step for session, step in zip(race.sessions, steps, strict=True))
    race.stop()
    assert isinstance(events[-1], RaceFinished)


def test_the_next_seed_of_a_paused_race_waits_for_resume():
    race = Race(two_genetics(budget=60, seeds=2), lambda event: None)
    scheduler = Scheduler()
    race.start(scheduler)
    race.pause()
    race.resume()  # the first seed's runs go on
    while not all(race.results):
        scheduler.run_round()
    race.pause()  # before the next seed, posted when the first one ended, is taken
    scheduler.take_commands(0.0)
    assert race.seed == race.config.seed + 1
    for _ in range(3):
        scheduler.run_round()
    assert [session.phase for session in race.sessions] == [Status.READY] * 2
    assert all(session.learner.step == 0 for session in race.sessions)
    race.resume()
    while not race.finished:
        scheduler.run_round()
        scheduler.take_commands(0.0)
    assert [len(runs) for runs in race.results] == [2, 2]


def test_a_stored_race_reads_back_as_its_leaderboard(tmp_path):
    config = two_genetics()
    race = Race(config, lambda event: None, data_dir=tmp_path)
    standings = run_race(race)
    with RunStore.open(tmp_path) as store:
        (info,) = store.list_races()
        read, stored = stored_race(store, info)
    assert read.config == config and read.race_id == info.id and read.refused == {}
    assert [s.entrant.label for s in stored] == [s.entrant.label for s in standings]
    for live, back in zip(standings, stored, strict=True):
        assert [run.seed for run in back.runs] == list(config.seed_values)
        assert back.best_losses == live.best_losses
        assert [run.evaluations for run in back.runs] == [run.evaluations for run in live.runs]
        assert [run.run_id for run in back.runs] == [run.run_id for run in live.runs]
        for run in back.runs:
            assert run.status is Status.FINISHED and np.all(np.diff(run.trace[:, 1]) >= 0)
            seconds = run.trace[:, TRACE_COLUMNS.index("seconds")]
            assert seconds[0] == 0 and np.all(np.diff(seconds) >= 0)


def test_a_live_change_applies_to_the_run_under_way_and_the_next_seed_starts_from_the_entrants_values():
    race = Race(two_genetics(budget=200, seeds=2), lambda event: None)
    scheduler = Scheduler()
    race.start(scheduler)
    scheduler.run_round()
    race.sessions[1].set_values({"sigma": 0.3})
    assert race.sessions[1].learner.hp["sigma"] == 0.3 and race.sessions[0].learner.hp["sigma"] != 0.3
    while race.seed == race.config.seed:
        scheduler.run_round()
        scheduler.take_commands(0.0)
    default = race.entrants[1].every_value(race.config)["sigma"]
    assert race.sessions[1].learner.hp["sigma"] == default != 0.3 and not race.sessions[1].learner.changes
