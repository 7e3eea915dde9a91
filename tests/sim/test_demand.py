"""Tests of sim.traffic.demand and sim.traffic.vtypes (grid networks + one Đông Hà run)."""

from __future__ import annotations

import itertools
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import sumolib

from sim.traffic.demand import (
    busiest_hour_edge_pair_flows,
    edge_pair_flows_pcu_h,
    generate_demand,
    load_profile,
)
from sim.traffic.vtypes import load_vtypes, write_vtypes_xml

REPO = Path(__file__).resolve().parents[2]
SCEN = REPO / "scenarios" / "dongha"
VTYPES = SCEN / "vtypes.csv"
PROFILE = SCEN / "weekday_profile.csv"
ZONES = SCEN / "zones.yaml"
DONGHA_NET = SCEN / "net" / "dongha.net.xml"

GRID_ZONES = """\
daily_trips: 20000
trip_split: {internal: 0.8, external: 0.15, through: 0.05}
gravity: {decay_m: 800, intrazonal_factor: 0.3, min_through_distance_m: 1000}
wards:
  - {id: sw, x: 300, y: 300, radius_m: 350, population: 5000, activity: 1}
  - {id: ne, x: 1200, y: 1200, radius_m: 350, population: 3000, activity: 3}
  - {id: c, x: 750, y: 750, radius_m: 350, population: 4000, activity: 2}
gateways:
  - {id: west, x: -150, y: 750, radius_m: 400, weight: 0.5}
  - {id: east, x: 1650, y: 750, radius_m: 400, weight: 0.5}
"""


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 5 x 5 grid, 300 m blocks, 2 lanes, with 150 m boundary stubs, and zones in x/y."""
    d = tmp_path_factory.mktemp("grid")
    net = d / "grid.net.xml"
    subprocess.run(
        [
            sumolib.checkBinary("netgenerate"),
            "--grid",
            "--grid.number",
            "5",
            "--grid.length",
            "300",
            "--grid.attach-length",
            "150",
            "-L",
            "2",
            "-o",
            str(net),
        ],
        check=True,
        capture_output=True,
    )
    zones = d / "zones.yaml"
    zones.write_text(GRID_ZONES, encoding="utf-8")
    return {"dir": d, "net": net, "zones": zones}


def _gen(grid: dict[str, Path], out: Path, seed: int, **kw: float):
    args = {"begin_s": 0.0, "end_s": 3600.0, "day_offset_s": 23400.0, **kw}
    return generate_demand(
        grid["net"],
        out,
        seed=seed,
        zones_yaml=grid["zones"],
        vtypes_csv=VTYPES,
        profile_csv=PROFILE,
        **args,
    )


@pytest.fixture(scope="module")
def demand_a(grid: dict[str, Path]):
    return _gen(grid, grid["dir"] / "a", seed=7)


def test_same_seed_identical_different_seed_differs(grid, demand_a) -> None:
    b = _gen(grid, grid["dir"] / "b", seed=7)
    c = _gen(grid, grid["dir"] / "c", seed=8)
    assert demand_a.routes_file.read_bytes() == b.routes_file.read_bytes()
    assert demand_a.vtypes_file.read_bytes() == b.vtypes_file.read_bytes()
    assert demand_a.routes_file.read_bytes() != c.routes_file.read_bytes()
    assert demand_a.n_routed > 1000


def test_routes_are_connected_and_nothing_dropped(grid, demand_a) -> None:
    net = sumolib.net.readNet(str(grid["net"]))
    n = 0
    for veh in ET.parse(demand_a.routes_file).getroot().iter("vehicle"):
        edges = veh.find("route").get("edges").split()
        for a, b in itertools.pairwise(edges):
            assert net.getEdge(b) in net.getEdge(a).getOutgoing(), (veh.get("id"), a, b)
        n += 1
    assert n == demand_a.n_routed == demand_a.n_requested
    assert demand_a.n_dropped == 0


def test_class_shares_match_table(grid) -> None:
    res = _gen(grid, grid["dir"] / "shares", seed=3, end_s=3 * 3600.0, daily_trips=100000)
    vts = load_vtypes(VTYPES)
    n = res.n_requested
    assert n > 15000
    for v in vts:
        got = res.requested_by_class[v.id] / n
        sd = np.sqrt(v.share * (1 - v.share) / n)
        assert abs(got - v.share) < 4 * sd + 1e-3, (v.id, got, v.share)
    assert sum(res.requested_by_class.values()) == n


def test_departures_follow_profile(grid) -> None:
    # sim 0 = 00:00; 24 h window, count trips by hour of day
    res = _gen(
        grid, grid["dir"] / "day", seed=11, end_s=86400.0, day_offset_s=0.0, daily_trips=20000
    )
    dep = np.array(
        [float(v.get("depart")) for v in ET.parse(res.trips_file).getroot().iter("trip")]
    )
    counts = np.bincount((dep // 3600).astype(int), minlength=24)
    prof = load_profile(PROFILE)
    assert abs(len(dep) - 20000) < 5 * np.sqrt(20000)
    expected = np.array(
        [prof.expected_trips(h * 3600, (h + 1) * 3600, 0.0, 20000) for h in range(24)]
    )
    assert abs(expected.sum() - 20000) < 1.0
    # each hour within 5 sigma of its Poisson expectation
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 3), (counts, expected)
    # peak (07-08) vs off-peak (10-11): ratio close to the profile's factor ratio
    ratio = counts[7] / counts[10]
    assert ratio == pytest.approx(prof.shares[7] / prof.shares[10], rel=0.25)
    assert counts[7] > 1.5 * counts[10] and counts[2] < 0.1 * counts[7]


def test_day_offset_maps_sim_time_to_time_of_day(grid) -> None:
    prof = load_profile(PROFILE)
    # 1 h from 07:00 in sim time 0..3600 == 1 h from sim 25200 with offset 0
    a = prof.expected_trips(0, 3600, 25200, 50000)
    b = prof.expected_trips(25200, 28800, 0, 50000)
    assert a == pytest.approx(b)
    night = prof.expected_trips(0, 3600, 2 * 3600, 50000)
    assert a > 10 * night


def test_vtypes_xml_loads_in_sumo(grid, demand_a, tmp_path: Path) -> None:
    log = tmp_path / "sumo.log"
    proc = subprocess.run(
        [
            sumolib.checkBinary("sumo"),
            "-n",
            str(grid["net"]),
            "-a",
            str(demand_a.vtypes_file),
            "-r",
            str(demand_a.routes_file),
            "--lateral-resolution",
            "0.8",
            "--end",
            "300",
            "--no-step-log",
            "true",
            "--error-log",
            str(log),
            "--tripinfo-output",
            str(tmp_path / "ti.xml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Error" not in log.read_text()
    types = {t.get("vType") for t in ET.parse(tmp_path / "ti.xml").getroot().iter("tripinfo")}
    assert {"motorbike", "car"} <= types


def test_edge_pair_flow_helper_counts_pcu(tmp_path: Path) -> None:
    routes = tmp_path / "r.rou.xml"
    routes.write_text(
        """<routes>
  <route id="shared" edges="a b c"/>
  <vehicle id="m1" type="motorbike" depart="10"><route edges="a b c"/></vehicle>
  <vehicle id="m2" type="motorbike" depart="20"><route edges="a b"/></vehicle>
  <vehicle id="c1" type="car" depart="30" route="shared"/>
  <vehicle id="b1" type="bus" depart="1900"><route edges="x b c"/></vehicle>
  <vehicle id="late" type="car" depart="3600"><route edges="a b"/></vehicle>
</routes>
""",
        encoding="utf-8",
    )
    vts = load_vtypes(VTYPES)
    pcu = {v.id: v.pcu for v in vts}
    flows = edge_pair_flows_pcu_h(routes, vts, 0.0, 1800.0)
    assert flows == pytest.approx(
        {
            ("a", "b"): 2 * 2 * pcu["motorbike"] + 2 * pcu["car"],
            ("b", "c"): 2 * pcu["motorbike"] + 2 * pcu["car"],
        }
    )
    flows = edge_pair_flows_pcu_h(routes, {"motorbike": 0.3, "car": 1.0, "bus": 3.0}, 0, 3600)
    assert flows[("x", "b")] == pytest.approx(3.0)
    assert flows[("a", "b")] == pytest.approx(0.3 + 0.3 + 1.0)
    with pytest.raises(ValueError, match="no PCU"):
        edge_pair_flows_pcu_h(routes, {"car": 1.0}, 0, 3600)


def test_flow_helper_on_generated_demand(demand_a) -> None:
    flows = demand_a.edge_pair_flows_pcu_h(0.0, 3600.0)
    vts = {v.id: v for v in demand_a.vtypes}
    total_pairs_pcu = 0.0
    for veh in ET.parse(demand_a.routes_file).getroot().iter("vehicle"):
        n_edges = len(veh.find("route").get("edges").split())
        total_pairs_pcu += (n_edges - 1) * vts[veh.get("type")].pcu
    assert sum(flows.values()) == pytest.approx(total_pairs_pcu)


def _write_csv_with(tmp_path: Path, old: str, new: str) -> Path:
    text = VTYPES.read_text(encoding="utf-8")
    assert old in text
    p = tmp_path / "vtypes.csv"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


def test_bad_vtypes_row_names_file_row_and_hint(tmp_path: Path) -> None:
    bad = _write_csv_with(tmp_path, "car,passenger,0.11,1.00,4.50", "car,passenger,0.11,1.00,-4.5")
    with pytest.raises(ValueError, match=r"vtypes\.csv: row at line 3: column 'length'.*Hint"):
        load_vtypes(bad)
    bad = _write_csv_with(tmp_path, "car,passenger,", "car,hovercraft,")
    with pytest.raises(ValueError, match=r"line 3: unknown vClass 'hovercraft'.*Hint"):
        load_vtypes(bad)
    bad = _write_csv_with(tmp_path, "car,passenger,0.11,", "car,passenger,0.5,")
    with pytest.raises(ValueError, match=r"shares sum to .*Hint"):
        load_vtypes(bad)


def test_vtypes_table_is_sane(tmp_path: Path) -> None:
    vts = {v.id: v for v in load_vtypes(VTYPES)}
    assert 0.80 <= vts["motorbike"].share <= 0.85
    assert vts["motorbike"].vClass == "motorcycle"
    assert vts["motorbike"].pcu == pytest.approx(1 / 3.4, abs=0.01)
    assert vts["bus"].pcu == pytest.approx(3.1, abs=0.1)
    assert all(v.tau >= 1.0 for v in vts.values())  # Krauss with a 1 s step needs tau >= step
    assert all(v.source_why for v in vts.values())
    xml = write_vtypes_xml(list(vts.values()), tmp_path / "v.add.xml")
    root = ET.parse(xml).getroot()
    assert [t.get("id") for t in root.iter("vType")] == list(vts)


def test_zone_outside_network_is_a_clear_error(grid, tmp_path: Path) -> None:
    zones = tmp_path / "zones.yaml"
    zones.write_text(
        GRID_ZONES.replace("{id: ne, x: 1200, y: 1200", "{id: ne, x: 9000, y: 9000"),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"zones\.yaml: zone 'ne'.*outside the network.*Hint"):
        generate_demand(
            grid["net"],
            tmp_path / "o",
            begin_s=0,
            end_s=600,
            day_offset_s=0,
            seed=1,
            zones_yaml=zones,
            vtypes_csv=VTYPES,
            profile_csv=PROFILE,
        )


def test_dongha_network_morning_demand(tmp_path: Path) -> None:
    """The shipped zones/vtypes/profile on the real Đông Hà net: all zones resolve, few drops."""
    assert DONGHA_NET.exists(), "scenarios/dongha/net/dongha.net.xml must be built first"
    res = generate_demand(
        DONGHA_NET,
        tmp_path,
        begin_s=0,
        end_s=900,
        day_offset_s=23400,
        seed=5,
        zones_yaml=ZONES,
        vtypes_csv=VTYPES,
        profile_csv=PROFILE,
    )
    assert res.n_requested > 300
    assert res.n_dropped <= 0.01 * res.n_requested, res.n_dropped
    assert res.routed_by_class["motorbike"] > 0.7 * res.n_routed
    net = sumolib.net.readNet(str(DONGHA_NET))
    flows = res.edge_pair_flows_pcu_h(0, 900, net=net)
    assert flows and all(v > 0 for v in flows.values())
    proc = subprocess.run(  # quick SUMO smoke run on the real net
        [
            sumolib.checkBinary("sumo"),
            "-n",
            str(DONGHA_NET),
            "-a",
            str(res.vtypes_file),
            "-r",
            str(res.routes_file),
            "--lateral-resolution",
            "0.8",
            "--end",
            "120",
            "--no-step-log",
            "true",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_busiest_hour_matches_window_by_window(grid) -> None:
    """One pass over a 3 h demand finds the same hour and flows as re-reading per window."""
    demand = _gen(
        grid, grid["dir"] / "three_hours", seed=11, end_s=3 * 3600.0, day_offset_s=19800.0
    )
    net = sumolib.net.readNet(str(grid["net"]), withInternal=False)
    flows, start = busiest_hour_edge_pair_flows(
        demand.routes_file, demand.vtypes, 3 * 3600.0, net=net
    )
    windows = {
        s: edge_pair_flows_pcu_h(demand.routes_file, demand.vtypes, s, s + 3600.0, net=net)
        for s in np.arange(0.0, 2 * 3600.0 + 1.0, 900.0)
    }
    totals = {s: sum(f.values()) for s, f in windows.items()}
    expected_start = max(totals, key=lambda s: (totals[s], -s))
    assert start == expected_start
    assert flows.keys() == windows[expected_start].keys()
    for pair, value in flows.items():
        assert value == pytest.approx(windows[expected_start][pair], rel=1e-12)
    short, at = busiest_hour_edge_pair_flows(demand.routes_file, demand.vtypes, 1800.0, net=net)
    assert at == 0.0
    assert short == pytest.approx(
        edge_pair_flows_pcu_h(demand.routes_file, demand.vtypes, 0.0, 1800.0, net=net)
    )
    with pytest.raises(ValueError, match="divide 3600"):
        busiest_hour_edge_pair_flows(demand.routes_file, demand.vtypes, 7200.0, step_s=700.0)
