"""Controller, cabinet and monitor in one loop on real SUMO: outages never cause unsafe states."""

from __future__ import annotations

from controllers.io import Direction, PointSpec, Sample, ValueType
from controllers.signals import FixedTimeController, IntersectionSpec, webster_plan
from sim.traffic.layout import read_signal_layouts
from sim.traffic.plant import TrafficPlant, TrafficPlantConfig
from twin.eventlog import EventLog
from twin.kernel import Kernel
from twin.monitors import ConflictMonitorBank

FLASHING = PointSpec("tls/B1/flashing", Direction.INPUT, "", ValueType.BOOL)


class Stutter:
    """Wraps a controller and drops its outputs during ``silent`` (s): a lost link."""

    def __init__(self, inner: FixedTimeController, silent: tuple[float, float]) -> None:
        self.inner, self.silent = inner, silent
        self.name, self.scan_period_s = inner.name, inner.scan_period_s
        self.cabinet_flashing: list[tuple[float, bool]] = []

    def points(self):
        return self.inner.points()

    def scan(self, now, inputs):
        self.cabinet_flashing.append((now, inputs["tls/B1/flashing"].value))
        out = self.inner.scan(now, inputs)
        return {} if self.silent[0] <= now < self.silent[1] else out

    def snapshot(self):
        return self.inner.snapshot()

    def restore(self, state):
        self.inner.restore(state)


def run_with_link_outage(grid_net, grid_routes, tmp_path, cabinet_status: bool):
    """200 s at the grid's B1 with the controller's commands lost from 60 to 72 s."""
    layouts = read_signal_layouts(grid_net, ["B1"])
    layout = layouts["B1"]
    spec = IntersectionSpec.from_program("B1", layout.phase_states, layout.link_lanes)
    plan = webster_plan(spec, [300.0] * layout.n_links)
    inner = FixedTimeController(spec, plan, cabinet_status=cabinet_status)
    controller = Stutter(inner, silent=(60.0, 72.0))
    if not cabinet_status:  # still observe the cabinet, without telling the controller
        controller.points = lambda: (*inner.points(), FLASHING)
    log = EventLog()
    monitor = ConflictMonitorBank([spec], 1.0, events=log)
    kernel = Kernel(log=log)
    config = TrafficPlantConfig(
        net_file=grid_net, route_files=[grid_routes], run_dir=tmp_path, duration_s=200
    )
    kernel.add_plant(TrafficPlant(config, layouts))
    kernel.add_controller(controller)
    kernel.add_controller(monitor)
    kernel.run(200)
    return controller, monitor, log


def test_cabinet_flash_after_lost_commands_recovers_without_violations(
    grid_net, grid_routes, tmp_path
):
    controller, monitor, _ = run_with_link_outage(grid_net, grid_routes, tmp_path, True)
    flashing = dict(controller.cabinet_flashing)
    assert flashing[59.0] is False and flashing[70.0] is True  # the watchdog flashed
    assert flashing[100.0] is False  # and the junction came back under control
    assert monitor.violations == 0, monitor.violation_log()[:5]
    assert monitor.blind == 0


def test_monitor_reports_a_cabinet_that_skips_the_start_up(grid_net, grid_routes, tmp_path):
    """Without the cabinet status input the controller does not know it flashed: caught."""
    _, monitor, log = run_with_link_outage(grid_net, grid_routes, tmp_path, False)
    assert monitor.violations > 0
    assert log.counts["interlock_violation"] >= 1


def test_monitor_bank_snapshot_keeps_violation_counts():
    spec = IntersectionSpec.from_program(
        "J", ["GGrr", "yyrr", "rrGG", "rryy"], ["a", "a", "b", "b"]
    )
    bank = ConflictMonitorBank([spec], 1.0)
    sample = {"tls/J/state_actual": Sample("GGGG")}
    bank.scan(0.0, sample)  # conflicting greens
    assert bank.violations > 0
    fresh = ConflictMonitorBank([spec], 1.0)
    fresh.restore(bank.snapshot())
    assert fresh.violations == bank.violations
