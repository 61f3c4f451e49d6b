"""The Runs panel: every stored run (from the window or the command line), to overlay on
the current plots, reload into the controls, export or delete; a race's runs are listed
together (at its newest run's place) and the race can be reopened whole.

It reads the run store on the GUI thread (listing and loading a run take milliseconds)
through its own connection; the worker writes through another.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from metalearn_gui.core.record import RunRecord, local_time
from metalearn_gui.core.store import RaceInfo, RunInfo, RunStore, StoreError

COLUMNS = ("run", "learner", "objective", "D", "seed", "best loss", "steps", "status", "race", "date")
#: The list follows runs written by other processes (a CLI run) while the panel shows.
REFRESH_MS = 2000


class RunsPanel(QWidget):
    """Stored runs, newest first.

    Signals
    -------
    overlays_changed(list[RunRecord]): the runs to draw beside the current one
    load_requested(RunRecord): put this run's configuration into the controls
    export_requested(RunRecord): write this run's bundle
    race_requested(RaceInfo): reopen this race (its curves, leaderboard and settings)
    message(str, str): (kind, text) for the window's banner
    """

    overlays_changed = Signal(list)
    load_requested = Signal(object)
    export_requested = Signal(object)
    race_requested = Signal(object)
    message = Signal(str, str)

    def __init__(self, store: RunStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.overlaid: dict[int, RunRecord] = {}
        self._infos: list[RunInfo] = []
        self._races: dict[int, RaceInfo] = {}
        self._unreadable = False  # told once, not at every refresh, until it reads again
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _: self._on_overlay_clicked())

        self.overlay_button = self._button("Overlay", "draw the selected runs' loss beside the current run "
                                                      "(again to remove them)", self._on_overlay_clicked)
        self.load_button = self._button("Load settings", "put the run's learner, objective, D, seed and "
                                                         "hyper-parameters into the controls", self._on_load_clicked)
        self.export_button = self._button("Export…", "write the run's figures and data to a folder",
                                          self._on_export_clicked)
        self.race_button = self._button("Open race", "show the selected run's race: every entrant's curves, the "
                                                     "leaderboard, and its settings to run it again",
                                        self._on_race_clicked)
        self.delete_button = self._button("Delete", "remove the selected runs from the history",
                                          self._on_delete_clicked)
        buttons = QHBoxLayout()
        for button in (self.overlay_button, self.load_button, self.export_button, self.race_button,
                       self.delete_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.refresh_timer.timeout.connect(self.refresh)
        self._update_buttons()

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space and arrows stay the run's shortcuts
        button.clicked.connect(slot)
        return button

    # -- showing ---------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # Qt override
        super().showEvent(event)
        self.refresh()
        self.refresh_timer.start()

    def hideEvent(self, event) -> None:  # Qt override
        self.refresh_timer.stop()
        super().hideEvent(event)

    def refresh(self, redraw: bool = False) -> None:
        """Re-read the list; the table is rebuilt if it changed (or ``redraw``)."""
        try:
            self.store.mark_interrupted()  # a command-line run killed while the panel shows
            infos = _grouped(list(reversed(self.store.list_runs())))
            races = {race.id: race for race in self.store.list_races()}
        except StoreError as error:
            if not self._unreadable:
                self.message.emit("error", f"The run history cannot be read: {error}")
            self._unreadable = True
            return
        self._unreadable = False
        if infos == self._infos and not redraw:
            return
        selected = set(self.selected_ids())
        self._infos, self._races = infos, races
        self.table.clearSelection()
        self.table.setRowCount(len(infos))
        for row, info in enumerate(infos):
            for column, text in enumerate(_cells(info)):
                item = QTableWidgetItem(text)
                if column in (0, 3, 4, 5, 6):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if info.id in self.overlaid:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, column, item)
        self._select({info.id for info in infos} & selected)
        self._update_buttons()

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        return [self._infos[row].id for row in rows if row < len(self._infos)]

    def select_run(self, run_id: int) -> None:
        self.refresh()
        self._select({run_id})

    def _select(self, ids: set[int]) -> None:
        """Select these runs' rows (all of them: ``selectRow`` would keep only the last)."""
        selection = QItemSelection()
        for row, info in enumerate(self._infos):
            if info.id in ids:
                selection.select(self.table.model().index(row, 0),
                                 self.table.model().index(row, len(COLUMNS) - 1))
        self.table.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def _update_buttons(self) -> None:
        count = len(self.selected_ids())
        self.overlay_button.setEnabled(count > 0)
        for button in (self.load_button, self.export_button):
            button.setEnabled(count == 1)
        self.delete_button.setEnabled(count > 0)
        self.race_button.setEnabled(self._selected_race() is not None)

    def _selected_race(self) -> RaceInfo | None:
        """The race every selected run belongs to, if they all belong to one."""
        ids = set(self.selected_ids())
        races = {info.race_id for info in self._infos if info.id in ids}
        race_id = races.pop() if len(races) == 1 else None
        return self._races.get(race_id) if race_id is not None else None

    def _on_race_clicked(self) -> None:
        race = self._selected_race()
        if race is not None:
            self.race_requested.emit(race)

    # -- actions ---------------------------------------------------------------------------
    def _load(self, run_id: int) -> RunRecord | None:
        try:
            return self.store.load(run_id)
        except StoreError as error:
            self.message.emit("error", f"Run {run_id} cannot be loaded: {error}")
            return None

    def _on_overlay_clicked(self) -> None:
        """Toggle: selected runs not overlaid yet are added, the others removed."""
        ids = self.selected_ids()
        if ids and all(run_id in self.overlaid for run_id in ids):
            for run_id in ids:
                del self.overlaid[run_id]
        else:
            for run_id in ids:
                if run_id not in self.overlaid and (record := self._load(run_id)) is not None:
                    self.overlaid[run_id] = replace(record, history=record.history.loss_curve())
        self.refresh(redraw=True)  # the bold marks
        self.overlays_changed.emit(list(self.overlaid.values()))

    def _on_load_clicked(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1 and (record := self._load(ids[0])) is not None:
            self.load_requested.emit(record)

    def _on_export_clicked(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1 and (record := self._load(ids[0])) is not None:
            self.export_requested.emit(record)

    def _on_delete_clicked(self) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        names = ", ".join(f"#{run_id}" for run_id in ids)
        answer = QMessageBox.question(self, "Delete runs", f"Delete run {names} from the history? "
                                                           "This cannot be undone.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.delete(ids)

    def delete(self, ids: list[int]) -> None:
        for run_id in ids:
            try:
                self.store.delete(run_id)
            except StoreError as error:
                self.message.emit("warning", f"Run {run_id} was not deleted: {error}")
                continue
            if self.overlaid.pop(run_id, None) is not None:
                self.overlays_changed.emit(list(self.overlaid.values()))
        self.refresh()


def _grouped(infos: list[RunInfo]) -> list[RunInfo]:
    """``infos`` (newest first) with each race's runs together, at its newest run's place,
    in run order within the race."""
    groups: dict[int, list[RunInfo]] = {}
    for info in infos:
        groups.setdefault(info.race_id if info.race_id is not None else -info.id, []).append(info)
    return [info for key, members in groups.items()
            for info in (sorted(members, key=lambda run: run.id) if key > 0 else members)]


def _cells(info: RunInfo) -> tuple[str, ...]:
    best = "–" if info.best_loss is None else f"{info.best_loss:.5g}"
    race = "" if info.race_id is None else f"race {info.race_id}"
    learner = info.entrant if info.race_id is not None and info.entrant else info.learner
    return (str(info.id), learner, info.objective, str(info.dim), str(info.seed), best,
            f"{info.steps:,}", info.status, race, local_time(info.created))
