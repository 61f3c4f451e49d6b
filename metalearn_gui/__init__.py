"""metalearn-gui: a desktop strategy lab for meta-learning."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # ``metalearn_gui.objective`` (the decorator for users' objective functions) is imported
    # on first use, so that ``import metalearn_gui`` (e.g. for --version) stays instant.
    if name == "objective":
        from metalearn_gui.core.objectives.user import objective

        return objective
    raise AttributeError(f"module 'metalearn_gui' has no attribute {name!r}")


__all__ = ["__version__", "objective"]
