"""The fog uplink through a real mosquitto: idempotent commands, malformed payloads,
lost acks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fog_support import NODE, Broker, FakeController, inputs_at, wait_until

from hil.fog.centre import CentreReceiver
from hil.fog.node import FogNode
from hil.fog.protocol import Batch, Record, encode_batch, topics
from hil.fog.uplink import MqttUplink


def _centre(path: Path, broker: Broker, **kw: Any) -> CentreReceiver:
    c = CentreReceiver(
        path, [NODE], port=broker.port, reconnect_min_s=0.25, reconnect_max_s=1, **kw
    )
    c.start()
    return c


def _node(path: Path, broker: Broker, ctl: FakeController, **kw: Any) -> FogNode:
    uplink = MqttUplink(NODE, port=broker.port, reconnect_min_s=0.25, reconnect_max_s=1.0, **kw)
    node = FogNode.open(path, [ctl], node_id=NODE, uplink=uplink)
    assert node.uplink is not None
    wait_until(lambda: node.uplink is not None and node.uplink.connected, 10, node.service, "link")
    return node


def _synced(node: FogNode, centre: CentreReceiver) -> bool:
    return node.store.acked_seq == node.store.last_seq == centre.watermark(NODE)


@pytest.fixture
def rogue(broker: Broker) -> Iterator[mqtt.Client]:
    """A plain MQTT client that publishes whatever a test wants."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="rogue")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def _publish(client: mqtt.Client, topic: str, payload: bytes | str) -> None:
    client.publish(topic, payload, qos=1).wait_for_publish(5)


def test_a_command_sent_three_times_and_after_a_restart_is_applied_once(
    tmp_path: Path, broker: Broker
) -> None:
    centre = _centre(tmp_path / "centre.db", broker)
    ctl = FakeController()
    node = _node(tmp_path / "node.db", broker, ctl)
    try:
        wait_until(lambda: centre.online(NODE) is True, 10, node.service, "online status")
        for t in (0.0, 60.0):
            node.step(t, inputs_at(t))
        cid = "cmd-force-1"
        for _ in range(3):
            centre.send_command(NODE, "force", issued_s=90.0, target="C1", cmd_id=cid)
        assert node.uplink is not None
        link = node.uplink
        wait_until(lambda: link.stats["commands"] >= 3, 10, node.service, "3 deliveries")
        wait_until(lambda: _synced(node, centre), 10, node.service, "the result to sync")
        assert ctl.applied == [cid] and ctl.forced
        assert node.stats["command_replays"] == link.stats["commands"] - 1 >= 2
        status = centre.command_status(cid)
        assert status is not None and status.result is not None
        assert status.result.result == "applied" and status.result.controller == "fake/C1"
        with pytest.raises(ValueError, match="already used"):
            centre.send_command(NODE, "release", issued_s=90.0, target="C1", cmd_id=cid)

        node.close()  # the node restarts; meanwhile the centre sends a new command
        wait_until(lambda: centre.online(NODE) is False, 10, what="'offline' status")
        rid = centre.send_command(NODE, "release", issued_s=150.0, target="C1")
        assert centre.pending_commands(NODE) == [rid]

        ctl2 = FakeController()
        node = _node(tmp_path / "node.db", broker, ctl2)
        assert ctl2.applied == [cid] and ctl2.forced  # restored, not re-applied
        centre.send_command(NODE, "force", issued_s=90.0, target="C1", cmd_id=cid)  # 4th time
        link2 = node.uplink
        assert link2 is not None
        # the pending 'release' is re-sent when the node comes online; the replay answered
        wait_until(lambda: link2.stats["commands"] >= 2, 10, node.service, "deliveries")
        wait_until(lambda: _synced(node, centre), 10, node.service, "the results to sync")
        assert ctl2.applied == [cid, rid] and not ctl2.forced
        # every delivery but the first of 'release' was answered from the store (the
        # 'release' itself may arrive twice: sent once live and once on 'online')
        assert node.stats["command_replays"] == link2.stats["commands"] - 1 >= 1
        assert centre.pending_commands(NODE) == []
        results = [
            r.body["cmd_id"]
            for r in centre.records(NODE)
            if r.kind == "event" and r.body["type"] == "cmd_result"
        ]
        assert results == [cid, rid]  # one result event per command id
    finally:
        node.close()
        centre.close()


def test_malformed_payloads_are_counted_and_ignored(
    tmp_path: Path, broker: Broker, rogue: mqtt.Client
) -> None:
    centre = _centre(tmp_path / "centre.db", broker)
    ctl = FakeController()
    node = _node(tmp_path / "node.db", broker, ctl)
    link = node.uplink
    assert link is not None
    t = topics(NODE)
    try:
        wait_until(lambda: centre.online(NODE) is True, 10, node.service, "online status")
        garbage = [b"", b"\xff\x00", b"{", b"[]", b'{"v":2}', b'{"v":1,"type":"batch"}']
        fake_batch = Batch("someone-else", 1, 1, (Record(1, "event", None, 1.0, {"type": "x"}),), 1)
        for payload in [*garbage, encode_batch(fake_batch)]:
            _publish(rogue, t.up, payload)
        _publish(rogue, t.status, "maybe")
        for payload in garbage:
            _publish(rogue, t.cmd, payload)
            _publish(rogue, t.ack, payload)
        _publish(rogue, t.cmd, b'{"v":1,"type":"cmd","cmd_id":"x","issued_s":NaN,"kind":"f"}')
        _publish(
            rogue,
            t.ack,
            json.dumps(
                {"v": 1, "type": "ack", "node": "other", "acked_seq": 1, "status": "ok", "tx": None}
            ),
        )
        n_up, n_node = len(garbage) + 2, 2 * len(garbage) + 2
        wait_until(
            lambda: centre.stats["malformed"] == n_up and link.stats["malformed"] == n_node,
            10,
            node.service,
            "malformed counts",
        )
        # well-formed but wrong: a batch from the future and an ack for unwritten records
        future = Batch(NODE, 1000, 1000, (Record(1000, "event", None, 1.0, {"type": "x"}),), 99)
        _publish(rogue, t.up, encode_batch(future))
        ahead = {"v": 1, "type": "ack", "node": NODE, "acked_seq": 10**6, "status": "ok"}
        _publish(rogue, t.ack, json.dumps(ahead))
        wait_until(
            lambda: centre.stats["gaps"] >= 1 and link.stats["ack_ahead"] == 1,
            10,
            node.service,
            "gap and ack-ahead counts",
        )
        assert node.store.acked_seq <= node.store.last_seq < 1000

        for k in range(5):  # both sides still work
            node.step(60.0 * k, inputs_at(60.0 * k))
        wait_until(lambda: _synced(node, centre), 10, node.service, "sync after the garbage")
        assert centre.records(NODE) == node.store.records()
        assert ctl.scans == 5 and ctl.applied == []
        assert centre.stats["callback_errors"] == 0 and link.stats["callback_errors"] == 0
    finally:
        node.close()
        centre.close()


def test_lost_acks_make_the_node_resend_and_the_centre_drop_duplicates(
    tmp_path: Path, broker: Broker
) -> None:
    node_db, centre_db = tmp_path / "node.db", tmp_path / "centre.db"
    offline = FogNode.open(node_db, [FakeController()], node_id=NODE)  # scans before the link
    for k in range(30):
        offline.step(60.0 * k, inputs_at(60.0 * k))
    offline.close()
    deaf = _centre(centre_db, broker, send_acks=False)  # stores, but its acks are lost
    node = _node(node_db, broker, FakeController(), ack_timeout_s=0.5)
    link = node.uplink
    assert link is not None
    try:
        node.service()  # records the link 'up' event
        last = node.store.last_seq
        wait_until(
            lambda: (
                deaf.watermark(NODE) == last
                and link.stats["ack_timeouts"] >= 2
                and deaf.stats["duplicates"] >= 2
            ),
            15,
            node.service,
            "resends that the centre drops",
        )
        assert node.store.acked_seq == 0  # nothing confirmed: nothing may be pruned
        sent = node.store.records()
        assert [r.seq for r in sent] == list(range(1, last + 1))
        assert deaf.stats["records"] == last  # each record stored once despite resends
        deaf.close()  # the centre restarts, on the same database

        centre = _centre(centre_db, broker)
        try:
            wait_until(lambda: _synced(node, centre), 15, node.service, "acks after restart")
            assert centre.records(NODE) == sent
            assert centre.stats["records"] == 0  # nothing stored twice
        finally:
            centre.close()
    finally:
        node.close()
