"""The fog node ↔ operations centre wire format (JSON, UTF-8, version 1).

Topics (``<node>``: letters, digits, ``_`` and ``-``)
-----------------------------------------------------
``dongha/fog/<node>/up``      node → centre, QoS 1: batches of outbox records
``dongha/fog/<node>/ack``     centre → node: the centre's watermark
``dongha/fog/<node>/cmd``     centre → node, QoS 1: commands
``dongha/fog/<node>/status``  node → all, retained: ``online`` / ``offline`` (plain text;
                              ``offline`` is also the node's Last Will)

Messages (every JSON message carries ``"v": 1`` and its ``"type"``)
-------------------------------------------------------------------
batch   ``{"v":1,"type":"batch","node":"fog-1","tx":7,"first_seq":101,"last_seq":103,
        "records":[{"seq":101,"kind":"telemetry","run_s":6000.0,"wall_s":1.7e9,"body":{...}},
        ...]}``. ``records`` are consecutive: ``seq`` of record i = ``first_seq + i``.
        ``kind`` is ``telemetry`` (one scan of one controller) or ``event``
        (``body.type``: ``boot``, ``stop``, ``link``, ``alarm``, ``cmd_result``, …).
        ``run_s`` is the run clock (s, null before the first scan), ``wall_s``
        the node's Unix time (s). ``tx`` numbers the node's transmissions.
ack     ``{"v":1,"type":"ack","node":"fog-1","acked_seq":103,"status":"ok","tx":7}``:
        every record ≤ ``acked_seq`` is durably stored at the centre. ``status``:
        ``ok`` (the batch was stored), ``duplicate`` (it was already stored),
        ``resend`` (gap or overlap: not stored; resend from ``acked_seq + 1``),
        ``sync`` (unsolicited, e.g. when the node comes online; ``tx`` null).
cmd     ``{"v":1,"type":"cmd","cmd_id":"c-42","issued_s":3600.0,"kind":"irrigate",
        "target":"P03","controller":null,"args":{"depth_mm":12.0}}``. ``cmd_id``
        makes replays idempotent; ``target`` and ``controller`` are optional;
        ``args`` become keyword arguments of the controller's ``command``.
result  not a message of its own: the node answers a command with an outbox
        event ``{"type":"cmd_result","cmd_id":...,"result":"applied",
        "detail":"","controller":"irrigation/S1"}``, so results reach the centre
        in order, durably and exactly once, like all other records.

Every decoder validates fully and raises :class:`ProtocolError` (and nothing
else) on any malformed payload; callers count it and carry on.
"""

from __future__ import annotations

import json
import keyword
import math
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "ACK_STATUSES",
    "MAX_PAYLOAD_BYTES",
    "MAX_RECORDS",
    "PROTOCOL_VERSION",
    "RECORD_KINDS",
    "STATUS_OFFLINE",
    "STATUS_ONLINE",
    "Ack",
    "Batch",
    "Command",
    "CommandResult",
    "ProtocolError",
    "Record",
    "Topics",
    "decode_ack",
    "decode_batch",
    "decode_command",
    "dumps",
    "encode_ack",
    "encode_batch",
    "encode_command",
    "parse_command_result",
    "topics",
    "validate_node_id",
]

PROTOCOL_VERSION = 1
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
MAX_RECORDS = 10_000
RECORD_KINDS = ("telemetry", "event")
ACK_STATUSES = ("ok", "duplicate", "resend", "sync")
STATUS_ONLINE, STATUS_OFFLINE = "online", "offline"
_NODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KIND_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_RESERVED_ARGS = frozenset({"cmd_id", "issued_s", "kind", "target"})


class ProtocolError(ValueError):
    """A payload that does not follow the wire format (what is wrong, where)."""


class Topics(NamedTuple):
    """The four MQTT topics of one node."""

    up: str
    ack: str
    cmd: str
    status: str


def validate_node_id(node_id: Any) -> str:
    """``node_id`` if it is 1-64 letters, digits, ``_`` or ``-`` (topic-safe), else ValueError."""
    if not isinstance(node_id, str) or not _NODE_RE.match(node_id):
        raise ValueError(
            f"invalid node id {node_id!r}: use 1-64 letters, digits, '_' or '-' (e.g. 'fog-anlac')"
        )
    return node_id


def topics(node_id: str) -> Topics:
    """The topics of ``node_id``: ``dongha/fog/<node>/{up,ack,cmd,status}``."""
    base = f"dongha/fog/{validate_node_id(node_id)}"
    return Topics(f"{base}/up", f"{base}/ack", f"{base}/cmd", f"{base}/status")


@dataclass(frozen=True, slots=True)
class Record:
    """One outbox record.

    Attributes:
        seq: sequence number, 1, 2, … per node, never reused.
        kind: ``telemetry`` or ``event``.
        run_s: run-clock time (s) it refers to; None before the first scan.
        wall_s: the node's Unix time (s) when it was written.
        body: JSON object (telemetry: one scan; event: ``type`` and details).
    """

    seq: int
    kind: str
    run_s: float | None
    wall_s: float
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object of the wire format."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "run_s": self.run_s,
            "wall_s": self.wall_s,
            "body": self.body,
        }


@dataclass(frozen=True, slots=True)
class Batch:
    """Consecutive records ``first_seq..last_seq`` of ``node``; ``tx`` numbers the transmission."""

    node: str
    first_seq: int
    last_seq: int
    records: tuple[Record, ...]
    tx: int = 0


@dataclass(frozen=True, slots=True)
class Ack:
    """The centre's watermark for ``node``; ``tx`` of the batch it answers (None: unsolicited)."""

    node: str
    acked_seq: int
    status: str
    tx: int | None = None


@dataclass(frozen=True, slots=True)
class Command:
    """A command from the centre.

    Attributes:
        cmd_id: unique id (1-128 printable characters); replays are answered, not re-applied.
        issued_s: when the centre issued it, run-clock seconds.
        kind: what to do (``irrigate``, ``stop_all``, …).
        target: what it applies to (a plot, site or point-name segment), or None.
        controller: the controller's name, when the centre names it explicitly.
        args: further keyword arguments (e.g. ``depth_mm``) as JSON values.
    """

    cmd_id: str
    issued_s: float
    kind: str
    target: str | None = None
    controller: str | None = None
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The node's answer to a command (the body of a ``cmd_result`` event)."""

    cmd_id: str
    result: str
    detail: str = ""
    controller: str | None = None

    def to_body(self) -> dict[str, Any]:
        """The event body: ``{"type": "cmd_result", ...}``."""
        return {
            "type": "cmd_result",
            "cmd_id": self.cmd_id,
            "result": self.result,
            "detail": self.detail,
            "controller": self.controller,
        }


# ------------------------------------------------------------------ encoding
def dumps(obj: Any) -> str:
    """Compact JSON text; raises ValueError on NaN/inf and TypeError on non-JSON values."""
    return json.dumps(obj, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def encode_batch(batch: Batch) -> bytes:
    """The UTF-8 JSON payload of ``batch``."""
    return dumps(
        {
            "v": PROTOCOL_VERSION,
            "type": "batch",
            "node": batch.node,
            "tx": batch.tx,
            "first_seq": batch.first_seq,
            "last_seq": batch.last_seq,
            "records": [r.to_json() for r in batch.records],
        }
    ).encode("utf-8")


def encode_ack(ack: Ack) -> bytes:
    """The UTF-8 JSON payload of ``ack``."""
    return dumps(
        {
            "v": PROTOCOL_VERSION,
            "type": "ack",
            "node": ack.node,
            "acked_seq": ack.acked_seq,
            "status": ack.status,
            "tx": ack.tx,
        }
    ).encode("utf-8")


def encode_command(cmd: Command) -> bytes:
    """The UTF-8 JSON payload of ``cmd``."""
    return dumps(
        {
            "v": PROTOCOL_VERSION,
            "type": "cmd",
            "cmd_id": cmd.cmd_id,
            "issued_s": cmd.issued_s,
            "kind": cmd.kind,
            "target": cmd.target,
            "controller": cmd.controller,
            "args": cmd.args,
        }
    ).encode("utf-8")


# ------------------------------------------------------------------ decoding
def _reject_constant(name: str) -> Any:
    raise ProtocolError(f"non-finite number {name} is not allowed")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ProtocolError(f"number {text[:30]} overflows a double")
    return value


def _load(payload: bytes | bytearray | str, kind: str) -> dict[str, Any]:
    if isinstance(payload, bytes | bytearray):
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise ProtocolError(
                f"{kind}: payload of {len(payload)} B exceeds {MAX_PAYLOAD_BYTES} B"
            )
        try:
            text = bytes(payload).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"{kind}: payload is not UTF-8 ({exc.reason})") from exc
    elif isinstance(payload, str):
        text = payload
    else:
        raise ProtocolError(f"{kind}: payload must be bytes, got {type(payload).__name__}")
    try:
        obj = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except ProtocolError as exc:
        raise ProtocolError(f"{kind}: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"{kind}: payload is not JSON ({exc})") from exc
    if not isinstance(obj, dict):
        raise ProtocolError(f"{kind}: expected a JSON object, got {type(obj).__name__}")
    if obj.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"{kind}: unsupported version v={obj.get('v')!r}; expected 1")
    if obj.get("type") != kind:
        raise ProtocolError(f"expected a {kind!r} message, got type={obj.get('type')!r}")
    return obj


def _int(obj: dict[str, Any], key: str, where: str, low: int = 0) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or value >= 2**63:
        raise ProtocolError(f"{where}: {key} must be an integer >= {low}, got {value!r}")
    return value


def _number(obj: dict[str, Any], key: str, where: str, optional: bool = False) -> float | None:
    value = obj.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f"{where}: {key} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ProtocolError(f"{where}: {key} must be finite, got {value!r}")
    return number


def _text(obj: dict[str, Any], key: str, where: str, optional: bool = False) -> str | None:
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > 256 or not value.isprintable():
        raise ProtocolError(f"{where}: {key} must be 1-256 printable characters, got {value!r}")
    return value


def _node(obj: dict[str, Any], where: str) -> str:
    try:
        return validate_node_id(obj.get("node"))
    except ValueError as exc:
        raise ProtocolError(f"{where}: {exc}") from exc


def decode_batch(payload: bytes | bytearray | str) -> Batch:
    """Parse and validate a batch payload; raises ProtocolError."""
    obj = _load(payload, "batch")
    node = _node(obj, "batch")
    first, last = _int(obj, "first_seq", "batch", 1), _int(obj, "last_seq", "batch", 1)
    tx = _int(obj, "tx", "batch")
    raw = obj.get("records")
    if not isinstance(raw, list) or not raw:
        raise ProtocolError("batch: records must be a non-empty list")
    if len(raw) > MAX_RECORDS:
        raise ProtocolError(f"batch: {len(raw)} records exceed {MAX_RECORDS}")
    if last - first + 1 != len(raw):
        raise ProtocolError(
            f"batch: first_seq {first}..last_seq {last} does not match {len(raw)} records"
        )
    records = []
    for i, rec in enumerate(raw):
        where = f"batch record {i}"
        if not isinstance(rec, dict):
            raise ProtocolError(f"{where}: expected an object, got {type(rec).__name__}")
        seq = _int(rec, "seq", where, 1)
        if seq != first + i:
            raise ProtocolError(f"{where}: seq {seq} breaks the run (expected {first + i})")
        kind = rec.get("kind")
        if kind not in RECORD_KINDS:
            raise ProtocolError(f"{where}: kind must be one of {RECORD_KINDS}, got {kind!r}")
        run_s = _number(rec, "run_s", where, optional=True)
        wall_s = _number(rec, "wall_s", where)
        body = rec.get("body")
        if not isinstance(body, dict):
            raise ProtocolError(f"{where}: body must be an object, got {type(body).__name__}")
        if kind == "event" and not isinstance(body.get("type"), str):
            raise ProtocolError(f"{where}: an event body needs a 'type' string")
        assert wall_s is not None
        records.append(Record(seq, kind, run_s, wall_s, body))
    return Batch(node, first, last, tuple(records), tx)


def decode_ack(payload: bytes | bytearray | str) -> Ack:
    """Parse and validate an ack payload; raises ProtocolError."""
    obj = _load(payload, "ack")
    node = _node(obj, "ack")
    acked = _int(obj, "acked_seq", "ack")
    status = obj.get("status")
    if status not in ACK_STATUSES:
        raise ProtocolError(f"ack: status must be one of {ACK_STATUSES}, got {status!r}")
    tx = None if obj.get("tx") is None else _int(obj, "tx", "ack")
    return Ack(node, acked, status, tx)


def decode_command(payload: bytes | bytearray | str) -> Command:
    """Parse and validate a command payload; raises ProtocolError."""
    obj = _load(payload, "cmd")
    cmd_id = _text(obj, "cmd_id", "cmd")
    assert cmd_id is not None
    if len(cmd_id) > 128:
        raise ProtocolError(f"cmd: cmd_id longer than 128 characters ({len(cmd_id)})")
    where = f"cmd {cmd_id}"
    issued = _number(obj, "issued_s", where)
    assert issued is not None
    kind = obj.get("kind")
    if not isinstance(kind, str) or not _KIND_RE.match(kind):
        raise ProtocolError(f"{where}: kind must be a short word like 'irrigate', got {kind!r}")
    target = _text(obj, "target", where, optional=True)
    controller = _text(obj, "controller", where, optional=True)
    args = obj.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ProtocolError(f"{where}: args must be an object, got {type(args).__name__}")
    for key in args:
        if not key.isidentifier() or keyword.iskeyword(key) or key in _RESERVED_ARGS:
            raise ProtocolError(f"{where}: argument name {key!r} is not allowed")
    return Command(cmd_id, issued, kind, target, controller, dict(args))


def parse_command_result(body: dict[str, Any]) -> CommandResult | None:
    """The CommandResult in an event body, or None if the body is not a ``cmd_result``."""
    if body.get("type") != "cmd_result":
        return None
    cmd_id, result = body.get("cmd_id"), body.get("result")
    if not isinstance(cmd_id, str) or not isinstance(result, str):
        return None
    detail = body.get("detail")
    controller = body.get("controller")
    return CommandResult(
        cmd_id,
        result,
        detail if isinstance(detail, str) else "",
        controller if isinstance(controller, str) else None,
    )
