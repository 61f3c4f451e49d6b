"""The app's identity in the window: its icon, and what Help → About says."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QSize, qVersion
from PySide6.QtGui import QIcon

from metalearn_gui import __version__
from metalearn_gui.resources import ICON_SIZES, icon_png
from metalearn_gui.versions import library_versions


def app_icon() -> QIcon:
    """The app icon at each size it ships in (crisp in title bars and switchers)."""
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addFile(str(icon_png(size)), QSize(size, size))
    return icon


def about_text(app_name: str, data_dir: Path) -> str:
    """Help → About: what this is, every library's version, where runs are kept."""
    versions = {**library_versions(), "Qt": qVersion()}
    rows = "".join(f"<tr><td>{name}</td><td>&nbsp;{version}</td></tr>" for name, version in versions.items())
    return (f"<b>{app_name}</b> {__version__}<br>A desktop strategy lab for meta-learning: watch neural, "
            f"genetic and gradient learners improve a strategy live.<br><br><table>{rows}</table><br>"
            f"Run history folder:<br><code>{html.escape(str(data_dir))}</code>")
