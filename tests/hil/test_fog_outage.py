"""24 h uplink outages through a real mosquitto: the node keeps controlling, buffers on
disk, and re-syncs in order with no loss and no duplicates — also across a SIGKILL
(power cycle) of the node in the middle of the outage."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fog_support import (
    CTL,
    NODE,
    Broker,
    FakeController,
    expected_outputs,
    inputs_at,
    wait_until,
)

from hil.fog.centre import CentreReceiver
from hil.fog.node import FogNode
from hil.fog.protocol import Record
from hil.fog.store import FogStore
from hil.fog.uplink import MqttUplink

HERE = Path(__file__).resolve().parent
SCAN_S = 60.0
DAY_S = 86_400.0
ONLINE_UNTIL = 540.0  # scans 0..540 s with the link up
OUTAGE_FROM = ONLINE_UNTIL + SCAN_S
OUTAGE_UNTIL = OUTAGE_FROM + DAY_S - SCAN_S  # 1,440 scans while the broker is down


@pytest.fixture
def centre(tmp_path: Path, broker: Broker) -> Iterator[CentreReceiver]:
    c = CentreReceiver(
        tmp_path / "centre.db", [NODE], port=broker.port, reconnect_min_s=0.25, reconnect_max_s=1
    )
    c.start()
    yield c
    c.close()


def _uplink(broker: Broker) -> MqttUplink:
    return MqttUplink(
        NODE, port=broker.port, reconnect_min_s=0.25, reconnect_max_s=1.0, ack_timeout_s=2.0
    )


def _check_continuity(
    centre: CentreReceiver, records: list[Record], scan_times: list[float]
) -> None:
    """The centre holds exactly ``records`` (seq 1..N, equal payloads) and every scan once."""
    got = centre.records(NODE)
    assert [r.seq for r in got] == list(range(1, len(records) + 1))  # in order, no gap/dupe
    assert got == records  # equal payloads, run and wall times
    scans = [r for r in got if r.kind == "telemetry"]
    assert [r.run_s for r in scans] == scan_times  # no lost and no repeated scan
    outputs = [
        (r.body["outputs"]["fake/C1/count"]["v"], r.body["outputs"]["fake/C1/total_m"]["v"])
        for r in scans
    ]
    assert outputs == expected_outputs(scan_times)  # state continued scan after scan
    assert centre.stats["records"] == len(records)  # each stored exactly once


def test_24h_outage_resyncs_in_order_without_loss_or_duplicates(
    tmp_path: Path, broker: Broker, centre: CentreReceiver
) -> None:
    uplink = _uplink(broker)
    node = FogNode.open(tmp_path / "node.db", [FakeController()], node_id=NODE, uplink=uplink)
    times = [k * SCAN_S for k in range(int(OUTAGE_UNTIL / SCAN_S) + 1)]
    online = [t for t in times if t <= ONLINE_UNTIL]
    outage = [t for t in times if t > ONLINE_UNTIL]
    assert len(outage) == 1440
    for t in online:
        node.step(t, inputs_at(t))
    wait_until(lambda: node.store.acked_seq == node.store.last_seq, 15, node.service, "first sync")

    broker.stop()  # the mosquitto process is gone
    wait_until(lambda: not uplink.connected, 10, node.service, "the node to see the link down")
    acked_before = node.store.acked_seq
    started = time.monotonic()
    for k, t in enumerate(outage):
        out = node.step(t, inputs_at(t))
        assert out["fake/C1/count"] == len(online) + k + 1  # still controlling
    outage_wall = time.monotonic() - started
    assert node.store.acked_seq == acked_before and not uplink.connected
    assert centre.watermark(NODE) == acked_before
    backlog = node.store.last_seq - acked_before
    assert backlog >= 1440

    broker.start()
    resync_wall = wait_until(
        lambda: node.store.acked_seq == node.store.last_seq, 30, node.service, "resync"
    )
    records = node.store.records()
    assert centre.watermark(NODE) == node.store.last_seq
    _check_continuity(centre, records, times)
    links = [r.body["state"] for r in records if r.kind == "event" and r.body["type"] == "link"]
    assert links == ["up", "down", "up"]
    assert uplink.stats["malformed"] == 0 and centre.stats["malformed"] == 0
    node.close()
    print(
        f"outage: {len(outage)} scans in {outage_wall:.2f} s; {backlog} records resynced "
        f"in {resync_wall:.2f} s; uplink {uplink.stats}; centre {centre.stats}"
    )


class _Worker:
    """fog_worker.py in a subprocess, spoken to line by line."""

    def __init__(self, store: Path, port: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "fog_worker.py"), str(store), str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=HERE,
        )

    def read(self, prefix: str) -> list[str]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            words = line.split()
            if words and words[0] == prefix:
                return words[1:]
            if words and words[0] in ("TIMEOUT", "ERROR"):
                raise AssertionError(f"worker: {line.strip()}")
        raise AssertionError(f"worker exited ({self.proc.wait()}) before {prefix}")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()


def test_power_cycle_mid_outage_loses_no_scan(
    tmp_path: Path, broker: Broker, centre: CentreReceiver
) -> None:
    store = tmp_path / "node.db"
    first = _Worker(store, broker.port)
    try:
        assert first.read("READY") == ["-", "1"]  # the boot event
        first.send(f"RUN {ONLINE_UNTIL}")
        first.read("RAN")
        first.send("SYNC 15")
        first.read("SYNCED")
        broker.stop()
        halfway = OUTAGE_FROM + DAY_S / 2
        first.send(f"RUN {OUTAGE_UNTIL} {halfway}")
        first.read("HALF")
        time.sleep(0.05)  # let it commit a few more scans, then pull the plug
        first.kill()
    finally:
        first.close()
    assert first.proc.returncode == -signal.SIGKILL

    with FogStore(store) as peek:
        scans = [r.run_s for r in peek.records() if r.kind == "telemetry"]
        killed_at = scans[-1]
        assert killed_at is not None and halfway <= killed_at < OUTAGE_UNTIL  # mid-outage
        assert peek.acked_seq < peek.last_seq  # unsent records were waiting on disk

    second = _Worker(store, broker.port)
    try:
        due, _ = second.read("READY")
        assert float(due) == killed_at + SCAN_S  # resumes at the next scan, not the first
        second.send(f"RUN {OUTAGE_UNTIL}")
        second.read("RAN")
        broker.start()
        second.send("SYNC 30")
        (synced,) = second.read("SYNCED")
        second.send("QUIT")
        second.read("BYE")
        assert second.proc.wait(timeout=30) == 0
    finally:
        second.close()

    with FogStore(store) as final:
        records = final.records()
    assert records[-1].body == {"type": "stop"}  # written after the sync: waits for next boot
    synced_records = [r for r in records if r.seq <= int(synced)]
    assert centre.watermark(NODE) == int(synced) == len(records) - 1
    times = [k * SCAN_S for k in range(int(OUTAGE_UNTIL / SCAN_S) + 1)]
    _check_continuity(centre, synced_records, times)
    boots = [r.body for r in synced_records if r.kind == "event" and r.body["type"] == "boot"]
    assert [b["restored"] for b in boots] == [[], [CTL]]
    assert boots[1]["acked_seq"] < boots[1]["last_seq"]
