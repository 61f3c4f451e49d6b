"""Before Qt opens the window: find what would make Qt abort the process (SIGABRT, a core
dump, no Python exception to catch) and say it in one line instead.

Two causes on Linux: no display at all, and a desktop without the system libraries that
Qt's X11 platform plugin (``xcb``) loads — ``libxcb-cursor0`` above all, which pip cannot
install and many desktops lack.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Mapping
from pathlib import Path

#: The system libraries PySide6 6.10's xcb plugin links (``readelf -d`` on libqxcb.so and
#: libQt6XcbQpa.so.6), with the packages that provide them on Debian/Ubuntu and on Fedora.
#: Libraries that Qt's GUI module needs as well (libEGL, fontconfig…) are not listed: without
#: them importing PySide6 fails with a Python ImportError, not an abort.
XCB_LIBRARIES: tuple[tuple[str, str, str], ...] = (
    ("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    ("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    ("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    ("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    ("libxcb-util.so.1", "libxcb-util1", "xcb-util"),
    ("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
    ("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    ("libxcb-shm.so.0", "libxcb-shm0", "libxcb"),
    ("libxcb-sync.so.1", "libxcb-sync1", "libxcb"),
    ("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb"),
    ("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb"),
    ("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb"),
    ("libGL.so.1", "libgl1", "libglvnd-glx"),
)


def display_problem(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> str:
    """Why the window cannot open here, in one line ("" if nothing is known to be wrong)."""
    if not platform.startswith("linux"):
        return ""
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        if _plugin_name(chosen) != "xcb":
            return ""  # offscreen, wayland, vnc…: the user chose, and Qt reports its own problems
    elif environ.get("WAYLAND_DISPLAY"):
        return ""  # Qt picks its Wayland plugin, which needs none of the xcb libraries
    if not environ.get("DISPLAY"):
        return ("no display to open the window on (DISPLAY is not set); run it in a desktop session, "
                "or use `metalearn-gui run …` to learn without a window")
    missing = [entry for entry in XCB_LIBRARIES if not _loadable(entry[0])]
    if not missing:
        return ""
    debian = " ".join(dict.fromkeys(package for _, package, _ in missing))
    fedora = " ".join(dict.fromkeys(package for _, _, package in missing))
    return (f"the window needs system libraries that are missing: {', '.join(name for name, _, _ in missing)}; "
            f"install them (Debian/Ubuntu: `sudo apt install {debian}`; Fedora: `sudo dnf install {fedora}`), "
            "or use `metalearn-gui run …` to learn without a window")


def _plugin_name(qt_qpa_platform: str) -> str:
    """``xcb`` of ``xcb:option=value`` or of a fallback list ``xcb;wayland``."""
    return qt_qpa_platform.split(";")[0].split(":")[0].strip()


def _loadable(library: str) -> bool:
    """Whether the dynamic loader finds ``library`` as Qt's plugin would (LD_LIBRARY_PATH,
    the system's library cache), or an app bundle carries it beside the executable."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None and (Path(bundle) / library).exists():
        return True
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True
