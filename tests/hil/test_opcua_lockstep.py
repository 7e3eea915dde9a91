"""Lock-step over OPC-UA gives the same actuator sequence as the in-process run, bit for bit."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from opcua_support import (
    IRRIGATION_INPUTS,
    IRRIGATION_OUTPUTS,
    MODE,
    OPERATOR,
    Irrigation,
    SoilPlant,
    running_field,
)

from controllers.io import Sample
from hil.bridge import ControllerLink, FieldEndpoint
from hil.opcua import OpcUaControllerLink, OpcUaField, read_mapping, write_mapping

STEPS = 80
DT_S = 0.5

Trace = list[tuple[int, float, dict[str, Sample], dict[str, Any]]]


def _in_process() -> Trace:
    plant, ctl = SoilPlant(), Irrigation()
    trace: Trace = []
    for k in range(STEPS):
        now = k * DT_S
        samples = plant.sense(k, now)
        outputs = ctl.scan(now, samples)
        plant.apply(outputs)
        trace.append((k, now, samples, outputs))
    return trace


def _controller_side(link: OpcUaControllerLink, frames: Trace, errors: list[BaseException]) -> None:
    ctl = Irrigation()
    try:
        while (frame := link.wait_step(10.0)) is not None:
            outputs = ctl.scan(frame.now, frame.samples)
            frames.append((frame.k, frame.now, dict(frame.samples), outputs))
            link.finish_step(frame.k, outputs)
    except BaseException as err:  # reported by the test thread
        errors.append(err)


def test_lock_step_matches_in_process_run(tmp_path: Path) -> None:
    expected = _in_process()
    modes = {outputs[MODE] for *_, outputs in expected}
    assert modes == {0, 1, 2, 3}, "the scenario should exercise every controller branch"
    with running_field() as field:
        assert isinstance(field, FieldEndpoint)
        mapping_file = write_mapping(tmp_path / "device.csv", field.mapping())
        link = OpcUaControllerLink(
            field.url,
            IRRIGATION_INPUTS,
            IRRIGATION_OUTPUTS,
            mapping=mapping_file,
            user=OPERATOR[0],
            password=OPERATOR[1],
        )
        assert isinstance(link, ControllerLink)
        assert read_mapping(mapping_file)["agri/DT-H01-P1/soil_vwc"].startswith("ns=2;s=")
        frames: Trace = []
        errors: list[BaseException] = []
        link.connect(10.0)
        worker = threading.Thread(target=_controller_side, args=(link, frames, errors))
        worker.start()
        try:
            plant = SoilPlant()
            actuated = []
            for k in range(STEPS):
                now = k * DT_S
                writes = field.exchange(k, now, plant.sense(k, now), timeout_s=10.0)
                plant.apply(writes)
                actuated.append(writes)
            field.end()
            worker.join(15.0)
        finally:
            link.close()
        assert not worker.is_alive()
        assert errors == []
    assert actuated == [outputs for *_, outputs in expected]
    assert [(k, now, samples) for k, now, samples, _ in frames] == [
        (k, now, samples) for k, now, samples, _ in expected
    ]
    assert link.stats["reconnects"] == 0
    leftover = [t.name for t in threading.enumerate() if t.name.startswith("opcua-")]
    assert leftover == [], "stopped bridges must not leave loop threads behind"


def test_exchange_times_out_naming_the_step() -> None:
    with running_field() as field:
        with pytest.raises(TimeoutError, match="no ack for step 0"):
            field.exchange(0, 0.0, {}, timeout_s=0.3)
        with pytest.raises(ValueError, match="steps must increase"):
            field.exchange(0, 0.5, {}, timeout_s=0.3)


def test_config_errors_fail_loud() -> None:
    points = IRRIGATION_INPUTS
    with pytest.raises(ValueError, match="nobody could log in"):
        OpcUaField(points, run_start_utc_s=0.0, security="none")
    with pytest.raises(ValueError, match="needs certificates"):
        OpcUaField(points, run_start_utc_s=0.0, users=[], allow_anonymous_loopback=True)
    with pytest.raises(ValueError, match="user and password"):
        OpcUaControllerLink("opc.tcp://127.0.0.1:1/x", points, [], user="op")
    with pytest.raises(ValueError, match="no NodeId"):
        OpcUaControllerLink("opc.tcp://127.0.0.1:1/x", points, [], mapping={})
    link = OpcUaControllerLink("opc.tcp://127.0.0.1:1/x", points, [])
    with pytest.raises(ConnectionError, match="cannot connect"):
        link.connect(0.3)
    link.close()
