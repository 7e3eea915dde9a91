"""The ZeroMQ bridge's wire format: msgpack frames, version 2.

Every frame is one ZeroMQ message part holding one msgpack map with ``v`` (the
version, 2) and ``type``. Times: ``wall_s`` is the sender's Unix time (s);
``now`` and a sample's source time are run-clock seconds.

Telemetry channel (field PUB → controller SUB, no topic filter)
---------------------------------------------------------------
tel   ``{v, type:"tel", sid, seq, wall_s, now, k, samples}`` (``samples``: see below);
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

Samples travel as columns, ``[names, values, quality, source_time]``, all of
the same length n (sample i is ``names[i]``, ``values[i]``, …):

names        array of n point names (text, each name once)
values       array of n values (nil, a boolean, an integer, a float or text), or,
             when every value is a float, bin of n little-endian float64
quality      bin of n bytes: 0 (good), 1 (uncertain) or 2 (bad)
source_time  bin of n little-endian float64: run-clock times (s), ±inf
             allowed, never NaN

A sample without a value, or whose value is NaN or ±inf, travels and decodes
as value nil with quality 2 (BAD). Columns keep a frame of a thousand samples
to one msgpack object per sample (its name), and the receiving side builds a
sample only when it is read (:class:`PackedSamples`). Version 1 carried
samples as a map ``{name: [value, quality, source_time]}``; this side speaks
version 2 only.

Decoding is strict: unknown types or keys, missing keys, wrong types and
frames over :data:`MAX_FRAME_BYTES` raise :class:`FrameError` and nothing
else; receivers count it (``stats['malformed']``) and carry on.
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from collections import Counter
from collections.abc import ItemsView, Iterator, Mapping, Sequence, ValuesView
from dataclasses import dataclass
from itertools import repeat
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
    "PackedSamples",
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

VERSION = 2
MAX_FRAME_BYTES = 16 * 1024 * 1024
MAX_ID_CHARS = 128
ACK_STATUSES = ("ok", "duplicate", "rejected")


class FrameError(ValueError):
    """A frame that does not follow the wire format (what is wrong, where)."""


class PackedSamples(Mapping[str, Sample]):
    """Samples kept as the columns they travel in; a read-only ``Mapping[str, Sample]``.

    A :class:`~controllers.io.Sample` is built only when a point is read, so a
    frame of a thousand samples costs a handful of objects until then. A
    reader that goes through many points (more than :attr:`LAZY_READS`), or
    asks for ``items()``/``values()``, gets them all made at once into a dict
    (at C speed) and served from it. The columns are shared, never copied:
    whoever builds a ``PackedSamples`` hands them over and must not change
    them afterwards.

    Args:
        names: point names, each once, in order.
        values: the value of each point (None for a BAD sample without one);
            kept as :attr:`point_values`.
        quality: one byte per point: 0 (GOOD), 1 (UNCERTAIN) or 2 (BAD).
        times: the source time (run-clock s) of each point.
        index: ``name → position`` when the caller has it already (it must
            match ``names``); built on first use otherwise.
    """

    LAZY_READS = 32  # reads served one by one before all samples are made at once

    __slots__ = ("_dict", "_index", "_reads", "names", "point_values", "quality", "times")

    def __init__(
        self,
        names: Sequence[str],
        values: Sequence[Any],
        quality: bytes,
        times: Sequence[float],
        index: Mapping[str, int] | None = None,
    ) -> None:
        self.names = names
        self.point_values = values
        self.quality = quality
        self.times = times
        self._index = index
        self._dict: dict[str, Sample] | None = None
        self._reads = 0

    @property
    def index(self) -> Mapping[str, int]:
        """Position of each name in the columns."""
        index = self._index
        if index is None:
            index = self._index = dict(zip(self.names, range(len(self.names)), strict=True))
        return index

    def as_dict(self) -> dict[str, Sample]:
        """Every sample, by name, in order (made once; do not change the dict)."""
        samples = self._dict
        if samples is None:
            made = map(
                _new_tuple,
                repeat(Sample),
                zip(
                    self.point_values,
                    map(_QUALITIES.__getitem__, self.quality),
                    self.times,
                    strict=True,
                ),
            )
            samples = self._dict = dict(zip(self.names, made, strict=True))
        return samples

    def get(self, name: str, default: Any = None) -> Any:
        """The sample of ``name``, or ``default`` if there is none (as ``dict.get``)."""
        samples = self._dict
        if samples is None:
            self._reads += 1
            if self._reads <= self.LAZY_READS:
                i = self.index.get(name)
                if i is None:
                    return default
                return _new_tuple(
                    Sample, (self.point_values[i], _QUALITIES[self.quality[i]], self.times[i])
                )
            samples = self.as_dict()
        return samples.get(name, default)

    def __getitem__(self, name: str) -> Sample:
        sample = self.get(name, _MISSING)
        if sample is _MISSING:
            raise KeyError(name)
        return sample

    def __contains__(self, name: object) -> bool:
        return name in self.index

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def items(self) -> ItemsView[str, Sample]:
        """(name, sample) pairs, in order."""
        return self.as_dict().items()

    def values(self) -> ValuesView[Sample]:
        """The samples, in order."""
        return self.as_dict().values()

    def __repr__(self) -> str:
        return f"PackedSamples({self.as_dict()!r})"


_MISSING = object()


@dataclass(frozen=True, slots=True)
class Telemetry:
    """Sensor samples published by the field side (one frame per publish or step).

    Attributes:
        sid: the field session (new each time the field starts).
        seq: frame number within the session, 1, 2, …
        wall_s: sender's Unix time (s).
        now: run time (s) of the samples.
        k: lock-step step number, or None in real time.
        samples: by point name (decoded frames carry :class:`PackedSamples`).
    """

    sid: str
    seq: int
    wall_s: float
    now: float
    k: int | None
    samples: Mapping[str, Sample]


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
    samples: Mapping[str, Sample]


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
_QUALITY_BYTES = bytes(_QUALITY_INT.values())  # the valid quality bytes: 0, 1 and 2
_new_tuple = tuple.__new__  # builds a Sample without the NamedTuple's Python-level __new__
_FINITE_LOW, _FINITE_HIGH = -math.inf, math.inf
_SCALARS = (bool, int, float, str)
# type sets for the column checks: ``_FLOATS.issuperset(map(type, column))`` checks a
# thousand entries at C speed (exact types, so no bool, float subclass or Quality-like int)
_FLOATS = frozenset({float})
_TEXTS = frozenset({str})
_SAMPLES = frozenset({Sample})
_QUALITY_TYPES = frozenset({Quality})
_BIG_ENDIAN = sys.byteorder == "big"  # float64 columns travel little-endian


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


def _columns(samples: Mapping[str, Sample]) -> list[Any]:
    """``[names, values, quality, source_time]`` of ``samples`` (see the module docstring).

    The common frame (every sample a :class:`~controllers.io.Sample` with a
    finite float value, a :class:`~controllers.io.Quality` and a float time)
    is checked column by column at C speed and its values travel as float64;
    anything else goes sample by sample through :func:`encode_sample`.
    """
    names = list(samples)
    rows = list(samples.values())
    try:
        "".join(names)  # TypeError unless every name is text
        plain = _SAMPLES.issuperset(map(type, rows))
    except TypeError:
        plain = False
    if plain and rows:
        values, quality, times = zip(*rows, strict=True)
        # a float sum is finite only if every term is, and NaN if any term is NaN
        if (
            _QUALITY_TYPES.issuperset(map(type, quality))
            and _FLOATS.issuperset(map(type, times))
            and not math.isnan(sum(times))
            and _FLOATS.issuperset(map(type, values))
            and math.isfinite(sum(values))
        ):
            return [names, _float64(values), bytes(quality), _float64(times)]
    out_values: list[Any] = []
    out_quality = bytearray()
    out_times: list[float] = []
    for name, sample in zip(names, rows, strict=True):
        if not isinstance(name, str):
            raise FrameError(f"point names must be text, got {name!r}")
        value, q, source_time = encode_sample(name, sample)
        out_values.append(value)
        out_quality.append(q)
        out_times.append(source_time)
    return [names, out_values, bytes(out_quality), _float64(out_times)]


def _float64(numbers: Sequence[float]) -> bytes:
    """``numbers`` (int or float) as little-endian float64, 8 bytes each."""
    return struct.pack(f"<{len(numbers)}d", *numbers)


def _from_float64(data: bytes, what: str, n: int) -> array[float]:
    """The n floats of a little-endian float64 bin; FrameError naming ``what`` otherwise."""
    if len(data) != 8 * n:
        raise FrameError(f"samples: {what} must be {n} float64 (8 bytes each), got {len(data)} B")
    column = array("d")
    column.frombytes(data)
    if _BIG_ENDIAN:
        column.byteswap()
    return column


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
            samples=_columns(frame.samples),
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
            samples=_columns(frame.samples),
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


def _samples(raw: Any) -> PackedSamples:
    """The checked columns of a frame's ``samples`` (see the module docstring)."""
    if type(raw) is not list or len(raw) != 4:
        raise FrameError(
            f"samples must be [names, values, quality, source_time], got {type(raw).__name__}"
            + (f" of {len(raw)}" if isinstance(raw, list) else "")
        )
    names, values, quality, times = raw
    if type(names) is not list:
        raise FrameError(f"samples: names must be an array, got {type(names).__name__}")
    n = len(names)
    if type(quality) is not bytes or len(quality) != n:
        raise FrameError(f"samples: quality must be bin of {n} bytes, got {quality!r:.60}")
    if type(times) is not bytes:
        raise FrameError(f"samples: source_time must be bin (float64), got {type(times).__name__}")
    if type(values) is bytes:
        values = _from_float64(values, "values", n)
    elif type(values) is not list or len(values) != n:
        raise FrameError(
            f"samples: values must be an array of {n} or float64 bin, got {values!r:.60}"
        )
    try:
        "".join(names)  # TypeError unless every name is text
    except TypeError:
        bad = next(name for name in names if type(name) is not str)
        raise FrameError(f"sample names must be text, got {bad!r}") from None
    if not all(names):
        raise FrameError("sample names must be text, got ''")
    if len(set(names)) != n:
        twice = sorted(name for name, count in Counter(names).items() if count > 1)
        raise FrameError(f"samples: points listed twice: {twice}")
    if quality.translate(None, _QUALITY_BYTES):  # a byte other than 0, 1, 2 is left
        i = next(i for i, q in enumerate(quality) if q > 2)
        raise FrameError(f"{names[i]}: quality must be 0, 1 or 2, got {quality[i]}")
    source_times = _from_float64(times, "source_time", n)
    if math.isnan(sum(source_times)):  # NaN if a time is NaN (or both +inf and -inf occur)
        for name, t in zip(names, source_times, strict=True):
            if t != t:
                raise FrameError(f"{name}: source time is NaN")
    # a float sum is finite only if every term is a finite number
    if not (type(values) is array or _FLOATS.issuperset(map(type, values))) or not math.isfinite(
        sum(values)
    ):
        values, quality = _values(names, list(values), quality)
    return PackedSamples(names, values, quality, source_times)


def _values(names: list[str], values: list[Any], quality: bytes) -> tuple[list[Any], bytes]:
    """Values checked one by one: no value, NaN or ±inf → nil and BAD."""
    out = list(values)
    out_quality = bytearray(quality)
    bad = _QUALITY_INT[Quality.BAD]
    for i, value in enumerate(values):
        if value is None or (type(value) is float and not math.isfinite(value)):
            out[i] = None
            out_quality[i] = bad
        elif not isinstance(value, _SCALARS):
            raise FrameError(f"{names[i]}: value of type {type(value).__name__} is not allowed")
    return out, bytes(out_quality)


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
