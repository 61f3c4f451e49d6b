"""The shipped resources: validators pass, ids agree, the PNGs are the SVG rendered."""

from __future__ import annotations

import configparser
import importlib.util
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from metalearn_gui import __version__
from metalearn_gui.resources import APP_ID, ICON_SIZES, desktop_entry, icon_png, icon_svg, metainfo

ROOT = Path(__file__).resolve().parents[2]


def validator(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian package {package}; .ci/run installs it)")
    return path


def test_desktop_entry_passes_desktop_file_validate():
    tool = validator("desktop-file-validate", "desktop-file-utils")
    result = subprocess.run([tool, str(desktop_entry())], capture_output=True, text=True)
    # Hints are allowed: "more than one main category" is deliberate (Education and Science).
    problems = [line for line in result.stdout.splitlines() if ": hint: " not in line]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_metainfo_passes_appstreamcli_validate():
    tool = validator("appstreamcli", "appstream")
    # --strict fails on warnings too; --no-net: CI reaches no web site (the screenshot URL).
    result = subprocess.run([tool, "validate", "--no-net", "--strict", str(metainfo())],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ids_and_versions_agree():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read_string(desktop_entry().read_text(encoding="utf-8"))
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert entry["Desktop Entry"]["Icon"] == APP_ID
    assert entry["Desktop Entry"]["Exec"].split()[0] in scripts

    component = ET.fromstring(metainfo().read_bytes())
    assert component.findtext("id") == APP_ID
    assert component.findtext("launchable") == f"{APP_ID}.desktop"
    assert component.find("provides/binary").text in scripts
    # A version bump needs its release notes.
    assert component.find("releases/release").get("version") == __version__


def _load_renderer():
    spec = importlib.util.spec_from_file_location("render_icons", ROOT / "packaging" / "render_icons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pixels(image) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    return rows[:, : 4 * image.width()].astype(int)  # a copy: the buffer dies with the image


def test_png_icons_are_the_svg_rendered(qapp):
    """The PNGs are derived files: change icon.svg, then run packaging/render_icons.py."""
    from PySide6.QtGui import QImage

    render = _load_renderer().render
    svg = icon_svg().read_bytes()
    for size in ICON_SIZES:
        committed = QImage(str(icon_png(size)))
        assert (committed.width(), committed.height()) == (size, size), f"icons/{size}.png"
        assert committed.hasAlphaChannel()
        difference = np.abs(_pixels(committed) - _pixels(render(svg, size))).reshape(size, size, 4)
        # Another Qt version may antialias edges a little differently; a changed SVG (even a
        # circle's radius 4 → 3) changes more than 0.5 % of the pixels by more than 8 of 255.
        changed = (difference.max(axis=2) > 8).mean()
        assert changed < 0.005, f"icons/{size}.png is out of date: run packaging/render_icons.py"
