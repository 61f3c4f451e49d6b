"""The window's File menu and toolbar exports: a figure as PNG or SVG, the data as CSV,
the configuration as JSON, or everything as a bundle folder with a manifest.

Exports of the current run take it as the window has it, paused first so that the
figures, rows and summary describe the same step; figures use the window's step axis
(linear or log-scaled). A path that cannot be written gets
a message; the run and its data are untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox

from metalearn_gui.core.race_results import Standing
from metalearn_gui.core.record import RunRecord

if TYPE_CHECKING:
    from metalearn_gui.core.race import Race
    from metalearn_gui.core.race_store import StoredRace

#: Figure names (as the exporter knows them) and their menu labels.
FIGURE_LABELS = {"loss": "&Loss", "theta": "&Strategy θ", "landscape": "L&andscape", "taskview": "&Task view"}
PNG_SCALES = (1, 2)


class ExportMenu(QObject):
    """Builds the export actions; ``with_record(callback)`` must call ``callback`` with the
    current run's record once it is safe to export (e.g. after pausing); ``log_x()`` says
    whether figures get a log-scaled step axis."""

    def __init__(self, parent: QMainWindow, with_record: Callable[[Callable[[RunRecord], None]], None],
                 log_x: Callable[[], bool] = lambda: False) -> None:
        super().__init__(parent)
        self.window = parent
        self.with_record = with_record
        self.log_x = log_x
        self.last_folder = Path.home()
        self.bundle_action = QAction("Export &bundle…", parent)
        self.bundle_action.setShortcut(QKeySequence("Ctrl+E"))
        self.bundle_action.setToolTip("write the run's figures (PNG and SVG), data (CSV), configuration and "
                                      "summary (JSON) and a manifest into one folder (Ctrl+E)")
        self.bundle_action.triggered.connect(lambda: self.with_record(self.export_bundle))
        self.menu = QMenu("&File", parent)
        self.menu.addAction(self.bundle_action)
        figures = self.menu.addMenu("Export &figure")
        for name, label in FIGURE_LABELS.items():
            figures.addAction(label + "…", lambda name=name: self.with_record(
                lambda record: self.export_figure(record, name)))
        self.menu.addAction("Export &data as CSV…", lambda: self.with_record(self.export_csv))
        self.menu.addAction("Export &configuration as JSON…", lambda: self.with_record(self.export_config))
        scales = self.menu.addMenu("PNG &scale")
        group = QActionGroup(self)
        self.scale_actions = {}
        for scale in PNG_SCALES:
            action = scales.addAction(f"{scale}× ({'screen' if scale == 1 else 'print'})")
            action.setCheckable(True)
            action.setChecked(scale == 1)
            group.addAction(action)
            self.scale_actions[scale] = action

    @property
    def scale(self) -> int:
        return next(scale for scale, action in self.scale_actions.items() if action.isChecked())

    # -- exports (each one user action, each failure one message) -----------------------------
    def export_bundle(self, record: RunRecord) -> None:
        from metalearn_gui.export.bundle import write_bundle

        folder = QFileDialog.getExistingDirectory(self.window, "Export the run into a folder",
                                                  str(self.last_folder))
        if folder:
            self._write(lambda: write_bundle(record, Path(folder), scale=self.scale, log_x=self.log_x()),
                        Path(folder), f"Exported run to {folder}")

    def export_race(self, race: Race | StoredRace, standings: list[Standing]) -> None:
        """The race's figures (PNG, SVG), race.csv, race.json and config.json into a folder."""
        from metalearn_gui.export.race_bundle import write_race_export
        from metalearn_gui.export.race_files import race_summary

        folder = QFileDialog.getExistingDirectory(self.window, "Export the race into a folder", str(self.last_folder))
        if folder:
            self._write(lambda: write_race_export(race, standings, race_summary(race, standings), Path(folder),
                                                  scale=self.scale, log_x=self.log_x()),
                        Path(folder), f"Exported the race to {folder}")

    def export_figure(self, record: RunRecord, name: str) -> None:
        from metalearn_gui.export.bundle import write_figure

        path = self._ask_file(f"Export the {name} figure", f"{name}.png",
                              "PNG image (*.png);;SVG vector image (*.svg)")
        if path:
            self._write(lambda: write_figure(record, name, path, scale=self.scale, log_x=self.log_x()), path.parent,
                        f"Saved {path.name}")

    def export_csv(self, record: RunRecord) -> None:
        from metalearn_gui.export.bundle import write_history

        path = self._ask_file("Export the run's data", "history.csv", "CSV table (*.csv)")
        if path:
            self._write(lambda: write_history(record, path), path.parent, f"Saved {path.name}")

    def export_config(self, record: RunRecord) -> None:
        from metalearn_gui.export.bundle import write_config

        path = self._ask_file("Export the run's configuration", "config.json", "JSON (*.json)")
        if path:
            self._write(lambda: write_config(record.config, path), path.parent, f"Saved {path.name}")

    def _ask_file(self, title: str, name: str, filters: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self.window, title, str(self.last_folder / name), filters)
        return Path(path) if path else None

    def _write(self, write: Callable[[], object], folder: Path, done: str) -> None:
        from metalearn_gui.export.files import ExportError

        try:
            write()
        except ExportError as error:
            QMessageBox.warning(self.window, "Export failed", f"{error}\n\nThe run is unchanged.")
            return
        self.last_folder = folder
        self.window.statusBar().showMessage(done, 5000)
