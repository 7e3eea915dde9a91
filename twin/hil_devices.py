"""Device emulators and remote controllers for ``twin hil serve`` / ``twin hil run-controller``.

``serve``: the scenario's plant stands in for the field device and is exposed
over OPC-UA or ZeroMQ exactly as the device would be: today the cooperatives'
irrigation gateways (``plants.agri``: soil probes, flow meters, pump pressure,
station ET0, forecast, valves, pump, and the net-house and tank points when
they are on). Lock-step (deterministic, as fast as the controller answers) or
real time (paced by the wall clock, with a drift figure).

``run-controller``: the scenario's controller of one site, unchanged, against
any such endpoint, simulated or real.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from controllers.io import Controller, Direction, Sample, ValueType
from hil.bridge import ControllerLink, FieldEndpoint
from sim.agri.plant import AgriPlant
from sim.agri.sites import load_sites
from twin.agri_run import plant_config, site_controllers
from twin.hil_session import confirmed, serve_lockstep
from twin.plant import PlantModel
from twin.rng import RngRegistry
from twin.scenario import Scenario
from twin.weather_setup import scenario_weather

__all__ = [
    "ServeReport",
    "build_site_controller",
    "build_site_plant",
    "device_failsafe",
    "serve_realtime",
]


def build_site_plant(scenario: Scenario, site_id: str) -> AgriPlant:
    """The scenario's plant of one cooperative site (same seeds as ``twin run``)."""
    cfg = scenario.plants.agri
    if cfg is None:
        raise ValueError(
            "twin hil serves plants.agri (the irrigation gateways); this scenario has none"
        )
    if site_id not in cfg.sites:
        raise ValueError(f"site {site_id!r} is not in plants.agri.sites {list(cfg.sites)}")
    rng = RngRegistry(scenario.seed)
    weather = scenario_weather(scenario, rng)  # the scenario's CSV, or the generated climate
    assert weather is not None  # plants.agri always has weather
    site = {s.id: s for s in load_sites(cfg.sites_file)}[site_id]
    seed = rng.integer_seed(f"agri/{site_id}")
    return AgriPlant(
        site, weather, run_start=scenario.start, rng=np.random.default_rng(seed),
        config=plant_config(cfg),
    )  # fmt: skip


def build_site_controller(scenario: Scenario, name: str) -> Controller:
    """The scenario's controller called ``name`` (``irrigation/DT``, ``fertigation/AL``...)."""
    cfg, schema = scenario.plants.agri, scenario.controllers.irrigation
    if cfg is None or schema is None:
        raise ValueError("the scenario needs plants.agri and controllers.irrigation")
    site_id = name.partition("/")[2]
    sites = {s.id: s for s in load_sites(cfg.sites_file)}
    if site_id not in sites:
        raise ValueError(f"controller {name!r}: unknown site {site_id!r}; sites: {sorted(sites)}")
    found = site_controllers(
        sites[site_id], schema.kind, scenario, plant_config(cfg), schema.overrides
    )
    for c in found:
        if c.name == name:
            return c
    raise ValueError(f"no controller {name!r}; this scenario's site has {[c.name for c in found]}")


@dataclass
class ServeReport:
    """What a serve session did: steps, wall time, in real time the drift (s) and how
    often the device fell to its fail-safe (no controller write within the watchdog)."""

    steps: int
    wall_s: float
    max_drift_s: float = 0.0
    mean_drift_s: float = 0.0
    failsafe_trips: int = 0


def device_failsafe(plant: AgriPlant) -> dict[str, Any]:
    """What the irrigation gateway does on its own when its controller is silent:
    every valve shut, the pump off (and no misting, no dosing)."""
    return {
        p.name: False
        for p in plant.points()
        if p.direction is Direction.OUTPUT and p.value_type is ValueType.BOOL
    }


def serve_realtime(
    plant: PlantModel,
    endpoint: FieldEndpoint,
    duration_s: float,
    *,
    speed: float = 1.0,
    failsafe: Mapping[str, Any] | None = None,
    watchdog_s: float | None = 180.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    stop: threading.Event | None = None,
) -> ServeReport:
    """Advance ``plant`` paced by the wall clock (``speed`` × real time), publishing all
    its sensors at every step (each confirmed at the step's time, as a device reporting
    cyclically) and applying whatever the remote controller wrote, for ``duration_s`` of
    plant time. Drift = how late each step started against its schedule (s, wall).

    Like a gateway's own watchdog: when no write arrived for ``watchdog_s`` of device
    time (plant s, i.e. ``watchdog_s / speed`` wall seconds; None: never), it applies
    ``failsafe`` (e.g. :func:`device_failsafe`) once, and follows the controller again
    at its next write. With ``failsafe`` None the plant keeps its own fail-safe (the
    signal cabinets fall back to their plans when the central's heartbeat stops).
    Setting ``stop`` ends the session after the current step (the report counts the
    steps done)."""
    if not speed > 0:
        raise ValueError(f"speed must be > 0, got {speed}")
    wanted = {p.name for p in plant.points() if p.direction is Direction.INPUT}
    plant.start(0.0)
    samples: dict[str, Sample] = dict(plant.sensors())
    endpoint.publish(0.0, {k: v for k, v in samples.items() if k in wanted})
    t0 = clock()
    drifts: list[float] = []
    steps = round(duration_s / plant.step_s)
    last_write_wall, tripped, trips = t0, False, 0
    done = 0
    try:
        for k in range(1, steps + 1):
            if stop is not None and stop.is_set():
                break
            due = t0 + k * plant.step_s / speed
            wait = due - clock()
            if wait > 0:
                sleep(wait)
            drifts.append(max(clock() - due, 0.0))
            writes: dict[str, Any] = endpoint.take_writes()
            if writes:
                plant.actuate(writes)
                last_write_wall, tripped = clock(), False
            elif (
                failsafe is not None
                and watchdog_s is not None
                and not tripped
                and (clock() - last_write_wall) * speed > watchdog_s
            ):
                plant.actuate(dict(failsafe))
                tripped, trips = True, trips + 1
            plant.advance(k * plant.step_s)
            samples.update(plant.sensors())
            # like a device reporting cyclically: every point, confirmed at this step
            current = {n: s for n, s in samples.items() if n in wanted}
            endpoint.publish(k * plant.step_s, confirmed(current, k * plant.step_s))
            done = k
    finally:
        plant.close()
    return ServeReport(
        done,
        clock() - t0,
        max(drifts, default=0.0),
        float(np.mean(drifts)) if drifts else 0.0,
        trips,
    )


def serve_lockstep_report(
    plant: PlantModel, endpoint: FieldEndpoint, steps: int, timeout_s: float
) -> ServeReport:
    """:func:`twin.hil_session.serve_lockstep` with its wall time."""
    tick = time.perf_counter()
    serve_lockstep(plant, endpoint, steps, timeout_s=timeout_s)
    return ServeReport(steps, time.perf_counter() - tick)


def open_link(
    controller: Controller,
    *,
    zmq: tuple[str, str] | None = None,
    opcua: str | None = None,
    mapping: Path | None = None,
    user: str | None = None,
    password: str | None = None,
    certs: Path | None = None,
) -> ControllerLink:
    """A link for ``controller`` to a ZeroMQ field (pub, rep URLs) or an OPC-UA server."""
    inputs = [p for p in controller.points() if p.direction is Direction.INPUT]
    outputs = [p for p in controller.points() if p.direction is Direction.OUTPUT]
    if (zmq is None) == (opcua is None):
        raise ValueError("give exactly one of --zmq PUB_URL,REP_URL or --opcua URL")
    if zmq is not None:
        from hil.zmq import ZmqControllerLink

        return ZmqControllerLink(zmq[0], zmq[1], inputs)
    from hil.opcua import ClientSecurity, OpcUaControllerLink

    assert opcua is not None
    security = None if certs is None else ClientSecurity.from_cert_dir(certs)
    return OpcUaControllerLink(
        opcua, inputs, outputs, mapping=mapping, user=user, password=password, security=security
    )
