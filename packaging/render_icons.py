"""Render the PNG icon sizes from ``metalearn_gui/resources/icon.svg``.

    python packaging/render_icons.py          # writes metalearn_gui/resources/icons/<N>.png

Run it after changing the SVG and commit the PNGs: builds and installers then need no
SVG renderer. ``tests/packaging/test_resources.py`` fails while they differ from the SVG.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

from metalearn_gui.resources import ICON_SIZES, icon_png, icon_svg  # noqa: E402


def render(svg: bytes, size: int) -> QImage:
    """The SVG drawn on a transparent ``size``×``size`` image, antialiased."""
    renderer = QSvgRenderer(svg)
    if not renderer.isValid():
        raise ValueError("icon.svg is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # QPainter needs one, alive
    svg = icon_svg().read_bytes()
    for size in ICON_SIZES:
        path = Path(str(icon_png(size)))
        path.parent.mkdir(parents=True, exist_ok=True)
        if not render(svg, size).save(str(path), "PNG"):
            print(f"render_icons: cannot write {path}", file=sys.stderr)
            return 1
        print(f"{path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
