"""The flood-warning points as field devices: the same warnings and sirens from the
point controllers in-process, over ZeroMQ and over OPC-UA; the boxes refuse bad writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from controllers.io import Direction
from hil.opcua import OpcUaControllerLink, OpcUaField, OpcUaUser, Security
from hil.zmq import ZmqControllerLink, ZmqField
from twin.hil_flood import build_flood_controller_for_hil, build_gauge_field
from twin.hil_session import CommandSequence, run_inprocess, run_over_link
from twin.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "dongha_flood_hil.yaml"
STEPS = 200  # 3 h 20 min of the October 2020 flood at the points' 60 s scan


def _scenario():  # type: ignore[no-untyped-def]
    return load_scenario(SCENARIO, {"duration": STEPS * 60})


def _remote(endpoint, link, controller, plant) -> CommandSequence:  # type: ignore[no-untyped-def]
    """Serve ``plant`` behind ``endpoint``; the controller runs on ``link`` in a thread."""
    return run_over_link(plant, endpoint, link, controller, STEPS)


def test_same_warnings_in_process_over_zeromq_and_over_opcua(tmp_path):
    scenario = _scenario()
    field = build_gauge_field(scenario, tmp_path / "local")
    expected = run_inprocess(field, build_flood_controller_for_hil(scenario, "flood"), STEPS)
    changes = [row for row in field.timeline if row[0] > 0]
    assert any(n.endswith("/siren") and v for _, n, v in changes), "a siren should sound"
    assert any(n.endswith("/warning_level") and v > 0 for _, n, v in changes)
    local_timeline = field.timeline

    field = build_gauge_field(scenario, tmp_path / "zmq")
    controller = build_flood_controller_for_hil(scenario, "flood")
    inputs = [p for p in controller.points() if p.direction is Direction.INPUT]
    outputs = [p for p in controller.points() if p.direction is Direction.OUTPUT]
    zfield = ZmqField(list(field.points()))
    zfield.start()
    zlink = ZmqControllerLink(zfield.pub_endpoint, zfield.rep_endpoint, inputs)
    zlink.connect(10.0)
    assert _remote(zfield, zlink, controller, field) == expected
    assert field.timeline == local_timeline

    field = build_gauge_field(scenario, tmp_path / "opcua")
    controller = build_flood_controller_for_hil(scenario, "flood")
    operator = OpcUaUser.with_password("operator", "s3cret-op", "operator")
    ofield = OpcUaField(
        list(field.points()),
        run_start_utc_s=scenario.start.timestamp(),
        security=Security.NONE,
        users=[operator],
    )
    ofield.start()
    olink = OpcUaControllerLink(ofield.url, inputs, outputs, user="operator", password="s3cret-op")
    olink.connect(20.0)
    assert _remote(ofield, olink, controller, field) == expected


def test_a_box_refuses_bad_writes_and_counts_siren_time(tmp_path):
    scenario = _scenario()
    field = build_gauge_field(scenario, tmp_path)
    field.start(0.0)
    try:
        with pytest.raises(ValueError, match="flood/P03/warning_level"):
            field.actuate({"flood/P03/warning_level": 7})
        with pytest.raises(KeyError, match="not an output"):
            field.actuate({"flood/P03/level_m": 1.0})
        field.actuate({"flood/P03/siren": True})
        field.advance(60.0)
        field.advance(120.0)
        field.actuate({"flood/P03/siren": False})
        field.advance(180.0)
        field.actuate({"flood/P04/siren": True})
        field.advance(240.0)
        assert field.siren_s() == {"flood/P03/siren": 120.0, "flood/P04/siren": 60.0}
    finally:
        field.close()
    with pytest.raises(ValueError, match="'flood' or one of"):
        build_flood_controller_for_hil(scenario, "flood/P99")
