"""A flood-warning point as a field device: sensors, solar power and LoRa uplink together.

:class:`WarningPointDevice` is a plant model of one site of
``scenarios/dongha/flood_points.yaml``: given the true water level and rain
at the site, it produces what the hardware would, and knows nothing of who
reads it.

Each :meth:`WarningPointDevice.step` ``(now_s, true_level_m, rain_mm_h, rng)``:

1. charges the battery from the panel and feeds the idle load over the
   interval since the previous step (rain dims the sun, see
   :func:`~sim.hydro.level_sensor.cloud_factor`), and lets the rain gauge
   count the interval's rain (``rain_mm_h`` is the mean rate over it);
2. at each report time (every ``period_s``, on a fixed grid offset by a
   per-device phase so that points do not all transmit at once), if
   powered: reads the level sensor, builds the 11-byte payload, sends it on
   LoRa. The on-site reading (:attr:`WarningPointDevice.local`) is updated
   whatever the radio does; the uplink event is returned only when the
   network server received it.

A step that spans several report times makes one report (missed grid slots
are skipped, not back-filled): step at least once per period. While the
device is browned out it neither reads, counts rain nor reports; after it
restarts, its rain interval starts afresh (the logger rebooted).

Output points (the on-site reading, refreshed at each report; names
``flood/<id>/<field>``):

``flood/Pnn/level_m`` (m)
    river: stage above the national datum; street: water depth above the
    road, clipped at 0 by the firmware (sensor noise on a dry road would read
    a few mm below zero). None when the sensor gave no valid level (dropout,
    blind zone, out of range, browned out): map it to a BAD sample.
``flood/Pnn/rain_mm_h`` (mm/h)
    mean rain rate over the last report interval from the tipping bucket;
    None at points without a rain gauge and before the first report.
``flood/Pnn/battery_pct`` (%)
    battery state of charge, 0 .. 100 (always known: the charge controller
    measures it even while the load is disconnected).
``flood/Pnn/uplink_ok`` (bool)
    True when the most recent report reached the network server (the
    plant-side truth; a real device learns it from a link check). False
    before the first delivered report and after a report that was lost,
    blocked by the duty cycle or not made for lack of power.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np

from sim.hydro.level_sensor import (
    Fault,
    FaultKind,
    LevelReading,
    LevelStatus,
    PowerSpec,
    RainGaugeSpec,
    SolarBattery,
    TippingBucketGauge,
    UltrasonicLevelSensor,
    UltrasonicSpec,
)
from sim.hydro.lora import (
    LEVEL_MAX_MM,
    LEVEL_MIN_MM,
    TIP_MM,
    DeviceIdentity,
    FloodPayload,
    LinkGateway,
    LoraSpec,
    LoraUplink,
    StatusFlag,
    Transmission,
    encode_payload,
    max_rain_tips,
    render_up_event,
    up_topic,
)
from sim.hydro.sites import ChirpStackNetwork, SiteKind, WarningSite

__all__ = ["POINT_FIELDS", "DeviceStats", "LocalReading", "UplinkEvent", "WarningPointDevice"]

POINT_FIELDS: tuple[tuple[str, str], ...] = (
    ("level_m", "m"),
    ("rain_mm_h", "mm/h"),
    ("battery_pct", "%"),
    ("uplink_ok", ""),
)
"""(field, SI unit) of the output points ``flood/<id>/<field>``."""

_STATUS_FLAG = {
    LevelStatus.OUT_OF_RANGE: StatusFlag.OUT_OF_RANGE,
    LevelStatus.BLIND_ZONE: StatusFlag.BLIND_ZONE,
    LevelStatus.NO_READING: StatusFlag.NO_READING,
}


@dataclass(frozen=True)
class LocalReading:
    """What the on-site controller sees (refreshed at each report).

    Attributes:
        t_s: time of the latest report attempt or step (s).
        level_m: latest level in the site's frame (m), None when invalid.
        level_status: status of the latest level reading; None before the first.
        rain_mm_h: mean rain over the latest report interval (mm/h), None
            without a gauge or before the first report.
        battery_pct: state of charge (%, 0 .. 100).
        uplink_ok: see the module docstring.
        powered: False while the low-voltage disconnect is open.
    """

    t_s: float
    level_m: float | None
    level_status: LevelStatus | None
    rain_mm_h: float | None
    battery_pct: float
    uplink_ok: bool
    powered: bool


@dataclass(frozen=True)
class UplinkEvent:
    """An uplink as the centre receives it from ChirpStack.

    Attributes:
        t_s: simulation time the network server publishes it (s): report
            time plus time on air.
        topic: MQTT topic ``application/{applicationId}/device/{devEui}/event/up``.
        message: the v4 ``up`` event (JSON-ready dict).
        payload: the 11-byte application payload.
        f_cnt: the frame counter.
    """

    t_s: float
    topic: str
    message: dict[str, Any]
    payload: bytes
    f_cnt: int

    def json(self) -> str:
        """The event as JSON text (UTF-8, keys in ChirpStack's order)."""
        return json.dumps(self.message, ensure_ascii=False)


@dataclass
class DeviceStats:
    """Counters of a device's reports (all since construction)."""

    reports_due: int = 0  # report times reached
    unpowered: int = 0  # reports not made: browned out
    sent: int = 0  # frames on air
    delivered: int = 0  # frames received by the network server
    lost: int = 0  # frames on air but not received
    blocked: int = 0  # reports not sent: duty cycle or dwell time
    last_tx: Transmission | None = None  # the latest report's radio outcome


class WarningPointDevice:
    """One flood-warning point's hardware (see the module docstring).

    Args:
        site: the site (from :func:`~sim.hydro.sites.load_warning_sites`).
        network: the catalog's ChirpStack network (identity and gateways).
        start: wall-clock time of simulation second 0 (timezone-aware); sets
            the sun for the panel and the events' times.
        sensor: level sensor; default by kind (``UltrasonicSpec.river()`` /
            ``street()``).
        rain: rain gauge parameters (used when the site has a gauge).
        power: panel, battery and loads.
        link: radio parameters; default ``LoraSpec(spreading_factor=site.spreading_factor)``.
        faults: fault windows (level sensor, ``clog``, ``link_down``).
        phase_s: first report time (s, 0 .. period); default: CRC-32 of the
            DevEUI modulo the period, so that points spread over the period.

    Raises:
        ValueError: a street sensor cannot see the dry road (mount height
            beyond its range), or the measurable levels do not fit the payload.
    """

    def __init__(
        self,
        site: WarningSite,
        network: ChirpStackNetwork,
        start: datetime,
        *,
        sensor: UltrasonicSpec | None = None,
        rain: RainGaugeSpec | None = None,
        power: PowerSpec | None = None,
        link: LoraSpec | None = None,
        faults: Sequence[Fault] = (),
        phase_s: float | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware (Đông Hà is UTC+7)")
        self.site = site
        self.start = start
        self.faults = tuple(faults)
        spec = sensor or (
            UltrasonicSpec.river() if site.kind is SiteKind.RIVER else UltrasonicSpec.street()
        )
        if site.kind is SiteKind.STREET and site.mount_height_m > spec.max_range_m:
            raise ValueError(
                f"site {site.id}: mount height {site.mount_height_m} m exceeds the sensor's "
                f"range {spec.max_range_m} m, so it never sees the dry road. Hint: a lower "
                "mount or a longer-range sensor"
            )
        self.sensor = UltrasonicLevelSensor(
            spec, site.mount_height_m, site.gauge_datum_m, self.faults
        )
        if self.sensor.top_m * 1000 > LEVEL_MAX_MM or self.sensor.bottom_m * 1000 < LEVEL_MIN_MM:
            raise ValueError(
                f"site {site.id}: measurable levels {self.sensor.bottom_m:.2f} .. "
                f"{self.sensor.top_m:.2f} m do not fit the payload's "
                f"{LEVEL_MIN_MM / 1000} .. {LEVEL_MAX_MM / 1000} m. Hint: check gauge_datum_m"
            )
        self.gauge = (
            TippingBucketGauge(rain or RainGaugeSpec(tip_mm=TIP_MM), self.faults)
            if site.rain_gauge
            else None
        )
        if self.gauge is not None and self.gauge.spec.tip_mm != TIP_MM:
            raise ValueError(f"the payload counts tips of {TIP_MM} mm; the gauge must match")
        self.power = SolarBattery(power or PowerSpec(), start, site.lat, site.lon)
        gateways = [
            LinkGateway(g.id, math.hypot(site.x_m - g.x_m, site.y_m - g.y_m), g.lat, g.lon)
            for g in network.gateways
        ]
        self.link = LoraUplink(link or LoraSpec(spreading_factor=site.spreading_factor), gateways)
        self.f_port = network.f_port
        self.identity = DeviceIdentity(
            dev_eui=site.dev_eui,
            device_name=f"flood-{site.id}",
            dev_addr="01" + site.dev_eui[-6:],
            application_id=site.application_id,
            application_name=network.application_name,
            tenant_id=network.tenant_id,
            tenant_name=network.tenant_name,
            device_profile_id=network.device_profile_id,
            device_profile_name=network.device_profile_name,
            tags={"site": site.id, "kind": site.kind.value, "ward": site.ward},
            region_config_id=network.region_config_id,
        )
        self.topic = up_topic(site.application_id, site.dev_eui)
        period = site.period_s
        self.phase_s = (
            float(zlib.crc32(site.dev_eui.encode()) % int(period)) if phase_s is None else phase_s
        )
        if not 0.0 <= self.phase_s <= period:
            raise ValueError(f"phase_s must be 0 .. period ({period} s), got {self.phase_s}")
        self.stats = DeviceStats()
        self._t: float | None = None
        self._next_report_s = self.phase_s
        self._window_start_s = 0.0
        self._window_tips = 0
        self._tips_total = 0
        self._last_level: LevelReading | None = None
        self._rain_mm_h: float | None = None
        self._uplink_ok = False
        self._local = LocalReading(0.0, None, None, None, self.power.battery_pct, False, True)

    # -- outputs --------------------------------------------------------------
    @property
    def local(self) -> LocalReading:
        """The on-site reading (what the local controller sees)."""
        return self._local

    @property
    def point_names(self) -> tuple[str, ...]:
        """Names of the output points, in :data:`POINT_FIELDS` order."""
        return tuple(self.site.point(f) for f, _unit in POINT_FIELDS)

    def points(self) -> dict[str, float | bool | None]:
        """The output points' current values (see the module docstring)."""
        r = self._local
        return {
            self.site.point("level_m"): r.level_m,
            self.site.point("rain_mm_h"): r.rain_mm_h,
            self.site.point("battery_pct"): r.battery_pct,
            self.site.point("uplink_ok"): r.uplink_ok,
        }

    # -- simulation -----------------------------------------------------------
    def step(
        self, now_s: float, true_level_m: float, rain_mm_h: float, rng: np.random.Generator
    ) -> list[UplinkEvent]:
        """Advance to ``now_s`` (s) under the true level (m, site frame) and rain (mm/h).

        Returns the uplink events the centre receives at this step (zero or one).
        """
        if not math.isfinite(now_s) or (self._t is not None and now_s < self._t):
            raise ValueError(f"site {self.site.id}: now_s {now_s} must be finite and not go back")
        if not math.isfinite(true_level_m):
            raise ValueError(f"site {self.site.id}: true level must be finite (m)")
        if not (math.isfinite(rain_mm_h) and rain_mm_h >= 0.0):
            raise ValueError(f"site {self.site.id}: rain must be finite and >= 0 mm/h")
        was_powered = self.power.powered
        self.power.advance(now_s, rain_mm_h)
        tips = self.gauge.advance(now_s, rain_mm_h) if self.gauge is not None else 0
        if self._t is None:
            self._t = now_s
            self._window_start_s = now_s
            # a logger measures and reports when it powers up, then on its period grid;
            # the on-site controller starts with a reading instead of a gap it would
            # take for a sensor dropout
            self._next_report_s = now_s
        self._t = now_s
        if self.power.powered and not was_powered:  # the logger rebooted
            self._window_start_s = now_s
            self._window_tips = 0
        elif self.power.powered:
            self._window_tips += tips
            self._tips_total = (self._tips_total + tips) % 65_536
        events: list[UplinkEvent] = []
        if now_s >= self._next_report_s:
            self._next_report_s = self._grid_at_or_after(now_s, strictly_after=True)
            self.stats.reports_due += 1
            events = self._report(now_s, true_level_m, rain_mm_h, rng)
        self._refresh(now_s)
        return events

    def _grid_at_or_after(self, t_s: float, *, strictly_after: bool = False) -> float:
        period = self.site.period_s
        k = math.ceil((t_s - self.phase_s) / period)
        at = self.phase_s + k * period
        if strictly_after and at <= t_s:
            at += period
        return at

    def _report(
        self, now_s: float, true_level_m: float, rain_mm_h: float, rng: np.random.Generator
    ) -> list[UplinkEvent]:
        if not self.power.draw(self.power.spec.sense_wh):
            self.stats.unpowered += 1
            self._uplink_ok = False
            return []
        reading = self.sensor.read(now_s, true_level_m, rng)
        if self.site.kind is SiteKind.STREET and reading.level_m is not None:
            # the firmware reports a street depth >= 0: noise on a dry road reads mm below zero
            reading = replace(reading, level_m=max(reading.level_m, 0.0))
        self._last_level = reading
        if not self.power.powered:  # the reading drained the battery to the cut-off
            self.stats.unpowered += 1
            self._uplink_ok = False
            return []
        interval = max(1, min(65_535, round(now_s - self._window_start_s)))
        flags = StatusFlag(0)
        tips = 0
        if self.gauge is not None:
            flags |= StatusFlag.RAIN_GAUGE
            tips = min(self._window_tips, max_rain_tips(interval))
            if tips < self._window_tips:
                flags |= StatusFlag.RAIN_CLIPPED
            span = now_s - self._window_start_s
            self._rain_mm_h = self._window_tips * TIP_MM * 3600.0 / span if span > 0 else 0.0
        level_mm: int | None = None
        if reading.status is LevelStatus.OK and reading.level_m is not None:
            level_mm = round(reading.level_m * 1000.0)
        else:
            flags |= StatusFlag.LEVEL_INVALID | _STATUS_FLAG[reading.status]
        if self.power.low_battery:
            flags |= StatusFlag.LOW_BATTERY
        payload = FloodPayload(
            level_mm=level_mm,
            rain_tips=tips,
            rain_tips_total=self._tips_total if self.gauge is not None else 0,
            interval_s=interval,
            battery_pct=max(0, min(100, round(self.power.battery_pct))),
            flags=flags,
        )
        raw = encode_payload(payload)
        link_down = any(f.kind is FaultKind.LINK_DOWN and f.active(now_s) for f in self.faults)
        tx = self.link.transmit(now_s, raw, rain_mm_h, rng, force_loss=link_down)
        self.stats.last_tx = tx
        self._uplink_ok = tx.delivered
        if not tx.sent:
            self.stats.blocked += 1
            return []
        self.stats.sent += 1
        self.power.draw(self.power.spec.tx_w * tx.airtime_s / 3600.0)
        self._window_start_s = now_s
        self._window_tips = 0
        if not tx.delivered:
            self.stats.lost += 1
            return []
        self.stats.delivered += 1
        message = render_up_event(
            self.identity, tx, raw, self.start, self.f_port, payload.to_object()
        )
        assert tx.f_cnt is not None
        return [UplinkEvent(now_s + tx.airtime_s, self.topic, message, raw, tx.f_cnt)]

    def _refresh(self, now_s: float) -> None:
        powered = self.power.powered
        level = self._last_level
        self._local = LocalReading(
            t_s=now_s,
            level_m=level.level_m if (powered and level is not None) else None,
            level_status=level.status if level is not None else None,
            rain_mm_h=self._rain_mm_h if (powered and self.gauge is not None) else None,
            battery_pct=self.power.battery_pct,
            uplink_ok=self._uplink_ok and powered,
            powered=powered,
        )
