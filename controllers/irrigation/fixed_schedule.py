"""What the farmers do today: the same watering every day at fixed hours.

The baseline the smart controller is measured against (issue 6, KPIs). A
cooperative without sensors waters every plot at fixed times of day with a
depth that changes only with the season (the month), the way extension
leaflets give it: the crop's full-canopy need on an average day of the month.
A farmer sees rain, so a watering is skipped when at least
``skip_after_rain_mm`` fell in the last 24 hours. There is no soil probe, no
checkbook and no forecast.

Points: INPUT ``agri/<s>/rain_mm`` (mm since the last scan); OUTPUT
``agri/<p>/valve_open`` per plot and ``agri/<s>/pump_on`` — the same outputs as
:class:`~controllers.irrigation.controller.IrrigationController`, so either
drives the same plant.

Each watering (local hours ``start_hours``) queues every in-season plot (a crop
calendar, when given, says which; fallow plots are not watered) with a run
time ``depth / n_waterings / efficiency × area / design flow``; plots start
round robin by household while the open valves' design flows fit the pump
capacity (:func:`~controllers.irrigation.schedule.pick_starts`), and each
closes when its run time is over — a timer, not a meter. A watering still
queued at the next one is dropped (the farmer does not water twice). The
watering due before the run's first scan is taken as done.

Schema (units; defaults after ``=``)::

    name: fixed/an_lac                 # (= "fixed/<site>")
    site: an_lac
    start_utc_s: 1767204000            # POSIX s of run time 0
    utc_offset_h: 7.0                  # (= 7.0)
    scan_period_s: 60                  # (= 60)
    pump_capacity_lpm: 290             # L/min
    start_hours: [6.0, 16.0]           # local hours of the waterings (= [6, 16])
    depth_mm_by_month: [2.0, ...]      # 12 net depths per day (mm), Jan..Dec
    skip_after_rain_mm: 10             # (= 10; a large value never skips)
    plots: [{id, household, area_m2, emitter_flow_lpm, efficiency (= 0.9), calendar?}]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from controllers.io import Direction, PointSpec, Sample, ValueType, check_scan_time, good_number
from controllers.irrigation.calendar import CropCalendar
from controllers.irrigation.schedule import Candidate, pick_starts
from controllers.irrigation.validation import number, reject_unknown_keys, segment

__all__ = ["FixedPlot", "FixedScheduleConfig", "FixedScheduleController"]

_DAY = 86_400.0
_SNAPSHOT_VERSION = 1


@dataclass(frozen=True, slots=True)
class FixedPlot:
    """One plot of the timer program (area m², design flow L/min, efficiency 0..1)."""

    plot_id: str
    household: str
    area_m2: float
    emitter_flow_lpm: float
    efficiency: float = 0.9
    calendar: CropCalendar | None = None


@dataclass(frozen=True, slots=True)
class FixedScheduleConfig:
    """Validated configuration (see the module docstring)."""

    name: str
    site: str
    start_utc_s: float
    plots: tuple[FixedPlot, ...]
    pump_capacity_lpm: float
    depth_mm_by_month: tuple[float, ...]
    start_hours: tuple[float, ...] = (6.0, 16.0)
    utc_offset_h: float = 7.0
    scan_period_s: float = 60.0
    skip_after_rain_mm: float = 10.0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FixedScheduleConfig:
        """Build from plain data; every error names the offending key."""
        w = "fixed_schedule"
        if not isinstance(data, Mapping):
            raise ValueError(f"{w} config must be a mapping, got {type(data).__name__}")
        reject_unknown_keys(
            data,
            {
                "name",
                "site",
                "start_utc_s",
                "utc_offset_h",
                "scan_period_s",
                "pump_capacity_lpm",
                "start_hours",
                "depth_mm_by_month",
                "skip_after_rain_mm",
                "plots",
            },
            w,
        )
        if "site" not in data:
            raise ValueError(f"{w}.site is required")
        site = segment(data["site"], f"{w}.site")
        name = data.get("name", f"fixed/{site}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{w}.name must be a non-empty string, got {name!r}")
        depths = data.get("depth_mm_by_month")
        if (
            not isinstance(depths, Sequence)
            or isinstance(depths, str)
            or len(depths) != 12
            or not all(
                not isinstance(d, bool)
                and isinstance(d, int | float)
                and math.isfinite(d)
                and 0 <= d <= 100
                for d in depths
            )
        ):
            raise ValueError(f"{w}.depth_mm_by_month must be 12 depths in [0, 100] mm (Jan..Dec)")
        hours = data.get("start_hours", [6.0, 16.0])
        if (
            not isinstance(hours, Sequence)
            or isinstance(hours, str)
            or not hours
            or not all(
                not isinstance(h, bool) and isinstance(h, int | float) and 0 <= h < 24
                for h in hours
            )
            or len(set(hours)) != len(hours)
        ):
            raise ValueError(f"{w}.start_hours must be distinct local hours in [0, 24)")
        plots_raw = data.get("plots")
        if not isinstance(plots_raw, Sequence) or isinstance(plots_raw, str) or not plots_raw:
            raise ValueError(f"{w}.plots must be a non-empty list of plots")
        capacity = number(data, "pump_capacity_lpm", w, low=0.0, low_open=True)
        plots: list[FixedPlot] = []
        for i, p in enumerate(plots_raw):
            where = f"{w}.plots[{i}]"
            if not isinstance(p, Mapping):
                raise ValueError(f"{where} must be a mapping")
            reject_unknown_keys(
                p,
                {"id", "household", "area_m2", "emitter_flow_lpm", "efficiency", "calendar"},
                where,
            )
            for key in ("id", "household"):
                if key not in p:
                    raise ValueError(f"{where}.{key} is required")
            plot = FixedPlot(
                plot_id=segment(p["id"], f"{where}.id"),
                household=segment(p["household"], f"{where}.household"),
                area_m2=number(p, "area_m2", where, low=0.0, low_open=True),
                emitter_flow_lpm=number(p, "emitter_flow_lpm", where, low=0.0, low_open=True),
                efficiency=number(p, "efficiency", where, 0.9, low=0.0, high=1.0, low_open=True),
                calendar=(
                    None
                    if p.get("calendar") is None
                    else CropCalendar.from_mapping(p["calendar"], f"{where}.calendar")
                ),
            )
            if plot.emitter_flow_lpm > capacity:
                raise ValueError(f"{where}.emitter_flow_lpm exceeds pump_capacity_lpm")
            plots.append(plot)
        ids = [p.plot_id for p in plots]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{w}.plots: plot ids must be unique")
        if "start_utc_s" not in data:
            raise ValueError(f"{w}.start_utc_s is required (POSIX s, UTC, of run time 0)")
        return cls(
            name=name,
            site=site,
            start_utc_s=number(data, "start_utc_s", w),
            plots=tuple(plots),
            pump_capacity_lpm=capacity,
            depth_mm_by_month=tuple(float(d) for d in depths),
            start_hours=tuple(sorted(float(h) for h in hours)),
            utc_offset_h=number(data, "utc_offset_h", w, 7.0, -14.0, 14.0),
            scan_period_s=number(data, "scan_period_s", w, 60.0, 0.0, low_open=True),
            skip_after_rain_mm=number(data, "skip_after_rain_mm", w, 10.0, 0.0),
        )


class FixedScheduleController:
    """The farmers' timer program (module docstring). Implements ``controllers.io.Controller``."""

    def __init__(self, config: FixedScheduleConfig) -> None:
        if not isinstance(config, FixedScheduleConfig):
            raise ValueError(f"config must be a FixedScheduleConfig, got {type(config).__name__}")
        self.config = config
        self.name = config.name
        self.scan_period_s = float(config.scan_period_s)
        self._plots = {p.plot_id: p for p in config.plots}
        self._households = tuple(sorted({p.household for p in config.plots}))
        self._last_now: float | None = None
        self._last_household: str | None = None
        self._queue: list[str] = []  # plots waiting for this watering, in order
        self._ends: dict[str, float] = {}  # open plot -> close time (s)
        self._last_slot: int | None = None  # index of the last watering started
        self._rain: list[tuple[float, float]] = []  # (time s, mm) of the last 24 h
        self._specs = self._declare()

    def _declare(self) -> tuple[PointSpec, ...]:
        site = self.config.site
        specs = [
            PointSpec(
                f"agri/{site}/rain_mm",
                Direction.INPUT,
                "mm",
                ValueType.FLOAT,
                low=0.0,
                high=500.0,
                stale_after_s=300.0,
                bad_after_s=900.0,
                description=f"rain since the last scan ({site})",
            )
        ]
        specs += [
            PointSpec(f"agri/{p}/valve_open", Direction.OUTPUT, "", ValueType.BOOL)
            for p in self._plots
        ]
        specs.append(PointSpec(f"agri/{site}/pump_on", Direction.OUTPUT, "", ValueType.BOOL))
        return tuple(specs)

    def points(self) -> Sequence[PointSpec]:
        """rain_mm, then valve_open per plot and pump_on."""
        return self._specs

    def _slot(self, t: float) -> tuple[int, int]:
        """(index of the latest watering time <= t, local month 1..12)."""
        local = self.config.start_utc_s + t + self.config.utc_offset_h * 3600.0
        day = math.floor(local / _DAY)
        hour = (local - day * _DAY) / 3600.0
        hours = self.config.start_hours
        k = sum(1 for h in hours if h <= hour) - 1
        month = datetime.fromtimestamp(day * _DAY, tz=UTC).month
        return day * len(hours) + k, month

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """One scan at ``now`` (s): valve commands per plot and the pump command."""
        now = check_scan_time(self.name, now, self._last_now)
        self._last_now = now
        cfg = self.config
        rain = good_number(inputs.get(f"agri/{cfg.site}/rain_mm"), 0.0, 500.0) or 0.0
        if rain > 0.0:
            self._rain.append((now, rain))
        self._rain = [(t, r) for t, r in self._rain if now - t < _DAY]
        for pid in [p for p, end in self._ends.items() if now >= end - 1e-9]:
            del self._ends[pid]
        slot, month = self._slot(now)
        if slot != self._last_slot:
            first = self._last_slot is None  # the watering before the run is taken as done
            self._last_slot = slot
            self._queue = []
            wet = sum(r for _, r in self._rain) >= cfg.skip_after_rain_mm
            depth = cfg.depth_mm_by_month[month - 1] / len(cfg.start_hours)
            if not first and not wet and depth > 0.0:
                utc = cfg.start_utc_s + now
                self._queue = [
                    pid
                    for pid, p in self._plots.items()
                    if pid not in self._ends
                    and (p.calendar is None or p.calendar.day(utc) is not None)
                ]
        if self._queue:
            used = sum(self._plots[p].emitter_flow_lpm for p in self._ends)
            waiting = [
                Candidate(pid, self._plots[pid].household, self._plots[pid].emitter_flow_lpm, 1.0)
                for pid in self._queue
            ]
            starts, self._last_household = pick_starts(
                waiting, self._households, self._last_household, cfg.pump_capacity_lpm - used
            )
            depth = cfg.depth_mm_by_month[month - 1] / len(cfg.start_hours)
            for pid in starts:
                p = self._plots[pid]
                litres = depth / p.efficiency * p.area_m2
                self._ends[pid] = now + litres / p.emitter_flow_lpm * 60.0
                self._queue.remove(pid)
        out: dict[str, Any] = {f"agri/{pid}/valve_open": pid in self._ends for pid in self._plots}
        out[f"agri/{cfg.site}/pump_on"] = bool(self._ends)
        return out

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-serialisable data."""
        return {
            "version": _SNAPSHOT_VERSION,
            "name": self.name,
            "last_now": self._last_now,
            "last_household": self._last_household,
            "queue": list(self._queue),
            "ends": dict(self._ends),
            "last_slot": self._last_slot,
            "rain": [list(x) for x in self._rain],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot` of a controller with the same configuration."""
        try:
            if state["version"] != _SNAPSHOT_VERSION or state["name"] != self.name:
                raise ValueError(f"snapshot is not of {self.name!r} version {_SNAPSHOT_VERSION}")
            queue = [str(p) for p in state["queue"]]
            ends = {str(k): float(v) for k, v in state["ends"].items()}
            if not set(queue) <= set(self._plots) or not set(ends) <= set(self._plots):
                raise ValueError("snapshot names plots this controller does not have")
            rain = [(float(t), float(r)) for t, r in state["rain"]]
            last_now = None if state["last_now"] is None else float(state["last_now"])
            last_slot = None if state["last_slot"] is None else int(state["last_slot"])
            last_household = state["last_household"]
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{self.name}: malformed snapshot ({exc!r})") from exc
        self._queue, self._ends, self._rain = queue, ends, rain
        self._last_now, self._last_slot, self._last_household = last_now, last_slot, last_household
