"""Flooded roads: the depth rule, and slowing, closing and rerouting in SUMO (micro and meso)."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from sim.traffic.edge_geometry import edge_sample_points
from sim.traffic.flooding import (
    ROAD_FLOOD_THRESHOLDS,
    RoadFloodState,
    RoadFloodThresholds,
    flood_state,
)
from sim.traffic.kpis import trip_kpis
from sim.traffic.plant import TrafficPlant, TrafficPlantConfig

REPO = Path(__file__).resolve().parents[2]
DONGHA_NET = REPO / "scenarios" / "dongha" / "net" / "dongha.net.xml"
OPEN, SLOWED, CLOSED = RoadFloodState.OPEN, RoadFloodState.SLOWED, RoadFloodState.CLOSED
MODES = ["micro", "meso"]
INTO_C1 = ("B1C1", "C0C1", "C2C1", "D1C1")  # every edge into junction C1


def sumo_home() -> Path:
    import sumo

    return Path(sumo.SUMO_HOME)


def netgenerate(out: Path, number: int, length_m: float) -> Path:
    """A ``number`` x ``number`` one-lane grid without traffic lights."""
    subprocess.run(
        [
            str(sumo_home() / "bin" / "netgenerate"),
            "--grid",
            "--grid.number",
            str(number),
            "--grid.length",
            f"{length_m:g}",
            "--default.lanenumber",
            "1",
            "--no-turnarounds",
            "true",
            "--seed",
            "1",
            "-o",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def small_grid(tmp_path_factory) -> tuple[Path, Path]:
    """4 x 4 grid (200 m blocks) and traffic west to east through B1C1 to C1D1.

    A flow with an explicit route (as duarouter writes them) and a flow of
    trips that SUMO routes at departure, both ending on C1D1.
    """
    folder = tmp_path_factory.mktemp("flood_grid")
    net = netgenerate(folder / "grid.net.xml", 4, 200)
    routes = folder / "grid.rou.xml"
    routes.write_text(
        """<routes>
  <vType id="car" vClass="passenger"/>
  <route id="through_B1C1" edges="A1B1 B1C1 C1D1"/>
  <flow id="f" type="car" begin="0" end="300" vehsPerHour="600" route="through_B1C1"/>
  <flow id="t" type="car" begin="0" end="300" vehsPerHour="300" from="A1B1" to="C1D1"/>
</routes>
""",
        encoding="utf-8",
    )
    return net, routes


@pytest.fixture(scope="module")
def big_grid(tmp_path_factory) -> tuple[Path, Path]:
    """12 x 12 grid (100 m blocks, 528 edges) and random trips from SUMO's randomTrips."""
    folder = tmp_path_factory.mktemp("flood_big_grid")
    net = netgenerate(folder / "big.net.xml", 12, 100)
    trips = folder / "big.trips.xml"
    subprocess.run(
        [
            sys.executable,
            str(sumo_home() / "tools" / "randomTrips.py"),
            "-n",
            str(net),
            "-o",
            str(trips),
            "-b",
            "0",
            "-e",
            "200",
            "-p",
            "0.4",
            "--seed",
            "7",
        ],
        check=True,
        capture_output=True,
        cwd=folder,  # randomTrips also writes routes.rou.xml into the working directory
    )
    return net, trips


def make_plant(
    net: Path, routes: Path, run_dir: Path, mode: str, duration_s: float
) -> TrafficPlant:
    config = TrafficPlantConfig(
        net_file=net, route_files=[routes], run_dir=run_dir, duration_s=duration_s, mode=mode
    )
    return TrafficPlant(config, {})


class ClosureWatch:
    """Records vehicles found on closed edges that had no right to be there.

    A vehicle may be on a closed edge if it was on it, or on the junction into
    it, when the edge closed, or if it departed on it.
    """

    def __init__(self) -> None:
        import libsumo

        self.sumo = libsumo
        self.closed: set[str] = set()
        self.allowed: set[str] = set()
        self.intruders: set[str] = set()

    def close(self, edges: Iterable[str]) -> None:
        """Note who may stay: call just before closing ``edges``."""
        new = set(edges)
        veh = self.sumo.vehicle
        for edge in new:
            self.allowed.update(self.sumo.edge.getLastStepVehicleIDs(edge))
        for vid in veh.getIDList():
            route, index = veh.getRoute(vid), veh.getRouteIndex(vid)
            # micro: on an internal lane; meso: in an internal segment (its road is
            # the edge before the junction, its segment id starts with ":")
            road, segment = veh.getRoadID(vid), veh.getSegmentID(vid)
            on_junction = road.startswith(":") or segment.startswith(":")
            if on_junction and index + 1 < len(route) and route[index + 1] in new:
                self.allowed.add(vid)
        self.closed |= new

    def check(self) -> None:
        """Call after each step."""
        veh = self.sumo.vehicle
        for vid in self.sumo.simulation.getDepartedIDList():
            if veh.getRoute(vid)[0] in self.closed:
                self.allowed.add(vid)
        for edge in sorted(self.closed):
            for vid in self.sumo.edge.getLastStepVehicleIDs(edge):
                if vid not in self.allowed:
                    self.intruders.add(vid)


# -- the depth rule ------------------------------------------------------------
def test_threshold_table():
    assert flood_state(0.0) == (OPEN, None)
    assert flood_state(0.05) == (OPEN, None)
    state, limit = flood_state(0.2)
    assert state is SLOWED and limit is not None
    assert 5 / 3.6 <= limit <= 20 / 3.6
    assert flood_state(0.10) == (SLOWED, pytest.approx(20 / 3.6))  # wading pace from 0.10 m
    assert flood_state(0.35) == (CLOSED, None)
    assert flood_state(0.30)[0] is CLOSED
    speeds = [flood_state(d / 1000)[1] or 0.0 for d in range(100, 300)]  # every mm
    assert all(5 / 3.6 - 1e-9 <= s <= 20 / 3.6 + 1e-9 for s in speeds)
    assert all(a >= b for a, b in itertools.pairwise(speeds))  # deeper, never faster
    assert ROAD_FLOOD_THRESHOLDS.sources  # the table carries its references


@pytest.mark.parametrize("bad", [math.nan, -0.01, math.inf])
def test_threshold_table_rejects_impossible_depths(bad):
    with pytest.raises(ValueError, match="depth"):
        flood_state(bad)


def test_threshold_table_is_validated():
    with pytest.raises(ValueError, match="closed_from_m"):
        RoadFloodThresholds(slowed_from_m=0.3, closed_from_m=0.2)


# -- closing, rerouting, stranding -----------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_closed_edge_is_avoided_and_reopened(small_grid, tmp_path, mode):
    net, routes = small_grid
    plant = make_plant(net, routes, tmp_path, mode, duration_s=300)
    plant.start(0)
    watch = ClosureWatch()
    try:
        for t in range(1, 301):
            if t == 60:
                watch.close(["B1C1"])
                plant.set_edge_flood("B1C1", CLOSED)
                plant.set_edge_flood("B1C1", CLOSED)  # idempotent
            if t == 240:
                plant.set_edge_flood("B1C1", OPEN)
                watch.closed.clear()
            plant.advance(float(t))
            watch.check()
            if t == 200:
                during = plant.flood_stats()
        after = plant.flood_stats()
        series = plant.flood_series()
    finally:
        plant.close()
    assert watch.intruders == set()
    # all traffic used B1C1: from the closure on, every vehicle upstream of it took
    # the detour (about 0.25 veh/s for 140 s), none was stranded
    assert during["edges_closed"] == 1 and during["vehicles_stranded"] == 0
    assert during["vehicles_rerouted"] >= 25
    assert during["reroute_calls"] == during["vehicles_rerouted"]
    assert during["km_closed"] == pytest.approx(0.2, abs=0.02)
    assert after["edges_closed"] == 0 and after["km_closed"] == 0.0
    assert series[0][0] == 59.0 and series[0][1] == during["km_closed"]  # closed at t = 59 s
    assert series[-1][1] == 0.0 and series[-1][3] == after["vehicles_rerouted"]
    assert [row[0] for row in series] == sorted({row[0] for row in series})  # one row per time


@pytest.mark.parametrize("mode", MODES)
def test_closing_every_way_in_strands_vehicles_heading_there(small_grid, tmp_path, mode):
    import libsumo
    import sumolib

    net, routes = small_grid
    plant = make_plant(net, routes, tmp_path, mode, duration_s=200)
    plant.start(0)
    watch = ClosureWatch()
    departed_after = 0
    try:
        for t in range(1, 201):
            if t == 60:
                running = libsumo.vehicle.getIDCount()
                watch.close(INTO_C1)
                for edge in INTO_C1:
                    plant.set_edge_flood(edge, CLOSED)
            plant.advance(float(t))
            watch.check()
            if t >= 60:
                departed_after += len(libsumo.simulation.getDepartedIDList())
        stats = plant.flood_stats()
    finally:
        plant.close()
    assert watch.intruders == set()
    # every vehicle heads for C1D1, behind the water: those that departed after the
    # closure, and those still upstream of it then, are stranded; none finds a detour
    assert stats["vehicles_rerouted"] == 0
    assert departed_after <= stats["vehicles_stranded"] <= departed_after + running
    assert stats["vehicles_stranded"] == (
        stats["vehicles_removed_at_water"] + stats["vehicles_stranded_driving"]
    )
    lengths = sumolib.net.readNet(str(net)).getEdge
    assert stats["edges_closed"] == 4
    assert stats["km_closed"] == pytest.approx(sum(lengths(e).getLength() for e in INTO_C1) / 1e3)
    # removed at the water's edge: abandoned trips, unfinished in the trip KPIs
    kpis = trip_kpis(tmp_path / "tripinfo.xml", {"car": "car"})
    assert kpis["vehicles_unfinished"] >= stats["vehicles_removed_at_water"] > 0


@pytest.mark.parametrize("mode", MODES)
def test_slowed_edge_lowers_max_speed_and_open_restores_it(small_grid, tmp_path, mode):
    import libsumo

    net, routes = small_grid
    plant = make_plant(net, routes, tmp_path, mode, duration_s=200)
    plant.start(0)
    try:
        original = libsumo.lane.getMaxSpeed("B1C1_0")
        state, limit = flood_state(0.25)
        assert state is SLOWED and limit is not None and limit < original
        plant.set_edge_flood("B1C1", state, limit)
        assert libsumo.lane.getMaxSpeed("B1C1_0") == pytest.approx(limit)
        plant.set_edge_flood("C1D1", SLOWED, original + 10.0)  # a limit above the road's own
        assert libsumo.lane.getMaxSpeed("C1D1_0") == pytest.approx(original)
        fastest = 0.0
        for t in range(1, 121):
            plant.advance(float(t))
            for vid in libsumo.edge.getLastStepVehicleIDs("B1C1"):
                if libsumo.vehicle.getRoadID(vid) == "B1C1":
                    fastest = max(fastest, libsumo.vehicle.getSpeed(vid))
        stats = plant.flood_stats()
        assert stats["edges_slowed"] == 2 and stats["edges_closed"] == 0
        assert stats["km_slowed"] == pytest.approx(0.4, abs=0.04)
        # traffic on the flooded edge keeps to the limit times each driver's speed factor
        # (SUMO's default spread: mean 1, deviation 0.1)
        assert 0 < fastest <= 1.4 * limit < 0.5 * original
        plant.set_edge_flood("B1C1", OPEN)
        plant.set_edge_flood("C1D1", OPEN)
        assert libsumo.lane.getMaxSpeed("B1C1_0") == pytest.approx(original)
        assert plant.flood_stats()["edges_slowed"] == 0
        assert plant.flood_stats()["km_slowed"] == 0.0
    finally:
        plant.close()


@pytest.mark.parametrize("mode", MODES)
def test_hundreds_of_edges_close_at_once_in_one_pass(big_grid, tmp_path, mode):
    import libsumo

    net, trips = big_grid
    plant = make_plant(net, trips, tmp_path, mode, duration_s=300)
    plant.start(0)
    watch = ClosureWatch()
    try:
        for t in range(1, 101):
            plant.advance(float(t))
        edges = sorted(e for e in libsumo.edge.getIDList() if not e.startswith(":"))
        flooded = edges[::3]  # every third edge: 176 closures, some detours, some dead ends
        running = libsumo.vehicle.getIDCount()
        watch.close(flooded)
        began = time.perf_counter()
        for edge in flooded:
            plant.set_edge_flood(edge, CLOSED)
        plant.advance(101.0)
        elapsed = time.perf_counter() - began
        first_pass = plant.flood_stats()["reroute_calls"]
        watch.check()
        for t in range(102, 301):
            plant.advance(float(t))
            watch.check()
        stats = plant.flood_stats()
    finally:
        plant.close()
    assert len(flooded) >= 150
    assert 0 < first_pass <= running + 5  # one reroute per vehicle, not one per closed edge
    assert elapsed < 5.0
    assert watch.intruders == set()
    assert stats["edges_closed"] == len(flooded)
    assert stats["vehicles_rerouted"] >= 20 and stats["vehicles_stranded"] >= 20


# -- meso rerouting must not crash SUMO ------------------------------------------
# The pattern of the segfault in a coupled flood run over Đông Hà (meso): vehicles
# queued on a two-lane edge, whose trips began on a one-lane edge, are rerouted
# around a closure ahead. With ``vehicle.rerouteTraveltime`` SUMO 1.28 replans a
# running meso vehicle from its departure edge and puts its route position back
# there while it stays in queue 1 of the two-lane edge; the next simulationStep
# looks up lane 1 of the one-lane edge and dies with SIGSEGV. The run is a child
# process, so a crash fails this test instead of killing pytest.
_MESO_CHILD = r"""
import json, sys
from pathlib import Path
from sim.traffic.flooding import RoadFloodState
from sim.traffic.plant import TrafficPlant, TrafficPlantConfig
import libsumo

net, routes, run_dir = (Path(a) for a in sys.argv[1:4])
config = TrafficPlantConfig(
    net_file=net, route_files=[routes], run_dir=run_dir, duration_s=300, mode="meso"
)
plant = TrafficPlant(config, {})
plant.start(0)
veh = libsumo.vehicle
seen_past_start = set()  # vehicles seen beyond their departure edge
problems = []
closed = {}  # closed edge -> vehicles that may stay: on it or on a junction when it closed


def close(edge):
    closed[edge] = {
        v for v in veh.getIDList()
        if veh.getRoadID(v) == edge or veh.getSegmentID(v).startswith(":")
    }
    plant.set_edge_flood(edge, RoadFloodState.CLOSED)


try:
    for t in range(1, 301):
        if t == 60:  # the straight way closes: detour up, across and down
            before = {v: veh.getRoadID(v) for v in veh.getIDList()}
            close("fwd")
        if t == 150:  # and the detour too: no way left to "out", trips are stranded
            close("down")
        if t == 240:
            for edge in closed:
                plant.set_edge_flood(edge, RoadFloodState.OPEN)
            closed.clear()
        plant.advance(float(t))
        running = set(veh.getIDList())
        if t == 60:
            rerouted = plant.flood_stats()["vehicles_rerouted"]
            kept = sum(veh.getRoadID(v) == road for v, road in before.items() if v in running)
        for v in running:
            road, seg = veh.getRoadID(v), veh.getSegmentID(v)
            if seg and not seg.startswith(":") and seg.rsplit(":", 1)[0] != road:
                problems.append(f"t={t} {v}: route position on {road}, queued on {seg}")
            if road != "in":
                seen_past_start.add(v)
            elif v in seen_past_start:
                problems.append(f"t={t} {v}: back on its departure edge")
            if road in closed and v not in closed[road]:
                problems.append(f"t={t} {v}: entered closed {road}")
    stats = plant.flood_stats()
finally:
    plant.close()
print(json.dumps({"stats": stats, "rerouted_at_60": rerouted, "kept_road": kept,
                  "before": len(before), "problems": problems[:20]}))
"""


def test_meso_rerouting_around_a_closure_keeps_sumo_alive(tmp_path):
    """Closures ahead of vehicles queued on a multi-lane edge (meso), in a child process."""
    nodes = tmp_path / "n.nod.xml"
    nodes.write_text(
        """<nodes>
  <node id="W" x="0" y="0"/> <node id="A" x="200" y="0"/> <node id="B" x="700" y="0"/>
  <node id="C" x="1200" y="0"/> <node id="E" x="1400" y="0"/>
  <node id="N" x="700" y="300"/> <node id="M" x="1200" y="300"/>
</nodes>
""",
        encoding="utf-8",
    )
    edges = tmp_path / "n.edg.xml"
    edges.write_text(  # one lane to depart on, two lanes (two meso queues) after it
        """<edges>
  <edge id="in" from="W" to="A" numLanes="1" speed="13.89"/>
  <edge id="main" from="A" to="B" numLanes="2" speed="13.89"/>
  <edge id="fwd" from="B" to="C" numLanes="2" speed="13.89"/>
  <edge id="out" from="C" to="E" numLanes="1" speed="13.89"/>
  <edge id="up" from="B" to="N" numLanes="1" speed="13.89"/>
  <edge id="across" from="N" to="M" numLanes="1" speed="13.89"/>
  <edge id="down" from="M" to="C" numLanes="1" speed="13.89"/>
</edges>
""",
        encoding="utf-8",
    )
    net = tmp_path / "detour.net.xml"
    subprocess.run(
        [
            str(sumo_home() / "bin" / "netconvert"),
            "-n", str(nodes), "-e", str(edges), "-o", str(net),
            "--no-turnarounds", "true", "--default.junctions.type", "priority",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    routes = tmp_path / "detour.rou.xml"
    routes.write_text(
        """<routes>
  <vType id="car" vClass="passenger"/>
  <route id="straight" edges="in main fwd out"/>
  <flow id="f" type="car" begin="0" end="300" vehsPerHour="1800" route="straight"/>
</routes>
""",
        encoding="utf-8",
    )
    child = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", _MESO_CHILD, str(net), str(routes),
         str(tmp_path / "run")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert child.returncode == 0, (
        f"meso run died (return code {child.returncode}, -11 = segmentation fault):\n"
        f"{child.stderr[-3000:]}"
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["problems"] == []
    stats = result["stats"]
    # at the closure about 30 vehicles are upstream of it, most on the two-lane edge;
    # they detour from where they are
    assert result["before"] >= 20 and result["rerouted_at_60"] >= 15
    assert result["kept_road"] >= result["before"] - 5  # nobody jumps back to its start
    # after the second closure trips to "out" have no way left: stranded and removed
    assert stats["vehicles_stranded"] >= 10 and stats["vehicles_removed_at_water"] >= 5
    # (those still driving to the water at the reopening drive on, stranded no more)
    assert stats["vehicles_stranded_driving"] == 0


def test_flood_requests_are_checked(small_grid, tmp_path):
    net, routes = small_grid
    plant = make_plant(net, routes, tmp_path, "micro", duration_s=60)
    with pytest.raises(RuntimeError, match="start"):
        plant.set_edge_flood("B1C1", CLOSED)
    assert plant.flood_stats()["edges_closed"] == 0 and plant.flood_series() == []
    plant.start(0)
    try:
        with pytest.raises(ValueError, match="'Atlantis'"):
            plant.set_edge_flood("Atlantis", CLOSED)
        with pytest.raises(ValueError, match="internal junction edge"):
            plant.set_edge_flood(":B1_0", CLOSED)
        with pytest.raises(ValueError, match="SLOWED needs a speed limit"):
            plant.set_edge_flood("B1C1", SLOWED)
        with pytest.raises(ValueError, match="OPEN takes no speed limit"):
            plant.set_edge_flood("B1C1", OPEN, 3.0)
        with pytest.raises(ValueError, match="m/s > 0"):
            plant.set_edge_flood("B1C1", SLOWED, math.nan)
        plant.set_edge_flood("B1C1", OPEN)  # already open: nothing happens
        assert plant.flood_series() == []
    finally:
        plant.close()


# -- where the roads are -----------------------------------------------------------
def test_edge_sample_points_on_the_dongha_network():
    import numpy as np
    import sumolib

    samples = edge_sample_points(DONGHA_NET, spacing_m=20.0)
    net = sumolib.net.readNet(str(DONGHA_NET))
    assert list(samples) == sorted(samples)
    assert len(samples) > 100
    for edge_id, s in samples.items():
        edge = net.getEdge(edge_id)
        assert "passenger" in edge.getPermissions() or "motorcycle" in edge.getPermissions()
        assert s.length_m == pytest.approx(edge.getLength())
        assert len(s.lon) == len(s.lat) == len(s.x_utm) == len(s.positions_m) >= 1
        assert np.all((s.lon > 107.0) & (s.lon < 107.2) & (s.lat > 16.7) & (s.lat < 16.9))
        assert np.all((s.positions_m > 0) & (s.positions_m < s.length_m))
        steps = np.hypot(np.diff(s.x_utm), np.diff(s.y_utm))
        assert np.all(steps <= 20.0 * 1.05)  # UTM metres apart, about the spacing
    # UTM 48N is the network's own projection: x/y minus the net offset
    edge_id = next(iter(samples))
    x0, y0 = net.getLocationOffset()
    x, y = net.getEdge(edge_id).getShape()[0]
    s = samples[edge_id]
    assert math.dist((s.x_utm[0] + x0, s.y_utm[0] + y0), (x, y)) <= 20.0


def test_edge_sample_points_need_a_projection(small_grid):
    net, _routes = small_grid
    with pytest.raises(ValueError, match="no geo-projection"):
        edge_sample_points(net)
