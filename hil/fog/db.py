"""Opening the fog node's and the centre's SQLite files: durable settings, identity checks.

Both files use WAL journaling with ``synchronous=FULL``: a transaction that
returned from COMMIT is on disk and survives a ``kill -9`` or a power loss.
Each file says what it is in a ``meta`` table (``app`` and ``schema``), so a
file of another program, of the other side, or of a newer version is refused
with a message naming the file, instead of being written to.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["StoreError", "open_db", "transaction"]


class StoreError(RuntimeError):
    """A database file that cannot be used: corrupt, foreign, newer, locked or unwritable."""


def _fail(path: Path, what: str, hint: str) -> StoreError:
    return StoreError(f"{path}: {what}. {hint}")


def open_db(
    path: str | Path,
    *,
    app: str,
    schema: int,
    ddl: str,
    exclusive: bool,
    check_same_thread: bool = True,
) -> sqlite3.Connection:
    """Open (creating if new) the SQLite file ``path`` of ``app`` at version ``schema``.

    Args:
        path: the database file; its folder must exist.
        app: identity written into a new file and required of an existing one.
        schema: schema version written into a new file; an existing file must match.
        ddl: the CREATE statements run once when the file is new.
        exclusive: hold the file's lock for the whole connection so a second
            process (a second fog node on the same store) is refused.
        check_same_thread: passed to :func:`sqlite3.connect`; False when the
            connection is shared between threads under the caller's lock.

    Raises:
        StoreError: the file is not a SQLite database, fails its integrity
            check, belongs to another program or version, or is in use.
    """
    path = Path(path)
    if path.is_dir():
        raise _fail(path, "is a folder", "Pass the path of a database file inside it.")
    if not path.parent.is_dir():
        raise _fail(path, "its folder does not exist", "Create the folder first.")
    try:
        conn = sqlite3.connect(
            str(path),
            isolation_level=None,
            timeout=0.5 if exclusive else 5.0,
            check_same_thread=check_same_thread,
        )
    except sqlite3.Error as exc:
        raise _fail(path, f"cannot be opened ({exc})", "Check the path and permissions.") from exc
    try:
        _configure(conn, path, exclusive)
        _check_identity(conn, path, app, schema, ddl)
    except BaseException:
        conn.close()
        raise
    return conn


def _configure(conn: sqlite3.Connection, path: Path, exclusive: bool) -> None:
    try:
        if exclusive:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        check = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise _fail(
                path,
                f"is in use by another process ({exc})",
                "Only one fog node or centre may open a store; stop the other one.",
            ) from exc
        raise _fail(path, f"cannot be used ({exc})", "Check permissions and free disk.") from exc
    except sqlite3.DatabaseError as exc:
        raise _fail(
            path,
            f"is not a SQLite database or is corrupt ({exc})",
            "Move the file away (keep it for diagnosis) or pass another path.",
        ) from exc
    if str(mode).lower() != "wal":
        raise _fail(
            path,
            f"refuses WAL journaling (journal_mode={mode})",
            "Put the store on a local file system (not a network share).",
        )
    if check != ["ok"]:
        raise _fail(
            path,
            f"fails its integrity check ({'; '.join(map(str, check))})",
            "Move the file away (keep it for diagnosis) and start with a new store.",
        )


def _check_identity(conn: sqlite3.Connection, path: Path, app: str, schema: int, ddl: str) -> None:
    tables = sorted(
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    )
    if not tables:
        with transaction(conn):
            # statement by statement: executescript() would commit on its own
            for statement in (s.strip() for s in ddl.split(";")):
                if statement:
                    conn.execute(statement)
            conn.execute(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID"
            )
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("app", app), ("schema", str(schema))],
            )
        return
    if "meta" not in tables:
        raise _fail(
            path,
            f"is a foreign SQLite database (tables {tables}, no 'meta' table; expected {app!r})",
            "Pass the path of a store this program created, or a new file.",
        )
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("app") != app:
        raise _fail(
            path,
            f"belongs to {meta.get('app')!r}, not {app!r}",
            "A node store and a centre store are different files; pass the right one.",
        )
    if meta.get("schema") != str(schema):
        raise _fail(
            path,
            f"has schema version {meta.get('schema')!r}; this code reads version {schema}",
            "Open it with the version of the software that wrote it.",
        )


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction (BEGIN IMMEDIATE … COMMIT); rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
