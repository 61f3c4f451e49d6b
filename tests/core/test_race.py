"""Races: the same configuration gives the same race to the last row, whatever the chunks
or the interleaving; equal budgets; refused entrants left out; runs stored as one race."""

from __future__ import annotations

import numpy as np
import pytest
from session_helpers import FakeClock, TimedGenetic

from metalearn_gui.core.events import ChunkMessage
from metalearn_gui.core.learners import Chunk, Status
from metalearn_gui.core.race import EntrantEvent, Leaderboard, Race, RaceFinished, RunFinished, run_race
from metalearn_gui.core.race_config import Entrant, RaceConfig, parse_entrant
from metalearn_gui.core.race_results import TRACE_BLOCK, TRACE_COLUMNS, RunTrace, Standing, band, leaderboard
from metalearn_gui.core.run import ConfigError, RunConfig, run_to_end
from metalearn_gui.core.scheduler import Scheduler
from metalearn_gui.core.store import RunStore

RESULT_COLUMNS = [TRACE_COLUMNS.index(name) for name in ("step", "evaluations", "loss", "best_loss")]


def small_race(**options) -> RaceConfig:
    values = {"objective": "rastrigin", "dim": 3, "budget": 400, "seeds": 2, "target": 5.0,
              "entrants": (Entrant("genetic", {"population": 20}), Entrant("evolution"),
                           Entrant("genetic", {"population": 20, "sigma": 0.05}))}
    return RaceConfig(**{**values, **options})


def raced(config: RaceConfig, data_dir=None) -> tuple[Race, list]:
    events: list = []
    race = Race(config, events.append, data_dir=data_dir)
    run_race(race)
    return race, events


def rows(race: Race) -> list[tuple]:
    """Every run's rows but their seconds (the wall clock's), entrant by entrant, seed by seed."""
    return [(run.entrant, run.seed, run.status, run.evaluations_to_target, *row)
            for runs in race.results for run in runs for row in run.trace[:, RESULT_COLUMNS].tolist()]


def test_the_same_configuration_gives_the_same_race_to_the_last_row():
    first, second = raced(small_race())[0], raced(small_race())[0]
    assert rows(first) == rows(second) and len(rows(first)) > 50
    assert [s.entrant.label for s in first.standings()] == [s.entrant.label for s in second.standings()]
    assert rows(raced(small_race(seed=1))[0]) != rows(first)  # the seeds matter


def test_a_raced_run_has_the_rows_of_the_same_run_alone():
    """Interleaving with other entrants (or reusing the learner for the next seed) changes nothing."""
    config = small_race()
    race, _ = raced(config)
    for entrant, runs in zip(race.entrants, race.results, strict=True):
        for run in runs:
            alone = entrant.run_config(config, run.seed).build()
            chunks: list[Chunk] = []
            run_to_end(alone, run.seed, chunks.append, chunk_seconds=None, chunk_steps=7)
            table = np.concatenate([np.column_stack([c.step, c.evaluations, c.loss, c.best_loss]) for c in chunks])
            np.testing.assert_array_equal(run.trace[:, RESULT_COLUMNS], table)


def test_every_entrant_gets_the_same_budget_and_a_step_that_would_cross_it_is_not_taken():
    config = small_race(budget=250)
    race, events = raced(config)
    finished = [event for event in events if isinstance(event, RunFinished)]
    assert len(finished) == 6 and [event.done for event in finished] == list(range(1, 7))
    for entrant, runs in zip(race.entrants, race.results, strict=True):
        for run in runs:
            assert run.status is Status.FINISHED and run.evaluations <= 250
            learner = entrant.run_config(config, run.seed).build()
            learner.max_evaluations = None
            learner.reset(run.seed)
            learner.advance(max_steps=run.steps + 1)  # one step more than the race allowed …
            assert learner.evaluations > 250  # … would have crossed the budget
    assert isinstance(events[-1], RaceFinished) and not events[-1].stopped


def test_evaluations_to_target_is_the_first_evaluation_whose_best_reaches_it():
    race, _ = raced(small_race(target=8.0))
    reached = [run for runs in race.results for run in runs if run.evaluations_to_target is not None]
    assert reached
    for run in reached:
        trace = run.trace
        first = np.flatnonzero(trace[:, 3] <= 8.0)[0]
        assert run.evaluations_to_target == trace[first, 1]
    standing = next(s for s in race.standings() if s.reached)
    assert standing.reached == sum(r.evaluations_to_target is not None for r in standing.runs)


def test_a_trace_does_not_depend_on_how_the_rows_came_in_chunks():
    rng = np.random.default_rng(3)
    count = 3 * TRACE_BLOCK + 123  # several blocks thinned, and a partial one
    loss = rng.random(count) * np.linspace(10, 1, count)
    evaluations = np.arange(1, count + 1) * 3

    def traced(sizes: int) -> np.ndarray:
        trace = RunTrace(target=1.0)
        for start in range(0, count, sizes):
            part = slice(start, min(start + sizes, count))
            steps = np.arange(count)[part]
            best = np.minimum.accumulate(loss)[part]
            trace.add(Chunk(steps, loss[part], best, evaluations[part], np.zeros((len(steps), 1)), {}, {},
                            Status.RUNNING), seconds=float(start))
        return trace.table()[:, RESULT_COLUMNS]

    one, other = traced(1000), traced(777)
    np.testing.assert_array_equal(one, other)
    assert len(one) < count / 2 and one[-1, 0] == count - 1  # thinned, the last row kept


def test_a_refused_entrant_is_named_and_the_race_runs_without_it(tmp_path):
    config = RaceConfig("bbob-f01-i01", (Entrant("gradient"), Entrant("genetic", {"population": 10})),
                        budget=60, dim=2, seeds=2)
    race, _ = raced(config, tmp_path)
    assert list(race.refused) == ["gradient"] and "black box" in race.refused["gradient"]
    assert [entrant.label for entrant in race.entrants] == ["genetic population=10"]
    with RunStore.open(tmp_path) as store:
        assert [info.entrant for info in store.list_runs()] == ["genetic population=10"] * 2
    with pytest.raises(ConfigError, match="no entrant can run on bbob-f01-i01: learner 'gradient'"):
        Race(RaceConfig("bbob-f01-i01", (Entrant("gradient"),), budget=60, dim=2), print)


def test_every_run_is_stored_as_part_of_its_race(tmp_path):
    config = small_race()
    race, _ = raced(config, tmp_path)
    raced(config, tmp_path)  # a second race in the same store
    with RunStore.open(tmp_path) as store:
        runs, races = store.list_runs(), store.list_races()
        record = store.load(runs[0].id)
    assert [info.race_id for info in runs] == [1] * 6 + [2] * 6
    assert sorted(info.entrant for info in runs[:6]) == sorted([e.label for e in config.entrants] * 2)
    assert record.race is not None and record.race.race_id == 1 and record.race.entrant == runs[0].entrant
    assert RaceConfig.from_dict(races[0].config) == config  # its settings can be loaded again
    ids = {run.run_id for runs_ in race.results for run in runs_}
    assert ids == {info.id for info in runs[:6]}
    by_id = {info.id: info for info in runs}
    for run in (run for runs_ in race.results for run in runs_):
        assert by_id[run.run_id].evaluations == run.evaluations and by_id[run.run_id].best_loss == run.best_loss


def test_a_stopped_race_stores_its_runs_under_way_as_stopped(tmp_path):
    clock = FakeClock()
    events: list = []
    config = RaceConfig("sphere", (Entrant("genetic", {"population": 8}), Entrant("genetic", {"population": 9})),
                        budget=10**6, dim=2, seeds=3)
    race = Race(config, events.append, data_dir=tmp_path, clock=clock,
                build=lambda run: TimedGenetic(run, clock, 1e-3))
    scheduler = Scheduler()
    race.start(scheduler)
    for _ in range(5):
        scheduler.run_round()
    race.stop()
    assert isinstance(events[-1], RaceFinished) and events[-1].stopped and scheduler.sessions == []
    with RunStore.open(tmp_path) as store:
        runs = store.list_runs()
    assert [info.status for info in runs] == ["stopped", "stopped"] and all(info.steps > 10 for info in runs)
    assert [run.status for standing in events[-1].standings for run in standing.runs] == [Status.STOPPED] * 2


def test_the_leaderboard_ranks_by_evaluations_to_target_once_reached_else_by_median_best_loss():
    def standing(label: str, losses: list[float], reached: list[int | None]) -> Standing:
        runs = tuple(_result(label, seed, loss, evaluations) for seed, (loss, evaluations)
                     in enumerate(zip(losses, reached, strict=True)))
        return Standing(Entrant("genetic", label=label), runs, planned=3)

    slow = standing("slow", [0.1, 0.1, 0.1], [900, 800, 700])
    fast = standing("fast", [0.2, 0.2, 0.2], [100, 200, None])
    once = standing("once", [0.01, 0.01, 0.01], [50, None, None])  # its median run never reached it
    close = standing("close", [0.5, 0.02, 0.3], [None, None, None])
    assert [s.entrant.label for s in leaderboard([close, once, slow, fast])] == ["fast", "slow", "once", "close"]
    assert fast.median_evaluations_to_target == 200 and once.median_evaluations_to_target is None
    assert close.median_best_loss == 0.3 and fast.reached == 2


def test_the_band_is_the_median_and_quartiles_of_the_best_loss_so_far():
    runs = [_result("a", seed, 0.0, None, trace=[[0, 1, 9, 9, 0], [1, 10, 5 - seed, 5 - seed, 0]])
            for seed in range(3)]
    curves = band(runs, points=10)
    assert curves.evaluations[0] == 1 and curves.evaluations[-1] == 10
    assert curves.median[0] == 9 and curves.median[-1] == 4 and curves.low[-1] == 3.5 and curves.high[-1] == 4.5


def test_config_round_trip_and_one_line_errors():
    config = small_race(entrants=(parse_entrant("genetic sigma=0.3 population=50"), Entrant("neural", label="nn")))
    assert config.entrants[0].label == "genetic sigma=0.3 population=50"
    assert RaceConfig.from_dict(config.to_dict()) == config
    for change, named in [({"seeds": 0}, '"seeds" must be an integer ≥ 1, got 0'),
                          ({"colour": 1}, "unknown key 'colour'"),
                          ({"target": "low"}, '"target" must be a finite number or null'),
                          ({"entrants": [{"learner": "genetic", "hyperparameters": {"sigma": 99}}]},
                           "entrant 'genetic sigma=99': sigma=99 is out of range"),
                          ({"entrants": [{"learner": "genetic"}, {"learner": "genetic"}]},
                           "entrant 'genetic' is given twice"),
                          ({"entrants": [{"learner": "tabu"}]}, "entrant 1: learner 'tabu' is not one of")]:
        with pytest.raises(ConfigError) as error:
            RaceConfig.from_dict({**config.to_dict(), **change}, origin="race.json")
        message = str(error.value)
        assert message.startswith("race.json: ") and named in message and "\n" not in message
    with pytest.raises(ConfigError, match="--entrant 'genetic sigma=x': sigma='x' is not a number"):
        parse_entrant("genetic sigma=x")


def _result(label: str, seed: int, best: float, reached: int | None, trace=None):
    from metalearn_gui.core.race_results import RunResult

    table = np.array(trace if trace is not None else [[0, 1, best, best, 0.0]], dtype=float)
    return RunResult(label, seed, Status.FINISHED, best, int(table[-1, 1]), int(table[-1, 0]), reached, 1.0, table)


def test_run_config_of_an_entrant_is_bounded_by_the_budget_only():
    config = small_race()
    run = config.entrants[0].run_config(config, 4)
    assert run == RunConfig("genetic", "rastrigin", 3, steps=None, seed=4, hyperparameters={"population": 20},
                            budget=400)


def test_a_window_can_follow_the_leaderboard_while_the_race_runs():
    clock = FakeClock()
    events: list = []
    config = RaceConfig("sphere", (Entrant("genetic", {"population": 8}), Entrant("genetic", {"population": 16})),
                        budget=2000, dim=2, seeds=2, target=0.5)
    race = Race(config, events.append, chunks=True, clock=clock, build=lambda run: TimedGenetic(run, clock, 1e-3))
    scheduler = Scheduler()
    race.start(scheduler)
    scheduler.run_round()
    scheduler.post(race.publish_standings)
    scheduler.take_commands(0.0)
    [board] = [event for event in events if isinstance(event, Leaderboard)]
    assert [len(standing.runs) for standing in board.standings] == [1, 1]  # the runs under way
    assert all(run.status is Status.RUNNING and run.evaluations > 0 for s in board.standings for run in s.runs)
    chunks = [event for event in events if isinstance(event, EntrantEvent) and isinstance(event.event, ChunkMessage)]
    assert {event.entrant for event in chunks} == {0, 1} and {event.seed for event in chunks} == {0}
    for event in chunks:
        race.chunk_taken(event.entrant)


def test_a_run_whose_initial_design_spends_the_budget_is_stored_once(tmp_path):
    _, events = raced(small_race(budget=15), tmp_path)  # the genetic entrants' step 0 makes 20 evaluations
    with RunStore.open(tmp_path) as store:
        runs = store.list_runs()
    assert len(runs) == 6 and len([event for event in events if isinstance(event, RunFinished)]) == 6
    assert sorted(info.evaluations for info in runs if info.learner == "genetic") == [20] * 4
    assert all(info.steps == 0 and info.status == "finished" for info in runs if info.learner == "genetic")


def test_a_window_asking_for_fewer_chunks_gets_every_row_up_to_the_stop():
    clock = FakeClock()
    events: list = []
    config = RaceConfig("sphere", (Entrant("genetic", {"population": 8}), Entrant("genetic", {"population": 16})),
                        budget=10**9, dim=2, seeds=1)

    def take(event):
        events.append(event)
        if isinstance(event, EntrantEvent) and isinstance(event.event, ChunkMessage):
            race.chunk_taken(event.entrant)

    race = Race(config, take, chunks=True, hand_out_seconds=0.2, clock=clock,
                build=lambda run: TimedGenetic(run, clock, 1e-3))
    scheduler = Scheduler()
    race.start(scheduler)
    for _ in range(22):  # 1.1 s: each entrant's chunk lasts half of a round's 50 ms
        scheduler.run_round()
    race.stop()
    for entrant, session in enumerate(race.sessions):
        chunks = [event.event.chunk for event in events if isinstance(event, EntrantEvent)
                  and event.entrant == entrant and isinstance(event.event, ChunkMessage)]
        assert len(chunks) <= 1 + 5 + 1  # step 0, one every 0.2 s, the rows held at the stop
        steps = np.concatenate([chunk.step for chunk in chunks])
        assert steps.tolist() == list(range(session.learner.step + 1))  # none missing, none twice
