"""The ZeroMQ bridge's wire format: round trips, NaN/inf as BAD, strict decoding."""

from __future__ import annotations

import contextlib
import math
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


def test_a_nan_sent_by_another_encoder_decodes_as_bad() -> None:
    body = {
        "v": 1,
        "type": "tel",
        "sid": "s",
        "seq": 1,
        "wall_s": 0.0,
        "now": 0.0,
        "k": None,
        "samples": {"fake/T1/x": [math.nan, 0, 0.0], "fake/T1/y": [math.inf, 1, 0.0]},
    }
    got = decode(msgpack.packb(body))
    assert isinstance(got, Telemetry)
    assert all(s == Sample(None, Quality.BAD, 0.0) for s in got.samples.values())


@pytest.mark.parametrize(
    "bad",
    [
        Telemetry("s", 1, 0.0, 0.0, None, {"fake/T1/x": Sample(object())}),
        Telemetry("s", 1, 0.0, 0.0, None, {"fake/T1/x": Sample(1.0, 5)}),  # type: ignore[arg-type]
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
        "v": 1,
        "type": "tel",
        "sid": "s",
        "seq": 1,
        "wall_s": 0.0,
        "now": 0.0,
        "k": None,
        "samples": {"fake/T1/x": [1.0, 0, 0.0]},
    }
    body.update(override)
    return msgpack.packb({k: v for k, v in body.items() if v is not _DROP})


_DROP = object()

MALFORMED = {
    "empty": b"",
    "not msgpack": b"\xc1\xc1\xc1",
    "truncated": _tel()[:-3],
    "trailing bytes": _tel() + b"\x00",
    "a list": msgpack.packb([1, "tel"]),
    "integer keys": msgpack.packb({1: 2}),
    "no version": _tel(v=_DROP),
    "version 2": _tel(v=2),
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
    "samples a list": _tel(samples=[]),
    "sample of two": _tel(samples={"fake/T1/x": [1.0, 0]}),
    "quality 3": _tel(samples={"fake/T1/x": [1.0, 3, 0.0]}),
    "quality true": _tel(samples={"fake/T1/x": [1.0, True, 0.0]}),
    "bytes value": _tel(samples={"fake/T1/x": [b"\x00", 0, 0.0]}),
    "map value": _tel(samples={"fake/T1/x": [{}, 0, 0.0]}),
    "nan source time": _tel(samples={"fake/T1/x": [1.0, 0, math.nan]}),
    "empty point name": _tel(samples={"": [1.0, 0, 0.0]}),
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
