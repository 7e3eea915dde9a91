"""One run of a scenario: build plants and controllers, run the kernel, write the run folder.

The run folder holds everything needed to repeat and audit the run:

- ``scenario.yaml`` (the file as given) and ``scenario.json`` (as validated and run),
- ``manifest.json`` (seed, derived seeds, package versions, git revision, timings),
- ``points.parquet`` (recorded point series), ``events.jsonl`` (event log),
- ``kpis.json``, ``signal_plans.json``, SUMO's own outputs and the demand files.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatch
from importlib import metadata
from pathlib import Path
from typing import Any

from controllers.io import Quality
from controllers.signals import IntersectionSpec, SignalPlan
from controllers.signals.phase_control import PhaseSelectingController
from sim.hydro.plant import FloodPlant
from sim.traffic.camera import CameraErrorModel, MeasuredPlant
from sim.traffic.edge_geometry import edge_sample_points
from sim.traffic.hires_log import write_hires_logs
from sim.traffic.kpis import trip_kpis, vehicle_classes
from sim.traffic.layout import point_segment
from sim.traffic.plant import TrafficPlant
from sim.weather import WeatherPlant
from twin.agri_run import AgriParts, add_agri
from twin.eventlog import EventLog
from twin.flood_coupling import FloodTrafficCoupling
from twin.flood_setup import build_flood_controllers, build_flood_plant, warning_sites
from twin.flood_warnings import FloodWarningProbe
from twin.kernel import Kernel, ScheduledAction
from twin.lighting_run import LightingParts, add_lighting
from twin.monitors import ConflictMonitorBank
from twin.recorder import Recorder
from twin.rng import RngRegistry
from twin.scenario import Scenario, scenario_paths
from twin.traffic_setup import build_traffic
from twin.weather_setup import scenario_weather

__all__ = ["RunFailedError", "RunResult", "run_scenario"]

_PACKAGES = (
    "dongha-twin",
    "eclipse-sumo",
    "libsumo",
    "numpy",
    "simpy",
    "pyarrow",
    "pydantic",
    "sumolib",
    "matplotlib",
)


class RunFailedError(RuntimeError):
    """The run stopped with an error; its folder keeps what was recorded up to then."""

    def __init__(self, message: str, run_dir: Path) -> None:
        super().__init__(message)
        self.run_dir = run_dir


@dataclass
class RunResult:
    """Where a run wrote its outputs, and its KPIs."""

    run_dir: Path
    kpis: dict[str, Any]
    wall_s: float


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _input_digests(scenario: Scenario) -> dict[str, dict[str, str]]:
    """SHA-256 of every data file the scenario names, so a repeat can prove it used the same."""
    found: dict[str, dict[str, str]] = {}
    for key, path in scenario_paths(scenario):
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
        found[key] = {"path": str(path), "sha256": digest}
    return found


def _git_revision(folder: Path) -> dict[str, Any]:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        return {"revision": rev, "dirty": bool(dirty.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"revision": None, "dirty": None}


def _schedule_events(kernel: Kernel, scenario: Scenario) -> None:
    for event in scenario.events:
        at = scenario.event_time_s(event.at)
        if event.kind in ("sensor_fault", "sensor_restore"):
            quality = Quality.BAD if event.kind == "sensor_fault" else None
            pattern = event.points

            def act(k: Kernel, pattern: str = pattern, quality: Quality | None = quality) -> None:
                names = [n for n in k.image.names() if fnmatch(n, pattern)]
                if not names:
                    k.log.emit(k.env.now, "event_matched_nothing", points=pattern)
                for name in names:
                    k.image.force_quality(name, quality)

            kernel.schedule(ScheduledAction(at, event.kind, act, {"points": pattern}))
        elif event.kind == "controller_fail":
            target = event.controller

            def fail(k: Kernel, target: str = target) -> None:
                if target.startswith("monitor/"):
                    k.log.emit(
                        k.env.now,
                        "event_refused",
                        controller=target,
                        reason="the conflict monitor is not a controller; it cannot fail",
                    )
                    return
                if target not in {c.name for c in k.controllers}:
                    k.log.emit(k.env.now, "event_matched_nothing", controller=target)
                k.fail_controller(target, "scenario event controller_fail")

            kernel.schedule(ScheduledAction(at, event.kind, fail, {"controller": target}))


@dataclass
class _FloodParts:
    """The flood plant and what observes it in one run."""

    plant: FloodPlant
    coupling: FloodTrafficCoupling | None
    probe: FloodWarningProbe | None

    def kpis(self, run_dir: Path, traffic: TrafficPlant | None) -> dict[str, Any]:
        out: dict[str, Any] = {"flood": self.plant.kpis()}
        try:
            self.plant.save_maps(run_dir / "flood")
        except OSError as err:  # keep the other outputs
            out["flood"]["maps_error"] = f"{type(err).__name__}: {err}"
        if self.coupling is not None:
            closures = self.coupling.kpis()
            if traffic is not None:
                closures.update(traffic.flood_stats())
            out["road_closures"] = closures
            _write_closure_series(run_dir / "flood" / "closures.csv", self.coupling)
        if self.probe is not None:
            out["flood_warnings"] = self.probe.kpis(self.coupling)
        return out


def _write_closure_series(path: Path, coupling: FloodTrafficCoupling) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    s = coupling.series
    lines = ["t_s,km_closed,km_slowed,edges_closed"]
    lines += [
        f"{t:g},{c:.3f},{w:.3f},{n}"
        for t, c, w, n in zip(s.t_s, s.km_closed, s.km_slowed, s.edges_closed, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _add_flood(
    kernel: Kernel,
    scenario: Scenario,
    run_dir: Path,
    rng: RngRegistry,
    traffic: TrafficPlant | None,
    log: EventLog,
    manifest: dict[str, Any],
) -> _FloodParts | None:
    """Add the flood plant, its warning controllers, probe and road coupling, if configured."""
    cfg = scenario.plants.flood
    if cfg is None:
        if scenario.controllers.flood is not None or scenario.couplings.flood_to_traffic:
            raise ValueError("controllers.flood and couplings.flood_to_traffic need plants.flood")
        return None
    tick = time.perf_counter()
    seed = rng.integer_seed("flood")
    manifest["derived_seeds"]["flood"] = seed
    flood = build_flood_plant(cfg, start=scenario.start, run_dir=run_dir, seed=seed)
    kernel.add_plant(flood)
    sites = warning_sites(cfg.sites)
    probe = None
    if scenario.controllers.flood is not None:
        city, thresholds = build_flood_controllers(sites, scenario.controllers.flood)
        kernel.add_controller(city)
        probe = FloodWarningProbe(
            flood, sites, thresholds, period_s=scenario.controllers.flood.scan_period_s
        )
        kernel.add_coupling(probe)
    coupling = None
    link = scenario.couplings.flood_to_traffic
    if link is not None:
        if traffic is None or scenario.plants.traffic is None:
            raise ValueError("couplings.flood_to_traffic needs plants.traffic as well")
        edges = edge_sample_points(scenario.plants.traffic.network)
        coupling = FloodTrafficCoupling(
            flood, traffic, edges, period_s=link.period_s, reopen_band_m=link.reopen_band_m, log=log
        )
        kernel.add_coupling(coupling)
        log.emit(
            0.0,
            "flood_coupling",
            coupled_edges=coupling.coupled_edges,
            edges_outside_flood_grid=len(coupling.outside),
        )
    manifest["timings_s"]["flood_setup"] = round(time.perf_counter() - tick, 3)
    return _FloodParts(flood, coupling, probe)


def run_scenario(
    scenario: Scenario,
    run_dir: Path,
    *,
    scenario_file: Path | None = None,
    progress: Callable[[float], None] | None = None,
) -> RunResult:
    """Run ``scenario`` into ``run_dir`` (created; must be empty or new) and return its KPIs."""
    wall_start = time.perf_counter()
    run_dir = run_dir.resolve()
    if run_dir.exists() and any(run_dir.iterdir()):
        raise FileExistsError(f"{run_dir} is not empty: choose a new --out folder or empty it")
    run_dir.mkdir(parents=True, exist_ok=True)
    if scenario_file is not None:
        (run_dir / "scenario.yaml").write_text(
            scenario_file.read_text(encoding="utf-8"), encoding="utf-8"
        )
    (run_dir / "scenario.json").write_text(scenario.model_dump_json(indent=2), encoding="utf-8")
    rng = RngRegistry(scenario.seed)
    log = EventLog(run_dir / "events.jsonl")
    recorder = Recorder(run_dir / "points.parquet", period_s=scenario.outputs.record_period_s)
    kernel = Kernel(0.0, log=log, recorder=recorder)
    manifest: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "start": scenario.start.isoformat(),
        "duration_s": scenario.duration,
        "command": sys.argv,
        "versions": _versions(),
        "git": _git_revision(Path(__file__).resolve().parent),
        "platform": platform.platform(),
        "derived_seeds": {},
        "inputs": _input_digests(scenario),
        "timings_s": {},
    }
    traffic = scenario.plants.traffic
    plant: TrafficPlant | None = None
    flood_parts: _FloodParts | None = None
    lighting_parts: LightingParts | None = None
    agri_parts: AgriParts | None = None
    monitor: ConflictMonitorBank | None = None
    classes: dict[str, str] = {}
    plans: dict[str, SignalPlan] = {}
    specs: dict[str, IntersectionSpec] = {}
    try:  # setting up: a failure here is bad input, but the folder says what happened
        if traffic is not None:
            parts = build_traffic(scenario, run_dir, rng)
            demand, plant = parts.demand, parts.plant
            manifest["derived_seeds"]["demand"] = parts.demand_seed
            manifest["demand"] = {
                "requested": demand.n_requested,
                "routed": demand.n_routed,
                "routed_by_class": demand.routed_by_class,
            }
            manifest["timings_s"]["demand"] = round(parts.demand_wall_s, 3)
            manifest["derived_seeds"]["sumo"] = parts.sumo_seed
            if traffic.measurement.kind == "camera":
                model = CameraErrorModel(**traffic.measurement.model_dump(exclude={"kind"}))
                kernel.add_plant(MeasuredPlant(plant, model, rng.stream("camera")))
                log.emit(0.0, "camera_measurement", model=traffic.measurement.model_dump())
            else:
                kernel.add_plant(plant)
            classes = vehicle_classes([demand.vtypes_file])
            signals_cfg = scenario.controllers.signals
            if signals_cfg is None:
                log.emit(
                    0.0,
                    "signals_uncontrolled",
                    junctions=len(parts.layouts),
                    note="no signal controllers: every signalised junction flashes amber",
                )
            else:
                controllers, specs, plans = parts.controllers, parts.specs, parts.plans
                peak_start = parts.design_hour_start_s
                for controller in controllers:
                    kernel.add_controller(controller)
                monitor = ConflictMonitorBank(specs.values(), traffic.step_s, events=log)
                kernel.add_controller(monitor)
                (run_dir / "signal_plans.json").write_text(
                    json.dumps(
                        {
                            "design_hour_start_s": peak_start,
                            "plans": {k: p.to_dict() for k, p in plans.items()},
                        },
                        indent=2,
                    ),
                    encoding="utf-8",
                )
        weather = scenario.plants.weather
        series = scenario_weather(scenario, rng)
        if weather is not None:
            assert series is not None
            kernel.add_plant(WeatherPlant(series, step_s=weather.step_s, run_start=scenario.start))
        flood_parts = _add_flood(kernel, scenario, run_dir, rng, plant, log, manifest)
        lighting_parts = add_lighting(
            kernel,
            scenario,
            rng,
            plant,
            log,
            manifest,
            flood=flood_parts.plant if flood_parts is not None else None,
        )
        agri_parts = add_agri(kernel, scenario, rng, log, manifest, run_dir, series)
        _schedule_events(kernel, scenario)
    except Exception as err:
        if agri_parts is not None:
            agri_parts.close()
        manifest["status"] = "setup_failed"
        manifest["error"] = f"{type(err).__name__}: {err}"
        log.emit(0.0, "setup_failed", error=manifest["error"])
        log.close()
        (run_dir / "manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        raise

    error: BaseException | None = None
    try:
        stats = kernel.run(scenario.duration, progress=progress)
    except BaseException as err:  # keep the recorded data and say what happened
        error = err
        stats = kernel.stats
        log.emit(kernel.env.now, "run_failed", error=f"{type(err).__name__}: {err}")
    finally:
        log.close()

    kpis: dict[str, Any] = {}
    if plant is not None and specs:
        try:
            hires = write_hires_logs(
                run_dir,
                plant.layouts,
                green_phases={t: spec.green_phases for t, spec in specs.items()},
            )
            manifest["signal_records"] = hires.to_dict()
        except (OSError, ValueError) as err:  # keep the run's other outputs
            manifest["signal_records"] = {"error": f"{type(err).__name__}: {err}"}
        times = [
            t
            for c in kernel.controllers
            if isinstance(c, PhaseSelectingController)
            for t in c.decision_times_s
        ]
        if times:
            times.sort()
            kpis["decision_ms"] = {
                "p50": round(times[len(times) // 2] * 1e3, 4),
                "p99": round(times[min(len(times) - 1, int(0.99 * len(times)))] * 1e3, 4),
                "max": round(times[-1] * 1e3, 4),
            }
            kpis["fallbacks_to_fixed_plan"] = sum(
                c.fallbacks for c in kernel.controllers if isinstance(c, PhaseSelectingController)
            )
    if plant is not None and (run_dir / "tripinfo.xml").exists():
        try:
            kpis.update(trip_kpis(run_dir / "tripinfo.xml", classes))
        except ET.ParseError as err:  # SUMO died mid-write: keep the rest of the outputs
            kpis["tripinfo_error"] = f"tripinfo.xml is incomplete ({err})"
        kpis["teleports"] = plant.teleports
        kpis["max_queue_m"] = {
            point_segment(k): round(v, 1) for k, v in sorted(plant.max_queue_m.items())
        }
        kpis["max_queued_vehicles_by_class"] = {
            point_segment(k): dict(sorted(v.items()))
            for k, v in sorted(plant.max_queued_by_class.items())
        }
        kpis["signalised_junctions"] = len(plant.layouts)
        kpis["oversaturated_junctions"] = sorted(k for k, p in plans.items() if p.oversaturated)
    if flood_parts is not None:
        kpis.update(flood_parts.kpis(run_dir, plant))
    if agri_parts is not None:
        try:
            kpis["agri"] = agri_parts.kpis(run_dir, failed=error is not None)
        except Exception as err:  # a reporting bug must not lose the run's other outputs
            kpis["agri"] = {"error": f"{type(err).__name__}: {err}"}
    if lighting_parts is not None:
        try:
            kpis["lighting"] = lighting_parts.kpis(run_dir)
        except OSError as err:  # keep the other outputs
            kpis["lighting"] = {"error": f"{type(err).__name__}: {err}"}
    kpis["interlock_violations"] = monitor.violations if monitor is not None else 0
    kpis["monitor_blind_scans"] = monitor.blind if monitor is not None else 0
    kpis["controller_errors"] = sum(stats.controller_errors.values())
    kpis["rejected_values"] = len(kernel.image.rejections)
    steps = stats.plant_steps.get("traffic", 0)
    manifest["timings_s"]["run"] = round(stats.wall_s, 3)
    manifest["timings_s"]["stepping_loop"] = round(stats.loop_s, 3)
    manifest["timings_s"]["traffic_plant"] = round(stats.plant_wall_s.get("traffic", 0.0), 3)
    manifest["timings_s"]["controllers"] = round(sum(stats.controller_wall_s.values()), 3)
    manifest["steps_per_s"] = round(steps / stats.wall_s, 1) if stats.wall_s > 0 else None
    manifest["rng_streams"] = rng.names()
    manifest["recorded_rows"] = recorder.rows_written
    manifest["status"] = "failed" if error else "completed"
    wall = time.perf_counter() - wall_start
    manifest["timings_s"]["total"] = round(wall, 3)
    (run_dir / "kpis.json").write_text(
        json.dumps(kpis, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (run_dir / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    if error is not None:
        if isinstance(error, Exception):
            raise RunFailedError(f"{type(error).__name__}: {error}", run_dir) from error
        raise error
    return RunResult(run_dir, kpis, wall)
