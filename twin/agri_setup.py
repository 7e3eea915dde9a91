"""Controller configurations for a cooperative site, derived from the site data.

The fog node of each cooperative is commissioned from the same facts the
plant is built from (:mod:`sim.agri.sites`): plot areas, soil, crops and their
planting dates, the pump and drip hardware. Two controllers can drive a site:

- :func:`smart_config` — :class:`controllers.irrigation.IrrigationController`:
  probe + ET checkbook, RAW trigger, forecast rain-skip, fair pump scheduling.
- :func:`fixed_config` — :class:`controllers.irrigation.fixed_schedule.FixedScheduleController`:
  what the farmers do today, the month's full-canopy need every day at 06:00
  and 16:00, skipped after 10 mm of rain.

Design numbers (derived, stated once here):

- **Design flow** of a valve: its drip emitters at their nominal head (10 m,
  98 kPa). With few valves open the manifold runs above it, with many near the
  site's 60 kPa minimum (flows 0.78×); both stay inside the flow supervision
  band of 0.2–2× design.
- **Pump capacity**: the largest total flow with the manifold at its minimum
  working pressure (:meth:`IrrigationHydraulics.capacity_lpm`). Because the
  design flows are taken at the higher nominal head, keeping their sum within
  the capacity keeps the pressure above the minimum.
- **Irrigation windows** (smart controller): every hour outside EVN's
  peak-tariff hours (09:30–11:30 and 17:00–20:00), night included: drip
  irrigation at night loses nothing to wind drift and runs on the off-peak
  tariff, and on a Laos-wind day a site needs 10 h or more of pumping.
- **Pressure loss** is declared below half the minimum working pressure.
- **Trigger** at 70 % of RAW (a management-allowed depletion): a probe
  calibrated to ±0.01 m³/m³ misjudges a 0.3 m root zone by ±3 mm, a third of
  a leafy vegetable's RAW, so starting at RAW itself would stress the plots
  whose probe reads wet.
- **Rain-skip cap** at 90 % of RAW: a forecast defers a plot's water only that
  far; a wrong forecast (about one rain call in four, :mod:`sim.weather.forecast`)
  must not push shallow-rooted vegetables into stress.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from controllers.irrigation import IrrigationConfig
from controllers.irrigation.fertigation import FertigationConfig
from controllers.irrigation.fixed_schedule import FixedScheduleConfig
from controllers.irrigation.misting import MistingConfig
from sim.agri.crops import CROPS
from sim.agri.et0 import et0_monthly_normals
from sim.agri.hydraulics import KPA_PER_M, IrrigationHydraulics
from sim.agri.microclimate import DEFAULT_MIST_LPM_PER_M2
from sim.agri.plant import AgriPlantConfig
from sim.agri.sites import Site
from sim.weather import DONGHA_NORMALS, LOCAL_TZ

__all__ = [
    "SKIP_CAP_FRACTION",
    "SMART_WINDOWS",
    "TRIGGER_FRACTION",
    "fertigation_config",
    "fixed_config",
    "fixed_depths_mm",
    "misting_config",
    "smart_config",
]

SMART_WINDOWS = ((0.0, 9.5), (11.5, 17.0), (20.0, 24.0))
TRIGGER_FRACTION = 0.7
SKIP_CAP_FRACTION = 0.9
#: share of TAW added to each automatic refill, so a wet-reading probe's offset shows
#: at the full-point check (the excess drains below the roots)
FULLPOINT_OVERSHOOT = 0.1


def _midnight_utc_s(day: date) -> float:
    return datetime.combine(day, time(0, 0), LOCAL_TZ).timestamp()


def _calendar(plot_crop: str, planted: date, repeat_gap_d: float | None) -> dict[str, Any]:
    c = CROPS[plot_crop]
    cal: dict[str, Any] = {
        "planted_utc_s": _midnight_utc_s(planted),
        "stages_d": [c.l_ini, c.l_dev, c.l_mid, c.l_late],
        "kc": [c.kc_ini, c.kc_mid, c.kc_end],
        "root_m": [c.zr_min, c.zr_max],
    }
    if repeat_gap_d is not None:
        cal["repeat_gap_d"] = repeat_gap_d
    return cal


def _design_flows(site: Site) -> tuple[dict[str, float], float]:
    hyd = IrrigationHydraulics.from_site(site)
    nominal_kpa = site.hydraulics.emitter_h_nominal_m * KPA_PER_M
    flows = {p.id: hyd.nominal_flow_lpm(p.id, nominal_kpa) for p in site.plots}
    return flows, hyd.capacity_lpm()


def smart_config(
    site: Site,
    *,
    start: datetime,
    plant: AgriPlantConfig | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> IrrigationConfig:
    """The smart controller of ``site`` for a run starting at ``start`` (aware).

    ``overrides`` replaces top-level keys of the configuration mapping (the
    scenario's ``controllers.irrigation`` block), e.g. ``windows`` or
    ``skip_threshold_mm``.
    """
    plant = plant or AgriPlantConfig()
    flows, capacity = _design_flows(site)
    plots = [
        {
            "id": p.id,
            "household": p.household_id,
            "area_m2": p.area_m2,
            "emitter_flow_lpm": round(flows[p.id], 3),
            "theta_fc": site.soil.theta_fc,
            "theta_wp": site.soil.theta_wp,
            "root_depth_m": CROPS[p.crop].zr_max,
            "p": CROPS[p.crop].p,
            "kc": CROPS[p.crop].kc_mid,
            "efficiency": plant.application_efficiency,
            "calendar": _calendar(p.crop, p.planted, plant.repeat_gap_d),
            "et_factor": plant.net_house_et_factor if p.net_house else 1.0,
        }
        for p in site.plots
    ]
    data: dict[str, Any] = {
        "name": f"irrigation/{site.id}",
        "site": site.id,
        "start_utc_s": start.timestamp(),
        "utc_offset_h": 7.0,
        "scan_period_s": plant.meter_period_s,
        "pump_capacity_lpm": round(capacity, 3),
        "min_pressure_kpa": 0.5 * site.hydraulics.min_pressure_kpa,
        "windows": [list(w) for w in SMART_WINDOWS],
        "trigger_fraction": TRIGGER_FRACTION,
        "skip_cap_fraction": SKIP_CAP_FRACTION,
        "adjust_p": True,
        "fullpoint_overshoot": FULLPOINT_OVERSHOOT,
        "plots": plots,
    }
    data.update(overrides or {})
    return IrrigationConfig.from_mapping(data)


def fixed_depths_mm(site: Site, plant: AgriPlantConfig | None = None) -> list[float]:
    """The farmers' net depth per day for each month (mm, Jan..Dec): the month's
    normal ET0 × the highest Kc mid of the site's crops × the net-house factor
    where the site grows under nets, rounded to 0.5 mm."""
    plant = plant or AgriPlantConfig()
    kc = max(CROPS[p.crop].kc_mid for p in site.plots)
    factor = plant.net_house_et_factor if all(p.net_house for p in site.plots) else 1.0
    et0 = et0_monthly_normals(DONGHA_NORMALS, plant.elevation_m)
    return [round(2.0 * float(e) * kc * factor) / 2.0 for e in et0]


def fixed_config(
    site: Site,
    *,
    start: datetime,
    plant: AgriPlantConfig | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> FixedScheduleConfig:
    """The farmers' fixed daily schedule for ``site`` (module docstring)."""
    plant = plant or AgriPlantConfig()
    flows, capacity = _design_flows(site)
    data: dict[str, Any] = {
        "name": f"fixed/{site.id}",
        "site": site.id,
        "start_utc_s": start.timestamp(),
        "scan_period_s": plant.meter_period_s,
        "pump_capacity_lpm": round(capacity, 3),
        "start_hours": [6.0, 16.0],
        "depth_mm_by_month": fixed_depths_mm(site, plant),
        "skip_after_rain_mm": 10.0,
        "plots": [
            {
                "id": p.id,
                "household": p.household_id,
                "area_m2": p.area_m2,
                "emitter_flow_lpm": round(flows[p.id], 3),
                "efficiency": plant.application_efficiency,
                "calendar": _calendar(p.crop, p.planted, plant.repeat_gap_d),
            }
            for p in site.plots
        ],
    }
    data.update(overrides or {})
    return FixedScheduleConfig.from_mapping(data)


def misting_config(
    site: Site, *, start: datetime, overrides: Mapping[str, Any] | None = None
) -> MistingConfig:
    """Mist control of the site's net houses (one per net-house plot, nozzles sized
    by :data:`sim.agri.microclimate.DEFAULT_MIST_LPM_PER_M2`)."""
    houses = [
        {"id": p.id, "mist_flow_lpm": round(DEFAULT_MIST_LPM_PER_M2 * p.area_m2, 4)}
        for p in site.plots
        if p.net_house
    ]
    if not houses:
        raise ValueError(f"site {site.id} has no net houses to mist")
    data: dict[str, Any] = {
        "name": f"misting/{site.id}",
        "site": site.id,
        "start_utc_s": start.timestamp(),
        "houses": houses,
    }
    data.update(overrides or {})
    return MistingConfig.from_mapping(data)


def fertigation_config(site: Site, overrides: Mapping[str, Any] | None = None) -> FertigationConfig:
    """Fertigation of the site's drip water, soil-grown (est.): EC 0.8 mS/cm for the
    flowers and 1.0 for the leafy vegetables (source water 0.25 mS/cm; hydroponic
    strength, 1.2–1.8, would over-feed a soil crop watered every day), pH target
    6.1 in the 5.8–6.5 band."""
    flowers = all(p.crop == "chrysanthemum" for p in site.plots)
    data: dict[str, Any] = {
        "name": f"fertigation/{site.id}",
        "site": site.id,
        "ec_setpoint_ms_cm": 0.8 if flowers else 1.0,
        "ph_target": 6.1,
        # sized for sim.agri.plant.SITE_TANK on a ~290 L/min main (est.)
        "pulse_s": 20,
        "mix_wait_s": 40,
        "max_dose_s_per_h": 1800,
        # a standing tank degasses CO2 towards pH ~8.4 (100 mg/L CaCO3 alkalinity in
        # equilibrium with air); only beyond 9 is the pH a fault
        "ph_max_abs": 9.0,
        # a pulse's rise is partly eaten by dilution at the full draw: judge on 6 pulses
        "ec_min_rise_ms_cm": 0.015,
        "no_response_pulses": 6,
    }
    data.update(overrides or {})
    return FertigationConfig.from_mapping(data)
