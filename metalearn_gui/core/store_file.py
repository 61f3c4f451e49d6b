"""The run store's SQLite file: recognising it as ours, creating or migrating its
schema, and moving a damaged or foreign file aside rather than failing or overwriting it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

#: ``PRAGMA application_id`` of our files ("MLGU"), so another program's SQLite file is not taken for ours.
APPLICATION_ID = 0x4D4C4755
SCHEMA_VERSION = 2
#: How long a writer waits for another process's transaction (they last milliseconds).
BUSY_SECONDS = 15.0

#: Statements that take the schema from version ``n - 1`` to ``n``; add a key per new version.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        # AUTOINCREMENT: a deleted run's id is never given to another run.
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created TEXT NOT NULL,
            learner TEXT NOT NULL,
            objective TEXT NOT NULL,
            dim INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            config TEXT NOT NULL,  -- RunConfig.to_dict() as JSON
            extras TEXT NOT NULL,  -- JSON list: the learner extras kept as history columns
            status TEXT NOT NULL,
            best_loss REAL,
            final_loss REAL,
            steps INTEGER NOT NULL DEFAULT 0,
            evaluations INTEGER NOT NULL DEFAULT 0,
            rows_seen INTEGER NOT NULL DEFAULT 0,
            stored_rows INTEGER NOT NULL DEFAULT 0,
            app_version TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('cli', 'window')),
            owner_pid INTEGER,  -- owner_*: the writing process while running (core/owner.py)
            owner_host TEXT,
            owner_boot TEXT,
            summary TEXT  -- RunSummary.to_dict()'s JSON once ended
        )""",
        """CREATE TABLE changes (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            step INTEGER NOT NULL,
            name TEXT NOT NULL,
            old TEXT NOT NULL,
            new TEXT NOT NULL  -- old, new: JSON, so 3, 3.0 and "3" stay apart
        )""",
        "CREATE INDEX changes_by_run ON changes(run_id)",
        """CREATE TABLE history (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            first_step INTEGER NOT NULL,
            rows INTEGER NOT NULL,
            -- rows x (4 + extras + dim) little-endian float64, row-major, in History's
            -- column order: step, loss, best_loss, evaluations, the extras, theta
            data BLOB NOT NULL
        )""",
        "CREATE UNIQUE INDEX history_by_run ON history(run_id, first_step)",
    ),
    2: (
        # Races (core/race.py): each entrant × seed is a run of the race.
        """CREATE TABLE races (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created TEXT NOT NULL,
            config TEXT NOT NULL  -- RaceConfig.to_dict() as JSON
        )""",
        "ALTER TABLE runs ADD COLUMN race_id INTEGER REFERENCES races(id)",
        "ALTER TABLE runs ADD COLUMN entrant TEXT",  # the entrant's label within its race
        # No index on race_id: `runs list` reads every run anyway, and an index on runs would
        # let the open's check (count(*) FROM runs) read the index instead of the table.
    ),
}
_TABLES = {"runs", "changes", "history"}
#: Left beside the store by a query that found it damaged, so that the next open moves it
#: aside (the connections open at the time, the window's and its worker's, keep the file).
DAMAGED_SUFFIX = ".damaged"


class StoreError(Exception):
    """The store cannot do what was asked; the message is one line naming the problem."""


def open_database(path: Path) -> tuple[sqlite3.Connection, list[str]]:
    """A connection to the store at ``path``, created or migrated as needed, and what
    had to be repaired (one line each). A damaged or foreign file, or one of a newer
    schema, is moved aside and a fresh store started; never read any further."""
    connection, problem = _connect_checked(path)
    found_earlier = _damage_found_earlier(path)
    if found_earlier and problem is None:
        problem = ("corrupt", f"was found damaged while in use ({found_earlier})")
    messages = []
    if problem:
        connection.close()
        aside = _move_aside(path, problem[0])
        damage_marker(path).unlink(missing_ok=True)
        messages.append(f"the run store {path} {problem[1]}; moved it aside to {aside.name} "
                        f"and started a fresh one")
        connection, _ = _connect_checked(path)
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            _prepare(connection)
            return connection, messages
        except sqlite3.Error as error:
            # Two processes creating the store at once: switching a new file to WAL needs
            # it to themselves, and SQLite answers "locked" at once rather than waiting.
            if "locked" in str(error) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            connection.close()
            raise StoreError(f"run store {path} cannot be prepared: {error}") from None


def _connect_checked(path: Path) -> tuple[sqlite3.Connection, tuple[str, str] | None]:
    """A connection to ``path`` and, if the file is not a store this version can use,
    (kind, what is wrong) for moving it aside."""
    try:
        connection = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
    except sqlite3.Error as error:
        raise StoreError(f"run store {path} cannot be opened: {error}") from None
    try:
        # One read transaction: a snapshot. Read one by one, a store another process was
        # creating meanwhile looked foreign (its tables, but not yet its application id).
        connection.execute("BEGIN")
        try:
            application_id = connection.execute("PRAGMA application_id").fetchone()[0]
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = {name for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables >= _TABLES:  # reach into each table: a damaged root page fails here, not mid-run
                connection.execute("SELECT count(*) FROM runs").fetchone()
                for table in ("changes", "history"):
                    connection.execute(f"SELECT max(rowid) FROM {table}").fetchone()
        finally:
            if connection.in_transaction:
                connection.execute("COMMIT")
    except sqlite3.DatabaseError as error:
        if not is_damage(error):
            connection.close()
            raise StoreError(f"run store {path} cannot be opened: {error}") from None
        return connection, ("corrupt", f"is damaged or not a database ({error})")
    if application_id == 0 and not tables:
        return connection, None  # new (empty) file
    if application_id != APPLICATION_ID:
        return connection, ("foreign", "belongs to another application")
    if version > SCHEMA_VERSION:
        return connection, ("newer", f"was written by a newer metalearn-gui (schema version {version}; "
                                     f"this one reads up to {SCHEMA_VERSION})")
    if version == SCHEMA_VERSION and not tables >= _TABLES:
        return connection, ("corrupt", "lacks the tables of a run store")
    return connection, None


def is_damage(error: sqlite3.Error) -> bool:
    """Whether SQLite says the file is damaged (rather than busy, full or unreadable)."""
    return getattr(error, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT")


def damage_marker(path: Path) -> Path:
    return Path(f"{path}{DAMAGED_SUFFIX}")


def _damage_found_earlier(path: Path) -> str:
    """What a query found wrong with the store at ``path`` since it was last opened ("" if nothing)."""
    try:
        return damage_marker(path).read_text(encoding="utf-8").strip() or "damaged"
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError):
        return "damaged"


def mark_damaged(path: Path, error: sqlite3.Error) -> None:
    """Have the next :func:`open_database` move the store aside (best effort: the folder
    may be read-only too)."""
    with suppress(OSError):
        damage_marker(path).write_text(f"{error}\n", encoding="utf-8")


def _prepare(connection: sqlite3.Connection) -> None:
    """Connection settings, and the schema created or migrated to :data:`SCHEMA_VERSION`."""
    connection.execute("PRAGMA auto_vacuum = INCREMENTAL")  # takes effect only on a new file
    connection.execute("PRAGMA journal_mode = WAL")
    # In WAL mode NORMAL survives a killed process; only a power cut may lose the last commits.
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA foreign_keys = ON")
    if connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    with transaction(connection):
        version = connection.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target]:
                connection.execute(statement)
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """IMMEDIATE takes the write lock up front, so a busy database is waited for (busy
    timeout) rather than failing mid-transaction."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        # A failed COMMIT (disk full) too: left open, the transaction would refuse every
        # later BEGIN on this connection, so no later run could be stored.
        if connection.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
            with suppress(sqlite3.Error):  # the original error is the one to tell
                connection.execute("ROLLBACK")
        raise


def _move_aside(path: Path, kind: str) -> Path:
    """Rename the database (and its WAL files, which belong to it) out of the way."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.{kind}-{stamp}")
    number = 1
    while aside.exists():
        number += 1
        aside = path.with_name(f"{path.name}.{kind}-{stamp}-{number}")
    try:
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{path}{suffix}")
            if source.exists():
                source.rename(f"{aside}{suffix}")
    except OSError as error:
        raise StoreError(f"run store {path} is unusable and cannot be moved aside: "
                         f"{error.strerror}") from None
    return aside
