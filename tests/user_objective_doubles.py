"""Users' objectives for the tests: Python files, a package, a plugin distribution and a
command, all written under the test's ``tmp_path``."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import metalearn_gui.core.objectives as objectives

DECORATED = '''
import numpy as np
from metalearn_gui import objective

@objective(dim=3, bounds=(-2, 2), names=("lr", "momentum", "decay"), optimum=0.0)
def sphere(theta):
    """Σ θ², declared 3-D"""
    return float(theta @ theta)

def plain(theta):
    return float(np.sum(np.abs(theta)))

def noisy_by_hand(theta, rng):
    return float(theta @ theta + rng.normal())
noisy_by_hand.noisy = True
noisy_by_hand.dim = 2

@objective(batched=True, noisy=True, bounds=(-1, 1))
def batched(thetas, rng):
    return np.sum(thetas ** 2, axis=1) + 0.01 * rng.normal(size=len(thetas))

@objective
def bare(theta):
    return float(theta[0])

def rng_undeclared(theta, rng):
    return float(rng.normal())

not_callable = 3
'''

#: A command objective: ``python SCRIPT MODE``; it writes its pid and its stdin next to itself.
COMMAND = '''
import json, os, pathlib, sys, time
here = pathlib.Path(__file__).parent
request = sys.stdin.read()
(here / "request.json").write_text(request)
(here / "pid").write_text(str(os.getpid()))
mode = sys.argv[1]
if mode == "good":
    print("epoch 1 done")
    print(sum(v * v for v in json.loads(request)["theta"]))
    print("")
elif mode == "fail":
    print("Traceback (most recent call last):", file=sys.stderr)
    print("RuntimeError: out of memory", file=sys.stderr)
    sys.exit(3)
elif mode == "junk":
    print("loss: 0.5")
elif mode == "hang":
    print("loading data", file=sys.stderr, flush=True)
    time.sleep(600)
'''


@pytest.fixture
def fresh_specs(monkeypatch):
    """A new process's view of users' specs: none resolved yet (as when `run --config`
    starts anew), restored after the test."""
    monkeypatch.setattr(objectives, "_user_classes", {})


def write_file(folder: Path, text: str = DECORATED, name: str = "losses.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def write_command(folder: Path) -> str:
    """``command:`` spec text (without the prefix) of :data:`COMMAND`, MODE to append."""
    script = folder / "answer.py"
    script.write_text(COMMAND, encoding="utf-8")
    return f"{sys.executable} {script}"


def write_package(folder: Path, package: str) -> str:
    """A package ``package`` with module ``losses`` defining ``quartic``; returns the folder
    to put on sys.path."""
    (folder / package).mkdir()
    (folder / package / "__init__.py").write_text("", encoding="utf-8")
    (folder / package / "losses.py").write_text(textwrap.dedent('''
        import numpy as np

        def quartic(theta):
            return float(np.sum(theta ** 4))
        quartic.dim = 4
    '''), encoding="utf-8")
    return str(folder)


def write_plugin(folder: Path, module: str) -> str:
    """A distribution ``fakeplug`` registering three objectives under the entry-point group:
    ``plug-sphere`` (a function), ``plug-cube`` (an Objective subclass) and ``plug-broken``
    (a name its module lacks); returns the folder to put on sys.path."""
    info = folder / "fakeplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        f"[metalearn_gui.objectives]\nplug-sphere = {module}:sphere\nplug-cube = {module}:Cube\n"
        f"plug-broken = {module}:missing\n", encoding="utf-8")
    (folder / f"{module}.py").write_text(textwrap.dedent('''
        import numpy as np
        from metalearn_gui import objective
        from metalearn_gui.core.objectives.base import Objective

        @objective(dim=2, optimum=0.0, description="a plugged-in sphere")
        def sphere(theta):
            return float(theta @ theta)

        class Cube(Objective):
            name = "cube"
            description = "Σ |θ|³"
            bounds = (-1.0, 1.0)
            differentiable = False

            def loss_np(self, thetas, rng=None):
                return np.sum(np.abs(thetas) ** 3, axis=-1)

            def loss_tf(self, theta, seed=None):
                raise NotImplementedError
    '''), encoding="utf-8")
    return str(folder)
