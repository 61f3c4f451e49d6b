"""The sdist and wheel build, and the wheel works installed into a fresh venv outside the tree.

``python -m build`` makes the sdist and then the wheel *from the sdist*, so a file missing
from either shows up here. The fresh venv installs the wheel's dependencies from the
package index like a user's ``pip install`` would, so the declared dependencies are what is
tested: about a minute here, mostly writing TensorFlow's 1.5 GB (this machine's pip config
has a local mirror; elsewhere a first run downloads some 400 MB, later ones use pip's cache).
The dev venv cannot lend its packages instead: it is itself a venv, so
``--system-site-packages`` would expose the base interpreter's packages, not its own.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from metalearn_gui import __version__
from metalearn_gui.resources import APP_ID, ICON_SIZES

pytest.importorskip("build", reason="needs the test extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["metalearn_gui/resources/icon.svg", f"metalearn_gui/resources/{APP_ID}.desktop",
           f"metalearn_gui/resources/{APP_ID}.metainfo.xml", "metalearn_gui/smoke.py",
           *(f"metalearn_gui/resources/icons/{size}.png" for size in ICON_SIZES)]
pytestmark = pytest.mark.timeout(1200)


def _run(args: list, cwd: Path, timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _with_users_pip_config(env: dict[str, str]) -> dict[str, str]:
    """The tests' home is a temporary folder; pip still reads (never writes) the user's
    own configuration, e.g. the package index or mirror this machine is set up with."""
    home = Path(pwd.getpwuid(os.getuid()).pw_dir)  # the account's home, not the tests' $HOME
    for config in (home / ".config" / "pip" / "pip.conf", home / ".pip" / "pip.conf"):
        if config.is_file() and "PIP_CONFIG_FILE" not in env:
            return {**env, "PIP_CONFIG_FILE": str(config)}
    return env


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    started = time.monotonic()
    _run([sys.executable, "-m", "build", "--outdir", out, ROOT], cwd=ROOT, timeout=600,
         env=_with_users_pip_config(dict(os.environ)))
    print(f"\nbuild: {time.monotonic() - started:.0f} s")
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


@pytest.fixture(scope="module")
def installed(dists, tmp_path_factory) -> dict:
    """A fresh venv (in the temp dir, never in the source tree) with the wheel installed."""
    home = tmp_path_factory.mktemp("user")
    assert ROOT not in home.parents
    venv = home / "venv"
    # Nothing may leak the source tree or the dev venv into the installed app.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env = _with_users_pip_config(env)
    env.update(PYTHONNOUSERSITE="1", QT_QPA_PLATFORM="offscreen", TF_CPP_MIN_LOG_LEVEL="2")
    started = time.monotonic()
    _run([sys.executable, "-m", "venv", venv], cwd=home, timeout=300, env=env)
    _run([venv / "bin" / "python", "-m", "pip", "install", dists["wheel"]],
         cwd=home, timeout=900, env=env)
    print(f"\nfresh venv and install: {time.monotonic() - started:.0f} s")
    return {"venv": venv, "home": home, "env": env}


def test_wheel_ships_the_runtime_files_and_nothing_else(dists):
    names = zipfile.ZipFile(dists["wheel"]).namelist()
    missing = [name for name in SHIPPED if name not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert all(name.startswith(("metalearn_gui/", "metalearn_gui-")) for name in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(dists["wheel"]).read(entry_points).decode()
    assert "metalearn-gui = metalearn_gui.cli:main" in text


def test_sdist_has_what_the_wheel_is_built_from(dists):
    prefix = f"metalearn_gui-{__version__}/"
    names = tarfile.open(dists["sdist"]).getnames()
    missing = [name for name in [*SHIPPED, "pyproject.toml", "README.md"] if prefix + name not in names]
    assert not missing, f"not in the sdist: {missing}"


def test_installed_command_reports_its_version(installed):
    result = _run([installed["venv"] / "bin" / "metalearn-gui", "--version"], cwd=installed["home"],
                  timeout=120, env=installed["env"])
    assert result.stdout.strip() == f"metalearn-gui {__version__}"


def test_installed_package_is_the_wheel_and_its_dependencies_suffice(installed):
    python = installed["venv"] / "bin" / "python"
    _run([python, "-m", "pip", "check"], cwd=installed["home"], timeout=120, env=installed["env"])
    # Every module imports: a dependency used but not declared fails here.
    import_all = ("import importlib, pkgutil, metalearn_gui as m; print(m.__file__); "
                  "[importlib.import_module(i.name) for i in pkgutil.walk_packages(m.__path__, 'metalearn_gui.') "
                  "if not i.name.endswith('__main__')]")
    result = _run([python, "-c", import_all], cwd=installed["home"], timeout=300, env=installed["env"])
    assert Path(result.stdout.strip()).is_relative_to(installed["venv"])


def test_installed_app_starts_offscreen_and_runs_learners(installed):
    result = _run([installed["venv"] / "bin" / "python", "-m", "metalearn_gui.smoke"],
                  cwd=installed["home"], timeout=600, env=installed["env"])
    assert "metalearn-gui smoke: ok" in result.stdout, result.stdout + result.stderr
    print(result.stdout)
