"""The main window: control panel on the left, four live plots, a status bar; for
objectives with held-out tasks, a task view dock beside them.

Chunks from the worker are appended to a bounded :class:`History` as they arrive and
drawn by a frame timer (≤ 30 Hz), so the GUI thread's cost does not depend on how
fast the learner runs. Importing this module never imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QPaintEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from metalearn_gui.core.evaluation import Evaluation
from metalearn_gui.core.events import BaselinesReady, ChunkMessage, HeldOutResult, RecordCopy, RunState
from metalearn_gui.core.generalisation import add_result, heldout_history
from metalearn_gui.core.history import History
from metalearn_gui.core.hyperparams import Value
from metalearn_gui.core.landscape import Landscape
from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import make_objective
from metalearn_gui.core.objectives.tasks import is_task_distribution
from metalearn_gui.core.record import RECORD_ROWS, RunRecord
from metalearn_gui.core.run import RunConfig
from metalearn_gui.core.session import Recording
from metalearn_gui.core.status import Status
from metalearn_gui.core.store import RunStore, StoreError, resolve_data_dir
from metalearn_gui.plots.landscape_plot import LandscapePlot
from metalearn_gui.plots.learner_plot import LearnerPlot, history_extras
from metalearn_gui.plots.loss_plot import LossPlot
from metalearn_gui.plots.style import apply_palette
from metalearn_gui.plots.task_view import TaskViewPlot
from metalearn_gui.plots.theta_plot import ThetaPlot, own_names
from metalearn_gui.ui import screen
from metalearn_gui.ui.about import about_text, app_icon
from metalearn_gui.ui.collector import GuiThreadCollector
from metalearn_gui.ui.controls import ControlPanel
from metalearn_gui.ui.export_menu import ExportMenu
from metalearn_gui.ui.race_mode import RaceMode
from metalearn_gui.ui.runs_panel import RunsPanel
from metalearn_gui.ui.settings import Session, load_session, save_session
from metalearn_gui.ui.user_objectives import UserObjectives
from metalearn_gui.worker import INTERFACE_PRIORITY, RunController

#: One plot is redrawn per frame, so no frame blocks the event loop for long (each plot
#: costs milliseconds to update and as many to paint): the loss plot every other frame
#: (30 Hz), the others in turn (10 Hz each).
FRAME_MS = 16
DRAW_ORDER = ("loss_plot", "theta_plot", "loss_plot", "landscape_plot", "loss_plot", "learner_plot")
PLOTS = ("loss_plot", "theta_plot", "landscape_plot", "learner_plot")
#: Learners whose chunks carry a population for the landscape to draw.
POPULATION_LEARNERS = frozenset({"genetic", "evolution"})
APP_NAME = "metalearn-gui"
#: How long the status bar shows what the panel did on its own (a learner switched).
NOTICE_MS = 10_000
#: An objective (not built in) that has not answered for this long is told about, once.
UNANSWERED_SECONDS = 10
RUNS_DOCK_HEIGHT = 190
TASK_VIEW_DOCK_WIDTH = 340
#: What a first launch shows: the headline learner on a 2-D problem whose landscape shows
#: the whole trajectory, converging visibly within seconds.
FIRST_RUN = RunConfig("neural", "rosenbrock", 2, steps=None)
#: Banner looks: (background, text) per kind; mid-tones that read on light and dark.
BANNER_STYLES = {
    "info": ("#2b6cb0", "white"),
    "warning": ("#b7791f", "white"),
    "error": ("#c53030", "white"),
}


class Banner(QFrame):
    """A one-line message above the plots (divergence, errors, loading), with optional details."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.details_button = QPushButton("Details…")
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.hide)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.details_button)
        layout.addWidget(self.close_button)
        self.kind = ""
        self.hide()

    def show_message(self, kind: str, text: str, details: bool = False) -> None:
        background, foreground = BANNER_STYLES[kind]
        self.kind = kind
        self.setStyleSheet(f"Banner {{ background: {background}; border-radius: 4px; }}"
                           f"QLabel {{ color: {foreground}; }}")
        self.text.setText(text[:1].upper() + text[1:])  # core messages are lower-case lines
        self.details_button.setVisible(details)
        self.show()

    def clear(self, kind: str | None = None) -> None:
        """Hide the banner (only if it shows ``kind``, when given)."""
        if kind is None or self.kind == kind:
            self.kind = ""
            self.hide()


class MainWindow(QMainWindow):
    def __init__(self, learner: str = FIRST_RUN.learner, objective: str = FIRST_RUN.objective,
                 dim: int | None = FIRST_RUN.dim, seed: int = 0, hyperparameters: Mapping[str, Value] | None = None,
                 data_dir: Path | None = None) -> None:
        super().__init__()
        apply_palette()
        self.collector = GuiThreadCollector(self)  # before any worker thread exists
        self.collector.start()
        self.controller = RunController(self)
        #: The run history's folder (``--data-dir``, ``$METALEARN_GUI_DATA_DIR`` or the platform's).
        self.data_dir = resolve_data_dir(data_dir)
        self.store: RunStore | None = None  # opened after the first paint
        self.runs_panel: RunsPanel | None = None
        self._export: Callable[[RunRecord], None] | None = None  # an export waiting for the run's record
        #: The current run's rows as drawn (thinned for the plots; exports use the recorded run).
        self.history: History | None = None
        #: The best θ's held-out results (None: the objective has no held-out tasks).
        self.heldout: History | None = None
        self.state: RunState | None = None
        self.serial = 0  # which of the worker's runs the plots show
        self.steps_per_second = 0.0
        self.error_dialog: QMessageBox | None = None
        self._traceback = ""
        #: Told in a box once the window has painted (a damaged settings file…).
        self.settings_notice_text = ""
        self.settings_notice: QMessageBox | None = None
        self._turn = 0  # where in DRAW_ORDER the next frame looks first
        self._stale: set = set()  # plots with data they have not drawn yet
        self._setup_ui(learner, objective, dim, seed, hyperparameters)
        self.panel.tensorboard_box.setToolTip(
            f"{self.panel.tensorboard_box.toolTip()}<br>folder: {self.data_dir / 'tensorboard'}")
        self._connect()
        self.race_mode = RaceMode(self)  # learners side by side (ui/race_mode.py)
        self.user_objectives = UserObjectives(self)  # loading them, where they evaluate, their failures
        self.frame_timer = QTimer(self)
        self.frame_timer.setInterval(FRAME_MS)
        self.frame_timer.timeout.connect(self._on_frame_timer_timeout)
        self.frame_timer.start()
        self._told_unanswered: Evaluation | None = None  # the evaluation last told about (each is told once)
        self.watchdog = QTimer(self)
        self.watchdog.setInterval(1000)
        self.watchdog.timeout.connect(self._on_watchdog_timeout)
        self.watchdog.start()
        self.controller.set_speed(self.panel.speed())
        self._prepared_once = False

    def paintEvent(self, event: QPaintEvent) -> None:  # Qt override
        super().paintEvent(event)
        if not self._prepared_once:
            # The first run is prepared once the window has painted (the timer fires after
            # this paint pass): preparing may import TensorFlow, whose GIL-heavy seconds
            # would otherwise slow the first paint down ~5×.
            self._prepared_once = True
            QTimer.singleShot(0, self._on_first_paint)

    def _on_first_paint(self) -> None:
        if not self.isVisible():  # closed before the event loop came round
            return
        if self.settings_notice_text:
            self.settings_notice = QMessageBox(QMessageBox.Icon.Warning, "Saved settings", self.settings_notice_text,
                                               parent=self)
            self.settings_notice.open()  # not exec(): the window goes on behind it
        self._open_run_store()
        self._send_recording()
        self._prepare()
        self.user_objectives.offer_plugins()

    def _open_run_store(self) -> None:
        try:
            self.store = RunStore.open(self.data_dir)
        except StoreError as error:
            self._tell_about_store([f"runs are not saved: {error}"])
            return
        self._tell_about_store(self.store.messages)
        self.runs_panel = RunsPanel(self.store)
        self.runs_panel.overlays_changed.connect(self._on_runs_panel_overlays_changed)
        self.runs_panel.load_requested.connect(self._on_runs_panel_load_requested)
        self.runs_panel.export_requested.connect(self.export_menu.export_bundle)
        self.runs_panel.message.connect(self.banner.show_message)
        self.runs_panel.race_requested.connect(self.race_mode.reopen)
        self.runs_dock.setWidget(self.runs_panel)
        self.runs_action.setEnabled(True)

    def _tell_about_store(self, messages: list[str]) -> None:
        """What opening the run history had to do (a file moved aside…), in a box of its own:
        the banner speaks of the current run and is cleared with it."""
        if messages:
            self.store_notice = QMessageBox(QMessageBox.Icon.Warning, "Run history",
                                            "\n\n".join(m[:1].upper() + m[1:] for m in messages), parent=self)
            self.store_notice.open()  # not exec(): the window goes on behind it

    def _send_recording(self) -> None:
        """Tell the worker where runs go: the run store, and TensorBoard if ticked."""
        tensorboard = self.data_dir / "tensorboard" if self.panel.tensorboard_box.isChecked() else None
        self.controller.set_recording(Recording(self.data_dir if self.store else None, tensorboard))

    # -- building ---------------------------------------------------------------------
    @classmethod
    def from_last_session(cls, data_dir: Path | None = None) -> MainWindow:
        """The window as the user left it: configuration, speed, step axis and geometry (where
        it still fits the screens: a laptop after a large monitor gets the first-launch size)."""
        session = load_session()
        config = session.config
        window = (cls(data_dir=data_dir) if config is None else
                  cls(config.learner, config.objective, config.dim, config.seed, config.hyperparameters, data_dir))
        if session.speed_index is not None and 0 <= session.speed_index <= window.panel.speed_slider.maximum():
            window.panel.speed_slider.setValue(session.speed_index)
        if (session.geometry is not None and window.restoreGeometry(session.geometry)
                and not screen.fits_screens(window.geometry())):
            window.fit_to_screen()
        window.log_x_action.setChecked(session.log_x)
        window.settings_notice_text = session.notice
        return window

    def fit_to_screen(self) -> None:
        """The first launch's size and place (:func:`screen.first_geometry`)."""
        geometry = screen.first_geometry()
        self.setWindowState(Qt.WindowState.WindowNoState)
        self.resize(geometry.size())
        self.move(geometry.topLeft())

    def _setup_ui(self, learner: str, objective: str, dim: int | None, seed: int,
                  hyperparameters: Mapping[str, Value] | None) -> None:
        self.setWindowIcon(app_icon())
        self.fit_to_screen()
        self.panel = ControlPanel(learner, objective, dim, seed, hyperparameters)
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(330)
        scroll.setMaximumWidth(380)

        self.banner = Banner()
        self.banner.details_button.clicked.connect(self._on_banner_details_clicked)
        self.loss_plot, self.landscape_plot = LossPlot(), LandscapePlot()
        self.theta_plot, self.learner_plot = ThetaPlot(), LearnerPlot()
        top, bottom = QSplitter(Qt.Orientation.Horizontal), QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.loss_plot)
        top.addWidget(self.landscape_plot)
        bottom.addWidget(self.theta_plot)
        bottom.addWidget(self.learner_plot)
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(top)
        plots.addWidget(bottom)
        for splitter in (top, bottom, plots):
            splitter.setChildrenCollapsible(False)
        top.setSizes([520, 420])
        bottom.setSizes([520, 420])
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 4, 4, 0)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(plots, 1)
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(scroll)
        main.addWidget(right)
        main.setStretchFactor(1, 1)
        main.setChildrenCollapsible(False)
        self.setCentralWidget(main)
        self.panel_scroll, self.top_splitter, self.plot_splitter = scroll, top, plots  # race mode swaps views
        self.runs_dock = QDockWidget("Runs", self)
        self.runs_dock.setObjectName("runs")
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.runs_dock)
        self.runs_dock.hide()
        self.runs_dock.visibilityChanged.connect(self._on_runs_dock_visibility_changed)
        self.task_view = TaskViewPlot()
        self.task_view.title.hide()  # the dock's title bar names it
        self.task_view_dock = QDockWidget("Task view", self)
        self.task_view_dock.setObjectName("task view")
        self.task_view_dock.setWidget(self.task_view)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.task_view_dock)
        self.task_view_dock.hide()
        self._task_objective = False  # whether the run on screen has held-out tasks
        self._setup_actions()
        self._setup_status_bar()

    def _setup_actions(self) -> None:
        def action(text: str, shortcut: QKeySequence | str, tip: str, slot) -> QAction:
            act = QAction(text, self)
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.setToolTip(f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        self.start_action = action("Start", "Space", "start or pause the run", self._on_start_triggered)
        self.step_action = action("Step", "Right", "advance exactly one step", self._on_step_triggered)
        self.reset_action = action("Reset", "Ctrl+R", "back to the seed's initial θ; applies ⟲ values",
                                   self._on_reset_triggered)
        self.quit_action = action("Quit", "Ctrl+Q", "quit", self.close)
        self.clear_ghost_action = QAction("Clear previous run", self)
        self.clear_ghost_action.triggered.connect(lambda: self.loss_plot.clear_ghost())
        for act in (self.start_action, self.step_action, self.reset_action):
            button = QToolButton()
            button.setDefaultAction(act)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setMinimumHeight(32)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space must not click a focused button twice
            self.panel.buttons.addWidget(button)
        self.log_x_action = QAction("Log-scaled &step axis", self)
        self.log_x_action.setCheckable(True)
        self.log_x_action.setShortcut(QKeySequence("Ctrl+L"))
        self.log_x_action.setToolTip("draw the loss, θ and learner plots (and exported figures) against a "
                                     "log-scaled step axis, as step + 1 (Ctrl+L)")
        self.log_x_action.toggled.connect(self._on_log_x_toggled)
        self.export_menu = ExportMenu(self, self._with_record, log_x=self.log_x_action.isChecked)
        self.menuBar().addMenu(self.export_menu.menu)
        self.run_menu = run_menu = self.menuBar().addMenu("&Run")
        for act in (self.start_action, self.step_action, self.reset_action):
            run_menu.addAction(act)
        run_menu.addSeparator()
        run_menu.addAction(self.clear_ghost_action)
        run_menu.addSeparator()
        run_menu.addAction(self.quit_action)
        self.runs_action = self.runs_dock.toggleViewAction()
        self.runs_action.setText("&Runs")
        self.runs_action.setShortcut(QKeySequence("Ctrl+H"))
        self.runs_action.setToolTip("the run history: overlay, reload, export or delete stored runs (Ctrl+H)")
        self.runs_action.setEnabled(False)  # until the run store is open
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.runs_action)
        self.task_view_action = self.task_view_dock.toggleViewAction()
        self.task_view_action.setText("&Task view")
        self.task_view_action.setShortcut(QKeySequence("Ctrl+T"))
        self.task_view_action.setToolTip("one held-out task learned with the best θ beside the baselines "
                                         "(objectives with held-out tasks only) (Ctrl+T)")
        self.task_view_action.setEnabled(False)
        view_menu.addAction(self.task_view_action)
        view_menu.addAction(self.log_x_action)
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main toolbar")
        toolbar.setMovable(False)
        self.toolbar = toolbar
        toolbar.addAction(self.export_menu.bundle_action)
        toolbar.addAction(self.runs_action)
        toolbar.addAction(self.log_x_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("About", self._on_about_triggered)

    def _setup_status_bar(self) -> None:
        self.status_labels: dict[str, QLabel] = {}
        for name, tip in (("state", "run state"), ("step", "steps taken"), ("loss", "current loss"),
                          ("best", "best loss so far"),
                          ("heldout", "the best θ's loss (and accuracy) on held-out tasks, as last evaluated, "
                                      "and the reference baseline's"),
                          ("evaluations", "loss evaluations"),
                          ("speed", "steps per second"),
                          ("evaluation", "where this user objective's evaluations run (Run → Evaluation…)"),
                          ("tf", "TensorFlow")):
            label = QLabel()
            label.setToolTip(tip)
            self.statusBar().addPermanentWidget(label)
            self.status_labels[name] = label

    def _connect(self) -> None:
        worker = self.controller.worker
        worker.chunk_ready.connect(self._on_worker_chunk_ready)
        worker.state_changed.connect(self._on_worker_state_changed)
        worker.landscape_ready.connect(self._on_worker_landscape_ready)
        worker.heldout_ready.connect(self._on_worker_heldout_ready)
        worker.baselines_ready.connect(self._on_worker_baselines_ready)
        worker.input_rejected.connect(self._on_worker_input_rejected)
        worker.run_failed.connect(self._on_worker_run_failed)
        worker.record_ready.connect(self._on_worker_record_ready)
        worker.notice.connect(self.banner.show_message)
        self.panel.tensorboard_box.toggled.connect(self._send_recording)
        self.panel.problem_changed.connect(self._prepare)
        self.panel.notice.connect(lambda text: self.statusBar().showMessage(text, NOTICE_MS))
        self.panel.hyperparameter_changed.connect(
            lambda name, value: self.controller.set_values({name: value}))
        self.panel.speed_changed.connect(self.controller.set_speed)
        self.landscape_plot.axes_changed.connect(lambda i, j: self.controller.set_landscape_axes((i, j)))

    # -- commands -------------------------------------------------------------------------
    def config(self) -> RunConfig:
        """What the panel shows, as a run without a step budget."""
        return RunConfig(learner=self.panel.learner(), objective=self.panel.objective(),
                         dim=self.panel.dim_box.value(), steps=None, seed=self.panel.seed_box.value(),
                         hyperparameters=self.panel.hyperparameters())

    @Slot()
    def _prepare(self) -> None:
        """Stop whatever runs and go to step 0 of what the panel shows."""
        self.banner.clear()
        self.controller.prepare(self.config())

    def _on_start_triggered(self) -> None:
        if self.race_mode.active:
            self.race_mode.toggle_pause()
        elif self.state is not None and self.state.phase is Status.RUNNING:
            self.controller.pause()
        else:
            self.controller.start()

    def _on_step_triggered(self) -> None:
        if not self.race_mode.active:
            self.controller.step()

    def _on_reset_triggered(self) -> None:
        if self.race_mode.active:
            self.race_mode.run_again()
        else:
            self._prepare()

    def _on_log_x_toggled(self, log_x: bool) -> None:
        for plot in (self.loss_plot, self.theta_plot, self.learner_plot):
            plot.set_log_x(log_x)

    def _on_about_triggered(self) -> None:
        self.about_box = QMessageBox(QMessageBox.Icon.NoIcon, f"About {APP_NAME}", about_text(APP_NAME, self.data_dir),
                                     parent=self)
        self.about_box.setIconPixmap(self.windowIcon().pixmap(64, 64))
        self.about_box.open()  # not exec(): the run goes on behind it

    # -- worker signals -------------------------------------------------------------------
    @Slot(object)
    def _on_worker_state_changed(self, state: RunState) -> None:
        if state.serial < self.serial or self.race_mode.active:  # race mode: the waiting run is not shown
            return
        if state.serial > self.serial and state.config is not None:  # a new run has its config
            self._begin_run(state.serial, state.config)
        self.state = state
        self.panel.show_values(state.hp, state.pending)
        if state.config is not None:
            self.panel.mark_run(state.config)
        self.loss_plot.set_changes(state.changes)
        self._show_phase(state)
        self._update_status()

    # Slots that draw, and the window's paints (event()), are marked interface_busy: the
    # worker steps aside while they run (core/interface_priority.py).
    @Slot(object)
    @INTERFACE_PRIORITY.interface_busy()
    def _on_worker_chunk_ready(self, message: ChunkMessage) -> None:
        self.controller.chunk_taken()
        if message.serial != self.serial or self.history is None or self.race_mode.active:
            return  # a chunk of a run the user has already left
        chunk = message.chunk
        self.history.append(chunk.step, chunk.loss, chunk.best_loss, chunk.evaluations, chunk.theta,
                            chunk.extras)
        self.landscape_plot.set_population(chunk.snapshot.get("population"))
        self.landscape_plot.set_search_distribution(chunk.snapshot.get("mean"), chunk.snapshot.get("covariance"))
        if chunk.diverged_at is not None:
            self.loss_plot.set_divergence(chunk.diverged_at)
        self.steps_per_second = message.steps_per_second
        self.mark_stale()

    def mark_stale(self) -> None:
        """Every plot has new data to draw; frames redraw them (staggered)."""
        self._stale = {getattr(self, name) for name in PLOTS}

    @Slot(object)
    @INTERFACE_PRIORITY.interface_busy()
    def _on_worker_landscape_ready(self, landscape: Landscape) -> None:
        if landscape.serial == self.serial and not self.race_mode.active:
            self.landscape_plot.set_landscape(landscape)

    @Slot(object)
    @INTERFACE_PRIORITY.interface_busy()
    def _on_worker_heldout_ready(self, result: HeldOutResult) -> None:
        if result.serial != self.serial or self.heldout is None:
            return
        add_result(self.heldout, result)
        self.task_view.set_view(result.task_view)
        self._stale.add(self.loss_plot)
        self._show_heldout_status()

    @Slot(object)
    def _on_worker_baselines_ready(self, ready: BaselinesReady) -> None:
        if ready.serial == self.serial and ready.baselines:
            self.loss_plot.set_baseline(ready.baselines[0])
            self._show_heldout_status()

    def _show_heldout_status(self) -> None:
        heldout, baseline = self.heldout, self.loss_plot.baseline_value()
        parts = []
        if heldout is not None and len(heldout):
            accuracy = heldout.column("accuracy")[-1]
            parts.append(f"held-out {heldout.column('loss')[-1]:.4g}"
                         + (f" (acc {accuracy:.1%})" if np.isfinite(accuracy) else ""))
        if baseline is not None:
            parts.append(f"baseline {baseline.loss:.4g}"
                         + (f" (acc {baseline.accuracy:.1%})" if baseline.accuracy is not None else ""))
        self.status_labels["heldout"].setText(" · ".join(parts))

    @Slot(str)
    def _on_worker_input_rejected(self, message: str) -> None:
        self.banner.show_message("warning", f"Not applied: {message}")

    @Slot(str, str)
    def _on_worker_run_failed(self, message: str, details: str) -> None:
        self._traceback = details
        self.banner.show_message("error", f"The run stopped with an error: {message}. "
                                          "Change a setting and press Reset to go on.", details=True)

    def _on_watchdog_timeout(self) -> None:
        """The worker's thread waits for the objective; the window stays usable (it never
        waits for the worker), and says so."""
        evaluation = self.controller.unanswered()
        if (evaluation is None or evaluation is self._told_unanswered
                or evaluation.seconds() < UNANSWERED_SECONDS):
            return
        self._told_unanswered = evaluation
        self.banner.show_message("warning", f"The objective has not answered for {UNANSWERED_SECONDS} s "
                                            f"{evaluation.describe()}. Press Reset or choose another "
                                            "objective to abandon it.")

    def _on_banner_details_clicked(self) -> None:
        self.error_dialog = QMessageBox(QMessageBox.Icon.Critical, "Error details",
                                        self.banner.text.text(), parent=self)
        self.error_dialog.setDetailedText(self._traceback)
        self.error_dialog.open()  # not exec(): the plots keep updating behind it

    def _with_record(self, export: Callable[[RunRecord], None]) -> None:
        """Call ``export`` with the current run as recorded (the record ``runs export`` reads),
        pausing it first so that its figures, rows and summary describe one step."""
        if (self.state is None or self.state.phase is Status.PREPARING or self.history is None
                or len(self.history) == 0):
            self._nothing_to_export()
            return
        self._export = export
        # Always: a Start still on its way would make the shown state stale (no-op if paused).
        self.controller.pause()
        self.controller.copy_record()

    @Slot(object)
    def _on_worker_record_ready(self, copy: RecordCopy) -> None:
        export, self._export = self._export, None
        if export is None or copy.serial != self.serial:
            return  # asked for a run the user has left since
        if copy.record is None or len(copy.record.history) == 0:
            self._nothing_to_export()
        else:
            export(copy.record)

    def _nothing_to_export(self) -> None:
        self.statusBar().showMessage("Nothing to export yet: the run is still being prepared.", 5000)

    def _on_runs_dock_visibility_changed(self, visible: bool) -> None:
        if visible and not self.runs_dock.property("sized"):  # a strip, so the plots keep their room
            self.runs_dock.setProperty("sized", True)
            self.resizeDocks([self.runs_dock], [RUNS_DOCK_HEIGHT], Qt.Orientation.Vertical)

    def _on_runs_panel_load_requested(self, record: RunRecord) -> None:
        problem = self.panel.cannot_show(record.config)
        if problem:
            self.banner.show_message("warning", f"Run {record.id} cannot be loaded into the controls: {problem}")
        else:
            self.panel.show_config(record.config)

    def _on_runs_panel_overlays_changed(self, records: list[RunRecord]) -> None:
        self.loss_plot.set_overlays([(f"run {record.id}: {record.config.learner} on {record.config.objective}",
                                      record.history) for record in records])

    # -- drawing ------------------------------------------------------------------------
    def _begin_run(self, serial: int, config: RunConfig) -> None:
        """A new run (reset or switch): fresh history; the old loss curve becomes the ghost."""
        self.serial = serial
        self._export = None  # an export asked for the run just left
        self.banner.clear()  # whatever it said was about the previous run
        objective = make_objective(config.objective, config.dim)  # its D where the config has none
        self.history = History(objective.dim, history_extras(config.learner), capacity=RECORD_ROWS)
        self.loss_plot.set_run(self.history, objective.optimum_value)
        self.theta_plot.set_run(self.history, own_names(objective))
        self.landscape_plot.set_dim(objective.dim)
        self.landscape_plot.set_objective_axes(objective.landscape_axes())
        self._show_task_objective(is_task_distribution(objective))
        self.user_objectives.begin_run(objective)
        self.landscape_plot.set_run(self.history, population_visible=config.learner in POPULATION_LEARNERS)
        self.landscape_plot.set_model_visible(config.learner == "neural")
        self.learner_plot.set_run(config.learner, self.history)
        self.controller.set_landscape_axes(self.landscape_plot.axes())
        label = learner_class(config.learner).label
        self.setWindowTitle(f"{label} on {config.objective} ({config.dim}-D) — {APP_NAME}")

    def _show_task_objective(self, task: bool) -> None:
        """A fresh held-out series and task view; the dock shows up when the objective comes
        to have held-out tasks and goes when it no longer has (the user may close it between)."""
        self.heldout = heldout_history() if task else None
        self.loss_plot.set_heldout(self.heldout)
        self.task_view.set_view(None)
        self.status_labels["heldout"].setText("")
        self.task_view_action.setEnabled(task)
        if task != self._task_objective:
            self._task_objective = task
            self.task_view_dock.setVisible(task)
            if task:
                self.resizeDocks([self.task_view_dock], [TASK_VIEW_DOCK_WIDTH], Qt.Orientation.Horizontal)

    def _show_phase(self, state: RunState) -> None:
        self.start_action.setText("Pause" if state.phase is Status.RUNNING else "Start")
        preparing = state.phase is Status.PREPARING
        for act in (self.start_action, self.step_action):
            act.setEnabled(not preparing)
        if preparing and state.loading_tensorflow:
            self.banner.show_message("info", "Loading TensorFlow for this learner (a few seconds, "
                                             "once per session)… the window stays usable.")
        elif state.phase is Status.DIVERGED:
            self.banner.show_message("warning", f"Paused: {state.message}")
        elif state.phase is Status.CONVERGED:
            self.banner.show_message("info", f"Converged at step {self._step_text()}: "
                                             "no further progress is possible. Reset to run again.")
        elif state.phase is not Status.FAILED:
            self.banner.clear("info")

    @Slot()
    @INTERFACE_PRIORITY.interface_busy()
    def _on_frame_timer_timeout(self) -> None:
        if not self._stale or self.history is None:
            return
        for _ in DRAW_ORDER:  # the next stale plot in DRAW_ORDER (see FRAME_MS)
            plot = getattr(self, DRAW_ORDER[self._turn])
            self._turn = (self._turn + 1) % len(DRAW_ORDER)
            if plot in self._stale:
                plot.refresh()
                self._stale.discard(plot)
                break
        self._update_status()

    def event(self, event: QEvent) -> bool:  # Qt override
        # The window's widgets paint in its update requests: the worker steps aside meanwhile.
        if event.type() == QEvent.Type.UpdateRequest:
            with INTERFACE_PRIORITY.interface_busy():
                return super().event(event)
        return super().event(event)

    def _step_text(self) -> str:
        history = self.history
        return f"{int(history.column('step')[-1]):,}" if history is not None and len(history) else "–"

    def _update_status(self) -> None:
        labels, history, state = self.status_labels, self.history, self.state
        if state is not None:
            labels["state"].setText(f"<b>{state.phase}</b>")
            labels["tf"].setText("TensorFlow: " + ("loading…" if state.loading_tensorflow
                                                   else "ready" if state.tf_loaded else "not needed yet"))
        if history is None or len(history) == 0:
            return
        labels["step"].setText(f"step {self._step_text()}")
        labels["loss"].setText(f"loss {history.column('loss')[-1]:.5g}")
        labels["best"].setText(f"best {history.column('best_loss')[-1]:.5g}")
        labels["evaluations"].setText(f"{int(history.column('evaluations')[-1]):,} evals")
        running = state is not None and state.phase is Status.RUNNING
        labels["speed"].setText(f"{self.steps_per_second:,.0f} steps/s" if running else "")

    # -- closing -------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override
        save_session(Session(self.config(), self.panel.speed_slider.value(), self.saveGeometry(),
                             self.log_x_action.isChecked()))
        self.frame_timer.stop()
        self.watchdog.stop()
        self.panel.drop_pending()
        self.race_mode.shutdown()
        self.controller.shutdown(timeout_ms=1000)
        if self.runs_panel is not None:
            self.runs_panel.refresh_timer.stop()
        if self.store is not None:
            self.store.close()
        self.statusBar().clearMessage()  # and its timer
        self.collector.stop()
        super().closeEvent(event)
