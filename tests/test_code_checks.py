"""The code's own checks, configured in pyproject.toml: the import contracts between the
layers (import-linter), lint (ruff) and types (mypy) of ``metalearn_gui/``, all clean.

Part of the test suite, so the README's one test command runs them. Their caches go to a
temporary folder (or nowhere), never into the source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_tool(tool: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``tool`` (a console script of this venv) in ``cwd``, whose ``metalearn_gui`` it checks."""
    executable = shutil.which(tool, path=sysconfig.get_path("scripts"))
    assert executable, f"{tool} is not installed: pip install -e '.[test]'"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(cwd), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("tool, args", [
    ("lint-imports", ["--no-cache", "--no-logo"]),
    ("ruff", ["check", "--no-cache", "metalearn_gui"]),
    ("mypy", ["--cache-dir", "{tmp}"]),
], ids=["import-contracts", "ruff", "mypy"])
def test_code_passes_its_check(tool, args, tmp_path):
    result = run_tool(tool, *(arg.format(tmp=tmp_path) for arg in args))
    assert result.returncode == 0, f"{tool} found problems:\n{result.stdout}{result.stderr}"


def test_import_contracts_catch_qt_in_a_file_writer(tmp_path):
    """The contracts are live: a Qt import in the CSV writer breaks one of them."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(ROOT / "metalearn_gui", tmp_path / "metalearn_gui",
                    ignore=shutil.ignore_patterns("__pycache__"))
    table = tmp_path / "metalearn_gui" / "export" / "table.py"
    table.write_text(table.read_text(encoding="utf-8") + "\nimport PySide6.QtCore\n", encoding="utf-8")
    result = run_tool("lint-imports", "--no-cache", "--no-logo", cwd=tmp_path)
    assert result.returncode != 0
    assert "metalearn_gui.export.table -> PySide6" in result.stdout
