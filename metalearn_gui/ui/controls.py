"""The side panel: what to run (learner, objective, D, seed), its hyper-parameters, speed.

Hyper-parameter rows are generated from the learner's :class:`HyperParam` specs, so a
new learner gets its sliders for free. Slider drags are debounced (superqt) so one
drag is one change — one marker on the loss plot — not fifty.

Importing superqt costs ~0.3 s (it star-imports most of Qt through qtpy), so it is
imported with the first slider, which the window builds right after its first paint.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from metalearn_gui.core.hyperparams import HyperParam, HyperParamError, Value
from metalearn_gui.core.learners import LEARNER_NAMES, learner_class, refusal
from metalearn_gui.core.objectives import OBJECTIVES, ObjectiveError, make_objective, objective_class
from metalearn_gui.core.objectives.bbob import BBOB_FUNCTIONS, MAX_INSTANCE, bbob_name, parse_bbob_name
from metalearn_gui.core.run import RunConfig
from metalearn_gui.ui.objective_dialog import spec_label, spec_tooltip

if TYPE_CHECKING:
    from superqt import QDoubleSlider

log = logging.getLogger(__name__)

DEBOUNCE_MS = 150
#: Speed stops in steps per second; None = as fast as the learner goes.
SPEEDS: tuple[float | None, ...] = (1, 2, 5, 10, 30, 100, 300, 1_000, 10_000, 100_000, None)
ON_RESET = "applies on reset"
#: The objective menu's one entry for COCO's BBOB suite (a function and an instance pick the objective).
BBOB_ENTRY = "bbob"
#: The learner a run switches to when the objective refuses the one chosen.
FALLBACK_LEARNER = "neural"


def speed_text(speed: float | None) -> str:
    return "maximum" if speed is None else f"{speed:,.0f} steps/s"


def _bounds(spec: HyperParam) -> tuple[float, float]:
    """A slider's range: every numeric hyper-parameter of the learners has both bounds."""
    if spec.low is None or spec.high is None:
        raise ValueError(f"{spec.name} has no range for a slider")
    return spec.low, spec.high


class _NumberBox(QDoubleSpinBox):
    """A spin box that shows and accepts any magnitude (1e-6 … 5000) in %g form;
    on a log scale the arrows multiply instead of add."""

    def __init__(self, spec: HyperParam) -> None:
        super().__init__()
        self._spec = spec
        low, high = _bounds(spec)
        self.setDecimals(12)
        self.setRange(low, high)
        self.setKeyboardTracking(False)
        self.setSingleStep(1 if spec.integer else (high - low) / 100)
        self.setMinimumWidth(84)
        if spec.low_means:  # Qt shows it in place of the minimum
            self.setSpecialValueText(spec.low_means)

    def textFromValue(self, value: float) -> str:  # Qt override
        return f"{value:.0f}" if self._spec.integer else f"{value:.4g}"

    def valueFromText(self, text: str) -> float:  # Qt override
        if self._spec.low_means and text.strip() == self._spec.low_means:
            return self.minimum()
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:  # Qt override
        if self._spec.low_means and text.strip() == self._spec.low_means:
            return QValidator.State.Acceptable
        try:
            float(text)
        except ValueError:
            return QValidator.State.Intermediate
        return QValidator.State.Acceptable

    def stepBy(self, steps: int) -> None:  # Qt override
        if self._spec.log and not self._spec.integer:
            self.setValue(self.value() * 10 ** (steps / 10))
        else:
            super().stepBy(steps)


class HyperParamControl(QWidget):
    """One hyper-parameter: a slider (log-scaled where the spec says) and an editable read-out,
    or a combo box for a choice. Emits ``value_committed`` once the user settles on a value."""

    value_committed = Signal(str, object)
    # Set for a number only (a choice has ``_combo`` instead).
    _slider: QDoubleSlider
    _box: _NumberBox
    _low: float

    def __init__(self, spec: HyperParam, value: Value, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        tip = f"<b>{spec.label}</b> ({spec.name})<br>{spec.help}<br>range: {spec.describe_range()}"
        self.setToolTip(tip + ("" if spec.live else f"<br><i>{ON_RESET}</i>"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._combo: QComboBox | None = None
        if spec.choices is not None:
            self._combo = QComboBox()
            self._combo.addItems(spec.choices)
            self._combo.currentTextChanged.connect(lambda text: self.value_committed.emit(spec.name, text))
            layout.addWidget(self._combo)
        else:
            from superqt import QDoubleSlider
            from superqt.utils import QSignalDebouncer

            self._low, high = _bounds(spec)
            self._slider = QDoubleSlider(Qt.Orientation.Horizontal)
            self._slider.setRange(self._to_slider(self._low), self._to_slider(high))
            self._slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep Right/Space for the app
            self._box = _NumberBox(spec)
            self._debouncer = QSignalDebouncer(parent=self)
            self._debouncer.setTimeout(DEBOUNCE_MS)
            self._slider.valueChanged.connect(self._on_slider_moved)
            self._debouncer.triggered.connect(self._commit)
            self._box.valueChanged.connect(self._on_box_changed)
            layout.addWidget(self._slider, 1)
            layout.addWidget(self._box)
        self.set_value(value)

    def value(self) -> Value:
        if self._combo is not None:
            return self._combo.currentText()
        value = self._box.value()
        return round(value) if self.spec.integer else value

    def set_value(self, value: Value) -> None:
        """Show ``value`` without emitting anything (e.g. the worker's actual value)."""
        if self._combo is not None:
            self._combo.blockSignals(True)
            self._combo.setCurrentText(str(value))
            self._combo.blockSignals(False)
            return
        for widget in (self._slider, self._box):
            widget.blockSignals(True)
        self._box.setValue(float(value))
        self._slider.setValue(self._to_slider(float(value)))
        for widget in (self._slider, self._box):
            widget.blockSignals(False)

    def set_pending(self, pending: bool) -> None:
        """Mark a non-live value that waits for a reset."""
        self.setProperty("pending", pending)
        self.setStyleSheet("QDoubleSpinBox, QComboBox { font-style: italic; }" if pending else "")

    def drop_pending(self) -> None:
        """Forget a slider move not yet committed and stop the debounce timer (the window closes)."""
        if self._combo is None:
            self._debouncer.cancel()
            self._debouncer.flush(restart_timer=False)  # nothing pending now: this only stops its timer

    def _on_slider_moved(self, position: float) -> None:
        value = self._from_slider(position)
        self._box.blockSignals(True)
        self._box.setValue(value)
        self._box.blockSignals(False)
        self._debouncer.throttle()

    def _on_box_changed(self, value: float) -> None:
        self._slider.blockSignals(True)
        self._slider.setValue(self._to_slider(value))
        self._slider.blockSignals(False)
        self._commit()

    def _commit(self) -> None:
        self.value_committed.emit(self.spec.name, self.value())

    def _to_slider(self, value: float) -> float:
        return math.log10(max(value, self._low)) if self._log else value

    def _from_slider(self, position: float) -> float:
        value = 10 ** position if self._log else position
        return float(round(value)) if self.spec.integer else value

    @property
    def _log(self) -> bool:
        return self.spec.log and self.spec.low is not None and self.spec.low > 0


def _on_reset_label(text: str, live: bool) -> QLabel:
    label = QLabel(text if live else f"{text} <span style='color:gray'>⟲</span>")
    if not live:
        label.setToolTip(f"{text}: {ON_RESET}")
    return label


class ControlPanel(QWidget):
    """Learner, objective, D, seed, hyper-parameters and speed.

    Signals
    -------
    problem_changed: learner or objective switched (the run restarts on the new problem)
    hyperparameter_changed(name, value)
    speed_changed(steps per second or None)
    notice(text): something the panel did on its own, for the status bar
    """

    problem_changed = Signal()
    hyperparameter_changed = Signal(str, object)
    speed_changed = Signal(object)
    notice = Signal(str)

    def __init__(self, learner: str = "neural", objective: str = "rosenbrock", dim: int | None = None,
                 seed: int = 0, hyperparameters: Mapping[str, Value] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls: dict[str, HyperParamControl] = {}
        #: Hyper-parameter values the rows show when next built (else the defaults).
        self._wanted: dict[str, Value] = {}
        self._run: RunConfig | None = None  # the run on screen, see mark_run
        self._first_user_index: int | None = None  # where loaded user objectives begin in the objective menu
        self._setup_ui()
        self._show_problem(RunConfig(learner, objective, dim, None, seed, hyperparameters or {}))
        for box in (self.learner_box, self.objective_box, self.function_box):
            box.currentIndexChanged.connect(self._on_problem_changed)
        self.instance_box.valueChanged.connect(self._on_problem_changed)
        self.dim_box.valueChanged.connect(self._on_dim_changed)
        self.seed_box.valueChanged.connect(self._mark_pending_problem)

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        problem = QGroupBox("Run")
        form = QFormLayout(problem)
        self.learner_box = QComboBox()
        for name in LEARNER_NAMES:
            learner = learner_class(name)
            self.learner_box.addItem(learner.label, name)
            self.learner_box.setItemData(self.learner_box.count() - 1, learner.description, Qt.ItemDataRole.ToolTipRole)
        self.objective_box = QComboBox()
        for name, objective in OBJECTIVES.items():
            self.objective_box.addItem(name, name)
            self.objective_box.setItemData(self.objective_box.count() - 1, objective.description,
                                           Qt.ItemDataRole.ToolTipRole)
        self.objective_box.addItem(f"COCO BBOB ({len(BBOB_FUNCTIONS)} functions)", BBOB_ENTRY)
        self.objective_box.setItemData(self.objective_box.count() - 1,
                                       "the field's standard black-box suite: choose a function and an instance",
                                       Qt.ItemDataRole.ToolTipRole)
        # Long names (a user objective's) are elided rather than widening the panel.
        self.objective_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.objective_box.setMinimumContentsLength(10)  # with the Load… button: as wide as the learner menu
        self.load_objective_button = QToolButton()  # the window gives it its "Load objective…" action
        objective_row = QHBoxLayout()
        objective_row.addWidget(self.objective_box, 1)
        objective_row.addWidget(self.load_objective_button)
        self.function_box = QComboBox()
        for number, title in BBOB_FUNCTIONS.items():
            self.function_box.addItem(f"f{number} {title}", number)
        self.function_box.setToolTip("the BBOB function, as COCO numbers them")
        # Long names are elided rather than widening the panel.
        self.function_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.function_box.setMinimumContentsLength(14)
        self.instance_box = QSpinBox()
        self.instance_box.setRange(1, MAX_INSTANCE)
        self.instance_box.setKeyboardTracking(False)  # one restart per number typed, not per digit
        self.instance_box.setToolTip(f"1 … {MAX_INSTANCE}: each instance shifts and rotates the function "
                                     "and moves its optimum")
        self.dim_box = QSpinBox()  # its range follows the objective (_update_dim_range)
        self.dim_box.setToolTip(f"dimension D of the strategy θ; {ON_RESET}")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setToolTip(f"random seed: the same seed replays the same initial θ; {ON_RESET}")
        form.addRow("Learner", self.learner_box)
        form.addRow("Objective", objective_row)
        form.addRow("Function", self.function_box)
        form.addRow("Instance", self.instance_box)
        self._problem_form = form
        form.addRow(_on_reset_label("Dimension D", False), self.dim_box)
        form.addRow(_on_reset_label("Seed", False), self.seed_box)
        layout.addWidget(problem)

        self.hp_group = QGroupBox("Hyper-parameters")
        self.hp_form = QFormLayout(self.hp_group)
        layout.addWidget(self.hp_group)
        note = QLabel("⟲ applies on reset · hover a name for its formula")
        note.setStyleSheet("color: gray;")
        note.setWordWrap(True)
        layout.addWidget(note)

        speed_group = QGroupBox("Speed")
        speed_layout = QHBoxLayout(speed_group)
        self.speed_slider = QSlider(Qt.Orientation.Horizontal)
        self.speed_slider.setRange(0, len(SPEEDS) - 1)
        self.speed_slider.setValue(len(SPEEDS) - 1)
        self.speed_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed_slider.setToolTip("from slow motion (1 step per second) to as fast as the learner runs")
        self.speed_label = QLabel(speed_text(None))
        self.speed_label.setMinimumWidth(100)
        self.speed_slider.valueChanged.connect(self._on_speed_slider_changed)
        speed_layout.addWidget(self.speed_slider, 1)
        speed_layout.addWidget(self.speed_label)
        layout.addWidget(speed_group)
        self.tensorboard_box = QCheckBox("Log runs to TensorBoard")
        self.tensorboard_box.setToolTip("write loss, best loss, θ and hyper-parameter changes as TensorBoard "
                                        "scalars (view them with `tensorboard --logdir FOLDER`)")
        layout.addWidget(self.tensorboard_box)
        self.buttons = QHBoxLayout()  # the window adds Start/Step/Reset here
        layout.addLayout(self.buttons)
        layout.addStretch(1)

    # -- what the panel asks for --------------------------------------------------------
    def learner(self) -> str:
        return self.learner_box.currentData()

    def objective(self) -> str:
        """The objective's name: a BBOB function instance's is built from the picker."""
        name = self.objective_box.currentData()
        if name == BBOB_ENTRY:
            return bbob_name(self.function_box.currentData(), self.instance_box.value())
        return name

    def speed(self) -> float | None:
        return SPEEDS[self.speed_slider.value()]

    def hyperparameters(self) -> dict[str, Value]:
        if not self.controls:  # the first call builds the rows (see the module docstring)
            self._rebuild_hyperparameters()
        return {name: control.value() for name, control in self.controls.items()}

    def show_values(self, values: dict[str, Value], pending: dict[str, Value]) -> None:
        """Show the worker's values; non-live ones waiting for a reset show the new value."""
        for name, control in self.controls.items():
            if name in pending:
                control.set_value(pending[name])
            elif name in values:
                control.set_value(values[name])
            control.set_pending(name in pending)

    def drop_pending(self) -> None:
        """Forget slider moves not yet committed: the window closes, the run ends as it is."""
        for control in self.controls.values():
            control.drop_pending()

    def mark_run(self, run: RunConfig) -> None:
        """The run the plots show: a D or seed that differs from it waits for a reset, and is
        marked so (as a hyper-parameter that applies on reset is)."""
        self._run = run
        self._mark_pending_problem()

    def _mark_pending_problem(self) -> None:
        for box, value in ((self.dim_box, self._run and self._run.dim), (self.seed_box, self._run and self._run.seed)):
            pending = self._run is not None and box.value() != value
            if bool(box.property("pending")) != pending:
                box.setProperty("pending", pending)
                box.setStyleSheet("QSpinBox { font-style: italic; }" if pending else "")

    def show_config(self, config: RunConfig) -> None:
        """Show a whole configuration (a run reloaded from the history, the last session's)
        and restart on it: one ``problem_changed``, not one per field."""
        self._show_problem(config)
        self._rebuild_hyperparameters()
        self.problem_changed.emit()

    def cannot_show(self, config: RunConfig) -> str:
        """Why ``config`` does not fit the controls (a command-line run's seed beyond the box, a user
        objective that no longer loads), or ""."""
        if config.seed > self.seed_box.maximum():
            return f"seed {config.seed}; the window takes 0 … {self.seed_box.maximum()}"
        try:
            objective_class(config.objective)
        except ObjectiveError as error:
            return str(error)
        return ""

    def add_user_objective(self, spec: str, select: bool = True) -> None:
        """Offer the user objective ``spec`` in the objective menu (once per session), its source
        as tooltip, and choose it if ``select`` (the run restarts on it). Raises
        :class:`ObjectiveError` if ``spec`` does not resolve."""
        index = self.objective_box.findData(spec)
        if index < 0:
            cls = objective_class(spec)
            if self._first_user_index is None:  # user objectives go below a line, after the built-in ones
                self.objective_box.insertSeparator(self.objective_box.count())
                self._first_user_index = self.objective_box.count()
            self.objective_box.addItem(spec_label(spec), spec)
            index = self.objective_box.count() - 1
            self.objective_box.setItemData(index, spec_tooltip(spec, cls), Qt.ItemDataRole.ToolTipRole)
        if select:
            self.objective_box.setCurrentIndex(index)

    def user_objectives(self) -> list[str]:
        """The specs of the user objectives the menu offers, in the order loaded."""
        if self._first_user_index is None:
            return []
        return [self.objective_box.itemData(i) for i in range(self._first_user_index, self.objective_box.count())]

    def _show_problem(self, config: RunConfig) -> None:
        boxes = (self.learner_box, self.objective_box, self.function_box, self.instance_box, self.dim_box)
        for box in boxes:
            box.blockSignals(True)
        self.learner_box.setCurrentIndex(LEARNER_NAMES.index(config.learner))
        bbob = parse_bbob_name(config.objective)
        if bbob is None:
            if self.objective_box.findData(config.objective) < 0:  # a user objective (the last session's…)
                self.add_user_objective(config.objective, select=False)
            self.objective_box.setCurrentIndex(self.objective_box.findData(config.objective))
        else:
            self.objective_box.setCurrentIndex(self.objective_box.findData(BBOB_ENTRY))
            self.function_box.setCurrentIndex(self.function_box.findData(bbob[0]))
            self.instance_box.setValue(bbob[1])
        self._update_dim_range(config.objective)
        self.dim_box.setValue(config.dim or make_objective(config.objective).dim)
        for box in boxes:
            box.blockSignals(False)
        self._show_learners_that_apply()
        self.seed_box.setValue(config.seed)
        self._wanted = dict(config.hyperparameters)

    # -- reactions ----------------------------------------------------------------------
    def _on_problem_changed(self) -> None:
        self._update_dim_range(self.objective())
        self._show_learners_that_apply()
        self._wanted = {}  # values chosen for another learner or objective
        self._rebuild_hyperparameters()
        self.problem_changed.emit()

    def _on_speed_slider_changed(self, index: int) -> None:
        self.speed_label.setText(speed_text(SPEEDS[index]))
        self.speed_changed.emit(SPEEDS[index])

    def _on_dim_changed(self) -> None:
        """A D beyond the chosen learner's largest switches learners (a new problem);
        otherwise the D waits for a reset."""
        if self._show_learners_that_apply():
            self._on_problem_changed()
        else:
            self._mark_pending_problem()

    def _update_dim_range(self, objective: str) -> None:
        """The objective's range of D; an objective of one fixed D shows it, unchangeable."""
        cls = objective_class(objective)
        blocked = self.dim_box.blockSignals(True)  # the caller shows the learners for the new D
        self.dim_box.setRange(cls.min_dim, cls.max_dim)
        self.dim_box.blockSignals(blocked)
        fixed = cls.min_dim == cls.max_dim
        self.dim_box.setEnabled(not fixed)
        self.dim_box.setToolTip(f"{cls.name} has a fixed dimension D = {cls.min_dim:,}" if fixed
                                else f"dimension D of the strategy θ; {ON_RESET}")

    def _show_learners_that_apply(self) -> bool:
        """Show the function picker for a BBOB objective; disable the learners the objective
        refuses at the current D, with the reason as their tooltip. If the chosen one is
        refused, switch to :data:`FALLBACK_LEARNER` (or the first that applies), say so and
        return True."""
        for box in (self.function_box, self.instance_box):
            self._problem_form.setRowVisible(box, self.objective_box.currentData() == BBOB_ENTRY)
        objective = objective_class(self.objective())  # what it is, without building it
        model = self.learner_box.model()
        dim = self.dim_box.value()
        applies = []
        for index, name in enumerate(LEARNER_NAMES):
            reason = refusal(name, objective, dim)
            model.item(index).setEnabled(reason is None)  # type: ignore[attr-defined]
            self.learner_box.setItemData(index, reason or learner_class(name).description,
                                         Qt.ItemDataRole.ToolTipRole)
            if reason is None:
                applies.append(name)
        reason = refusal(self.learner(), objective, dim)
        if reason is None or not applies:
            return False
        fallback = FALLBACK_LEARNER if FALLBACK_LEARNER in applies else applies[0]
        self.learner_box.blockSignals(True)
        self.learner_box.setCurrentIndex(LEARNER_NAMES.index(fallback))
        self.learner_box.blockSignals(False)
        self.notice.emit(f"Switched to {learner_class(fallback).label}: {reason.partition('. ')[0]}")
        return True

    def _rebuild_hyperparameters(self) -> None:
        """Rows for the current learner, with the objective's suggested values as defaults."""
        while self.hp_form.rowCount():
            self.hp_form.removeRow(0)
        self.controls.clear()
        cls = learner_class(self.learner())
        suggested = objective_class(self.objective()).suggested.get(cls.name, {})
        for spec in cls.hyperparams:
            control = HyperParamControl(spec, self._wanted_value(spec, suggested.get(spec.name, spec.default)))
            control.value_committed.connect(self.hyperparameter_changed)
            label = _on_reset_label(spec.label, spec.live)
            label.setToolTip(control.toolTip())
            self.hp_form.addRow(label, control)
            self.controls[spec.name] = control

    def _wanted_value(self, spec: HyperParam, default: Value) -> Value:
        if spec.name not in self._wanted:
            return default
        try:
            return spec.validate(self._wanted[spec.name])
        except HyperParamError as error:  # e.g. a saved value outside a newer version's range
            log.warning("not restoring %s", error)
            return default
