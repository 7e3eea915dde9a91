"""The fog wire format: round trips, and every malformed payload is a ProtocolError."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.fog.protocol import (
    Ack,
    Batch,
    Command,
    CommandResult,
    ProtocolError,
    Record,
    decode_ack,
    decode_batch,
    decode_command,
    encode_ack,
    encode_batch,
    encode_command,
    parse_command_result,
    topics,
    validate_node_id,
)


def _batch(first: int = 5, n: int = 3) -> Batch:
    records = tuple(
        Record(first + i, "telemetry" if i % 2 else "event", 60.0 * i, 1.7e9 + i, {"type": "x"})
        for i in range(n)
    )
    return Batch("fog-1", first, first + n - 1, records, tx=9)


def test_round_trips() -> None:
    batch = _batch()
    assert decode_batch(encode_batch(batch)) == batch
    ack = Ack("fog-1", 7, "resend", 3)
    assert decode_ack(encode_ack(ack)) == ack
    assert decode_ack(encode_ack(Ack("fog-1", 0, "sync"))).tx is None
    cmd = Command("c-1", 3600.0, "irrigate", "P03", None, {"depth_mm": 12.5})
    assert decode_command(encode_command(cmd)) == cmd
    body = CommandResult("c-1", "applied", "", "irrigation/S1").to_body()
    assert parse_command_result(body) == CommandResult("c-1", "applied", "", "irrigation/S1")
    assert parse_command_result({"type": "boot"}) is None


def test_topics_and_node_ids() -> None:
    assert topics("fog-anlac").up == "dongha/fog/fog-anlac/up"
    assert topics("n1").status == "dongha/fog/n1/status"
    for bad in ("", "a/b", "+", "#", "x" * 65, "đông", None, 3):
        with pytest.raises(ValueError, match="invalid node id"):
            validate_node_id(bad)


def _mutated_batches() -> list[tuple[bytes, str]]:
    good = json.loads(encode_batch(_batch()))
    cases: list[tuple[bytes, str]] = [
        (b"\xff\xfe", "not UTF-8"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"v":1,"type":"batch","records":[],"x":NaN}', "non-finite"),
        (b"[" * 100_000, "not JSON"),
        (b'{"v":1,"type":"batch","x":1e999}', "overflows"),
    ]

    def mutate(path: str, value: object, why: str) -> None:
        obj = json.loads(json.dumps(good))
        target = obj
        keys = path.split(".")
        for k in keys[:-1]:
            target = target[int(k)] if k.isdigit() else target[k]
        last = keys[-1]
        if value is ...:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value
        cases.append((json.dumps(obj).encode(), why))

    mutate("v", 2, "version")
    mutate("type", "ack", "expected a 'batch'")
    mutate("node", "a/b", "invalid node id")
    mutate("first_seq", True, "first_seq")
    mutate("first_seq", 0, "first_seq")
    mutate("last_seq", 99, "does not match")
    mutate("tx", -1, "tx")
    mutate("records", [], "non-empty")
    mutate("records.1.seq", 99, "breaks the run")
    mutate("records.0.kind", "photo", "kind")
    mutate("records.0.wall_s", "now", "wall_s")
    mutate("records.0.wall_s", ..., "wall_s")
    mutate("records.0.run_s", 1e400, "non-finite")  # json.dumps writes Infinity
    mutate("records.0.run_s", "soon", "run_s")
    mutate("records.0.body", [1], "body")
    mutate("records.0.body", {"no": "type"}, "'type'")
    mutate("records.0", "x", "object")
    return cases


@pytest.mark.parametrize(("payload", "why"), _mutated_batches())
def test_malformed_batches_are_protocol_errors(payload: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        decode_batch(payload)


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b'{"v":1,"type":"cmd","issued_s":1,"kind":"force"}', "cmd_id"),
        (b'{"v":1,"type":"cmd","cmd_id":"","issued_s":1,"kind":"force"}', "cmd_id"),
        (b'{"v":1,"type":"cmd","cmd_id":"c\\n1","issued_s":1,"kind":"force"}', "cmd_id"),
        (b'{"v":1,"type":"cmd","cmd_id":"c1","issued_s":true,"kind":"force"}', "issued_s"),
        (b'{"v":1,"type":"cmd","cmd_id":"c1","issued_s":NaN,"kind":"force"}', "non-finite"),
        (b'{"v":1,"type":"cmd","cmd_id":"c1","issued_s":1,"kind":"rm -rf"}', "kind"),
        (b'{"v":1,"type":"cmd","cmd_id":"c1","issued_s":1,"kind":"x","target":5}', "target"),
        (b'{"v":1,"type":"cmd","cmd_id":"c1","issued_s":1,"kind":"x","args":[1]}', "args"),
        (
            b'{"v":1,"type":"cmd","cmd_id":"c1","issued_s":1,"kind":"x","args":{"kind":1}}',
            "not allowed",
        ),
        (
            b'{"v":1,"type":"cmd","cmd_id":"c1","issued_s":1,"kind":"x","args":{"a-b":1}}',
            "not allowed",
        ),
        (b'{"v":1,"type":"ack","node":"n","acked_seq":1,"status":"ok"}', "'cmd'"),
    ],
)
def test_malformed_commands_are_protocol_errors(payload: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        decode_command(payload)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"v":1,"type":"ack","node":"n","acked_seq":-1,"status":"ok"}',
        b'{"v":1,"type":"ack","node":"n","acked_seq":1,"status":"maybe"}',
        b'{"v":1,"type":"ack","node":"n","acked_seq":1.5,"status":"ok"}',
        b'{"v":1,"type":"ack","node":"n","acked_seq":1,"status":"ok","tx":"7"}',
        b'{"v":1,"type":"ack","acked_seq":1,"status":"ok"}',
    ],
)
def test_malformed_acks_are_protocol_errors(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_ack(payload)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["v", "type", "node", "seq", "records", "cmd_id", "kind"]),
                    inner,
                    max_size=5,
                )
            ),
            max_leaves=20,
        ).map(lambda obj: json.dumps(obj).encode()),
    )
)
def test_decoders_raise_only_protocol_errors(payload: bytes) -> None:
    for decode in (decode_batch, decode_ack, decode_command):
        with contextlib.suppress(ProtocolError):
            decode(payload)
