"""Test support for the fog node: a real mosquitto broker, a fake controller, waiting.

Imported by the tests/hil test modules and by fog_worker.py (a node run as a
separate process so it can be killed with SIGKILL).
"""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
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

MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
NODE = "fog-test"
CTL = "fake/C1"
LEVEL = "fake/C1/level_m"


def mosquitto_binary() -> str | None:
    """Path of the mosquitto broker, or None if it is not installed."""
    for path in MOSQUITTO_CANDIDATES:
        if Path(path).is_file():
            return path
    return shutil.which("mosquitto")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """A mosquitto process on 127.0.0.1:<port> with its own config; can be stopped and restarted."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.port = free_port()
        self.config = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n",
            encoding="utf-8",
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the broker and wait until it accepts connections."""
        assert self.proc is None, "broker already running"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout_s} s")

    def stop(self) -> None:
        """Terminate the broker process (really gone when this returns)."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def wait_until(
    predicate: Callable[[], bool],
    timeout_s: float,
    pump: Callable[[], None] | None = None,
    what: str = "condition",
) -> float:
    """Call ``pump`` and poll ``predicate`` every 10 ms until true; seconds waited.

    Raises AssertionError naming ``what`` after ``timeout_s``.
    """
    start = time.monotonic()
    while True:
        if pump is not None:
            pump()
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)


def level_at(t: float) -> float:
    """The fake plant's water level (m) at run time ``t`` (s): a daily sine, 1..9 m."""
    return 5.0 + 4.0 * math.sin(2.0 * math.pi * t / 86_400.0)


def inputs_at(t: float) -> dict[str, Sample]:
    """The fake controller's inputs at ``t``; every 7th minute the sensor sends NaN marked GOOD."""
    if int(t // 60) % 7 == 3:
        return {LEVEL: Sample(math.nan, Quality.GOOD, t)}
    return {LEVEL: Sample(level_at(t), Quality.GOOD, t)}


class FakeController:
    """A deterministic controller with state worth restoring, alarms and commands.

    Each scan counts itself and sums the GOOD levels; the pump runs above 6 m
    or while forced. ``command`` applies EVERY call it gets (no dedup of its
    own), so idempotency seen in tests is the node's.
    """

    def __init__(self, name: str = CTL, scan_period_s: float = 60.0) -> None:
        self.name = name
        self.scan_period_s = scan_period_s
        self.scans = 0
        self.total_m = 0.0
        self.forced = False
        self.applied: list[str] = []
        self.high = False
        self._alarms: list[dict[str, Any]] = []
        self._last_now: float | None = None
        leaf = name.split("/")
        self._specs = (
            PointSpec(f"{leaf[0]}/{leaf[1]}/level_m", Direction.INPUT, "m", low=0.0, high=10.0),
            PointSpec(f"{leaf[0]}/{leaf[1]}/pump_on", Direction.OUTPUT, "", ValueType.BOOL),
            PointSpec(f"{leaf[0]}/{leaf[1]}/count", Direction.OUTPUT, "1", ValueType.INT),
            PointSpec(f"{leaf[0]}/{leaf[1]}/total_m", Direction.OUTPUT, "m"),
        )

    def points(self) -> Sequence[PointSpec]:
        return self._specs

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        now = check_scan_time(self.name, now, self._last_now)
        self._last_now = now
        level = good_number(inputs.get(self._specs[0].name), 0.0, 10.0)
        self.scans += 1
        if level is not None:
            self.total_m += level
        high = level is not None and level > 8.5
        if high and not self.high:
            self._alarms.append({"time_s": now, "code": "HIGH", "level_m": level})
        self.high = high
        pump = self.forced or (level is not None and level > 6.0)
        return {
            self._specs[1].name: pump,
            self._specs[2].name: self.scans,
            self._specs[3].name: self.total_m,
        }

    def command(
        self, cmd_id: str, issued_s: float, kind: str, target: str | None = None, **args: Any
    ) -> str:
        if kind == "force":
            self.forced = True
        elif kind == "release":
            self.forced = False
        else:
            raise ValueError(f"unknown kind {kind!r}; use force or release")
        self.applied.append(cmd_id)
        return "applied"

    def alarms(self, since: int = 0) -> list[dict[str, Any]]:
        return list(self._alarms[since:])

    def snapshot(self) -> dict[str, Any]:
        return {
            "scans": self.scans,
            "total_m": self.total_m,
            "forced": self.forced,
            "applied": list(self.applied),
            "high": self.high,
            "alarms": list(self._alarms),
            "last_now": self._last_now,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        self.scans = int(state["scans"])
        self.total_m = float(state["total_m"])
        self.forced = bool(state["forced"])
        self.applied = list(state["applied"])
        self.high = bool(state["high"])
        self._alarms = list(state["alarms"])
        self._last_now = state["last_now"]


def expected_outputs(scan_times: Sequence[float]) -> list[tuple[int, float]]:
    """(count, total_m) after each scan at ``scan_times``, computed independently."""
    out, total = [], 0.0
    for i, t in enumerate(scan_times):
        sample = inputs_at(t)[LEVEL]
        if math.isfinite(sample.value):
            total += sample.value
        out.append((i + 1, total))
    return out
