"""What the window remembers between sessions: the last configuration, speed, geometry
and the choice of a log-scaled step axis.

Kept with QSettings in an INI file in the user's config folder (tests point Qt at a
temporary one). The configuration is stored as its JSON form and read back through
:meth:`RunConfig.from_dict`, so a stale or hand-edited value is refused, not used.
"""

from __future__ import annotations

import json
import logging
from typing import NamedTuple

from PySide6.QtCore import QByteArray, QSettings

from metalearn_gui.core.run import ConfigError, RunConfig

log = logging.getLogger(__name__)

ORGANIZATION = APPLICATION = "metalearn-gui"


def _settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


class Session(NamedTuple):
    """The last session's values; ``None`` where there is nothing usable."""

    config: RunConfig | None
    speed_index: int | None
    geometry: QByteArray | None
    log_x: bool = False


def save_session(session: Session) -> None:
    settings = _settings()
    settings.setValue("session/config", json.dumps(session.config.to_dict()))
    settings.setValue("session/speed_index", session.speed_index)
    settings.setValue("session/geometry", session.geometry)
    settings.setValue("session/log_x", session.log_x)
    settings.sync()


def load_session() -> Session:
    """The last session's values (a bad configuration is logged and skipped)."""
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
    # INI files keep no types: a bool comes back as the text "true" or "false".
    log_x = str(settings.value("session/log_x", "false")).lower() == "true"
    return Session(config, speed_index, geometry if isinstance(geometry, QByteArray) else None, log_x)
