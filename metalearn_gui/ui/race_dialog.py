"""The race set-up: 2–4 entrants (a learner and hyper-parameter values each; the same
learner twice with different values is allowed) on the window's objective, D and seed,
with the number of seeds, the evaluation budget and an optional target.

Learners the objective refuses cannot be picked (the reason is their tooltip). Every
value is checked as the command line checks it (:meth:`RaceConfig.check`); a mistake
is one line in the dialog, which stays open.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from metalearn_gui.core.hyperparams import Value
from metalearn_gui.core.learners import LEARNER_NAMES, learner_class, refusal
from metalearn_gui.core.objectives import make_objective
from metalearn_gui.core.race_config import (
    DEFAULT_SEEDS,
    Entrant,
    RaceConfig,
    default_budget,
    parse_values,
)
from metalearn_gui.core.run import MAX_EVALUATIONS, ConfigError
from metalearn_gui.plots.race_plot import entrant_color

MIN_ENTRANTS, MAX_ENTRANTS = 2, 4
#: Seeds the dialog offers at most: a window's race is watched, not a batch job.
MAX_WINDOW_SEEDS = 100
#: The largest budget a spin box holds (Qt's int).
MAX_BUDGET = min(MAX_EVALUATIONS, 2**31 - 1)


def values_text(values: dict[str, Value]) -> str:
    return " ".join(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"
                    for name, value in values.items())


class EntrantRow:
    """One entrant's widgets: colour swatch, learner, values, remove button."""

    def __init__(self, dialog: RaceDialog, learner: str, values: dict[str, Value]) -> None:
        self.swatch = QLabel()
        self.learner_box = QComboBox()
        for name in LEARNER_NAMES:
            self.learner_box.addItem(learner_class(name).label, name)
        self.values_edit = QLineEdit(values_text(values))
        self.values_edit.setMinimumWidth(260)
        self.remove_button = QToolButton()
        self.remove_button.setText("✕")
        self.remove_button.setToolTip("remove this entrant")
        self.remove_button.clicked.connect(lambda: dialog.remove_row(self))
        self.learner_box.currentIndexChanged.connect(self._describe_values)
        self.learner_box.setCurrentIndex(LEARNER_NAMES.index(learner))
        self._describe_values()

    def widgets(self) -> tuple[QWidget, ...]:
        return self.swatch, self.learner_box, self.values_edit, self.remove_button

    def learner(self) -> str:
        return self.learner_box.currentData()

    def set_color(self, index: int) -> None:
        self.swatch.setText(f"<span style='color:{entrant_color(index)}; font-size: 16pt'>■</span>")

    def entrant(self) -> Entrant:
        """The entrant as typed; a :class:`ConfigError` names a bad value."""
        return Entrant(self.learner(), parse_values(self.learner(), self.values_edit.text().split(),
                                                    option="each value"))

    def _describe_values(self) -> None:
        cls = learner_class(self.learner())
        names = [spec for spec in cls.hyperparams]
        self.values_edit.setPlaceholderText("defaults (e.g. " + " ".join(
            f"{spec.name}={spec.default}" for spec in names[:2]) + ")")
        self.values_edit.setToolTip("NAME=VALUE pairs, space-separated; unnamed values keep their defaults:<br>"
                                    + "<br>".join(f"<b>{spec.name}</b> ({spec.label}): {spec.describe_range()}, "
                                                  f"default {spec.default}" for spec in names))


class RaceDialog(QDialog):
    """Asks for a race on ``objective`` in ``dim`` dimensions from seed ``seed``;
    :meth:`config` is the race once accepted."""

    def __init__(self, objective: str, dim: int, seed: int, entrants: list[Entrant],
                 previous: RaceConfig | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Race learners")
        self.objective_name, self.dim, self.seed = objective, dim, seed
        self.objective = make_objective(objective, dim)
        self.rows: list[EntrantRow] = []
        self._config: RaceConfig | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"On <b>{self.objective.name}</b> ({self.objective.dim}-D), seeds from {seed}: "
                                "every entrant gets the same budget of evaluations."))
        self.grid = QGridLayout()
        for column, title in enumerate(("", "learner", "hyper-parameter values (NAME=VALUE …)")):
            self.grid.addWidget(QLabel(f"<i>{title}</i>"), 0, column)
        layout.addLayout(self.grid)
        self.add_button = QPushButton("Add entrant")
        self.add_button.clicked.connect(lambda: self.add_row(self._next_learner(), {}))
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)

        form = QFormLayout()
        self.seeds_box = QSpinBox()
        self.seeds_box.setRange(1, MAX_WINDOW_SEEDS)
        self.seeds_box.setToolTip("runs per entrant, one seed each (in sequence, the entrants of a seed side by "
                                  "side); with several, the plot shows the median and interquartile band")
        self.budget_box = QSpinBox()
        self.budget_box.setRange(1, MAX_BUDGET)
        self.budget_box.setSingleStep(100)
        self.budget_box.setToolTip("evaluations of the loss per run; a step that would cross it is not taken")
        self.target_edit = QLineEdit()
        optimum = self.objective.optimum_value
        self.target_edit.setPlaceholderText("none" if optimum is None else f"none (optimum L* = {optimum:g})")
        self.target_edit.setToolTip("a loss: the leaderboard counts the evaluations each run needs to reach it "
                                    "and ranks by them once reached (empty: rank by best loss)")
        form.addRow("Seeds (repeats)", self.seeds_box)
        form.addRow("Budget (evaluations)", self.budget_box)
        form.addRow("Target loss", self.target_edit)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c53030;")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = buttons.addButton("Start race", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        same_problem = previous is not None and (previous.objective, previous.dim) == (objective, dim)
        chosen = list(previous.entrants) if same_problem and previous else entrants
        for entrant in chosen[:MAX_ENTRANTS]:
            self.add_row(entrant.learner, dict(entrant.hyperparameters))
        while len(self.rows) < MIN_ENTRANTS:
            self.add_row(self._next_learner(), {})
        self.seeds_box.setValue(previous.seeds if same_problem and previous else DEFAULT_SEEDS)
        self.budget_box.setValue(min(previous.budget if same_problem and previous
                                     else default_budget(objective, dim), MAX_BUDGET))
        target = previous.target if same_problem and previous else None
        self.target_edit.setText("" if target is None else f"{target:g}")

    # -- entrants --------------------------------------------------------------------------
    def add_row(self, learner: str, values: dict[str, Value]) -> EntrantRow:
        if refusal(learner, self.objective) is not None:
            learner, values = self._next_learner(), {}
        row = EntrantRow(self, learner, values)
        self._disable_refused(row.learner_box)
        self.rows.append(row)
        self._lay_out()
        return row

    def remove_row(self, row: EntrantRow) -> None:
        for widget in row.widgets():
            self.grid.removeWidget(widget)
            widget.deleteLater()
        self.rows.remove(row)
        self._lay_out()

    def _lay_out(self) -> None:
        for number, row in enumerate(self.rows):
            row.set_color(number)
            for column, widget in enumerate(row.widgets()):
                self.grid.addWidget(widget, number + 1, column)
            row.remove_button.setEnabled(len(self.rows) > MIN_ENTRANTS)
        self.add_button.setEnabled(len(self.rows) < MAX_ENTRANTS)

    def _disable_refused(self, box: QComboBox) -> None:
        model = box.model()
        for index, name in enumerate(LEARNER_NAMES):
            reason = refusal(name, self.objective)
            model.item(index).setEnabled(reason is None)  # type: ignore[attr-defined]
            box.setItemData(index, reason or learner_class(name).description, Qt.ItemDataRole.ToolTipRole)

    def _next_learner(self) -> str:
        """A learner the objective accepts, one not raced yet if there is one."""
        allowed = [name for name in LEARNER_NAMES if refusal(name, self.objective) is None]
        taken = {row.learner() for row in self.rows}
        return next((name for name in allowed if name not in taken), allowed[0])

    # -- result ------------------------------------------------------------------------------
    def config(self) -> RaceConfig | None:
        return self._config

    def accept(self) -> None:  # Qt override: only a race that checks out closes the dialog
        try:
            self._config = self._read()
        except ConfigError as error:
            text = str(error)
            self.error.setText(text[:1].upper() + text[1:])
            return
        super().accept()

    def _read(self) -> RaceConfig:
        entrants = []
        for number, row in enumerate(self.rows, 1):
            try:
                entrants.append(row.entrant())
            except ConfigError as error:
                raise ConfigError(f"entrant {number} ({row.learner()}): {error}") from None
        text = self.target_edit.text().strip()
        try:
            target = float(text) if text else None
        except ValueError:
            raise ConfigError(f"target {text!r} is not a number (leave it empty for none)") from None
        if target is not None and not math.isfinite(target):
            raise ConfigError(f"target {text!r} must be a finite number")
        config = RaceConfig(self.objective_name, tuple(entrants), self.budget_box.value(), self.dim,
                            self.seeds_box.value(), target, self.seed)
        config.check("race")
        return config
