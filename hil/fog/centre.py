"""The centre (IOC) side of the fog uplink: receive batches in order, ack, send commands.

:class:`CentreReceiver` subscribes to the ``up`` and ``status`` topics of its
nodes. A batch is accepted only if it continues the node's watermark
(``first_seq == watermark + 1``); it is then stored durably in the centre's
own SQLite file (WAL, ``synchronous=FULL``) and only after that acked, so an
ack never claims records that a crash could lose. A batch entirely at or
below the watermark is a duplicate: dropped and re-acked. Anything else (a
gap, or an overlap) is not stored; the ack carries the watermark with status
``resend`` so the node goes back to it. Malformed payloads are counted and
ignored.

Commands are stored before they are published, and published again when the
node comes online until its ``cmd_result`` event arrives; the node answers
replays without re-applying them.

Threads: paho's network thread does the receiving; the public methods may be
called from any thread (one lock guards the database).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from hil.fog.db import open_db, transaction
from hil.fog.protocol import (
    STATUS_OFFLINE,
    STATUS_ONLINE,
    Ack,
    Batch,
    Command,
    CommandResult,
    ProtocolError,
    Record,
    decode_batch,
    decode_command,
    dumps,
    encode_ack,
    encode_command,
    parse_command_result,
    topics,
    validate_node_id,
)

__all__ = ["CentreReceiver", "CommandStatus"]

log = logging.getLogger(__name__)

APP = "dongha-fog-centre"
SCHEMA = 1
_DDL = """
CREATE TABLE watermarks (node TEXT PRIMARY KEY, acked_seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE records (
    node TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    run_s REAL,
    wall_s REAL NOT NULL,
    body TEXT NOT NULL,
    received_wall_s REAL NOT NULL,
    PRIMARY KEY (node, seq)
);
CREATE TABLE commands (
    cmd_id TEXT PRIMARY KEY,
    node TEXT NOT NULL,
    payload TEXT NOT NULL,
    sent_wall_s REAL NOT NULL,
    result TEXT,
    result_seq INTEGER
) WITHOUT ROWID
"""
_STAT_KEYS = (
    "received",
    "accepted",
    "records",
    "duplicates",
    "gaps",
    "overlaps",
    "malformed",
    "acks_sent",
    "commands_sent",
    "commands_resent",
    "results",
    "callback_errors",
)


@dataclass(frozen=True, slots=True)
class CommandStatus:
    """A command the centre sent and, once it arrived, the node's result.

    Attributes:
        command: the command as sent.
        node: the node it was sent to.
        result: the node's answer, or None while pending.
        result_seq: the sequence number of the ``cmd_result`` event.
    """

    command: Command
    node: str
    result: CommandResult | None
    result_seq: int | None


class CentreReceiver:
    """Receives the fog nodes' outboxes into a durable store and sends them commands.

    Args:
        path: the centre's SQLite file (created if missing).
        nodes: the node ids to follow.
        host, port: the MQTT broker.
        client_id: MQTT client id (default ``centre-<nodes>``).
        send_acks: False stores batches without acking them — a diagnostic
            switch that simulates acks lost on the way to the node.
        keepalive_s: MQTT keep-alive (s).
        reconnect_min_s, reconnect_max_s: reconnect back-off, doubling (s).
        wall_clock: Unix seconds, stamped on received records.

    Attributes:
        stats: counters — ``received`` (valid batches), ``accepted`` (stored
            batches), ``records`` (stored records), ``duplicates`` (dropped
            batches), ``gaps`` and ``overlaps`` (refused batches), ``malformed``
            (ignored payloads), ``acks_sent``, ``commands_sent``,
            ``commands_resent``, ``results``, ``callback_errors``.
    """

    def __init__(
        self,
        path: str | Path,
        nodes: Sequence[str],
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        client_id: str | None = None,
        send_acks: bool = True,
        keepalive_s: int = 30,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 30.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(nodes, str) or not nodes:
            raise ValueError(f"nodes must be a non-empty list of node ids, got {nodes!r}")
        self.nodes = tuple(sorted({validate_node_id(n) for n in nodes}))
        self.host, self.port = host, int(port)
        self.client_id = client_id or "centre-" + "-".join(self.nodes)[:40]
        self.send_acks = bool(send_acks)
        self.keepalive_s = int(keepalive_s)
        self.reconnect_s = (float(reconnect_min_s), float(reconnect_max_s))
        self._wall = wall_clock
        self._topics = {n: topics(n) for n in self.nodes}
        self._routes = {t.up: (n, "up") for n, t in self._topics.items()}
        self._routes.update({t.status: (n, "status") for n, t in self._topics.items()})
        self._lock = threading.RLock()
        self._conn = open_db(
            path, app=APP, schema=SCHEMA, ddl=_DDL, exclusive=True, check_same_thread=False
        )
        self.path = Path(path)
        with self._lock, transaction(self._conn):
            self._conn.executemany(
                "INSERT OR IGNORE INTO watermarks (node, acked_seq) VALUES (?, 0)",
                [(n,) for n in self.nodes],
            )
        self._client: mqtt.Client | None = None
        self._online: dict[str, bool | None] = dict.fromkeys(self.nodes)
        self.stats: dict[str, int] = dict.fromkeys(_STAT_KEYS, 0)

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Connect in the background (idempotent)."""
        if self._client is not None:
            return
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        lo, hi = self.reconnect_s
        client.reconnect_delay_set(min_delay=lo, max_delay=hi)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.connect_async(self.host, self.port, keepalive=self.keepalive_s)
        client.loop_start()
        self._client = client

    def stop(self) -> None:
        """Disconnect and stop the network thread (idempotent); the store stays open."""
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()

    def close(self) -> None:
        """Stop and close the store (idempotent)."""
        self.stop()
        with self._lock:
            self._conn.close()

    def __enter__(self) -> CentreReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """True while connected to the broker."""
        return self._client is not None and self._client.is_connected()

    # ------------------------------------------------------------- queries
    def watermark(self, node: str) -> int:
        """The highest seq of ``node`` stored without gaps (0: nothing yet)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT acked_seq FROM watermarks WHERE node = ?", (node,)
            ).fetchone()
        if row is None:
            raise KeyError(f"unknown node {node!r}; this centre follows {list(self.nodes)}")
        return int(row[0])

    def records(self, node: str, first_seq: int = 1, last_seq: int | None = None) -> list[Record]:
        """Stored records of ``node`` in ``[first_seq, last_seq]`` (to the end if None), by seq."""
        hi = 2**63 - 1 if last_seq is None else int(last_seq)
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, kind, run_s, wall_s, body FROM records "
                "WHERE node = ? AND seq BETWEEN ? AND ? ORDER BY seq",
                (node, int(first_seq), hi),
            ).fetchall()
        return [Record(int(s), str(k), r, float(w), json.loads(b)) for s, k, r, w, b in rows]

    def online(self, node: str) -> bool | None:
        """The node's last retained status: True online, False offline, None unknown."""
        return self._online[node]

    def command_status(self, cmd_id: str) -> CommandStatus | None:
        """The command ``cmd_id`` with its result once the node's answer arrived."""
        with self._lock:
            row = self._conn.execute(
                "SELECT node, payload, result, result_seq FROM commands WHERE cmd_id = ?",
                (cmd_id,),
            ).fetchone()
        if row is None:
            return None
        node, payload, result, result_seq = row
        parsed = None if result is None else parse_command_result(json.loads(result))
        return CommandStatus(decode_command(payload), node, parsed, result_seq)

    def pending_commands(self, node: str) -> list[str]:
        """Ids of commands to ``node`` without a result yet, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT cmd_id FROM commands WHERE node = ? AND result IS NULL "
                "ORDER BY sent_wall_s, cmd_id",
                (node,),
            ).fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------ commands
    def send_command(
        self,
        node: str,
        kind: str,
        *,
        issued_s: float,
        target: str | None = None,
        controller: str | None = None,
        cmd_id: str | None = None,
        **args: Any,
    ) -> str:
        """Store and publish a command (QoS 1); returns its id.

        ``issued_s`` is run-clock seconds. Sending again with the same
        ``cmd_id`` and content replays it (the node answers without
        re-applying); the same id with other content is a ValueError.
        """
        if node not in self._topics:
            raise KeyError(f"unknown node {node!r}; this centre follows {list(self.nodes)}")
        cmd = Command(cmd_id or uuid.uuid4().hex, float(issued_s), kind, target, controller, args)
        payload = encode_command(cmd)
        decode_command(payload)  # validate what we send as strictly as the node will
        text = payload.decode("utf-8")
        with self._lock:
            row = self._conn.execute(
                "SELECT node, payload FROM commands WHERE cmd_id = ?", (cmd.cmd_id,)
            ).fetchone()
            if row is not None and (row[0] != node or row[1] != text):
                raise ValueError(
                    f"cmd_id {cmd.cmd_id!r} was already used for another command; "
                    "use a new id (or omit it to get a fresh one)"
                )
            if row is None:
                with transaction(self._conn):
                    self._conn.execute(
                        "INSERT INTO commands (cmd_id, node, payload, sent_wall_s) "
                        "VALUES (?, ?, ?, ?)",
                        (cmd.cmd_id, node, text, self._wall()),
                    )
        self._publish(self._topics[node].cmd, payload)
        self._count("commands_sent")
        return cmd.cmd_id

    def resend_pending_commands(self, node: str) -> int:
        """Publish again every command to ``node`` still without a result; returns how many."""
        ids = self.pending_commands(node)
        for cmd_id in ids:
            with self._lock:
                row = self._conn.execute(
                    "SELECT payload FROM commands WHERE cmd_id = ?", (cmd_id,)
                ).fetchone()
            self._publish(self._topics[node].cmd, row[0].encode("utf-8"))
            self._count("commands_resent")
        return len(ids)

    # ------------------------------------------------------- network thread
    def _publish(self, topic: str, payload: bytes) -> None:
        client = self._client
        if client is None:
            log.warning("centre not started; %s not published (it stays pending)", topic)
            return
        client.publish(topic, payload, qos=1)  # queued by paho while disconnected

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            log.error("centre: broker refused the connection: %s", reason)
            return
        subs = [(t.up, 1) for t in self._topics.values()]
        subs += [(t.status, 1) for t in self._topics.values()]
        client.subscribe(subs)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            route = self._routes.get(msg.topic)
            if route is None:
                raise ProtocolError(f"unexpected topic {msg.topic!r}")
            node, leaf = route
            if leaf == "status":
                self._on_status(node, msg.payload)
            else:
                batch = decode_batch(msg.payload)
                if batch.node != node:
                    raise ProtocolError(f"batch of node {batch.node!r} on {node!r}'s topic")
                self._on_batch(batch)
        except ProtocolError as exc:
            self._count("malformed")
            log.warning("centre: ignored a malformed message on %s: %s", msg.topic, exc)
        except Exception:  # never let paho's thread die; the message is not acked
            self._count("callback_errors")
            log.exception("centre: handling a message on %s failed", msg.topic)

    def _on_status(self, node: str, payload: bytes | bytearray) -> None:
        text = bytes(payload).decode("utf-8", errors="replace") if payload else ""
        if text not in (STATUS_ONLINE, STATUS_OFFLINE):
            raise ProtocolError(f"status must be 'online' or 'offline', got {text[:40]!r}")
        if text == STATUS_ONLINE:
            self._ack(node, self.watermark(node), "sync", None)
            self.resend_pending_commands(node)
        self._online[node] = text == STATUS_ONLINE  # after the resend: tests wait on it

    def _on_batch(self, batch: Batch) -> None:
        node = batch.node
        with self._lock:
            self._count("received")
            mark = self.watermark(node)
            if batch.last_seq <= mark:
                self._count("duplicates")
                status = "duplicate"
            elif batch.first_seq != mark + 1:
                self._count("gaps" if batch.first_seq > mark + 1 else "overlaps")
                status = "resend"
            else:
                self._store(batch)
                mark, status = batch.last_seq, "ok"
        self._ack(node, mark, status, batch.tx)

    def _store(self, batch: Batch) -> None:
        wall = self._wall()
        rows = [
            (batch.node, r.seq, r.kind, r.run_s, r.wall_s, dumps(r.body), wall)
            for r in batch.records
        ]
        results = []
        for r in batch.records:
            res = parse_command_result(r.body) if r.kind == "event" else None
            if res is not None:
                results.append((dumps(r.body), r.seq, res.cmd_id, batch.node))
        with transaction(self._conn):
            self._conn.executemany(
                "INSERT INTO records (node, seq, kind, run_s, wall_s, body, received_wall_s) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._conn.execute(
                "UPDATE watermarks SET acked_seq = ? WHERE node = ?", (batch.last_seq, batch.node)
            )
            self._conn.executemany(
                "UPDATE commands SET result = ?, result_seq = ? "
                "WHERE cmd_id = ? AND node = ? AND result IS NULL",
                results,
            )
        self._count("accepted")
        self._count("records", len(rows))
        self._count("results", len(results))

    def _ack(self, node: str, acked: int, status: str, tx: int | None) -> None:
        if not self.send_acks:
            return
        self._publish(self._topics[node].ack, encode_ack(Ack(node, acked, status, tx)))
        self._count("acks_sent")
