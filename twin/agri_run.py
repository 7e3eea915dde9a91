"""The cooperatives inside a scenario run: plants, controllers (on fog nodes), baseline, records.

``plants.agri`` adds one :class:`sim.agri.plant.AgriPlant` per site, on the run's
weather; ``controllers.irrigation`` adds that site's controllers: the smart set
(irrigation, misting where there are net houses, fertigation when the tank is
simulated) or the farmers' fixed schedule. With ``fog_node`` they run on a
:class:`hil.fog.FogNode` whose store is ``agri/fog_<site>.sqlite`` in the run
folder.

With ``compare_with_fixed`` (the default) each site is run a second time after
the scenario, lock-step (:func:`twin.agri_season.run_site`), under the fixed
schedule with the same weather, seed and plant settings: the paired baseline
the issue asks for "in the same run". The KPIs get an ``agri`` block per site
with both runs and the savings; ``agri/<site>_daily.csv`` holds the daily
series of both and ``agri_report.png`` draws them.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from controllers.io import Controller
from controllers.irrigation import (
    FertigationController,
    FixedScheduleController,
    IrrigationController,
    MistingController,
)
from hil.fog import FogNode
from sim.agri.plant import AgriPlant, AgriPlantConfig
from sim.agri.sites import Site, load_sites
from sim.weather import WeatherSeries
from twin.agri_season import SiteRun, run_site, summarise_pair
from twin.agri_setup import fertigation_config, fixed_config, misting_config, smart_config
from twin.fog_host import FogNodeController, open_fog_node
from twin.kernel import ScheduledAction

if TYPE_CHECKING:
    from twin.eventlog import EventLog
    from twin.kernel import Kernel
    from twin.rng import RngRegistry
    from twin.scenario import AgriConfig, AgriFaultConfig, IrrigationControllerSchema, Scenario

__all__ = ["AgriParts", "add_agri", "agri_weather_span", "plant_config", "site_controllers"]

_FAST_SUBMODEL_STEP_S = 10.0


def agri_weather_span(scenario: Scenario) -> tuple[float, float]:
    """(seconds before the start, seconds after it) the weather must cover for agri:
    the day before (yesterday's ET0) and a day past the end (the last forecast)."""
    return 2 * 86400.0, scenario.duration + 86400.0


def plant_config(cfg: AgriConfig) -> AgriPlantConfig:
    """The plant settings of a scenario's ``plants.agri``."""
    if (cfg.net_house_climate or cfg.fertigation) and cfg.step_s > _FAST_SUBMODEL_STEP_S:
        raise ValueError(
            f"plants.agri.step_s = {cfg.step_s:g} s: the misting and fertigation controllers "
            f"scan every 10 s, so set step_s to 10 (or turn net_house_climate and fertigation off)"
        )
    meter = 60.0 if cfg.step_s <= 60.0 and 60.0 % cfg.step_s == 0 else cfg.step_s
    return AgriPlantConfig(
        step_s=cfg.step_s,
        meter_period_s=meter,
        repeat_gap_d=cfg.repeat_gap_d,
        initial_depletion_fraction=cfg.initial_depletion_fraction,
        net_house_climate=cfg.net_house_climate,
        fertigation=cfg.fertigation,
    )


def site_controllers(
    site: Site, kind: str, scenario: Scenario, pcfg: AgriPlantConfig, overrides: dict[str, Any]
) -> list[Controller]:
    """A site's controllers: ``smart`` (irrigation, misting where there are net houses)
    or ``fixed`` (the farmers' timer), plus fertigation when the tank is simulated."""
    start = scenario.start
    out: list[Controller] = []
    if kind == "smart":
        out.append(
            IrrigationController(smart_config(site, start=start, plant=pcfg, overrides=overrides))
        )
        if pcfg.net_house_climate and any(p.net_house for p in site.plots):
            out.append(MistingController(misting_config(site, start=start)))
    else:
        out.append(FixedScheduleController(fixed_config(site, start=start, plant=pcfg)))
    if pcfg.fertigation:
        out.append(FertigationController(fertigation_config(site)))
    return out


@dataclass
class AgriParts:
    """What a run added for agriculture, and how to report it."""

    plants: dict[str, AgriPlant]
    controllers: dict[str, list[Controller]]
    sites: dict[str, Site]
    weather: WeatherSeries
    plant_config: AgriPlantConfig
    seeds: dict[str, int]
    scenario: Scenario
    schema: IrrigationControllerSchema | None
    fog_nodes: dict[str, FogNode] = field(default_factory=dict)

    def close(self) -> None:
        """Close the fog nodes' stores (the run is over)."""
        for node in self.fog_nodes.values():
            node.close()

    def kpis(self, run_dir: Path, failed: bool = False) -> dict[str, Any]:
        """Per site: the run's KPIs, the fixed baseline's and the comparison; writes
        ``agri/<site>_daily.csv``; closes the fog nodes.

        The baseline is left out (and the reason given) when the run failed part-way
        or injected field faults: it would not be a paired comparison."""
        self.close()
        out: dict[str, Any] = {}
        folder = run_dir / "agri"
        folder.mkdir(parents=True, exist_ok=True)
        days = self.scenario.duration / 86400.0
        for sid, plant in self.plants.items():
            kind = "none" if self.schema is None else self.schema.kind
            alarms: dict[str, int] = {}
            for c in self.controllers.get(sid, []):
                alarms_of = getattr(c, "alarms", None)
                if callable(alarms_of):
                    for alarm in alarms_of():
                        alarms[alarm.code] = alarms.get(alarm.code, 0) + 1
            main = SiteRun(sid, kind, plant.kpis(), plant, math.nan, self.scenario.duration, alarms)
            block: dict[str, Any] = {"controller": kind, "kpis": _rounded(main.kpis)}
            block["alarms"] = dict(sorted(alarms.items()))
            runs: dict[str, SiteRun] = {kind: main}
            faults = self.scenario.plants.agri.faults if self.scenario.plants.agri else []
            wanted = self.schema is not None and self.schema.compare_with_fixed
            if wanted and kind == "smart" and (failed or faults):
                block["comparison_skipped"] = (
                    "the run failed part-way" if failed else "field faults were injected"
                ) + ": the fixed baseline would not be a paired comparison"
            elif wanted and kind == "smart":
                site = self.sites[sid]
                fixed = run_site(
                    site,
                    site_controllers(site, "fixed", self.scenario, self.plant_config, {}),
                    self.weather,
                    start=self.scenario.start,
                    days=days,
                    seed=self.seeds[sid],
                    plant_config=self.plant_config,
                )
                runs["fixed"] = fixed
                block["fixed_kpis"] = _rounded(fixed.kpis)
                comparison = summarise_pair(main, fixed)
                comparison.pop("speed_x_real_time")
                block["comparison"] = comparison
            if sid in self.fog_nodes:
                node = self.fog_nodes[sid]
                block["fog_node"] = {
                    "records": node.store.last_seq,
                    "acked": node.store.acked_seq,
                    **{k: v for k, v in node.stats.items() if v},
                }
            _write_daily(folder / f"{sid}_daily.csv", runs)
            out[sid] = block
        return out


def _rounded(kpis: dict[str, Any]) -> dict[str, Any]:
    def r(v: Any) -> Any:
        if isinstance(v, float):
            return round(v, 4) if math.isfinite(v) else None
        if isinstance(v, dict):
            return {k: r(x) for k, x in v.items()}
        return v

    return {k: r(v) for k, v in kpis.items()}


def _write_daily(path: Path, runs: dict[str, SiteRun]) -> None:
    """One row per day and controller: area-weighted depths (mm) and plot counts."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "date",
                "controller",
                "irrigation_mm",
                "rain_mm",
                "eta_mm",
                "etc_mm",
                "in_season_plots",
                "stressed_plots",
                "mean_depletion_share",
            ]
        )
        for kind, run in runs.items():
            plant = run.plant
            area = plant.area_m2
            total = float(area.sum())
            for day in plant.history:
                ins = day["in_season"]
                short = ins & (day["eta_mm"] < 0.99 * day["etc_mm"])
                share = np.where(day["taw_mm"] > 0, day["depletion_mm"] / day["taw_mm"], 0.0)
                w.writerow(
                    [
                        day["date"].isoformat(),
                        kind,
                        round(float(np.sum(day["irrigation_mm"] * area) / total), 3),
                        round(float(day["rain_mm"]), 2),
                        round(float(np.sum(day["eta_mm"] * area) / total), 3),
                        round(float(np.sum(day["etc_mm"] * area) / total), 3),
                        int(ins.sum()),
                        int(short.sum()),
                        round(float(np.mean(share[ins])) if ins.any() else 0.0, 3),
                    ]
                )


def _fault_action(plant: AgriPlant, fault: AgriFaultConfig, on: bool) -> Any:
    def act(_: Kernel) -> None:
        kind, target, hyd = fault.kind, fault.target, plant.hydraulics
        if kind in ("probe_dead", "probe_stuck"):
            plant.fail_probe(target, kind.removeprefix("probe_") if on else None)
            return
        if kind == "pump_failure":
            hyd.fail_pump(on)
        elif kind == "burst_lateral":
            hyd.burst_lateral(target, fault.value if on else 0.0)
        elif kind == "blocked_emitters":
            hyd.block_emitters(target, min(fault.value, 1.0) if on else 0.0)
        else:
            hyd.stick_valve(target, (kind == "valve_stuck_open") if on else None)
        plant.hydraulics_changed()

    return act


def _schedule_faults(kernel: Kernel, scenario: Scenario, plant: AgriPlant) -> None:
    assert scenario.plants.agri is not None
    for fault in scenario.plants.agri.faults:
        prefix = fault.target.split("-")[0]
        if prefix != plant.site.id:
            continue
        ok = (
            fault.target == plant.site.id
            if fault.kind == "pump_failure"
            else (fault.target in plant.plot_ids)
        )
        if not ok:
            raise ValueError(
                f"plants.agri.faults: {fault.kind} target {fault.target!r} is not "
                + ("the site id" if fault.kind == "pump_failure" else "a plot")
                + f" of {plant.site.id}; e.g. {plant.plot_ids[0]}"
            )
        details = {"fault": fault.kind, "target": fault.target}
        at = scenario.event_time_s(fault.at)
        kernel.schedule(
            ScheduledAction(at, "agri_fault", _fault_action(plant, fault, True), details)
        )
        if fault.until is not None:
            until = scenario.event_time_s(fault.until)
            kernel.schedule(
                ScheduledAction(until, "agri_repair", _fault_action(plant, fault, False), details)
            )


def add_agri(
    kernel: Kernel,
    scenario: Scenario,
    rng: RngRegistry,
    log: EventLog,
    manifest: dict[str, Any],
    run_dir: Path,
    weather: WeatherSeries | None,
) -> AgriParts | None:
    """Add the agriculture plants and controllers if the scenario asks for them."""
    cfg = scenario.plants.agri
    schema = scenario.controllers.irrigation
    if cfg is None:
        if schema is not None:
            raise ValueError("controllers.irrigation needs plants.agri")
        return None
    if weather is None:
        raise ValueError("plants.agri needs the run's weather (set up before agri)")
    pcfg = plant_config(cfg)
    for i, fault in enumerate(cfg.faults):
        if fault.target.split("-")[0] not in cfg.sites:
            raise ValueError(
                f"plants.agri.faults[{i}].target {fault.target!r} is not on a simulated site "
                f"{list(cfg.sites)}; name a plot like 'DT-H01-P1' or a site id for pump_failure"
            )
    all_sites = {s.id: s for s in load_sites(cfg.sites_file)}
    sites: dict[str, Site] = {str(sid): all_sites[sid] for sid in cfg.sites}
    plants: dict[str, AgriPlant] = {}
    ctrls: dict[str, list[Controller]] = {}
    seeds: dict[str, int] = {}
    fog_nodes: dict[str, FogNode] = {}
    try:
        _add_sites(kernel, scenario, rng, log, manifest, run_dir, weather, pcfg, sites,
                   plants, ctrls, seeds, fog_nodes)  # fmt: skip
    except BaseException:
        for node in fog_nodes.values():
            node.close()
        raise
    log.emit(
        0.0,
        "agri_setup",
        sites=list(sites),
        controller=None if schema is None else schema.kind,
        plant_step_s=pcfg.step_s,
        days=scenario.duration / 86400.0,
        weather_from=(weather.start).isoformat(),
        weather_to=(weather.start + timedelta(seconds=weather.end_s)).isoformat(),
    )
    return AgriParts(plants, ctrls, sites, weather, pcfg, seeds, scenario, schema, fog_nodes)


def _add_sites(
    kernel: Kernel,
    scenario: Scenario,
    rng: RngRegistry,
    log: EventLog,
    manifest: dict[str, Any],
    run_dir: Path,
    weather: WeatherSeries,
    pcfg: AgriPlantConfig,
    sites: dict[str, Site],
    plants: dict[str, AgriPlant],
    ctrls: dict[str, list[Controller]],
    seeds: dict[str, int],
    fog_nodes: dict[str, FogNode],
) -> None:
    schema = scenario.controllers.irrigation
    for sid, site in sites.items():
        seed = rng.integer_seed(f"agri/{sid}")
        seeds[sid] = seed
        manifest["derived_seeds"][f"agri/{sid}"] = seed
        plant = AgriPlant(
            site,
            weather,
            run_start=scenario.start,
            rng=np.random.default_rng(seed),
            config=pcfg,
        )
        kernel.add_plant(plant)
        plants[sid] = plant
        _schedule_faults(kernel, scenario, plant)
        if schema is None:
            log.emit(0.0, "agri_uncontrolled", site=sid, note="no controllers: valves stay shut")
            continue
        site_ctrls = site_controllers(site, schema.kind, scenario, pcfg, dict(schema.overrides))
        ctrls[sid] = site_ctrls
        if schema.fog_node is not None:
            node = open_fog_node(
                run_dir / "agri" / f"fog_{sid}.sqlite",
                f"fog-{sid.lower()}",
                site_ctrls,
                schema.fog_node.uplink,
            )
            fog_nodes[sid] = node
            kernel.add_controller(FogNodeController(node))
        else:
            for c in site_ctrls:
                kernel.add_controller(c)
