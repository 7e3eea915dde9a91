"""The SUMO traffic plant on a small grid: detectors, signal ownership, watchdog, backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from controllers.io import Direction
from sim.traffic.kpis import trip_kpis, vehicle_classes
from sim.traffic.layout import read_signal_layouts
from sim.traffic.plant import TrafficPlant, TrafficPlantConfig


def make_plant(grid_net, grid_routes, run_dir: Path, **overrides) -> TrafficPlant:
    layouts = read_signal_layouts(grid_net, ["B1"])
    config = TrafficPlantConfig(
        net_file=grid_net,
        route_files=[grid_routes],
        run_dir=run_dir,
        duration_s=overrides.pop("duration_s", 600),
        **overrides,
    )
    return TrafficPlant(config, layouts)


def ns_green_ew_red(plant: TrafficPlant) -> str:
    """B1's reference phase that serves the north-south approaches (B2B1, B0B1)."""
    layout = plant.layouts["B1"]
    for state in layout.phase_states:
        lanes_green = {layout.link_lanes[i] for i, c in enumerate(state) if c == "G"}
        if any(lane.startswith("B2B1") for lane in lanes_green) and not any(
            lane.startswith("A1B1") for lane in lanes_green
        ):
            return state
    raise AssertionError("no north-south phase in B1's program")


def drive(plant: TrafficPlant, seconds: int, state: str | None) -> None:
    for t in range(1, seconds + 1):
        if state is not None:
            plant.actuate({"tls/B1/state": state})
        plant.advance(float(t))


def two_minutes_of_sensors(plant: TrafficPlant) -> dict:
    """Run ``plant`` 120 s with north-south green; its latest sensor values."""
    plant.start(0)
    try:
        drive(plant, 120, ns_green_ew_red(plant))
        return {k: v.value for k, v in plant.latest().items()}
    finally:
        plant.close()


def test_points_cover_every_controlled_lane(grid_net, grid_routes, tmp_path):
    plant = make_plant(grid_net, grid_routes, tmp_path)
    names = {p.name: p for p in plant.points()}
    for lane in plant.layouts["B1"].lanes:
        for what in ("queue_m", "occupancy_pct", "vehicles", "speed_mps", "count"):
            assert names[f"tls/B1/det/{lane}/{what}"].direction is Direction.INPUT
    assert names["tls/B1/state"].direction is Direction.OUTPUT


def test_red_approach_queues_and_green_approach_flows(grid_net, grid_routes, tmp_path):
    plant = make_plant(grid_net, grid_routes, tmp_path)
    plant.start(0)
    try:
        state = ns_green_ew_red(plant)
        drive(plant, 240, state)
        s = plant.latest()
        assert s["tls/B1/state_actual"].value == state
        west_queue = max(s[f"tls/B1/det/A1B1_{i}/queue_m"].value for i in (0, 1))
        north_queue = max(s[f"tls/B1/det/B2B1_{i}/queue_m"].value for i in (0, 1))
        west_count = sum(s[f"tls/B1/det/A1B1_{i}/count"].value for i in (0, 1))
        north_count = sum(s[f"tls/B1/det/B2B1_{i}/count"].value for i in (0, 1))
        assert west_queue > 20.0  # motorbikes held at red
        assert north_queue < west_queue
        # cars crossed the stop-line loops; held motorbikes only reach them (front of queue)
        assert north_count >= 15 and west_count <= north_count / 4
        assert plant.max_queue_m["B1"] >= west_queue
        queued = plant.max_queued_by_class["B1"]
        assert queued["motorbike"] >= 10  # the held motorbikes, counted by class
        assert queued.get("car", 0) < queued["motorbike"]
    finally:
        plant.close()


def test_loop_counts_each_vehicle_once(grid_net, grid_routes, tmp_path):
    plant = make_plant(grid_net, grid_routes, tmp_path, duration_s=900)
    plant.start(0)
    try:
        drive(plant, 900, ns_green_ew_red(plant))
        north = sum(plant.latest()[f"tls/B1/det/B2B1_{i}/count"].value for i in (0, 1))
    finally:
        plant.close()
    # every car of the north flow that finished crossed B1's stop line exactly once
    kpis = trip_kpis(tmp_path / "tripinfo.xml", vehicle_classes([grid_routes]))
    finished_cars = kpis["by_class"]["car"]["vehicles_completed"]
    assert finished_cars <= north <= finished_cars + 10


def test_watchdog_flashes_when_commands_stop_and_bad_state_is_ignored(
    grid_net, grid_routes, tmp_path
):
    plant = make_plant(grid_net, grid_routes, tmp_path, watchdog_s=5.0)
    plant.start(0)
    try:
        state = ns_green_ew_red(plant)
        drive(plant, 10, state)
        assert plant.latest()["tls/B1/flashing"].value is False
        for t in range(11, 15):
            plant.actuate({"tls/B1/state": "G"})  # wrong length: not a command
            plant.advance(float(t))
        assert plant.latest()["tls/B1/state_actual"].value == state
        drive(plant, 3, None)  # nothing at all for a while
        s = plant.latest()
        assert s["tls/B1/flashing"].value is True
        assert set(s["tls/B1/state_actual"].value) == {"o"}
        plant.actuate({"tls/B1/state": state})  # a valid command ends the flash
        plant.advance(18.0)
        assert plant.latest()["tls/B1/flashing"].value is False
    finally:
        plant.close()


def test_meso_mode_runs_and_estimates_queues(grid_net, grid_routes, tmp_path):
    plant = make_plant(grid_net, grid_routes, tmp_path, mode="meso")
    plant.start(0)
    try:
        drive(plant, 240, ns_green_ew_red(plant))
        s = plant.latest()
        assert s["traffic/city/running"].value > 0
        west = max(s[f"tls/B1/det/A1B1_{i}/queue_m"].value for i in (0, 1))
        north = max(s[f"tls/B1/det/B2B1_{i}/queue_m"].value for i in (0, 1))
        assert west > 20.0 and north < west
    finally:
        plant.close()


@pytest.mark.parametrize("backend", ["traci"])
def test_traci_backend_matches_libsumo(grid_net, grid_routes, tmp_path, backend):
    results = [
        two_minutes_of_sensors(
            make_plant(grid_net, grid_routes, tmp_path / name, backend=name, duration_s=120)
        )
        for name in ("libsumo", backend)
    ]
    assert results[0] == results[1]


def test_bad_configuration_is_refused(grid_net, grid_routes, tmp_path):
    with pytest.raises(ValueError, match="meso"):
        make_plant(grid_net, grid_routes, tmp_path, mode="mezo")
    with pytest.raises(ValueError, match="traci"):
        make_plant(grid_net, grid_routes, tmp_path, gui=True)


def test_remote_sumo_over_traci_matches_libsumo(grid_net, grid_routes, tmp_path):
    import socket
    import subprocess

    import sumo

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            str(Path(sumo.SUMO_HOME) / "bin" / "sumo"),
            "-n",
            str(grid_net),
            "--remote-port",
            str(port),
            "--no-step-log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        results = [
            two_minutes_of_sensors(
                make_plant(grid_net, grid_routes, tmp_path / name, duration_s=120, **extra)
            )
            for name, extra in (
                ("local", {}),
                ("remote", {"backend": "traci", "remote": f"127.0.0.1:{port}"}),
            )
        ]
        assert results[0] == results[1]
    finally:
        server.wait(timeout=30)


@pytest.mark.parametrize("address", ["localhost", "host:", ":8813", "h:99999"])
def test_bad_remote_address(grid_net, grid_routes, tmp_path, address):
    with pytest.raises(ValueError, match="host:port"):
        make_plant(grid_net, grid_routes, tmp_path, backend="traci", remote=address)


def test_layouts_of_the_dongha_network_are_its_listed_signals():
    import yaml

    repo = Path(__file__).resolve().parents[2]
    net = repo / "scenarios" / "dongha" / "net" / "dongha.net.xml"
    listed = yaml.safe_load((repo / "scenarios" / "dongha" / "signals.yaml").read_text())
    layouts = read_signal_layouts(net)
    assert sorted(layouts) == sorted(e["id"] for e in listed["signals"])
    for layout in layouts.values():
        assert len(layout.link_edges) == layout.n_links and layout.lanes
        assert all(len(state) == layout.n_links for state in layout.phase_states)
    with pytest.raises(ValueError, match="no traffic light with id Nowhere"):
        read_signal_layouts(net, ["Nowhere"])
