"""The side panel in race mode: what is raced, its progress, which entrant is selected,
that entrant's hyper-parameters (sliders apply to it alone), the pace, and the race's
buttons."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from metalearn_gui.core.hyperparams import Value
from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import make_objective
from metalearn_gui.core.race_config import RaceConfig
from metalearn_gui.plots.race_plot import entrant_color
from metalearn_gui.ui.controls import SPEEDS, HyperParamControl, speed_text


class RacePanel(QWidget):
    """Signals: ``entrant_selected(index)``, ``hyperparameter_changed(name, value)`` (for the
    selected entrant), ``speed_changed(steps per second or None)``."""

    entrant_selected = Signal(int)
    hyperparameter_changed = Signal(str, object)
    speed_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        race = QGroupBox("Race")
        race_layout = QVBoxLayout(race)
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setFormat("%v of %m runs")
        self.progress.setToolTip("runs ended: the entrants of a seed run side by side, the seeds one after another")
        self.seed_label = QLabel()
        for widget in (self.about, self.progress, self.seed_label):
            race_layout.addWidget(widget)
        layout.addWidget(race)

        self.entrants_group = QGroupBox("Selected entrant")
        self.entrants_group.setToolTip("the θ view, the landscape's plane and the sliders follow this entrant "
                                       "(or click its row in the leaderboard)")
        self.entrants_layout = QVBoxLayout(self.entrants_group)
        self.entrant_buttons = QButtonGroup(self)
        self.entrant_buttons.idClicked.connect(self.entrant_selected)
        layout.addWidget(self.entrants_group)

        self.hp_group = QGroupBox("Hyper-parameters")
        self.hp_form = QFormLayout(self.hp_group)
        layout.addWidget(self.hp_group)
        self.controls: dict[str, HyperParamControl] = {}

        speed_group = QGroupBox("Speed (every entrant)")
        speed_layout = QHBoxLayout(speed_group)
        self.speed_slider = QSlider(Qt.Orientation.Horizontal)
        self.speed_slider.setRange(0, len(SPEEDS) - 1)
        self.speed_slider.setValue(len(SPEEDS) - 1)
        self.speed_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed_label = QLabel(speed_text(None))
        self.speed_slider.valueChanged.connect(self._on_speed_slider_changed)
        speed_layout.addWidget(self.speed_slider, 1)
        speed_layout.addWidget(self.speed_label)
        layout.addWidget(speed_group)

        self.pause_button = self._button("Pause", "pause or resume every entrant (Space)")
        self.stop_button = self._button("Stop race", "end the race now: runs under way are stored as stopped")
        self.again_button = self._button("Run again", "race the same entrants again from the first seed (Ctrl+R)")
        self.new_button = self._button("New race…", "choose other entrants, seeds, budget or target")
        self.export_button = self._button("Export race…", "write the race's figures (PNG, SVG), race.csv, "
                                                          "race.json and config.json into a folder")
        self.leave_button = self._button("Leave race mode", "back to a single run (the race, if running, stops)")
        grid = QVBoxLayout()
        for pair in ((self.pause_button, self.stop_button), (self.again_button, self.new_button),
                     (self.export_button, self.leave_button)):
            row = QHBoxLayout()
            for button in pair:
                row.addWidget(button)
            grid.addLayout(row)
        layout.addLayout(grid)
        layout.addStretch(1)

    def _button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return button

    def speed(self) -> float | None:
        return SPEEDS[self.speed_slider.value()]

    # -- what the race is ------------------------------------------------------------------
    def set_race(self, config: RaceConfig, labels: list[str], refused: dict[str, str], live: bool) -> None:
        objective = make_objective(config.objective, config.dim)
        target = "none" if config.target is None else f"{config.target:g}"
        lines = [f"<b>{objective.name}</b> ({objective.dim}-D) · {config.seeds} seed"
                 f"{'s' if config.seeds > 1 else ''} from {config.seed}",
                 f"budget {config.budget:,} evaluations per run · target {target}"]
        lines += [f"<span style='color:gray'>left out: {label} — {reason}</span>" for label, reason in refused.items()]
        if not live:
            lines.append("<i>stored race, reopened from the run history</i>")
        self.about.setText("<br>".join(lines))
        self.progress.setRange(0, len(labels) * config.seeds)
        self.progress.setValue(0)
        for button in self.entrant_buttons.buttons():
            self.entrant_buttons.removeButton(button)
            button.deleteLater()
        for index, label in enumerate(labels):
            button = QRadioButton(label)
            button.setStyleSheet(f"QRadioButton {{ color: {entrant_color(index)}; font-weight: bold; }}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.entrant_buttons.addButton(button, index)
            self.entrants_layout.addWidget(button)
        if labels:
            self.entrant_buttons.button(0).setChecked(True)
        for button in (self.pause_button, self.stop_button):
            button.setEnabled(live)
        self.pause_button.setText("Pause")

    def set_race_ended(self, stopped: bool) -> None:
        for button in (self.pause_button, self.stop_button):
            button.setEnabled(False)
        if stopped:
            self.seed_label.setText("stopped: runs under way were stored as stopped")

    def show_progress(self, done: int, seed_text: str) -> None:
        self.progress.setValue(done)
        self.seed_label.setText(seed_text)

    def select(self, index: int) -> None:
        button = self.entrant_buttons.button(index)
        if button is not None:
            button.setChecked(True)

    def show_entrant(self, label: str, learner: str, values: dict[str, Value], live: bool) -> None:
        """Rows for the selected entrant's hyper-parameters, showing ``values``."""
        while self.hp_form.rowCount():
            self.hp_form.removeRow(0)
        self.controls.clear()
        self.hp_group.setTitle(f"Hyper-parameters of {label}")
        for spec in learner_class(learner).hyperparams:
            control = HyperParamControl(spec, values.get(spec.name, spec.default))
            control.value_committed.connect(self.hyperparameter_changed)
            control.setEnabled(live and spec.live)  # a value for the next reset means nothing mid-race
            name = QLabel(spec.label)
            name.setToolTip(control.toolTip() if spec.live else f"{control.toolTip()}<br>fixed during a race")
            self.hp_form.addRow(name, control)
            self.controls[spec.name] = control

    def show_values(self, values: dict[str, Value]) -> None:
        for name, control in self.controls.items():
            if name in values:
                control.set_value(values[name])

    def drop_pending(self) -> None:
        for control in self.controls.values():
            control.drop_pending()

    def _on_speed_slider_changed(self, index: int) -> None:
        self.speed_label.setText(speed_text(SPEEDS[index]))
        self.speed_changed.emit(SPEEDS[index])
