"""Race mode in the window: 2–4 entrants side by side, live, on the worker's thread.

Entering it swaps the window's side panel for the :class:`RacePanel`, its loss plot
for the :class:`RaceLossPlot` and puts the :class:`Leaderboard` above the plots; the
θ view, learner plot and landscape follow the selected entrant, and the landscape
shows every entrant's path. The window's own run waits, paused; leaving race mode
stops the race (if it runs) and gives the window back to a single run at step 0.

The race runs on the worker's scheduler (the core's :class:`~metalearn_gui.core.race.Race`);
this class posts commands to it and takes its events: every chunk is acknowledged
(back-pressure), and the leaderboard is asked for at :data:`STANDINGS_MS` (the race's
standings are read on the worker's thread only).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox

from metalearn_gui.core.events import ChunkMessage, InputRejected, Notice, RunFailed, RunState
from metalearn_gui.core.history import History
from metalearn_gui.core.hyperparams import Value
from metalearn_gui.core.landscape import Landscape, true_landscape
from metalearn_gui.core.objectives import make_objective
from metalearn_gui.core.objectives.tasks import is_task_distribution
from metalearn_gui.core.race import EntrantEvent, Race, RaceFinished, RunFinished
from metalearn_gui.core.race import Leaderboard as Standings
from metalearn_gui.core.race_config import Entrant, RaceConfig
from metalearn_gui.core.race_results import Standing
from metalearn_gui.core.race_store import StoredRace, stored_race
from metalearn_gui.core.record import RECORD_ROWS
from metalearn_gui.core.run import ConfigError
from metalearn_gui.core.status import Status
from metalearn_gui.core.store import RaceInfo, StoreError
from metalearn_gui.plots.learner_plot import history_extras
from metalearn_gui.plots.race_landscape import RaceTrajectories
from metalearn_gui.plots.race_loss_plot import RaceLossPlot
from metalearn_gui.ui.race_dialog import RaceDialog
from metalearn_gui.ui.race_leaderboard import Leaderboard
from metalearn_gui.ui.race_panel import RacePanel
from metalearn_gui.worker import INTERFACE_PRIORITY

if TYPE_CHECKING:
    from metalearn_gui.ui.main_window import MainWindow

log = logging.getLogger(__name__)


class Refreshable(Protocol):
    def refresh(self) -> None: ...


class Together:
    """Views of one plot, redrawn in the same frame (one repaint)."""

    def __init__(self, *views: Refreshable) -> None:
        self.views = views

    def refresh(self) -> None:
        for view in self.views:
            view.refresh()


#: How often the live leaderboard (and the loss plot drawn from it) is asked for.
STANDINGS_MS = 300
#: One view is redrawn per frame, in turn (see the window's frame timer): the loss plot about
#: 7 times a second, the others 3. Drawing every 25 ms kept the window's thread busy ~40 % of a
#: race (three histories, every entrant's path), time the entrants lost: at 50 ms it used ~20 %
#: and the entrants made 1.5× the evaluations. The landscape and the entrants' paths on it
#: are one view: drawn in separate frames, the plane (its image, the costliest picture) was
#: painted twice as often.
FRAME_MS = 60
VIEWS = ("race_plot", "landscape", "theta_plot", "race_plot", "learner_plot")
#: Each entrant's rows come at most this often (merged in between): the views they feed are
#: redrawn every len(VIEWS) frames (300 ms), the loss plot from the standings. Each chunk wakes
#: the window's thread, which takes the GIL and makes the worker step aside: a chunk per round
#: from each entrant was ~47 a second in a race of three (17 alone), now ~15 (6).
HAND_OUT_SECONDS = 0.2
#: Learners whose chunks carry a population for the landscape to draw.
POPULATION_LEARNERS = frozenset({"genetic", "evolution"})
LEADERBOARD_HEIGHT = 150


class RaceMode(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.controller = window.controller
        self.race: Race | None = None  # the live race, if any
        self.stored: StoredRace | None = None  # a race reopened from the run history
        self.config: RaceConfig | None = None  # the race shown
        self.last_config: RaceConfig | None = None  # what the set-up dialog offers first
        self.active = False
        self.finished = True
        self.paused = False
        self.labels: list[str] = []
        self.learners: list[str] = []
        self.values: list[dict[str, Value]] = []
        self.histories: list[History | None] = []
        self.serials: list[int] = []
        self.states: list[RunState | None] = []
        self.standings: list[Standing] = []
        self.selected = 0
        self.dialog: RaceDialog | None = None
        self._standings_asked = False
        self._stale: set[str] = set()
        self._turn = 0
        self.race_plot = RaceLossPlot()
        self.leaderboard = Leaderboard()
        self.panel = RacePanel()
        self.trajectories = RaceTrajectories(window.landscape_plot)
        #: What each name in VIEWS redraws.
        self._views: dict[str, Refreshable] = {
            "race_plot": self.race_plot, "landscape": Together(window.landscape_plot, self.trajectories),
            "theta_plot": window.theta_plot, "learner_plot": window.learner_plot}
        self._setup_layout()
        self._setup_action()
        self.standings_timer = QTimer(self)
        self.standings_timer.setInterval(STANDINGS_MS)
        self.standings_timer.timeout.connect(self._ask_standings)
        self.frame_timer = QTimer(self)
        self.frame_timer.setInterval(FRAME_MS)
        self.frame_timer.timeout.connect(self._on_frame_timer_timeout)
        self._connect()

    def _setup_layout(self) -> None:
        """The race's views sit beside the window's, hidden until race mode."""
        window = self.window
        window.top_splitter.insertWidget(0, self.race_plot)
        window.plot_splitter.insertWidget(0, self.leaderboard)
        self.race_plot.hide()
        self.leaderboard.hide()
        self.single_panel = window.panel

    def _setup_action(self) -> None:
        window = self.window
        self.action = QAction("&Race learners…", window)
        self.action.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.action.setToolTip("race 2–4 learners side by side on this objective at equal evaluation budgets, "
                               "live, with a leaderboard (Ctrl+Shift+R)")
        self.action.triggered.connect(self.open_dialog)
        self.leave_action = QAction("&Leave race mode", window)
        self.leave_action.setEnabled(False)
        self.leave_action.triggered.connect(self.leave)
        window.addAction(self.action)
        menu = window.menuBar().addMenu("R&ace")
        help_menu = next((act for act in window.menuBar().actions() if act.text() == "&Help"), None)
        if help_menu is not None:  # keep Help last
            window.menuBar().insertMenu(help_menu, menu)
        menu.addAction(self.action)
        menu.addAction(self.leave_action)
        window.toolbar.addAction(self.action)

    def _connect(self) -> None:
        self.controller.worker.race_event.connect(self._on_race_event)
        window = self.window
        window.log_x_action.toggled.connect(self.race_plot.set_log_x)
        window.landscape_plot.axes_changed.connect(self._on_landscape_axes_changed)
        self.leaderboard.entrant_selected.connect(lambda label: self.select(self.labels.index(label)))
        panel = self.panel
        panel.entrant_selected.connect(self.select)
        panel.hyperparameter_changed.connect(self._on_panel_hyperparameter_changed)
        panel.speed_changed.connect(self._on_panel_speed_changed)
        panel.pause_button.clicked.connect(self.toggle_pause)
        panel.stop_button.clicked.connect(self.stop)
        panel.again_button.clicked.connect(self.run_again)
        panel.new_button.clicked.connect(self.open_dialog)
        panel.export_button.clicked.connect(self.export)
        panel.leave_button.clicked.connect(self.leave)

    @property
    def live(self) -> bool:
        """A race runs (not ended, not a stored one)."""
        return self.race is not None and not self.finished

    # -- commands ----------------------------------------------------------------------------
    def open_dialog(self) -> None:
        """Ask for a race on the window's objective, D and seed (or the race shown's)."""
        shown = self.config if self.active else None
        panel = self.single_panel
        objective, dim, seed = ((shown.objective, shown.dim or make_objective(shown.objective).dim, shown.seed)
                                if shown else (panel.objective(), panel.dim_box.value(), panel.seed_box.value()))
        self.dialog = RaceDialog(objective, dim, seed, [Entrant(panel.learner())], self.last_config, self.window)
        self.dialog.accepted.connect(lambda: self.start(self.dialog.config()) if self.dialog else None)
        self.dialog.open()

    def start(self, config: RaceConfig | None) -> bool:
        """Race ``config`` (stopping a race under way); False if no entrant can run."""
        if config is None:
            return False
        window = self.window
        try:
            race = self.controller.new_race(config, window.data_dir if window.store is not None else None,
                                            HAND_OUT_SECONDS)
        except ConfigError as error:
            QMessageBox.warning(window, "Race", str(error)[:1].upper() + str(error)[1:])
            return False
        self._end_live_race()
        self.last_config = config
        self._enter()
        self.race, self.stored, self.finished, self.paused = race, None, False, False
        self._show_race(config, list(race.entrants), race.refused, live=True)
        self.controller.start_race(race)
        self.controller.post_to_race(race.set_speed, self.panel.speed())
        self.controller.post_to_race(race.show_landscape_of, 0, window.landscape_plot.axes())
        self.standings_timer.start()
        return True

    def run_again(self) -> None:
        if self.config is not None:
            self.start(self.config)

    def toggle_pause(self) -> None:
        race = self.race
        if race is None or self.finished:
            return
        self.paused = not self.paused
        self.controller.post_to_race(race.pause if self.paused else race.resume)
        self.panel.pause_button.setText("Resume" if self.paused else "Pause")

    def stop(self) -> None:
        """End the race: its runs under way are stored as stopped; its views stay."""
        self._end_live_race()

    def leave(self) -> None:
        """Back to a single run: the race (if running) stops, the window's run restarts at step 0."""
        if not self.active:
            return
        self._end_live_race()
        self.standings_timer.stop()
        self.frame_timer.stop()
        self.window.frame_timer.start()
        self.panel.drop_pending()
        self.trajectories.detach()
        window = self.window
        window.panel_scroll.takeWidget()  # the race panel stays ours
        window.panel_scroll.setWidget(self.single_panel)
        self.race_plot.hide()
        self.leaderboard.hide()
        window.loss_plot.show()
        self.active = False
        self.race, self.stored, self.config = None, None, None
        self.leave_action.setEnabled(False)
        window.step_action.setEnabled(True)
        self._show_single_status(True)
        window.statusBar().clearMessage()  # it spoke of the race
        window.reset_action.trigger()  # a fresh single run: re-points every plot at it

    def shutdown(self) -> None:
        """The window closes: stop the timers and the race (before the worker is joined)."""
        self.standings_timer.stop()
        self.frame_timer.stop()
        self.panel.drop_pending()
        self._end_live_race()

    def reopen(self, info: RaceInfo) -> None:
        """Show a stored race: its curves, leaderboard and settings (Run again / New race… use them)."""
        store = self.window.store
        if store is None:
            return
        try:
            stored, standings = stored_race(store, info)
            records = {run.entrant: store.load(run.run_id) for standing in standings
                       for run in standing.runs[:1] if run.run_id is not None}
        except StoreError as error:
            self.window.banner.show_message("error", f"Race {info.id} cannot be reopened: {error}")
            return
        self._end_live_race()
        self._enter()
        self.race, self.stored, self.finished = None, stored, True
        config = stored.config
        self.last_config = config
        raced = {standing.entrant.label for standing in standings}
        entrants = [entrant for entrant in config.entrants if entrant.label in raced]
        self._show_race(config, entrants, stored.refused, live=False)
        for index, label in enumerate(self.labels):
            record = records.get(label)
            if record is not None:
                self.histories[index] = record.history
                self.trajectories.set_history(index, record.history)
        self._select_views(self.selected)
        self._draw_stored_landscape()
        self._apply_standings(standings)
        runs = sum(len(standing.runs) for standing in standings)
        self.panel.show_progress(runs, f"race {info.id} from the run history: {runs} runs stored")
        self.window.statusBar().showMessage(f"Reopened race {info.id}; first seed's runs on the landscape and θ view",
                                            5000)

    def select(self, index: int) -> None:
        """The θ view, learner plot, landscape and sliders follow entrant number ``index``."""
        if not 0 <= index < len(self.labels):
            return
        self.selected = index
        self.leaderboard.select(self.labels[index])
        self.panel.select(index)
        self._select_views(index)
        if self.live and self.race is not None:
            self.controller.post_to_race(self.race.show_landscape_of, index, self.window.landscape_plot.axes())
        elif self.stored is not None:
            self._draw_stored_landscape()

    def export(self) -> None:
        subject = self.race or self.stored
        if subject is None or not self.standings:
            self.window.statusBar().showMessage("Nothing to export yet: the race's first results are on their way.",
                                                5000)
            return
        self.window.export_menu.export_race(subject, list(self.standings))

    # -- entering and showing -----------------------------------------------------------------
    def _enter(self) -> None:
        if self.active:
            return
        window = self.window
        window.controller.pause()  # the window's own run waits
        window.panel.drop_pending()
        window.panel_scroll.takeWidget()  # the window's panel stays its own
        window.panel_scroll.setWidget(self.panel)
        window.loss_plot.hide()
        self.race_plot.show()
        self.leaderboard.show()
        sizes = window.plot_splitter.sizes()
        window.plot_splitter.setSizes([LEADERBOARD_HEIGHT, *(max(size - LEADERBOARD_HEIGHT // 2, 100)
                                                              for size in sizes[1:])])
        self.race_plot.set_log_x(window.log_x_action.isChecked())
        self.active = True
        self.leave_action.setEnabled(True)
        window.step_action.setEnabled(False)
        window.banner.clear()
        self._show_single_status(False)  # the window's own (waiting) run: the leaderboard speaks for the race
        window.frame_timer.stop()  # its plots are drawn by this mode's frames: its 60 wake-ups a second would be idle
        self.frame_timer.start()

    def _show_single_status(self, visible: bool) -> None:
        for label in self.window.status_labels.values():
            label.setVisible(visible)

    def _show_race(self, config: RaceConfig, entrants: list[Entrant], refused: dict[str, str], live: bool) -> None:
        self.config = config
        self.labels = [entrant.label for entrant in entrants]
        self.learners = [entrant.learner for entrant in entrants]
        self.values = [entrant.every_value(config) for entrant in entrants]
        count = len(entrants)
        self.histories, self.serials, self.states = [None] * count, [0] * count, [None] * count
        self.standings = []
        self._standings_asked = False
        objective = make_objective(config.objective, config.dim)
        self.race_plot.set_race(self.labels, objective.optimum_value, config.seeds)
        self.leaderboard.set_race(config, self.labels)
        self.panel.set_race(config, self.labels, refused, live)
        self.panel.show_progress(0, f"seed 1 of {config.seeds} under way" if live else "")
        self.trajectories.attach(count)
        self.window.landscape_plot.set_dim(objective.dim)
        self.selected = 0
        self.select(0)
        self.window.setWindowTitle(f"Race on {objective.name} ({objective.dim}-D) — metalearn-gui")

    def _select_views(self, index: int) -> None:
        window = self.window
        self.trajectories.select(index)
        state = self.states[index]
        self.panel.show_entrant(self.labels[index], self.learners[index],
                                state.hp if state is not None else self.values[index], self.live)
        self.race_plot.set_changes(state.changes if state is not None else (), index)
        history, learner = self.histories[index], self.learners[index]
        window.landscape_plot.set_model_visible(learner == "neural")
        if history is not None:
            window.theta_plot.set_run(history)
            window.learner_plot.set_run(learner, history)
            window.landscape_plot.set_run(history, population_visible=learner in POPULATION_LEARNERS)
        self._stale.update(VIEWS)

    def _draw_stored_landscape(self) -> None:
        """A reopened race has no session to draw it: the plane through the selected run's last θ
        (not for objectives whose every point trains models: that would block the window)."""
        config, history = self.config, self.histories[self.selected]
        if config is None or history is None or len(history) == 0:
            return
        objective = make_objective(config.objective, config.dim)
        if is_task_distribution(objective):
            self.window.landscape_plot.note.setText("not drawn for a reopened race on a task distribution")
            return
        landscape = true_landscape(objective, history.theta()[-1], self.window.landscape_plot.axes(),
                                   grid=objective.landscape_grid)
        self.window.landscape_plot.set_landscape(landscape)

    # -- the race's events ---------------------------------------------------------------------
    @Slot(object, object)
    @INTERFACE_PRIORITY.interface_busy()
    def _on_race_event(self, race: Race, event: object) -> None:
        if isinstance(event, EntrantEvent) and isinstance(event.event, ChunkMessage):
            race.chunk_taken(event.entrant)  # every chunk, even a left race's: the worker counts them
        if race is not self.race:
            return
        match event:
            case EntrantEvent(entrant=index, seed=seed, event=inner):
                self._on_entrant_event(index, seed, inner)
            case Standings(standings=standings):
                self._standings_asked = False
                self._apply_standings(list(standings))
            case RunFinished(done=done, total=total):
                seeds = self.config.seeds if self.config else 1
                current = min(done // max(len(self.labels), 1) + 1, seeds)
                self.panel.show_progress(done, f"seed {current} of {seeds} under way" if done < total
                                         else f"all {seeds} seed{'s' if seeds > 1 else ''} done")
            case RaceFinished(standings=standings, stopped=stopped):
                self._on_race_finished(list(standings), stopped)

    def _on_entrant_event(self, index: int, seed: int, event: object) -> None:
        label = self.labels[index]
        match event:
            case RunState():
                self._on_state(index, event)
            case ChunkMessage():
                self._on_chunk(index, event)
            case Landscape():
                if index == self.selected and event.serial == self.serials[index]:
                    self.window.landscape_plot.set_landscape(event)
            case Notice(kind=kind, message=message):
                self.window.banner.show_message(kind, f"{label}: {message}")
            case InputRejected(message=message):
                self.window.banner.show_message("warning", f"Not applied to {label}: {message}")
            case RunFailed(message=message):
                self.window.banner.show_message("error", f"{label}'s run with seed {seed} stopped with an error: "
                                                         f"{message}. The race goes on without it.")

    def _on_state(self, index: int, state: RunState) -> None:
        if state.serial < self.serials[index]:
            return
        if state.serial > self.serials[index] and state.config is not None:  # the next seed's run
            self.serials[index] = state.serial
            objective = make_objective(state.config.objective, state.config.dim)
            history = History(objective.dim, history_extras(state.config.learner), capacity=RECORD_ROWS)
            self.histories[index] = history
            self.trajectories.set_history(index, history)
            if index == self.selected:
                self._select_views(index)
        self.states[index] = state
        if state.loading_tensorflow:
            self.window.banner.show_message("info", f"Loading TensorFlow for {self.labels[index]} (a few seconds, "
                                                    "once per session): the entrants start together after it.")
        elif state.phase is not Status.PREPARING:
            self.window.banner.clear("info")
        if index == self.selected:
            self.panel.show_values(state.hp)
            self.race_plot.set_changes(state.changes, index)

    def _on_chunk(self, index: int, message: ChunkMessage) -> None:
        history = self.histories[index]
        if message.serial != self.serials[index] or history is None:
            return
        chunk = message.chunk
        history.append(chunk.step, chunk.loss, chunk.best_loss, chunk.evaluations, chunk.theta, chunk.extras)
        self._stale.add("landscape")  # every entrant's path
        if index == self.selected:
            landscape = self.window.landscape_plot
            landscape.set_population(chunk.snapshot.get("population"))
            landscape.set_search_distribution(chunk.snapshot.get("mean"), chunk.snapshot.get("covariance"))
            self._stale.update(("theta_plot", "learner_plot"))

    def _apply_standings(self, standings: list[Standing]) -> None:
        self.standings = standings
        self.leaderboard.show_standings(standings)
        self.race_plot.set_standings(standings)
        self._stale.add("race_plot")

    def _on_race_finished(self, standings: list[Standing], stopped: bool) -> None:
        self.finished = True
        self.standings_timer.stop()
        self._apply_standings(standings)
        self.panel.set_race_ended(stopped)
        self.panel.show_entrant(self.labels[self.selected], self.learners[self.selected],
                                self._shown_values(self.selected), live=False)
        if not stopped:
            self.window.statusBar().showMessage("The race is over: export it, run it again or leave race mode.", 10_000)
        if self.window.runs_panel is not None:
            self.window.runs_panel.refresh()

    def _shown_values(self, index: int) -> dict[str, Value]:
        state = self.states[index]
        return state.hp if state is not None else self.values[index]

    def _end_live_race(self) -> None:
        race = self.race
        if race is not None and not self.finished:
            self.finished = True
            self.standings_timer.stop()
            self.controller.stop_race(race)  # its RaceFinished brings the final standings

    def _ask_standings(self) -> None:
        if self.live and self.race is not None and not self._standings_asked:
            self._standings_asked = True
            self.controller.post_to_race(self.race.publish_standings)

    # -- user input -------------------------------------------------------------------------------
    def _on_panel_hyperparameter_changed(self, name: str, value: Value) -> None:
        if self.live and self.race is not None:
            self.controller.post_to_race(self.race.sessions[self.selected].set_values, {name: value})

    def _on_panel_speed_changed(self, speed: float | None) -> None:
        if self.live and self.race is not None:
            self.controller.post_to_race(self.race.set_speed, speed)

    def _on_landscape_axes_changed(self, i: int, j: int) -> None:
        if not self.active:
            return
        if self.live and self.race is not None:
            self.controller.post_to_race(self.race.sessions[self.selected].set_landscape_axes, (i, j))
        elif self.stored is not None:
            self._draw_stored_landscape()

    # -- drawing ------------------------------------------------------------------------------------
    @INTERFACE_PRIORITY.interface_busy()
    def _on_frame_timer_timeout(self) -> None:
        if not self._stale:
            return
        for _ in VIEWS:  # the next stale view, in turn
            name = VIEWS[self._turn]
            self._turn = (self._turn + 1) % len(VIEWS)
            if name in self._stale:
                self._stale.discard(name)
                self._views[name].refresh()
                return
