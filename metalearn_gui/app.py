"""Start the desktop app: one QApplication, the main window, a clean shutdown."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path


def launch(argv: Sequence[str] | None = None, data_dir: Path | None = None) -> int:
    """Open the main window and run the event loop; returns the exit status."""
    from PySide6.QtWidgets import QApplication

    from metalearn_gui.resources import APP_ID
    from metalearn_gui.ui.about import app_icon
    from metalearn_gui.ui.main_window import APP_NAME, MainWindow
    from metalearn_gui.ui.quit_signals import QuitOnSignals

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(sys.argv if argv is None else argv))
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setDesktopFileName(APP_ID)  # Wayland matches the window to its launcher entry by this
    app.setWindowIcon(app_icon())
    window = MainWindow.from_last_session(data_dir)
    # Also on logout or app.quit(): join the worker; a running QThread at exit aborts.
    app.aboutToQuit.connect(window.controller.shutdown)
    signals = QuitOnSignals(app, window)  # Ctrl+C, kill, a closed terminal: the run is kept
    window.show()
    try:
        return app.exec()
    finally:
        signals.uninstall()
