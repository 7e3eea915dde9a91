"""The Hùng Vương pole layout from the OSM extract (© OpenStreetMap contributors, ODbL)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from pyproj import Geod

from sim.lighting.layout import (
    DEFAULT_LAYOUT_CSV,
    DEFAULT_ROADS_GEOJSON,
    LayoutError,
    LayoutParams,
    build_layout,
    hung_vuong_layout,
    layout_csv_text,
    read_layout_csv,
    street_centreline,
)

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def layout():
    return hung_vuong_layout()


def _hv_parts() -> list[list[list[float]]]:
    data = json.loads(DEFAULT_ROADS_GEOJSON.read_text(encoding="utf-8"))
    out = []
    for f in data["features"]:
        if f["properties"].get("name") == "Hùng Vương":
            g = f["geometry"]
            out += [g["coordinates"]] if g["type"] == "LineString" else g["coordinates"]
    return out


def test_length_is_the_geodesic_length_of_the_centreline(layout):
    cl = layout.centreline
    geodesic = GEOD.line_length(cl.lon.tolist(), cl.lat.tolist())
    # planar UTM length exceeds the geodesic one by the zone's scale factor (~2e-4 here)
    assert layout.length_m == pytest.approx(geodesic, rel=1e-3)
    assert 1500.0 < layout.length_m < 3000.0


def test_length_matches_the_osm_carriageways_between_the_ends(layout):
    """Independently: each OSM carriageway clipped to the section's latitude band, measured
    with pyproj Geod, summed over both carriageways and halved (the bridge gap is ~1 %)."""
    lat_a, lat_b = float(layout.centreline.lat[0]), float(layout.centreline.lat[-1])
    lo, hi = min(lat_a, lat_b), max(lat_a, lat_b)
    total = 0.0
    for part in _hv_parts():
        for (x0, y0), (x1, y1) in itertools.pairwise(part):
            ya, yb = sorted((y0, y1))
            if yb <= lo or ya >= hi or ya == yb:
                continue
            t0 = (max(ya, lo) - y0) / (y1 - y0)
            t1 = (min(yb, hi) - y0) / (y1 - y0)
            pa = (x0 + t0 * (x1 - x0), y0 + t0 * (y1 - y0))
            pb = (x0 + t1 * (x1 - x0), y0 + t1 * (y1 - y0))
            total += GEOD.line_length([pa[0], pb[0]], [pa[1], pb[1]])
    assert layout.length_m == pytest.approx(total / 2.0, rel=0.03)


def test_ends_are_the_rail_crossing_and_the_ly_thuong_kiet_junction(layout):
    data = json.loads(DEFAULT_ROADS_GEOJSON.read_text(encoding="utf-8"))
    rail = [f for f in data["features"] if f["properties"]["kind"] == "rail"]
    rail_pts = [c for f in rail for part in f["geometry"]["coordinates"] for c in part]
    ltk = [f for f in data["features"] if f["properties"].get("name") == "Lý Thường Kiệt"]
    ltk_pts = [c for f in ltk for part in f["geometry"]["coordinates"] for c in part]
    cl = layout.centreline

    def nearest(lon, lat, pts):
        return min(GEOD.inv(lon, lat, p[0], p[1])[2] for p in pts)

    assert nearest(cl.lon[0], cl.lat[0], rail_pts) < 30.0
    assert nearest(cl.lon[-1], cl.lat[-1], ltk_pts) < 30.0
    assert "OpenStreetMap" in cl.source


def test_pole_spacing_sides_and_ids(layout):
    prm = layout.params
    for side in ("E", "W"):
        poles = [p for p in layout.poles if p.side == side]
        st = np.array([p.station_m for p in poles])
        assert [p.index for p in poles] == list(range(1, len(poles) + 1))
        assert [p.id for p in poles] == [f"HV-{side}{i:02d}" for i in range(1, len(poles) + 1)]
        gaps = np.diff(st)
        assert gaps.max() <= prm.spacing_m + 1e-6
        assert gaps.min() > 0.9 * prm.spacing_m
        assert st[0] == pytest.approx(prm.end_clearance_m, abs=1e-3)
        assert st[-1] == pytest.approx(layout.length_m - prm.end_clearance_m, abs=1e-2)
    e = [p for p in layout.poles if p.side == "E"]
    w = [p for p in layout.poles if p.side == "W"]
    assert [p.station_m for p in e] == [p.station_m for p in w]  # opposite arrangement
    assert all(p.offset_m > 0 for p in e) and all(p.offset_m < 0 for p in w)
    # E really is east of the road (Hùng Vương runs NNW-SSE)
    assert np.mean([p.x for p in e]) > np.mean([p.x for p in w])
    assert all(abs(p.head_offset_m) == pytest.approx(abs(p.offset_m) - prm.arm_m) for p in e + w)


def test_staggered_arrangement_shifts_one_side_by_half_a_spacing():
    cl = street_centreline()
    lay = build_layout(cl, LayoutParams(arrangement="staggered"))
    e = np.array([p.station_m for p in lay.poles if p.side == "E"])
    w = np.array([p.station_m for p in lay.poles if p.side == "W"])
    assert len(w) == len(e) - 1
    np.testing.assert_allclose(w - e[:-1], np.diff(e) / 2.0, atol=1e-3)


def test_cabinets_feed_contiguous_groups_of_15_to_25(layout):
    prm = layout.params
    seen: list[str] = []
    for k, c in enumerate(layout.cabinets):
        assert c.id == f"HV-C{k + 1}"
        assert prm.min_per_cabinet <= len(c.pole_ids) <= prm.max_per_cabinet
        st = [layout.pole(p).station_m for p in c.pole_ids]
        assert all(c.station_start_m <= s <= c.station_end_m for s in st)
        seen += c.pole_ids
    assert sorted(seen) == sorted(layout.pole_ids)
    assert layout.cabinets[0].station_start_m == 0.0
    assert layout.cabinets[-1].station_end_m == pytest.approx(layout.length_m)
    for a, b in zip(layout.cabinets, layout.cabinets[1:], strict=False):
        assert a.station_end_m == b.station_start_m
    for p in layout.poles:
        c = next(c for c in layout.cabinets if c.id == p.cabinet)
        assert p.id in c.pole_ids


def test_every_pole_stands_at_its_kerb_offset_from_the_centreline(layout):
    cs = layout.params.cross_section
    x = layout.pole_array("x")
    y = layout.pole_array("y")
    st, off = layout.centreline.project(x, y)
    np.testing.assert_allclose(np.abs(off), cs.pole_offset_m, atol=0.2)
    np.testing.assert_allclose(st, layout.pole_array("station_m"), atol=0.5)
    assert cs.pole_offset_m == pytest.approx(cs.kerb_offset_m + cs.kerb_setback_m)
    # lon/lat and UTM agree
    p = layout.poles[10]
    q = layout.poles[11]
    d_geo = GEOD.inv(p.lon, p.lat, q.lon, q.lat)[2]
    assert d_geo == pytest.approx(math.hypot(p.x - q.x, p.y - q.y), rel=1e-3)


def test_shipped_csv_is_the_generated_layout(layout):
    assert DEFAULT_LAYOUT_CSV.read_text(encoding="utf-8") == layout_csv_text(layout), (
        "regenerate with write_layout_csv(hung_vuong_layout())"
    )
    rows = read_layout_csv()
    assert sum(r["kind"] == "pole" for r in rows) == len(layout.poles)
    assert "OpenStreetMap contributors (ODbL)" in DEFAULT_LAYOUT_CSV.read_text(encoding="utf-8")


def test_missing_street_fails_loudly_with_a_hint(tmp_path: Path):
    with pytest.raises(LayoutError, match=r"no line named 'Đường Không Có'.*Hint"):
        street_centreline(DEFAULT_ROADS_GEOJSON, "Đường Không Có")
    with pytest.raises(LayoutError, match="does not exist"):
        street_centreline(tmp_path / "nope.geojson")


def test_without_railway_the_documented_crossing_is_used(tmp_path: Path):
    data = json.loads(DEFAULT_ROADS_GEOJSON.read_text(encoding="utf-8"))
    data["features"] = [f for f in data["features"] if f["properties"]["kind"] != "rail"]
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    cl = street_centreline(path)
    assert "documented coordinate" in cl.source
    assert cl.length_m == pytest.approx(street_centreline().length_m, abs=5.0)


def test_bad_parameters_name_the_key():
    with pytest.raises(LayoutError, match="spacing_m"):
        LayoutParams(spacing_m=5.0)
    with pytest.raises(LayoutError, match="arrangement"):
        LayoutParams(arrangement="zigzag")
