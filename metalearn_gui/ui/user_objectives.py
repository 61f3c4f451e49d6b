"""The window's side of users' own objectives: Objective → Load objective…, Run → Evaluation…
(where their evaluations run) and their failed evaluations (status bar line, table).

Kept apart from :mod:`metalearn_gui.ui.main_window`, which builds it after its own actions
and calls :meth:`UserObjectives.begin_run` for every new run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence

from metalearn_gui.core.events import EvaluationsFailed
from metalearn_gui.core.executors import EvaluationSettings
from metalearn_gui.core.objectives import Objective, ObjectiveError, is_built_in
from metalearn_gui.core.objectives.user import plugins
from metalearn_gui.ui.evaluation_dialog import EvaluationDialog
from metalearn_gui.ui.failures import WARNING_STYLE, ElidedLabel, FailedEvaluationsDialog, FailureLog
from metalearn_gui.ui.objective_dialog import LoadObjectiveDialog, error_line

if TYPE_CHECKING:
    from metalearn_gui.ui.main_window import MainWindow

log = logging.getLogger(__name__)

#: How long the status bar says where evaluations will run after a change.
NOTICE_MS = 10_000


def plugin_names() -> list[str]:
    """The objective names installed packages register (their modules are not imported here)."""
    return sorted({plugin.name for plugin in plugins()})


def evaluated_elsewhere(objective: Objective) -> bool:
    """Whether the evaluation settings concern ``objective``: a user objective evaluated one θ at
    a time (built-in objectives, formulas and batched functions are vectorised, in this process)."""
    return not is_built_in(objective) and not objective.vectorised


class UserObjectives(QObject):
    """Loads user objectives into the panel's objective menu, edits the evaluation settings
    (sent to the worker, applying from the next run) and shows the run's failed evaluations."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        #: Where user objectives' evaluations run (the worker has them from the next reset).
        self.evaluation = EvaluationSettings()
        self.failures = FailureLog()
        self.objective: Objective | None = None  # the run on screen's
        self.load_dialog: LoadObjectiveDialog | None = None
        self.evaluation_dialog: EvaluationDialog | None = None
        self.failures_dialog: FailedEvaluationsDialog | None = None
        self._setup_actions()
        self._setup_status_bar()
        window.controller.worker.evaluations_failed.connect(self._on_worker_evaluations_failed)

    def _setup_actions(self) -> None:
        window = self.window
        self.load_action = QAction("&Load objective…", window)
        self.load_action.setIconText("Load…")
        self.load_action.setShortcut(QKeySequence("Ctrl+O"))
        self.load_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.load_action.setToolTip("your own objective: a Python function, an external command or a formula "
                                    "(Ctrl+O)")
        self.load_action.triggered.connect(self.open_load_dialog)
        window.addAction(self.load_action)
        window.panel.load_objective_button.setDefaultAction(self.load_action)
        self.evaluation_action = QAction("&Evaluation…", window)
        self.evaluation_action.setToolTip("where a user objective's evaluations run: this process, a pool of "
                                          "processes or a Dask cluster; and their timeout")
        self.evaluation_action.triggered.connect(self.open_evaluation_dialog)
        self.failures_action = QAction("&Failed evaluations…", window)
        self.failures_action.setToolTip("this run's evaluations that raised, timed out or answered no number")
        self.failures_action.setEnabled(False)
        self.failures_action.triggered.connect(self.open_failures_dialog)
        menu_bar = window.menuBar()
        objective_menu = menu_bar.addMenu("&Objective")
        objective_menu.addAction(self.load_action)
        view_menu = next((act for act in menu_bar.actions() if act.text() == "&View"), None)
        if view_menu is not None:  # beside Run, not after Help
            menu_bar.insertMenu(view_menu, objective_menu)
        window.run_menu.insertAction(window.quit_action, self.evaluation_action)
        window.run_menu.insertAction(window.quit_action, self.failures_action)
        window.run_menu.insertSeparator(window.quit_action)

    def _setup_status_bar(self) -> None:
        status_bar = self.window.statusBar()
        # Left, where there is room for a line (a temporary message covers it for its seconds).
        self.failures_label = ElidedLabel()
        self.failures_label.setStyleSheet(WARNING_STYLE)
        self.failures_label.setCursor(Qt.CursorShape.PointingHandCursor)
        self.failures_label.clicked.connect(self.open_failures_dialog)
        status_bar.addWidget(self.failures_label, 1)
        self.evaluation_label = self.window.status_labels["evaluation"]

    def offer_plugins(self) -> None:
        """Offer installed packages' objectives in the objective menu (with their source). Their
        modules are imported here, once the window is up; one that fails is named in the status bar."""
        problems = []
        for name in plugin_names():
            try:
                self.window.panel.add_user_objective(name, select=False)
            except Exception as error:  # noqa: BLE001 - a plugin's own import failed: the others still count
                problems.append(f"plugin objective {name!r} not offered: {error_line(error)}")
                log.warning(problems[-1])
        if problems:
            more = f" (and {len(problems) - 1} more plugin problems)" if len(problems) > 1 else ""
            self.window.statusBar().showMessage(problems[0][:1].upper() + problems[0][1:] + more, NOTICE_MS)

    # -- every run ------------------------------------------------------------------------
    def begin_run(self, objective: Objective) -> None:
        """A new run: no failures yet; the status bar says where its evaluations run."""
        self.objective = objective
        self.failures = FailureLog()
        self.failures_label.clear()
        self.failures_label.setToolTip("")
        self.failures_action.setEnabled(False)
        if self.failures_dialog is not None:
            self.failures_dialog.show_log(self.failures)
        self.evaluation_label.setText(f"evaluation: {self.evaluation.describe()}" if evaluated_elsewhere(objective)
                                      else "")

    @Slot(object)
    def _on_worker_evaluations_failed(self, event: EvaluationsFailed) -> None:
        window = self.window
        if event.serial != window.serial or window.race_mode.active or not event.failures:
            return
        self.failures.add(event)
        line = self.failures.line()
        self.failures_label.setText(line)
        self.failures_label.setToolTip(f"{line}<br><i>click to list them all (Run → Failed evaluations…)</i>")
        self.failures_action.setEnabled(True)
        if self.failures_dialog is not None and self.failures_dialog.isVisible():
            self.failures_dialog.show_log(self.failures)

    # -- dialogs (opened, not exec'd: the run goes on behind them) ------------------------
    def open_load_dialog(self) -> None:
        folder = self.load_dialog.folder if self.load_dialog is not None else None
        self.load_dialog = LoadObjectiveDialog(folder, parent=self.window)
        self.load_dialog.accepted.connect(self._on_load_dialog_accepted)
        self.load_dialog.open()

    def _on_load_dialog_accepted(self) -> None:
        dialog = self.load_dialog
        if dialog is None or not dialog.spec:
            return
        try:
            self.window.panel.add_user_objective(dialog.spec)  # resolved (and cached) by the dialog already
        except ObjectiveError as error:
            self.window.banner.show_message("warning", f"Objective not loaded: {error}")
            return
        self.window.statusBar().showMessage(f"Loaded {dialog.spec}", NOTICE_MS)

    def open_evaluation_dialog(self) -> None:
        objective = self.objective
        note = ""
        if objective is not None and not evaluated_elsewhere(objective):
            note = (f"The current objective, {objective.name}, is "
                    + ("built in" if is_built_in(objective) else "vectorised")
                    + ": it always evaluates in this process, many θ at once.")
        self.evaluation_dialog = EvaluationDialog(self.evaluation, note, parent=self.window)
        self.evaluation_dialog.accepted.connect(self._on_evaluation_dialog_accepted)
        self.evaluation_dialog.open()

    def _on_evaluation_dialog_accepted(self) -> None:
        if self.evaluation_dialog is None:
            return
        self.set_evaluation(self.evaluation_dialog.settings())

    def set_evaluation(self, settings: EvaluationSettings) -> None:
        """Use ``settings`` from the next run on (the run on screen keeps its own)."""
        self.evaluation = settings
        self.window.controller.set_evaluation(settings)
        self.window.statusBar().showMessage(f"Evaluation: {settings.describe()} — applies from the next run "
                                            "(Reset).", NOTICE_MS)

    def open_failures_dialog(self) -> None:
        if self.failures_dialog is None:
            self.failures_dialog = FailedEvaluationsDialog(self.window)
        self.failures_dialog.show_log(self.failures)
        self.failures_dialog.show()
        self.failures_dialog.raise_()
