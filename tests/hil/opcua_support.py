"""Test support for the OPC-UA bridge: point sets, a fake soil plant, a test controller,
and a field server in its own process (so a test can SIGKILL it).

Run as a script it serves the irrigation points and publishes a steady soil
moisture every 50 ms until killed::

    python opcua_support.py serve PORT RUN_START_UTC_S

It prints ``READY <url>`` once clients can connect.
"""

from __future__ import annotations

import math
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
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
from hil.opcua import OpcUaField, OpcUaUser, Security

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]

VWC = "agri/DT-H01-P1/soil_vwc"
EC = "agri/DT-H01-P1/soil_ec"
RAIN = "agri/DT-H01-P1/rain_mm"
ET0 = "agri/DT-H01-P1/et0_mm_d"
TEMP = "agri/DT-H01-P1/air_temp"
PRESSURE = "agri/DT-H01-P1/line_kpa"
VALVE = "agri/DT-H01-P1/valve_open"
FLOW = "agri/DT-H01-P1/flow_lpm"
MODE = "agri/DT-H01-P1/mode"
NOTE = "agri/DT-H01-P1/note"
DIM = "light/HV-12/dim_pct"
POWER = "light/HV-12/power_w"
LUX = "light/HV-12/lux"
LEVEL = "flood/P03/level_m"
SPEED = "tls/J07/det/e12_0/speed_mps"
GREEN = "tls/J07/green_s"
COUNT = "tls/J07/det/e12_0/count"

OPERATOR = ("op", "op-secret")
VIEWER = ("vw", "vw-secret")


def _in(name: str, unit: str, vt: ValueType = ValueType.FLOAT, **kw: Any) -> PointSpec:
    return PointSpec(name, Direction.INPUT, unit, vt, **kw)


def _out(name: str, unit: str, vt: ValueType = ValueType.FLOAT, **kw: Any) -> PointSpec:
    return PointSpec(name, Direction.OUTPUT, unit, vt, **kw)


IRRIGATION_INPUTS = (
    _in(VWC, "m3/m3", low=0.0, high=0.6, description="soil volumetric water content"),
    _in(RAIN, "mm", low=0.0),
)
IRRIGATION_OUTPUTS = (
    _out(VALVE, "", ValueType.BOOL, description="irrigation valve"),
    _out(FLOW, "L/min", low=0.0, high=100.0, description="flow set point"),
    _out(MODE, "1", ValueType.INT, low=0, high=3),
)
IRRIGATION = IRRIGATION_INPUTS + IRRIGATION_OUTPUTS

CITY = (
    *IRRIGATION,
    _in(EC, "mS/cm", low=0.0, high=20.0),
    _in(ET0, "mm/d", low=0.0, high=15.0),
    _in(TEMP, "degC", low=-10.0, high=60.0),
    _in(PRESSURE, "kPa", low=0.0, high=1000.0),
    _in(NOTE, "", ValueType.STR),
    _out(DIM, "%", low=0.0, high=100.0),
    _in(POWER, "W", low=0.0),
    _in(LUX, "lx"),
    _in(LEVEL, "m", low=-2.0, high=15.0),
    _in(SPEED, "m/s", low=0.0, high=70.0),
    _in(GREEN, "s", ValueType.INT, low=0, high=300),
    _in(COUNT, "1", ValueType.INT, low=0),
)


def users() -> list[OpcUaUser]:
    """An operator and a viewer."""
    return [
        OpcUaUser.with_password(OPERATOR[0], OPERATOR[1], "operator"),
        OpcUaUser.with_password(VIEWER[0], VIEWER[1], "viewer"),
    ]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll ``predicate`` every 10 ms; seconds it took, or AssertionError naming ``what``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)
    return time.monotonic() - start


@contextmanager
def running_field(points: Any = IRRIGATION, **kw: Any) -> Iterator[OpcUaField]:
    """A started OpcUaField on a free loopback port (no security, test users by default)."""
    kw.setdefault("run_start_utc_s", 1_767_225_600.0)  # 2026-01-01T00:00:00Z
    kw.setdefault("security", Security.NONE)
    kw.setdefault("users", users())
    field = OpcUaField(points, **kw)
    field.start()
    try:
        yield field
    finally:
        field.stop()


class SoilPlant:
    """A deterministic bucket of soil water, sensed with scripted faults.

    Each step of ``dt_s`` loses ``et`` of VWC and gains ``gain * flow`` while
    the valve is open. The sensor reads BAD every 9th step and UNCERTAIN every
    7th (value kept), so a controller sees every quality.
    """

    def __init__(self, vwc: float = 0.32) -> None:
        self.vwc = vwc
        self.rain = 0.0

    def sense(self, k: int, now: float) -> dict[str, Sample]:
        if k % 9 == 4:
            vwc = Sample(None, Quality.BAD, now)
        elif k % 7 == 3:
            vwc = Sample(round(self.vwc, 6), Quality.UNCERTAIN, now)
        else:
            vwc = Sample(round(self.vwc, 6), Quality.GOOD, now)
        self.rain = 0.5 * (k % 5)
        return {VWC: vwc, RAIN: Sample(self.rain, Quality.GOOD, now - 0.25)}

    def apply(self, outputs: Mapping[str, Any]) -> None:
        flow = outputs.get(FLOW, 0.0) if outputs.get(VALVE) else 0.0
        self.vwc = min(0.6, max(0.0, self.vwc - 0.004 + 0.0003 * flow))


class Irrigation:
    """A test controller: hysteresis on soil moisture, a proportional flow set point.

    Fail-safe (BAD or missing VWC): valve closed, flow 0, mode 3.
    UNCERTAIN VWC: hold the previous valve state, mode 2.
    """

    name = "agri/DT-H01-P1"
    scan_period_s = 0.5

    def __init__(self, low: float = 0.28, high: float = 0.34) -> None:
        self.low, self.high = low, high
        self.open = False
        self.last: float | None = None

    def points(self) -> tuple[PointSpec, ...]:
        return IRRIGATION

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        self.last = check_scan_time(self.name, now, self.last)
        sample = inputs.get(VWC)
        if sample is not None and sample.quality is Quality.UNCERTAIN:
            return {VALVE: self.open, FLOW: 10.0 if self.open else 0.0, MODE: 2}
        vwc = good_number(sample, 0.0, 0.6)
        if vwc is None:
            self.open = False
            return {VALVE: False, FLOW: 0.0, MODE: 3}
        if vwc < self.low:
            self.open = True
        elif vwc > self.high:
            self.open = False
        deficit = max(0.0, self.high - vwc)
        flow = min(100.0, math.floor(deficit * 2000.0) / 10.0) if self.open else 0.0
        return {VALVE: self.open, FLOW: flow, MODE: 1 if self.open else 0}

    def snapshot(self) -> dict[str, Any]:
        return {"open": self.open, "last": self.last}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.open, self.last = bool(state["open"]), state["last"]


# --- a field server in its own process --------------------------------------------------


class ServerProcess:
    """``python opcua_support.py serve PORT RUN_START`` as a child process."""

    def __init__(self, port: int, run_start_utc_s: float) -> None:
        self.port = port
        self.run_start_utc_s = run_start_utc_s
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout_s: float = 30.0) -> str:
        """Start the child; returns its URL once it printed READY."""
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE), "serve", str(self.port), repr(self.run_start_utc_s)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=REPO,
            env=env,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith("READY "):
                    self.url = line.split()[1]
                    return self.url
                if not line:
                    break
        self.kill()
        raise AssertionError(f"field server process on port {self.port} did not get ready")

    def kill(self) -> None:
        """SIGKILL the child (no goodbye to its clients) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None


def serve(port: int, run_start_utc_s: float) -> None:
    """Serve IRRIGATION on 127.0.0.1:<port>; publish VWC 0.2 (GOOD) every 50 ms."""
    field = OpcUaField(
        IRRIGATION,
        f"opc.tcp://127.0.0.1:{port}/dongha",
        run_start_utc_s=run_start_utc_s,
        security=Security.NONE,
        users=users(),
    )
    field.start()
    print("READY", field.url, flush=True)
    while True:
        now = time.time() - run_start_utc_s
        field.publish(
            now, {VWC: Sample(0.2, Quality.GOOD, now), RAIN: Sample(0.0, Quality.GOOD, now)}
        )
        field.take_writes()
        time.sleep(0.05)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "serve":
        sys.exit("usage: python opcua_support.py serve PORT RUN_START_UTC_S")
    serve(int(sys.argv[2]), float(sys.argv[3]))
