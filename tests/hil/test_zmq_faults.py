"""Faults on the ZeroMQ bridge: the field killed and restarted mid-run, and a hung peer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from zmq_support import (
    FAILSAFE,
    LEVEL,
    POINTS,
    TankController,
    TankPlant,
    connected_link,
    running_field,
    wait_until,
    zmq_threads,
)

from controllers.io import Quality, Sample
from hil.zmq import LinkDownError, ScanRecord, ZmqControllerLink, ZmqField, run_controller

WATCHDOG_S = 0.5


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    yield
    assert zmq_threads() == [], "a bridge thread outlived its test (missing stop/close?)"


class _PlantLoop:
    """The device: publishes the tank's sensors every 20 ms and applies what was written."""

    def __init__(self, field: ZmqField) -> None:
        self.field = field
        self.plant = TankPlant()
        self.writes: list[tuple[float, dict[str, Any]]] = []  # (monotonic s, values)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="plant")
        self.t0 = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            now = time.monotonic() - self.t0
            try:
                self.field.publish(now, self.plant.sensors(now))
                got = self.field.take_writes()
            except RuntimeError:  # the field is down (killed): nothing to publish to
                continue
            if got:
                self.writes.append((time.monotonic(), got))
                self.plant.actuate(got)
            self.plant.advance(now, 0.02)

    def __enter__(self) -> _PlantLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_field_killed_and_restarted_mid_run_client_resumes_and_fails_safe_meanwhile() -> None:
    field = ZmqField(POINTS, heartbeat_s=0.1)
    field.start()
    ports = (field.pub_endpoint, field.rep_endpoint)
    link = ZmqControllerLink(
        *ports, POINTS, request_timeout_s=0.2, retries=1, watchdog_s=WATCHDOG_S
    )
    scans: list[tuple[float, ScanRecord]] = []  # (monotonic s at the start of the scan, record)
    stop = threading.Event()
    try:
        with _PlantLoop(field) as plant:
            link.connect(5.0)
            wait_until(lambda: link.latest()[LEVEL].good, 5.0, "the first sensor frame")
            runner = threading.Thread(
                target=run_controller,
                args=(link, TankController()),
                kwargs={
                    "mode": "realtime",
                    "stop": stop,
                    "on_scan": lambda r: scans.append((r.clock_s, r)),
                },
            )
            runner.start()
            time.sleep(1.0)
            t_kill = time.monotonic()
            field.stop(announce=False)  # a crash: no goodbye, sockets gone
            time.sleep(1.5)
            t_restart = time.monotonic()
            field.start()  # same object, same ports, a new session
            assert (field.pub_endpoint, field.rep_endpoint) == ports

            def resumed() -> bool:
                return any(t > t_restart and r.written and not r.bad_inputs for t, r in scans)

            took = wait_until(resumed, 5.0, "the controller to resume after the restart")
            time.sleep(0.3)
            stop.set()
            runner.join(5)
            written_after = [t for t, _ in plant.writes if t > t_restart]
    finally:
        stop.set()
        link.close()
        field.stop()

    assert took < 5.0
    before = [r for t, r in scans if t < t_kill - 0.1]  # a scan right at the kill may not write
    assert len(before) > 10 and all(r.written and not r.bad_inputs for r in before)
    # from the watchdog trip until the restart: every input BAD, outputs at the fail-safe
    down = [r for t, r in scans if t_kill + WATCHDOG_S + 0.1 < t < t_restart]
    assert len(down) > 10
    for r in down:
        assert set(r.bad_inputs) == {p.name for p in POINTS if p.direction.value == "input"}
        assert r.outputs == FAILSAFE
        assert not r.written
    assert written_after, "no write reached the restarted field"
    assert link.stats["watchdog_trips"] == 1
    assert link.stats["reconnects"] >= 1
    assert link.stats["snapshots"] >= 2


def test_a_hung_field_trips_the_watchdog_and_recovery_is_automatic() -> None:
    with running_field(heartbeat_s=0.1) as field:
        field.publish(0.0, {LEVEL: Sample(1.5, Quality.GOOD, 0.0)})
        with connected_link(field, watchdog_s=WATCHDOG_S, request_timeout_s=0.2) as link:
            time.sleep(0.3)  # heartbeats keep an idle link up
            assert link.up and link.stats["watchdog_trips"] == 0
            field.hang()  # sockets stay open; nothing is sent or answered
            tripped_after = wait_until(
                lambda: link.stats["watchdog_trips"] == 1, WATCHDOG_S + 1.0, "the watchdog"
            )
            assert tripped_after <= WATCHDOG_S + 1.0
            assert not link.up
            assert all(s.quality is Quality.BAD for s in link.latest().values())
            with pytest.raises(LinkDownError):
                link.write({"fake/T1/pump_pct": 10.0})
            field.resume()
            wait_until(lambda: link.up, 3.0, "the link to recover")
            assert link.latest()[LEVEL] == Sample(1.5, Quality.GOOD, 0.0)
            assert link.stats["watchdog_trips"] == 1 and link.stats["reconnects"] == 1
            link.write({"fake/T1/pump_pct": 10.0})
            assert field.take_writes() == {"fake/T1/pump_pct": 10.0}


def test_a_client_that_joins_before_the_field_starts_connects_when_it_does() -> None:
    probe = ZmqField(POINTS)
    probe.start()
    pub, rep = probe.pub_endpoint, probe.rep_endpoint
    probe.stop()  # free ports that we know
    link = ZmqControllerLink(pub, rep, POINTS, request_timeout_s=0.2)
    field = ZmqField(POINTS, pub, rep)
    try:
        link.start()
        time.sleep(0.5)
        assert not link.up
        field.start()
        field.publish(0.0, {LEVEL: Sample(2.0)})
        link.connect(5.0)
        assert link.latest()[LEVEL] == Sample(2.0)
    finally:
        link.close()
        field.stop()
