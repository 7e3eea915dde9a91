"""Build the signal controllers of a run: fixed-time, max-pressure or coordinated adaptive.

Everything comes from the network itself (phases, links, lanes, which signal
feeds which), so any SUMO network works. Every controller, whatever its kind,
carries the Webster plan computed from the run's demand as its fixed-time
plan (the fallback of the adaptive kinds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from controllers.signals import FixedTimeController, IntersectionSpec, SignalPlan, webster_plan
from controllers.signals.adaptive import AdaptiveController, AdaptiveTuning, UpstreamFeed
from controllers.signals.detection import LaneDetector, PedestrianDetector
from controllers.signals.maxpressure import MaxPressureController
from controllers.signals.phase_control import PhaseTimingLimits
from sim.traffic.feeds import signal_links
from sim.traffic.layout import SignalLayout, point_segment
from sim.traffic.vtypes import load_vtypes
from twin.scenario import SignalControllerConfig

__all__ = ["build_signal_controllers", "mix_pcu_per_vehicle", "read_corridors"]


def mix_pcu_per_vehicle(vtypes_csv: Path) -> float:
    """Traffic-mix average PCU per vehicle (share-weighted) of a vehicle-type table."""
    types = load_vtypes(vtypes_csv)
    total = sum(t.share for t in types)
    if total <= 0:
        raise ValueError(f"{vtypes_csv}: vehicle-type shares sum to {total}; expected > 0")
    return sum(t.share * t.pcu for t in types) / total


def read_corridors(path: Path, known: Sequence[str]) -> dict[str, list[str]]:
    """Corridors from YAML ``corridors: {name: {signals: [id, ...]}}``; ids must be known."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    corridors = data.get("corridors") if isinstance(data, dict) else None
    if not isinstance(corridors, dict) or not corridors:
        raise ValueError(f"{path}: expected 'corridors:' mapping names to {{signals: [ids]}}")
    out: dict[str, list[str]] = {}
    for name, entry in corridors.items():
        ids = entry.get("signals") if isinstance(entry, dict) else None
        if not isinstance(ids, list) or len(ids) < 2:
            raise ValueError(f"{path}: corridors: {name}: 'signals' must list >= 2 signal ids")
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ValueError(
                f"{path}: corridors: {name}: unknown signal ids {', '.join(map(str, unknown))}"
            )
        out[str(name)] = [str(i) for i in ids]
    return out


def _detectors(layout: SignalLayout, pcu: float) -> list[LaneDetector | PedestrianDetector]:
    seg = point_segment(layout.tls_id)
    found: list[LaneDetector | PedestrianDetector] = [
        LaneDetector(lane, f"tls/{seg}/det/{point_segment(lane)}", pcu_per_vehicle=pcu)
        for lane in layout.lanes
    ]
    found += [
        PedestrianDetector(crossing, f"tls/{seg}/ped/{point_segment(crossing)}")
        for crossing in layout.crossings
    ]
    return found


def build_signal_controllers(
    layouts: Mapping[str, SignalLayout],
    flows: Mapping[tuple[str, str], float],
    cfg: SignalControllerConfig,
    *,
    net_file: Path | None = None,
    pcu_per_vehicle: float = 0.45,
    detector_length_m: float = 150.0,
    specs: Mapping[str, IntersectionSpec] | None = None,
    plans: Mapping[str, SignalPlan] | None = None,
) -> tuple[list[FixedTimeController], dict[str, IntersectionSpec], dict[str, SignalPlan]]:
    """Controllers of ``cfg.kind`` for every layout, with Webster plans from edge-pair flows.

    Args:
        layouts: the signals, from the network.
        flows: edge-pair flows (PCU/h) for the Webster plans.
        cfg: the scenario's signal configuration.
        net_file: the network (needed for coordination feeds of the adaptive kind).
        pcu_per_vehicle: mix-average PCU per vehicle, unless ``cfg`` sets one.
        detector_length_m: detection zone length (m), for platoon timing.
        specs: intersections to use instead of deriving them from ``cfg``'s timings.
        plans: fixed-time plans to use instead of Webster plans from ``flows``.
    """
    pcu = cfg.pcu_per_vehicle or pcu_per_vehicle
    limits = PhaseTimingLimits(
        max_green_s=cfg.max_green_s,
        max_red_s=cfg.max_red_s,
        max_failed_fraction=cfg.fallback_failed_fraction,
        recover_after_s=cfg.recover_after_s,
    )
    feeds: dict[str, list[UpstreamFeed]] = {}
    if cfg.kind == "adaptive" and cfg.coordination and net_file is not None:
        feeds = _feeds(layouts, net_file, cfg, detector_length_m, pcu)
    downstream: dict[str, dict[str, list[LaneDetector]]] = {}
    if cfg.kind in ("maxpressure", "adaptive") and net_file is not None:
        downstream = _downstream(layouts, net_file, pcu)
    controllers: list[FixedTimeController] = []
    out_specs: dict[str, IntersectionSpec] = {}
    out_plans: dict[str, SignalPlan] = {}
    for tls_id, layout in layouts.items():
        if specs is not None:
            spec = specs[tls_id]
        else:
            spec = IntersectionSpec.from_program(
                tls_id,
                layout.phase_states,
                layout.link_lanes,
                min_green_s=cfg.min_green_s,
                amber_s=cfg.amber_s,
                all_red_s=cfg.all_red_s,
            )
        if plans is not None:
            plan = plans[tls_id]
        else:
            plan = webster_plan(
                spec,
                [flows.get(pair, 0.0) for pair in layout.link_edges],
                saturation_pcu_h_per_lane=cfg.saturation_pcu_h_per_lane,
                min_cycle_s=cfg.min_cycle_s,
                max_cycle_s=cfg.max_cycle_s,
            )
        controller: FixedTimeController
        if cfg.kind == "fixed_time":
            controller = FixedTimeController(spec, plan, scan_period_s=cfg.scan_period_s)
        elif cfg.kind == "maxpressure":
            controller = MaxPressureController(
                spec,
                plan,
                _detectors(layout, pcu),
                downstream=downstream.get(tls_id),
                limits=limits,
                scan_period_s=cfg.scan_period_s,
            )
        else:
            controller = AdaptiveController(
                spec,
                plan,
                _detectors(layout, pcu),
                feeds=feeds.get(tls_id, ()),
                downstream=downstream.get(tls_id),
                tuning=AdaptiveTuning(),
                limits=limits,
                scan_period_s=cfg.scan_period_s,
            )
        controllers.append(controller)
        out_specs[tls_id], out_plans[tls_id] = spec, plan
    return controllers, out_specs, out_plans


def _feeds(
    layouts: Mapping[str, SignalLayout],
    net_file: Path,
    cfg: SignalControllerConfig,
    detector_length_m: float,
    pcu: float,
) -> dict[str, list[UpstreamFeed]]:
    """Per junction: predicted-platoon feeds from the signals upstream of its lanes."""
    corridor_of: dict[str, set[str]] = {}
    if cfg.corridors is not None:
        for name, ids in read_corridors(cfg.corridors, list(layouts)).items():
            for tls in ids:
                corridor_of.setdefault(tls, set()).add(name)
    # (down tls, down lane, up tls) -> {upstream lane: links of it leading here}, travel s
    grouped: dict[tuple[str, str, str], dict[str, set[int]]] = {}
    travel: dict[tuple[str, str, str], float] = {}
    for link in signal_links(net_file, layouts):
        up, down = layouts[link.up_tls], layouts[link.down_tls]
        up_lane = up.link_lanes[link.up_link]
        for lane in link.down_lanes:
            key = (link.down_tls, lane, link.up_tls)
            grouped.setdefault(key, {}).setdefault(up_lane, set()).add(link.up_link)
            zone = min(detector_length_m, down.lane_lengths_m[lane])
            t = max(1.0, link.travel_s - zone / max(down.lane_speeds_mps[lane], 1.0))
            travel[key] = min(travel.get(key, t), t)
    feeds: dict[str, list[UpstreamFeed]] = {}
    for key, by_lane in sorted(grouped.items()):
        down_tls, lane, up_tls = key
        up = layouts[up_tls]
        n_down = sum(1 for k in grouped if k[0] == down_tls and k[2] == up_tls)
        seg = point_segment(up_tls)
        points, shares = [], []
        for up_lane, links in sorted(by_lane.items()):
            from_lane = sum(1 for x in up.link_lanes if x == up_lane)
            points.append(f"tls/{seg}/det/{point_segment(up_lane)}/count")
            shares.append(min(1.0, len(links) / from_lane / n_down))
        feeds.setdefault(down_tls, []).append(
            UpstreamFeed(
                lane=lane,
                count_points=tuple(points),
                shares=tuple(shares),
                travel_s=travel[key],
                pcu_per_vehicle=pcu,
                corridor=bool(corridor_of.get(up_tls, set()) & corridor_of.get(down_tls, set())),
            )
        )
    return feeds


def _downstream(
    layouts: Mapping[str, SignalLayout], net_file: Path, pcu: float
) -> dict[str, dict[str, list[LaneDetector]]]:
    """Per junction: incoming lane -> detectors of the next junction's lanes it feeds."""
    out: dict[str, dict[str, list[LaneDetector]]] = {}
    for link in signal_links(net_file, layouts):
        up = layouts[link.up_tls]
        lane = up.link_lanes[link.up_link]
        seg = point_segment(link.down_tls)
        dets = out.setdefault(link.up_tls, {}).setdefault(lane, [])
        have = {d.lane for d in dets}
        for down_lane in link.down_lanes:
            if down_lane not in have:
                dets.append(
                    LaneDetector(
                        down_lane, f"tls/{seg}/det/{point_segment(down_lane)}", pcu_per_vehicle=pcu
                    )
                )
    return out
