"""Where a user's objective came from, so a configuration or export can repeat it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metalearn_gui.core.objectives.base import ObjectiveError

KINDS = ("file", "module", "plugin", "command", "formula")


@dataclass(frozen=True)
class ObjectiveSource:
    """The origin of a user objective.

    ``kind`` is one of :data:`KINDS`; ``spec`` what the user gave (a path and function,
    a module and function, a plugin's name, a command line, a formula); ``sha256`` the
    hex digest of a file's bytes (kind "file" only), so a changed file can be noticed.
    """

    kind: str
    spec: str
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping (``from_json`` reads it back)."""
        return {"kind": self.kind, "spec": self.spec, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Any) -> ObjectiveSource:
        """The source described by ``data`` (as ``to_json`` wrote it); raises
        :class:`ObjectiveError` naming what is wrong with it."""
        if not isinstance(data, Mapping):
            raise ObjectiveError("objective source: expected an object with kind, spec and sha256")
        kind, spec, sha256 = data.get("kind"), data.get("spec"), data.get("sha256")
        if kind not in KINDS:
            raise ObjectiveError(f"objective source: kind {kind!r} is not one of: {', '.join(KINDS)}")
        if not isinstance(spec, str) or not spec:
            raise ObjectiveError("objective source: spec must be non-empty text")
        if sha256 is not None and not isinstance(sha256, str):
            raise ObjectiveError("objective source: sha256 must be text or null")
        return cls(kind, spec, sha256)
