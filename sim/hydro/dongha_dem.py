"""A documented synthetic DEM of Đông Hà, aligned with the real OpenStreetMap geometry.

Geometry © OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright):
rivers, lakes and roads come from ``scenarios/dongha/osm/dongha_{water,roads}_osm.geojson``.
The elevations are **synthetic**: no public DEM is at hand offline, so the terrain is built from
documented rules that respect that geometry and the published facts of the city (DOMAIN.md,
"Flood facts"). Load a real DEM with :func:`sim.hydro.dem.load_geotiff` when one is available.

Frame: EPSG:32648 (UTM 48N), m; elevations in m above the national datum (Hòn Dấu ≈ mean
sea level), the datum the Đông Hà gauge's alert levels (2.0 / 3.0 / 4.0 m) are assumed to use.

Extent (:data:`DONGHA_BOUNDS_UTM`): x 718 000–728 500 m, y 1 855 400–1 865 000 m, i.e. about
lon 107.045–107.145 E, lat 16.770–16.858 N. It holds the urban wards on both banks, the Hiếu from
the Cam Lộ side (west edge) to its confluence with the Thạch Hãn (east), Đông Giang on the north
bank, Đông Lương to the south-east and the first hills to the south-west. At 10 m: 960 rows x
1050 columns.

How the surface is built (numbers in :class:`DemParams`):

1. **Plain**: 3.4 m at the city centre (16.817 N, 107.101 E), falling 0.15 m/km eastwards and
   0.12 m/km northwards (higher to the south and west: ~2.7 m at the east edge, ~3.8 m 3 km
   south), with ±0.15 m of smooth relief (wavelengths 0.8–3 km). After step 2 the median of the
   land within 3 km of the centre is ~3.2 m.
2. **Floodplain**: towards the Hiếu and the Thạch Hãn the plain sinks to the bank level with an
   e-folding distance of 400 m.
3. **Hills** to the west and south-west: 0 m at 2 km south-west of the centre (a front bent by
   ±0.6 km of smooth noise), rising smoothly (smoothstep) to ~100 m at 8 km (the south-west
   corner), lowered by up to 30 % and ridged (±6 m) by seeded noise, relief capped at 100 m, kept
   off the Hiếu valley floor (a Gaussian taper of 800 m around the rivers).
4. **Flood hotspots** (:data:`HOTSPOTS`): bowls 0.8–1.2 m deep, 180–350 m in radius.
5. **Road embankments** (not on bridges "Cầu …", which must leave the water way open):
   trunk (QL1 as Lê Duẩn / Quốc lộ 1, QL9, the eastern bypass "Đường tránh phía đông") +1.0 m;
   motorway (Cam Lộ – La Sơn expressway) +1.0 m; primary (Điện Biên Phủ, "Quốc lộ 9 cũ",
   QL9C) +0.7 m; the North–South railway +0.8 m. National roads and the railway are built on
   fill across the plain and act as low dykes in floods; secondary and tertiary streets are
   kept at grade (houses line them at street level). Flat crest 7.5 m each side of the axis,
   side slopes to 20 m.
6. **Lakes and reservoirs** (Hồ Khe Mây, the unnamed OSM pond 1–1.5 km south-west of Cầu Đại An
   taken to be Đại An lake, a pond north of QL9): flat-bottomed basins 3 m (reservoirs) or 1.5 m
   (other water) below their rim (10th percentile of the ground in a 30 m ring outside).
7. **Streams and canals** (every other OSM river/canal line): 1.5 m (streams) or 1.2 m (canals)
   below the ground, 7.5 m core half-width and 10 m sloping banks; they cut through road
   embankments (culverts).
8. **The Hiếu and the Thạch Hãn**: every OSM river polygon and the two centrelines are carved
   as the channel. Bank top 2.5 m at the west edge to 2.1 m at the east edge (≈2.3 m at the
   gauge: bankfull between alert I and II), bed -2.0 m to -3.0 m, reached 30 m in from the
   bank (or 15 m either side of a centreline).

What the gauge levels then mean (share of the land within 3 km of the centre that lies below
the level and is connected to the river at the gauge — a static "bathtub" fill, which overstates
what a finite flood volume does): alert I 2.0 m: 1 % (the channel banks only); 2.5 m: 7 %;
alert II 3.0 m: 29 % (the floodplain by the river, Đông Giang, the eastern fields); 3.5 m: 59 %;
alert III 4.0 m: 93 % (widespread); the 2020 peak 5.36 m: 97 % (all but embankments and hills).

Everything random comes from one ``numpy.random.Generator`` seeded with ``seed``; the same
seed and inputs give the same array bit for bit. Generation takes ~1.5–3 s at 10 m
(1.0 M cells) on one core.

Approximate on purpose (see each entry's ``note``): the hotspot centres (the city names the
zones, not coordinates), the Đông Hà gauge position, which OSM pond is Đại An lake. The OSM
"Trường Chinh" (lon 107.157–107.166, lat 16.770–16.779) lies beyond Cầu Ái Tử in Ái Tử town
(Triệu Phong), 6 km south-east of the centre and outside this DEM; the Đông Hà street that
flooded ~1 m deep in 2020 is not in the extract, so its hotspot is placed from an approximate
coordinate in Đông Lương.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.hydro.dem import Dem, DemError, lonlat_to_utm

__all__ = [
    "ATTRIBUTION",
    "CITY_CENTRE_LONLAT",
    "DONGHA_BOUNDS_LONLAT",
    "DONGHA_BOUNDS_UTM",
    "GAUGE_DONG_HA",
    "HOTSPOTS",
    "DemParams",
    "DemSources",
    "GaugeSite",
    "Hotspot",
    "gauge_cell",
    "synthetic_dongha_dem",
]

ATTRIBUTION = (
    "Synthetic elevations (Đông Hà Twin); river, lake and road geometry "
    "© OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright)"
)
DONGHA_BOUNDS_UTM: tuple[float, float, float, float] = (718000.0, 1855400.0, 728500.0, 1865000.0)
"""``(xmin, ymin, xmax, ymax)`` of the synthetic DEM, m, EPSG:32648."""
DONGHA_BOUNDS_LONLAT: tuple[float, float, float, float] = (107.045, 16.770, 107.145, 16.858)
"""The same box in WGS84 degrees ``(lon_min, lat_min, lon_max, lat_max)``, rounded outwards."""
CITY_CENTRE_LONLAT = (107.101, 16.817)
"""The city centre (lon, lat degrees) the plain trend and the hill front are measured from."""

Array = NDArray[np.float64]
Line = NDArray[np.float64]  # (n, 2) x, y in m


@dataclass(frozen=True)
class Hotspot:
    """A chronically flooding low spot, modelled as a bowl in the synthetic DEM.

    ``lon``/``lat`` WGS84 degrees (centre); ``depth_m`` below the surrounding ground at the
    centre; ``radius_m`` of the bowl (it is smooth: cosine profile to 0 at the radius).
    """

    key: str
    name: str
    ward: str
    lon: float
    lat: float
    depth_m: float
    radius_m: float
    note: str

    @property
    def xy(self) -> tuple[float, float]:
        """Centre in EPSG:32648, m."""
        x, y = lonlat_to_utm(self.lon, self.lat)
        return float(x), float(y)


HOTSPOTS: tuple[Hotspot, ...] = (
    Hotspot(
        "truong_chinh",
        "Trường Chinh street",
        "Đông Lương",
        107.1195,
        16.8005,
        1.2,
        200.0,
        "flooded ~1 m deep and barricaded in Oct 2020; the street is not in the OSM extract "
        "(the OSM 'Trường Chinh' is in Ái Tử, outside the DEM): position approximate",
    ),
    Hotspot(
        "dai_an_below",
        "below Đại An lake",
        "Phường 5 / Đông Lương",
        107.1045,
        16.8038,
        1.0,
        200.0,
        "one of the city's 13 flooding zones, downstream of the lake towards Cầu Đại An; "
        "position approximate",
    ),
    Hotspot(
        "ward1",
        "Phường 1 (Nguyễn Huệ – Trần Hưng Đạo)",
        "Phường 1",
        107.0950,
        16.8185,
        0.8,
        180.0,
        "flooding zone of ward 1 by Nguyễn Huệ (a street that flooded in 2020); approximate",
    ),
    Hotspot(
        "ward2",
        "Phường 2 (Lê Lợi)",
        "Phường 2",
        107.1096,
        16.8093,
        0.8,
        180.0,
        "flooding zone of ward 2 along Lê Lợi (flooded in 2020); approximate",
    ),
    Hotspot(
        "dong_le",
        "Đông Lễ",
        "Đông Lễ",
        107.1180,
        16.8200,
        1.0,
        250.0,
        "flooding zone of Đông Lễ between Lê Lợi and the Hiếu; approximate",
    ),
    Hotspot(
        "dong_luong",
        "Đông Lương",
        "Đông Lương",
        107.1250,
        16.7925,
        1.0,
        250.0,
        "flooding zone of Đông Lương south of QL1; approximate",
    ),
    Hotspot(
        "dong_giang",
        "Đông Giang (north bank)",
        "Đông Giang",
        107.1120,
        16.8440,
        1.0,
        350.0,
        "low-lying north-bank ward that flooded widely in Oct 2020; approximate",
    ),
)
"""The flood hotspots carved into the synthetic DEM (also candidate warning points)."""


@dataclass(frozen=True)
class GaugeSite:
    """A river level station: position (WGS84 degrees) and alert levels I/II/III (m, datum)."""

    key: str
    name: str
    river: str
    lon: float
    lat: float
    alert_levels_m: tuple[float, float, float]
    note: str

    @property
    def xy(self) -> tuple[float, float]:
        """Position in EPSG:32648, m."""
        x, y = lonlat_to_utm(self.lon, self.lat)
        return float(x), float(y)


GAUGE_DONG_HA = GaugeSite(
    "dong_ha",
    "Đông Hà hydrological station",
    "Sông Hiếu",
    107.1016,
    16.8259,
    (2.0, 3.0, 4.0),
    "on the south bank just downstream of Cầu Đông Hà (QL1) by the city centre; the position "
    "is approximate (not surveyed), the alert levels are the official ones; record 5.36 m on "
    "18 Oct 2020",
)


@dataclass(frozen=True)
class DemSources:
    """The OSM input files (GeoJSON, [lon, lat] WGS84) the synthetic DEM follows."""

    water_geojson: Path
    roads_geojson: Path

    @classmethod
    def default(cls, repo_root: str | Path | None = None) -> DemSources:
        """The committed extract under ``<repo_root>/scenarios/dongha/osm/``.

        ``repo_root`` defaults to the checkout holding this module. Raises
        FileNotFoundError with a hint when a file is missing.
        """
        root = Path(repo_root) if repo_root is not None else Path(__file__).resolve().parents[2]
        base = root / "scenarios" / "dongha" / "osm"
        src = cls(base / "dongha_water_osm.geojson", base / "dongha_roads_osm.geojson")
        for p in (src.water_geojson, src.roads_geojson):
            if not p.exists():
                raise FileNotFoundError(
                    f"{p} is missing: pass DemSources(water_geojson=..., roads_geojson=...) "
                    "pointing at the Đông Hà OSM extract"
                )
        return src


@dataclass(frozen=True)
class DemParams:
    """The knobs of :func:`synthetic_dongha_dem` (lengths in m unless named _km; levels in m).

    Plain: ``plain_m`` at the city centre, trends in m per km east/north, ``plain_relief_m``
    amplitude of smooth noise. Rivers: ``rim_*`` bank top and ``bed_*`` channel bed at the
    west/east edges (linear in between), ``bank_ramp_m`` from bank to bed, ``centreline_core_m``
    half-width carved to the bed along centrelines, ``floodplain_decay_m`` e-folding of the rise
    from bank to plain. Streams/canals: depth below ground, core half-width, bank width.
    Lakes: depth below rim, ramp from shore. Hills: ``hill_max_m``, 0 at ``hill_front_km`` and
    full at ``hill_full_km`` south-west of the centre (that line bent by up to
    ``hill_front_wobble_km``), ``hill_variation`` fraction of height taken off by noise,
    ``hill_ridge_m`` ridge amplitude, ``hill_valley_m`` taper around the rivers.
    Embankments: height per road class, crest half-width and toe distance from the axis.
    """

    plain_m: float = 3.4
    trend_east_m_per_km: float = -0.15
    trend_north_m_per_km: float = -0.12
    plain_relief_m: float = 0.15
    rim_west_m: float = 2.5
    rim_east_m: float = 2.1
    bed_west_m: float = -2.0
    bed_east_m: float = -3.0
    bank_ramp_m: float = 30.0
    centreline_core_m: float = 15.0
    floodplain_decay_m: float = 400.0
    stream_depth_m: float = 1.5
    canal_depth_m: float = 1.2
    stream_core_m: float = 7.5
    stream_bank_m: float = 10.0
    reservoir_depth_m: float = 3.0
    pond_depth_m: float = 1.5
    lake_ramp_m: float = 30.0
    hill_max_m: float = 100.0
    hill_front_km: float = 2.0
    hill_full_km: float = 8.0
    hill_variation: float = 0.3
    hill_ridge_m: float = 6.0
    hill_valley_m: float = 800.0
    hill_front_wobble_km: float = 0.6
    embankment_m: tuple[tuple[str, float], ...] = (
        ("trunk", 1.0),
        ("motorway", 1.0),
        ("primary", 0.7),
        ("rail", 0.8),
    )
    embankment_crest_m: float = 7.5
    embankment_toe_m: float = 20.0


# ------------------------------------------------------------------------ geometry helpers


@dataclass(frozen=True)
class _Grid:
    """Regular points: x = xs0 + i·step (i < nx, eastwards), y = ys0 - j·step (j < ny)."""

    xs0: float
    ys0: float
    step: float
    nx: int
    ny: int

    @property
    def xs(self) -> Array:
        return self.xs0 + np.arange(self.nx, dtype=np.float64) * self.step

    @property
    def ys(self) -> Array:
        return self.ys0 - np.arange(self.ny, dtype=np.float64) * self.step

    def window(self, xa: float, xb: float, ya: float, yb: float) -> tuple[slice, slice] | None:
        """Row and column slices of the points with xa <= x <= xb, ya <= y <= yb (or None)."""
        c0 = max(0, math.ceil((xa - self.xs0) / self.step))
        c1 = min(self.nx, math.floor((xb - self.xs0) / self.step) + 1)
        r0 = max(0, math.ceil((self.ys0 - yb) / self.step))
        r1 = min(self.ny, math.floor((self.ys0 - ya) / self.step) + 1)
        if c1 <= c0 or r1 <= r0:
            return None
        return slice(r0, r1), slice(c0, c1)


@dataclass(frozen=True)
class _Feature:
    props: dict[str, Any]
    lines: tuple[Line, ...]  # line strings, or polygon rings (first = outer of each polygon)
    polygons: tuple[tuple[Line, tuple[Line, ...]], ...]  # (outer, holes)


def _load_features(path: Path) -> list[_Feature]:
    """Read a GeoJSON FeatureCollection and project every coordinate to EPSG:32648."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: check DemSources") from None
    if data.get("type") != "FeatureCollection":
        raise DemError(f"{path}: expected a GeoJSON FeatureCollection, got {data.get('type')!r}")
    raw: list[tuple[dict[str, Any], list[Any], list[tuple[Any, list[Any]]]]] = []
    flat: list[Any] = []
    for i, feat in enumerate(data.get("features", [])):
        geom = feat.get("geometry") or {}
        gtype: Any = geom.get("type")
        coords: Any = geom.get("coordinates")
        lines: list[Any] = []
        polys: list[tuple[Any, list[Any]]] = []
        if gtype == "LineString":
            lines = [coords]
        elif gtype == "MultiLineString":
            lines = list(coords)
        elif gtype == "Polygon":
            polys = [(coords[0], list(coords[1:]))]
        elif gtype == "MultiPolygon":
            polys = [(p[0], list(p[1:])) for p in coords]
        elif gtype in ("Point", "MultiPoint"):
            continue
        else:
            raise DemError(f"{path}: feature {i} has unsupported geometry {gtype!r}")
        for part in lines:
            flat.extend(part)
        for outer, holes in polys:
            flat.extend(outer)
            for h in holes:
                flat.extend(h)
        raw.append((dict(feat.get("properties") or {}), lines, polys))
    if not flat:
        raise DemError(f"{path}: no line or polygon geometry found")
    ll = np.asarray(flat, dtype=np.float64)
    x, y = lonlat_to_utm(ll[:, 0], ll[:, 1])
    xy = np.column_stack([x, y])
    pos = 0

    def take(part: Sequence[Any]) -> Line:
        nonlocal pos
        out = xy[pos : pos + len(part)]
        pos += len(part)
        return out

    feats: list[_Feature] = []
    for props, lines, polys in raw:
        line_xy = tuple(take(part) for part in lines)
        poly_xy = []
        for outer, holes in polys:
            o = take(outer)
            poly_xy.append((o, tuple(take(h) for h in holes)))
        rings = tuple(r for o, hs in poly_xy for r in (o, *hs))
        feats.append(_Feature(props, line_xy + rings, tuple(poly_xy)))
    return feats


def _dist_to_lines(lines: Sequence[Line], grid: _Grid, max_d: float) -> Array:
    """Distance (m) from each grid point to the nearest polyline segment; inf beyond max_d."""
    out = np.full((grid.ny, grid.nx), np.inf)
    xs, ys = grid.xs, grid.ys
    for line in lines:
        for k in range(len(line) - 1):
            ax, ay = line[k]
            bx, by = line[k + 1]
            win = grid.window(
                min(ax, bx) - max_d, max(ax, bx) + max_d, min(ay, by) - max_d, max(ay, by) + max_d
            )
            if win is None:
                continue
            rs, cs = win
            gx = xs[cs][None, :] - ax
            gy = ys[rs][:, None] - ay
            dx, dy = bx - ax, by - ay
            seg2 = dx * dx + dy * dy
            t = np.clip((gx * dx + gy * dy) / seg2, 0.0, 1.0) if seg2 > 0 else 0.0
            d = np.hypot(gx - t * dx, gy - t * dy)
            np.minimum(out[rs, cs], d, out=out[rs, cs])
    return out


def _polygon_mask(outer: Line, holes: Sequence[Line], grid: _Grid) -> NDArray[np.bool_]:
    """True at grid points inside ``outer`` and outside every hole."""
    from matplotlib.path import Path as MplPath

    mask = np.zeros((grid.ny, grid.nx), dtype=bool)
    win = grid.window(outer[:, 0].min(), outer[:, 0].max(), outer[:, 1].min(), outer[:, 1].max())
    if win is None:
        return mask
    rs, cs = win
    gx, gy = np.meshgrid(grid.xs[cs], grid.ys[rs])
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    inside = MplPath(outer).contains_points(pts)
    for hole in holes:
        inside &= ~MplPath(hole).contains_points(pts)
    mask[rs, cs] = inside.reshape(gx.shape)
    return mask


def _upsample(coarse: Array, cg: _Grid, fine: _Grid) -> Array:
    """Bilinear interpolation of ``coarse`` (on points ``cg``) at the points of ``fine``."""
    fx = (fine.xs - cg.xs0) / cg.step
    fy = (cg.ys0 - fine.ys) / cg.step
    ix = np.clip(np.floor(fx).astype(np.int64), 0, cg.nx - 2)
    iy = np.clip(np.floor(fy).astype(np.int64), 0, cg.ny - 2)
    wx = np.clip(fx - ix, 0.0, 1.0)[None, :]
    wy = np.clip(fy - iy, 0.0, 1.0)[:, None]
    top = coarse[iy][:, ix] * (1 - wx) + coarse[iy][:, ix + 1] * wx
    bot = coarse[iy + 1][:, ix] * (1 - wx) + coarse[iy + 1][:, ix + 1] * wx
    return np.asarray(top * (1 - wy) + bot * wy, dtype=np.float64)


def _smooth_noise(
    rng: np.random.Generator, grid: _Grid, wavelengths_m: tuple[float, float], n: int = 16
) -> Array:
    """Sum of ``n`` random plane waves (wavelengths in the given range), scaled to max |1|."""
    x = grid.xs[None, :]
    y = grid.ys[:, None]
    out = np.zeros((grid.ny, grid.nx))
    lo, hi = wavelengths_m
    for _ in range(n):
        lam = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        theta = rng.uniform(0.0, math.pi)
        phase = rng.uniform(0.0, 2 * math.pi)
        amp = rng.uniform(0.5, 1.0) * (lam / hi) ** 0.5
        kx, ky = 2 * math.pi * math.cos(theta) / lam, 2 * math.pi * math.sin(theta) / lam
        out += amp * np.cos((kx * x + phase) + ky * y)
    peak = float(np.abs(out).max())
    return out / peak if peak > 0 else out


def _lerp_east(x: Array, west: float, east: float, xmin: float, xmax: float) -> Array:
    """Linear west→east ramp of a level (m) over the DEM's width."""
    return west + (east - west) * np.clip((x - xmin) / (xmax - xmin), 0.0, 1.0)


# ----------------------------------------------------------------------------- the DEM


@dataclass(frozen=True)
class _Water:
    big_polys: list[tuple[Line, tuple[Line, ...]]]
    big_lines: list[Line]
    streams: list[tuple[Line, float]]  # (line, depth m)
    lakes: list[tuple[Line, tuple[Line, ...], float]]  # (outer, holes, depth m)


def _classify_water(feats: list[_Feature], p: DemParams) -> _Water:
    big_polys: list[tuple[Line, tuple[Line, ...]]] = []
    big_lines: list[Line] = []
    streams: list[tuple[Line, float]] = []
    lakes: list[tuple[Line, tuple[Line, ...], float]] = []
    for f in feats:
        cls, name = f.props.get("class"), f.props.get("name") or ""
        if f.polygons:
            if cls == "river":
                big_polys.extend(f.polygons)
            else:
                depth = p.reservoir_depth_m if cls == "reservoir" else p.pond_depth_m
                lakes.extend((o, h, depth) for o, h in f.polygons)
        elif name in ("Sông Hiếu", "Sông Thạch Hãn"):
            big_lines.extend(f.lines)
        else:
            depth = p.canal_depth_m if cls == "canal" else p.stream_depth_m
            streams.extend((ln, depth) for ln in f.lines)
    if not big_polys and not big_lines:
        raise DemError("no Hiếu/Thạch Hãn geometry in the water file: is it the Đông Hà extract?")
    return _Water(big_polys, big_lines, streams, lakes)


def _macro_terrain(
    grid: _Grid, water: _Water, p: DemParams, rng: np.random.Generator, centre: tuple[float, float]
) -> Array:
    """Plain + floodplain + hills on a coarse grid (smooth fields), upsampled to ``grid``."""
    k = max(1, round(50.0 / grid.step))
    nxc = math.ceil(grid.nx / k) + 2
    nyc = math.ceil(grid.ny / k) + 2
    cg = _Grid(grid.xs0 - grid.step, grid.ys0 + grid.step, grid.step * k, nxc, nyc)
    x, y = cg.xs[None, :], cg.ys[:, None]
    xmin, xmax = grid.xs0, grid.xs0 + (grid.nx - 1) * grid.step

    relief = _smooth_noise(rng, cg, (800.0, 3000.0))
    macro = _smooth_noise(rng, cg, (1500.0, 5000.0))
    ridges = _smooth_noise(rng, cg, (400.0, 1200.0))
    wobble = _smooth_noise(rng, cg, (2000.0, 6000.0))

    ex, ny_ = (x - centre[0]) / 1000.0, (y - centre[1]) / 1000.0
    plain = p.plain_m + p.trend_east_m_per_km * ex + p.trend_north_m_per_km * ny_
    plain = plain + p.plain_relief_m * relief

    rings = [o for o, _ in water.big_polys] + [h for _, hs in water.big_polys for h in hs]
    reach = 4.0 * max(p.floodplain_decay_m, p.hill_valley_m)
    d_river = _dist_to_lines(rings + water.big_lines, cg, reach)
    for outer, holes in water.big_polys:
        d_river[_polygon_mask(outer, holes, cg)] = 0.0
    rim = _lerp_east(np.broadcast_to(x, plain.shape), p.rim_west_m, p.rim_east_m, xmin, xmax)
    rise = 1.0 - np.exp(-d_river / p.floodplain_decay_m)
    plain = np.where(plain > rim, rim + (plain - rim) * rise, plain)

    u = -((x - centre[0]) + (y - centre[1])) / math.sqrt(2.0) / 1000.0  # km towards SW
    u = u + p.hill_front_wobble_km * wobble
    t = np.clip((u - p.hill_front_km) / (p.hill_full_km - p.hill_front_km), 0.0, 1.0)
    shape = t * t * (3.0 - 2.0 * t)
    hills = p.hill_max_m * shape * (1.0 - 0.5 * p.hill_variation * (1.0 - macro))
    hills = np.clip(hills + p.hill_ridge_m * shape * ridges, 0.0, p.hill_max_m)
    hills = hills * (1.0 - np.exp(-((d_river / p.hill_valley_m) ** 2)))
    return _upsample(plain + hills, cg, grid)


def _bowls(grid: _Grid, spots: Sequence[Hotspot]) -> Array:
    """Sum of the hotspot depressions (m, >= 0) on ``grid``."""
    out = np.zeros((grid.ny, grid.nx))
    for h in spots:
        cx, cy = h.xy
        win = grid.window(cx - h.radius_m, cx + h.radius_m, cy - h.radius_m, cy + h.radius_m)
        if win is None:
            continue
        rs, cs = win
        r = np.hypot(grid.xs[cs][None, :] - cx, grid.ys[rs][:, None] - cy) / h.radius_m
        out[rs, cs] += h.depth_m * 0.5 * (1.0 + np.cos(np.pi * np.minimum(r, 1.0)))
    return out


def _embankments(grid: _Grid, roads: list[_Feature], p: DemParams) -> Array:
    """Height (m) of road/rail fill above the ground; bridges ("Cầu …") are left out."""
    heights = dict(p.embankment_m)
    out = np.zeros((grid.ny, grid.nx))
    crest = max(p.embankment_crest_m, 0.75 * grid.step)
    toe = max(p.embankment_toe_m, crest + grid.step)
    by_height: dict[float, list[Line]] = {}
    for f in roads:
        cls = "rail" if f.props.get("kind") == "rail" else f.props.get("class")
        name = str(f.props.get("name") or "")
        if cls not in heights or name.startswith("Cầu"):
            continue
        by_height.setdefault(heights[str(cls)], []).extend(f.lines)
    for h in sorted(by_height):
        d = _dist_to_lines(by_height[h], grid, toe)
        prof = np.clip((toe - d) / (toe - crest), 0.0, 1.0)
        np.maximum(out, h * prof, out=out)
    return out


def _line_profile(grid: _Grid, lines: Sequence[Line], core: float, bank: float) -> Array:
    """0..1 carving fraction: 1 within ``core`` m of a line, falling to 0 at ``core + bank``."""
    core = max(core, 0.75 * grid.step)
    d = _dist_to_lines(lines, grid, core + bank)
    return np.clip((core + bank - d) / bank, 0.0, 1.0)


def _shore_distance(
    grid: _Grid, outer: Line, holes: Sequence[Line], reach: float
) -> tuple[NDArray[np.bool_], Array]:
    mask = _polygon_mask(outer, holes, grid)
    d = _dist_to_lines([outer, *holes], grid, reach)
    return mask, d


def synthetic_dongha_dem(
    cell_m: float = 10.0,
    seed: int = 0,
    *,
    sources: DemSources | None = None,
    params: DemParams | None = None,
    hotspots: Sequence[Hotspot] = HOTSPOTS,
    progress: Callable[[str], None] | None = None,
) -> Dem:
    """Build the synthetic Đông Hà DEM (see the module docstring for every rule).

    Args:
        cell_m: cell size, m (2–200). The extent is :data:`DONGHA_BOUNDS_UTM` (snapped to whole
            cells: 960 x 1050 at 10 m).
        seed: seed of the one numpy Generator behind all noise (same seed → same array).
        sources: the OSM files; default :meth:`DemSources.default`.
        params: the knobs; default :class:`DemParams`.
        hotspots: the depressions to carve; default :data:`HOTSPOTS`.
        progress: optional callback receiving one line per stage.

    Returns:
        A :class:`~sim.hydro.dem.Dem` in EPSG:32648 with the OSM attribution.
    """
    if not (2.0 <= cell_m <= 200.0):
        raise DemError(f"cell_m={cell_m} m is outside 2–200 m: use 10 m (default) or 5–50 m")
    p = params or DemParams()
    src = sources or DemSources.default()
    say = progress or (lambda _msg: None)

    xmin, ymin, xmax, ymax = DONGHA_BOUNDS_UTM
    nx = max(1, round((xmax - xmin) / cell_m))
    ny = max(1, round((ymax - ymin) / cell_m))
    grid = _Grid(xmin + cell_m / 2, ymax - cell_m / 2, cell_m, nx, ny)
    cx, cy = lonlat_to_utm(*CITY_CENTRE_LONLAT)
    centre = (float(cx), float(cy))
    rng = np.random.default_rng(seed)

    say("reading OSM geometry")
    water = _classify_water(_load_features(src.water_geojson), p)
    roads = _load_features(src.roads_geojson)

    say("plain, floodplain and hills")
    ground = _macro_terrain(grid, water, p, rng, centre)
    say("hotspots")
    ground -= _bowls(grid, hotspots)
    say("road embankments")
    z = ground + _embankments(grid, roads, p)

    say("lakes and reservoirs")
    ring = max(30.0, 2.0 * cell_m)
    for outer, holes, depth in water.lakes:
        mask, d = _shore_distance(grid, outer, holes, ring + p.lake_ramp_m)
        if not mask.any():
            continue
        shore = ~mask & (d <= ring)
        ground_in = ground[shore] if shore.any() else ground[mask]
        lake_rim = float(np.percentile(ground_in, 10))
        z[mask] = lake_rim - depth * np.clip(d[mask] / p.lake_ramp_m, 0.0, 1.0)

    say("streams and canals")
    for depth in sorted({dep for _, dep in water.streams}):
        lines = [ln for ln, dep in water.streams if dep == depth]
        f = _line_profile(grid, lines, p.stream_core_m, p.stream_bank_m)
        cut = f > 0
        z[cut] = np.minimum(z[cut], ground[cut] - depth * f[cut])

    say("Hiếu and Thạch Hãn channels")
    xs2d = np.broadcast_to(grid.xs[None, :], z.shape)
    rim = _lerp_east(xs2d, p.rim_west_m, p.rim_east_m, xmin, xmax)
    bed = _lerp_east(xs2d, p.bed_west_m, p.bed_east_m, xmin, xmax)
    frac = _line_profile(grid, water.big_lines, p.centreline_core_m, p.bank_ramp_m)
    for outer, holes in water.big_polys:
        mask, d = _shore_distance(grid, outer, holes, p.bank_ramp_m)
        frac = np.where(mask, np.maximum(frac, np.clip(d / p.bank_ramp_m, 0.0, 1.0)), frac)
        frac[mask] = np.maximum(frac[mask], 1e-6)
    chan = frac > 0
    z[chan] = np.minimum(z[chan], rim[chan] - (rim[chan] - bed[chan]) * frac[chan])

    return Dem(
        elevation=np.ascontiguousarray(z, dtype=np.float64),
        cell_m=float(cell_m),
        x0=xmin,
        y0=ymax,
        attribution=ATTRIBUTION,
        description=(
            f"synthetic Đông Hà DEM (sim.hydro.dongha_dem, seed={seed}, cell={cell_m:g} m); "
            "not measured elevations"
        ),
    )


def gauge_cell(
    dem: Dem, site: GaugeSite = GAUGE_DONG_HA, search_m: float = 250.0
) -> tuple[int, int]:
    """``(row, col)`` of the channel cell (elevation < 0 m) nearest to a gauge site.

    The level at the gauge is read there. Raises DemError when no such cell lies within
    ``search_m`` m of the site (wrong DEM, or a DEM without a carved channel).
    """
    x, y = site.xy
    row, col = dem.cell_of(x, y)
    n = max(1, math.ceil(search_m / dem.cell_m))
    ny, nx = dem.shape
    r0, r1, c0, c1 = max(0, row - n), min(ny, row + n + 1), max(0, col - n), min(nx, col + n + 1)
    sub = dem.elevation[r0:r1, c0:c1]
    rr, cc = np.nonzero(sub < 0.0)
    if rr.size == 0:
        raise DemError(
            f"no channel cell (< 0 m) within {search_m:.0f} m of {site.name}: "
            "is this the Đông Hà DEM with the Hiếu carved?"
        )
    d2 = ((rr + r0 - row) ** 2 + (cc + c0 - col) ** 2).astype(np.float64)
    i = int(np.argmin(d2))
    return int(rr[i] + r0), int(cc[i] + c0)
