"""The ZeroMQ bridge's wire format: round trips, NaN/inf as BAD, strict decoding."""

from __future__ import annotations

import contextlib
import math
import struct
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.io import Quality, Sample
from hil.zmq.frames import (
    MAX_FRAME_BYTES,
    PUB_TYPES,
    REQUEST_TYPES,
    Ack,
    End,
    ErrorReply,
    Frame,
    FrameError,
    Heartbeat,
    PackedSamples,
    Ping,
    Pong,
    Snapshot,
    SnapshotRequest,
    Telemetry,
    Write,
    decode,
    encode,
)

SAMPLES = {
    "fake/T1/level_m": Sample(2.5, Quality.GOOD, 10.0),
    "fake/T1/count": Sample(7, Quality.UNCERTAIN, 9.5),
    "fake/T1/open": Sample(True, Quality.GOOD, 10.0),
    "fake/T1/state": Sample("GrGr", Quality.GOOD, 10.0),
    "fake/T1/failed": Sample(None, Quality.BAD, -math.inf),
}

FRAMES: list[Frame] = [
    Telemetry("s1", 1, 1.7e9, 10.0, None, SAMPLES),
    Telemetry("s1", 2, 1.7e9, 10.5, 21, {}),
    Heartbeat("s1", 2, 1.7e9),
    End("s1", 2, 1.7e9),
    Ping("p-1"),
    Pong("p-1", "s1", 2),
    SnapshotRequest("q-1"),
    Snapshot("q-1", "s1", 2, 1.7e9, 10.5, 21, SAMPLES),
    Snapshot("q-2", "s1", 0, 1.7e9, None, None, {}),
    Write("w-1", None, {"fake/T1/pump_pct": 40.0, "fake/T1/alarm": False, "fake/T1/stage": 2}),
    Write("w-2", 3, {}),
    Ack("w-1", "ok"),
    Ack("w-2", "rejected", "fake/T1/pump_pct: 150.0 outside [0, 100]", ("fake/T1/pump_pct",)),
    Ack("w-1", "duplicate"),
    ErrorReply(None, "not a msgpack frame"),
    ErrorReply("w-9", "bad"),
]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: type(f).__name__)
def test_every_frame_type_round_trips(frame: Frame) -> None:
    assert decode(encode(frame)) == frame


def test_value_types_survive_exactly() -> None:
    got = decode(encode(Telemetry("s", 1, 0.0, 0.0, None, SAMPLES)))
    assert isinstance(got, Telemetry)
    for name, sample in SAMPLES.items():
        assert got.samples[name] == sample
        assert type(got.samples[name].value) is type(sample.value)
        assert got.samples[name].quality is sample.quality


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, None])
def test_nan_inf_and_missing_values_travel_as_bad(value: Any) -> None:
    frame = Telemetry("s", 1, 0.0, 3.0, None, {"fake/T1/x": Sample(value, Quality.GOOD, 3.0)})
    got = decode(encode(frame))
    assert isinstance(got, Telemetry)
    assert got.samples["fake/T1/x"] == Sample(None, Quality.BAD, 3.0)


def _f64(*numbers: float) -> bytes:
    return struct.pack(f"<{len(numbers)}d", *numbers)


@pytest.mark.parametrize("values", [[math.nan, math.inf], _f64(math.nan, -math.inf)])
def test_a_nan_sent_by_another_encoder_decodes_as_bad(values: Any) -> None:
    body = {
        "v": 2,
        "type": "tel",
        "sid": "s",
        "seq": 1,
        "wall_s": 0.0,
        "now": 0.0,
        "k": None,
        "samples": [["fake/T1/x", "fake/T1/y"], values, b"\x00\x01", _f64(0.0, 0.0)],
    }
    got = decode(msgpack.packb(body, use_bin_type=True))
    assert isinstance(got, Telemetry)
    assert all(s == Sample(None, Quality.BAD, 0.0) for s in got.samples.values())


def test_a_thousand_float_samples_travel_exactly_as_columns() -> None:
    samples = {
        f"fake/D{i // 50:02d}/p{i:04d}": Sample(i * 0.1 - 7.3, Quality(i % 3), i * 1e-3)
        for i in range(1000)
    }
    data = encode(Telemetry("s", 1, 0.0, 1.0, 4, samples))
    body = msgpack.unpackb(data)
    names, values, quality, times = body["samples"]
    assert names == list(samples) and isinstance(values, bytes) and len(values) == 8000
    assert quality == bytes(i % 3 for i in range(1000)) and times == _f64(
        *(i * 1e-3 for i in range(1000))
    )
    got = decode(data)
    assert isinstance(got, Telemetry) and isinstance(got.samples, PackedSamples)
    assert got.samples == samples and list(got.samples) == list(samples)
    for name, sample in samples.items():
        assert got.samples[name] == sample and type(got.samples[name].value) is float
        assert got.samples[name].quality is sample.quality


def test_a_mixed_frame_keeps_every_value_type_and_order() -> None:
    samples = {
        "fake/T1/a": Sample(1.5, Quality.GOOD, 1.0),
        "fake/T1/b": Sample(3, Quality.GOOD, 2),  # an integer time travels as a float
        "fake/T1/c": Sample(2.5, Quality.UNCERTAIN, -math.inf),
        "fake/T1/d": Sample(math.inf, Quality.GOOD, 1.0),
    }
    got = decode(encode(Snapshot("q", "s", 3, 0.0, 1.0, None, samples)))
    assert isinstance(got, Snapshot)
    assert list(got.samples.items()) == [
        ("fake/T1/a", Sample(1.5, Quality.GOOD, 1.0)),
        ("fake/T1/b", Sample(3, Quality.GOOD, 2.0)),
        ("fake/T1/c", Sample(2.5, Quality.UNCERTAIN, -math.inf)),
        ("fake/T1/d", Sample(None, Quality.BAD, 1.0)),
    ]
    assert type(got.samples["fake/T1/b"].value) is int
    assert type(got.samples["fake/T1/b"].source_time) is float


def test_packed_samples_read_one_by_one_or_all_at_once_alike() -> None:
    names = [f"fake/D/p{i:03d}" for i in range(3 * PackedSamples.LAZY_READS)]
    expected = {n: Sample(i * 0.5, Quality(i % 3), float(i)) for i, n in enumerate(names)}

    def packed() -> PackedSamples:
        quality = bytes(i % 3 for i in range(len(names)))
        times = [s.source_time for s in expected.values()]
        return PackedSamples(names, [s.value for s in expected.values()], quality, times)

    one_by_one = packed()
    assert {n: one_by_one.get(n) for n in names} == expected  # past LAZY_READS: all at once
    assert one_by_one.get("fake/D/none", 1) == 1 and one_by_one["fake/D/p001"] == expected[names[1]]
    assert dict(packed().items()) == expected and list(packed().values()) == list(expected.values())
    assert packed() == expected and repr(packed()).startswith("PackedSamples({")


def test_packed_samples_read_like_a_dict() -> None:
    packed = PackedSamples(["a/b", "a/c"], [1.0, None], b"\x00\x02", [5.0, 6.0])
    assert packed == {"a/b": Sample(1.0, Quality.GOOD, 5.0), "a/c": Sample(None, Quality.BAD, 6.0)}
    assert len(packed) == 2 and list(packed) == ["a/b", "a/c"]
    assert "a/b" in packed and "a/x" not in packed
    assert packed.get("a/x") is None and packed.get("a/x", 7) == 7
    assert packed.get("a/c") == Sample(None, Quality.BAD, 6.0)
    with pytest.raises(KeyError):
        packed["a/x"]
    assert isinstance(packed["a/b"], Sample) and packed["a/b"].quality is Quality.GOOD


@pytest.mark.parametrize(
    "bad",
    [
        Telemetry("s", 1, 0.0, 0.0, None, {"fake/T1/x": Sample(object())}),
        Telemetry("s", 1, 0.0, 0.0, None, {"fake/T1/x": Sample(1.0, 5)}),  # type: ignore[arg-type]
        Telemetry("s", 1, 0.0, 0.0, None, {"fake/T1/x": Sample(1.0, True)}),  # type: ignore[arg-type]
        Telemetry("s", 1, 0.0, 0.0, None, {"fake/T1/x": Sample(1.0, Quality.GOOD, True)}),
        Telemetry("s", 1, 0.0, 0.0, None, {"fake/T1/x": Sample(1.0, Quality.GOOD, math.nan)}),
        Telemetry("s", 1, 0.0, 0.0, None, {"fake/T1/x": (1.0, 0, 0.0)}),  # type: ignore[dict-item]
        Write("w", None, {"fake/T1/x": [1, 2]}),
    ],
)
def test_values_that_cannot_travel_are_refused_on_encode(bad: Frame) -> None:
    with pytest.raises(FrameError, match="fake/T1/x"):
        encode(bad)


def _tel(**override: Any) -> bytes:
    body: dict[str, Any] = {
        "v": 2,
        "type": "tel",
        "sid": "s",
        "seq": 1,
        "wall_s": 0.0,
        "now": 0.0,
        "k": None,
        "samples": [["fake/T1/x"], [1.0], b"\x00", _f64(0.0)],
    }
    body.update(override)
    return msgpack.packb({k: v for k, v in body.items() if v is not _DROP}, use_bin_type=True)


def _cols(
    names: Any = ("fake/T1/x",), values: Any = (1.0,), quality: Any = b"\x00", times: Any = None
) -> bytes:
    """A telemetry frame whose sample columns are given (one sample by default)."""
    times = _f64(*[0.0] * len(names)) if times is None else times
    return _tel(
        samples=[list(names), values if isinstance(values, bytes) else list(values), quality, times]
    )


_DROP = object()

MALFORMED = {
    "empty": b"",
    "not msgpack": b"\xc1\xc1\xc1",
    "truncated": _tel()[:-3],
    "trailing bytes": _tel() + b"\x00",
    "a list": msgpack.packb([1, "tel"]),
    "integer keys": msgpack.packb({1: 2}),
    "no version": _tel(v=_DROP),
    "version 1 (the map of samples)": _tel(v=1, samples={"fake/T1/x": [1.0, 0, 0.0]}),
    "version 3": _tel(v=3),
    "version true": _tel(v=True),
    "unknown type": _tel(type="telemetry"),
    "type not text": _tel(type=3),
    "missing key": _tel(now=_DROP),
    "unknown key": _tel(extra=1),
    "negative seq": _tel(seq=-1),
    "boolean seq": _tel(seq=True),
    "float seq": _tel(seq=1.0),
    "empty sid": _tel(sid=""),
    "long sid": _tel(sid="x" * 200),
    "infinite wall time": _tel(wall_s=math.inf),
    "nan now": _tel(now=math.nan),
    "text k": _tel(k="3"),
    "samples an empty list": _tel(samples=[]),
    "samples a map (version 1)": _tel(samples={"fake/T1/x": [1.0, 0, 0.0]}),
    "three columns": _tel(samples=[["fake/T1/x"], [1.0], b"\x00"]),
    "names a map": _tel(samples=[{"fake/T1/x": 1}, [1.0], b"\x00", _f64(0.0)]),
    "fewer values": _cols(values=[]),
    "more qualities": _cols(quality=b"\x00\x00"),
    "short float64 values": _cols(values=b"\x00" * 7),
    "short source times": _cols(times=b"\x00" * 4),
    "source times an array": _cols(times=[0.0]),
    "quality an array": _cols(quality=[0]),
    "quality 3": _cols(quality=b"\x03"),
    "bytes value": _cols(values=[b"\x00"]),
    "map value": _cols(values=[{}]),
    "list value": _cols(values=[[1.0, 0, 0.0]]),
    "nan source time": _cols(times=_f64(math.nan)),
    "empty point name": _cols(names=[""]),
    "point name a number": _cols(names=[3]),
    "a point twice": _cols(
        names=["fake/T1/x", "fake/T1/x"], values=[1.0, 2.0], quality=b"\x00\x00"
    ),
    "invalid utf-8": b"\x81\xa1v\xa2\xff\xfe",
    "ack status": msgpack.packb(
        {"v": 1, "type": "ack", "id": "w", "status": "maybe", "error": "", "points": []}
    ),
    "write outputs list": msgpack.packb(
        {"v": 1, "type": "write", "id": "w", "k": None, "outputs": [1]}
    ),
    "write list value": msgpack.packb(
        {"v": 1, "type": "write", "id": "w", "k": None, "outputs": {"a/b": [1]}}
    ),
    "ext type": msgpack.packb({"v": 1, "type": "ping", "id": msgpack.ExtType(1, b"x")}),
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=list(MALFORMED))
def test_malformed_frames_raise_frame_error_only(data: bytes) -> None:
    with pytest.raises(FrameError):
        decode(data)


def test_oversized_frames_are_refused_unread() -> None:
    with pytest.raises(FrameError, match="exceeds"):
        decode(b"\x00" * (MAX_FRAME_BYTES + 1))


def test_frames_out_of_place_are_refused() -> None:
    with pytest.raises(FrameError, match="not expected here"):
        decode(encode(Write("w", None, {})), PUB_TYPES)
    with pytest.raises(FrameError, match="not expected here"):
        decode(encode(Heartbeat("s", 1, 0.0)), REQUEST_TYPES)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        decode(data)


_INT64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
_LEAF = st.none() | st.booleans() | _INT64 | st.floats() | st.text(max_size=8)
_ANY = st.recursive(
    _LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    column=st.integers(min_value=0, max_value=3),
    value=_ANY | st.binary(max_size=24) | st.lists(_LEAF, max_size=3),
)
def test_samples_with_any_column_replaced_decode_or_raise_frame_error(
    column: int, value: Any
) -> None:
    columns: list[Any] = [["fake/T1/x", "fake/T1/y"], [1.0, "on"], b"\x00\x02", _f64(0.0, 1.0)]
    columns[column] = value
    try:
        frame = decode(_tel(samples=columns))
    except FrameError:
        return
    assert isinstance(frame, Telemetry)
    for sample in frame.samples.values():
        assert isinstance(sample, Sample) and isinstance(sample.quality, Quality)
        assert isinstance(sample.source_time, float) and not math.isnan(sample.source_time)


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(["sid", "seq", "wall_s", "now", "k", "samples"]), value=_ANY)
def test_telemetry_with_any_field_replaced_decodes_or_raises_frame_error(
    key: str, value: Any
) -> None:
    try:
        frame = decode(_tel(**{key: value}))
    except FrameError:
        return
    assert isinstance(frame, Telemetry)
    for sample in frame.samples.values():
        assert isinstance(sample, Sample) and isinstance(sample.quality, Quality)
