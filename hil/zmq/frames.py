"""The ZeroMQ bridge's wire format: msgpack frames, version 1.

Every frame is one ZeroMQ message part holding one msgpack map with ``v`` (the
version, 1) and ``type``. Times: ``wall_s`` is the sender's Unix time (s);
``now`` and a sample's source time are run-clock seconds.

Telemetry channel (field PUB → controller SUB, no topic filter)
---------------------------------------------------------------
tel   ``{v, type:"tel", sid, seq, wall_s, now, k, samples:{name:[value, quality, source_time]}}``
      one frame per publish (real time) or per lock-step step (``k`` = step
      number, else nil). ``seq`` counts frames 1, 2, … within a field session
      ``sid`` (a fresh id every time the field starts), so a receiver detects
      every lost frame from a gap and every duplicate from a repeat.
hb    ``{v, type:"hb", sid, seq, wall_s}``: heartbeat when idle and on every
      ``ping``; ``seq`` is the last telemetry ``seq`` sent, so a lost last
      frame is detected too.
end   ``{v, type:"end", sid, seq, wall_s}``: the field side stops (a clean end).

Request channel (controller REQ/DEALER → field ROUTER, one reply per request)
-----------------------------------------------------------------------------
ping   ``{v, type:"ping", id}`` → ``{v, type:"pong", id, sid, seq}``; the field
       also publishes a heartbeat, which tells a joining subscriber that its
       subscription is live.
snap?  ``{v, type:"snap?", id}`` → ``{v, type:"snap", id, sid, seq, wall_s, now, k,
       samples}``: every current sample and the telemetry ``seq`` the state is
       consistent with (``now`` nil before the first publish); ``k`` is the
       lock-step step the field is waiting for, else nil.
write  ``{v, type:"write", id, k, outputs:{name: value}}`` → ``{v, type:"ack", id,
       status, error, points}``. ``status``: ``ok`` (applied), ``duplicate``
       (this ``id`` was applied before: acked, not applied again) or
       ``rejected`` (nothing applied; ``error`` says why and ``points`` names
       the offending points). ``k``: the lock-step step, nil in real time.
(any)  an undecodable request → ``{v, type:"err", id (nil if unknown), error}``.

Samples: ``value`` is nil, a boolean, an integer, a float or text; ``quality``
is 0 (good), 1 (uncertain) or 2 (bad). A sample without a value, or whose value
is NaN or ±inf, travels and decodes as ``[nil, 2, source_time]`` (BAD).

Decoding is strict: unknown types or keys, missing keys, wrong types and
frames over :data:`MAX_FRAME_BYTES` raise :class:`FrameError` and nothing
else; receivers count it (``stats['malformed']``) and carry on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgpack

from controllers.io import Quality, Sample

__all__ = [
    "ACK_STATUSES",
    "MAX_FRAME_BYTES",
    "MAX_ID_CHARS",
    "PUB_TYPES",
    "REPLY_TYPES",
    "REQUEST_TYPES",
    "VERSION",
    "Ack",
    "End",
    "ErrorReply",
    "Frame",
    "FrameError",
    "Heartbeat",
    "Ping",
    "Pong",
    "Snapshot",
    "SnapshotRequest",
    "Telemetry",
    "Write",
    "decode",
    "encode",
    "encode_sample",
]

VERSION = 1
MAX_FRAME_BYTES = 16 * 1024 * 1024
MAX_ID_CHARS = 128
ACK_STATUSES = ("ok", "duplicate", "rejected")


class FrameError(ValueError):
    """A frame that does not follow the wire format (what is wrong, where)."""


@dataclass(frozen=True, slots=True)
class Telemetry:
    """Sensor samples published by the field side (one frame per publish or step).

    Attributes:
        sid: the field session (new each time the field starts).
        seq: frame number within the session, 1, 2, …
        wall_s: sender's Unix time (s).
        now: run time (s) of the samples.
        k: lock-step step number, or None in real time.
        samples: by point name.
    """

    sid: str
    seq: int
    wall_s: float
    now: float
    k: int | None
    samples: dict[str, Sample]


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Idle heartbeat; ``seq`` is the last telemetry frame sent in session ``sid``."""

    sid: str
    seq: int
    wall_s: float


@dataclass(frozen=True, slots=True)
class End:
    """The field side of session ``sid`` stops after telemetry frame ``seq``."""

    sid: str
    seq: int
    wall_s: float


@dataclass(frozen=True, slots=True)
class Ping:
    """Liveness request; the field answers :class:`Pong` and publishes a heartbeat."""

    id: str


@dataclass(frozen=True, slots=True)
class Pong:
    """Answer to :class:`Ping`: the field's session and last telemetry ``seq``."""

    id: str
    sid: str
    seq: int


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    """Ask for every current sample."""

    id: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every current sample, consistent with telemetry frame ``seq`` of session ``sid``.

    Attributes:
        now: run time (s) of the last publish, None before the first.
        k: the lock-step step the field is waiting for (its outputs not yet
            written), else None.
    """

    id: str
    sid: str
    seq: int
    wall_s: float
    now: float | None
    k: int | None
    samples: dict[str, Sample]


@dataclass(frozen=True, slots=True)
class Write:
    """Actuator values from the controller side; ``k`` = lock-step step, None in real time.

    ``id`` makes retries idempotent: the field applies each id at most once.
    """

    id: str
    k: int | None
    outputs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Ack:
    """Answer to :class:`Write`: ``status`` in :data:`ACK_STATUSES`.

    Attributes:
        error: why a write was rejected ("" otherwise).
        points: the offending point names of a rejected write.
    """

    id: str
    status: str
    error: str = ""
    points: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """Answer to an undecodable request; ``id`` when it could be read."""

    id: str | None
    error: str


Frame = (
    Telemetry
    | Heartbeat
    | End
    | Ping
    | Pong
    | SnapshotRequest
    | Snapshot
    | Write
    | Ack
    | ErrorReply
)

_TYPE_OF: dict[type, str] = {
    Telemetry: "tel",
    Heartbeat: "hb",
    End: "end",
    Ping: "ping",
    Pong: "pong",
    SnapshotRequest: "snap?",
    Snapshot: "snap",
    Write: "write",
    Ack: "ack",
    ErrorReply: "err",
}
PUB_TYPES: tuple[type, ...] = (Telemetry, Heartbeat, End)
REQUEST_TYPES: tuple[type, ...] = (Ping, SnapshotRequest, Write)
REPLY_TYPES: tuple[type, ...] = (Pong, Snapshot, Ack, ErrorReply)
_QUALITIES = (Quality.GOOD, Quality.UNCERTAIN, Quality.BAD)
_QUALITY_INT = {q: int(q) for q in _QUALITIES}
_new_tuple = tuple.__new__  # builds a Sample without the NamedTuple's Python-level __new__
_FINITE_LOW, _FINITE_HIGH = -math.inf, math.inf
_SCALARS = (bool, int, float, str)


# --------------------------------------------------------------------- encoding


def encode_sample(name: str, sample: Sample) -> list[Any]:
    """``[value, quality, source_time]`` of ``sample``; no value or non-finite → BAD, nil.

    Raises FrameError naming the point for a value that is not nil, a
    boolean, a number or text, or a source time that is NaN.
    """
    if type(sample) is Sample:  # fast path: the common finite float, float time, Quality
        value, quality, source_time = sample
        if (
            type(value) is float
            and type(source_time) is float
            and type(quality) is Quality
            and _FINITE_LOW < value < _FINITE_HIGH
            and source_time == source_time
        ):
            return [value, _QUALITY_INT[quality], source_time]
    if not isinstance(sample, Sample):
        raise FrameError(f"{name}: expected a Sample, got {type(sample).__name__}")
    value, quality, source_time = sample
    if isinstance(source_time, bool) or not isinstance(source_time, int | float):
        raise FrameError(f"{name}: source time must be a number (s), got {source_time!r}")
    if source_time != source_time:
        raise FrameError(f"{name}: source time is NaN")
    if value is None or (type(value) is float and not math.isfinite(value)):
        return [None, int(Quality.BAD), float(source_time)]
    if not isinstance(value, _SCALARS):
        raise FrameError(
            f"{name}: value {value!r} ({type(value).__name__}) cannot travel; "
            "use None, bool, int, float or str"
        )
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        raise FrameError(f"{name}: integer {value} does not fit 64 bits")
    if isinstance(value, float):
        value = float(value)  # a float subclass (e.g. numpy.float64) → plain float
    return [value, int(_quality(name, quality)), float(source_time)]


def _quality(name: str, quality: Any) -> Quality:
    if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 2:
        raise FrameError(f"{name}: quality must be 0, 1 or 2 (Quality), got {quality!r}")
    return _QUALITIES[quality]


def _encode_samples(samples: Mapping[str, Sample]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, sample in samples.items():
        if not isinstance(name, str):
            raise FrameError(f"point names must be text, got {name!r}")
        out[name] = encode_sample(name, sample)
    return out


def encode(frame: Frame) -> bytes:
    """The msgpack bytes of ``frame``; FrameError for a value that cannot travel."""
    kind = _TYPE_OF.get(type(frame))
    if kind is None:
        raise FrameError(f"not a frame: {type(frame).__name__}")
    body: dict[str, Any] = {"v": VERSION, "type": kind}
    if isinstance(frame, Telemetry):
        body.update(
            sid=frame.sid,
            seq=frame.seq,
            wall_s=frame.wall_s,
            now=frame.now,
            k=frame.k,
            samples=_encode_samples(frame.samples),
        )
    elif isinstance(frame, Heartbeat | End):
        body.update(sid=frame.sid, seq=frame.seq, wall_s=frame.wall_s)
    elif isinstance(frame, Ping | SnapshotRequest):
        body.update(id=frame.id)
    elif isinstance(frame, Pong):
        body.update(id=frame.id, sid=frame.sid, seq=frame.seq)
    elif isinstance(frame, Snapshot):
        body.update(
            id=frame.id,
            sid=frame.sid,
            seq=frame.seq,
            wall_s=frame.wall_s,
            now=frame.now,
            k=frame.k,
            samples=_encode_samples(frame.samples),
        )
    elif isinstance(frame, Write):
        for name, value in frame.outputs.items():
            if not isinstance(name, str):
                raise FrameError(f"point names must be text, got {name!r}")
            if value is not None and not isinstance(value, _SCALARS):
                raise FrameError(
                    f"{name}: output {value!r} ({type(value).__name__}) cannot travel; "
                    "use bool, int, float or str"
                )
        body.update(id=frame.id, k=frame.k, outputs=dict(frame.outputs))
    elif isinstance(frame, Ack):
        body.update(id=frame.id, status=frame.status, error=frame.error, points=list(frame.points))
    else:
        body.update(id=frame.id, error=frame.error)
    try:
        data: bytes = msgpack.packb(body, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as err:
        raise FrameError(f"cannot encode {kind} frame: {err}") from err
    if len(data) > MAX_FRAME_BYTES:
        raise FrameError(f"{kind} frame of {len(data)} B exceeds {MAX_FRAME_BYTES} B")
    return data


# --------------------------------------------------------------------- decoding

_KEYS: dict[str, frozenset[str]] = {
    "tel": frozenset({"sid", "seq", "wall_s", "now", "k", "samples"}),
    "hb": frozenset({"sid", "seq", "wall_s"}),
    "end": frozenset({"sid", "seq", "wall_s"}),
    "ping": frozenset({"id"}),
    "pong": frozenset({"id", "sid", "seq"}),
    "snap?": frozenset({"id"}),
    "snap": frozenset({"id", "sid", "seq", "wall_s", "now", "k", "samples"}),
    "write": frozenset({"id", "k", "outputs"}),
    "ack": frozenset({"id", "status", "error", "points"}),
    "err": frozenset({"id", "error"}),
}


def _text(body: Mapping[str, Any], key: str, limit: int = MAX_ID_CHARS) -> str:
    value = body[key]
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise FrameError(f"{key} must be text of 1-{limit} characters, got {value!r}")
    return value


def _count(body: Mapping[str, Any], key: str, *, optional: bool = False) -> int | None:
    value = body[key]
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FrameError(f"{key} must be an integer >= 0, got {value!r}")
    return value


def _seq(body: Mapping[str, Any]) -> int:
    value = _count(body, "seq")
    assert value is not None
    return value


def _time(body: Mapping[str, Any], key: str, *, optional: bool = False) -> float | None:
    value = body[key]
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FrameError(f"{key} must be a finite time in s, got {value!r}")
    return float(value)


def _wall(body: Mapping[str, Any]) -> float:
    value = _time(body, "wall_s")
    assert value is not None
    return value


def _samples(raw: Any) -> dict[str, Sample]:
    if not isinstance(raw, dict):
        raise FrameError(f"samples must be a map, got {type(raw).__name__}")
    out: dict[str, Sample] = {}
    bad = Quality.BAD
    good = Quality.GOOD
    for name, item in raw.items():
        # fast path: a GOOD finite float with a float time (what plants publish);
        # ``v - v == 0.0`` is False for inf and NaN
        if type(item) is list and len(item) == 3 and type(name) is str and name:
            v, q, t = item
            if (
                type(v) is float
                and type(t) is float
                and type(q) is int
                and q == 0
                and v - v == 0.0
                and t == t
            ):
                out[name] = _new_tuple(Sample, (v, good, t))
                continue
        if not isinstance(name, str) or not name:
            raise FrameError(f"sample names must be text, got {name!r}")
        if not isinstance(item, list) or len(item) != 3:
            raise FrameError(f"{name}: a sample is [value, quality, source_time], got {item!r}")
        value, quality, source_time = item
        if isinstance(source_time, bool) or not isinstance(source_time, int | float):
            raise FrameError(f"{name}: source time must be a number, got {source_time!r}")
        if source_time != source_time:
            raise FrameError(f"{name}: source time is NaN")
        q = _quality(name, quality)
        if value is None or (type(value) is float and not math.isfinite(value)):
            out[name] = Sample(None, bad, float(source_time))
        elif isinstance(value, _SCALARS):
            out[name] = Sample(value, q, float(source_time))
        else:
            raise FrameError(f"{name}: value of type {type(value).__name__} is not allowed")
    return out


def _outputs(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise FrameError(f"outputs must be a map, got {type(raw).__name__}")
    for name, value in raw.items():
        if not isinstance(name, str) or not name:
            raise FrameError(f"output names must be text, got {name!r}")
        if value is not None and not isinstance(value, _SCALARS):
            raise FrameError(f"{name}: output of type {type(value).__name__} is not allowed")
    return dict(raw)


def _build(kind: str, body: Mapping[str, Any]) -> Frame:
    if kind == "tel":
        now = _time(body, "now")
        assert now is not None
        return Telemetry(
            _text(body, "sid"),
            _seq(body),
            _wall(body),
            now,
            _count(body, "k", optional=True),
            _samples(body["samples"]),
        )
    if kind == "hb":
        return Heartbeat(_text(body, "sid"), _seq(body), _wall(body))
    if kind == "end":
        return End(_text(body, "sid"), _seq(body), _wall(body))
    if kind == "ping":
        return Ping(_text(body, "id"))
    if kind == "pong":
        return Pong(_text(body, "id"), _text(body, "sid"), _seq(body))
    if kind == "snap?":
        return SnapshotRequest(_text(body, "id"))
    if kind == "snap":
        return Snapshot(
            _text(body, "id"),
            _text(body, "sid"),
            _seq(body),
            _wall(body),
            _time(body, "now", optional=True),
            _count(body, "k", optional=True),
            _samples(body["samples"]),
        )
    if kind == "write":
        return Write(_text(body, "id"), _count(body, "k", optional=True), _outputs(body["outputs"]))
    if kind == "ack":
        status = body["status"]
        if status not in ACK_STATUSES:
            raise FrameError(f"status must be one of {ACK_STATUSES}, got {status!r}")
        error, points = body["error"], body["points"]
        if not isinstance(error, str):
            raise FrameError(f"error must be text, got {error!r}")
        if not isinstance(points, list) or not all(isinstance(p, str) for p in points):
            raise FrameError(f"points must be a list of names, got {points!r}")
        return Ack(_text(body, "id"), status, error, tuple(points))
    # kind == "err"
    error = body["error"]
    if not isinstance(error, str):
        raise FrameError(f"error must be text, got {error!r}")
    return ErrorReply(None if body["id"] is None else _text(body, "id"), error)


def decode(data: bytes, allowed: tuple[type, ...] | None = None) -> Frame:
    """The frame in ``data``; FrameError (only) if it is malformed or not of an ``allowed`` type.

    Args:
        data: one ZeroMQ message part.
        allowed: frame classes accepted here (e.g. :data:`PUB_TYPES`); None = any.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FrameError(f"a frame is bytes, got {type(data).__name__}")
    if len(data) > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {len(data)} B exceeds {MAX_FRAME_BYTES} B")
    try:
        body = msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)
    except Exception as err:  # msgpack raises many types (ExtraData, ValueError, …)
        raise FrameError(f"not a msgpack frame: {type(err).__name__}: {err}") from None
    if not isinstance(body, dict):
        raise FrameError(f"a frame is a msgpack map, got {type(body).__name__}")
    version = body.get("v")
    if version != VERSION or isinstance(version, bool):
        raise FrameError(f"unsupported frame version {version!r} (this side speaks {VERSION})")
    kind = body.get("type")
    if not isinstance(kind, str) or kind not in _KEYS:
        raise FrameError(f"unknown frame type {kind!r}; expected one of {sorted(_KEYS)}")
    keys = _KEYS[kind]
    present = set(body) - {"v", "type"}
    if present != keys:
        missing, extra = sorted(keys - present), sorted(present - keys)
        raise FrameError(f"{kind} frame: missing keys {missing}, unknown keys {extra}")
    try:
        frame = _build(kind, body)
    except FrameError as err:
        raise FrameError(f"{kind} frame: {err}") from None
    except Exception as err:  # defensive: a decoder must never crash its caller
        raise FrameError(f"{kind} frame: {type(err).__name__}: {err}") from None
    if allowed is not None and not isinstance(frame, allowed):
        names = sorted(_TYPE_OF[t] for t in allowed)
        raise FrameError(f"{kind} frame not expected here (expected {names})")
    return frame
