"""Run → Evaluation…: where a user objective's evaluations run — in this process, in a pool
of processes or on a Dask cluster — and how long one may take. Applies from the next run."""

from __future__ import annotations

import os

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from metalearn_gui.core.executors import EvaluationSettings, SettingsError, scheduler_address

MAX_WORKERS = 512
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600.0
DASK_PORT = 8786


def scheduler_problem(address: str) -> str:
    """What is wrong with a Dask scheduler's address ("" if nothing), in one line."""
    try:
        scheduler_address(address.strip())
    except SettingsError as error:
        return f"{error}, e.g. tcp://10.0.0.5:{DASK_PORT}"
    return ""


class EvaluationDialog(QDialog):
    """Edits :class:`EvaluationSettings`; :meth:`settings` gives them once accepted.

    ``objective_note`` says how the current objective is evaluated when these settings do
    not concern it (a built-in one is always evaluated in this process, vectorised).
    """

    def __init__(self, settings: EvaluationSettings, objective_note: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Evaluation")
        self.setMinimumWidth(540)  # the address's one-line message fits without wrapping
        layout = QVBoxLayout(self)
        intro = QLabel("Where evaluations of a user objective (a function, a command) run. "
                       "Built-in objectives and formulas are vectorised and always evaluate in this process.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        grid = QGridLayout()
        self.in_process_radio = QRadioButton("In this process")
        self.processes_radio = QRadioButton("Processes")
        self.dask_radio = QRadioButton("Dask cluster")
        self.workers_box = QSpinBox()
        self.workers_box.setRange(1, MAX_WORKERS)
        self.workers_box.setValue(settings.workers or os.cpu_count() or 1)
        self.workers_box.setToolTip(f"worker processes on this machine (it has {os.cpu_count()} CPUs)")
        self.scheduler_edit = QLineEdit(settings.scheduler or "")
        self.scheduler_edit.setPlaceholderText(f"tcp://HOST:{DASK_PORT}")
        self.scheduler_edit.setToolTip("the address of a scheduler started with `dask scheduler`; its workers "
                                       "need numpy and metalearn-gui (and, for a module function, the module)")
        self.address_message = QLabel()  # a bad address, or settings the core refuses
        self.address_message.setStyleSheet("color: #c53030;")
        self.mode_group = QButtonGroup(self)
        for row, (radio, editor) in enumerate(((self.in_process_radio, None), (self.processes_radio, self.workers_box),
                                               (self.dask_radio, self.scheduler_edit))):
            self.mode_group.addButton(radio)
            grid.addWidget(radio, row, 0)
            if editor is not None:
                grid.addWidget(editor, row, 1)
        grid.addWidget(self.address_message, 3, 0, 1, 2)
        self.timeout_box = QDoubleSpinBox()
        self.timeout_box.setRange(0.1, MAX_TIMEOUT_SECONDS)
        self.timeout_box.setDecimals(1)
        self.timeout_box.setSuffix(" s")
        self.timeout_box.setValue(settings.timeout)
        self.timeout_box.setToolTip("an evaluation that takes longer counts as failed (its loss is NaN)")
        grid.addWidget(QLabel("Timeout per evaluation"), 4, 0)
        grid.addWidget(self.timeout_box, 4, 1)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)
        {"in-process": self.in_process_radio, "dask": self.dask_radio}.get(
            settings.mode, self.processes_radio).setChecked(True)
        self.note = QLabel(" ".join(part for part in ("Applies to the next run (Reset or another objective).",
                                                      objective_note) if part))
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: gray;")
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.mode_group.buttonToggled.connect(self._update)
        self.scheduler_edit.textChanged.connect(self._update)
        self._update()

    def accept(self) -> None:  # Qt override
        """Close only with settings the core takes (it names a bad value in one line)."""
        try:
            self.settings()
        except ValueError as error:
            self.address_message.setText(str(error))
            self.address_message.show()
            return
        super().accept()

    def settings(self) -> EvaluationSettings:
        """The settings shown; ValueError (one line) if the core refuses them."""
        timeout = self.timeout_box.value()
        if self.in_process_radio.isChecked():
            return EvaluationSettings("in-process", timeout=timeout)
        if self.dask_radio.isChecked():
            return EvaluationSettings("dask", scheduler=self.scheduler_edit.text().strip(), timeout=timeout)
        return EvaluationSettings("processes", workers=self.workers_box.value(), timeout=timeout)

    def _update(self) -> None:
        """Enable each choice's field; OK only with a valid scheduler address for Dask."""
        self.workers_box.setEnabled(self.processes_radio.isChecked())
        dask = self.dask_radio.isChecked()
        self.scheduler_edit.setEnabled(dask)
        problem = scheduler_problem(self.scheduler_edit.text()) if dask else ""
        shown = problem if self.scheduler_edit.text().strip() else ""  # an empty field is not yet an error
        self.address_message.setText(shown)
        self.address_message.setVisible(bool(shown))
        self.ok_button.setEnabled(not problem)
