"""Lock-step runs of one cooperative site with one controller, and smart-vs-fixed comparisons.

The agriculture plant exchanges only with its own controller (rain reaches it
from the weather series, not from another plant), so a season or a month runs
without the kernel: at each step the controller scans the latest samples at
``t``, its commands are applied, and the plant advances to ``t + step``. This is
the order the kernel uses (:mod:`twin.kernel`), without its per-point
bookkeeping, so long runs are several times faster. The plant and the
controller objects are the same ones a ``twin run`` uses.

:func:`compare_site` runs the smart controller and the farmers' fixed schedule
on the same site, weather, seed and probes (the plant draws the same random
numbers whatever its controller does), which is what makes the two runs a
paired comparison.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from controllers.io import Controller, Sample
from controllers.irrigation import IrrigationController
from controllers.irrigation.fertigation import FertigationController
from controllers.irrigation.fixed_schedule import FixedScheduleController
from controllers.irrigation.misting import MistingController
from sim.agri.plant import AgriPlant, AgriPlantConfig
from sim.agri.sites import Site
from sim.weather import WeatherSeries, generate_climate
from twin.agri_setup import fertigation_config, fixed_config, misting_config, smart_config

__all__ = ["SiteRun", "compare_site", "run_site", "season_weather", "summarise_pair"]


@dataclass
class SiteRun:
    """One site under one controller: KPIs, the plant (for its history), timing.

    kpis: :meth:`AgriPlant.kpis`. wall_s: wall time of the loop (s).
    sim_s: simulated time (s). alarms: the controller's alarm codes with counts.
    """

    site: str
    controller: str
    kpis: dict[str, Any]
    plant: AgriPlant
    wall_s: float
    sim_s: float
    alarms: dict[str, int] = field(default_factory=dict)

    @property
    def speed_x_real_time(self) -> float:
        """Simulated seconds per wall second (NaN when the wall time is unknown)."""
        return self.sim_s / self.wall_s if self.wall_s > 0 else float("nan")


def season_weather(start: datetime, days: float, seed: int) -> WeatherSeries:
    """Synthetic hourly weather from two days before ``start`` to a day after the end."""
    first = start - timedelta(days=2)
    return generate_climate(first, (days + 3) * 86400.0, 3600.0, rng=np.random.default_rng(seed))


def run_site(
    site: Site,
    controller: Controller | Sequence[Controller],
    weather: WeatherSeries,
    *,
    start: datetime,
    days: float,
    seed: int,
    plant_config: AgriPlantConfig | None = None,
    on_step: Callable[[float, Mapping[str, Sample], Mapping[str, Any]], None] | None = None,
) -> SiteRun:
    """Run ``site`` under one or more controllers for ``days`` from ``start`` (aware).

    Each controller is scanned at its own period (a whole multiple of the
    plant's step); the first one names the run. ``on_step(now, inputs,
    outputs)`` is called after the scans of every step (for records).
    """
    cfg = plant_config or AgriPlantConfig()
    ctrls = [controller] if not isinstance(controller, Sequence) else list(controller)
    plant = AgriPlant(site, weather, run_start=start, rng=np.random.default_rng(seed), config=cfg)
    step = cfg.step_s
    every = []
    for c in ctrls:
        ratio = c.scan_period_s / step
        if ratio < 1.0 - 1e-9 or abs(ratio - round(ratio)) > 1e-9:
            raise ValueError(
                f"{c.name}: scan period {c.scan_period_s:g} s is not a multiple of the "
                f"plant step {step:g} s; set plants.agri.step_s to divide it"
            )
        every.append(round(ratio))
    n = round(days * 86400.0 / step)
    tick = time.perf_counter()
    plant.start(0.0)
    inputs: dict[str, Sample] = dict(plant.sensors())
    outputs: dict[str, Any] = {}
    for k in range(n):
        now = k * step
        for c, m in zip(ctrls, every, strict=True):
            if k % m == 0:
                outputs.update(c.scan(now, inputs))
        if on_step is not None:
            on_step(now, inputs, outputs)
        plant.actuate(outputs)
        plant.advance(now + step)
        inputs.update(plant.sensors())
    wall = time.perf_counter() - tick
    alarms: dict[str, int] = {}
    for c in ctrls:
        alarms_of = getattr(c, "alarms", None)
        if callable(alarms_of):
            for alarm in alarms_of():
                alarms[alarm.code] = alarms.get(alarm.code, 0) + 1
    return SiteRun(
        site.id, ctrls[0].name, plant.kpis(), plant, wall, n * step, dict(sorted(alarms.items()))
    )


def _whole(x: float) -> int | None:
    return round(x) if math.isfinite(x) else None


def summarise_pair(smart: SiteRun, fixed: SiteRun) -> dict[str, Any]:
    """The comparison figures of a smart and a fixed run of the same site."""
    s, f = smart.kpis, fixed.kpis

    def r(x: float, nd: int = 3) -> float:
        return round(float(x), nd)

    saving = 1.0 - s["water_m3"] / f["water_m3"] if f["water_m3"] > 0 else float("nan")
    return {
        "site": smart.site,
        "days": s["days"],
        "in_season_plot_days": s["in_season_plot_days"],
        "water_m3": {"smart": r(s["water_m3"], 1), "fixed": r(f["water_m3"], 1)},
        "water_saving": r(saving),
        "water_mm": {"smart": r(s["water_mm"], 1), "fixed": r(f["water_mm"], 1)},
        "pump_energy_kwh": {
            "smart": r(s["pump_energy_kwh"], 1),
            "fixed": r(f["pump_energy_kwh"], 1),
        },
        "stress_days": {"smart": s["stress_days"], "fixed": f["stress_days"]},
        "yield_loss_proxy": {
            "smart": r(s["yield_loss_proxy"], 4),
            "fixed": r(f["yield_loss_proxy"], 4),
        },
        "deep_percolation_mm": {
            "smart": r(s["deep_percolation_mm"], 1),
            "fixed": r(f["deep_percolation_mm"], 1),
        },
        "rain_mm": r(s["rain_mm"], 1),
        "etc_mm": r(s["etc_mm"], 1),
        "smart_alarms": smart.alarms,
        "speed_x_real_time": {
            "smart": _whole(smart.speed_x_real_time),
            "fixed": _whole(fixed.speed_x_real_time),
        },
    }


def compare_site(
    site: Site,
    weather: WeatherSeries,
    *,
    start: datetime,
    days: float,
    seed: int,
    plant_config: AgriPlantConfig | None = None,
    smart_overrides: Mapping[str, Any] | None = None,
) -> tuple[SiteRun, SiteRun]:
    """The smart controller and the fixed schedule on the same site, weather and seed."""
    cfg = plant_config or AgriPlantConfig()
    smart: list[Controller] = [
        IrrigationController(smart_config(site, start=start, plant=cfg, overrides=smart_overrides))
    ]
    fixed: list[Controller] = [FixedScheduleController(fixed_config(site, start=start, plant=cfg))]
    # misting and fertigation are part of the smart installation; the farmers have neither
    if cfg.net_house_climate and any(p.net_house for p in site.plots):
        smart.append(MistingController(misting_config(site, start=start)))
    if cfg.fertigation:
        smart.append(FertigationController(fertigation_config(site)))
        fixed.append(FertigationController(fertigation_config(site)))
    runs = tuple(
        run_site(site, c, weather, start=start, days=days, seed=seed, plant_config=cfg)
        for c in (smart, fixed)
    )
    return runs[0], runs[1]
