"""Tests of the Đông Hà network builder (sim/traffic/netbuild.py) and the committed net."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from sim.traffic.netbuild import NetBuildError, build_network, default_inputs, nets_equal

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
    centre = next(e.getID() for e in road if e.getName() == "Đường Lê Duẩn")
    scc = reach(centre, succ) & reach(centre, pred)
    assert len(scc) >= 0.9 * len(ids), f"SCC {len(scc)} of {len(ids)} road edges"


@pytest.mark.parametrize(
    "street",
    ["Lê Duẩn", "Hùng Vương", "Lê Lợi", "Trần Hưng Đạo", "Lê Thánh Tông", "Hàm Nghi",
     "Nguyễn Du", "Quốc lộ 9", "Điện Biên Phủ", "Cầu Đông Hà"],
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
        if any(e.getName() == "Hùng Vương" for e in edges) and any(
            e.allows("rail") for e in edges
        ):
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
        "signals:\n  - id: Foo_Bar\n    streets: [Lê Duẩn, Phố Không Có]\n"
        "    reason: test\n",
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
        build_network(tmp_path / "net", **BUILD_ARGS,
                      netconvert=str(tmp_path / "no-such-netconvert"))
