"""Signal cabinets and their central system for ``twin hil serve`` / ``run-controller``.

``serve``: the scenario's SUMO traffic with a virtual NTCIP cabinet at every
signalised junction (:class:`~twin.signal_cabinets.CabinetField`), exposed over
OPC-UA or ZeroMQ as the city's cabinets would be: detectors, the heads' state
and the cabinets' status to read; phase control, pattern commands and the
heartbeat to write.

``run-controller``: the scenario's signal controllers — one junction
(``signals/J07``) or all of them (``signals``) — each wrapped as the central
system of its cabinet (:class:`~controllers.signals.ntcip_central.NtcipCentral`).

Both sides build the scenario's demand with its seed (about a second), so the
controllers' fallback plans and the cabinets' time-base plans are the same.
"""

from __future__ import annotations

from pathlib import Path

from controllers.io import Controller
from sim.traffic.camera import CameraErrorModel, MeasuredPlant
from twin.controller_group import ControllerGroup
from twin.rng import RngRegistry
from twin.scenario import Scenario
from twin.signal_cabinets import CabinetField, cabinets_for, centrals_for
from twin.traffic_setup import TrafficParts, build_traffic

__all__ = ["build_cabinet_field", "build_signal_central", "serves_signals"]


def serves_signals(scenario: Scenario) -> bool:
    """True when the scenario has SUMO traffic and signal controllers to stand in for."""
    return scenario.plants.traffic is not None and scenario.controllers.signals is not None


def _parts(scenario: Scenario, work_dir: Path) -> TrafficParts:
    if not serves_signals(scenario):
        raise ValueError(
            "signal cabinets need plants.traffic and controllers.signals (the cabinets take "
            "their time-base plans from the controllers' plans)"
        )
    return build_traffic(scenario, work_dir, RngRegistry(scenario.seed))


def build_cabinet_field(
    scenario: Scenario, run_dir: Path, *, backup_s: float = 10.0
) -> CabinetField:
    """SUMO (writing to ``run_dir``) behind one virtual cabinet per signalised junction;
    its detectors seen through the scenario's camera error model when it has one, seeded
    as in ``twin run``."""
    parts = _parts(scenario, run_dir)
    traffic = scenario.plants.traffic
    measured = None
    if traffic is not None and traffic.measurement.kind == "camera":
        model = CameraErrorModel(**traffic.measurement.model_dump(exclude={"kind"}))
        measured = MeasuredPlant(parts.plant, model, RngRegistry(scenario.seed).stream("camera"))
    cabinets = cabinets_for(parts.controllers, backup_s=backup_s)
    return CabinetField(parts.plant, cabinets, measured=measured)


def build_signal_central(
    scenario: Scenario, name: str, work_dir: Path, *, backup_s: float = 10.0
) -> Controller:
    """The central system for ``signals/<junction>`` or, for ``signals``, every junction."""
    centrals = centrals_for(_parts(scenario, work_dir).controllers, backup_s=backup_s)
    if name == "signals":
        return ControllerGroup("signals", centrals)
    for c in centrals:
        if c.name == name:
            return c
    known = ", ".join(c.name for c in centrals[:5])
    raise ValueError(f"no controller {name!r}; try 'signals' (all) or one of {known}, ...")
