"""Configuration of one site's irrigation controller, validated on construction.

:meth:`IrrigationConfig.from_mapping` builds it from plain data (the scenario
YAML) and names the offending key in every error. Schema (units; defaults
after ``=``)::

    name: irrigation/an_lac            # controller name (= "irrigation/<site>")
    site: an_lac                       # point-name segment (required)
    start_utc_s: 1767204000            # POSIX s of run time 0 (required)
    utc_offset_h: 7.0                  # h, local − UTC (= 7.0)
    scan_period_s: 60                  # s, > 0 (= 60)
    pump_capacity_lpm: 120             # L/min, > 0: sum of open valves' design flows
    min_pressure_kpa: 150              # kPa, >= 0: below it with the pump on = loss
    pressure_loss_scans: 3             # scans below min before shutting down (= 3)
    pressure_lockout_s: 3600           # s the pump stays off after a loss (= 3600)
    windows: [[5, 8], [16, 18]]        # local hours [start, end), 0 <= start < end <= 24
    skip_threshold_mm: 3.5             # skip new runs when prob × forecast >= this (= 3.5)
    skip_cap_fraction: 1.0             # ...but not once Dr >= this × RAW (= 1.0: at the onset
                                       #   of stress); then water less the expected rain
    fullpoint_settle_s: 7200           # s after a refill to take the probe's full point;
                                       #   0 disables the calibration (= 7200)
    fullpoint_gain: 0.3                # share of the full-point error corrected, (0, 1]
    fullpoint_max_offset: 0.05         # m³/m³, limit of the learned correction
    fullpoint_overshoot: 0.0           # share of TAW added to an automatic refill to field
                                       #   capacity, in [0, 0.5] (= 0): so that the soil
                                       #   really reaches it even when a wet-reading probe
                                       #   under-states the depletion, and the full-point
                                       #   check can see the probe's offset
    fullpoint_overshoot_checks: 3      # ...until the plot has had this many checks (= 3)
    adjust_p: false                    # p + 0.04 (5 − Kc·ET0) clamped to 0.1..0.8, FAO-56
                                       #   Table 22: less depletion allowed on hot days
    trigger_fraction: 1.0              # start when Dr >= fraction × RAW, in (0, 1] (= 1.0);
                                       #   below 1 = a management-allowed depletion that
                                       #   keeps a margin for probe and Kc errors
    refill: field_capacity             # field_capacity | a float f in (0, 1]: net depth
                                       #   = min(Dr, f × RAW) (= field_capacity)
    probe_bad_after_s: 1800            # s; an older soil_vwc sample is unusable (= 1800)
    et0_hold_s: 172800                 # s a good ET0 value is kept (= 2 days)
    checkbook_max_age_s: 259200        # s the checkbook runs without a probe (= 3 days)
    blend_tau_s: 1800                  # s, time constant of the pull towards the probe
    rest_s: 1800                       # s a plot rests after a run (= 1800)
    flow_grace_s: 120                  # s after a valve change before flow is judged
    flow_fault_scans: 3                # scans of bad flow before the alarm (= 3)
    low_flow_fraction: 0.2             # open valve below this × design flow = blocked
    high_flow_fraction: 2.0            # open valve above this × design flow = burst
    leak_lpm: 1.0                      # closed valve above this L/min = leak
    max_runtime_factor: 1.5            # max runtime = factor × planned + one scan
    plots:                             # required, ids unique
      - {id: AL-H03-P1, household: AL-H03, area_m2: 1200, emitter_flow_lpm: 40,
         theta_fc: 0.32, theta_wp: 0.14, root_depth_m: 0.3, p: 0.35,
         kc: 1.0, efficiency: 0.9, max_runtime_s: 7200,
         calendar: {planted_utc_s: 1725123600, stages_d: [20, 30, 35, 15],
                    kc: [0.6, 1.0, 0.8], root_m: [0.2, 0.4], repeat_gap_d: 7}}
         # kc (= 1.0), efficiency (= 0.9, drip), max_runtime_s (= 7200) optional;
         # calendar optional (controllers.irrigation.calendar): when given, Kc and
         # the root depth follow the crop's age and the plot is not irrigated
         # while fallow; kc and root_depth_m are then unused
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controllers.irrigation.calendar import CropCalendar
from controllers.irrigation.validation import is_finite_number, number, reject_unknown_keys, segment

__all__ = ["IrrigationConfig", "PlotConfig"]


@dataclass(frozen=True, slots=True)
class PlotConfig:
    """One plot behind one solenoid valve.

    Attributes:
        plot_id: point-name segment, e.g. ``AL-H03-P1``.
        household: the household that farms it (fairness unit).
        area_m2: irrigated area (m², > 0); 1 mm over 1 m² = 1 L.
        emitter_flow_lpm: the valve's design flow at design pressure (L/min, > 0).
        theta_fc, theta_wp: field capacity and wilting point (m³/m³), 0 < wp < fc <= 0.6.
        root_depth_m: root depth Zr (m, > 0).
        p: depletion fraction, RAW = p·TAW, in (0, 1).
        kc: crop coefficient used by the ET checkbook (> 0).
        efficiency: application efficiency (drip 0.9), in (0, 1].
        max_runtime_s: hard cap on one run (s, > 0).
        calendar: the crop calendar (None = a constant ``kc`` and ``root_depth_m``).
        et_factor: multiplier of the reference ET0 for the plot's exposure, in
            (0, 1.5]: 1 in the open, ~0.75 under a shade net (shade and shelter).
            The ET checkbook uses Kc × et_factor × ET0.
    """

    plot_id: str
    household: str
    area_m2: float
    emitter_flow_lpm: float
    theta_fc: float
    theta_wp: float
    root_depth_m: float
    p: float
    kc: float = 1.0
    efficiency: float = 0.9
    max_runtime_s: float = 7200.0
    calendar: CropCalendar | None = None
    et_factor: float = 1.0

    def crop_state(self, utc_s: float) -> tuple[float, float] | None:
        """(effective Kc = Kc × et_factor, root depth m) at POSIX time ``utc_s``; None
        while the plot is fallow."""
        if self.calendar is None:
            return self.kc * self.et_factor, self.root_depth_m
        day = self.calendar.day(utc_s)
        if day is None:
            return None
        return self.calendar.kc(day) * self.et_factor, self.calendar.root_depth_m(day)

    @property
    def taw_mm(self) -> float:
        """Total available water TAW = 1000 (θFC − θWP) Zr (mm)."""
        return 1000.0 * (self.theta_fc - self.theta_wp) * self.root_depth_m

    @property
    def raw_mm(self) -> float:
        """Readily available water RAW = p · TAW (mm)."""
        return self.p * self.taw_mm

    def probe_depletion_mm(self, theta: float) -> float:
        """Dr = 1000 (θFC − θ) Zr (mm), clamped to [0, TAW]."""
        return min(max(1000.0 * (self.theta_fc - theta) * self.root_depth_m, 0.0), self.taw_mm)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "plot") -> PlotConfig:
        """Build from plain data; errors name ``where`` and the key."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where} must be a mapping, got {type(data).__name__}")
        reject_unknown_keys(
            data,
            {
                "id",
                "household",
                "area_m2",
                "emitter_flow_lpm",
                "theta_fc",
                "theta_wp",
                "root_depth_m",
                "p",
                "kc",
                "efficiency",
                "max_runtime_s",
                "calendar",
                "et_factor",
            },
            where,
        )
        if "id" not in data:
            raise ValueError(f"{where}.id is required")
        if "household" not in data:
            raise ValueError(f"{where}.household is required")
        plot = cls(
            plot_id=segment(data["id"], f"{where}.id"),
            household=segment(data["household"], f"{where}.household"),
            area_m2=number(data, "area_m2", where, low=0.0, low_open=True),
            emitter_flow_lpm=number(data, "emitter_flow_lpm", where, low=0.0, low_open=True),
            theta_fc=number(data, "theta_fc", where, low=0.0, high=0.6, low_open=True),
            theta_wp=number(data, "theta_wp", where, low=0.0, high=0.6),
            root_depth_m=number(data, "root_depth_m", where, low=0.0, high=5.0, low_open=True),
            p=number(data, "p", where, low=0.0, high=0.99, low_open=True),
            kc=number(data, "kc", where, 1.0, low=0.0, high=2.0, low_open=True),
            efficiency=number(data, "efficiency", where, 0.9, low=0.0, high=1.0, low_open=True),
            max_runtime_s=number(data, "max_runtime_s", where, 7200.0, low=0.0, low_open=True),
            et_factor=number(data, "et_factor", where, 1.0, low=0.0, high=1.5, low_open=True),
            calendar=(
                None
                if data.get("calendar") is None
                else CropCalendar.from_mapping(data["calendar"], f"{where}.calendar")
            ),
        )
        if plot.theta_wp >= plot.theta_fc:
            raise ValueError(
                f"{where}.theta_wp ({plot.theta_wp}) must be below theta_fc ({plot.theta_fc})"
            )
        return plot


@dataclass(frozen=True, slots=True)
class IrrigationConfig:
    """The validated configuration of one site's irrigation controller (see module doc).

    ``refill_fraction`` None means refill to field capacity.
    """

    name: str
    site: str
    start_utc_s: float
    plots: tuple[PlotConfig, ...]
    pump_capacity_lpm: float
    min_pressure_kpa: float
    utc_offset_h: float = 7.0
    scan_period_s: float = 60.0
    pressure_loss_scans: int = 3
    pressure_lockout_s: float = 3600.0
    windows: tuple[tuple[float, float], ...] = ((5.0, 8.0), (16.0, 18.0))
    skip_threshold_mm: float = 3.5
    skip_cap_fraction: float = 1.0
    refill_fraction: float | None = None
    adjust_p: bool = False
    probe_bad_after_s: float = 1800.0
    et0_hold_s: float = 172800.0
    checkbook_max_age_s: float = 259200.0
    blend_tau_s: float = 1800.0
    rest_s: float = 1800.0
    flow_grace_s: float = 120.0
    flow_fault_scans: int = 3
    low_flow_fraction: float = 0.2
    high_flow_fraction: float = 2.0
    leak_lpm: float = 1.0
    max_runtime_factor: float = 1.5
    trigger_fraction: float = 1.0
    fullpoint_settle_s: float = 7200.0
    fullpoint_gain: float = 0.3
    fullpoint_max_offset: float = 0.05
    fullpoint_overshoot: float = 0.0
    fullpoint_overshoot_checks: float = 3.0

    def plot(self, plot_id: str) -> PlotConfig:
        """The plot with ``plot_id`` (KeyError if unknown)."""
        for plot in self.plots:
            if plot.plot_id == plot_id:
                return plot
        raise KeyError(plot_id)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> IrrigationConfig:
        """Build from plain data; every error names the offending key."""
        w = "irrigation"
        if not isinstance(data, Mapping):
            raise ValueError(f"{w} config must be a mapping, got {type(data).__name__}")
        scalar_keys = {
            "pressure_lockout_s": (3600.0, 0.0, math.inf, False),
            "skip_threshold_mm": (3.5, 0.0, 500.0, False),
            "skip_cap_fraction": (1.0, 0.0, 10.0, True),
            "probe_bad_after_s": (1800.0, 0.0, math.inf, True),
            "et0_hold_s": (172800.0, 0.0, math.inf, True),
            "checkbook_max_age_s": (259200.0, 0.0, math.inf, True),
            "blend_tau_s": (1800.0, 0.0, math.inf, True),
            "rest_s": (1800.0, 0.0, math.inf, False),
            "flow_grace_s": (120.0, 0.0, math.inf, False),
            "low_flow_fraction": (0.2, 0.0, 1.0, False),
            "high_flow_fraction": (2.0, 1.0, math.inf, True),
            "leak_lpm": (1.0, 0.0, 500.0, True),
            "max_runtime_factor": (1.5, 1.0, 100.0, False),
            "trigger_fraction": (1.0, 0.0, 1.0, True),
            "fullpoint_settle_s": (7200.0, 0.0, math.inf, False),
            "fullpoint_gain": (0.3, 0.0, 1.0, True),
            "fullpoint_max_offset": (0.05, 0.0, 0.3, False),
            "fullpoint_overshoot": (0.0, 0.0, 0.5, False),
            "fullpoint_overshoot_checks": (3.0, 0.0, 1000.0, False),
        }
        reject_unknown_keys(
            data,
            {
                "name",
                "site",
                "start_utc_s",
                "utc_offset_h",
                "scan_period_s",
                "pump_capacity_lpm",
                "min_pressure_kpa",
                "pressure_loss_scans",
                "windows",
                "refill",
                "adjust_p",
                "flow_fault_scans",
                "plots",
                *scalar_keys,
            },
            w,
        )
        if "site" not in data:
            raise ValueError(f"{w}.site is required (e.g. 'an_lac')")
        site = segment(data["site"], f"{w}.site")
        name = data.get("name", f"irrigation/{site}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{w}.name must be a non-empty string, got {name!r}")
        kwargs: dict[str, Any] = {}
        for key, (default, low, high, low_open) in scalar_keys.items():
            kwargs[key] = number(data, key, w, default, low, high, low_open)
        for key in ("pressure_loss_scans", "flow_fault_scans"):
            value = data.get(key, 3)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{w}.{key} must be an integer >= 1, got {value!r}")
            kwargs[key] = value
        windows_raw = data.get("windows", [[5, 8], [16, 18]])
        if not isinstance(windows_raw, Sequence) or isinstance(windows_raw, str):
            raise ValueError(f"{w}.windows must be a list of [start_h, end_h] pairs")
        windows: list[tuple[float, float]] = []
        for i, pair in enumerate(windows_raw):
            ok = (
                isinstance(pair, Sequence)
                and not isinstance(pair, str)
                and len(pair) == 2
                and all(is_finite_number(x) for x in pair)
            )
            if not ok or not 0.0 <= float(pair[0]) < float(pair[1]) <= 24.0:
                raise ValueError(
                    f"{w}.windows[{i}] must be [start_h, end_h] with 0 <= start < end <= 24 "
                    f"(local hours), got {pair!r}"
                )
            windows.append((float(pair[0]), float(pair[1])))
        adjust_p = data.get("adjust_p", False)
        if not isinstance(adjust_p, bool):
            raise ValueError(f"{w}.adjust_p must be true or false, got {adjust_p!r}")
        refill = data.get("refill", "field_capacity")
        if refill == "field_capacity":
            refill_fraction = None
        elif is_finite_number(refill) and 0.0 < float(refill) <= 1.0:
            refill_fraction = float(refill)
        else:
            raise ValueError(
                f"{w}.refill must be 'field_capacity' or a fraction of RAW in (0, 1], "
                f"got {refill!r}"
            )
        plots_raw = data.get("plots")
        if not isinstance(plots_raw, Sequence) or isinstance(plots_raw, str) or not plots_raw:
            raise ValueError(f"{w}.plots must be a non-empty list of plots")
        plots = tuple(
            PlotConfig.from_mapping(p, f"{w}.plots[{i}]") for i, p in enumerate(plots_raw)
        )
        seen: set[str] = set()
        for i, plot in enumerate(plots):
            if plot.plot_id in seen:
                raise ValueError(f"{w}.plots[{i}].id {plot.plot_id!r} is a duplicate")
            if plot.plot_id == site:
                raise ValueError(f"{w}.plots[{i}].id must differ from the site id {site!r}")
            seen.add(plot.plot_id)
        capacity = number(data, "pump_capacity_lpm", w, low=0.0, low_open=True)
        for i, plot in enumerate(plots):
            if plot.emitter_flow_lpm > capacity:
                raise ValueError(
                    f"{w}.plots[{i}].emitter_flow_lpm ({plot.emitter_flow_lpm}) exceeds "
                    f"pump_capacity_lpm ({capacity}): split the plot or raise the capacity"
                )
        if "start_utc_s" not in data:
            raise ValueError(f"{w}.start_utc_s is required (POSIX s, UTC, of run time 0)")
        return cls(
            name=name,
            site=site,
            start_utc_s=number(data, "start_utc_s", w),
            plots=plots,
            pump_capacity_lpm=capacity,
            min_pressure_kpa=number(data, "min_pressure_kpa", w, low=0.0, high=1000.0),
            utc_offset_h=number(data, "utc_offset_h", w, 7.0, -14.0, 14.0),
            scan_period_s=number(data, "scan_period_s", w, 60.0, 0.0, low_open=True),
            windows=tuple(windows),
            refill_fraction=refill_fraction,
            adjust_p=adjust_p,
            **kwargs,
        )
