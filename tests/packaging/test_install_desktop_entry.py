"""packaging/install_desktop_entry.sh installs into, and uninstalls from, XDG_DATA_HOME only."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from metalearn_gui.resources import APP_ID, ICON_SIZES

SCRIPT = Path(__file__).resolve().parents[2] / "packaging" / "install_desktop_entry.sh"


def run(data: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_DATA_HOME": str(data)}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def expected(data: Path) -> set[Path]:
    return {data / "applications" / f"{APP_ID}.desktop", data / "metainfo" / f"{APP_ID}.metainfo.xml",
            data / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg",
            *(data / f"icons/hicolor/{n}x{n}/apps/{APP_ID}.png" for n in ICON_SIZES)}


def test_install_then_uninstall(tmp_path):
    data = tmp_path / "share"
    result = run(data)
    assert result.returncode == 0, result.stderr
    assert all(path.is_file() for path in expected(data))
    assert "Exec=metalearn-gui\n" in (data / "applications" / f"{APP_ID}.desktop").read_text()

    result = run(data, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert not any(path.exists() for path in expected(data))


def test_exec_points_the_launcher_at_a_bundle(tmp_path):
    exe = tmp_path / "my apps" / "metalearn-gui"  # a space: the path is quoted
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    data = tmp_path / "share"
    result = run(data, "--exec", str(exe))
    assert result.returncode == 0, result.stderr
    entry = data / "applications" / f"{APP_ID}.desktop"
    assert f'Exec="{exe}"\n' in entry.read_text()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert check.returncode == 0 and " error: " not in check.stdout, check.stdout


def test_exec_refuses_what_is_not_an_executable(tmp_path):
    result = run(tmp_path / "share", "--exec", str(tmp_path / "missing"))
    assert result.returncode == 2 and "executable" in result.stderr
    assert not (tmp_path / "share").exists()
