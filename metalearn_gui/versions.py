"""The versions a user reports with a bug or a figure: read from the installed packages'
metadata, so that asking never imports TensorFlow (seconds) or Qt."""

from __future__ import annotations

import platform
from importlib import metadata

from metalearn_gui import __version__

#: Shown name → distributions that may provide it (the first one installed wins).
LIBRARIES = {
    "PySide6": ("PySide6-Essentials", "PySide6"),
    "pyqtgraph": ("pyqtgraph",),
    "numpy": ("numpy",),
    "TensorFlow": ("tensorflow-cpu", "tensorflow"),
    "TensorBoard": ("tensorboard",),
}


def library_versions() -> dict[str, str]:
    """metalearn-gui, Python and each library's version ("not installed" if missing)."""
    versions = {"metalearn-gui": __version__, "Python": platform.python_version()}
    for shown, distributions in LIBRARIES.items():
        versions[shown] = next((found for found in map(_installed, distributions) if found), "not installed")
    return versions


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
