"""What the window remembers between sessions: the last configuration, speed and geometry.

Kept with QSettings in an INI file in the user's config folder (tests point Qt at a
temporary one). The configuration is stored as its JSON form and read back through
:meth:`RunConfig.from_dict`, so a stale or hand-edited value is refused, not used.
"""

from __future__ import annotations

import json
import logging

from PySide6.QtCore import QByteArray, QSettings

from metalearn_gui.core.run import ConfigError, RunConfig

log = logging.getLogger(__name__)

ORGANIZATION = APPLICATION = "metalearn-gui"


def _settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def save_session(config: RunConfig, speed_index: int, geometry: QByteArray) -> None:
    settings = _settings()
    settings.setValue("session/config", json.dumps(config.to_dict()))
    settings.setValue("session/speed_index", speed_index)
    settings.setValue("session/geometry", geometry)
    settings.sync()


def load_session() -> tuple[RunConfig | None, int | None, QByteArray | None]:
    """The last session's configuration, speed index and geometry (``None`` where there
    is nothing usable; a bad configuration is logged and skipped)."""
    settings = _settings()
    config = None
    text = settings.value("session/config")
    if text:
        try:
            config = RunConfig.from_json(text, origin=f"{settings.fileName()} [session]")
        except (ConfigError, TypeError) as error:  # TypeError: not text at all
            log.warning("not restoring the last configuration: %s", error)
    try:
        speed_index = int(settings.value("session/speed_index"))
    except (TypeError, ValueError):
        speed_index = None
    geometry = settings.value("session/geometry")
    return config, speed_index, geometry if isinstance(geometry, QByteArray) else None
