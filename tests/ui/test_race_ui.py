"""Race mode in the window (offscreen): a race runs to its end and is stored as one race,
the leaderboard ranks it, the x axis switches, refused learners cannot be picked, a
stored race reopens from the Runs panel, sliders apply to the selected entrant, and
closing the window mid-race does not hang."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from ui_helpers import wait_phase

from metalearn_gui.core.learners import LEARNER_NAMES
from metalearn_gui.core.race_config import Entrant, RaceConfig
from metalearn_gui.core.race_results import TRACE_COLUMNS, RunResult, Standing, leaderboard
from metalearn_gui.core.status import Status
from metalearn_gui.core.store import RunStore
from metalearn_gui.plots.race_plot import entrant_color
from metalearn_gui.ui.race_dialog import RaceDialog
from metalearn_gui.ui.race_leaderboard import DASH, Leaderboard

RACE_MS = 60_000


def small_race(**options) -> RaceConfig:
    values = {"objective": "sphere", "dim": 2, "budget": 300, "seeds": 2, "target": 1e-3,
              "entrants": (Entrant("genetic", {"population": 20}), Entrant("evolution"))}
    return RaceConfig(**{**values, **options})


def race_to_end(qtbot, window, config: RaceConfig):
    mode = window.race_mode
    assert mode.start(config)
    qtbot.waitUntil(lambda: mode.finished and len(mode.standings) == len(config.entrants)
                    and all(len(s.runs) == config.seeds for s in mode.standings), timeout=RACE_MS)
    return mode


def drawn(curve) -> int:
    x, _ = curve.getData()
    return 0 if x is None else len(x)


def stored_races(window):
    with RunStore.open(window.data_dir) as store:
        return store.list_races(), store.list_runs()


def test_a_two_entrant_race_runs_to_its_end_ranked_stored_as_one_race_and_exported(make_window, qtbot, tmp_path,
                                                                                      monkeypatch):
    window = make_window("genetic", "sphere", 2)
    races_before, _ = stored_races(window)
    config = small_race()
    mode = race_to_end(qtbot, window, config)

    assert mode.race_plot.isVisible() and mode.leaderboard.isVisible()
    assert not window.loss_plot.isVisible() and window.panel_scroll.widget() is mode.panel
    board = mode.leaderboard
    assert [row[1] for row in board.rows] == [s.entrant.label for s in leaderboard(mode.standings)]
    for row, standing in zip(board.rows, mode.standings, strict=True):
        assert row[8] == "2 of 2"  # seeds done
        assert row[4] == f"{standing.reached} of 2"
        assert row[3] == (DASH if standing.median_evaluations_to_target is None
                          else f"{standing.median_evaluations_to_target:,.0f}")
        assert all(run.evaluations <= config.budget for run in standing.runs)
    assert mode.panel.progress.value() == 4
    # Each entrant's median is drawn in the loss plot; its path is on the landscape.
    qtbot.waitUntil(lambda: all(drawn(curves.main) > 10 for curves in mode.race_plot.curves[:2]))
    qtbot.waitUntil(lambda: all(drawn(path) > 1 for path in mode.trajectories.paths))

    races, runs = stored_races(window)
    (race,) = [race for race in races if race not in races_before]
    members = [info for info in runs if info.race_id == race.id]
    assert len(members) == 4 and {info.entrant for info in members} == {e.label for e in config.entrants}
    assert RaceConfig.from_dict(race.config) == config

    export_dir = tmp_path / "race export"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(export_dir))
    mode.panel.export_button.click()
    assert RaceConfig.load(export_dir / "config.json") == config
    summary = json.loads((export_dir / "race.json").read_text())
    assert [entrant["label"] for entrant in summary["entrants"]] == [row[1] for row in board.rows]
    assert summary["race_id"] == race.id
    assert (export_dir / "race.csv").read_text().startswith("entrant,seed,evaluations,loss,best_loss,seconds")
    assert (export_dir / "race-loss.png").stat().st_size > 0 and b"<svg" in (export_dir / "race-loss.svg").read_bytes()

    mode.leave()
    wait_phase(qtbot, window, "ready")
    assert window.loss_plot.isVisible() and not mode.race_plot.isVisible() and not mode.leaderboard.isVisible()
    assert window.panel_scroll.widget() is window.panel and window.step_action.isEnabled()


def test_the_x_axis_switches_between_evaluations_seconds_and_steps(make_window, qtbot):
    window = make_window("genetic", "sphere", 2)
    mode = race_to_end(qtbot, window, small_race(seeds=1))
    plot = mode.race_plot
    run = next(s for s in mode.standings if s.entrant.label == mode.labels[0]).runs[0]
    assert (run.trace[-1, 0], run.trace[-1, 1]) == (run.steps, run.evaluations)
    for column in ("step", "evaluations", "seconds"):
        last = run.trace[-1, TRACE_COLUMNS.index(column)]
        plot.set_x_column(column)  # redraws at once
        x, _ = plot.curves[0].main.getData()
        assert x[-1] == last and np.all(np.diff(x) >= 0)
        assert plot.plot.getAxis("bottom").labelText == plot.x_box.currentText()


def test_the_dialog_disables_refused_learners_and_names_a_bad_value(qtbot):
    dialog = RaceDialog("bbob-f08-i01", 2, 0, [Entrant("gradient"), Entrant("genetic")])
    qtbot.addWidget(dialog)
    box = dialog.rows[0].learner_box
    gradient = LEARNER_NAMES.index("gradient")
    assert not box.model().item(gradient).isEnabled()
    assert "gradient" in box.itemData(gradient, 3)  # the refusal as the item's tooltip
    assert "gradient" not in [row.learner() for row in dialog.rows]  # replaced by a learner that applies
    dialog.rows[1].values_edit.setText("sigma=lots")
    dialog.accept()
    assert dialog.config() is None and "sigma" in dialog.error.text() and not dialog.result()
    dialog.rows[1].values_edit.setText("sigma=0.3")
    dialog.target_edit.setText("1e-4")
    dialog.accept()
    config = dialog.config()
    assert config is not None and config.entrants[1].hyperparameters == {"sigma": 0.3} and config.target == 1e-4


def test_a_stored_race_reopens_from_the_runs_panel(make_window, qtbot):
    window = make_window("genetic", "sphere", 2)
    config = small_race(seeds=1, budget=200)
    mode = race_to_end(qtbot, window, config)
    race_id = mode.race.race_id
    mode.leave()
    wait_phase(qtbot, window, "ready")
    window.runs_action.trigger()
    panel = window.runs_panel
    qtbot.waitUntil(lambda: panel is not None and panel.isVisible())
    run_id = next(info.id for info in panel._infos if info.race_id == race_id)
    panel.select_run(run_id)
    assert panel.race_button.isEnabled()
    panel.race_button.click()
    assert mode.active and mode.stored is not None and mode.stored.race_id == race_id
    assert [row[1] for row in mode.leaderboard.rows] == [s.entrant.label for s in mode.standings]
    assert len(mode.standings) == 2 and mode.config == config
    mode.race_plot.refresh()
    assert drawn(mode.race_plot.curves[1].main) > 1
    assert not mode.panel.pause_button.isEnabled()
    mode.run_again()  # its settings, raced again
    assert mode.live and mode.config == config
    mode.stop()


def test_a_slider_applies_to_the_selected_entrant_only_and_space_pauses_the_race(make_window, qtbot):
    window = make_window("genetic", "sphere", 2)
    mode = window.race_mode
    config = small_race(seeds=1, budget=10**7, entrants=(Entrant("genetic"), Entrant("genetic", {"sigma": 0.2})))
    mode.start(config)
    qtbot.waitUntil(lambda: all(state is not None and state.phase == "running" for state in mode.states))
    mode.select(1)
    assert "sigma=0.2" in mode.panel.hp_group.title()
    mode.panel.controls["sigma"].set_value(0.05)
    mode.panel.controls["sigma"].value_committed.emit("sigma", 0.05)
    qtbot.waitUntil(lambda: mode.states[1].changes != (), timeout=RACE_MS)
    assert mode.states[1].changes[0].name == "sigma" and mode.states[1].hp["sigma"] == 0.05
    assert mode.states[0].changes == ()
    qtbot.waitUntil(lambda: len(mode.race_plot.markers) == 1)
    assert mode.race_plot.markers[0].pen.color().name().lower() == mode.race_plot.curves[1].color.lower()

    qtbot.keyClick(window, Qt.Key.Key_Space)  # pauses every entrant …
    qtbot.waitUntil(lambda: [state.phase for state in mode.states] == ["paused"] * 2)
    assert mode.panel.pause_button.text() == "Resume"
    steps = [int(history.column("step")[-1]) for history in mode.histories]
    qtbot.waitUntil(lambda: window.controller.idle())
    qtbot.wait(100)
    assert [int(history.column("step")[-1]) for history in mode.histories] == steps
    mode.panel.pause_button.click()  # … and resumes them
    qtbot.waitUntil(lambda: all(int(history.column("step")[-1]) > step
                                for history, step in zip(mode.histories, steps, strict=True)), timeout=RACE_MS)
    mode.stop()
    qtbot.waitUntil(lambda: [row[9] for row in mode.leaderboard.rows] == ["stopped"] * 2, timeout=RACE_MS)
    assert not mode.panel.pause_button.isEnabled() and not mode.panel.controls["sigma"].isEnabled()


def test_closing_the_window_while_a_race_runs_stops_it_without_hanging(make_window, qtbot):
    window = make_window("genetic", "sphere", 2)
    mode = window.race_mode
    mode.start(small_race(budget=10**7, seeds=3))
    qtbot.waitUntil(lambda: all(h is not None and len(h) > 20 for h in mode.histories), timeout=RACE_MS)
    race_id = mode.race.race_id
    window.close()
    assert not window.controller.is_running()
    _, runs = stored_races(window)
    assert sorted(info.status for info in runs if info.race_id == race_id) == ["stopped", "stopped"]


def test_the_leaderboard_cells_follow_the_standings_as_entrants_overtake(qtbot):
    config = small_race(seeds=1)
    labels = [entrant.label for entrant in config.entrants]
    board = Leaderboard()
    qtbot.addWidget(board)
    board.set_race(config, labels)

    def show(best_losses, evaluations):
        standings = [Standing(entrant, (RunResult(entrant.label, 1, Status.RUNNING, loss, count, count, None, 1.0,
                                                  np.empty((0, len(TRACE_COLUMNS)))),), 1)
                     for entrant, loss, count in zip(config.entrants, best_losses, evaluations, strict=True)]
        board.show_standings(leaderboard(standings))
        return [[board.item(row, column).text() for column in range(board.columnCount())]
                for row in range(board.rowCount())]

    board.select(labels[1])
    show([0.5, 0.9], [100, 100])
    shown = show([0.5, 0.25], [200, 300])  # the second overtakes; every count moves on
    assert [row[1] for row in shown] == ["■ " + labels[1], "■ " + labels[0]]
    assert [row[5] for row in shown] == ["300", "200"] and [row[2] for row in shown] == ["0.25", "0.5"]
    assert [row[0] for row in shown] == ["1", "2"]
    assert [board.item(row, 3).font().bold() for row in range(2)] == [True, False]  # the selected, now first
    assert board.item(0, 1).foreground().color().name().lower() == entrant_color(1).lower()
    assert all(width >= board.sizeHintForColumn(column) for column, width
               in enumerate(board.columnWidth(c) for c in range(board.columnCount())) if column != 1)


def test_a_stopped_race_shows_every_entrant_to_its_last_row(make_window, qtbot):
    window = make_window("genetic", "sphere", 2)
    mode = window.race_mode
    mode.start(small_race(seeds=1, budget=10**7, entrants=(Entrant("genetic"), Entrant("genetic", {"sigma": 0.2}))))
    qtbot.waitUntil(lambda: all(h is not None and len(h) > 20 for h in mode.histories), timeout=RACE_MS)
    mode.stop()
    qtbot.waitUntil(lambda: [row[9] for row in mode.leaderboard.rows] == ["stopped"] * 2, timeout=RACE_MS)
    last_steps = {standing.entrant.label: standing.runs[-1].steps for standing in mode.standings}
    assert [int(history.column("step")[-1]) for history in mode.histories] == [last_steps[label]
                                                                               for label in mode.labels]
    qtbot.waitUntil(lambda: "landscape" not in mode._stale)  # drawn at the next frames
    for head, history in zip(mode.trajectories.heads, mode.histories, strict=True):
        x, y = head.getData()
        at = window.landscape_plot.positions(history.theta()[-1:])
        assert (x[0], y[0]) == (at[0][0], at[1][0])  # each entrant's marker at its last θ


def test_the_race_plot_shares_its_points_and_each_curve_keeps_its_last_row_and_best(qtbot):
    from metalearn_gui.plots.race_loss_plot import CURVE_POINTS, RaceLossPlot

    plot = RaceLossPlot()
    qtbot.addWidget(plot)
    entrants = [Entrant("genetic", {"sigma": sigma}) for sigma in (0.1, 0.2, 0.3)]
    plot.set_race([entrant.label for entrant in entrants], None, 1)
    rng = np.random.default_rng(0)
    standings = []
    for entrant in entrants:
        steps = np.arange(8000.0)
        loss = 1 + rng.random(8000) / (1 + steps)
        trace = np.column_stack([steps, 10 * steps, loss, np.minimum.accumulate(loss), steps / 100])
        standings.append(Standing(entrant, (RunResult(entrant.label, 1, Status.RUNNING, float(loss.min()), 79990,
                                                      7999, None, 79.99, trace),), 1))
    plot.log_box.setChecked(False)  # the values as drawn are the losses
    plot.set_standings(standings)
    plot.refresh()
    for kind in ("loss", "main"):
        assert sum(drawn(getattr(curves, kind)) for curves in plot.curves) <= CURVE_POINTS
    for curves, standing in zip(plot.curves, standings, strict=True):
        trace = standing.runs[0].trace
        x, y = curves.main.getData()
        assert x[-1] == trace[-1, 1] and y[-1] == trace[-1, 3]  # up to the last evaluation
        assert np.nanmin(curves.loss.getData()[1]) == trace[:, 2].min()  # the best row survives
