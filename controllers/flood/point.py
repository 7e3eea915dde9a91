"""The controller of one flood-warning point; it runs on the point itself (the field device).

The device must warn *without depending on the telecom network*: it decides
its level and its siren from its own sensor, and uses its neighbours only as
a second opinion while its uplink is up.

Points (``ID`` is the point id, e.g. ``P03``)
---------------------------------------------
INPUT ``flood/ID/level_m`` (float, m)
    River gauge: stage above the national datum (-5..15). Street point:
    water depth above the road surface (0..5).
INPUT ``flood/ID/rain_mm_h`` (float, mm/h, 0..500; only with ``has_rain``)
    Used by stuck detection (rain says the water should move).
INPUT ``flood/ID/battery_pct`` (float, %, 0..100; only with ``has_battery``)
    Below ``faults.battery_low_pct`` the reported health is at least SUSPECT
    (a maintenance hint; it does not change how readings are trusted).
INPUT ``flood/ID/uplink_ok`` (bool)
    The LoRa/centre link is up. Only a GOOD ``True`` counts as up; missing,
    bad or malformed is down.
INPUT ``flood/Pmm/level_m`` of each configured neighbour (float, m)
    Read only while the uplink is up.
OUTPUT ``flood/ID/warning_level`` (int 0..3), ``flood/ID/siren`` (bool),
``flood/ID/sensor_health`` (int, :class:`~controllers.flood.faults.SensorHealth`:
0 ok, 1 suspect, 2 failed), ``flood/ID/rate_alarm`` (bool).

How the level is decided
------------------------
The :class:`~controllers.flood.faults.SensorFaultDetector` judges the own
reading; the level is then held by a
:class:`~controllers.flood.levels.LevelTracker` (raise at once, lower one
level per hold period) fed from whichever sources are trusted:

==========  ==============================  ==================================
own sensor  neighbours (uplink up, >= 1     level
            usable)
==========  ==============================  ==================================
OK          ignored                         own reading, with hysteresis
SUSPECT     upper-median vote               max(own, vote) raises; lowers only
                                            when the vote *and* the own reading
                                            (with hysteresis) are below
SUSPECT     none                            own reading may raise; never lowers
FAILED      upper-median vote               the vote (raise at once, lower one
                                            level per hold period)
FAILED      none                            held: never lowered, never raised
==========  ==============================  ==================================

**Fail-safe.** A warning is never lowered because a sensor died or turned
suspect: lowering needs a trusted source — the own sensor back to OK, or
neighbours through the uplink. A FAILED sensor with no neighbours holds the
last confirmed level *indefinitely* (no time-out: a sensor that dies at the
peak of a flood must not let the siren go quiet while the water may still
be rising); the point reports health FAILED so the centre sends a crew, and
the level falls again only once a trusted source says so. The rate-of-rise
alarm likewise keeps its state while no reading is accepted. A suspect
sensor can still *raise* the level (a high reading that passed the range and
spike checks is not ignored). The siren follows the held level (see
:mod:`controllers.flood.siren`), so none of this depends on the uplink.

A healthy sensor is the truth at its own spot: neighbours do not override it
(street depressions flood while the next street is dry).

Time: ``now`` (s) is passed in and must not decrease; a non-finite or
decreasing ``now`` is a caller error and raises ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from controllers.flood.config import FloodPointConfig
from controllers.flood.faults import SensorFaultDetector, SensorHealth, SensorReading
from controllers.flood.levels import LevelTracker, WarningLevel, level_of
from controllers.flood.rate import RateOfRiseMonitor
from controllers.flood.samples import good_flag, good_number
from controllers.flood.voting import upper_median
from controllers.io import Direction, PointSpec, Sample, ValueType, check_scan_time

__all__ = ["FloodPointController"]

_SNAPSHOT_VERSION = 1
RAIN_MAX_MM_H = 500.0  # mm/h: the rain point's range


class FloodPointController:
    """Flood warning at one point; implements ``controllers.io.Controller``.

    Args:
        config: the point's configuration.
        scan_period_s: seconds between scans (> 0, finite). Readings arrive
            about every 60 s; scanning faster only sharpens the hold timers.

    Attributes (read-only, for diagnostics and the city controller):
        level, health, rate_alarm, siren: the last scan's outputs.
        source: what decided the last level: ``"own"``, ``"own+neighbours"``,
            ``"neighbours"`` or ``"hold"``.
    """

    def __init__(self, config: FloodPointConfig, *, scan_period_s: float = 10.0) -> None:
        if not isinstance(config, FloodPointConfig):
            raise ValueError(f"config must be a FloodPointConfig, got {type(config).__name__}")
        if not (
            isinstance(scan_period_s, int | float)
            and math.isfinite(scan_period_s)
            and scan_period_s > 0
        ):
            raise ValueError(f"scan_period_s must be a finite time > 0 s, got {scan_period_s!r}")
        self.config = config
        self.name = f"flood/{config.point_id}"
        self.scan_period_s = float(scan_period_s)
        self.detector = SensorFaultDetector(config.faults)
        self.tracker = LevelTracker(config.thresholds.hold_s)
        self.rate = RateOfRiseMonitor(config.rate)
        self.health = SensorHealth.SUSPECT
        self.siren = False
        self.source = "hold"
        self._last_now: float | None = None
        self._specs = self._declare()

    # ---------------------------------------------------------------- points
    def _point(self, leaf: str) -> str:
        return f"{self.name}/{leaf}"

    def _declare(self) -> tuple[PointSpec, ...]:
        cfg = self.config
        f = cfg.faults
        what = "stage above national datum" if cfg.kind == "river" else "depth above road"
        specs = [
            PointSpec(
                self._point("level_m"),
                Direction.INPUT,
                "m",
                ValueType.FLOAT,
                low=f.valid_low_m,
                high=f.valid_high_m,
                description=f"water level at {cfg.point_id}: {what}",
            )
        ]
        if cfg.has_rain:
            specs.append(
                PointSpec(
                    self._point("rain_mm_h"),
                    Direction.INPUT,
                    "mm/h",
                    ValueType.FLOAT,
                    low=0.0,
                    high=RAIN_MAX_MM_H,
                    description=f"rain rate at {cfg.point_id}",
                )
            )
        if cfg.has_battery:
            specs.append(
                PointSpec(
                    self._point("battery_pct"),
                    Direction.INPUT,
                    "%",
                    ValueType.FLOAT,
                    low=0.0,
                    high=100.0,
                    description=f"battery charge of {cfg.point_id}",
                )
            )
        specs.append(
            PointSpec(
                self._point("uplink_ok"),
                Direction.INPUT,
                "",
                ValueType.BOOL,
                description=f"LoRa/centre link of {cfg.point_id} is up",
            )
        )
        for n in cfg.neighbours:
            specs.append(
                PointSpec(
                    n.level_point,
                    Direction.INPUT,
                    "m",
                    ValueType.FLOAT,
                    low=n.valid_low_m,
                    high=n.valid_high_m,
                    description=f"water level at neighbour {n.point_id}",
                )
            )
        specs += [
            PointSpec(
                self._point("warning_level"),
                Direction.OUTPUT,
                "1",
                ValueType.INT,
                low=0,
                high=3,
                description="warning level: 0 none, 1..3 báo động I..III",
            ),
            PointSpec(
                self._point("siren"), Direction.OUTPUT, "", ValueType.BOOL, description="siren on"
            ),
            PointSpec(
                self._point("sensor_health"),
                Direction.OUTPUT,
                "1",
                ValueType.INT,
                low=0,
                high=2,
                description="level sensor health: 0 ok, 1 suspect, 2 failed",
            ),
            PointSpec(
                self._point("rate_alarm"),
                Direction.OUTPUT,
                "",
                ValueType.BOOL,
                description="rate-of-rise alarm",
            ),
        ]
        return tuple(specs)

    def points(self) -> Sequence[PointSpec]:
        """Inputs (level, rain, battery, uplink, neighbour levels) then the four outputs."""
        return self._specs

    @property
    def level(self) -> WarningLevel:
        """The held warning level (as of the last scan)."""
        return self.tracker.level

    @property
    def rate_alarm(self) -> bool:
        """The rate-of-rise alarm (as of the last scan)."""
        return self.rate.alarm

    # ------------------------------------------------------------------ scan
    def _check_time(self, now: float) -> float:
        self._last_now = check_scan_time(self.name, now, self._last_now)
        return self._last_now

    def _vote(self, now: float, inputs: Mapping[str, Sample]) -> WarningLevel | None:
        """The neighbours' vote, or None when the uplink is down or no neighbour is usable."""
        if (
            not self.config.neighbours
            or good_flag(inputs.get(self._point("uplink_ok"))) is not True
        ):
            return None
        levels = [n.level(inputs.get(n.level_point), now) for n in self.config.neighbours]
        usable = [lv for lv in levels if lv is not None]
        return upper_median(usable) if usable else None

    def _decide(self, reading: SensorReading, vote: WarningLevel | None) -> tuple[int, bool, str]:
        """The implied level, whether the sources may lower it, and what decided (see table)."""
        thresholds = self.config.thresholds
        held = self.tracker.level
        own = reading.value_m
        if reading.health is SensorHealth.OK and own is not None:
            return level_of(own, thresholds), thresholds.clearly_below(own, held), "own"
        if reading.health is SensorHealth.FAILED:
            if vote is None:
                return 0, False, "hold"
            return vote, vote < held, "neighbours"
        # SUSPECT
        own_level = 0 if own is None else level_of(own, thresholds)
        if vote is None:
            return own_level, False, "own" if own is not None else "hold"
        own_below = own is None or thresholds.clearly_below(own, held)
        return max(own_level, vote), vote < held and own_below, "own+neighbours"

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """One scan at ``now`` (s): judge the sensor, decide the level, siren and alarms."""
        now = self._check_time(now)
        cfg = self.config
        rain = None
        if cfg.has_rain:
            rain = good_number(inputs.get(self._point("rain_mm_h")), 0.0, RAIN_MAX_MM_H)
        reading = self.detector.observe(now, inputs.get(self._point("level_m")), rain)
        if reading.new and reading.value_m is not None and reading.time_s is not None:
            self.rate.observe(reading.time_s, reading.value_m)
        implied, lower, self.source = self._decide(reading, self._vote(now, inputs))
        level = self.tracker.step(now, implied, lower)
        self.siren = cfg.siren.sounds(level, self.rate.alarm)
        health = reading.health
        if cfg.has_battery and health is SensorHealth.OK:
            battery = good_number(inputs.get(self._point("battery_pct")), 0.0, 100.0)
            if battery is not None and battery < cfg.faults.battery_low_pct:
                health = SensorHealth.SUSPECT
        self.health = health
        return {
            self._point("warning_level"): int(level),
            self._point("siren"): self.siren,
            self._point("sensor_health"): int(health),
            self._point("rate_alarm"): self.rate.alarm,
        }

    # ------------------------------------------------------ snapshot / restore
    def snapshot(self) -> dict[str, Any]:
        """State as plain JSON-serialisable data (times in s, values in m)."""
        return {
            "version": _SNAPSHOT_VERSION,
            "name": self.name,
            "last_now": self._last_now,
            "health": int(self.health),
            "siren": self.siren,
            "source": self.source,
            "tracker": self.tracker.snapshot(),
            "detector": self.detector.snapshot(),
            "rate": self.rate.snapshot(),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot` of a controller of the same point.

        The configuration stays this controller's own; the held level, its
        timers, the sensor's fault state and the rate window carry over, so
        the next scans give the outputs the snapshotted controller would have.

        Raises:
            ValueError: the snapshot is of another point, of another version,
                or malformed (this controller is then left unchanged).
        """
        try:
            if state["version"] != _SNAPSHOT_VERSION:
                raise ValueError(f"unsupported snapshot version {state['version']!r}")
            if state["name"] != self.name:
                raise ValueError(f"snapshot is of {state['name']!r}, this is {self.name!r}")
            last_now = None if state["last_now"] is None else float(state["last_now"])
            health = SensorHealth(int(state["health"]))
            siren = bool(state["siren"])
            source = str(state["source"])
            tracker = LevelTracker(self.tracker.hold_s)
            tracker.restore(state["tracker"])
            detector = SensorFaultDetector(self.config.faults)
            detector.restore(state["detector"])
            rate = RateOfRiseMonitor(self.config.rate)
            rate.restore(state["rate"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{self.name}: malformed snapshot ({exc!r})") from exc
        self._last_now, self.health, self.siren, self.source = last_now, health, siren, source
        self.tracker, self.detector, self.rate = tracker, detector, rate
