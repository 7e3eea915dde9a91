"""The fog node's uplink to the centre over MQTT (node side).

Threads: paho's network loop runs in its own thread and only decodes incoming
messages into a queue. Everything else happens in the node's thread when it
calls :meth:`MqttUplink.service`: acks move the store's watermark, commands
and link changes are handed to the node, and batches are published (paho's
``publish`` only queues). The node therefore never waits for the network.

Delivery (go-back-N): records are sent in order from the oldest unacked
sequence number, in batches of up to ``batch_records``, with at most
``window`` batches unacknowledged. After a reconnect, an ack timeout or a
``resend`` ack, sending restarts at the watermark + 1. The centre accepts
only the batch that continues its watermark, so order holds and duplicates
are dropped there.
"""

from __future__ import annotations

import logging
import queue
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import paho.mqtt.client as mqtt

from hil.fog.protocol import (
    MAX_PAYLOAD_BYTES,
    STATUS_OFFLINE,
    STATUS_ONLINE,
    Ack,
    Batch,
    Command,
    ProtocolError,
    Record,
    decode_ack,
    decode_command,
    encode_batch,
    topics,
    validate_node_id,
)
from hil.fog.store import AckError

__all__ = ["LinkEvent", "MqttUplink", "RecordSource", "Uplink"]

log = logging.getLogger(__name__)


class RecordSource(Protocol):
    """Where the uplink reads records and keeps the watermark (a :class:`FogStore`)."""

    @property
    def acked_seq(self) -> int: ...

    @property
    def last_seq(self) -> int: ...

    def pending(self, after_seq: int, limit: int) -> list[Record]: ...

    def set_acked(self, seq: int) -> int: ...


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """Something the node must handle: ``up``, ``down`` or a ``command``.

    Attributes:
        kind: ``up`` (connected), ``down`` (connection lost) or ``command``.
        wall_s: Unix time (s) when the network thread saw it.
        detail: reason text for ``down``.
        command: the decoded command for ``command``.
    """

    kind: str
    wall_s: float
    detail: str = ""
    command: Command | None = None


class Uplink(Protocol):
    """What :class:`~hil.fog.node.FogNode` needs of an uplink."""

    node_id: str
    stats: dict[str, int]

    @property
    def connected(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def service(self, source: RecordSource) -> list[LinkEvent]: ...


class _Inflight(NamedTuple):
    first: int
    last: int
    tx: int
    sent_at: float


_STAT_KEYS = (
    "connects",
    "disconnects",
    "refused",
    "batches_sent",
    "records_sent",
    "publish_failed",
    "acks",
    "ack_timeouts",
    "resends",
    "ack_ahead",
    "centre_behind",
    "commands",
    "malformed",
    "callback_errors",
)


class MqttUplink:
    """The node's MQTT link: batches up, acks and commands down, retained status.

    Args:
        node_id: the node (topic segment).
        host, port: the MQTT broker.
        window: batches in flight without an ack (>= 1).
        batch_records: records per batch (>= 1).
        max_batch_bytes: a batch's payload is halved until it fits (B).
        ack_timeout_s: resend from the watermark when the oldest batch in
            flight has no ack after this long (s, monotonic clock).
        keepalive_s: MQTT keep-alive (s); the broker publishes the Last Will
            ``offline`` after 1.5 × this without traffic.
        reconnect_min_s, reconnect_max_s: reconnect back-off, doubling (s).
        client_id: MQTT client id (default ``fog-<node>``).
        clock: monotonic seconds, for ack timeouts.
        wall_clock: Unix seconds, stamped on link events.

    Attributes:
        stats: counters (batches_sent, resends, acks, malformed, …).
    """

    def __init__(
        self,
        node_id: str,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        window: int = 4,
        batch_records: int = 200,
        max_batch_bytes: int = 1_000_000,
        ack_timeout_s: float = 10.0,
        keepalive_s: int = 30,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 60.0,
        client_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.node_id = validate_node_id(node_id)
        for name, value, low in (
            ("window", window, 1),
            ("batch_records", batch_records, 1),
            ("max_batch_bytes", max_batch_bytes, 1024),
            ("keepalive_s", keepalive_s, 1),
            ("port", port, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if max_batch_bytes > MAX_PAYLOAD_BYTES:
            raise ValueError(f"max_batch_bytes must be <= {MAX_PAYLOAD_BYTES}")
        if not (0 < reconnect_min_s <= reconnect_max_s):
            raise ValueError(
                "need 0 < reconnect_min_s <= reconnect_max_s, "
                f"got {reconnect_min_s} and {reconnect_max_s}"
            )
        if not ack_timeout_s > 0:
            raise ValueError(f"ack_timeout_s must be > 0 s, got {ack_timeout_s!r}")
        self.host, self.port = host, port
        self.window, self.batch_records, self.max_batch_bytes = (
            window,
            batch_records,
            max_batch_bytes,
        )
        self.ack_timeout_s, self.keepalive_s = float(ack_timeout_s), keepalive_s
        self.reconnect_s = (float(reconnect_min_s), float(reconnect_max_s))
        self.client_id = client_id or f"fog-{node_id}"
        self.topics = topics(node_id)
        self._clock, self._wall = clock, wall_clock
        self._inbox: queue.SimpleQueue[tuple[str, float, Any]] = queue.SimpleQueue()
        self._client: mqtt.Client | None = None
        self._link_up = False
        self._acked = 0
        self._next: int | None = None
        self._inflight: deque[_Inflight] = deque()
        self._tx = 0
        self._rewind_tx = 0
        self.stats: dict[str, int] = dict.fromkeys(_STAT_KEYS, 0)

    # ------------------------------------------------------------ lifecycle
    @property
    def connected(self) -> bool:
        """True while the link is up, as last seen by :meth:`service`."""
        return self._link_up

    @property
    def in_flight(self) -> int:
        """Batches sent and not yet acked."""
        return len(self._inflight)

    def start(self) -> None:
        """Start connecting in the background (idempotent); never blocks on the network."""
        if self._client is not None:
            return
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        client.will_set(self.topics.status, STATUS_OFFLINE, qos=1, retain=True)
        lo, hi = self.reconnect_s
        client.reconnect_delay_set(min_delay=lo, max_delay=hi)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.connect_async(self.host, self.port, keepalive=self.keepalive_s)
        client.loop_start()
        self._client = client

    def stop(self, timeout_s: float = 2.0) -> None:
        """Publish ``offline`` (retained), disconnect and stop the network thread.

        Waits at most ``timeout_s`` (s) for the status message; idempotent.
        """
        client, self._client = self._client, None
        if client is None:
            return
        if client.is_connected():
            info = client.publish(self.topics.status, STATUS_OFFLINE, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout_s)
            except (RuntimeError, ValueError) as exc:
                log.warning("%s: 'offline' status not published (%s)", self.node_id, exc)
        client.disconnect()
        client.loop_stop()
        self._link_up = False
        self._inflight.clear()
        self._next = None

    # -------------------------------------------------- network thread side
    def _put(self, kind: str, payload: Any = None) -> None:
        self._inbox.put((kind, self._wall(), payload))

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        try:
            if reason.is_failure:
                self._put("refused", str(reason))
                return
            client.subscribe([(self.topics.ack, 1), (self.topics.cmd, 1)])
            client.publish(self.topics.status, STATUS_ONLINE, qos=1, retain=True)
            self._put("up")
        except Exception as exc:  # paho would stop its thread on an exception
            log.exception("%s: on_connect failed", self.node_id)
            self._put("error", repr(exc))

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self._put("down", str(reason))

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            if msg.topic == self.topics.ack:
                self._put("ack", decode_ack(msg.payload))
            elif msg.topic == self.topics.cmd:
                self._put("cmd", decode_command(msg.payload))
            else:
                self._put("malformed", f"unexpected topic {msg.topic!r}")
        except ProtocolError as exc:
            self._put("malformed", f"{msg.topic}: {exc}")
        except Exception as exc:  # never let paho's thread die
            log.exception("%s: on_message failed", self.node_id)
            self._put("error", repr(exc))

    # ------------------------------------------------------ node thread side
    def service(self, source: RecordSource) -> list[LinkEvent]:
        """Apply acks, collect commands and link changes, and send due batches.

        Call it often from the node's thread (every step, and between steps
        while waiting). Returns the events the node must handle, in arrival order.
        """
        if self._next is None:
            self._acked = source.acked_seq
            self._next = self._acked + 1
        events: list[LinkEvent] = []
        while True:
            try:
                kind, wall, payload = self._inbox.get_nowait()
            except queue.Empty:
                break
            if kind == "up":
                self.stats["connects"] += 1
                self._link_up = True
                self._rewind(source.acked_seq)
                events.append(LinkEvent("up", wall))
            elif kind == "down":
                if self._link_up:
                    self.stats["disconnects"] += 1
                    events.append(LinkEvent("down", wall, detail=str(payload)))
                self._link_up = False
                self._inflight.clear()
            elif kind == "ack":
                self._on_ack(payload, source)
            elif kind == "cmd":
                self.stats["commands"] += 1
                events.append(LinkEvent("command", wall, command=payload))
            elif kind == "malformed":
                self.stats["malformed"] += 1
                log.warning("%s: ignored a malformed message: %s", self.node_id, payload)
            elif kind == "refused":
                self.stats["refused"] += 1
                log.error("%s: broker refused the connection: %s", self.node_id, payload)
            else:
                self.stats["callback_errors"] += 1
        if self._link_up and self._client is not None:
            if self._inflight and self._clock() - self._inflight[0].sent_at > self.ack_timeout_s:
                self.stats["ack_timeouts"] += 1
                self.stats["resends"] += 1
                log.info(
                    "%s: no ack for seq %d..%d within %.1f s; resending from %d",
                    self.node_id,
                    self._inflight[0].first,
                    self._inflight[0].last,
                    self.ack_timeout_s,
                    self._acked + 1,
                )
                self._rewind(self._acked)
            self._send(source, self._client)
        return events

    def _rewind(self, base: int) -> None:
        """Go back: the next batch starts at ``base + 1``; acks of older transmissions
        no longer trigger a rewind."""
        self._next = base + 1
        self._inflight.clear()
        self._rewind_tx = self._tx + 1

    def _on_ack(self, ack: Ack, source: RecordSource) -> None:
        if ack.node != self.node_id:
            self.stats["malformed"] += 1
            log.warning("%s: ignored an ack for node %r", self.node_id, ack.node)
            return
        self.stats["acks"] += 1
        try:
            acked = source.set_acked(ack.acked_seq)
        except AckError as exc:
            self.stats["ack_ahead"] += 1
            log.error("%s: %s", self.node_id, exc)
            return
        self._acked = acked
        while self._inflight and self._inflight[0].last <= acked:
            self._inflight.popleft()
        assert self._next is not None
        if self._next <= acked:
            self._next = acked + 1
        if ack.status != "resend" or (ack.tx is not None and ack.tx < self._rewind_tx):
            return  # an answer to a transmission from before the last rewind
        base = acked
        if ack.acked_seq < acked:  # the centre lost records it had confirmed
            self.stats["centre_behind"] += 1
            kept = source.pending(ack.acked_seq, 1)
            if kept and kept[0].seq == ack.acked_seq + 1:
                base = ack.acked_seq
                log.error(
                    "%s: the centre's watermark %d is below the acked %d; resending from %d",
                    self.node_id,
                    ack.acked_seq,
                    acked,
                    base + 1,
                )
            else:
                log.error(
                    "%s: the centre's watermark %d is below the acked %d and those records "
                    "are pruned here; the centre has a gap it must accept by hand",
                    self.node_id,
                    ack.acked_seq,
                    acked,
                )
        self.stats["resends"] += 1
        self._rewind(base)

    def _send(self, source: RecordSource, client: mqtt.Client) -> None:
        assert self._next is not None
        while len(self._inflight) < self.window:
            records = source.pending(self._next - 1, self.batch_records)
            if not records:
                return
            payload = self._encode(records)
            while len(payload) > self.max_batch_bytes and len(records) > 1:
                records = records[: len(records) // 2]
                payload = self._encode(records)
            info = client.publish(self.topics.up, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                self.stats["publish_failed"] += 1
                return  # not connected any more; the 'down' event follows
            self._inflight.append(
                _Inflight(records[0].seq, records[-1].seq, self._tx, self._clock())
            )
            self._next = records[-1].seq + 1
            self.stats["batches_sent"] += 1
            self.stats["records_sent"] += len(records)

    def _encode(self, records: list[Record]) -> bytes:
        self._tx += 1
        return encode_batch(
            Batch(self.node_id, records[0].seq, records[-1].seq, tuple(records), self._tx)
        )
