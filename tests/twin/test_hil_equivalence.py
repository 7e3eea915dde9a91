"""Issue 7's equivalence proof: the same controller, in-process, over ZeroMQ and over OPC-UA.

Đông Thanh's plant (drip, probes, forecasts; seeded) and the real irrigation controller,
three hours in lock-step at its 60 s scan, starting dry so valves open and close: the
actuator command sequence must be the same in all three, bit for bit.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from controllers.io import Direction
from controllers.irrigation import IrrigationController
from hil.opcua import OpcUaControllerLink, OpcUaField, OpcUaUser, Security
from hil.zmq import ZmqControllerLink, ZmqField
from sim.agri.plant import AgriPlant, AgriPlantConfig
from sim.agri.sites import load_sites
from sim.weather import LOCAL_TZ
from twin.agri_season import season_weather
from twin.agri_setup import smart_config
from twin.hil_session import CommandSequence, run_inprocess, run_over_link

START = datetime(2026, 3, 10, tzinfo=LOCAL_TZ)
STEPS = 180
CFG = AgriPlantConfig(initial_depletion_fraction=0.5)


@pytest.fixture(scope="module")
def setting():  # type: ignore[no-untyped-def]
    site = {s.id: s for s in load_sites()}["DT"]
    return site, season_weather(START, 1.0, 3)


def _parts(setting):  # type: ignore[no-untyped-def]
    site, weather = setting
    plant = AgriPlant(site, weather, run_start=START, rng=np.random.default_rng(8), config=CFG)
    return plant, IrrigationController(smart_config(site, start=START, plant=CFG))


def _remote(endpoint, link, controller, plant) -> CommandSequence:  # type: ignore[no-untyped-def]
    """Serve ``plant`` behind ``endpoint``; the controller runs on ``link`` in a thread."""
    return run_over_link(plant, endpoint, link, controller, STEPS)


def test_same_commands_in_process_over_zeromq_and_over_opcua(setting) -> None:  # type: ignore[no-untyped-def]
    plant, controller = _parts(setting)
    expected = run_inprocess(plant, controller, STEPS)
    opened = sum(1 for _, outs in expected for p, v in outs if p.endswith("valve_open") and v)
    assert opened > 50, "the run should open valves"
    inputs = [p for p in controller.points() if p.direction is Direction.INPUT]
    outputs = [p for p in controller.points() if p.direction is Direction.OUTPUT]

    # ZeroMQ
    plant, controller = _parts(setting)
    zfield = ZmqField(list(controller.points()))
    zfield.start()
    zlink = ZmqControllerLink(zfield.pub_endpoint, zfield.rep_endpoint, inputs)
    zlink.connect(10.0)
    over_zmq = _remote(zfield, zlink, controller, plant)

    # OPC-UA (loopback, no message security; writes need the operator role)
    plant, controller = _parts(setting)
    operator = OpcUaUser.with_password("operator", "s3cret-op", "operator")
    ofield = OpcUaField(
        list(controller.points()),
        run_start_utc_s=START.timestamp(),
        security=Security.NONE,
        users=[operator],
    )
    ofield.start()
    olink = OpcUaControllerLink(ofield.url, inputs, outputs, user="operator", password="s3cret-op")
    olink.connect(10.0)
    over_opcua = _remote(ofield, olink, controller, plant)

    assert over_zmq == expected
    assert over_opcua == expected
