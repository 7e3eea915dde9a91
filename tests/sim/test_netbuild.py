"""Tests of the Đông Hà network builder (sim/traffic/netbuild.py) and the committed net."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from sim.traffic.netbuild import NetBuildError, build_network, default_inputs, nets_equal
from sim.traffic.osm_graph import (
    GraphEdge,
    GraphNode,
    RoadGraph,
    RoadLine,
    detect_carriageways,
    keep_strongly_connected,
)

REPO = Path(__file__).resolve().parents[2]
INPUTS = default_inputs(REPO)
NET = INPUTS["out_dir"] / "dongha.net.xml"
BUILD_ARGS = {k: v for k, v in INPUTS.items() if k != "out_dir"}


@functools.lru_cache(maxsize=1)
def _net():
    import sumolib

    return sumolib.net.readNet(str(NET), withInternal=False, withPrograms=True)


@functools.lru_cache(maxsize=1)
def _signal_ids() -> list[str]:
    import yaml

    data = yaml.safe_load(INPUTS["signals_yaml"].read_text(encoding="utf-8"))
    return [e["id"] for e in data["signals"]]


def test_rebuild_equals_committed_net(tmp_path: Path) -> None:
    report = build_network(tmp_path / "net", **BUILD_ARGS)
    assert nets_equal(tmp_path / "net" / "dongha.net.xml", NET), (
        "rebuilt net differs from the committed one: run `twin network build` and commit"
    )
    for name in ("dongha.nod.xml", "dongha.edg.xml", "dongha.typ.xml", "build_report.json"):
        assert (tmp_path / "net" / name).read_bytes() == (INPUTS["out_dir"] / name).read_bytes()
    assert report["tls_count"] >= 15


def test_nets_equal_detects_a_change(tmp_path: Path) -> None:
    copy = tmp_path / "copy.net.xml"
    text = NET.read_text(encoding="utf-8")
    copy.write_text(text.replace("<!--", "<!-- other date ", 1), encoding="utf-8")
    assert nets_equal(copy, NET)
    copy.write_text(text.replace('speed="16.67"', 'speed="16.68"', 1), encoding="utf-8")
    assert not nets_equal(copy, NET)


def test_every_signal_is_a_tls_and_at_least_15() -> None:
    # rail_crossing junctions show up as program-less TLS in sumolib: count only real signals
    tls_ids = {t.getID() for t in _net().getTrafficLights() if t.getPrograms()}
    assert len(tls_ids) >= 15
    assert len(_signal_ids()) >= 15
    missing = [s for s in _signal_ids() if s not in tls_ids]
    assert not missing, f"signals.yaml ids without a TLS in the net: {missing}"
    assert tls_ids == set(_signal_ids()), "TLS in the net that signals.yaml does not declare"


def test_largest_strongly_connected_component_holds_90_percent_of_road_edges() -> None:
    net = _net()
    road = [e for e in net.getEdges() if e.allows("passenger") or e.allows("motorcycle")]
    ids = {e.getID() for e in road}
    succ = {e.getID(): [o.getID() for o in e.getOutgoing() if o.getID() in ids] for e in road}
    pred: dict[str, list[str]] = {i: [] for i in ids}
    for a, outs in succ.items():
        for b in outs:
            pred[b].append(a)

    def reach(start: str, adj: dict[str, list[str]]) -> set[str]:
        seen, stack = {start}, [start]
        while stack:
            for nxt in adj[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    # the SCC of a central edge on Lê Duẩn
    centre = next(e.getID() for e in road if e.getName() in ("Lê Duẩn", "Đường Lê Duẩn"))
    scc = reach(centre, succ) & reach(centre, pred)
    assert len(scc) >= 0.9 * len(ids), f"SCC {len(scc)} of {len(ids)} road edges"


@pytest.mark.parametrize(
    "street",
    [
        "Lê Duẩn",
        "Hùng Vương",
        "Lê Lợi",
        "Trần Hưng Đạo",
        "Lê Thánh Tông",
        "Hàm Nghi",
        "Nguyễn Du",
        "Quốc lộ 9",
        "Điện Biên Phủ",
        "Cầu Đông Hà",
    ],
)
def test_named_street_present(street: str) -> None:
    names = {e.getName() for e in _net().getEdges()}
    assert any(n == street or n.endswith(" " + street) for n in names), street


def test_rail_crossing_on_hung_vuong() -> None:
    found = []
    for node in _net().getNodes():
        if node.getType() != "rail_crossing":
            continue
        edges = node.getIncoming() + node.getOutgoing()
        if any(e.getName() == "Hùng Vương" for e in edges) and any(e.allows("rail") for e in edges):
            found.append(node.getID())
    assert found, "no rail_crossing node joining the railway and Hùng Vương"


def test_city_centre_lonlat_lands_inside_the_net() -> None:
    net = _net()
    x, y = net.convertLonLat2XY(107.101, 16.817)
    (xmin, ymin), (xmax, ymax) = net.getBBoxXY()
    assert xmin < x < xmax and ymin < y < ymax
    lon, lat = net.convertXY2LonLat(x, y)
    assert abs(lon - 107.101) < 1e-6 and abs(lat - 16.817) < 1e-6
    # and it is in town: some edge within 300 m
    assert net.getNeighboringEdges(x, y, 300.0)


def test_bad_signal_street_gives_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "signals.yaml"
    bad.write_text(
        "signals:\n  - id: Foo_Bar\n    streets: [Lê Duẩn, Phố Không Có]\n    reason: test\n",
        encoding="utf-8",
    )
    args = dict(BUILD_ARGS, signals_yaml=bad)
    with pytest.raises(NetBuildError) as err:
        build_network(tmp_path / "net", **args)
    msg = str(err.value)
    assert isinstance(err.value, ValueError)
    assert str(bad) in msg and "Foo_Bar" in msg and "Phố Không Có" in msg and "Hint" in msg


def test_missing_input_file_gives_clear_error(tmp_path: Path) -> None:
    args = dict(BUILD_ARGS, road_classes_csv=tmp_path / "nope.csv")
    with pytest.raises(NetBuildError, match=r"nope\.csv"):
        build_network(tmp_path / "net", **args)


def test_missing_netconvert_gives_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NetBuildError, match="netconvert"):
        build_network(
            tmp_path / "net", **BUILD_ARGS, netconvert=str(tmp_path / "no-such-netconvert")
        )


# ------------------------------------------------------------ dual carriageways


def _report() -> dict:
    import json

    return json.loads((INPUTS["out_dir"] / "build_report.json").read_text(encoding="utf-8"))


def _is_oneway(edge) -> bool:
    """True if the edge has no reverse twin ("X" ↔ "-X", the builder's naming)."""
    eid = edge.getID()
    return not _net().hasEdge(eid[1:] if eid.startswith("-") else "-" + eid)


@pytest.mark.parametrize("street", ["Lê Duẩn", "Hùng Vương"])
def test_divided_roads_are_one_way_carriageways(street: str) -> None:
    edges = [e for e in _net().getEdges() if e.getName() in (street, "Đường " + street)]
    oneway = [e for e in edges if _is_oneway(e)]
    share = sum(e.getLength() for e in oneway) / sum(e.getLength() for e in edges)
    assert share >= 0.6, f"{street}: {share:.0%} of the length one-way"
    # both senses exist (two carriageways), not a one-way street
    headings = {round(e.getShape()[-1][1] - e.getShape()[0][1] > 0) for e in oneway}
    assert headings == {0, 1}


def test_oneway_report_figures() -> None:
    ow = _report()["oneway"]
    assert ow["oneway_km"] >= 40.0, ow["oneway_km"]
    assert ow["oneway_km"] <= ow["road_km"] / 2
    assert ow["km_by_method"]["paired"] >= 40.0


def test_carriageways_keep_right_hand_traffic() -> None:
    """Side by side, two one-way carriageways of one road run opposite ways."""
    import math

    from sumolib.geomhelper import polygonOffsetWithMinimumDistanceToPoint as offset_at
    from sumolib.geomhelper import positionAtShapeOffset as point_at

    def heading(shape, pos: float) -> tuple[float, float]:
        p, q = point_at(shape, max(0.0, pos - 1.0)), point_at(shape, pos + 1.0)
        n = math.dist(p, q) or 1.0
        return (q[0] - p[0]) / n, (q[1] - p[1]) / n

    net = _net()
    oneway = [
        e
        for e in net.getEdges()
        if e.getFunction() == "" and _is_oneway(e) and not e.allows("rail") and e.getLength() > 60.0
    ]
    checked = 0
    for a in oneway:
        sa = a.getShape()
        m = point_at(sa, a.getLength() / 2)
        ua = heading(sa, a.getLength() / 2)
        for b, _ in net.getNeighboringEdges(m[0], m[1], 40.0):
            if b is a or b not in oneway or b.getName() != a.getName():
                continue
            sb = b.getShape()
            pos = offset_at(m, sb)
            q = point_at(sb, pos)
            gap = math.dist(m, q)
            ub = heading(sb, pos)
            across = abs((q[0] - m[0]) * ua[0] + (q[1] - m[1]) * ua[1]) / (gap or 1.0)
            if gap < 3.0 or across > 0.5 or abs(ua[0] * ub[0] + ua[1] * ub[1]) < 0.94:
                continue
            assert ua[0] * ub[0] + ua[1] * ub[1] < 0, f"{a.getID()} and {b.getID()} run alike"
            # right-hand traffic: the other carriageway is on the LEFT of the travel direction
            left = ua[0] * (q[1] - m[1]) - ua[1] * (q[0] - m[0])
            assert left > 0, f"{a.getID()}: opposite carriageway {b.getID()} on its right"
            checked += 1
    assert checked >= 20, checked


def test_every_signal_is_one_junction_with_a_short_cycle() -> None:
    net = _net()
    for sid in _signal_ids():
        tls = net.getTLS(sid)
        nodes = {c[0].getEdge().getToNode().getID() for c in tls.getConnections()}
        assert len(nodes) == 1, f"{sid} controls {sorted(nodes)}"
        prog = next(iter(tls.getPrograms().values()))
        cycle = sum(p.duration for p in prog.getPhases())
        assert cycle <= 150, f"{sid}: default cycle {cycle} s"
        greens = [p for p in prog.getPhases() if "G" in p.state or "g" in p.state]
        assert greens, sid


def test_signal_on_one_carriageway_also_controls_the_other() -> None:
    # Lê Quý Đôn meets only the south-west carriageway of Lê Duẩn in the extract
    tls = _net().getTLS("LeDuan_LeQuyDon")
    incoming = {c[0].getEdge().getID() for c in tls.getConnections()}
    assert sum(1 for e in incoming if _net().getEdge(e).getName() == "Đường Lê Duẩn") >= 2


def _line(source: str, name: str | None, xy: list[tuple[float, float]]) -> RoadLine:
    return RoadLine(source, "road", "secondary", name, None, tuple(xy))


def _graph(edges: list[tuple[str, str, str, RoadLine]]) -> RoadGraph:
    nodes: dict[str, GraphNode] = {}
    out = []
    for eid, a, b, line in edges:
        nodes.setdefault(a, GraphNode(a, *line.xy[0], "junction"))
        nodes.setdefault(b, GraphNode(b, *line.xy[-1], "junction"))
        out.append(GraphEdge(eid, a, b, line, line.xy))
    return RoadGraph(nodes=nodes, edges=out)


def test_detect_carriageways_right_hand_rule() -> None:
    # two north-south carriageways 20 m apart, both digitised northwards
    west = _line("f0_0_0", "Test", [(0.0, 0.0), (0.0, 300.0)])
    east = _line("f0_1_0", "Test", [(20.0, 0.0), (20.0, 300.0)])
    other = _line("f1_0_0", "Other", [(40.0, 0.0), (40.0, 300.0)])  # different road
    g = _graph([("w", "a", "b", west), ("e", "c", "d", east), ("o", "x", "y", other)])
    found = detect_carriageways(g)
    # northbound traffic keeps the other carriageway on its left: the EAST line
    assert found["e"].direction == 1 and found["w"].direction == -1
    assert "o" not in found
    assert found["w"].partners == ("e",) and abs(found["w"].gap_m - 20.0) < 0.5
    assert detect_carriageways(g) == found  # deterministic


def test_detect_carriageways_leaves_a_middle_line_two_way() -> None:
    lines = [_line(f"f0_{k}_0", "Test", [(15.0 * k, 0.0), (15.0 * k, 300.0)]) for k in range(3)]
    g = _graph([(f"l{k}", f"a{k}", f"b{k}", ln) for k, ln in enumerate(lines)])
    assert detect_carriageways(g) == {}


def test_strongly_connected_check_reverts_stranding_one_way() -> None:
    # a pair whose ends never meet: each carriageway is a dead end
    west = _line("f0_0_0", "Test", [(0.0, 0.0), (0.0, 300.0)])
    east = _line("f0_1_0", "Test", [(20.0, 0.0), (20.0, 300.0)])
    link = _line("f1_0_0", "Link", [(0.0, 0.0), (20.0, 0.0)])
    g = _graph([("w", "a", "b", west), ("e", "c", "d", east), ("k", "a", "c", link)])
    found = detect_carriageways(g)
    kept, reverted = keep_strongly_connected(g, found)
    assert reverted == ["e", "w"] and kept == {}


def test_bad_override_selector_gives_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "oneway_overrides.csv"
    bad.write_text("selector,direction,why\ne_no_such_edge,forward,test\n", encoding="utf-8")
    with pytest.raises(NetBuildError, match="e_no_such_edge"):
        build_network(tmp_path / "net", **dict(BUILD_ARGS, oneway_overrides_csv=bad))
