"""Tests of sim.hydro.dem (Dem, GeoTIFF I/O), sim.hydro.dongha_dem and viz.dem_map.

The synthetic DEM is checked against the real OSM geometry it claims to follow (the Hiếu
centreline, QL1) and against the documented rules (plain ~3 m, hills in the south-west,
hotspot bowls, bank level between alert I and II at the gauge).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from sim.hydro.dem import Dem, DemError, load_geotiff, lonlat_to_utm, save_geotiff
from sim.hydro.dongha_dem import (
    ATTRIBUTION,
    CITY_CENTRE_LONLAT,
    DONGHA_BOUNDS_UTM,
    GAUGE_DONG_HA,
    HOTSPOTS,
    DemSources,
    gauge_cell,
    synthetic_dongha_dem,
)

SOURCES = DemSources.default()


@pytest.fixture(scope="module")
def dem() -> Dem:
    return synthetic_dongha_dem(cell_m=10.0, seed=0)


@pytest.fixture(scope="module")
def coarse_dem() -> Dem:
    return synthetic_dongha_dem(cell_m=50.0, seed=0)


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def _lines_utm(geom: dict) -> list[np.ndarray]:
    parts = [geom["coordinates"]] if geom["type"] == "LineString" else geom["coordinates"]
    out = []
    for part in parts:
        a = np.asarray(part, dtype=float)
        x, y = lonlat_to_utm(a[:, 0], a[:, 1])
        out.append(np.column_stack([x, y]))
    return out


def _resample(line: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step`` m along a polyline and the unit tangent at each."""
    pts, tans = [], []
    for a, b in itertools.pairwise(line):
        seg = b - a
        length = float(np.hypot(*seg))
        if length == 0:
            continue
        for s in np.arange(0.0, length, step):
            pts.append(a + seg * s / length)
            tans.append(seg / length)
    return np.asarray(pts), np.asarray(tans)


def _inside(dem: Dem, x: float, y: float, margin: float = 0.0) -> bool:
    xmin, ymin, xmax, ymax = dem.bounds
    return xmin + margin <= x < xmax - margin and ymin + margin <= y < ymax - margin


def _ring(dem: Dem, x: float, y: float, r_in: float, r_out: float) -> np.ndarray:
    """Elevations of the cells whose centres are r_in..r_out m from (x, y)."""
    xs, ys = dem.cell_centres()
    cs = (xs >= x - r_out) & (xs <= x + r_out)
    rs = (ys >= y - r_out) & (ys <= y + r_out)
    r = np.hypot(xs[cs][None, :] - x, ys[rs][:, None] - y)
    return dem.elevation[np.ix_(rs, cs)][(r >= r_in) & (r <= r_out)]


# ------------------------------------------------------------------------------ Dem


def test_dem_validates_and_maps_cells() -> None:
    z = np.arange(12, dtype=np.float64).reshape(3, 4)
    d = Dem(z, cell_m=10.0, x0=1000.0, y0=5000.0)
    assert d.shape == (3, 4)
    assert d.bounds == (1000.0, 4970.0, 1040.0, 5000.0)
    assert d.xy_of(0, 0) == (1005.0, 4995.0)
    assert d.xy_of(2, 3) == (1035.0, 4975.0)
    for row in range(3):
        for col in range(4):
            assert d.cell_of(*d.xy_of(row, col)) == (row, col)
    assert d.cell_of(1000.0, 5000.0) == (0, 0)  # upper-left corner belongs to cell (0, 0)
    assert d.sample(1035.0, 4975.0) == 11.0
    with pytest.raises(DemError, match="float64"):
        Dem(z.astype(np.float32), cell_m=10.0, x0=0.0, y0=0.0)
    with pytest.raises(DemError, match="non-finite"):
        Dem(np.full((2, 2), np.nan), cell_m=10.0, x0=0.0, y0=0.0)
    with pytest.raises(DemError, match="EPSG:32648"):
        Dem(z, cell_m=10.0, x0=0.0, y0=0.0, crs="EPSG:4326")


@pytest.mark.parametrize(
    ("x", "y"), [(999.9, 4990.0), (1040.0, 4990.0), (1010.0, 5000.1), (1010.0, 4970.0)]
)
def test_cell_of_outside_raises(x: float, y: float) -> None:
    d = Dem(np.zeros((3, 4)), cell_m=10.0, x0=1000.0, y0=5000.0)
    with pytest.raises(ValueError, match="outside the DEM"):
        d.cell_of(x, y)


def test_cell_of_hints_at_lonlat(dem: Dem) -> None:
    with pytest.raises(ValueError, match="lonlat_to_utm"):
        dem.cell_of(107.1, 16.82)


# ------------------------------------------------------------------- synthetic Đông Hà


def test_synthetic_extent_and_metadata(dem: Dem) -> None:
    assert dem.shape == (960, 1050)
    assert dem.cell_m == 10.0
    assert dem.crs == "EPSG:32648"
    assert dem.bounds == DONGHA_BOUNDS_UTM
    assert (dem.x0, dem.y0) == (DONGHA_BOUNDS_UTM[0], DONGHA_BOUNDS_UTM[3])
    assert "OpenStreetMap" in dem.attribution and "ODbL" in dem.attribution
    assert np.isfinite(dem.elevation).all()
    # the city centre and every hotspot and the gauge are inside, well away from the edges
    cx, cy = lonlat_to_utm(*CITY_CENTRE_LONLAT)
    points = [(float(cx), float(cy)), GAUGE_DONG_HA.xy, *(h.xy for h in HOTSPOTS)]
    for x, y in points:
        assert _inside(dem, x, y, margin=500.0)


def test_synthetic_is_deterministic_per_seed(coarse_dem: Dem) -> None:
    again = synthetic_dongha_dem(cell_m=50.0, seed=0)
    other = synthetic_dongha_dem(cell_m=50.0, seed=1)
    assert coarse_dem.shape == (192, 210)
    assert np.array_equal(coarse_dem.elevation, again.elevation)
    assert not np.array_equal(coarse_dem.elevation, other.elevation)
    # the seed changes the noise, not the documented structure
    assert abs(np.median(coarse_dem.elevation) - np.median(other.elevation)) < 0.3


def test_hieu_channel_follows_osm_centreline(dem: Dem) -> None:
    hieu = [
        f for f in _features(SOURCES.water_geojson) if f["properties"].get("name") == "Sông Hiếu"
    ]
    assert len(hieu) == 1
    checked = 0
    for line in _lines_utm(hieu[0]["geometry"]):
        pts, _ = _resample(line, 100.0)
        for x, y in pts:
            if not _inside(dem, x, y, margin=450.0):
                continue
            z = dem.sample(x, y)
            ring = _ring(dem, x, y, 350.0, 450.0)
            plain = np.median(ring[ring > 1.0])  # the land around (near the confluence the
            # ring is mostly the Thạch Hãn)
            assert z < 0.0, f"Hiếu centreline at ({x:.0f}, {y:.0f}) is {z:.2f} m, not below 0"
            assert z < plain - 3.5, f"channel {z:.2f} m not below the plain {plain:.2f} m"
            checked += 1
    assert checked >= 60  # ~9 km of river inside the box


def test_plain_is_around_3_m(dem: Dem) -> None:
    cx, cy = (float(v) for v in lonlat_to_utm(*CITY_CENTRE_LONLAT))
    urban = _ring(dem, cx, cy, 0.0, 3000.0)
    assert 2.0 <= np.median(urban) <= 4.0
    xs, _ys = dem.cell_centres()
    east = dem.elevation[:, xs > cx + 2000.0]
    east_land = east[east > 0.5]
    assert 2.0 <= np.median(east_land) <= 4.0


def _connected_below(z: np.ndarray, seed: tuple[int, int], level: float) -> np.ndarray:
    """Cells below ``level`` (m) 4-connected to ``seed``: where a river at that level reaches."""
    can = z < level
    wet = np.zeros(z.shape, dtype=bool)
    wet[seed] = bool(can[seed])
    while True:
        grown = wet.copy()
        grown[1:] |= wet[:-1]
        grown[:-1] |= wet[1:]
        grown[:, 1:] |= wet[:, :-1]
        grown[:, :-1] |= wet[:, 1:]
        grown &= can
        if np.array_equal(grown, wet):
            return wet
        wet = grown


def test_alert_levels_mean_something_at_the_gauge(dem: Dem) -> None:
    """Bankfull between alert I and II; alert III floods the plain around the gauge."""
    row, col = gauge_cell(dem)
    gx, gy = dem.xy_of(row, col)
    assert math.hypot(gx - GAUGE_DONG_HA.xy[0], gy - GAUGE_DONG_HA.xy[1]) < 250.0
    assert dem.elevation[row, col] < 0.0
    n = 200  # a 4 km x 4 km window centred on the gauge
    z = dem.elevation[row - n : row + n + 1, col - n : col + n + 1]
    alert1, alert2, alert3 = GAUGE_DONG_HA.alert_levels_m
    channel = _connected_below(z, (n, n), 0.0).sum()
    at1 = _connected_below(z, (n, n), alert1).sum()
    at2 = _connected_below(z, (n, n), alert2).sum()
    at3 = _connected_below(z, (n, n), alert3).sum()
    assert at1 < 1.5 * channel  # alert I: in the channel (bed and bank slopes)
    assert at2 > 3.0 * at1  # alert II: over the banks onto the floodplain
    assert at2 < 0.6 * z.size  # ... but not yet the whole plain
    assert at3 > 0.85 * z.size  # alert III: widespread


def test_hotspots_are_depressions(dem: Dem) -> None:
    keys = [h.key for h in HOTSPOTS]
    assert len(set(keys)) == len(keys)
    wanted = {"truong_chinh", "dai_an_below", "ward1", "ward2", "dong_le", "dong_luong"}
    assert wanted | {"dong_giang"} <= set(keys)
    for h in HOTSPOTS:
        assert 0.5 <= h.depth_m <= 1.5 and 100.0 <= h.radius_m <= 400.0
        x, y = h.xy
        centre = np.min(_ring(dem, x, y, 0.0, 30.0))
        ring = np.median(_ring(dem, x, y, 1.3 * h.radius_m, 1.8 * h.radius_m))
        assert centre < ring - 0.5, f"{h.key}: centre {centre:.2f} m vs ring {ring:.2f} m"
        assert centre > 0.5, f"{h.key} falls in a channel or lake ({centre:.2f} m)"


def test_hills_in_the_south_west_only(dem: Dem) -> None:
    xs, ys = dem.cell_centres()
    xmin, ymin, xmax, _ymax = dem.bounds
    sw = dem.elevation[np.ix_(ys < ymin + 4000.0, xs < xmin + 4000.0)]
    west = dem.elevation[:, xs < xmin + 1500.0]
    east = dem.elevation[:, xs > xmax - 3000.0]
    assert sw.max() > 50.0
    assert west.max() > 20.0
    assert east.max() < 10.0
    assert dem.elevation.max() <= 100.5
    assert dem.elevation.min() >= -3.05


def test_ql1_is_on_an_embankment(dem: Dem) -> None:
    ql1 = [
        f
        for f in _features(SOURCES.roads_geojson)
        if "QL.1" in str(f["properties"].get("ref"))
        and f["properties"].get("class") == "trunk"
        and not str(f["properties"].get("name") or "").startswith("Cầu")
    ]
    assert ql1
    diffs, higher = [], []
    for f in ql1:
        for line in _lines_utm(f["geometry"]):
            pts, tans = _resample(line, 50.0)
            for (x, y), (tx, ty) in zip(pts, tans, strict=True):
                if not _inside(dem, x, y, margin=150.0):
                    continue
                side = [dem.sample(x - ty * s, y + tx * s) for s in (-100.0, 100.0)]
                road = dem.sample(x, y)
                if min([*side, road]) < 1.0:  # a river or stream crossing
                    continue
                diffs.append(road - float(np.mean(side)))
                higher.append(road > max(side))
    assert len(diffs) > 100
    assert np.mean(higher) > 0.9
    assert 0.6 <= float(np.median(diffs)) <= 1.4


def test_synthetic_rejects_bad_cell_size() -> None:
    with pytest.raises(DemError, match="cell_m"):
        synthetic_dongha_dem(cell_m=0.5)


# --------------------------------------------------------------------------- GeoTIFF


def test_geotiff_round_trip_utm(coarse_dem: Dem, tmp_path: Path) -> None:
    import rasterio

    p64 = save_geotiff(coarse_dem, tmp_path / "d64.tif", dtype="float64")
    back = load_geotiff(p64, cell_m=coarse_dem.cell_m)
    assert back.shape == coarse_dem.shape
    assert (back.x0, back.y0) == (coarse_dem.x0, coarse_dem.y0)
    assert np.allclose(back.elevation, coarse_dem.elevation, atol=1e-9)
    assert back.filled is None
    assert back.attribution == ATTRIBUTION
    with rasterio.open(p64) as src:
        assert src.crs.to_epsg() == 32648
        assert "OpenStreetMap" in src.tags()["TIFFTAG_COPYRIGHT"]

    p32 = save_geotiff(coarse_dem, tmp_path / "d32.tif")
    back32 = load_geotiff(p32, cell_m=coarse_dem.cell_m)
    assert np.allclose(back32.elevation, coarse_dem.elevation, atol=1e-4)

    # clipping to UTM bounds gives the matching sub-array
    x0, y0 = coarse_dem.x0 + 1000.0, coarse_dem.y0 - 2000.0
    clip = load_geotiff(p64, cell_m=coarse_dem.cell_m, bounds=(x0, y0 - 1500.0, x0 + 2500.0, y0))
    assert clip.shape == (30, 50)
    assert np.allclose(clip.elevation, coarse_dem.elevation[40:70, 20:70], atol=1e-9)


def _write_lonlat_tif(path: Path, z: np.ndarray, lon0: float, lat0: float, res: float) -> None:
    import rasterio
    from rasterio.transform import Affine

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=z.shape[1],
        height=z.shape[0],
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=Affine(res, 0.0, lon0, 0.0, -res, lat0),
        nodata=-32768.0,
    ) as dst:
        dst.write(z.astype(np.float32), 1)


def _plane(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A plane in lon/lat: 5 m + 2000 m per degree east + 1000 m per degree north."""
    return 5.0 + 2000.0 * (lon - 107.08) + 1000.0 * (lat - 16.80)


def test_load_geotiff_reprojects_from_wgs84(tmp_path: Path) -> None:
    """A plane written in EPSG:4326 comes back right at known points in UTM 48N.

    Bilinear interpolation reproduces a plane exactly, so what is left is float32 storage
    (~1e-5 m) and GDAL's approximate coordinate transformer (measured ~1 mm here). The
    tolerance is 0.02 m: a half-pixel shift of the 55 m source pixels would be off by 0.25 m
    (north-south) to 0.5 m (east-west), swapped axes or a wrong CRS by metres to kilometres.
    """
    from sim.hydro.dem import utm_to_lonlat

    res, lon0, lat0 = 0.0005, 107.08, 16.83  # upper-left corner; 80 x 60 pixels
    cols, rows = 80, 60
    lon_c = lon0 + (np.arange(cols) + 0.5) * res
    lat_c = lat0 - (np.arange(rows) + 0.5) * res
    z = _plane(lon_c[None, :], lat_c[:, None])
    path = tmp_path / "plane_4326.tif"
    _write_lonlat_tif(path, z, lon0, lat0, res)

    xa, ya = lonlat_to_utm(107.085, 16.805)
    xb, yb = lonlat_to_utm(107.115, 16.825)
    dem = load_geotiff(path, cell_m=20.0, bounds=(float(xa), float(ya), float(xb), float(yb)))
    assert dem.filled is None
    assert dem.cell_m == 20.0 and dem.x0 % 20.0 == 0.0 and dem.y0 % 20.0 == 0.0
    for lon, lat in [(107.09, 16.81), (107.1, 16.82), (107.11, 16.812), (107.0875, 16.8234)]:
        x, y = lonlat_to_utm(lon, lat)
        row, col = dem.cell_of(float(x), float(y))
        clon, clat = utm_to_lonlat(*dem.xy_of(row, col))
        expected = float(_plane(clon, clat))
        assert dem.elevation[row, col] == pytest.approx(expected, abs=0.02)

    # the whole file, without bounds: every output cell inside the source footprint is right
    full = load_geotiff(path, cell_m=30.0)
    xs, ys = full.cell_centres()
    lon_g, lat_g = utm_to_lonlat(*np.meshgrid(xs, ys))
    inside = (lon_g > lon0 + res) & (lon_g < lon0 + (cols - 1) * res)
    inside &= (lat_g < lat0 - res) & (lat_g > lat0 - (rows - 1) * res)
    assert inside.mean() > 0.8
    err = np.abs(full.elevation - _plane(lon_g, lat_g))[inside]
    assert err.max() < 0.02
    assert full.filled is not None and full.filled.mean() < 0.15  # the rotated corners


def test_load_geotiff_fills_and_flags_gaps(tmp_path: Path) -> None:
    """A 550 m nodata hole in a plane is flagged and filled smoothly (within 0.5 m of the
    plane, which spans 15 m across the hole; the first-guess fill alone was 5 m off)."""
    from sim.hydro.dem import utm_to_lonlat

    res, lon0, lat0 = 0.0005, 107.08, 16.83
    lon_c = lon0 + (np.arange(80) + 0.5) * res
    lat_c = lat0 - (np.arange(60) + 0.5) * res
    z = _plane(lon_c[None, :], lat_c[:, None])
    z[25:35, 35:45] = -32768.0  # a ~550 m square hole of nodata
    path = tmp_path / "holes.tif"
    _write_lonlat_tif(path, z, lon0, lat0, res)
    xa, ya = lonlat_to_utm(107.085, 16.805)
    xb, yb = lonlat_to_utm(107.115, 16.825)
    dem = load_geotiff(path, cell_m=20.0, bounds=(float(xa), float(ya), float(xb), float(yb)))
    assert dem.filled is not None
    assert 300 < int(dem.filled.sum()) < 1500
    xs, ys = dem.cell_centres()
    lon_g, lat_g = utm_to_lonlat(*np.meshgrid(xs, ys))
    err = (dem.elevation - _plane(lon_g, lat_g))[dem.filled]
    assert np.abs(err).max() < 0.5
    assert np.isfinite(dem.elevation).all()


def test_load_geotiff_all_nodata_raises(tmp_path: Path) -> None:
    path = tmp_path / "empty.tif"
    _write_lonlat_tif(path, np.full((20, 20), -32768.0), 107.08, 16.83, 0.0005)
    with pytest.raises(DemError, match="nodata"):
        load_geotiff(path, cell_m=20.0)


def test_load_geotiff_rejects_bad_bounds(tmp_path: Path) -> None:
    path = tmp_path / "plane.tif"
    _write_lonlat_tif(path, np.ones((20, 20)), 107.08, 16.83, 0.0005)
    with pytest.raises(DemError, match="lon/lat"):
        load_geotiff(path, bounds=(107.0, 16.7, 107.2, 16.9))
    with pytest.raises(DemError, match="do not overlap"):
        load_geotiff(path, bounds=(600000.0, 1700000.0, 601000.0, 1701000.0))
    with pytest.raises(FileNotFoundError):
        load_geotiff(tmp_path / "missing.tif")


# ------------------------------------------------------------------------------- viz


def test_plot_dem_writes_png(coarse_dem: Dem, tmp_path: Path) -> None:
    from viz.dem_map import plot_dem

    out = plot_dem(
        coarse_dem, SOURCES.roads_geojson, SOURCES.water_geojson, tmp_path / "map" / "dem.png"
    )
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000


def test_geotiff_after_sumo_set_its_proj_data(coarse_dem: Dem, tmp_path: Path) -> None:
    """SUMO's wheels point PROJ_DATA at their older proj.db when imported first.

    In a fresh interpreter that imports libsumo before rasterio (the order of a coupled
    traffic + flood run), a GeoTIFF must still round-trip with its CRS resolved.
    """
    import subprocess
    import sys

    tif = save_geotiff(coarse_dem, tmp_path / "dem.tif")
    script = (
        "import os, libsumo\n"
        "assert os.environ.get('PROJ_DATA'), 'libsumo no longer sets PROJ_DATA'\n"
        "from sim.hydro.dem import load_geotiff, save_geotiff\n"
        f"dem = load_geotiff({str(tif)!r}, cell_m={coarse_dem.cell_m})\n"
        f"save_geotiff(dem, {str(tmp_path / 'again.tif')!r})\n"
        "print(dem.shape)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str(coarse_dem.shape)
