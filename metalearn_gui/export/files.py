"""Where exports go: paths checked before any work, files replaced whole or not at all.

Every problem is an :class:`ExportError` whose one-line message names the path, for
the window to show and the command line to print (exit status 2).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


class ExportError(Exception):
    """An export path that cannot be written; the message names it and says why."""


def check_file(path: Path) -> None:
    """Fail now, before rendering or a run, if ``path`` cannot be written (nothing is left behind)."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"{str(path)!r} is a directory; give a file path")
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as error:
        raise _cannot_write(path, error) from None
    if not existed:
        os.unlink(path)


def check_directory(directory: Path) -> None:
    """Fail now, before a run, if files cannot be written into ``directory``; a folder
    this check had to create is removed again, so it leaves nothing behind."""
    directory = Path(directory)
    created = [folder for folder in (directory, *directory.parents) if not folder.exists()]
    try:
        prepare_directory(directory)
    finally:
        for folder in created:  # deepest first
            if folder.is_dir():
                folder.rmdir()


def prepare_directory(directory: Path) -> Path:
    """Create ``directory`` if missing and make sure a file can be written in it."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"{str(directory)!r} is a file, not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise _cannot_write(directory, error) from None
    return directory


def write_atomic(path: Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(temporary_path)``, then rename the result over ``path``: a failure
    never leaves a truncated file, nor destroys an older file of the same name."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.partial")
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise _cannot_write(path, error) from None


def write_bytes(path: Path, data: bytes) -> None:
    write_atomic(path, lambda temporary: temporary.write_bytes(data))


def write_json(path: Path, value: Any) -> None:
    """Strict JSON (no NaN/Infinity tokens), indented like :meth:`RunConfig.save`."""
    write_bytes(path, (json.dumps(value, indent=2, allow_nan=False) + "\n").encode("utf-8"))


def _cannot_write(path: Path, error: OSError) -> ExportError:
    """The message names the part of ``path`` that is in the way when a file blocks a folder."""
    blocker = next((parent for parent in path.parents if parent.exists()), None)
    if blocker is not None and not blocker.is_dir():
        return ExportError(f"{str(path)!r} cannot be written: {str(blocker)!r} is a file, not a directory")
    return ExportError(f"{str(path)!r} cannot be written: {error.strerror or error}")
