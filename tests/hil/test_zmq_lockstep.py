"""Lock-step over the ZeroMQ bridge: bit-for-bit the in-process actuator sequence."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from zmq_support import (
    INFLOW,
    LEVEL,
    POINTS,
    PUMP,
    TankController,
    TankPlant,
    connected_link,
    running_field,
    zmq_threads,
)

from controllers.io import Direction, Quality, Sample, bad_sample
from hil.zmq import RunReport, ZmqControllerLink, ZmqField, run_controller

DT = 0.05  # s per step
STEPS = 300


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    yield
    assert zmq_threads() == [], "a bridge thread outlived its test (missing stop/close?)"


def _in_process(steps: int) -> list[dict[str, Any]]:
    """The reference: plant and controller coupled directly, as the kernel does."""
    plant, ctl = TankPlant(), TankController()
    inputs = [p.name for p in POINTS if p.direction is Direction.INPUT]
    sequence = []
    for k in range(steps):
        now = k * DT
        sensors = plant.sensors(now)
        outputs = ctl.scan(now, {n: sensors.get(n, bad_sample()) for n in inputs})
        sequence.append(outputs)
        plant.actuate(outputs)
        plant.advance(now, DT)
    return sequence


def _field_side(field: ZmqField, steps: int, out: list[dict[str, Any]]) -> None:
    plant = TankPlant()
    for k in range(steps):
        now = k * DT
        outputs = field.exchange(k, now, plant.sensors(now), timeout_s=10.0)
        out.append(outputs)
        plant.actuate(outputs)
        plant.advance(now, DT)
    field.stop()  # announces the end: the controller side's run finishes


def test_lockstep_over_the_bridge_gives_the_in_process_actuator_sequence_exactly() -> None:
    reference = _in_process(STEPS)
    field = ZmqField(POINTS, heartbeat_s=0.2)
    field.start()
    bridged: list[dict[str, Any]] = []
    # the field starts stepping before the controller joins: step 0 arrives by snapshot
    plant_thread = threading.Thread(target=_field_side, args=(field, STEPS, bridged))
    plant_thread.start()
    ctl = TankController()
    link = ZmqControllerLink(field.pub_endpoint, field.rep_endpoint, POINTS)
    try:
        link.connect(5.0)
        report = run_controller(link, ctl, "lockstep", step_timeout_s=10.0)
    finally:
        plant_thread.join(30)
        link.close()
        field.stop()
    assert isinstance(report, RunReport) and report.ended_by == "field_end"
    assert [r.k for r in report.records] == list(range(STEPS))
    assert [r.now for r in report.records] == [k * DT for k in range(STEPS)]
    assert all(r.bad_inputs == () for r in report.records)
    # what the controller computed, and what the plant received, equal the reference
    assert [r.outputs for r in report.records] == reference
    assert bridged == reference
    assert link.stats["lost"] == 0 and link.stats["duplicates"] == 0
    # the pump actually drove the plant away from its start (the comparison is not vacuous)
    assert len({round(o[PUMP], 6) for o in reference}) > 50


def test_exchange_times_out_naming_the_step_when_no_controller_answers() -> None:
    with running_field() as field, pytest.raises(TimeoutError, match="step 7"):
        field.exchange(7, 0.35, {LEVEL: Sample(1.0)}, timeout_s=0.2)


def test_a_write_for_a_step_that_is_not_open_is_rejected() -> None:
    with running_field() as field:
        field.publish(0.0, {LEVEL: Sample(1.0)})
        with connected_link(field) as link:
            with pytest.raises(ValueError, match="step 3 is not open"):
                link.finish_step(3, {PUMP: 10.0})
            assert field.take_writes() == {}


def test_wait_step_returns_none_once_the_field_ends() -> None:
    field = ZmqField(POINTS)
    field.start()
    field.publish(0.0, {LEVEL: Sample(1.0)})
    with connected_link(field) as link:
        field.stop(announce=True)
        assert link.wait_step(5.0) is None
        assert not link.up


def test_a_steps_samples_are_every_input_as_of_that_step() -> None:
    with running_field() as field, connected_link(field) as link:
        acked: list[dict[str, Any]] = []

        def field_side() -> None:
            acked.append(field.exchange(0, 1.0, {LEVEL: Sample(2.0, Quality.GOOD, 1.0)}, 5.0))
            inflow = Sample(0.4, Quality.UNCERTAIN, 1.5)
            acked.append(field.exchange(1, 2.0, {INFLOW: inflow}, 5.0))

        plant = threading.Thread(target=field_side)
        plant.start()
        try:
            first = link.wait_step(5.0)
            assert first is not None and first.k == 0
            link.finish_step(0, {PUMP: 1.0})
            second = link.wait_step(5.0)
            assert second is not None and second.k == 1
            link.finish_step(1, {PUMP: 2.0})
        finally:
            plant.join(10)
    assert acked == [{PUMP: 1.0}, {PUMP: 2.0}]
    # an input never sent reads BAD at the step's time; a later frame leaves a step as it was
    assert dict(first.samples) == {
        LEVEL: Sample(2.0, Quality.GOOD, 1.0),
        INFLOW: Sample(None, Quality.BAD, 1.0),
    }
    assert dict(second.samples) == {
        LEVEL: Sample(2.0, Quality.GOOD, 1.0),  # held from step 0
        INFLOW: Sample(0.4, Quality.UNCERTAIN, 1.5),
    }
    assert list(second.samples) == [LEVEL, INFLOW] and len(second.samples) == 2
    assert second.samples.get("fake/T1/none") is None and "fake/T1/none" not in second.samples
