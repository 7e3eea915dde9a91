"""The fog node's durable store: outbox, ack watermark, controller snapshots, command ids.

One SQLite file per node (WAL, ``synchronous=FULL``, held exclusively by one
process). A call that returned has committed: the rows survive ``kill -9``
and power loss. Tables:

``outbox``     records with a per-node sequence number 1, 2, … (never reused,
               also after pruning), kind ``telemetry``/``event``, run time (s),
               wall time (Unix s) and a JSON body.
``node``       one row: the node id, the last sequence number and the ack
               watermark (highest seq the centre confirmed as stored).
``snapshots``  per controller: its ``snapshot()`` JSON, the node's schedule
               state for it, and the run time of that scan; written in the same
               transaction as the scan's telemetry, so a restart resumes exactly.
``commands``   every command id seen with its result, so a replay (also after a
               power cycle) is answered and never re-applied.

Retention: unacked records are never deleted; acked ones beyond the newest
``keep_acked`` are pruned when the watermark moves.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hil.fog.db import StoreError, open_db, transaction
from hil.fog.protocol import RECORD_KINDS, Record, dumps, validate_node_id

__all__ = ["AckError", "FogStore", "NewRecord", "SavedState", "StoreError"]

APP = "dongha-fog-node"
SCHEMA = 1
_DDL = """
CREATE TABLE node (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    node_id TEXT,
    last_seq INTEGER NOT NULL CHECK (last_seq >= 0),
    acked_seq INTEGER NOT NULL CHECK (acked_seq >= 0 AND acked_seq <= last_seq)
);
INSERT INTO node (id, node_id, last_seq, acked_seq) VALUES (1, NULL, 0, 0);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('telemetry', 'event')),
    run_s REAL,
    wall_s REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE snapshots (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    node_state TEXT NOT NULL,
    run_s REAL
) WITHOUT ROWID;
CREATE TABLE commands (
    cmd_id TEXT PRIMARY KEY,
    n INTEGER NOT NULL UNIQUE,
    result TEXT NOT NULL
) WITHOUT ROWID
"""


class AckError(ValueError):
    """An ack for records the node never wrote (the centre is ahead of this store)."""


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A record to append; the store assigns its sequence number.

    Attributes:
        kind: ``telemetry`` or ``event``.
        run_s: run-clock time (s), or None before the first scan.
        wall_s: Unix time (s) when it was produced.
        body: JSON object (finite numbers only).
    """

    kind: str
    run_s: float | None
    wall_s: float
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SavedState:
    """A controller's saved state.

    Attributes:
        state: what its ``snapshot()`` returned.
        node_state: the node's bookkeeping for it (next due time, alarm cursor, …).
        run_s: run time (s) of the scan or command it was taken after.
    """

    state: dict[str, Any]
    node_state: dict[str, Any]
    run_s: float | None = None


def _finite_or_none(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number of seconds or None, got {value!r}")
    return float(value)


class FogStore:
    """The durable store of one fog node (see the module docstring).

    Args:
        path: the SQLite file (created if missing; its folder must exist).
        keep_acked: acked records kept for inspection (>= 0); older ones are pruned.
        keep_commands: command ids remembered (>= 1); the oldest are forgotten first.

    Raises:
        StoreError: the file is corrupt, foreign, of another version, or in use.
    """

    def __init__(
        self, path: str | Path, *, keep_acked: int = 100_000, keep_commands: int = 100_000
    ) -> None:
        if isinstance(keep_acked, bool) or not isinstance(keep_acked, int) or keep_acked < 0:
            raise ValueError(f"keep_acked must be an integer >= 0, got {keep_acked!r}")
        if isinstance(keep_commands, bool) or not isinstance(keep_commands, int):
            raise ValueError(f"keep_commands must be an integer >= 1, got {keep_commands!r}")
        if keep_commands < 1:
            raise ValueError(f"keep_commands must be an integer >= 1, got {keep_commands!r}")
        self.path = Path(path)
        self.keep_acked = keep_acked
        self.keep_commands = keep_commands
        self._conn: sqlite3.Connection | None = open_db(
            self.path, app=APP, schema=SCHEMA, ddl=_DDL, exclusive=True
        )
        row = self._db.execute("SELECT node_id, last_seq, acked_seq FROM node").fetchone()
        if row is None:
            self.close()
            raise StoreError(f"{self.path}: the 'node' row is missing; the store was tampered with")
        self._node_id: str | None = row[0]
        self._last_seq: int = int(row[1])
        self._acked_seq: int = int(row[2])

    # ------------------------------------------------------------ lifecycle
    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the store is closed")
        return self._conn

    def close(self) -> None:
        """Close the file (idempotent). Everything committed stays on disk."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> FogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ identity
    @property
    def node_id(self) -> str | None:
        """The node this store belongs to (None until claimed)."""
        return self._node_id

    def claim(self, node_id: str) -> None:
        """Bind a new store to ``node_id``; an existing store must already be ``node_id``'s."""
        validate_node_id(node_id)
        if self._node_id == node_id:
            return
        if self._node_id is not None:
            raise StoreError(
                f"{self.path}: this store belongs to node {self._node_id!r}, not {node_id!r}. "
                "Each node needs its own store; pass the right path or node id."
            )
        with transaction(self._db):
            self._db.execute("UPDATE node SET node_id = ? WHERE id = 1", (node_id,))
        self._node_id = node_id

    # -------------------------------------------------------------- outbox
    @property
    def last_seq(self) -> int:
        """The highest sequence number written (0 for a new store)."""
        return self._last_seq

    @property
    def acked_seq(self) -> int:
        """The ack watermark: every record up to it is confirmed by the centre."""
        return self._acked_seq

    def commit(
        self,
        records: Sequence[NewRecord] = (),
        snapshots: Mapping[str, SavedState] | None = None,
        command: tuple[str, Mapping[str, Any]] | None = None,
    ) -> list[int]:
        """Append ``records``, save ``snapshots`` and remember ``command`` in ONE transaction.

        Args:
            records: appended in order; they get consecutive sequence numbers.
            snapshots: controller name → state to save (replacing the previous).
            command: ``(cmd_id, result)`` to remember; the id must be new.

        Returns:
            The sequence numbers given to ``records``.

        Raises:
            ValueError: a record or state is not JSON (NaN, objects) or a field
                is invalid; nothing is written then.
        """
        rows = []
        seq = self._last_seq
        for rec in records:
            if rec.kind not in RECORD_KINDS:
                raise ValueError(f"record kind must be one of {RECORD_KINDS}, got {rec.kind!r}")
            run_s = _finite_or_none(rec.run_s, "run_s")
            wall_s = _finite_or_none(rec.wall_s, "wall_s")
            if wall_s is None:
                raise ValueError("wall_s is required (Unix seconds)")
            if not isinstance(rec.body, Mapping):
                raise ValueError(f"record body must be a mapping, got {type(rec.body).__name__}")
            seq += 1
            rows.append((seq, rec.kind, run_s, wall_s, self._json(rec.body, f"record {seq}")))
        snaps = [
            (
                name,
                self._json(s.state, f"snapshot of {name}"),
                self._json(s.node_state, f"node state of {name}"),
                _finite_or_none(s.run_s, "run_s"),
            )
            for name, s in (snapshots or {}).items()
        ]
        cmd_row = None
        if command is not None:
            cmd_id, result = command
            if not isinstance(cmd_id, str) or not cmd_id:
                raise ValueError(f"cmd_id must be a non-empty string, got {cmd_id!r}")
            cmd_row = (cmd_id, self._json(result, f"result of {cmd_id}"))
        db = self._db
        with transaction(db):
            if rows:
                db.executemany(
                    "INSERT INTO outbox (seq, kind, run_s, wall_s, body) VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                db.execute("UPDATE node SET last_seq = ? WHERE id = 1", (seq,))
            if snaps:
                db.executemany(
                    "INSERT OR REPLACE INTO snapshots (name, state, node_state, run_s) "
                    "VALUES (?, ?, ?, ?)",
                    snaps,
                )
            if cmd_row is not None:
                db.execute(
                    "INSERT INTO commands (cmd_id, n, result) VALUES "
                    "(?, (SELECT COALESCE(MAX(n), 0) + 1 FROM commands), ?)",
                    cmd_row,
                )
                db.execute(
                    "DELETE FROM commands WHERE n <= (SELECT MAX(n) FROM commands) - ?",
                    (self.keep_commands,),
                )
        self._last_seq = seq
        return [r[0] for r in rows]

    def append(self, kind: str, body: Mapping[str, Any], run_s: float | None, wall_s: float) -> int:
        """Append one record in its own transaction; returns its sequence number."""
        return self.commit([NewRecord(kind, run_s, wall_s, body)])[0]

    def pending(self, after_seq: int, limit: int) -> list[Record]:
        """Up to ``limit`` kept records with ``seq > after_seq``, oldest first."""
        return self._select("WHERE seq > ? ORDER BY seq LIMIT ?", (int(after_seq), int(limit)))

    def records(self, first_seq: int = 1, last_seq: int | None = None) -> list[Record]:
        """Kept records with ``first_seq <= seq <= last_seq`` (all if None), oldest first."""
        last = self._last_seq if last_seq is None else int(last_seq)
        return self._select("WHERE seq BETWEEN ? AND ? ORDER BY seq", (int(first_seq), last))

    def set_acked(self, seq: int) -> int:
        """Raise the ack watermark to ``seq`` (a lower value is ignored) and prune; returns it.

        Raises:
            AckError: ``seq`` is beyond :attr:`last_seq` (the centre confirms
                records this store never wrote: another node's store, or a reset one).
        """
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ValueError(f"acked seq must be an integer >= 0, got {seq!r}")
        if seq > self._last_seq:
            raise AckError(
                f"{self.path}: the centre acks seq {seq} but this store's last seq is "
                f"{self._last_seq}; was the store replaced? The centre's watermark for node "
                f"{self._node_id!r} must be reset before this node can sync."
            )
        if seq <= self._acked_seq:
            return self._acked_seq
        db = self._db
        with transaction(db):
            db.execute("UPDATE node SET acked_seq = ? WHERE id = 1", (seq,))
            db.execute("DELETE FROM outbox WHERE seq <= ?", (seq - self.keep_acked,))
        self._acked_seq = seq
        return seq

    def _select(self, where: str, params: tuple[int, ...]) -> list[Record]:
        rows = self._db.execute(
            f"SELECT seq, kind, run_s, wall_s, body FROM outbox {where}", params
        ).fetchall()
        out = []
        for seq, kind, run_s, wall_s, body in rows:
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise StoreError(f"{self.path}: record {seq} is not JSON ({exc})") from exc
            out.append(Record(int(seq), str(kind), run_s, float(wall_s), data))
        return out

    # ----------------------------------------------------------- snapshots
    def snapshots(self) -> dict[str, SavedState]:
        """Saved controller states by name (sorted by name)."""
        out = {}
        for name, state, node_state, run_s in self._db.execute(
            "SELECT name, state, node_state, run_s FROM snapshots ORDER BY name"
        ):
            try:
                out[name] = SavedState(json.loads(state), json.loads(node_state), run_s)
            except ValueError as exc:
                raise StoreError(f"{self.path}: snapshot of {name!r} is not JSON ({exc})") from exc
        return out

    # ------------------------------------------------------------ commands
    def command_result(self, cmd_id: str) -> dict[str, Any] | None:
        """The stored result of command ``cmd_id``, or None if it was never seen."""
        row = self._db.execute("SELECT result FROM commands WHERE cmd_id = ?", (cmd_id,)).fetchone()
        if row is None:
            return None
        try:
            result = json.loads(row[0])
        except ValueError as exc:
            raise StoreError(f"{self.path}: result of {cmd_id!r} is not JSON ({exc})") from exc
        return dict(result)

    def command_count(self) -> int:
        """How many command ids are remembered."""
        return int(self._db.execute("SELECT COUNT(*) FROM commands").fetchone()[0])

    # ------------------------------------------------------------- helpers
    @staticmethod
    def _json(obj: Any, what: str) -> str:
        try:
            return dumps(obj)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{what} is not JSON data ({exc}); convert NaN/inf to None") from exc
