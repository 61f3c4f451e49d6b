"""Import boundaries: the core never pulls in Qt, and the genetic path never pulls in TF."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_core_imports_neither_pyside6_nor_pyqtgraph():
    out = run_python(
        """
        import importlib, pkgutil, sys
        import metalearn_gui.core as core
        for module in pkgutil.walk_packages(core.__path__, "metalearn_gui.core."):
            importlib.import_module(module.name)
        # Exercise the code paths too, TensorFlow included.
        from metalearn_gui.core.run import RunConfig, run_to_end
        for learner in ("gradient", "genetic"):
            run_to_end(RunConfig(learner, "sphere", dim=2, steps=3).build(), seed=0)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6")))
        """
    )
    assert out == "[]"


def test_genetic_runs_and_lists_without_importing_tensorflow():
    out = run_python(
        """
        import sys
        from metalearn_gui.cli import main
        main(["list"])
        main(["run", "--learner", "genetic", "--objective", "lr-schedule", "--steps", "3", "--quiet"])
        print("tensorflow imported:", "tensorflow" in sys.modules)
        """
    )
    assert "Learners" in out
    assert out.splitlines()[-1] == "tensorflow imported: False"
