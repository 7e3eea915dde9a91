"""Test support for the ZeroMQ bridge: a small tank plant, its controller, waiting, set-ups.

The plant and controller are deterministic (no randomness, no clock reads), so a
lock-step run over the bridge must give the same actuator sequence, bit for
bit, as the same loop in-process.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from controllers.io import (
    Direction,
    PointSpec,
    Quality,
    Sample,
    ValueType,
    check_scan_time,
    good_number,
)
from hil.zmq import ZmqControllerLink, ZmqField

LEVEL = "fake/T1/level_m"
INFLOW = "fake/T1/inflow_m3s"
PUMP = "fake/T1/pump_pct"
ALARM = "fake/T1/alarm"
STAGE = "fake/T1/stage"
FAILSAFE = {PUMP: 0.0, ALARM: True, STAGE: 0}  # sensor failed: pump off, alarm on

POINTS: tuple[PointSpec, ...] = (
    PointSpec(LEVEL, Direction.INPUT, "m", low=0.0, high=5.0),
    PointSpec(INFLOW, Direction.INPUT, "m3/s", low=0.0, high=2.0),
    PointSpec(PUMP, Direction.OUTPUT, "%", low=0.0, high=100.0),
    PointSpec(ALARM, Direction.OUTPUT, "", ValueType.BOOL),
    PointSpec(STAGE, Direction.OUTPUT, "1", ValueType.INT, low=0, high=3),
)


class TankController:
    """PI level control of a drainage tank (implements controllers.io.Controller).

    Keeps the level at ``setpoint_m`` with a pump (0-100 %). When the level
    sample is missing, BAD or out of range it goes to :data:`FAILSAFE` and
    holds its integral.
    """

    def __init__(self, name: str = "fake/T1", scan_period_s: float = 0.05) -> None:
        self.name = name
        self.scan_period_s = scan_period_s
        self.setpoint_m = 2.0
        self.integral = 0.0
        self._last_now: float | None = None

    def points(self) -> Sequence[PointSpec]:
        return POINTS

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        now = check_scan_time(self.name, now, self._last_now)
        dt = 0.0 if self._last_now is None else now - self._last_now
        self._last_now = now
        level = good_number(inputs.get(LEVEL), 0.0, 5.0)
        if level is None:
            return dict(FAILSAFE)
        error = level - self.setpoint_m
        self.integral = min(max(self.integral + error * dt, -50.0), 50.0)
        pump = min(max(60.0 * error + 8.0 * self.integral + 40.0, 0.0), 100.0)
        stage = 0 if pump < 1.0 else 1 + int(pump // 34.0)
        return {PUMP: pump, ALARM: level > 4.0, STAGE: min(stage, 3)}

    def snapshot(self) -> dict[str, Any]:
        return {"integral": self.integral, "last_now": self._last_now}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.integral = float(state["integral"])
        self._last_now = state["last_now"]


class TankPlant:
    """A tank filled by a varying inflow and drained by a pump (m, m3/s, %)."""

    def __init__(self, level_m: float = 3.0, area_m2: float = 2.0) -> None:
        self.level_m = level_m
        self.area_m2 = area_m2
        self.pump_pct = 0.0

    @staticmethod
    def inflow(now: float) -> float:
        """Inflow (m3/s) at run time ``now`` (s)."""
        return 0.3 + 0.2 * math.sin(now / 3.0)

    def sensors(self, now: float) -> dict[str, Sample]:
        """The INPUT samples at ``now`` (s)."""
        return {
            LEVEL: Sample(self.level_m, Quality.GOOD, now),
            INFLOW: Sample(self.inflow(now), Quality.GOOD, now),
        }

    def actuate(self, outputs: Mapping[str, Any]) -> None:
        """Apply actuator values (the pump; the others are indications)."""
        if PUMP in outputs:
            self.pump_pct = float(outputs[PUMP])

    def advance(self, now: float, dt: float) -> None:
        """Integrate ``dt`` seconds from ``now``."""
        net = self.inflow(now) - 0.6 * self.pump_pct / 100.0
        self.level_m = min(max(self.level_m + dt * net / self.area_m2, 0.0), 5.0)


def wait_until(cond: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll ``cond`` until true; returns the seconds it took, AssertionError naming ``what``."""
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.005)
    return time.monotonic() - start


@contextmanager
def running_field(points: Sequence[PointSpec] = POINTS, **kw: Any) -> Iterator[ZmqField]:
    """A started ZmqField on free loopback ports; stopped on exit."""
    field = ZmqField(points, **kw)
    field.start()
    try:
        yield field
    finally:
        field.stop(announce=False)


@contextmanager
def connected_link(
    field: ZmqField, points: Sequence[PointSpec] = POINTS, *, timeout_s: float = 5.0, **kw: Any
) -> Iterator[ZmqControllerLink]:
    """A ZmqControllerLink joined to ``field`` (snapshot applied); closed on exit."""
    kw.setdefault("curve_server_public", field.curve_public_key)
    link = ZmqControllerLink(field.pub_endpoint, field.rep_endpoint, points, **kw)
    try:
        link.connect(timeout_s)
        yield link
    finally:
        link.close()


def zmq_threads() -> list[threading.Thread]:
    """Threads of the bridge still alive (a clean shutdown leaves none)."""
    return [t for t in threading.enumerate() if t.name.startswith("zmq-")]
