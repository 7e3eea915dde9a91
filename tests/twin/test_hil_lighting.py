"""The lighting cabinets as a TALQ-style field device: the same controller commands
in-process, over ZeroMQ (renamed) and over OPC-UA (mapping file), and full light when
the manager goes silent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controllers.io import Direction
from controllers.lighting.talq import TALQ_NAMES, process_name, talq_name
from hil.opcua import OpcUaControllerLink, OpcUaField, OpcUaUser, Security, write_mapping
from hil.zmq import ZmqControllerLink, ZmqField
from twin.hil_devices import serve_realtime
from twin.hil_lighting import (
    build_lighting_controller_for_hil,
    build_lighting_field,
    controller_mapping,
    lighting_failsafe,
)
from twin.hil_session import CommandSequence, run_inprocess, run_over_link
from twin.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "dongha_lighting_hil.yaml"
STEPS = 200
# dusk: the lamps switch on ~150 s in; a lamp fails at 60 s and must be reported
OVERRIDES: dict[str, Any] = {
    "start": "2026-03-10T17:58:00+07:00",
    "duration": STEPS,
    "plants": {
        "lighting": {"faults": [{"kind": "lamp_failure", "target": "HV-E17", "at": "17:59"}]}
    },
}


def _scenario():  # type: ignore[no-untyped-def]
    return load_scenario(SCENARIO, OVERRIDES)


def test_talq_names_map_both_ways_and_refuse_strangers():
    controller = build_lighting_controller_for_hil(_scenario(), talq_names=False)
    names = [p.name for p in controller.points()]
    assert len(names) > 400
    renamed = [talq_name(n) for n in names]
    assert len(set(renamed)) == len(names)
    assert [process_name(r) for r in renamed] == names
    assert talq_name("light/HV-E17/dim_pct") == "light/HV-E17/talq/LampActuator/targetLevel"
    assert len(set(TALQ_NAMES.values())) == len(TALQ_NAMES)
    for bad in ("tls/J1/state", "light/HV-E17/colour", "light"):
        with pytest.raises(ValueError):
            talq_name(bad)
    with pytest.raises(ValueError):
        process_name("light/HV-E17/talq/LampActuator/hue")


def _remote(endpoint, link, controller, plant) -> CommandSequence:  # type: ignore[no-untyped-def]
    """Serve ``plant`` behind ``endpoint``; the controller runs on ``link`` in a thread."""
    return run_over_link(plant, endpoint, link, controller, STEPS)


def test_same_lighting_commands_in_process_over_zeromq_and_over_opcua(tmp_path):
    scenario = _scenario()
    field = build_lighting_field(scenario)
    expected = run_inprocess(
        field, build_lighting_controller_for_hil(scenario, talq_names=True), STEPS
    )
    levels = {v for _, outs in expected for p, v in outs if p.endswith("LampActuator/targetLevel")}
    faults = {v for _, outs in expected for p, v in outs if p.endswith("LampMonitor/failureCode")}
    assert 0.0 in levels and max(levels) > 0, "the lamps should switch on at dusk"
    assert "lampFailure" in faults, "the failed lamp should be reported"

    # ZeroMQ: the topics are the TALQ names; the controller runs renamed
    field = build_lighting_field(scenario)
    controller = build_lighting_controller_for_hil(scenario, talq_names=True)
    inputs = [p for p in controller.points() if p.direction is Direction.INPUT]
    zfield = ZmqField(list(field.points()))
    zfield.start()
    zlink = ZmqControllerLink(zfield.pub_endpoint, zfield.rep_endpoint, inputs)
    zlink.connect(10.0)
    assert _remote(zfield, zlink, controller, field) == expected

    # OPC-UA: the controller keeps its own names and reaches the TALQ nodes by a mapping file
    field = build_lighting_field(scenario)
    controller = build_lighting_controller_for_hil(scenario, talq_names=False)
    operator = OpcUaUser.with_password("operator", "s3cret-op", "operator")
    ofield = OpcUaField(
        list(field.points()),
        run_start_utc_s=scenario.start.timestamp(),
        security=Security.NONE,
        users=[operator],
    )
    ofield.start()
    mapping = write_mapping(tmp_path / "talq.csv", controller_mapping(ofield.mapping()))
    assert "s=light/HV-E17/talq/LampActuator/targetLevel" in mapping.read_text()
    inputs = [p for p in controller.points() if p.direction is Direction.INPUT]
    outputs = [p for p in controller.points() if p.direction is Direction.OUTPUT]
    olink = OpcUaControllerLink(
        ofield.url, inputs, outputs, mapping=mapping, user="operator", password="s3cret-op"
    )
    olink.connect(20.0)
    # the device received the same writes, at its TALQ-named nodes
    assert _remote(ofield, olink, controller, field) == expected


class _SilentAfter:
    """A real-time endpoint: the manager writes on the first call, then never again."""

    def __init__(self, first: dict[str, Any]) -> None:
        self.first, self.calls = first, 0

    def publish(self, now: float, samples: Any) -> None:
        pass

    def take_writes(self) -> dict[str, Any]:
        self.calls += 1
        return dict(self.first) if self.calls == 1 else {}


def test_a_silent_manager_leaves_every_lamp_at_full_light():
    field = build_lighting_field(_scenario())
    failsafe = lighting_failsafe(field)
    assert len(failsafe) == 128 and set(failsafe.values()) == {100.0}
    dark = {name: 0.0 for name in failsafe}
    clock = [0.0]

    def now() -> float:
        return clock[0]

    def sleep(dt: float) -> None:
        clock[0] += dt

    report = serve_realtime(
        field, _SilentAfter(dark), 120.0, speed=10.0, failsafe=failsafe, watchdog_s=50.0,
        clock=now, sleep=sleep,
    )  # fmt: skip
    assert report.failsafe_trips == 1
    levels = field.plant.latest()
    powers = [
        s.value
        for n, s in levels.items()
        if n.endswith("/power_w")
        and n.count("/") == 2
        and s.value is not None
        and not n.split("/")[1].startswith("HV-C")
        and n.split("/")[1] != "HV-E17"
    ]  # fmt: skip  (HV-E17's lamp failed at 60 s)
    assert len(powers) > 100
    assert min(powers) > 90.0, "every lamp burns at full power (100 W) after the watchdog"
