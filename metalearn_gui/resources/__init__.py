"""Files shipped inside the package: the icon (SVG and PNG sizes), desktop entry, AppStream metainfo.

This folder is the one source of truth for them. The app loads them through
:mod:`importlib.resources`, so a wheel installed anywhere (or a PyInstaller bundle) finds
them; installers (``packaging/install_desktop_entry.sh``) copy them from here. The PNGs
are rendered from ``icon.svg`` by ``packaging/render_icons.py`` and committed, so a build
needs no renderer; a test fails when they no longer match the SVG. Qt-free.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

#: Reverse-DNS application id: names the .desktop and metainfo files and the installed icon,
#: and is the desktop file name the app reports (Wayland matches windows to launchers by it).
APP_ID = "io.github.metalearn_gui.MetalearnGui"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def resource(name: str) -> Traversable:
    """A file of this folder, e.g. ``resource("icon.svg")``."""
    return resources.files(__name__) / name


def icon_svg() -> Traversable:
    return resource("icon.svg")


def icon_png(size: int) -> Traversable:
    return resource(f"icons/{size}.png")


def desktop_entry() -> Traversable:
    return resource(f"{APP_ID}.desktop")


def metainfo() -> Traversable:
    return resource(f"{APP_ID}.metainfo.xml")
