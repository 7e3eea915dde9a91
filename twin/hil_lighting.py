"""The lighting pilot's cabinets as a TALQ-style field device, and its controller.

``serve``: the scenario's Hùng Vương plant (128 pole nodes on 6 cabinets, its
faults injected) publishing its points under TALQ-style names
(:mod:`controllers.lighting.talq`) — what a lighting gateway in the field
offers. Its fail-safe when the central manager goes silent: every lamp at
full light.

``run-controller lighting``: the scenario's lighting controller, unchanged.
Over OPC-UA it reaches the TALQ-named nodes through a mapping file (its point
name ↔ the node's NodeId; ``serve --map`` writes it with
:func:`controller_mapping`); over ZeroMQ, whose topics are
the names themselves, through :class:`~twin.renamed.RenamedController`.
"""

from __future__ import annotations

from typing import Any

from controllers.io import Controller, Direction
from controllers.lighting.talq import process_name, talq_name
from twin.lighting_run import build_lighting
from twin.renamed import RenamedController, RenamedPlant
from twin.rng import RngRegistry
from twin.scenario import Scenario

__all__ = [
    "build_lighting_controller_for_hil",
    "build_lighting_field",
    "controller_mapping",
    "lighting_failsafe",
]


def build_lighting_field(scenario: Scenario) -> RenamedPlant:
    """The scenario's lighting plant under TALQ-style point names."""
    if scenario.plants.lighting is not None and scenario.plants.lighting.traffic == "observed":
        raise ValueError(
            "the lighting field device runs on its own: set plants.lighting.traffic to "
            "'synthetic' (SUMO's road users reach it only inside 'twin run')"
        )
    return RenamedPlant(build_lighting(scenario, RngRegistry(scenario.seed)).plant, talq_name)


def lighting_failsafe(field: RenamedPlant) -> dict[str, Any]:
    """Every lamp at full light: what the cabinets do when the manager goes silent."""
    return {
        p.name: 100.0
        for p in field.points()
        if p.direction is Direction.OUTPUT and p.name.endswith("/LampActuator/targetLevel")
    }


def build_lighting_controller_for_hil(scenario: Scenario, *, talq_names: bool) -> Controller:
    """The scenario's lighting controller; reading TALQ-style names if ``talq_names``."""
    controller = build_lighting(scenario, RngRegistry(scenario.seed)).controller
    return RenamedController(controller, talq_name) if talq_names else controller


def controller_mapping(server_mapping: dict[str, str]) -> dict[str, str]:
    """The controller's mapping file from the server's (TALQ name → NodeId): the
    controller's own point name → the NodeId of its TALQ-named node."""
    return {process_name(name): node for name, node in server_mapping.items()}
