"""Sensor fault detection of a warning point's water-level sensor.

Each scan the detector looks at the point's ``level_m`` sample and decides
whether it is a *new reading* (its source time is later than any seen
before), whether to *accept* it, and how healthy the sensor is.

Faults
------
=================  ==========================================================
missing / bad      no sample, quality not GOOD (the process image ages stale
                   samples to UNCERTAIN then BAD), or a non-finite source
                   time: no value; the sensor is SUSPECT.
not a number       a GOOD sample whose value is NaN, infinite, None, text or
                   a boolean: rejected, SUSPECT.
out of range       a value outside ``[valid_low_m, valid_high_m]``: rejected,
                   SUSPECT.
spike              a jump from the last accepted reading larger than
                   ``max_jump_m`` per ``jump_window_s`` (0.5 m in one 60 s
                   report: water does not do that; a wave, a floating object
                   or a radio error does): rejected, SUSPECT. If
                   ``spike_confirm_samples`` consecutive readings agree with
                   the jump (each within a plausible jump of the previous
                   one), the step is real (a sensor re-installed, a surge)
                   and the last of them is accepted. A real step is thus
                   delayed by a few reports, never ignored.
dropout            no accepted reading for more than ``dropout_s``: FAILED.
stuck              accepted readings that stay within ``stuck_epsilon_m`` of
                   each other for ``stuck_after_s`` while water is present
                   (reading >= ``stuck_wet_m``) or while it has rained at
                   least ``stuck_rain_mm_h`` over that whole time (rain says
                   the water should move): FAILED until a reading moves.
=================  ==========================================================

Health (:class:`SensorHealth`): FAILED on dropout or stuck; otherwise
SUSPECT while a fault was seen within ``suspect_hold_s`` or before the first
accepted reading; otherwise OK. A sensor returning from FAILED is SUSPECT for
``suspect_hold_s`` before it is OK again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any

from controllers.io import Quality, Sample

__all__ = ["Fault", "FaultConfig", "SensorFaultDetector", "SensorHealth", "SensorReading"]


class SensorHealth(IntEnum):
    """Health of a point's level sensor: the ``flood/Pnn/sensor_health`` codes."""

    OK = 0  #: readings accepted, no fault within suspect_hold_s
    SUSPECT = 1  #: recent rejected or missing samples (or low battery): readings used with care
    FAILED = 2  #: no accepted reading for dropout_s, or stuck: readings not used


class Fault(Enum):
    """Kinds of sensor fault (counted by :class:`SensorFaultDetector`)."""

    MISSING = "missing"  # no sample, not GOOD, or bad source time
    NOT_A_NUMBER = "not_a_number"
    OUT_OF_RANGE = "out_of_range"
    SPIKE = "spike"
    DROPOUT = "dropout"
    STUCK = "stuck"


@dataclass(frozen=True)
class FaultConfig:
    """Limits of plausible readings of one level sensor (values in m, times in s).

    Attributes:
        valid_low_m, valid_high_m: the sensor's valid range (m; river stage
            -5..15, street depth 0..5).
        max_jump_m: largest plausible change per ``jump_window_s`` (m, > 0;
            ``inf`` turns spike detection off).
        jump_window_s: the time the plausible jump refers to (s, > 0); over a
            longer gap between readings the plausible jump grows in proportion.
        spike_confirm_samples: consecutive agreeing readings that make a jump
            real (>= 2).
        dropout_s: no accepted reading for longer than this is a dropout (s, > 0).
        stuck_after_s: unchanged readings for this long may be stuck (s, > 0;
            ``inf`` turns stuck detection off).
        stuck_epsilon_m: readings within this of each other are unchanged (m, >= 0).
        stuck_wet_m: readings at or above this mean water is present (m).
        stuck_rain_mm_h: rain at or above this (mm/h) means the water should move.
        suspect_hold_s: a sensor stays SUSPECT this long after a fault (s, >= 0).
        battery_low_pct: a battery below this (%) reports the point SUSPECT.
    """

    valid_low_m: float
    valid_high_m: float
    max_jump_m: float = 0.5
    jump_window_s: float = 60.0
    spike_confirm_samples: int = 3
    dropout_s: float = 300.0
    stuck_after_s: float = 3600.0
    stuck_epsilon_m: float = 0.002
    stuck_wet_m: float = 0.05
    stuck_rain_mm_h: float = 20.0
    suspect_hold_s: float = 600.0
    battery_low_pct: float = 15.0

    def __post_init__(self) -> None:
        owner = "FaultConfig"
        for field in (
            "valid_low_m",
            "valid_high_m",
            "max_jump_m",
            "jump_window_s",
            "dropout_s",
            "stuck_after_s",
            "stuck_epsilon_m",
            "stuck_wet_m",
            "stuck_rain_mm_h",
            "suspect_hold_s",
            "battery_low_pct",
        ):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
                raise ValueError(f"{owner}.{field} must be a number, got {value!r}")
        finite = (
            "valid_low_m",
            "valid_high_m",
            "jump_window_s",
            "dropout_s",
            "stuck_epsilon_m",
            "stuck_wet_m",
            "stuck_rain_mm_h",
            "suspect_hold_s",
            "battery_low_pct",
        )
        for field in finite:
            if not math.isfinite(getattr(self, field)):
                raise ValueError(f"{owner}.{field} must be finite, got {getattr(self, field)!r}")
        if not self.valid_low_m < self.valid_high_m:
            raise ValueError(
                f"{owner}.valid_high_m must be above valid_low_m ({self.valid_low_m} m), "
                f"got {self.valid_high_m} m"
            )
        positive = ("max_jump_m", "jump_window_s", "dropout_s", "stuck_after_s")
        for field in positive:
            if not getattr(self, field) > 0:
                raise ValueError(f"{owner}.{field} must be > 0, got {getattr(self, field)!r}")
        for field in ("stuck_epsilon_m", "suspect_hold_s"):
            if getattr(self, field) < 0:
                raise ValueError(f"{owner}.{field} must be >= 0, got {getattr(self, field)!r}")
        n = self.spike_confirm_samples
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ValueError(f"{owner}.spike_confirm_samples must be an integer >= 2, got {n!r}")
        if not 0 <= self.battery_low_pct <= 100:
            raise ValueError(
                f"{owner}.battery_low_pct must be in [0, 100] %, got {self.battery_low_pct}"
            )

    @classmethod
    def river(cls) -> FaultConfig:
        """River gauge: stage -5..15 m, always wet, stuck after 3 h of identical readings."""
        return cls(valid_low_m=-5.0, valid_high_m=15.0, stuck_after_s=10800.0, stuck_wet_m=-5.0)

    @classmethod
    def street(cls) -> FaultConfig:
        """Street point: depth -0.05..5 m, stuck after 1 h unchanged with >= 5 cm water or rain.

        The low limit leaves 5 cm for the noise and drift of an ultrasonic
        sensor zeroed on a dry road, so a dry street does not read out of range.
        """
        return cls(valid_low_m=-0.05, valid_high_m=5.0, stuck_after_s=3600.0, stuck_wet_m=0.05)

    def plausible_jump_m(self, dt_s: float) -> float:
        """Largest plausible change (m) between readings ``dt_s`` seconds apart."""
        return self.max_jump_m * max(dt_s, self.jump_window_s) / self.jump_window_s


@dataclass(frozen=True)
class SensorReading:
    """What the detector concluded at one scan.

    Attributes:
        value_m: the last accepted reading (m), or None if there never was one.
        time_s: its source time (s), or None.
        new: True when ``value_m`` was accepted at this scan.
        health: the sensor's health now.
        fault: the fault seen at this scan, or the standing one (dropout,
            stuck), or None.
    """

    value_m: float | None
    time_s: float | None
    new: bool
    health: SensorHealth
    fault: Fault | None


class SensorFaultDetector:
    """Fault detection and health of one level sensor (see the module notes).

    Args:
        config: the sensor's limits.
    """

    __slots__ = (
        "_last_problem",
        "_last_seen",
        "_pending",
        "_rain_since",
        "_seen_fault",
        "_standing",
        "_start",
        "_still_since",
        "_still_value",
        "config",
        "counts",
        "time_s",
        "value_m",
    )

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        #: last accepted reading (m) and its source time (s)
        self.value_m: float | None = None
        self.time_s: float | None = None
        #: faults seen, by kind (a dropout or a stuck spell counts once)
        self.counts: dict[str, int] = {f.value: 0 for f in Fault}
        self._start: float | None = None
        self._last_seen: float | None = None  # newest source time seen, as stamped (s)
        self._last_problem: float | None = None  # scan time of the last fault (s)
        self._pending: list[tuple[float, float]] = []  # rejected jump (s, m), oldest first
        self._still_value: float | None = None  # reference of the unchanged spell (m)
        self._still_since: float | None = None  # its source time (s)
        self._rain_since: float | None = None  # scan time since when it rains hard (s)
        self._seen_fault: Fault | None = None  # fault of the newest reading seen
        self._standing: Fault | None = None  # dropout or stuck standing at the last scan

    # ------------------------------------------------------------------ scan
    def observe(
        self, now: float, sample: Sample | None, rain_mm_h: float | None = None
    ) -> SensorReading:
        """Judge this scan's sample at ``now`` (s); ``rain_mm_h``: a GOOD rain rate or None."""
        if self._start is None:
            self._start = now
        self._track_rain(now, rain_mm_h)
        fault, new, fresh = self._judge(now, sample)
        if fault is not None:
            self._last_problem = now
            if fresh:
                self.counts[fault.value] += 1
        standing = self._standing_fault(now)
        if standing is not None and standing is not self._standing:
            self.counts[standing.value] += 1
        if standing is None and self._standing is not None:
            self._last_problem = now  # back from FAILED: SUSPECT for suspect_hold_s
        self._standing = standing
        if standing is not None:
            return SensorReading(self.value_m, self.time_s, new, SensorHealth.FAILED, standing)
        health = SensorHealth.OK
        if self.value_m is None or (
            self._last_problem is not None and now - self._last_problem < self.config.suspect_hold_s
        ):
            health = SensorHealth.SUSPECT
        return SensorReading(self.value_m, self.time_s, new, health, fault)

    def _track_rain(self, now: float, rain_mm_h: float | None) -> None:
        if rain_mm_h is not None and rain_mm_h >= self.config.stuck_rain_mm_h:
            if self._rain_since is None:
                self._rain_since = now
        else:
            self._rain_since = None

    def _judge(self, now: float, sample: Sample | None) -> tuple[Fault | None, bool, bool]:
        """This scan's fault (None if none), whether a reading was accepted, and whether
        the fault is a fresh judgement (False: the same rejected reading seen again)."""
        if sample is None or sample.quality is not Quality.GOOD:
            return Fault.MISSING, False, True
        stamp = sample.source_time
        if isinstance(stamp, bool) or not isinstance(stamp, int | float):
            return Fault.MISSING, False, True
        if not math.isfinite(stamp):
            return Fault.MISSING, False, True
        if self._last_seen is not None and stamp <= self._last_seen:
            return self._seen_fault, False, False  # the reading already judged
        self._last_seen = float(stamp)
        # a sensor clock ahead of ours cannot put a reading in the future
        fault, accepted = self._judge_value(min(float(stamp), now), sample.value)
        self._seen_fault = None if accepted else fault
        return fault, accepted, True

    def _judge_value(self, stamp: float, value: object) -> tuple[Fault | None, bool]:
        """The fault of a new reading (None if none) and whether it is accepted."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return Fault.NOT_A_NUMBER, False
        number = float(value)
        if not math.isfinite(number):
            return Fault.NOT_A_NUMBER, False
        cfg = self.config
        if not cfg.valid_low_m <= number <= cfg.valid_high_m:
            return Fault.OUT_OF_RANGE, False
        fault = None
        if self.value_m is not None and self.time_s is not None:
            jump = abs(number - self.value_m)
            if jump > cfg.plausible_jump_m(stamp - self.time_s):
                if not self._confirms_jump(stamp, number):
                    return Fault.SPIKE, False
                fault = Fault.SPIKE  # a confirmed step: accepted, but still a fault to note
        self._accept(stamp, number)
        return fault, True

    def _confirms_jump(self, stamp: float, value: float) -> bool:
        """Queue a jumped reading; True when enough agreeing ones make the step real."""
        pending = self._pending
        if pending:
            t_prev, v_prev = pending[-1]
            if abs(value - v_prev) > self.config.plausible_jump_m(stamp - t_prev):
                pending.clear()
        pending.append((stamp, value))
        return len(pending) >= self.config.spike_confirm_samples

    def _accept(self, stamp: float, value: float) -> None:
        self.value_m, self.time_s = value, stamp
        self._pending.clear()
        still = self._still_value
        if still is None or abs(value - still) > self.config.stuck_epsilon_m:
            self._still_value, self._still_since = value, stamp

    def _standing_fault(self, now: float) -> Fault | None:
        """DROPOUT or STUCK if one stands at ``now`` (s), else None."""
        cfg = self.config
        last = self.time_s if self.time_s is not None else self._start
        if last is not None and now - last > cfg.dropout_s:
            return Fault.DROPOUT
        if self._stuck():
            return Fault.STUCK
        return None

    def _stuck(self) -> bool:
        cfg = self.config
        if self._still_since is None or self._still_value is None or self.time_s is None:
            return False
        still_for = self.time_s - self._still_since
        if still_for < cfg.stuck_after_s:
            return False
        if self._still_value >= cfg.stuck_wet_m:
            return True
        return self._rain_since is not None and self.time_s - self._rain_since >= cfg.stuck_after_s

    # ------------------------------------------------------ snapshot / restore
    def snapshot(self) -> dict[str, Any]:
        """State as plain data (times in s, values in m)."""
        return {
            "value_m": self.value_m,
            "time_s": self.time_s,
            "counts": dict(self.counts),
            "start": self._start,
            "last_seen": self._last_seen,
            "last_problem": self._last_problem,
            "pending": [[t, v] for t, v in self._pending],
            "still_value": self._still_value,
            "still_since": self._still_since,
            "rain_since": self._rain_since,
            "seen_fault": None if self._seen_fault is None else self._seen_fault.value,
            "standing": None if self._standing is None else self._standing.value,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot` (raises ValueError if malformed)."""

        def opt(key: str) -> float | None:
            value = state[key]
            return None if value is None else float(value)

        try:
            restored = {
                "value_m": opt("value_m"),
                "time_s": opt("time_s"),
                "start": opt("start"),
                "last_seen": opt("last_seen"),
                "last_problem": opt("last_problem"),
                "still_value": opt("still_value"),
                "still_since": opt("still_since"),
                "rain_since": opt("rain_since"),
            }
            counts = {f.value: int(state["counts"][f.value]) for f in Fault}
            pending = [(float(t), float(v)) for t, v in state["pending"]]
            seen = None if state["seen_fault"] is None else Fault(state["seen_fault"])
            standing = None if state["standing"] is None else Fault(state["standing"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed sensor fault snapshot ({exc!r})") from exc
        self.value_m, self.time_s = restored["value_m"], restored["time_s"]
        self._start, self._last_seen = restored["start"], restored["last_seen"]
        self._last_problem = restored["last_problem"]
        self._still_value, self._still_since = restored["still_value"], restored["still_since"]
        self._rain_since = restored["rain_since"]
        self.counts, self._pending = counts, pending
        self._seen_fault, self._standing = seen, standing
