"""Objective → Load objective…: a user's own objective as a Python function (from a file or
an installed module), an external command or a formula typed in.

Each way makes the spec string :func:`objective_class` resolves (``file.py:function``,
``package.module:function``, ``command:…``, ``formula:…``), so the rest of the window
passes one string around as for a built-in objective. A file is only *read* here (its
top-level functions are listed with :mod:`ast`); it runs when Load resolves the spec.
"""

from __future__ import annotations

import ast
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from metalearn_gui.core.objectives import Objective, ObjectiveError, objective_class
from metalearn_gui.core.objectives.formula_syntax import ELEMENTWISE, REDUCTIONS

FORMULA_PREFIX = "formula:"
COMMAND_PREFIX = "command:"
#: A file larger than this is not parsed for its function names (the name can still be typed).
MAX_PARSED_BYTES = 5_000_000
ERROR_STYLE = "color: #c53030;"
VALID_STYLE = "color: #2f855a;"
NOTE_STYLE = "color: gray;"

FUNCTION_NOTE = ("The function takes θ (a numpy vector) and returns a float. Declare its dimension, bounds, "
                 "coordinate names, batch form, noise or optimum with <code>@metalearn_gui.objective(dim=…, "
                 "bounds=…)</code>; undecorated it gets D from the panel and bounds (−5, 5). "
                 "The file is only read to list its functions; Load imports it.")
COMMAND_NOTE = ("Any program, in any language. For every evaluation it is started with θ as JSON "
                "(a list of D numbers) on its standard input and must print one number, the loss, on its "
                "standard output. A non-zero exit, other output or a timeout (Run → Evaluation…) is a failed "
                "evaluation, reported with the command's last line of standard error.")
FORMULA_NOTE = ("<code>x</code> is θ, <code>x0</code>, <code>x1</code> … or <code>x[i]</code> its coordinates, "
                "<code>x[a:b]</code> a slice; <code>pi</code>, <code>e</code>, <code>D</code> (the dimension); "
                f"<code>+ - * / **</code>; <code>{' '.join(ELEMENTWISE)}</code>; <code>{' '.join(REDUCTIONS)}</code> "
                "(over θ; <code>min</code>, <code>max</code> of several arguments coordinate by coordinate). "
                "Example: <code>sum(x**2) + 0.1*sin(5*x0)</code>. Nothing typed here runs: the formula is "
                "parsed and compiled to numpy and TensorFlow, so the gradient learner can use it.")


def top_level_functions(path: Path) -> tuple[list[str], str]:
    """The names of the functions ``path`` defines at its top level, read with :mod:`ast`
    (the file is never executed), and "" — or no names and one line saying why."""
    try:
        if path.stat().st_size > MAX_PARSED_BYTES:
            return [], f"{path.name} is larger than {MAX_PARSED_BYTES // 1_000_000} MB: type the function's name"
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except OSError as error:
        return [], f"cannot read {path.name}: {error.strerror or error}"
    except SyntaxError as error:
        return [], f"{path.name} line {error.lineno}: {error.msg}"
    except (ValueError, RecursionError) as error:  # null bytes; nesting too deep for the parser
        return [], f"{path.name} cannot be parsed: {error}"
    names = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    return names, "" if names else f"{path.name} defines no function at its top level"


def error_line(error: Exception) -> str:
    """What went wrong loading an objective, in one line: the core's own message, or the type
    and first line of what the user's code raised on import."""
    if isinstance(error, ObjectiveError):
        return str(error)
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def spec_label(spec: str) -> str:
    """How the objective menu names a user objective: short, the spec in full is its tooltip."""
    if spec.startswith((FORMULA_PREFIX, COMMAND_PREFIX)):
        kind, _, text = spec.partition(":")
        text = text.strip()
        return f"{kind}: {text if len(text) <= 28 else text[:27] + '…'}"
    where, _, function = spec.rpartition(":")
    if where.endswith(".py"):
        return f"{function} ({Path(where).name})"
    return spec


def spec_tooltip(spec: str, cls: type[Objective]) -> str:
    """The objective's description and where it comes from (and the file's hash, if known)."""
    source = getattr(cls, "source", None)  # built-in objectives have none
    digest = getattr(source, "sha256", None)
    lines = [getattr(cls, "description", ""), f"source: {spec}"]
    if digest:
        lines.append(f"sha256 {digest[:16]}…")
    return "\n".join(line for line in lines if line)


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(NOTE_STYLE)
    return label


def _message_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    return label


def _show(label: QLabel, text: str, valid: bool = False) -> None:
    label.setText(text)
    label.setStyleSheet(VALID_STYLE if valid else ERROR_STYLE)


class LoadObjectiveDialog(QDialog):
    """Asks for a user objective; once accepted, :attr:`spec` names it and :attr:`objective`
    is its class. A spec that does not resolve is told in the dialog, which stays open."""

    def __init__(self, folder: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Load objective")
        self.setMinimumWidth(560)
        self.folder = folder or Path.cwd()  # where Browse… starts
        self.spec = ""
        self.objective: type[Objective] | None = None
        self._formula_valid = False
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._function_tab(), "Python function")
        self.tabs.addTab(self._command_tab(), "External command")
        self.tabs.addTab(self._formula_tab(), "Formula")
        layout.addWidget(self.tabs)
        self.error_label = _message_label()
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.load_button = buttons.addButton("Load", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self._on_load_clicked)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.tabs.currentChanged.connect(self._update_load_button)
        self._update_load_button()

    # -- the three ways ---------------------------------------------------------------
    def _function_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.file_radio = QRadioButton("From a file")
        self.module_radio = QRadioButton("From an installed module")
        self.file_radio.setChecked(True)
        group = QButtonGroup(tab)
        for radio in (self.file_radio, self.module_radio):
            group.addButton(radio)
            radio.toggled.connect(self._update_load_button)
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("path/to/objective.py")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._on_browse_clicked)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        self.function_box = QComboBox()
        self.function_box.setEditable(True)  # a function made by assignment is not listed: type it
        self.function_box.setToolTip("the file's top-level functions (read, not run); or type a name")
        self.file_message = _message_label()
        self.module_edit = QLineEdit()
        self.module_edit.setPlaceholderText("package.module:function")
        self.path_edit.textChanged.connect(self._on_path_changed)
        self.function_box.currentTextChanged.connect(self._on_function_source_edited)
        self.module_edit.textChanged.connect(self._on_module_edited)
        form.addRow(self.file_radio)
        form.addRow("File", path_row)
        form.addRow("Function", self.function_box)
        form.addRow("", self.file_message)
        form.addRow(self.module_radio)
        form.addRow("Module", self.module_edit)
        form.addRow(_note(FUNCTION_NOTE))
        return tab

    def _command_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.command_edit = QLineEdit()
        self.command_edit.setPlaceholderText("python train.py --epochs 3")
        self.command_edit.textChanged.connect(self._on_edited)
        form.addRow("Command", self.command_edit)
        form.addRow(_note(COMMAND_NOTE))
        return tab

    def _formula_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.formula_edit = QLineEdit()
        self.formula_edit.setPlaceholderText("sum(x**2) + 0.1*sin(5*x0)")
        self.formula_edit.textChanged.connect(self._on_formula_edited)
        self.formula_message = _message_label()
        form.addRow("Formula", self.formula_edit)
        form.addRow("", self.formula_message)
        form.addRow(_note(FORMULA_NOTE))
        return tab

    # -- what Load would load ---------------------------------------------------------
    def current_spec(self) -> str:
        """The spec the visible tab describes ("" while incomplete)."""
        tab = self.tabs.currentIndex()
        if tab == 0 and self.file_radio.isChecked():
            path, function = self.path_edit.text().strip(), self.function_box.currentText().strip()
            return f"{Path(path).expanduser().resolve()}:{function}" if path and function else ""
        if tab == 0:
            return self.module_edit.text().strip()
        if tab == 1:
            command = self.command_edit.text().strip()
            return COMMAND_PREFIX + command if command else ""
        formula = self.formula_edit.text().strip()
        return FORMULA_PREFIX + formula if formula and self._formula_valid else ""

    def _update_load_button(self) -> None:
        self.load_button.setEnabled(bool(self.current_spec()))

    def _on_edited(self) -> None:
        self.error_label.clear()  # it spoke of what was there before
        self._update_load_button()

    def _on_path_changed(self, text: str) -> None:
        path = Path(text.strip()).expanduser()
        names, message = top_level_functions(path) if text.strip() and path.is_file() else ([], "")
        typed = self.function_box.currentText()
        self.function_box.blockSignals(True)
        self.function_box.clear()
        self.function_box.addItems(names)
        if typed in names or not names:
            self.function_box.setCurrentText(typed)
        self.function_box.blockSignals(False)
        _show(self.file_message, message or (f"{len(names)} function{'s' if len(names) != 1 else ''} found"
                                             if names else ""), valid=not message)
        self._on_function_source_edited()

    def _on_function_source_edited(self) -> None:
        self.file_radio.setChecked(True)
        self._on_edited()

    def _on_module_edited(self) -> None:
        self.module_radio.setChecked(True)
        self._on_edited()

    def _on_formula_edited(self, text: str) -> None:
        """Check the formula as it is typed: its one-line error under the box, Load disabled."""
        text = text.strip()
        message = ""
        if text:
            try:
                objective_class(FORMULA_PREFIX + text)
            except ObjectiveError as error:
                message = str(error)
        self._formula_valid = bool(text) and not message
        _show(self.formula_message, message or ("✓ a valid formula" if text else ""), valid=not message)
        self._on_edited()

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Python file with the objective", str(self.folder),
                                              "Python files (*.py)")
        if path:
            self.folder = Path(path).parent
            self.path_edit.setText(path)

    def _on_load_clicked(self) -> None:
        spec = self.current_spec()
        if not spec:
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # a module may take seconds to import
        try:
            cls = objective_class(spec)
        except Exception as error:  # noqa: BLE001 - the user's own code may run on import: tell, stay usable
            _show(self.error_label, f"Not loaded: {error_line(error)}")
            return
        finally:
            QApplication.restoreOverrideCursor()
        self.spec, self.objective = spec, cls
        self.accept()
