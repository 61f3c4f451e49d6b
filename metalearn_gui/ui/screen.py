"""Where the window may go: the screens' available areas (without panels and docks).

The first window takes at most :data:`SCREEN_SHARE` of the screen, so that a laptop's
1366×768 shows it whole, status bar included; a saved geometry is restored only where
it still fits (the monitor it was saved on may be gone).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import QGuiApplication

#: The first window's size where the screen allows; else this share of the screen.
DEFAULT_SIZE = QSize(1280, 800)
SCREEN_SHARE = 0.9


def available_geometries() -> list[QRect]:
    """Each screen's area a window may use, the primary screen's first."""
    primary = QGuiApplication.primaryScreen()
    screens = [primary] + [screen for screen in QGuiApplication.screens() if screen is not primary]
    areas = [screen.availableGeometry() for screen in screens if screen is not None]
    return areas or [QRect(QPoint(0, 0), DEFAULT_SIZE)]


def fits_screens(geometry: QRect) -> bool:
    """Whether ``geometry`` lies whole on one screen's available area."""
    return any(area.contains(geometry) for area in available_geometries())


def first_geometry() -> QRect:
    """The first window's geometry: :data:`DEFAULT_SIZE` at most, :data:`SCREEN_SHARE` of
    the primary screen's available area at most, centred on it."""
    area = available_geometries()[0]
    size = QSize(min(DEFAULT_SIZE.width(), int(area.width() * SCREEN_SHARE)),
                 min(DEFAULT_SIZE.height(), int(area.height() * SCREEN_SHARE)))
    return QRect(area.center() - QPoint(size.width() // 2, size.height() // 2), size)
