"""The scenario's traffic: seeded demand, the SUMO plant and its signal controllers.

Shared by ``twin run`` and ``twin hil``: both sides of a hardware-in-the-loop
session build the same demand (same seed), so the controllers' Webster plans
and the cabinets' time-base plans are the same on both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from controllers.signals import IntersectionSpec, SignalPlan
from controllers.signals.fixed_time import FixedTimeController
from sim.traffic.demand import DemandResult, generate_demand
from sim.traffic.layout import SignalLayout, read_signal_layouts
from sim.traffic.plant import TrafficPlant, TrafficPlantConfig
from twin.rng import RngRegistry
from twin.scenario import Scenario
from twin.signal_setup import build_signal_controllers, mix_pcu_per_vehicle

__all__ = ["TrafficParts", "build_traffic", "signal_ids"]


def signal_ids(signals_yaml: Path) -> list[str]:
    """Traffic-light ids listed in a signals file (``signals: [{id: ...}, ...]``)."""
    data = yaml.safe_load(signals_yaml.read_text(encoding="utf-8")) or {}
    entries = data.get("signals") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "id" in e for e in entries):
        raise ValueError(
            f"{signals_yaml}: expected 'signals:' with a list of entries that have an 'id'"
        )
    return [str(e["id"]) for e in entries]


def peak_hour_flows(
    demand: DemandResult, duration_s: float, net_file: Path
) -> tuple[dict[tuple[str, str], float], float]:
    """Edge-pair flows (PCU/h) of the busiest hour in the run, and that hour's start (s).

    Each vehicle counts on a pair when it would pass there at free-flow speed.
    """
    import sumolib

    net = sumolib.net.readNet(str(net_file), withInternal=False)
    return demand.busiest_hour_edge_pair_flows(duration_s, net)


@dataclass
class TrafficParts:
    """What :func:`build_traffic` made: demand, SUMO, and (if configured) the signal
    controllers with their intersections and fixed-time plans by junction."""

    demand: DemandResult
    demand_seed: int
    sumo_seed: int
    layouts: dict[str, SignalLayout]
    plant: TrafficPlant
    controllers: list[FixedTimeController] = field(default_factory=list)
    specs: dict[str, IntersectionSpec] = field(default_factory=dict)
    plans: dict[str, SignalPlan] = field(default_factory=dict)
    design_hour_start_s: float | None = None
    demand_wall_s: float = 0.0


def build_traffic(
    scenario: Scenario, run_dir: Path, rng: RngRegistry, *, controllers: bool = True
) -> TrafficParts:
    """Demand (in ``run_dir/demand``), the SUMO plant writing to ``run_dir``, and unless
    ``controllers`` is False or the scenario has none, its signal controllers."""
    traffic = scenario.plants.traffic
    if traffic is None:
        raise ValueError("the scenario has no plants.traffic")
    demand_seed = rng.integer_seed("demand")
    tick = time.perf_counter()
    demand = generate_demand(
        traffic.network,
        run_dir / "demand",
        begin_s=0.0,
        end_s=scenario.duration,
        day_offset_s=scenario.day_offset_s(),
        seed=demand_seed,
        scale=traffic.demand.scale,
        zones_yaml=traffic.demand.zones,
        vtypes_csv=traffic.demand.vtypes,
        profile_csv=traffic.demand.profile,
        daily_trips=traffic.demand.daily_trips,
    )
    demand_wall_s = time.perf_counter() - tick
    layouts = read_signal_layouts(traffic.network, signal_ids(traffic.signals))
    sumo_seed = rng.integer_seed("sumo")
    plant = TrafficPlant(
        TrafficPlantConfig(
            net_file=traffic.network,
            route_files=[demand.routes_file],
            additional_files=[demand.vtypes_file],
            run_dir=run_dir,
            duration_s=scenario.duration,
            step_s=traffic.step_s,
            seed=sumo_seed,
            mode=traffic.mode,
            lateral_resolution_m=traffic.lateral_resolution_m,
            backend=traffic.backend,
            gui=traffic.gui,
            remote=traffic.remote,
            detector_length_m=traffic.detector_length_m,
        ),
        layouts,
    )
    parts = TrafficParts(demand, demand_seed, sumo_seed, layouts, plant)
    parts.demand_wall_s = demand_wall_s
    signals_cfg = scenario.controllers.signals
    if controllers and signals_cfg is not None:
        flows, parts.design_hour_start_s = peak_hour_flows(
            demand, scenario.duration, traffic.network
        )
        parts.controllers, parts.specs, parts.plans = build_signal_controllers(
            layouts,
            flows,
            signals_cfg,
            net_file=traffic.network,
            pcu_per_vehicle=mix_pcu_per_vehicle(traffic.demand.vtypes),
            detector_length_m=traffic.detector_length_m,
        )
    return parts
