"""The ZeroMQ bridge over real loopback sockets: join, loss accounting, writes, malformed input."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import msgpack
import pytest
import zmq
from zmq_support import (
    ALARM,
    INFLOW,
    LEVEL,
    POINTS,
    PUMP,
    STAGE,
    connected_link,
    running_field,
    wait_until,
    zmq_threads,
)

from controllers.io import Direction, PointSpec, Quality, Sample, ValueType
from hil.bridge import ControllerLink, FieldEndpoint
from hil.zmq import WriteRejected, ZmqControllerLink, ZmqField
from hil.zmq.frames import Ack, ErrorReply, Ping, Pong, Write, decode, encode


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    yield
    assert zmq_threads() == [], "a bridge thread outlived its test (missing stop/close?)"


@pytest.fixture
def req() -> Iterator[zmq.Socket[bytes]]:
    """A raw REQ socket factory's context; tests connect it themselves."""
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.linger = 0
    sock.rcvtimeo = 2000
    yield sock
    sock.close(0)
    ctx.term()


def test_both_sides_implement_the_bridge_protocols() -> None:
    field = ZmqField(POINTS)
    link = ZmqControllerLink("tcp://127.0.0.1:1", "tcp://127.0.0.1:2", POINTS)
    assert isinstance(field, FieldEndpoint)
    assert isinstance(link, ControllerLink)
    link.close()
    field.stop()


def test_ports_chosen_by_the_os_are_exposed_and_clients_join() -> None:
    with running_field() as field:
        assert not field.pub_endpoint.endswith("*") and not field.rep_endpoint.endswith("*")
        field.publish(1.0, {LEVEL: Sample(2.0, Quality.GOOD, 1.0)})
        with connected_link(field) as link:
            assert link.up
            got = link.latest(time.time())
            assert got[LEVEL] == Sample(2.0, Quality.GOOD, 1.0)
            assert got[INFLOW].quality is Quality.BAD  # never published: BAD, not missing


def test_a_late_joiner_gets_the_whole_state_then_every_increment_in_order() -> None:
    with running_field(heartbeat_s=0.2) as field:
        # 40 frames, each updating one of the two inputs: the state needs them all
        for i in range(40):
            name = LEVEL if i % 2 else INFLOW
            field.publish(i / 10, {name: Sample(i / 10, Quality.GOOD, i / 10)})
        with connected_link(field) as link:
            assert link.latest()[LEVEL] == Sample(3.9, Quality.GOOD, 3.9)
            assert link.latest()[INFLOW] == Sample(3.8, Quality.GOOD, 3.8)
            assert link.stats["snapshots"] == 1
            received0 = link.stats["received"]
            seen: list[float] = []
            for i in range(40, 240):
                field.publish(i * 0.1, {LEVEL: Sample(i / 100, Quality.GOOD, i * 0.1)})
                seen.append(link.latest()[LEVEL].value)
            wait_until(lambda: link.seq == 240, 5, "every frame")
            assert link.latest()[LEVEL].value == 2.39
            assert seen == sorted(seen), "increments applied out of order"
            assert link.stats["received"] - received0 == 200
            assert link.stats["lost"] == link.stats["duplicates"] == 0


BLOB = "fake/T1/blob"
BIG_POINTS = (*POINTS, PointSpec(BLOB, Direction.INPUT, "", ValueType.STR))


def test_frames_dropped_at_the_high_water_mark_are_counted_exactly() -> None:
    """A stalled subscriber and tiny HWMs: lost == published - received, then whole again."""
    with running_field(BIG_POINTS, heartbeat_s=0.2, pub_hwm=2) as field:
        field.publish(0.0, {LEVEL: Sample(1.0, Quality.GOOD, 0.0)})
        with connected_link(field, BIG_POINTS, sub_hwm=2, watchdog_s=30.0) as link:
            wait_until(lambda: link.seq == 1, 5, "the first frame")
            received0, lost0 = link.stats["received"], link.stats["lost"]
            blob = "x" * 8192
            link.hang()  # the subscriber stops reading: kernel buffers, then PUB's HWM fill up
            n = 3000
            for i in range(1, n + 1):
                field.publish(i * 0.01, {LEVEL: Sample(i / n, Quality.GOOD, i), BLOB: Sample(blob)})
            link.resume()
            # the heartbeat (seq = last frame sent) reveals losses at the tail too
            wait_until(lambda: link.seq == 1 + n, 10, "the subscriber to catch up")
            received = link.stats["received"] - received0
            lost = link.stats["lost"] - lost0
            assert field.stats["sent"] == 1 + n
            assert lost > 0, "nothing was dropped: the test did not exercise loss"
            assert lost == n - received
            assert link.stats["duplicates"] == 0
            # a snapshot after the gap made the state whole again
            wait_until(lambda: link.latest()[LEVEL].value == 1.0, 5, "the last level")
            assert link.stats["snapshots"] >= 2


@pytest.mark.parametrize(
    ("outputs", "named"),
    [
        ({PUMP: 150.0}, [PUMP]),
        ({PUMP: float("nan")}, [PUMP]),
        ({STAGE: 1.5}, [STAGE]),
        ({ALARM: "yes"}, [ALARM]),
        ({LEVEL: 1.0}, [LEVEL]),  # an INPUT point
        ({"fake/T1/nope": 1.0}, ["fake/T1/nope"]),
        ({PUMP: 10.0, STAGE: 9, ALARM: None}, [STAGE, ALARM]),  # one good value, two bad
    ],
)
def test_invalid_writes_are_rejected_naming_the_point_and_nothing_is_applied(
    outputs: dict[str, object], named: list[str]
) -> None:
    with running_field() as field:
        field.publish(0.0, {LEVEL: Sample(1.0)})
        with connected_link(field) as link:
            with pytest.raises(WriteRejected) as err:
                link.write(outputs)
            assert list(err.value.points) == named
            for name in named:
                assert name in str(err.value)
            assert field.take_writes() == {}
            assert field.stats["rejected"] == 1 and field.stats["applied"] == 0


def test_valid_writes_are_coerced_to_the_point_types() -> None:
    with running_field() as field:
        field.publish(0.0, {LEVEL: Sample(1.0)})
        with connected_link(field) as link:
            assert field.seconds_since_write() is None
            link.write({PUMP: 40, STAGE: 2.0, ALARM: 1})
            since = field.seconds_since_write()
            assert since is not None and 0 <= since < 1.0
            link.write({PUMP: 45.5})
            got = field.take_writes()
            assert got == {PUMP: 45.5, STAGE: 2, ALARM: True}
            assert type(got[STAGE]) is int and got[ALARM] is True
            assert field.take_writes() == {}


def test_a_write_sent_twice_with_one_id_is_acked_twice_and_applied_once(
    req: zmq.Socket[bytes],
) -> None:
    with running_field() as field:
        req.connect(field.rep_endpoint)
        write = encode(Write("w-42", None, {PUMP: 30.0}))
        acks = []
        for _ in range(2):
            req.send(write)
            acks.append(decode(req.recv()))
        assert acks == [Ack("w-42", "ok"), Ack("w-42", "duplicate")]
        assert field.take_writes() == {PUMP: 30.0}
        req.send(write)
        assert decode(req.recv()) == Ack("w-42", "duplicate")
        assert field.take_writes() == {}, "a replayed write was applied again"
        assert field.stats["applied"] == 1 and field.stats["duplicates"] == 2


def test_a_write_retried_after_a_lost_reply_is_applied_once() -> None:
    """Lazy Pirate: the field hangs past the timeout, the client reopens and resends."""
    with running_field() as field:
        field.publish(0.0, {LEVEL: Sample(1.0)})
        with connected_link(field, request_timeout_s=0.3, retries=5) as link:
            field.hang()
            threading.Timer(0.8, field.resume).start()
            t0 = time.monotonic()
            link.write({PUMP: 12.0})
            assert time.monotonic() - t0 >= 0.6
            assert link.stats["retries"] >= 2 and link.stats["timeouts"] >= 2
            assert field.take_writes() == {PUMP: 12.0}
            assert field.stats["applied"] == 1
            link.write({PUMP: 13.0})  # the fresh socket works at once
            assert field.take_writes() == {PUMP: 13.0}


def test_malformed_requests_are_counted_and_answered(req: zmq.Socket[bytes]) -> None:
    with running_field() as field:
        req.connect(field.rep_endpoint)
        for junk in (b"junk", msgpack.packb({"v": 9, "type": "ping", "id": "x"})):
            req.send(junk)
            reply = decode(req.recv())
            assert isinstance(reply, ErrorReply) and reply.id is None
        req.send(encode(Ping("p")))
        assert isinstance(decode(req.recv()), Pong)
        assert field.stats["malformed"] == 2 and field.stats["received"] == 3


def test_malformed_telemetry_is_counted_and_the_link_carries_on() -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.linger = 0
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    link = ZmqControllerLink(f"tcp://127.0.0.1:{port}", "tcp://127.0.0.1:9", POINTS)
    try:
        link.start()
        bad = [b"junk", msgpack.packb({"v": 2, "type": "tel"}), encode(Ping("not-on-pub"))]

        def counted() -> bool:
            for frame in bad:
                pub.send(frame)
            time.sleep(0.01)
            return link.stats["malformed"] >= 6

        wait_until(counted, 5, "malformed frames to be counted")
        assert link.stats["received"] == 0 and not link.up
    finally:
        link.close()
        pub.close(0)
        ctx.term()


def test_stop_and_close_are_idempotent_and_leave_no_threads() -> None:
    field = ZmqField(POINTS)
    field.start()
    field.publish(0.0, {LEVEL: Sample(1.0)})
    link = ZmqControllerLink(field.pub_endpoint, field.rep_endpoint, POINTS)
    link.connect(5)
    link.close()
    link.close()
    field.stop()
    field.stop()
    with pytest.raises(RuntimeError, match="start"):
        field.publish(1.0, {LEVEL: Sample(1.0)})


def test_a_bad_endpoint_fails_loud_and_leaks_nothing() -> None:
    link = ZmqControllerLink("tcp://no-such-host", "tcp://127.0.0.1:9", POINTS)
    with pytest.raises(ValueError, match="cannot connect"):
        link.start()
    link.close()
    with pytest.raises(OSError, match="cannot bind"):
        ZmqField(POINTS, pub="tcp://256.0.0.1:*").start()
