"""Optional CURVE encryption: a client without the server's public key gets nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import zmq
from zmq_support import LEVEL, POINTS, PUMP, connected_link, running_field, zmq_threads

from controllers.io import Quality, Sample
from hil.zmq import ZmqControllerLink, ZmqField, keypair


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    yield
    assert zmq_threads() == [], "a bridge thread outlived its test (missing stop/close?)"


@pytest.fixture
def secure_field() -> Iterator[ZmqField]:
    """A running CURVE field with one level published."""
    _, secret = keypair()
    with running_field(curve_server_secret=secret, heartbeat_s=0.1) as field:
        field.publish(0.0, {LEVEL: Sample(2.5, Quality.GOOD, 0.0)})
        yield field


def test_an_encrypted_session_carries_telemetry_and_writes(secure_field: ZmqField) -> None:
    assert secure_field.curve_public_key is not None
    with connected_link(secure_field) as link:  # passes the field's public key
        assert link.latest()[LEVEL] == Sample(2.5, Quality.GOOD, 0.0)
        link.write({PUMP: 20.0})
        assert secure_field.take_writes() == {PUMP: 20.0}


@pytest.mark.parametrize("server_key", ["wrong", None], ids=["wrong key", "no key"])
def test_a_client_without_the_server_key_receives_nothing(
    secure_field: ZmqField, server_key: str | None
) -> None:
    key = keypair()[0] if server_key == "wrong" else None
    link = ZmqControllerLink(
        secure_field.pub_endpoint,
        secure_field.rep_endpoint,
        POINTS,
        curve_server_public=key,
        request_timeout_s=0.2,
    )
    try:
        with pytest.raises(TimeoutError, match="CURVE"):
            link.connect(1.0)
        for i in range(5):
            secure_field.publish(0.1 * i, {LEVEL: Sample(3.0, Quality.GOOD, 0.1 * i)})
        time.sleep(0.2)
        assert link.stats["received"] == 0 and link.stats["heartbeats"] == 0
        assert all(s.quality is Quality.BAD for s in link.latest().values())
        # and none of its requests reached the field
        assert secure_field.stats["received"] == 0
    finally:
        link.close()


def test_a_plain_subscriber_cannot_read_encrypted_telemetry(secure_field: ZmqField) -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(secure_field.pub_endpoint)
    try:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            secure_field.publish(1.0, {LEVEL: Sample(1.0)})
            assert not sub.poll(20), "an unauthenticated subscriber received a frame"
    finally:
        sub.close(0)
        ctx.term()


def test_bad_keys_fail_loud_with_a_hint() -> None:
    with pytest.raises(ValueError, match="keypair"):
        ZmqField(POINTS, curve_server_secret=b"too short")
    with pytest.raises(ValueError, match="curve_server_public"):
        ZmqControllerLink("tcp://127.0.0.1:1", "tcp://127.0.0.1:2", POINTS, curve_server_public="x")
