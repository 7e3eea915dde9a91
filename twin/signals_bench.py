"""``twin signals bench``: compare signal controllers on any SUMO configuration.

Controllers (all on the same network, demand, SUMO build and seeds):

- ``fixed``: the network's own programs (phase order and durations), with
  an all-red of ``all_red_s`` inserted after every amber: netconvert's
  programs have no red clearance, and a benchmark should not reward a
  controller for skipping one. All five controllers use the same change
  intervals;
- ``actuated``: SUMO's gap-based actuated control (its own detectors, placed
  by SUMO), tuned: min green ``min_green_s`` and max green ``max_green_s`` on
  every green phase, max gap 3 s, the network's amber, plus an all-red of
  ``all_red_s`` after every amber (the same change intervals as ours);
- ``delay_based``: SUMO's time-loss-based control (Oertel & Wagner), same
  min/max greens and intervals, detection range = our detection zone;
- ``maxpressure``, ``adaptive``: the twin's controllers, run by the twin's
  kernel through the safety layer, with the network's own program timings as
  the fixed-time fallback plan; ``+camera`` (e.g. ``adaptive+camera``) feeds
  them the city's ~85 %-accurate camera estimates instead of detectors.

Every run writes one JSON line: controller, seed, mean delay (time loss +
departure delay per completed vehicle, s), mean waiting time (s), mean trip
duration (s), mean stops, vehicles completed and unfinished, teleports, mean
and max halted vehicles in the network, decision time p50/p99/max (ms per
junction decision; ``null`` for SUMO's built-ins, which decide inside SUMO),
and the conflict monitor's violation count (an independent monitor watches
the shown states of every run, built-ins included).

Each run is its own process (libsumo is one simulation per process).
"""

from __future__ import annotations

import json
import math
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from controllers.signals import ConflictMonitor, IntersectionSpec, SignalPlan
from controllers.signals.intersection import GREEN_CHARS
from sim.traffic.kpis import person_kpis, trip_kpis, vehicle_classes
from sim.traffic.layout import SignalLayout, read_signal_layouts

__all__ = [
    "BenchSettings",
    "SumoConfig",
    "network_plan",
    "parse_sumocfg",
    "program_file",
    "run_bench",
    "run_one",
    "scenario_sumocfg",
]

BUILTIN = ("fixed", "actuated", "delay_based")
OURS = ("maxpressure", "adaptive")
_PROGRAM_ID = "twin_bench"
_AS_RED = str.maketrans("su", "rr")  # SUMO's stop-then-go and red-amber: not green


@dataclass(frozen=True)
class SumoConfig:
    """What the bench needs from a ``.sumocfg`` (paths absolute, times in s)."""

    path: Path
    net_file: Path
    route_files: tuple[Path, ...]
    additional_files: tuple[Path, ...]
    begin_s: float
    end_s: float | None
    step_s: float
    lateral_resolution_m: float | None


def parse_sumocfg(path: Path) -> SumoConfig:
    """Read a SUMO configuration file; errors name the file and the missing option."""
    path = path.resolve()
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        raise ValueError(f"{path}: not a readable SUMO configuration ({err})") from err
    values: dict[str, str] = {}
    for elem in root.iter():
        if "value" in elem.attrib:
            values[elem.tag] = elem.attrib["value"]
    if "net-file" not in values:
        raise ValueError(f"{path}: no <net-file value=...> in the configuration")

    def files(key: str) -> tuple[Path, ...]:
        raw = values.get(key, "")
        found = tuple((path.parent / p.strip()).resolve() for p in raw.split(",") if p.strip())
        missing = [str(p) for p in found if not p.exists()]
        if missing:
            raise ValueError(f"{path}: {key} names missing files: {', '.join(missing)}")
        return found

    net = files("net-file")[0]
    lateral = values.get("lateral-resolution")
    end = values.get("end")
    return SumoConfig(
        path=path,
        net_file=net,
        route_files=files("route-files"),
        additional_files=files("additional-files"),
        begin_s=float(values.get("begin", 0)),
        end_s=float(end) if end is not None and float(end) >= 0 else None,
        step_s=float(values.get("step-length", 1.0)),
        lateral_resolution_m=float(lateral) if lateral else None,
    )


@dataclass(frozen=True)
class BenchSettings:
    """Timings shared by every controller (s) and run options."""

    min_green_s: float = 7.0
    max_green_s: float = 60.0
    all_red_s: float = 2.0
    detector_range_m: float = 150.0
    time_to_teleport_s: float = 300.0
    corridors: Path | None = None
    pcu_per_vehicle: float = 0.45


def _amber_s(layout: SignalLayout) -> float:
    ambers = [
        d for s, d in zip(layout.phase_states, layout.phase_durations_s, strict=True) if "y" in s
    ]
    return max(ambers) if ambers else 3.0


def _spec(layout: SignalLayout, settings: BenchSettings, *, own_program: bool) -> IntersectionSpec:
    """The intersection as the monitor and our controllers see it.

    For the network's own program, the minimum green and amber are the
    program's own (its shortest), so the monitor checks it against itself.
    """
    if own_program:
        greens = [
            d
            for s, d in zip(layout.phase_states, layout.phase_durations_s, strict=True)
            if "y" not in s and any(c in GREEN_CHARS for c in s)
        ]
        ambers = [
            d
            for s, d in zip(layout.phase_states, layout.phase_durations_s, strict=True)
            if "y" in s
        ]
        return IntersectionSpec.from_program(
            layout.tls_id,
            layout.phase_states,
            layout.link_lanes,
            min_green_s=max(0.5, min(greens, default=1.0)),
            amber_s=max(0.5, min(ambers, default=1.0)),
            all_red_s=settings.all_red_s,
        )
    return IntersectionSpec.from_program(
        layout.tls_id,
        layout.phase_states,
        layout.link_lanes,
        min_green_s=settings.min_green_s,
        amber_s=_amber_s(layout),
        all_red_s=settings.all_red_s,
    )


def network_plan(spec: IntersectionSpec, layout: SignalLayout) -> SignalPlan:
    """The network's own program as a fixed-time plan on ``spec`` (greens >= min green)."""
    greens: dict[str, float] = {}
    for state, duration in zip(layout.phase_states, layout.phase_durations_s, strict=True):
        if state in spec.green_phases:
            greens[state] = max(greens.get(state, 0.0), duration, spec.min_green_s)
    phases = list(spec.green_phases)
    return SignalPlan.fixed(phases, [greens[p] for p in phases], spec.amber_s, spec.all_red_s)


def program_file(
    layouts: dict[str, SignalLayout], kind: str, settings: BenchSettings, out: Path
) -> Path:
    """Write SUMO ``tlLogic`` programs of ``kind`` (actuated / delay_based) for every layout."""
    if kind not in ("fixed", "actuated", "delay_based"):
        raise ValueError(f"no program kind {kind!r}; expected fixed, actuated or delay_based")
    sumo_type = "static" if kind == "fixed" else kind
    lines = ["<additional>"]
    for tls_id, layout in layouts.items():
        lines.append(
            f'  <tlLogic id={quoteattr(tls_id)} type="{sumo_type}" programID="{_PROGRAM_ID}" '
            'offset="0">'
        )
        if kind == "fixed":
            pass
        elif kind == "actuated":
            lines.append('    <param key="max-gap" value="3.0"/>')
            lines.append('    <param key="detector-gap" value="2.0"/>')
        else:
            lines.append(f'    <param key="detectorRange" value="{settings.detector_range_m:g}"/>')
            lines.append('    <param key="minTimeLoss" value="1"/>')
        states = layout.phase_states
        for k, (state, duration) in enumerate(zip(states, layout.phase_durations_s, strict=True)):
            green = "y" not in state and any(c in GREEN_CHARS for c in state)
            if green and kind == "fixed":
                lines.append(f'    <phase duration="{duration:g}" state="{state}"/>')
                continue
            if green:
                lo, hi = settings.min_green_s, settings.max_green_s
                dur = min(max(duration, lo), hi)
                lines.append(
                    f'    <phase duration="{dur:g}" minDur="{lo:g}" maxDur="{hi:g}" '
                    f'state="{state}"/>'
                )
                continue
            prev = states[k - 1]
            if "y" in prev and "y" not in state:
                # the network's own all-red after an amber: at least all_red_s
                duration = max(duration, settings.all_red_s)
            lines.append(f'    <phase duration="{duration:g}" state="{state}"/>')
            nxt = states[(k + 1) % len(states)]
            nxt_has_green = any(c in GREEN_CHARS for c in nxt) and "y" not in nxt
            # an all-red after the amber, unless the network's program has its own
            if "y" in state and settings.all_red_s > 0 and nxt_has_green:
                red = "".join(
                    "r"
                    if c == "y"
                    else ("r" if c in GREEN_CHARS and nxt[i] not in GREEN_CHARS else c)
                    for i, c in enumerate(state)
                )
                lines.append(f'    <phase duration="{settings.all_red_s:g}" state="{red}"/>')
        lines.append("  </tlLogic>")
    lines.append("</additional>")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


@dataclass
class RunJob:
    """One bench run (picklable, for a worker process)."""

    sumocfg: Path
    controller: str
    seed: int
    begin_s: float
    end_s: float
    out_dir: Path
    settings: BenchSettings = field(default_factory=BenchSettings)
    label: str = ""


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"decision_ms_p50": None, "decision_ms_p99": None, "decision_ms_max": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]

    return {
        "decision_ms_p50": round(pick(0.50) * 1e3, 4),
        "decision_ms_p99": round(pick(0.99) * 1e3, 4),
        "decision_ms_max": round(ordered[-1] * 1e3, 4),
    }


def _sumo_binary() -> str:
    import shutil

    import sumo

    return shutil.which("sumo") or str(Path(sumo.SUMO_HOME) / "bin" / "sumo")


def _halting(summary: Path) -> tuple[float, int]:
    """Mean and max halting vehicles per step from SUMO's summary output."""
    total, n, peak = 0.0, 0, 0
    try:
        for _ev, elem in ET.iterparse(summary):
            if elem.tag == "step":
                h = int(float(elem.get("halting", 0)))
                total += h
                n += 1
                peak = max(peak, h)
                elem.clear()
    except ET.ParseError:
        pass
    return (total / n if n else 0.0), peak


def _run_builtin(job: RunJob, cfg: SumoConfig, layouts: dict[str, SignalLayout]) -> dict[str, Any]:
    import libsumo

    out = job.out_dir
    adds = [str(p) for p in cfg.additional_files]
    adds.append(str(program_file(layouts, job.controller, job.settings, out / "programs.add.xml")))
    cmd = [
        _sumo_binary(),
        "-c",
        str(cfg.path),
        "--seed",
        str(job.seed),
        "--begin",
        f"{job.begin_s:g}",
        "--end",
        f"{job.end_s:g}",
        "--time-to-teleport",
        f"{job.settings.time_to_teleport_s:g}",
        "--tripinfo-output",
        str(out / "tripinfo.xml"),
        "--tripinfo-output.write-unfinished",
        "true",
        "--tripinfo-output.write-undeparted",
        "true",
        "--collision.action",
        "warn",
        "--summary-output",
        str(out / "summary.xml"),
        "--log",
        str(out / "sumo.log"),
        "--no-step-log",
        "true",
        "--duration-log.disable",
        "true",
    ]
    if adds:
        cmd += ["--additional-files", ",".join(adds)]
    own = job.controller == "fixed"  # the monitor checks its own (shorter) greens
    monitors = {
        t: ConflictMonitor(_spec(lay, job.settings, own_program=own)) for t, lay in layouts.items()
    }
    libsumo.start(cmd)
    try:
        tls_api = libsumo.trafficlight
        for tls_id in layouts:
            tls_api.setProgram(tls_id, _PROGRAM_ID)
        for tls_id in layouts:
            tls_api.subscribe(tls_id, [libsumo.constants.TL_RED_YELLOW_GREEN_STATE])
        key = libsumo.constants.TL_RED_YELLOW_GREEN_STATE
        t, teleports = job.begin_s, 0
        while t < job.end_s - 1e-9:
            libsumo.simulationStep()
            t = libsumo.simulation.getTime()
            for tls_id, res in tls_api.getAllSubscriptionResults().items():
                monitors[tls_id].check(t - job.begin_s, res[key].translate(_AS_RED))
            teleports += libsumo.simulation.getStartingTeleportNumber()
    finally:
        libsumo.close()
    return {
        "teleports": teleports,
        "conflict_violations": sum(m.violations for m in monitors.values()),
        **_percentiles([]),
    }


def _run_ours(job: RunJob, cfg: SumoConfig, layouts: dict[str, SignalLayout]) -> dict[str, Any]:
    import numpy as np

    from controllers.signals.phase_control import PhaseSelectingController
    from sim.traffic.camera import CameraErrorModel, MeasuredPlant
    from sim.traffic.plant import TrafficPlant, TrafficPlantConfig
    from twin.eventlog import EventLog
    from twin.kernel import Kernel
    from twin.monitors import ConflictMonitorBank
    from twin.scenario import SignalControllerConfig
    from twin.signal_setup import build_signal_controllers

    kind, _, measurement = job.controller.partition("+")
    s = job.settings
    plant_cfg = TrafficPlantConfig(
        net_file=cfg.net_file,
        route_files=list(cfg.route_files),
        additional_files=list(cfg.additional_files),
        run_dir=job.out_dir,
        duration_s=job.end_s - job.begin_s,
        begin_s=job.begin_s,
        step_s=cfg.step_s,
        seed=job.seed,
        lateral_resolution_m=cfg.lateral_resolution_m,
        detector_length_m=s.detector_range_m,
        time_to_teleport_s=s.time_to_teleport_s,
        extra_args=("-c", str(cfg.path)),
    )
    plant: Any = TrafficPlant(plant_cfg, layouts)
    if measurement == "camera":
        plant = MeasuredPlant(plant, CameraErrorModel.city_85(), np.random.default_rng(job.seed))
    signal_cfg = SignalControllerConfig(
        kind=kind,
        scan_period_s=1.0,
        min_green_s=s.min_green_s,
        max_green_s=s.max_green_s,
        all_red_s=s.all_red_s,
        amber_s=3.0,
        corridors=s.corridors,
        pcu_per_vehicle=s.pcu_per_vehicle,
    )
    specs = {t: _spec(lay, s, own_program=False) for t, lay in layouts.items()}
    plans = {t: network_plan(specs[t], lay) for t, lay in layouts.items()}
    controllers, specs, _ = build_signal_controllers(
        layouts,
        {},
        signal_cfg,
        net_file=cfg.net_file,
        pcu_per_vehicle=s.pcu_per_vehicle,
        detector_length_m=s.detector_range_m,
        specs=specs,
        plans=plans,
    )
    log = EventLog()
    kernel = Kernel(0.0, log=log)
    kernel.add_plant(plant)
    for c in controllers:
        kernel.add_controller(c)
    monitor = ConflictMonitorBank(specs.values(), cfg.step_s, events=log)
    kernel.add_controller(monitor)
    kernel.run(job.end_s - job.begin_s)
    times: list[float] = []
    fallbacks = 0
    for c in controllers:
        if isinstance(c, PhaseSelectingController):
            times.extend(c.decision_times_s)
            fallbacks += c.fallbacks
    return {
        "teleports": plant.teleports,
        "conflict_violations": monitor.violations,
        "fallbacks": fallbacks,
        **_percentiles(times),
    }


def run_one(job: RunJob) -> dict[str, Any]:
    """Run one controller on one seed; return its JSON-line record."""
    wall = time.perf_counter()
    job.out_dir.mkdir(parents=True, exist_ok=True)
    cfg = parse_sumocfg(job.sumocfg)
    layouts = read_signal_layouts(cfg.net_file)
    base = job.controller.partition("+")[0]
    if base in BUILTIN:
        extra = _run_builtin(job, cfg, layouts)
    elif base in OURS:
        extra = _run_ours(job, cfg, layouts)
    else:
        raise ValueError(f"unknown controller {job.controller!r}; choose from {BUILTIN + OURS}")
    classes = vehicle_classes([*cfg.additional_files, *cfg.route_files])
    kpis = trip_kpis(job.out_dir / "tripinfo.xml", classes)
    persons = person_kpis(job.out_dir / "tripinfo.xml")
    mean_halting, max_halting = _halting(job.out_dir / "summary.xml")
    record: dict[str, Any] = {
        "bench": "signals",
        "network": job.label or cfg.path.stem,
        "controller": job.controller,
        "seed": job.seed,
        "begin_s": job.begin_s,
        "end_s": job.end_s,
        "mean_delay_s": kpis["mean_delay_s"],
        "mean_waiting_s": kpis["mean_waiting_s"],
        "mean_travel_time_s": kpis["mean_travel_time_s"],
        "mean_stops": kpis["mean_stops"],
        "vehicles_completed": kpis["vehicles_completed"],
        "vehicles_unfinished": kpis["vehicles_unfinished"],
        "mean_halting_vehicles": round(mean_halting, 2),
        "max_halting_vehicles": max_halting,
        "junctions": len(layouts),
        **(persons if persons["persons_completed"] or persons["persons_unfinished"] else {}),
        **extra,
        "settings": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(job.settings).items()
        },
        "wall_s": round(time.perf_counter() - wall, 1),
    }
    return record


def run_bench(
    sumocfg: Path,
    controllers: Sequence[str],
    seeds: Sequence[int],
    out_dir: Path,
    *,
    begin_s: float | None = None,
    end_s: float | None = None,
    jobs: int | None = None,
    settings: BenchSettings | None = None,
    label: str = "",
) -> Iterator[dict[str, Any]]:
    """Run every controller on every seed (``jobs`` processes); yield records as they finish."""
    cfg = parse_sumocfg(sumocfg)
    begin = cfg.begin_s if begin_s is None else begin_s
    end = end_s if end_s is not None else cfg.end_s
    if end is None or end <= begin:
        raise ValueError(
            f"{sumocfg}: give --end (the configuration has no end after begin {begin:g} s)"
        )
    for c in controllers:
        if c.partition("+")[0] not in BUILTIN + OURS or (
            "+" in c and (c.partition("+")[0] not in OURS or c.partition("+")[2] != "camera")
        ):
            raise ValueError(
                f"unknown controller {c!r}; choose from {', '.join(BUILTIN + OURS)} "
                "(ours also as NAME+camera)"
            )
    job_list = [
        RunJob(
            sumocfg,
            c,
            seed,
            begin,
            end,
            out_dir / f"{label or cfg.path.stem}-{c.replace('+', '_')}-s{seed}",
            settings or BenchSettings(),
            label,
        )
        for seed in seeds
        for c in controllers
    ]
    workers = max(1, min(jobs or os.cpu_count() or 1, len(job_list)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_one, job) for job in job_list]
        for fut in as_completed(futures):
            yield fut.result()


def scenario_sumocfg(scenario: Path, out: Path, seed: int, scale: float, duration_s: float) -> Path:
    """Export a twin scenario's traffic as a SUMO configuration, to bench on it.

    Draws the scenario's demand for ``seed`` with its scale times ``scale``
    over ``duration_s`` seconds from the scenario's start, into ``out``; the
    configuration keeps the network, vehicle types, step and sublane width.
    """
    from sim.traffic.demand import generate_demand
    from twin.scenario import load_scenario

    s = load_scenario(scenario)
    traffic = s.plants.traffic
    assert traffic is not None
    demand = generate_demand(
        traffic.network,
        out,
        begin_s=0.0,
        end_s=duration_s,
        day_offset_s=s.day_offset_s(),
        seed=seed,
        scale=traffic.demand.scale * scale,
        zones_yaml=traffic.demand.zones,
        vtypes_csv=traffic.demand.vtypes,
        profile_csv=traffic.demand.profile,
        daily_trips=traffic.demand.daily_trips,
    )
    lateral = traffic.lateral_resolution_m
    cfg = out / "dongha.sumocfg"
    cfg.write_text(
        f"""<configuration>
  <!-- Đông Hà morning peak from {s.start.isoformat()}, demand x{scale:g}, seed {seed}.
       Road network © OpenStreetMap contributors (ODbL). -->
  <input>
    <net-file value="{traffic.network}"/>
    <route-files value="{demand.routes_file}"/>
    <additional-files value="{demand.vtypes_file}"/>
  </input>
  <time>
    <begin value="0"/><end value="{duration_s:g}"/><step-length value="{traffic.step_s:g}"/>
  </time>
  <processing>{f'<lateral-resolution value="{lateral:g}"/>' if lateral else ""}</processing>
</configuration>
""",
        encoding="utf-8",
    )
    return cfg


def write_line(record: dict[str, Any]) -> str:
    """One JSON line (keys in insertion order, UTF-8 kept)."""
    return json.dumps(record, ensure_ascii=False)
