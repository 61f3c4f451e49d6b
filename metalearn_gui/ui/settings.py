"""What the window remembers between sessions: the last configuration, speed, geometry
and the choice of a log-scaled step axis.

Kept with QSettings in an INI file in the user's config folder (tests point Qt at a
temporary one). The configuration is stored as its JSON form and read back through
:meth:`RunConfig.from_dict`, so a stale or hand-edited value is refused, not used;
a damaged file is moved aside (see :func:`load_session`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from metalearn_gui.core.run import ConfigError, RunConfig

log = logging.getLogger(__name__)

ORGANIZATION = APPLICATION = "metalearn-gui"


def _settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


KEYS = ("session/config", "session/speed_index", "session/geometry", "session/log_x")


@dataclass(frozen=True)
class Session:
    """What the last session left (``None`` where there is nothing usable) and, if the
    settings file was damaged, the one line to tell the user."""

    config: RunConfig | None = None
    speed_index: int | None = None
    geometry: QByteArray | None = None
    log_x: bool = False
    notice: str = ""


def save_session(session: Session) -> None:
    settings = _settings()
    settings.setValue("session/config", json.dumps(session.config.to_dict()) if session.config else "")
    settings.setValue("session/speed_index", session.speed_index)
    settings.setValue("session/geometry", session.geometry)
    settings.setValue("session/log_x", session.log_x)
    settings.sync()


def load_session() -> Session:
    """The last session's configuration, speed index and geometry.

    A configuration this version refuses (an older version's, a hand-edited one) is
    skipped quietly — the window opens on its defaults, as after an upgrade a user
    expects. A file that is not what this app writes (bytes, keys or value types it
    never writes) is moved aside, never deleted, and the notice says where.
    """
    settings = _settings()
    path = Path(settings.fileName())
    values = {key: settings.value(key) for key in KEYS}
    damage = _damage(settings, values)
    if damage:
        del settings  # release the file before moving it
        return Session(notice=_move_aside(path, damage))
    config = None
    if values["session/config"]:
        try:
            config = RunConfig.from_json(values["session/config"], origin=f"{path} [session]")
        except ConfigError as error:
            log.info("not restoring the last configuration: %s", error)
    speed_index = values["session/speed_index"]
    # INI files keep no types: a bool comes back as the text "true" or "false".
    log_x = str(values["session/log_x"]).lower() == "true"
    return Session(config, None if speed_index is None else int(speed_index), values["session/geometry"], log_x)


def _damage(settings: QSettings, values: dict) -> str:
    """What makes the settings file unlike anything this app writes ("" if nothing)."""
    if settings.status() != QSettings.Status.NoError:
        return "it cannot be parsed"
    try:
        Path(settings.fileName()).read_bytes().decode("utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as error:
        return f"it is not text ({type(error).__name__})"
    unknown = [key for key in settings.allKeys() if key not in KEYS]
    if unknown:
        return f"unknown entry {unknown[0][:40]!r}"
    config, speed, geometry, log_x = (values[key] for key in KEYS)
    if config is not None and not isinstance(config, str):
        return "session/config is not text"
    if speed is not None and not (isinstance(speed, (int, str)) and str(speed).isdigit()):
        return "session/speed_index is not a number"
    if geometry is not None and not isinstance(geometry, QByteArray):
        return "session/geometry is not a saved geometry"
    if log_x is not None and str(log_x).lower() not in ("true", "false"):
        return "session/log_x is not true or false"
    return ""


def _move_aside(path: Path, damage: str) -> str:
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        path.replace(aside)
    except OSError as error:
        log.warning("cannot move the damaged settings file %s aside: %s", path, error)
        return (f"The saved window settings ({path}) could not be used ({damage}), nor moved aside "
                f"({error.strerror}). The window starts with its defaults.")
    return (f"The saved window settings could not be used ({damage}). The window starts with its defaults; "
            f"the file was moved to {aside}.")
