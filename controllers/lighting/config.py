"""Configuration of the lighting controller of one pilot section, validated on construction.

:meth:`LightingControllerConfig.from_mapping` builds it from plain data (the
scenario YAML) and names the offending key in every error. Schema (units;
defaults after ``=``)::

    name: lighting/hung_vuong          # controller name (= "lighting")
    scan_period_s: 1.0                 # s, > 0 (= 1.0)
    mode: adaptive                     # adaptive | fixed (= adaptive)
    site: {lat_deg: 16.82, lon_deg: 107.10}   # deg N, deg E (required)
    start_utc_s: 1767261600            # POSIX s of run time 0 (required; or
                                       #   start: "2026-01-01T17:00:00+07:00")
    utc_offset_h: 7.0                  # h, local − UTC (= 7.0)
    calendar: {...}                    # see controllers.lighting.program (required)
    poles:                             # required, ids unique
      - {id: HV-E01, cabinet: HV-C1, side: E, index: 1,
         neighbours: [HV-E02], rated_w: 120}   # neighbours, rated_w optional
    cabinets:                          # required, every pole's cabinet
      HV-C1: {commissioning: {M2: 95, M3: 72, M4: 55, M5: 40, M6: 28},
              road: {parked_vehicles: present}}  # road: per-segment overrides
    road: {speed: moderate, composition: mixed, separation: "no",
           junction_density: high, parked_vehicles: not_present,
           ambient: moderate, navigation: good}  # CIE 115 options (these defaults)
    volume_bands: {capacity_veh_h: 2400, very_high: 0.65, high: 0.45,
                   moderate: 0.15, low: 0.07}    # fractions, or the four in veh/h
    time_bands: [{start: "17:00", name: evening, design_volume: very_high}, ...]
    class_step_down_hold_s: 900        # s, >= 0
    rain: {wet_above_mm_h: 0.5, dry_after_s: 1800, wet_class_steps: 1}
    photocell: {dark_below_lx: 20, light_above_lx: 50}
    boost: {enabled: true, level_pct: null, class_steps: 1, hold_s: 60,
            neighbours: 2, ramp_down_pct_per_s: null}
    link: {central_ttl_s: 60, preloaded_program: false}
    driver: {rated_w: 100, a: 0.09, b: 0.91, standby_w: 0.5, min_dim_pct: 10}
    faults: {rel_tol: 0.15, abs_tol_w: 5, persist_scans: 3, clear_scans: 3,
             settle_s: 2}

Derived neighbours: unless a pole lists its own, its neighbours are the other
poles (either side) whose ``index`` differs by at most ``boost.neighbours``.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controllers.io import validate_point_name
from controllers.lighting.central import (
    MODES,
    PhotocellRule,
    RainRule,
    TimeBand,
    parse_commissioning,
)
from controllers.lighting.cie115 import FIXED_PARAMETERS, RoadParameters, VolumeBands
from controllers.lighting.classes import LightingClass
from controllers.lighting.faults import DriverModel, FaultConfig
from controllers.lighting.pole import BoostConfig
from controllers.lighting.program import Calendar

__all__ = ["CabinetConfig", "LightingControllerConfig", "PoleConfig", "default_time_bands"]


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _check_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or "/" in value:
        raise ValueError(f"{where} must be one point-name segment like 'HV-E01', got {value!r}")
    try:
        validate_point_name(f"light/{value}")
    except ValueError as exc:
        raise ValueError(f"{where} {value!r}: use letters, digits and _ . # : -") from exc
    return value


def default_time_bands() -> tuple[TimeBand, ...]:
    """Evening (17:00, very high), night (22:00, high), late night (00:00, moderate),
    morning (04:30, very high) — design volumes for a bad count."""
    return (
        TimeBand(17 * 3600.0, "evening", "very_high"),
        TimeBand(22 * 3600.0, "night", "high"),
        TimeBand(0.0, "late_night", "moderate"),
        TimeBand(4.5 * 3600.0, "morning", "very_high"),
    )


@dataclass(frozen=True, slots=True)
class PoleConfig:
    """One pole.

    Attributes:
        pole_id: id, e.g. ``HV-E01`` (a point-name segment).
        cabinet: id of the cabinet feeding it.
        side: side of the road (``E`` east/north, ``W`` west/south; free text).
        index: position along the road (1 = at the railway crossing).
        neighbours: explicit neighbours to pre-light, or None to derive them.
        rated_w: the pole's rated power (W), or None for ``driver.rated_w``.
    """

    pole_id: str
    cabinet: str
    side: str
    index: int
    neighbours: tuple[str, ...] | None = None
    rated_w: float | None = None

    def __post_init__(self) -> None:
        _check_id(self.pole_id, "pole id")
        _check_id(self.cabinet, f"pole {self.pole_id}: cabinet")
        if not isinstance(self.side, str) or not self.side:
            raise ValueError(f"pole {self.pole_id}: side must be text like 'E', got {self.side!r}")
        if isinstance(self.index, bool) or not isinstance(self.index, int):
            raise ValueError(f"pole {self.pole_id}: index must be an integer, got {self.index!r}")
        if self.neighbours is not None and not (
            isinstance(self.neighbours, tuple) and all(isinstance(n, str) for n in self.neighbours)
        ):
            raise ValueError(f"pole {self.pole_id}: neighbours must be a list of pole ids")
        if self.rated_w is not None and not (_finite(self.rated_w) and self.rated_w > 0):
            raise ValueError(f"pole {self.pole_id}: rated_w must be > 0 W, got {self.rated_w!r}")


@dataclass(frozen=True, slots=True)
class CabinetConfig:
    """One cabinet and the segment it feeds.

    Attributes:
        cabinet_id: id, e.g. ``HV-C1``.
        commissioning: lowest uniform dim level (%) meeting each class on the segment.
        road: CIE 115 fixed parameters of the segment.
    """

    cabinet_id: str
    commissioning: Mapping[LightingClass, float]
    road: RoadParameters = field(default_factory=RoadParameters)

    def __post_init__(self) -> None:
        _check_id(self.cabinet_id, "cabinet id")
        if not isinstance(self.road, RoadParameters):
            raise ValueError(f"cabinet {self.cabinet_id}: road must be RoadParameters")
        for cls, level in self.commissioning.items():
            if not isinstance(cls, LightingClass) or not (_finite(level) and 0 < level <= 100):
                raise ValueError(
                    f"cabinets.{self.cabinet_id}.commissioning: need LightingClass -> (0, 100] %"
                )


@dataclass(frozen=True)
class LightingControllerConfig:
    """Everything the section's lighting controller needs (see the module docstring)."""

    lat_deg: float
    lon_deg: float
    start_utc_s: float
    calendar: Calendar
    poles: tuple[PoleConfig, ...]
    cabinets: tuple[CabinetConfig, ...]
    utc_offset_h: float = 7.0
    name: str = "lighting"
    scan_period_s: float = 1.0
    mode: str = "adaptive"
    volume_bands: VolumeBands = field(default_factory=lambda: VolumeBands.from_capacity(2400.0))
    time_bands: tuple[TimeBand, ...] = field(default_factory=default_time_bands)
    class_step_down_hold_s: float = 900.0
    rain: RainRule = field(default_factory=RainRule)
    photocell: PhotocellRule = field(default_factory=PhotocellRule)
    boost: BoostConfig = field(default_factory=BoostConfig)
    central_ttl_s: float = 60.0
    preloaded_program: bool = False
    driver: DriverModel = field(default_factory=DriverModel)
    faults: FaultConfig = field(default_factory=FaultConfig)

    def __post_init__(self) -> None:
        if not (_finite(self.lat_deg) and -90 <= self.lat_deg <= 90):
            raise ValueError(f"site.lat_deg must be in -90..90 deg N, got {self.lat_deg!r}")
        if not (_finite(self.lon_deg) and -180 <= self.lon_deg <= 180):
            raise ValueError(f"site.lon_deg must be in -180..180 deg E, got {self.lon_deg!r}")
        if not _finite(self.start_utc_s):
            raise ValueError(f"start_utc_s must be finite POSIX seconds, got {self.start_utc_s!r}")
        if not (_finite(self.utc_offset_h) and -14 <= self.utc_offset_h <= 14):
            raise ValueError(f"utc_offset_h must be in -14..14 h, got {self.utc_offset_h!r}")
        if not isinstance(self.calendar, Calendar):
            raise ValueError("calendar must be a Calendar")
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be non-empty text, got {self.name!r}")
        if not (_finite(self.scan_period_s) and self.scan_period_s > 0):
            raise ValueError(f"scan_period_s must be > 0 s, got {self.scan_period_s!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {self.mode!r}")
        for name in ("class_step_down_hold_s", "central_ttl_s"):
            v = getattr(self, name)
            if not (_finite(v) and v >= 0):
                raise ValueError(f"{name} must be >= 0 s, got {v!r}")
        if not isinstance(self.preloaded_program, bool):
            raise ValueError(
                f"link.preloaded_program must be true or false, got {self.preloaded_program!r}"
            )
        if not self.time_bands:
            raise ValueError("time_bands: give at least one band")
        starts = [b.start_s for b in self.time_bands]
        if len(set(starts)) != len(starts):
            raise ValueError("time_bands: two bands start at the same time")
        if not self.poles:
            raise ValueError("poles: give at least one pole")
        if not self.cabinets:
            raise ValueError("cabinets: give at least one cabinet")
        cab_ids = [c.cabinet_id for c in self.cabinets]
        if len(set(cab_ids)) != len(cab_ids):
            raise ValueError(f"cabinets: duplicate cabinet ids in {cab_ids}")
        pole_ids = [p.pole_id for p in self.poles]
        dup = sorted({p for p in pole_ids if pole_ids.count(p) > 1})
        if dup:
            raise ValueError(f"poles: duplicate pole ids {dup}")
        clash = sorted(set(pole_ids) & set(cab_ids))
        if clash:
            raise ValueError(f"poles and cabinets share ids {clash}; ids must be unique")
        for p in self.poles:
            if p.cabinet not in cab_ids:
                raise ValueError(
                    f"poles: pole {p.pole_id} is fed by unknown cabinet {p.cabinet!r}; "
                    f"known cabinets: {cab_ids}"
                )
            for n in p.neighbours or ():
                if n not in pole_ids or n == p.pole_id:
                    raise ValueError(
                        f"poles: pole {p.pole_id} lists neighbour {n!r}, which is not another "
                        "configured pole"
                    )
        if self.mode == "adaptive":
            for c in self.cabinets:
                if not c.commissioning:
                    raise ValueError(
                        f"cabinets.{c.cabinet_id}.commissioning: adaptive mode needs the dim "
                        "level (%) per class, e.g. {M3: 72.0, M4: 55.0}"
                    )

    # ------------------------------------------------------------- derived
    def neighbours_of(self, pole: PoleConfig) -> tuple[str, ...]:
        """The poles pre-lit by a detection at ``pole`` (explicit or derived), in config order."""
        if pole.neighbours is not None:
            return pole.neighbours
        n = self.boost.neighbours
        return tuple(
            q.pole_id
            for q in self.poles
            if q.pole_id != pole.pole_id and abs(q.index - pole.index) <= n
        )

    def driver_of(self, pole: PoleConfig) -> DriverModel:
        """The driver model of ``pole`` (its own rated power if given)."""
        if pole.rated_w is None:
            return self.driver
        d = self.driver
        return DriverModel(pole.rated_w, d.a, d.b, d.standby_w, d.min_dim_pct)

    # --------------------------------------------------------- from plain data
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> LightingControllerConfig:
        """Build from plain data (the scenario YAML); errors name the offending key."""
        if not isinstance(data, Mapping):
            raise ValueError("lighting controller config: expected a mapping")
        allowed = {
            "name",
            "scan_period_s",
            "mode",
            "site",
            "start_utc_s",
            "start",
            "utc_offset_h",
            "calendar",
            "poles",
            "cabinets",
            "road",
            "volume_bands",
            "time_bands",
            "class_step_down_hold_s",
            "rain",
            "photocell",
            "boost",
            "link",
            "driver",
            "faults",
        }
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        for key in ("site", "calendar", "poles", "cabinets"):
            if key not in data:
                raise ValueError(f"{key}: required key missing")
        kw: dict[str, Any] = {}
        site = _mapping(data["site"], "site", {"lat_deg", "lon_deg"}, required=True)
        kw["lat_deg"], kw["lon_deg"] = site["lat_deg"], site["lon_deg"]
        kw["utc_offset_h"] = data.get("utc_offset_h", 7.0)
        kw["start_utc_s"] = _start_utc_s(data)
        kw["calendar"] = Calendar.from_mapping(data["calendar"], "calendar")
        road = RoadParameters.from_mapping(data.get("road", {}) or {}, "road")
        kw["poles"] = _poles(data["poles"])
        kw["cabinets"] = _cabinets(data["cabinets"], road)
        for key in ("name", "scan_period_s", "mode", "class_step_down_hold_s"):
            if key in data:
                kw[key] = data[key]
        if "volume_bands" in data:
            kw["volume_bands"] = VolumeBands.from_mapping(data["volume_bands"], "volume_bands")
        if "time_bands" in data:
            bands = data["time_bands"]
            if isinstance(bands, str) or not isinstance(bands, Sequence):
                raise ValueError("time_bands: expected a list of {start, name, design_volume}")
            kw["time_bands"] = tuple(
                TimeBand.from_mapping(b, f"time_bands[{i}]") for i, b in enumerate(bands)
            )
        if "rain" in data:
            kw["rain"] = _dataclass(RainRule, data["rain"], "rain")
        if "photocell" in data:
            kw["photocell"] = _dataclass(PhotocellRule, data["photocell"], "photocell")
        if "boost" in data:
            kw["boost"] = BoostConfig.from_mapping(data["boost"], "boost")
        if "link" in data:
            link = _mapping(data["link"], "link", {"central_ttl_s", "preloaded_program"})
            if "central_ttl_s" in link:
                kw["central_ttl_s"] = link["central_ttl_s"]
            if "preloaded_program" in link:
                kw["preloaded_program"] = link["preloaded_program"]
        if "driver" in data:
            kw["driver"] = DriverModel.from_mapping(data["driver"], "driver")
        if "faults" in data:
            kw["faults"] = FaultConfig.from_mapping(data["faults"], "faults")
        return cls(**kw)


def _mapping(
    value: Any, where: str, allowed: set[str], required: bool = False
) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a mapping with keys {sorted(allowed)}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; use {sorted(allowed)}")
    if required:
        missing = sorted(allowed - set(value))
        if missing:
            raise ValueError(f"{where}: missing {missing}")
    return value


def _dataclass(cls: Any, value: Any, where: str) -> Any:
    fields = set(cls.__dataclass_fields__)
    data = _mapping(value, where, fields)
    try:
        return cls(**dict(data))
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        prefix = where + "."
        raise ValueError(msg if msg.startswith(prefix) else f"{where}: {msg}") from exc


def _start_utc_s(data: Mapping[str, Any]) -> float:
    if "start_utc_s" in data and "start" in data:
        raise ValueError("give either start_utc_s or start, not both")
    if "start_utc_s" in data:
        value = data["start_utc_s"]
        if not _finite(value):
            raise ValueError(f"start_utc_s: expected POSIX seconds, got {value!r}")
        return float(value)
    if "start" not in data:
        raise ValueError("start_utc_s: required key missing (or give start: ISO 8601 with offset)")
    value = data["start"]
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"start: {value!r} is not ISO 8601 date-time") from exc
    if not isinstance(value, _dt.datetime) or value.tzinfo is None:
        raise ValueError(
            f"start: need an ISO 8601 date-time with a UTC offset, e.g. "
            f"'2026-01-01T17:00:00+07:00', got {data['start']!r}"
        )
    return value.timestamp()


def _poles(value: Any) -> tuple[PoleConfig, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ValueError("poles: expected a non-empty list of {id, cabinet, side, index}")
    out = []
    allowed = {"id", "cabinet", "side", "index", "neighbours", "rated_w"}
    for i, item in enumerate(value):
        where = f"poles[{i}]"
        item = _mapping(item, where, allowed)
        missing = sorted({"id", "cabinet", "side", "index"} - set(item))
        if missing:
            raise ValueError(f"{where}: missing {missing}")
        neighbours = item.get("neighbours")
        if neighbours is not None:
            if isinstance(neighbours, str) or not isinstance(neighbours, Sequence):
                raise ValueError(f"{where}.neighbours: expected a list of pole ids")
            neighbours = tuple(neighbours)
        try:
            out.append(
                PoleConfig(
                    item["id"],
                    item["cabinet"],
                    item["side"],
                    item["index"],
                    neighbours,
                    item.get("rated_w"),
                )
            )
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
    return tuple(out)


def _cabinets(value: Any, road: RoadParameters) -> tuple[CabinetConfig, ...]:
    if not isinstance(value, Mapping) or not value:
        raise ValueError("cabinets: expected {cabinet_id: {commissioning: {M3: 72.0, ...}}}")
    out = []
    for cab_id, item in value.items():
        where = f"cabinets.{cab_id}"
        item = _mapping(item if item is not None else {}, where, {"commissioning", "road"})
        table = (
            parse_commissioning(item["commissioning"], f"{where}.commissioning")
            if "commissioning" in item
            else {}
        )
        overrides = item.get("road", {}) or {}
        merged = {
            **road.to_mapping(),
            **dict(_mapping(overrides, f"{where}.road", set(FIXED_PARAMETERS))),
        }
        seg_road = RoadParameters.from_mapping(merged, f"{where}.road")
        try:
            out.append(CabinetConfig(str(cab_id), table, seg_road))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
    return tuple(out)
