"""A year of street lighting on the Hùng Vương pilot, quickly, for each configuration.

How a year is made fast
-----------------------
SUMO is not run for 365 days. Instead:

- **Traffic** comes from :class:`sim.lighting.traffic_profile.SyntheticTraffic`: hourly
  two-way volumes of Hùng Vương (weekday and weekend profiles of the city's demand
  model, AADT documented there) turned into Poisson vehicle and pedestrian arrivals
  that pass the poles in turn, so motion sensors and segment counters see them.
- **Sampled nights**: ``nights`` evenings spread evenly over the year (default 26, one
  per fortnight, each shifted by ``k mod 7`` days so every weekday, weekends included,
  is drawn), each simulated from 16:00 to 08:00 local time, which covers sunset and
  sunrise in every season at 16.8° N. Each night stands for ``days / nights`` days:
  energy, lamp-hours, CO2 and cost are scaled by that weight. The 8 daytime hours not
  simulated add the nodes' standby and the cabinets' gateways (lamps are off by day).
- **Step**: plant and controller exchange every ``step_s`` (default 10 s; motion boosts
  hold 60 s, so a detection is seen within a sixth of its hold).

The same plant (:class:`sim.lighting.plant.LightingPlant`) and the same controller
objects (:class:`controllers.lighting.LightingController`) as a scenario run are used,
exchanging the same points directly (no kernel: there is no other plant to couple).

Compliance: every ``compliance_period_s`` while the sun is below the horizon (elevation
< -0.833°), each segment's EN 13201 field is evaluated with the poles' actual light
(:mod:`twin.lighting_design`) against the class CIE 115 requires for the true traffic
volume at that moment. ``compliance_share`` is the share of (segment, sample) pairs
that met their class.

Money and carbon (both parameters, est.): energy × :data:`GRID_CO2_T_PER_MWH` and ×
:data:`TARIFF_VND_PER_KWH`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from controllers.io import Sample
from sim.lighting.layout import LightingLayout, hung_vuong_layout
from sim.lighting.plant import LOCAL_TZ, LightingPlant, LightingPlantConfig
from sim.weather import solar_elevation_deg
from twin.lighting_design import PilotPhotometry, required_class
from twin.lighting_setup import (
    CONFIGURATIONS,
    Configuration,
    build_lighting_controller,
    configuration,
)

__all__ = [
    "GRID_CO2_T_PER_MWH",
    "TARIFF_VND_PER_KWH",
    "NightResult",
    "YearResult",
    "compare_configurations",
    "simulate_year",
]

#: Vietnam grid emission factor, t CO2 per MWh (est.: 0.6592, the factor the
#: environment ministry published for 2023; check the latest announcement)
GRID_CO2_T_PER_MWH = 0.6592
#: public-lighting electricity tariff, VND per kWh (est.: EVN's retail price for public
#: lighting below 6 kV after the May 2025 increase, ~2,226; a parameter)
TARIFF_VND_PER_KWH = 2226.0
#: sun elevation (deg) below which it is night for compliance (sunset/sunrise)
NIGHT_BELOW_DEG = -0.833
#: lit hours per year at Đông Hà (DOMAIN.md)
LIT_H_PER_YEAR = 4330.0
_UNSET = object()


@dataclass
class NightResult:
    """What one simulated night (16:00 to 08:00) gave.

    Attributes:
        start: local start of the night.
        energy_kwh: cabinet energy (lamps, drivers, gateways) over the night (kWh).
        lamp_hours: sum over poles of hours with light (h).
        samples: (segment, time) pairs judged for compliance at night.
        met: how many of them met their class.
        classes: count of required classes over the samples.
        alerts: alerts the controller raised.
        day_kwh: standby energy of the 8 daytime hours not simulated (kWh).
    """

    start: datetime
    energy_kwh: float
    lamp_hours: float
    samples: int
    met: int
    classes: dict[str, int] = field(default_factory=dict)
    alerts: int = 0
    day_kwh: float = 0.0


@dataclass
class YearResult:
    """A configuration over a sampled year (figures scaled to 365 days)."""

    configuration: str
    year: int
    nights: list[NightResult]
    wall_s: float
    simulated_s: float

    def summary(self) -> dict[str, Any]:
        """Yearly figures as plain data."""
        weight = _days_in(self.year) / len(self.nights)
        energy = weight * sum(n.energy_kwh + n.day_kwh for n in self.nights)
        samples = sum(n.samples for n in self.nights)
        met = sum(n.met for n in self.nights)
        classes: dict[str, int] = {}
        for night in self.nights:
            for name, count in night.classes.items():
                classes[name] = classes.get(name, 0) + count
        return {
            "configuration": self.configuration,
            "year": self.year,
            "nights_simulated": len(self.nights),
            "energy_kwh_year": round(energy, 1),
            "co2_t_year": round(energy / 1000.0 * GRID_CO2_T_PER_MWH, 2),
            "cost_vnd_year": round(energy * TARIFF_VND_PER_KWH, -3),
            "lamp_hours_year": round(weight * sum(n.lamp_hours for n in self.nights), 0),
            "compliance_share": round(met / samples, 4) if samples else None,
            "required_classes": dict(sorted(classes.items())),
            "alerts": sum(n.alerts for n in self.nights),
            "wall_s": round(self.wall_s, 2),
            "speed_x_real_time": round(self.simulated_s / self.wall_s, 1) if self.wall_s else None,
        }


def _days_in(year: int) -> int:
    return 366 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 365


def night_starts(year: int, nights: int) -> list[datetime]:
    """16:00 local on ``nights`` days spread over ``year``, every weekday drawn in turn.

    Night ``k`` falls on day ``floor(k × days / nights) + (k mod 7)`` (capped at the last
    day), so a fortnightly spacing does not land on the same weekday every time.
    """
    if not 1 <= nights <= 366:
        raise ValueError(f"nights must be within 1..366, got {nights}")
    first = datetime(year, 1, 1, 16, 0, tzinfo=LOCAL_TZ)
    days = _days_in(year)
    offsets = [min(days - 1, (k * days) // nights + k % 7) for k in range(nights)]
    return [first + timedelta(days=d) for d in sorted(set(offsets))]


def simulate_night(
    config: Configuration,
    start: datetime,
    *,
    layout: LightingLayout,
    photometry: PilotPhotometry,
    commissioning: dict[str, dict[str, float]] | None,
    seed: int,
    step_s: float = 10.0,
    duration_s: float = 16 * 3600.0,
    compliance_period_s: float = 300.0,
    initial_hours_h: float = 0.0,
) -> NightResult:
    """One night of ``config`` from ``start`` (aware, local), synthetic traffic, seeded."""
    plant = LightingPlant(
        LightingPlantConfig(
            start=start,
            step_s=step_s,
            luminaire=config.plant_luminaire,
            luminaire_model=config.model,
            layout=layout,
            initial_hours_h=initial_hours_h,
            traffic="synthetic",
            record_period_s=None,
            seed=seed,
        )
    )
    controller = build_lighting_controller(
        layout, config, start, commissioning=commissioning, scan_period_s=step_s
    )
    lat = float(np.mean([p.lat for p in layout.poles]))
    lon = float(np.mean([p.lon for p in layout.poles]))
    traffic = plant.traffic
    assert traffic is not None  # synthetic traffic was asked for
    plant.start(0.0)
    inputs: dict[str, Sample] = dict(plant.latest())
    samples = met = 0
    classes: dict[str, int] = {}
    every = max(1, round(compliance_period_s / step_s))
    n_steps = round(duration_s / step_s)
    applied: dict[str, object] = {}
    for k in range(n_steps):
        t = k * step_s
        # the light after this step follows the command of this scan: judge the road
        # as night when the scan saw the sun down
        dark = solar_elevation_deg(start + timedelta(seconds=t), lat, lon) < NIGHT_BELOW_DEG
        outputs = controller.scan(t, inputs)
        # actuators hold their last value (as the kernel's process image does): send changes
        changed = {n: v for n, v in outputs.items() if applied.get(n, _UNSET) != v}
        applied.update(changed)
        plant.actuate(changed)
        plant.advance(t + step_s)
        inputs.update(plant.sensors())
        if (k + 1) % every:
            continue
        if not dark:
            continue
        need = required_class(traffic.rate_veh_h(t + step_s))
        judged = photometry.compliance(
            config.model, plant.light, dict.fromkeys(layout.cabinet_ids, need)
        )
        samples += len(judged)
        met += sum(ok for ok, _ in judged.values())
        classes[need] = classes.get(need, 0) + len(judged)
    kpis = plant.kpis()
    plant.close()
    idle_w = len(layout.poles) * config.model.standby_w + len(layout.cabinets) * (
        plant.config.cabinet_overhead_w
    )
    return NightResult(
        start=start,
        energy_kwh=float(kpis["energy_kwh_total"]),
        lamp_hours=float(kpis["lamp_hours"]),
        samples=samples,
        met=met,
        classes=classes,
        alerts=sum(1 for a in controller.alerts() if a.kind == "raised"),
        day_kwh=idle_w * (24 * 3600.0 - duration_s) / 3.6e6,
    )


def simulate_year(
    name: str,
    *,
    year: int = 2026,
    nights: int = 26,
    seed: int = 1,
    step_s: float = 10.0,
    layout: LightingLayout | None = None,
    photometry: PilotPhotometry | None = None,
) -> YearResult:
    """A sampled year (module docstring) of the configuration called ``name``."""
    config = configuration(name)
    layout = layout or hung_vuong_layout()
    photometry = photometry or PilotPhotometry(layout)
    # levels must hold until the next yearly re-commissioning: commission at the lumen
    # maintenance after a year of burning (~4,330 lit hours at Đông Hà)
    commissioning = (
        photometry.commissioning(config.model, float(config.model.maintenance(LIT_H_PER_YEAR)))
        if config.mode == "adaptive"
        else None
    )
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**31 - 1, size=nights)
    tick = time.perf_counter()
    results: list[NightResult] = []
    starts = night_starts(year, nights)
    for k, start in enumerate(starts):
        results.append(
            simulate_night(
                config,
                start,
                layout=layout,
                photometry=photometry,
                commissioning=commissioning,
                seed=int(seeds[k]),
                step_s=step_s,
                initial_hours_h=LIT_H_PER_YEAR * (start.timetuple().tm_yday - 1) / _days_in(year),
            )
        )
    wall = time.perf_counter() - tick
    return YearResult(name, year, results, wall, simulated_s=len(starts) * 16 * 3600.0)


def compare_configurations(
    names: Sequence[str] = CONFIGURATIONS,
    *,
    year: int = 2026,
    nights: int = 26,
    seed: int = 1,
    step_s: float = 10.0,
) -> list[dict[str, Any]]:
    """Yearly summaries of ``names`` with the same traffic seeds; savings against the first."""
    layout = hung_vuong_layout()
    photometry = PilotPhotometry(layout)
    summaries = [
        simulate_year(
            n,
            year=year,
            nights=nights,
            seed=seed,
            step_s=step_s,
            layout=layout,
            photometry=photometry,
        ).summary()
        for n in names
    ]
    baseline = summaries[0]["energy_kwh_year"]
    for s in summaries:
        s["energy_vs_" + summaries[0]["configuration"]] = (
            round(s["energy_kwh_year"] / baseline, 4) if baseline else None
        )
    return summaries
