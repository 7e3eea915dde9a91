"""Virtual NTCIP cabinets on real SUMO: the central's phase control reproduces the
controller's decisions exactly, a silent central leaves the junction on its plan, and
the same commands flow in-process, over ZeroMQ and over OPC-UA."""

from __future__ import annotations

from pathlib import Path

import pytest

from controllers.io import Direction
from controllers.signals.ntcip import UnitControlStatus, point_name
from hil.opcua import OpcUaControllerLink, OpcUaField, OpcUaUser, Security
from hil.zmq import ZmqControllerLink, ZmqField
from sim.traffic.layout import read_signal_layouts
from sim.traffic.plant import TrafficPlant, TrafficPlantConfig
from twin.hil_session import CommandSequence, run_inprocess, run_over_link
from twin.scenario import SignalControllerConfig
from twin.signal_cabinets import CabinetField, cabinets_for, centrals_for
from twin.signal_setup import build_signal_controllers

STEPS = 240


def _parts(grid_net: Path, grid_routes: Path, run_dir: Path, kind: str = "adaptive"):  # type: ignore[no-untyped-def]
    layouts = read_signal_layouts(grid_net, ["B1"])
    flows = {pair: 400.0 for pair in layouts["B1"].link_edges}
    controllers, _, _ = build_signal_controllers(
        layouts, flows, SignalControllerConfig(kind=kind), net_file=grid_net
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    config = TrafficPlantConfig(
        net_file=grid_net, route_files=[grid_routes], run_dir=run_dir, duration_s=STEPS + 10
    )
    return TrafficPlant(config, layouts), controllers


def test_cabinet_shows_exactly_what_the_controller_decides(grid_net, grid_routes, tmp_path):
    plant, controllers = _parts(grid_net, grid_routes, tmp_path / "direct")
    run_inprocess(plant, controllers[0], STEPS)
    direct = plant.signal_log
    assert len({state for _, _, state in direct}) >= 4, "the controller should change phases"

    plant, controllers = _parts(grid_net, grid_routes, tmp_path / "cabinet")
    field = CabinetField(plant, cabinets_for(controllers))
    central = centrals_for(controllers)[0]
    sequence = run_inprocess(field, central, STEPS)
    assert plant.signal_log == direct
    assert field.mmu_violations == 0 and central.disagreements == 0
    patterns = [dict(outs)[point_name("B1", "coord/pattern_command")] for _, outs in sequence]
    # the heads power up flashing (the controller sees it and asks for flash), then free:
    # sequenced by phase control all along
    assert patterns[0] == 255 and set(patterns[1:]) == {254}


class _Silent:
    """A central that stops writing between ``quiet`` (s): a dead central system."""

    def __init__(self, inner, quiet: tuple[float, float]) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.quiet = inner, quiet
        self.name, self.scan_period_s = inner.name, inner.scan_period_s
        self.status: list[tuple[float, int]] = []

    def points(self):  # type: ignore[no-untyped-def]
        return self.inner.points()

    def scan(self, now, inputs):  # type: ignore[no-untyped-def]
        seen = inputs.get(point_name("B1", "unit/control_status"))
        if seen is not None:
            self.status.append((now, seen.value))
        out = self.inner.scan(now, inputs)
        return {} if self.quiet[0] <= now < self.quiet[1] else out


def test_silent_central_leaves_the_junction_on_its_plan_then_resumes(
    grid_net, grid_routes, tmp_path
):
    plant, controllers = _parts(grid_net, grid_routes, tmp_path)
    field = CabinetField(plant, cabinets_for(controllers, backup_s=10.0))
    central = _Silent(centrals_for(controllers)[0], quiet=(60.0, 120.0))
    run_inprocess(field, central, STEPS)
    status = dict(central.status)
    assert status[65.0] == UnitControlStatus.SYSTEM_CONTROL  # within the backup time
    assert status[75.0] == UnitControlStatus.BACKUP_MODE  # heartbeat silent > 10 s
    assert status[150.0] == UnitControlStatus.SYSTEM_CONTROL  # back under the central
    assert field.cabinets[0].backups == 1
    assert field.mmu_violations == 0
    shown = [state for t, _, state in plant.signal_log if 75 <= t < 120]
    assert any("G" in s for s in shown), "the plan keeps serving greens during the outage"


def _remote(endpoint, link, controller, plant) -> CommandSequence:  # type: ignore[no-untyped-def]
    """Serve ``plant`` behind ``endpoint``; the controller runs on ``link`` in a thread."""
    return run_over_link(plant, endpoint, link, controller, STEPS)


@pytest.mark.parametrize("protocol", ["zmq", "opcua"])
def test_same_phase_control_in_process_and_over_the_wire(grid_net, grid_routes, tmp_path, protocol):
    plant, controllers = _parts(grid_net, grid_routes, tmp_path / "local")
    expected = run_inprocess(
        CabinetField(plant, cabinets_for(controllers)), centrals_for(controllers)[0], STEPS
    )
    local_log = plant.signal_log

    plant, controllers = _parts(grid_net, grid_routes, tmp_path / protocol)
    field = CabinetField(plant, cabinets_for(controllers))
    central = centrals_for(controllers)[0]
    inputs = [p for p in central.points() if p.direction is Direction.INPUT]
    outputs = [p for p in central.points() if p.direction is Direction.OUTPUT]
    if protocol == "zmq":
        endpoint = ZmqField(list(field.points()))
        endpoint.start()
        link = ZmqControllerLink(endpoint.pub_endpoint, endpoint.rep_endpoint, inputs)
    else:
        operator = OpcUaUser.with_password("operator", "s3cret-op", "operator")
        endpoint = OpcUaField(
            list(field.points()), run_start_utc_s=1.8e9, security=Security.NONE, users=[operator]
        )
        endpoint.start()
        link = OpcUaControllerLink(
            endpoint.url, inputs, outputs, user="operator", password="s3cret-op"
        )
    link.connect(10.0)
    remote = _remote(endpoint, link, central, field)
    assert remote == expected
    assert plant.signal_log == local_log
    assert field.mmu_violations == 0


def test_detectors_are_published_by_ntcip_number(grid_net, grid_routes, tmp_path):
    plant, controllers = _parts(grid_net, grid_routes, tmp_path)
    field = CabinetField(plant, cabinets_for(controllers))
    lanes = field.detector_lanes["B1"]
    assert len(lanes) == len(plant.layouts["B1"].lanes) >= 4
    names = {p.name for p in field.points()}
    assert point_name("B1", f"detector/{len(lanes)}/presence") in names
    central = centrals_for(controllers)[0]
    field.start(0.0)
    seen: dict[str, object] = {}
    present = 0
    try:
        samples = dict(field.sensors())
        for k in range(120):
            field.actuate(central.scan(float(k), samples))
            field.advance(float(k + 1))
            fresh = field.sensors()
            samples.update(fresh)
            for n, lane in enumerate(lanes, start=1):
                prefix = f"tls/B1/det/{lane}"
                vehicles = fresh.get(f"{prefix}/vehicles")
                if vehicles is not None:
                    view = fresh[point_name("B1", f"detector/{n}/presence")]
                    assert view.value == (vehicles.value > 0)
                    assert view.source_time == vehicles.source_time
                    present += view.value
                count = fresh.get(f"{prefix}/count")
                if count is not None:
                    seen[lane] = fresh[point_name("B1", f"detector/{n}/volume_total")].value
                    assert seen[lane] == count.value
    finally:
        field.close()
    assert present > 0 and any(v for v in seen.values())
    status = samples[point_name("B1", "coord/cycle_s")]
    assert status.value == controllers[0].plan.cycle_s


def test_the_city_through_ntcip_cabinets_shows_what_the_kernel_shows(tmp_path):
    """Đông Hà's 21 junctions, adaptive control, camera-measured detectors: the kernel
    with the controllers writing states directly (as `twin run` does) and the HIL field —
    cabinets driven by their central, detectors through the same seeded camera model —
    put the same states on SUMO's signal heads."""
    from sim.traffic.camera import CameraErrorModel, MeasuredPlant
    from twin.controller_group import ControllerGroup
    from twin.eventlog import EventLog
    from twin.hil_signals import build_cabinet_field, build_signal_central
    from twin.kernel import Kernel
    from twin.rng import RngRegistry
    from twin.scenario import load_scenario
    from twin.traffic_setup import build_traffic

    scenario = load_scenario(
        Path(__file__).resolve().parents[2] / "scenarios" / "dongha_morning_peak_adaptive.yaml",
        {"duration": 300},
    )
    assert scenario.plants.traffic is not None
    assert scenario.plants.traffic.measurement.kind == "camera"
    rng = RngRegistry(scenario.seed)
    parts = build_traffic(scenario, tmp_path / "kernel", rng)
    model = CameraErrorModel(**scenario.plants.traffic.measurement.model_dump(exclude={"kind"}))
    kernel = Kernel(log=EventLog())
    kernel.add_plant(MeasuredPlant(parts.plant, model, rng.stream("camera")))
    for controller in parts.controllers:
        kernel.add_controller(controller)
    kernel.run(scenario.duration)
    direct = parts.plant.signal_log

    field = build_cabinet_field(scenario, tmp_path / "hil")
    central = build_signal_central(scenario, "signals", tmp_path / "central")
    assert isinstance(central, ControllerGroup)
    run_inprocess(field, central, round(scenario.duration))
    assert field.plant.signal_log == direct
    assert field.mmu_violations == 0
    assert sum(m.disagreements for m in central.members) == 0
