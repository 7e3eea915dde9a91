"""Field sensors of a flood-warning point: ultrasonic level, tipping-bucket rain, solar power.

Three plant-side models, each fed the truth and returning what the hardware
would give. Randomness comes only from the ``numpy.random.Generator`` passed
to each call; faults come from a schedule of :class:`Fault` windows
``[start_s, end_s)`` in simulation seconds. Nothing here models temperature
(no speed-of-sound correction error).

**Ultrasonic level sensor** (:class:`UltrasonicLevelSensor`): mounted
``mount_height_m`` above the gauge zero and looking down, it measures the
distance to the water ``d = mount_height_m - (level - gauge_datum_m)`` and
reports ``level = gauge_datum_m + mount_height_m - d_measured`` with

- gaussian noise on the distance, ``noise_sd_m`` (mm scale), then quantised
  to ``resolution_m``;
- a slow linear drift of the reported level, ``drift_m_per_day`` (> 0 reads
  high), accumulating from ``t = 0`` (calibration at the start of the run);
- a blind zone: water closer than ``blind_zone_m`` to the sensor face (or
  over it) gives no valid echo -> status ``blind_zone``, no level (the level
  is then *at least* ``gauge_datum_m + mount_height_m - blind_zone_m``);
- a maximum range: water farther than ``max_range_m`` gives no echo ->
  status ``out_of_range``, distance reported as ``max_range_m``, no level
  (the level is then *at most* ``gauge_datum_m + mount_height_m -
  max_range_m``).

Level-sensor faults (:class:`FaultKind`), in order of precedence:
``dropout`` (no reading at all), ``stuck`` (repeats the last reading made
before the fault, with fresh times and status ``ok`` if it was ok: the
insidious one), ``out_of_range`` (forced no-echo: foam, debris, a bird's
nest, a mis-aimed head), ``spike`` (each reading is, with probability
``spike_prob``, an echo off something at a uniformly random distance in the
measuring range: a large outlier reported as ``ok``).

**Tipping-bucket rain gauge** (:class:`TippingBucketGauge`): a bucket of
``tip_mm`` (0.2 mm) tips when full; over any stretch of good operation the
tips count the rain to within one tip (the remainder stays in the bucket).
Fault ``clog``: debris blocks the funnel; rain is retained (no tips) up to
``funnel_capacity_mm``, the rest overflows and is lost; once cleared the
retained water drains through at ``drain_mm_h``, producing late tips.

**Solar + battery power** (:class:`SolarBattery`): a panel of ``panel_w``
(W at 1000 W/m²) under a clear-sky irradiance computed from the sun's
position at Đông Hà (Haurwitz 1945 clear-sky model, solar geometry from the
day of year and the hour), times a cloud factor when it rains
(:func:`cloud_factor`), charges a battery of ``battery_wh``; the electronics
draw ``idle_w`` all the time plus the energy of each reading and each
transmission (:meth:`SolarBattery.draw`). Below ``brownout_soc`` the
low-voltage disconnect opens: no readings, no reports, no load, until the
panel has charged the battery back to ``restart_soc``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import numpy as np

__all__ = [
    "DONGHA_LAT_DEG",
    "DONGHA_LON_DEG",
    "Fault",
    "FaultKind",
    "LevelReading",
    "LevelStatus",
    "PowerSpec",
    "RainGaugeSpec",
    "SolarBattery",
    "TippingBucketGauge",
    "UltrasonicLevelSensor",
    "UltrasonicSpec",
    "clear_sky_ghi_w_m2",
    "cloud_factor",
]

DONGHA_LAT_DEG = 16.817
"""Latitude of Đông Hà's centre (degrees N)."""
DONGHA_LON_DEG = 107.101
"""Longitude of Đông Hà's centre (degrees E)."""


class FaultKind(StrEnum):
    """Faults a warning point can suffer (see the module docstring for signatures)."""

    STUCK = "stuck"  # level sensor repeats its last reading
    SPIKE = "spike"  # level sensor gives random large outliers
    DROPOUT = "dropout"  # level sensor gives no reading
    OUT_OF_RANGE = "out_of_range"  # level sensor hears no echo: reports max range, invalid
    CLOG = "clog"  # rain-gauge funnel blocked
    LINK_DOWN = "link_down"  # no uplink reaches the network (gateway or backhaul out)


@dataclass(frozen=True)
class Fault:
    """A fault active during ``[start_s, end_s)`` (simulation s; ``end_s`` may be infinite).

    ``kind`` accepts a :class:`FaultKind` or its string value (``"stuck"``...).
    """

    kind: FaultKind
    start_s: float
    end_s: float = math.inf

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", FaultKind(self.kind))
        except ValueError:
            known = ", ".join(k.value for k in FaultKind)
            raise ValueError(f"fault kind {self.kind!r} unknown; known: {known}") from None
        if not (math.isfinite(self.start_s) and self.start_s >= 0.0):
            raise ValueError(f"fault {self.kind}: start_s must be finite and >= 0 s")
        if not self.end_s > self.start_s:
            raise ValueError(
                f"fault {self.kind}: end_s ({self.end_s}) must be after start_s ({self.start_s})"
            )

    def active(self, t_s: float) -> bool:
        """True when ``start_s <= t_s < end_s``."""
        return self.start_s <= t_s < self.end_s


def _active(faults: Iterable[Fault], kind: FaultKind, t_s: float) -> bool:
    return any(f.kind is kind and f.active(t_s) for f in faults)


def _check(name: str, value: float, low: float, high: float, unit: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{owner}: {name} must be a number ({unit}), got {value!r}")
    x = float(value)
    if not (math.isfinite(x) and low <= x <= high):
        raise ValueError(
            f"{owner}: {name} = {value!r} out of range; give {low:g} .. {high:g} {unit}"
        )
    return x


# ---------------------------------------------------------------- ultrasonic level sensor


class LevelStatus(StrEnum):
    """Status of one level reading."""

    OK = "ok"  # a level was measured (possibly wrong: spike, stuck, drift)
    NO_READING = "no_reading"  # the sensor gave nothing (dropout)
    OUT_OF_RANGE = "out_of_range"  # no echo within max range; distance = max range
    BLIND_ZONE = "blind_zone"  # water inside the blind zone or over the sensor


@dataclass(frozen=True)
class LevelReading:
    """One level reading.

    Attributes:
        t_s: time of the reading (simulation s).
        level_m: reported level in the site's frame (m; river: above the
            national datum, street: above the road), None unless status is OK.
        distance_m: reported distance from the sensor face to the target (m),
            None on dropout or in the blind zone; ``max_range_m`` when out of range.
        status: see :class:`LevelStatus`.
    """

    t_s: float
    level_m: float | None
    distance_m: float | None
    status: LevelStatus


@dataclass(frozen=True)
class UltrasonicSpec:
    """Parameters of an ultrasonic level sensor.

    Attributes:
        max_range_m: farthest target that returns an echo (m, 0.5 .. 30).
        blind_zone_m: nearest measurable target (m, 0 .. 2, < max_range_m).
        noise_sd_m: standard deviation of the distance noise (m, 0 .. 0.05;
            typically 0.001 .. 0.005).
        resolution_m: reporting step of the distance (m, 0 .. 0.01; 0 = none).
        drift_m_per_day: drift of the reported level (m/day, -0.05 .. 0.05;
            > 0 reads high).
        spike_prob: probability that a reading during a ``spike`` fault is an
            outlier (1, 0 .. 1).
    """

    max_range_m: float = 10.0
    blind_zone_m: float = 0.5
    noise_sd_m: float = 0.003
    resolution_m: float = 0.001
    drift_m_per_day: float = 0.0
    spike_prob: float = 0.3

    def __post_init__(self) -> None:
        owner = "ultrasonic sensor"
        for name, low, high, unit in (
            ("max_range_m", 0.5, 30.0, "m"),
            ("blind_zone_m", 0.0, 2.0, "m"),
            ("noise_sd_m", 0.0, 0.05, "m"),
            ("resolution_m", 0.0, 0.01, "m"),
            ("drift_m_per_day", -0.05, 0.05, "m/day"),
            ("spike_prob", 0.0, 1.0, "(probability)"),
        ):
            object.__setattr__(
                self, name, _check(name, getattr(self, name), low, high, unit, owner)
            )
        if self.blind_zone_m >= self.max_range_m:
            raise ValueError(f"{owner}: blind_zone_m must be < max_range_m; got {self}")

    @classmethod
    def river(cls) -> UltrasonicSpec:
        """A long-range river sensor: 0.5 .. 10 m, 3 mm noise, 1 mm steps (typical datasheets)."""
        return cls(max_range_m=10.0, blind_zone_m=0.5, noise_sd_m=0.003, resolution_m=0.001)

    @classmethod
    def street(cls) -> UltrasonicSpec:
        """A short-range street sensor: 0.3 .. 5 m, 2 mm noise, 1 mm steps."""
        return cls(max_range_m=5.0, blind_zone_m=0.3, noise_sd_m=0.002, resolution_m=0.001)


class UltrasonicLevelSensor:
    """An ultrasonic level sensor looking down at the water (see the module docstring).

    Args:
        spec: sensor parameters.
        mount_height_m: sensor face above the gauge zero (m, > ``blind_zone_m``).
        gauge_datum_m: gauge zero in the site's level frame (m).
        faults: fault windows; kinds other than level-sensor faults are ignored.

    Every :meth:`read` draws exactly three numbers from the generator, whatever
    the faults, so a faulty and a healthy run with one seed stay aligned.
    """

    def __init__(
        self,
        spec: UltrasonicSpec,
        mount_height_m: float,
        gauge_datum_m: float = 0.0,
        faults: Sequence[Fault] = (),
    ) -> None:
        if not (math.isfinite(mount_height_m) and mount_height_m > spec.blind_zone_m):
            raise ValueError(
                f"mount_height_m = {mount_height_m} must exceed the blind zone "
                f"({spec.blind_zone_m} m), or the sensor never reads the dry gauge zero"
            )
        self.spec = spec
        self.mount_height_m = float(mount_height_m)
        self.gauge_datum_m = float(gauge_datum_m)
        self.faults = tuple(faults)
        self._last: LevelReading | None = None
        self._stuck: LevelReading | None = None

    @property
    def top_m(self) -> float:
        """Highest measurable level in the site's frame (m): the blind zone's edge."""
        return self.gauge_datum_m + self.mount_height_m - self.spec.blind_zone_m

    @property
    def bottom_m(self) -> float:
        """Lowest measurable level in the site's frame (m): the maximum range."""
        return self.gauge_datum_m + self.mount_height_m - self.spec.max_range_m

    def read(self, t_s: float, true_level_m: float, rng: np.random.Generator) -> LevelReading:
        """Measure at ``t_s`` (s) a true level ``true_level_m`` (m, the site's frame)."""
        if not math.isfinite(true_level_m):
            raise ValueError(f"true level must be finite (m), got {true_level_m!r}")
        z = float(rng.standard_normal())
        u = float(rng.random())
        v = float(rng.random())
        if _active(self.faults, FaultKind.DROPOUT, t_s):
            return LevelReading(t_s, None, None, LevelStatus.NO_READING)
        if _active(self.faults, FaultKind.STUCK, t_s):
            if self._stuck is None:
                self._stuck = self._last or self._measure(t_s, true_level_m, z, u, v)
            reading = replace(self._stuck, t_s=t_s)
        else:
            self._stuck = None
            reading = self._measure(t_s, true_level_m, z, u, v)
        self._last = reading
        return reading

    def _measure(self, t_s: float, level: float, z: float, u: float, v: float) -> LevelReading:
        s = self.spec
        if _active(self.faults, FaultKind.OUT_OF_RANGE, t_s):
            return LevelReading(t_s, None, s.max_range_m, LevelStatus.OUT_OF_RANGE)
        if _active(self.faults, FaultKind.SPIKE, t_s) and u < s.spike_prob:
            return self._ok(t_s, s.blind_zone_m + v * (s.max_range_m - s.blind_zone_m))
        distance = self.mount_height_m - (level - self.gauge_datum_m)
        if distance < s.blind_zone_m:
            return LevelReading(t_s, None, None, LevelStatus.BLIND_ZONE)
        if distance > s.max_range_m:
            return LevelReading(t_s, None, s.max_range_m, LevelStatus.OUT_OF_RANGE)
        drift = s.drift_m_per_day * t_s / 86400.0
        measured = distance - drift + s.noise_sd_m * z
        return self._ok(t_s, min(max(measured, s.blind_zone_m), s.max_range_m))

    def _ok(self, t_s: float, distance: float) -> LevelReading:
        step = self.spec.resolution_m
        if step > 0.0:
            distance = round(distance / step) * step
        level = round(self.gauge_datum_m + self.mount_height_m - distance, 6)
        return LevelReading(t_s, level, round(distance, 6), LevelStatus.OK)


# ---------------------------------------------------------------- tipping-bucket rain gauge


@dataclass(frozen=True)
class RainGaugeSpec:
    """Parameters of a tipping-bucket rain gauge.

    Attributes:
        tip_mm: rain depth per tip (mm, 0.1 .. 1.0; 0.2 is the common size).
        funnel_capacity_mm: rain a clogged funnel holds before it overflows
            (mm of rain, 0 .. 500).
        drain_mm_h: rate at which retained water drains once the clog clears
            (mm/h, 0.1 .. 500).
    """

    tip_mm: float = 0.2
    funnel_capacity_mm: float = 100.0
    drain_mm_h: float = 20.0

    def __post_init__(self) -> None:
        for name, low, high, unit in (
            ("tip_mm", 0.1, 1.0, "mm"),
            ("funnel_capacity_mm", 0.0, 500.0, "mm"),
            ("drain_mm_h", 0.1, 500.0, "mm/h"),
        ):
            value = _check(name, getattr(self, name), low, high, unit, "rain gauge")
            object.__setattr__(self, name, value)


class TippingBucketGauge:
    """A tipping-bucket rain gauge (see the module docstring).

    :meth:`advance` takes the mean rain rate over the interval since the
    previous call. Conservation, at any time: ``rain_mm == counted_mm +
    bucket_mm + retained_mm + overflow_mm``.
    """

    def __init__(self, spec: RainGaugeSpec | None = None, faults: Sequence[Fault] = ()) -> None:
        self.spec = spec or RainGaugeSpec()
        self.faults = tuple(f for f in faults if f.kind is FaultKind.CLOG)
        self._t: float | None = None
        self._bucket_tips = 0.0  # water in the bucket, in tips (0 <= x < 1)
        self.total_tips = 0
        self.rain_mm = 0.0  # rain that fell on the funnel (mm)
        self.retained_mm = 0.0  # water held by a clogged funnel (mm)
        self.overflow_mm = 0.0  # water lost over a clogged funnel's rim (mm)

    @property
    def counted_mm(self) -> float:
        """Rain counted by tips so far (mm)."""
        return self.total_tips * self.spec.tip_mm

    @property
    def bucket_mm(self) -> float:
        """Water in the bucket, not yet tipped (mm, < ``tip_mm``)."""
        return self._bucket_tips * self.spec.tip_mm

    def advance(self, t_s: float, rain_mm_h: float) -> int:
        """Let rain fall at ``rain_mm_h`` (mm/h, >= 0) until ``t_s`` (s); return the new tips.

        The first call only sets the clock and returns 0.
        """
        if not (math.isfinite(rain_mm_h) and rain_mm_h >= 0.0):
            raise ValueError(f"rain rate must be finite and >= 0 mm/h, got {rain_mm_h!r}")
        if self._t is None:
            self._t = t_s
            return 0
        if t_s < self._t:
            raise ValueError(f"rain gauge: time went backwards ({t_s} s < {self._t} s)")
        cuts = sorted(
            {self._t, t_s}
            | {b for f in self.faults for b in (f.start_s, f.end_s) if self._t < b < t_s}
        )
        tips = 0
        for a, b in itertools.pairwise(cuts):
            tips += self._interval(
                b - a, rain_mm_h, clogged=_active(self.faults, FaultKind.CLOG, a)
            )
        self._t = t_s
        return tips

    def _interval(self, dt_s: float, rain_mm_h: float, *, clogged: bool) -> int:
        s = self.spec
        depth = rain_mm_h * dt_s / 3600.0
        self.rain_mm += depth
        if clogged:
            room = max(s.funnel_capacity_mm - self.retained_mm, 0.0)
            held = min(depth, room)
            self.retained_mm += held
            self.overflow_mm += depth - held
            return 0
        released = min(self.retained_mm, s.drain_mm_h * dt_s / 3600.0)
        self.retained_mm -= released
        self._bucket_tips += (depth + released) / s.tip_mm
        tips = int(self._bucket_tips + 1e-9)  # 1e-9 tip: float sums of 0.2 mm
        self._bucket_tips = max(self._bucket_tips - tips, 0.0)
        self.total_tips += tips
        return tips


# ---------------------------------------------------------------- solar panel and battery


def clear_sky_ghi_w_m2(
    when: datetime, lat_deg: float = DONGHA_LAT_DEG, lon_deg: float = DONGHA_LON_DEG
) -> float:
    """Clear-sky global horizontal irradiance (W/m², 0 .. ~1100) at ``when`` (tz-aware).

    Sun position from the day of year and the UTC hour (Spencer 1971 series
    for declination and equation of time); irradiance by Haurwitz (1945):
    ``GHI = 1098 cos(z) exp(-0.057 / cos(z))`` for a sun above the horizon.
    """
    if when.tzinfo is None:
        raise ValueError("give a timezone-aware datetime (e.g. with tzinfo=UTC)")
    utc = when.astimezone(UTC)
    day = utc.timetuple().tm_yday
    g = 2.0 * math.pi * (day - 1) / 365.0
    decl = (
        0.006918
        - 0.399912 * math.cos(g)
        + 0.070257 * math.sin(g)
        - 0.006758 * math.cos(2 * g)
        + 0.000907 * math.sin(2 * g)
        - 0.002697 * math.cos(3 * g)
        + 0.00148 * math.sin(3 * g)
    )
    eot_min = 229.18 * (
        0.000075
        + 0.001868 * math.cos(g)
        - 0.032077 * math.sin(g)
        - 0.014615 * math.cos(2 * g)
        - 0.040849 * math.sin(2 * g)
    )
    hours = utc.hour + utc.minute / 60.0 + (utc.second + utc.microsecond * 1e-6) / 3600.0
    solar_h = hours + lon_deg / 15.0 + eot_min / 60.0
    omega = math.radians(15.0 * (solar_h - 12.0))
    lat = math.radians(lat_deg)
    cos_z = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(omega)
    if cos_z <= 0.0:
        return 0.0
    return 1098.0 * cos_z * math.exp(-0.057 / cos_z)


def cloud_factor(rain_mm_h: float) -> float:
    """Fraction of clear-sky irradiance that reaches the panel while it rains (1, 0.1 .. 1).

    1.0 dry; 0.3 light rain (< 2.5 mm/h); 0.2 moderate (< 10 mm/h); 0.1 heavy.
    Rain clouds (nimbostratus, deep convection) pass roughly 10-30 % of the
    clear-sky irradiance; these steps are estimates, not measurements.
    """
    if rain_mm_h <= 0.0:
        return 1.0
    if rain_mm_h < 2.5:
        return 0.3
    if rain_mm_h < 10.0:
        return 0.2
    return 0.1


@dataclass(frozen=True)
class PowerSpec:
    """Solar panel, battery and loads of a warning point.

    Attributes:
        panel_w: panel power at 1000 W/m² (W, 0 .. 500).
        battery_wh: usable battery capacity (Wh, 0.1 .. 5000); e.g. 12.8 V x 3 Ah LiFePO4 ≈ 38 Wh.
        initial_soc: state of charge at the start (1, 0 .. 1).
        idle_w: always-on load: MCU, radio asleep, regulator and charge
            controller quiescent current (W, 0 .. 50).
        sense_w, sense_s: power and duration of one level reading (W, 0 .. 50;
            s, 0 .. 60).
        tx_w: power while the radio transmits (W, 0 .. 10); a 14 dBm LoRa
            radio draws ~0.4 W.
        charge_efficiency: fraction of panel energy stored (1, 0.1 .. 1).
        derate: panel losses (soiling, heat, tilt, PWM/MPPT) (1, 0.1 .. 1).
        brownout_soc: state of charge that opens the low-voltage disconnect
            (1, 0 .. 0.5).
        restart_soc: state of charge that closes it again (1, > brownout_soc, <= 1).
        low_battery_soc: below this the reports carry a low-battery flag (1, 0 .. 1).
    """

    panel_w: float = 10.0
    battery_wh: float = 38.0
    initial_soc: float = 0.9
    idle_w: float = 0.08
    sense_w: float = 0.5
    sense_s: float = 1.5
    tx_w: float = 0.45
    charge_efficiency: float = 0.85
    derate: float = 0.8
    brownout_soc: float = 0.05
    restart_soc: float = 0.15
    low_battery_soc: float = 0.2

    def __post_init__(self) -> None:
        for name, low, high, unit in (
            ("panel_w", 0.0, 500.0, "W"),
            ("battery_wh", 0.1, 5000.0, "Wh"),
            ("initial_soc", 0.0, 1.0, "(fraction)"),
            ("idle_w", 0.0, 50.0, "W"),
            ("sense_w", 0.0, 50.0, "W"),
            ("sense_s", 0.0, 60.0, "s"),
            ("tx_w", 0.0, 10.0, "W"),
            ("charge_efficiency", 0.1, 1.0, "(fraction)"),
            ("derate", 0.1, 1.0, "(fraction)"),
            ("brownout_soc", 0.0, 0.5, "(fraction)"),
            ("restart_soc", 0.0, 1.0, "(fraction)"),
            ("low_battery_soc", 0.0, 1.0, "(fraction)"),
        ):
            object.__setattr__(
                self, name, _check(name, getattr(self, name), low, high, unit, "power")
            )
        if self.restart_soc <= self.brownout_soc:
            raise ValueError(
                f"power: restart_soc must exceed brownout_soc (hysteresis); got {self}"
            )

    @property
    def sense_wh(self) -> float:
        """Energy of one level reading (Wh)."""
        return self.sense_w * self.sense_s / 3600.0


class SolarBattery:
    """Battery charged by a solar panel, with a low-voltage disconnect (see the module docstring).

    Args:
        spec: panel, battery and loads.
        start: wall-clock time of simulation second 0 (timezone-aware).
        lat_deg, lon_deg: where the panel is (degrees).
        max_substep_s: longest integration step of :meth:`advance` (s, > 0).
    """

    def __init__(
        self,
        spec: PowerSpec,
        start: datetime,
        lat_deg: float = DONGHA_LAT_DEG,
        lon_deg: float = DONGHA_LON_DEG,
        max_substep_s: float = 300.0,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware (Đông Hà is UTC+7)")
        if not max_substep_s > 0.0:
            raise ValueError("max_substep_s must be > 0 s")
        self.spec = spec
        self.start = start
        self.lat_deg = lat_deg
        self.lon_deg = lon_deg
        self.max_substep_s = max_substep_s
        self.stored_wh = spec.initial_soc * spec.battery_wh
        self.powered = spec.initial_soc > spec.brownout_soc
        self.harvested_wh = 0.0  # stored from the panel so far (Wh)
        self.consumed_wh = 0.0  # drawn by the loads so far (Wh)
        self.brownouts = 0  # times the disconnect opened
        self._t: float | None = None

    @property
    def soc(self) -> float:
        """State of charge (1, 0 .. 1)."""
        return self.stored_wh / self.spec.battery_wh

    @property
    def battery_pct(self) -> float:
        """State of charge (%, 0 .. 100)."""
        return 100.0 * self.soc

    @property
    def low_battery(self) -> bool:
        """True below ``low_battery_soc``."""
        return self.soc < self.spec.low_battery_soc

    def panel_power_w(self, t_s: float, rain_mm_h: float) -> float:
        """Panel output at simulation time ``t_s`` (s) under rain ``rain_mm_h`` (W)."""
        ghi = clear_sky_ghi_w_m2(self.start + timedelta(seconds=t_s), self.lat_deg, self.lon_deg)
        return self.spec.panel_w * ghi / 1000.0 * self.spec.derate * cloud_factor(rain_mm_h)

    def advance(self, t_s: float, rain_mm_h: float) -> None:
        """Charge from the panel and feed the idle load until ``t_s`` (s); rain in mm/h.

        The first call only sets the clock.
        """
        if self._t is None:
            self._t = t_s
            return
        if t_s < self._t:
            raise ValueError(f"power: time went backwards ({t_s} s < {self._t} s)")
        span = t_s - self._t
        n = max(1, math.ceil(span / self.max_substep_s))
        dt = span / n
        for i in range(n):
            mid = self._t + (i + 0.5) * dt
            gain = self.panel_power_w(mid, rain_mm_h) * dt / 3600.0 * self.spec.charge_efficiency
            self._store(gain)
            if self.powered:
                self._spend(self.spec.idle_w * dt / 3600.0)
        self._t = t_s

    def draw(self, energy_wh: float) -> bool:
        """Spend ``energy_wh`` (Wh, >= 0) on a reading or a transmission; False when browned out."""
        if not self.powered:
            return False
        self._spend(energy_wh)
        return True

    def _store(self, wh: float) -> None:
        room = self.spec.battery_wh - self.stored_wh
        stored = min(wh, room)
        self.stored_wh += stored
        self.harvested_wh += stored
        if not self.powered and self.soc >= self.spec.restart_soc:
            self.powered = True

    def _spend(self, wh: float) -> None:
        spent = min(wh, self.stored_wh)
        self.stored_wh -= spent
        self.consumed_wh += spent
        if self.powered and self.soc <= self.spec.brownout_soc:
            self.powered = False
            self.brownouts += 1
