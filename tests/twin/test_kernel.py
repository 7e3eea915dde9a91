"""Kernel: ordering, latency, quality propagation, controller failure, determinism."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow.parquet as pq
import pytest

from controllers.io import Direction, PointSpec, Quality, Sample, ValueType
from twin.eventlog import EventLog
from twin.kernel import Kernel, ScheduledAction
from twin.recorder import Recorder


class Tank:
    """A toy plant: level rises by inflow minus the valve's outflow each second."""

    name = "tank"

    def __init__(self, step_s: float = 1.0) -> None:
        self.step_s = step_s
        self.level = 0.0
        self.valve = 0.0
        self.t = 0.0
        self.log: list[tuple[float, float]] = []
        self.closed = 0

    def points(self):
        return [
            PointSpec(
                "tank/T1/level_m",
                Direction.INPUT,
                "m",
                low=0,
                high=100,
                stale_after_s=5,
                bad_after_s=10,
            ),
            PointSpec("tank/T1/valve_pct", Direction.OUTPUT, "%", low=0, high=100),
        ]

    def start(self, t0: float) -> None:
        self.t = t0

    def actuate(self, values: Mapping[str, Any]) -> None:
        self.valve = values["tank/T1/valve_pct"]
        self.log.append((self.t, self.valve))

    def advance(self, t: float) -> None:
        self.level = max(0.0, self.level + (t - self.t) * (1.0 - self.valve / 50.0))
        self.t = t

    def sensors(self) -> Mapping[str, Sample]:
        return {"tank/T1/level_m": Sample(self.level, Quality.GOOD, self.t)}

    def close(self) -> None:
        self.closed += 1


class LevelController:
    """Opens the valve fully above 3 m; shuts it when the level input is not good."""

    name = "ctl/T1"

    def __init__(self, scan_period_s: float = 1.0, explode_at: float | None = None) -> None:
        self.scan_period_s = scan_period_s
        self.seen: list[tuple[float, Sample]] = []
        self.explode_at = explode_at

    def points(self):
        return [
            PointSpec("tank/T1/level_m", Direction.INPUT, "m", low=0, high=100),
            PointSpec("tank/T1/valve_pct", Direction.OUTPUT, "%", low=0, high=100),
        ]

    def scan(self, now, inputs):
        if self.explode_at is not None and now >= self.explode_at:
            raise RuntimeError("boom")
        level = inputs["tank/T1/level_m"]
        self.seen.append((now, level))
        if not level.good:
            return {"tank/T1/valve_pct": 0.0}
        return {"tank/T1/valve_pct": 100.0 if level.value > 3.0 else 0.0}

    def snapshot(self):
        return {}

    def restore(self, state):
        pass


def test_controller_sees_sensor_of_same_instant_and_acts_one_step_later():
    kernel = Kernel()
    tank, ctl = Tank(), LevelController()
    kernel.add_plant(tank)
    kernel.add_controller(ctl)
    kernel.run(10)
    # at each scan time t the controller saw the level the plant published at t
    for now, sample in ctl.seen:
        assert sample.source_time == now
    # level rises 1 m/s until > 3 m; the valve opens after the scan at t=4 and applies from t=4..5
    opened = [t for t, v in tank.log if v == 100.0]
    assert opened and opened[0] == 4.0
    assert tank.closed == 1


def test_stale_sensor_becomes_uncertain_then_bad():
    kernel = Kernel()
    tank = Tank(step_s=12.0)  # publishes only every 12 s
    ctl = LevelController(scan_period_s=1.0)
    kernel.add_plant(tank)
    kernel.add_controller(ctl)
    kernel.run(11)
    quality = {now: s.quality for now, s in ctl.seen}
    assert quality[0.0] is Quality.GOOD
    assert quality[6.0] is Quality.UNCERTAIN
    assert quality[11.0] is Quality.BAD


def test_scenario_event_forces_bad_quality_and_is_logged():
    log = EventLog()
    kernel = Kernel(log=log)
    ctl = LevelController()
    kernel.add_plant(Tank())
    kernel.add_controller(ctl)
    kernel.schedule(
        ScheduledAction(
            5.0,
            "sensor_fault",
            lambda k: k.image.force_quality("tank/T1/level_m", Quality.BAD),
            {"point": "tank/T1/level_m"},
        )
    )
    kernel.run(8)
    assert {now: s.quality for now, s in ctl.seen}[5.0] is Quality.BAD
    assert {now: s.quality for now, s in ctl.seen}[4.0] is Quality.GOOD
    assert log.counts["sensor_fault"] == 1


def test_out_of_range_output_is_rejected_logged_and_not_actuated():
    class Wild(LevelController):
        def scan(self, now, inputs):
            return {"tank/T1/valve_pct": 250.0}

    log = EventLog()
    kernel = Kernel(log=log)
    tank = Tank()
    kernel.add_plant(tank)
    kernel.add_controller(Wild())
    kernel.run(3)
    assert tank.log == []
    assert log.counts["value_rejected"] >= 3
    assert kernel.read("tank/T1/valve_pct").quality is Quality.BAD


def test_failing_controller_is_stopped_and_run_continues(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    recorder = Recorder(tmp_path / "points.parquet", period_s=1.0, flush_every=2)
    kernel = Kernel(log=log, recorder=recorder)
    tank = Tank()
    kernel.add_plant(tank)
    kernel.add_controller(LevelController(explode_at=3.0))
    stats = kernel.run(6)
    log.close()
    assert stats.plant_steps["tank"] == 6
    assert stats.controller_errors["ctl/T1"] == 1
    assert "controller_failed" in (tmp_path / "events.jsonl").read_text()
    table = pq.read_table(tmp_path / "points.parquet").to_pydict()
    valve = [
        (t, q)
        for t, p, q in zip(table["time_s"], table["point"], table["quality"], strict=True)
        if p == "tank/T1/valve_pct"
    ]
    assert valve[-1][1] == int(Quality.BAD)
    assert max(table["time_s"]) == 6.0


def test_runs_are_deterministic():
    def once():
        kernel = Kernel()
        tank, ctl = Tank(), LevelController()
        kernel.add_plant(tank)
        kernel.add_controller(ctl)
        kernel.run(30)
        return tank.log, [(t, s.value) for t, s in ctl.seen]

    assert once() == once()


def test_point_declarations_must_agree():
    class Other(LevelController):
        def points(self):
            return [PointSpec("tank/T1/level_m", Direction.INPUT, "ft", ValueType.FLOAT)]

    kernel = Kernel()
    kernel.add_plant(Tank())
    with pytest.raises(ValueError, match="unit"):
        kernel.add_controller(Other())


def test_negative_duration_is_refused():
    with pytest.raises(ValueError, match="positive"):
        Kernel().run(-5)


def test_report_by_exception_stays_fresh_while_the_plant_steps():
    class QuietTank(Tank):
        """Publishes its level only when it changes (it never does after the start)."""

        def __init__(self) -> None:
            super().__init__()
            self.sent = False

        def advance(self, t: float) -> None:
            self.t = t

        def sensors(self):
            if self.sent:
                return {}
            self.sent = True
            return {"tank/T1/level_m": Sample(2.0, Quality.GOOD, self.t)}

    kernel = Kernel()
    ctl = LevelController()
    kernel.add_plant(QuietTank())
    kernel.add_controller(ctl)
    kernel.run(30)
    assert all(s.quality is Quality.GOOD and s.value == 2.0 for _, s in ctl.seen)
    assert ctl.seen[-1][1].source_time == 30.0  # confirmed by the plant's last step


def test_event_due_at_start_applies_before_the_first_scan():
    kernel = Kernel()
    ctl = LevelController()
    kernel.add_plant(Tank())
    kernel.add_controller(ctl)
    kernel.schedule(
        ScheduledAction(
            0.0, "sensor_fault", lambda k: k.image.force_quality("tank/T1/level_m", Quality.BAD)
        )
    )
    kernel.run(3)
    assert ctl.seen[0] == (0.0, ctl.seen[0][1]) and ctl.seen[0][1].quality is Quality.BAD


def test_an_actuator_point_has_exactly_one_controller():
    kernel = Kernel()
    kernel.add_plant(Tank())
    kernel.add_controller(LevelController())
    second = LevelController()
    second.name = "ctl/T1-backup"
    with pytest.raises(ValueError, match="both write tank/T1/valve_pct"):
        kernel.add_controller(second)


class Overflow:
    """A coupling: drains the tank to 2 m whenever it is above 5 m, noting what it saw."""

    name = "overflow"

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self.seen: list[tuple[float, float, float]] = []

    def step(self, now: float, kernel: Kernel) -> None:
        tank = kernel.plant("tank")
        assert isinstance(tank, Tank)
        valve = kernel.read("tank/T1/valve_pct")
        self.seen.append((now, tank.level, valve.source_time))
        if tank.level > 5.0:
            tank.level = 2.0


def test_couplings_run_at_their_period_after_plants_and_controllers():
    kernel = Kernel()
    tank, overflow = Tank(), Overflow(period_s=2.0)
    ctl_closed = LevelController()
    ctl_closed.scan = lambda now, inputs: {"tank/T1/valve_pct": 0.0}  # type: ignore[method-assign]
    kernel.add_plant(tank)
    kernel.add_controller(ctl_closed)
    kernel.add_coupling(overflow)
    kernel.run(12)
    assert [t for t, _, _ in overflow.seen] == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    # it saw the plant advanced to now and the controller's output of now
    for now, _, valve_time in overflow.seen:
        assert valve_time == now
    # the level never stays above 5 m past a coupling step: 6 m at t=6 -> 2 m
    assert [lvl for _, lvl, _ in overflow.seen] == [2.0, 4.0, 6.0, 4.0, 6.0, 4.0]
    assert kernel.stats.coupling_wall_s["overflow"] > 0
    with pytest.raises(ValueError, match="two couplings"):
        kernel.add_coupling(Overflow(1.0))
    with pytest.raises(KeyError, match="no plant 'pump'"):
        kernel.plant("pump")
