"""The street-lighting pilot inside a scenario run: plant, controller, couplings, records.

``plants.lighting`` adds the Hùng Vương plant (:mod:`sim.lighting.plant`) lit by one of
the three configurations (:mod:`twin.lighting_setup`) and its controller
(:class:`controllers.lighting.LightingController`) scanned by the kernel; with
``couplings.traffic_to_lighting`` SUMO's vehicles and pedestrians trigger the poles'
motion sensors and the segment counters (:mod:`twin.lighting_coupling`). A compliance
probe judges every segment's EN 13201 field against the class CIE 115 asks for the
counted traffic, every :data:`COMPLIANCE_PERIOD_S` (:mod:`twin.lighting_design`).

After the run ``lighting/`` holds ``history.npz`` (levels, light, power, energy per pole
and cabinet), ``compliance.csv``, ``alerts.csv`` (the controller's raised/cleared alerts)
and ``faults.csv`` (each injected fault, when and whether the controller found it); the
KPIs get a ``lighting`` block: energy, CO2, cost, lamp-hours, compliance share, faults
detected and time to detect.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from controllers.lighting import LightingController
from sim.lighting.faults import Fault
from sim.lighting.layout import LightingLayout, hung_vuong_layout
from sim.lighting.plant import LightingPlant, LightingPlantConfig
from sim.weather import solar_elevation_deg
from twin.lighting_coupling import FloodLightingCoupling, TrafficLightingCoupling
from twin.lighting_design import PilotPhotometry, required_class
from twin.lighting_setup import Configuration, build_lighting_controller, configuration
from twin.lighting_year import (
    GRID_CO2_T_PER_MWH,
    LIT_H_PER_YEAR,
    NIGHT_BELOW_DEG,
    TARIFF_VND_PER_KWH,
)

if TYPE_CHECKING:
    from sim.hydro.plant import FloodPlant
    from sim.traffic.plant import TrafficPlant
    from twin.eventlog import EventLog
    from twin.kernel import Kernel
    from twin.rng import RngRegistry
    from twin.scenario import Scenario

__all__ = [
    "COMPLIANCE_PERIOD_S",
    "BuiltLighting",
    "LightingParts",
    "add_lighting",
    "build_lighting",
]

#: how often (s) the compliance probe judges the segments
COMPLIANCE_PERIOD_S = 60.0


@dataclass
class _ComplianceRow:
    t_s: float
    cabinet: str
    required: str  # "" while the sun is up
    met: bool
    l_avg: float
    u0: float
    ul: float


@dataclass
class ComplianceProbe:
    """Judges each segment's field against its required class (module docstring)."""

    plant: LightingPlant
    config: Configuration
    photometry: PilotPhotometry
    period_s: float = COMPLIANCE_PERIOD_S
    name: str = "lighting-compliance"
    rows: list[_ComplianceRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        layout = self.plant.layout
        self._lat = float(np.mean(layout.pole_array("lat")))
        self._lon = float(np.mean(layout.pole_array("lon")))

    def step(self, now: float, kernel: Kernel) -> None:
        """Record one row per cabinet at ``now`` (s)."""
        layout = self.plant.layout
        when = self.plant.config.start + timedelta(seconds=now)
        if solar_elevation_deg(when, self._lat, self._lon) >= NIGHT_BELOW_DEG:
            self.rows += [
                _ComplianceRow(now, c, "", True, 0.0, 0.0, 0.0) for c in layout.cabinet_ids
            ]
            return
        latest = self.plant.latest()
        need: dict[str, str] = {}
        for cabinet in layout.cabinet_ids:
            sample = latest.get(f"light/{cabinet}/volume_veh_h")
            volume = sample.value if sample is not None and sample.good else math.inf
            need[cabinet] = required_class(volume if math.isfinite(volume) else 1e6)
        judged = self.photometry.compliance(self.config.model, self.plant.light, need)
        for cabinet, (ok, quality) in judged.items():
            self.rows.append(
                _ComplianceRow(
                    now, cabinet, need[cabinet], ok, quality.l_avg_cd_m2, quality.u0, quality.ul
                )
            )

    def share_met(self) -> float | None:
        """Share of night rows whose segment met its class (None with no night rows)."""
        night = [r for r in self.rows if r.required]
        return sum(r.met for r in night) / len(night) if night else None


@dataclass
class LightingParts:
    """The lighting plant and what watches it in one run."""

    plant: LightingPlant
    controller: LightingController
    config: Configuration
    probe: ComplianceProbe
    coupling: TrafficLightingCoupling | None

    def kpis(self, run_dir: Path) -> dict[str, Any]:
        """The ``lighting`` KPI block; writes ``run_dir/lighting/*`` (module docstring)."""
        folder = run_dir / "lighting"
        folder.mkdir(parents=True, exist_ok=True)
        plant_kpis = self.plant.kpis()
        energy = float(plant_kpis["energy_kwh_total"])
        faults = plant_kpis["faults"]
        found = [f for f in faults if f.get("detected")]
        out: dict[str, Any] = {
            "configuration": self.config.name,
            "luminaire": plant_kpis["luminaire"],
            "energy_kwh": round(energy, 3),
            "energy_kwh_by_cabinet": {
                c: round(v, 3) for c, v in plant_kpis["energy_kwh_by_cabinet"].items()
            },
            "co2_kg": round(energy * GRID_CO2_T_PER_MWH, 2),
            "cost_vnd": round(energy * TARIFF_VND_PER_KWH),
            "lamp_hours": round(float(plant_kpis["lamp_hours"]), 2),
            "compliance_share": self.probe.share_met(),
            "faults_injected": len(faults),
            "faults_detected": len(found),
            "detect_delay_s": [f.get("delay_s") for f in found],
            "false_alerts": plant_kpis["false_alerts"],
            "alerts_raised": sum(1 for a in self.controller.alerts() if a.kind == "raised"),
            "motion_users_seen": self.coupling.users_seen if self.coupling else None,
        }
        self._write_history(folder)
        self._write_csvs(folder, faults)
        return out

    def _write_history(self, folder: Path) -> None:
        h = self.plant.history()
        layout = self.plant.layout
        n_t = h.t_s.size
        ambient = np.repeat(h.ambient_lx.reshape(n_t, 1), len(h.cabinet_ids), axis=1)
        np.savez_compressed(
            folder / "history.npz",
            t_s=h.t_s,
            start_iso=np.array(self.plant.config.start.isoformat()),
            pole_ids=np.array(h.pole_ids),
            pole_station_m=layout.pole_array("station_m"),
            pole_side=np.array([p.side for p in layout.poles]),
            pole_cabinet=np.array([p.cabinet for p in layout.poles]),
            cabinet_ids=np.array(h.cabinet_ids),
            level=h.level,
            light=h.light,
            pole_power_w=h.pole_power_w,
            cabinet_power_w=h.cabinet_power_w,
            cabinet_energy_kwh=h.cabinet_energy_kwh,
            ambient_lx=ambient,
        )

    def _write_csvs(self, folder: Path, faults: list[dict[str, Any]]) -> None:
        with (folder / "compliance.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["t_s", "cabinet", "required_class", "met", "l_avg_cd_m2", "u0", "ul"])
            for r in self.probe.rows:
                w.writerow(
                    [f"{r.t_s:g}", r.cabinet, r.required, int(r.met)]
                    + [f"{v:.4g}" for v in (r.l_avg, r.u0, r.ul)]
                )
        with (folder / "alerts.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["t_s", "pole", "code", "kind"])
            for a in self.controller.alerts():
                w.writerow([f"{a.time_s:g}", a.pole, a.code, a.kind])
        with (folder / "faults.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(
                [
                    "kind",
                    "target",
                    "start_s",
                    "end_s",
                    "detected_s",
                    "detect_delay_s",
                    "expected_alert",
                ]
            )
            for f in faults:
                w.writerow(
                    [
                        f["kind"],
                        f["target"],
                        f"{f['start_s']:g}",
                        "" if f["end_s"] is None else f"{f['end_s']:g}",
                        "" if f.get("detected_s") is None else f"{f['detected_s']:g}",
                        "" if f.get("delay_s") is None else f"{f['delay_s']:g}",
                        f["expected_alert"],
                    ]
                )


def _fault_time(scenario: Scenario, at: float | str) -> float:
    """Seconds after start; a clock time before the start means the next morning."""
    t = scenario.event_time_s(at)
    return t + 86400.0 if isinstance(at, str) and t < 0 else t


@dataclass
class BuiltLighting:
    """The scenario's lighting plant (faults injected) and its controller."""

    plant: LightingPlant
    controller: LightingController
    config: Configuration
    layout: LightingLayout
    photometry: PilotPhotometry
    commissioning: Any
    seed: int


def build_lighting(scenario: Scenario, rng: RngRegistry) -> BuiltLighting:
    """The plant and controller of ``plants.lighting`` / ``controllers.lighting``, seeded
    from ``rng`` as in ``twin run`` (stream ``lighting``)."""
    cfg = scenario.plants.lighting
    if cfg is None:
        raise ValueError("the scenario has no plants.lighting")
    config = configuration(cfg.configuration)
    layout = hung_vuong_layout()
    photometry = PilotPhotometry(layout)
    seed = rng.integer_seed("lighting")
    plant = LightingPlant(
        LightingPlantConfig(
            start=scenario.start,
            step_s=cfg.step_s,
            luminaire=config.plant_luminaire,
            luminaire_model=config.model,
            layout=layout,
            traffic=cfg.traffic,
            link_loss_prob=cfg.link_loss_prob,
            cloud_cover=cfg.cloud_cover,
            rain_mm_h=cfg.rain_mm_h,
            record_period_s=cfg.record_period_s,
            seed=seed,
        )
    )
    for f in cfg.faults:
        end = None if f.until is None else _fault_time(scenario, f.until)
        plant.inject(Fault(f.kind, f.target, _fault_time(scenario, f.at), end, f.level))
    schema = scenario.controllers.lighting
    commissioning = (
        photometry.commissioning(config.model, float(config.model.maintenance(LIT_H_PER_YEAR)))
        if config.mode == "adaptive"
        else None
    )
    controller = build_lighting_controller(
        layout,
        config,
        scenario.start,
        commissioning=commissioning,
        scan_period_s=schema.scan_period_s if schema else cfg.step_s,
        overrides=schema.overrides if schema else None,
    )
    return BuiltLighting(plant, controller, config, layout, photometry, commissioning, seed)


def add_lighting(
    kernel: Kernel,
    scenario: Scenario,
    rng: RngRegistry,
    traffic: TrafficPlant | None,
    log: EventLog,
    manifest: dict[str, Any],
    *,
    flood: FloodPlant | None = None,
) -> LightingParts | None:
    """Add the lighting plant, controller, probe and couplings if the scenario asks."""
    cfg = scenario.plants.lighting
    couple = scenario.couplings.traffic_to_lighting
    if cfg is None:
        if (
            scenario.controllers.lighting is not None
            or couple
            or scenario.couplings.flood_to_lighting
        ):
            raise ValueError(
                "controllers.lighting and couplings.traffic_to_lighting / flood_to_lighting "
                "need plants.lighting"
            )
        return None
    if scenario.couplings.flood_to_lighting and flood is None:
        raise ValueError("couplings.flood_to_lighting needs plants.flood as well")
    if cfg.traffic == "observed" and not (couple and traffic is not None):
        raise ValueError(
            "plants.lighting.traffic is 'observed': add plants.traffic and set "
            "couplings.traffic_to_lighting: true, or use traffic: synthetic"
        )
    built = build_lighting(scenario, rng)
    manifest["derived_seeds"]["lighting"] = built.seed
    plant, controller, config = built.plant, built.controller, built.config
    layout, photometry, commissioning = built.layout, built.photometry, built.commissioning
    kernel.add_plant(plant)
    kernel.add_controller(controller)
    probe = ComplianceProbe(plant, config, photometry)
    kernel.add_coupling(probe)
    coupling = None
    if couple and traffic is not None and scenario.plants.traffic is not None:
        coupling = TrafficLightingCoupling(
            traffic, plant, scenario.plants.traffic.network, period_s=traffic.step_s
        )
        kernel.add_coupling(coupling)
    flooding = None
    if scenario.couplings.flood_to_lighting and flood is not None:
        flooding = FloodLightingCoupling(flood, plant, period_s=flood.step_s)
        kernel.add_coupling(flooding)
    log.emit(
        0.0,
        "lighting",
        configuration=config.name,
        poles=len(layout.poles),
        cabinets=len(layout.cabinets),
        commissioning=commissioning,
        watched_edges=len(coupling.edges) if coupling else 0,
        cabinets_off_flood_grid=flooding.outside if flooding else None,
    )
    return LightingParts(plant, controller, config, probe, coupling)
