"""Where a user's objective came from, as configurations, summaries and exports record it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: What a user objective can be built from.
KINDS = ("file", "module", "plugin", "command", "formula")


@dataclass(frozen=True)
class ObjectiveSource:
    """A user objective's origin: its ``kind`` (one of :data:`KINDS`), the ``spec`` string
    that rebuilds it, and for a file the sha256 of its bytes (to tell when it changed)."""

    kind: str
    spec: str
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready values; :meth:`from_json` reads them back."""
        return {"kind": self.kind, "spec": self.spec, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Any) -> ObjectiveSource:
        """The source :meth:`to_json` wrote; raises :class:`ValueError` naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"an objective source must be a JSON object, not {type(data).__name__}")
        kind, spec, sha256 = data.get("kind"), data.get("spec"), data.get("sha256")
        if kind not in KINDS:
            raise ValueError(f"objective source kind {kind!r} is not one of: {', '.join(KINDS)}")
        if not isinstance(spec, str):
            raise ValueError("objective source has no \"spec\" string")
        if sha256 is not None and not isinstance(sha256, str):
            raise ValueError("objective source's \"sha256\" must be a string or null")
        return cls(kind, spec, sha256)
