"""The Hùng Vương pilot section: centreline from OpenStreetMap, poles and cabinets.

Road data © OpenStreetMap contributors (ODbL); see ``scenarios/dongha/osm/README.md``.
Anything derived here (the centreline, the pole table written by
:func:`write_layout_csv`) stays under the ODbL and carries that credit.

Where the section is
--------------------
The pilot runs along Hùng Vương from the railway level crossing to the Lý Thường
Kiệt junction (DOMAIN.md). In the extract Hùng Vương is a dual carriageway: one
OSM line per carriageway, interrupted by the two-line bridge "Cầu Đại An" half
way. :func:`street_centreline` builds one centreline from them:

1. **Lines of the street**: every part of a feature whose ``name`` is the street
   (normalised as in :mod:`sim.traffic.osm_graph`), plus bridge features
   ("Cầu …") whose both ends lie within ``_BRIDGE_JOIN_M`` of an end of the
   street's lines (the street carried over a stream). Projected to UTM 48N
   (EPSG:32648, metres, x east / y north) with pyproj.
2. **Ends**: the level crossing is the mean of the points where the railway
   (``kind == "rail"``) crosses the street's lines (one per carriageway); if the
   file holds no railway, :data:`RAIL_CROSSING_LONLAT` (the same place read from
   the extract, 107.0983 E 16.8199 N) is used and said so in ``source``. The
   junction is the mean of the closest points between the street's lines and
   the lines of ``to_street`` (Lý Thường Kiệt), taken where they come within
   ``_JUNCTION_TOL_M``.
3. **Centre**: a reference polyline chains the lines' pieces from the crossing
   towards the junction; every ``_SAMPLE_M`` along it the centre is the mean of
   the nearest points of all lines within ``_MAX_CARRIAGEWAY_SEP_M`` (both
   carriageways where there are two), then smoothed by a running mean over
   ``_SMOOTH_M``, and cut at the projections of the two ends.

Road frame (used by photometry): ``station`` (m) along the centreline from the
crossing (0) to the junction (``length_m``); ``offset`` (m) across it, positive
to the LEFT of the direction of increasing station. Hùng Vương runs
north-north-west to south-south-east from the crossing, so left is east: the
``E`` poles have positive offsets. In general side ``E`` is the side whose
outward normal points east (or north for a road running east-west).

Cross-section (OSM has no ``lanes``/``width`` tags here; documented defaults)
------------------------------------------------------------------------------
2 × 2 lanes of 3.5 m (``scenarios/dongha/road_classes.csv``: secondary = 2
lanes/direction, 3.5 m) and a 3.0 m median *(est.)*: kerb-to-kerb 17 m, kerb at
8.5 m from the centre. Poles stand ``kerb_setback_m`` = 0.8 m *(est.)* behind
the kerb on the footway, arms of 1.5 m reach over the carriageway. The OSM
lines of the two carriageways are 15-20 m apart in the extract, but the
extract is simplified to ~30 m, so the separation is not used as a width.

Poles
-----
``arrangement="opposite"`` (default): pairs facing each other across the road.
On a dual carriageway each side lights its own carriageway (one-sided lighting
of a 7 m carriageway from 11 m), so opposite pairs give each carriageway the
same pattern; ``"staggered"`` shifts the W side by half a spacing. Stations are
spread evenly between ``end_clearance_m`` from both ends with the nominal
``spacing_m`` as an upper bound (``n = ceil((L - 2c) / spacing)`` spans).
Height 11 m, arm 1.5 m, tilt 5° *(est.; usual for a 250 W HPS lantern on a 4-lane
urban road, spacing/height 3.2)*. 11 rather than 10 m because the photometry says so:
with the shipped generic luminaire at 35 m spacing, 10 m gives a longitudinal
uniformity of 0.59 on the lane centre lines, just below the 0.60 that M3 and M4 ask,
and 11 m gives 0.65 (``twin.lighting_design``).

Cabinets ``HV-C1``… feed contiguous groups of stations (both sides of a station
on the same cabinet), ``ceil(n_poles / max_per_cabinet)`` cabinets of equal
size (±1 station). A cabinet stands at the middle station of its group on the E
footway, 1 m behind the pole line; its segment runs between the midpoints to the
neighbouring groups (0 and ``length_m`` at the ends).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.traffic.osm_graph import is_bridge, name_keys, normalise_name

__all__ = [
    "DEFAULT_LAYOUT_CSV",
    "DEFAULT_ROADS_GEOJSON",
    "OSM_ATTRIBUTION",
    "RAIL_CROSSING_LONLAT",
    "Cabinet",
    "Centreline",
    "CrossSection",
    "LayoutError",
    "LayoutParams",
    "LightingLayout",
    "Pole",
    "build_layout",
    "hung_vuong_layout",
    "layout_csv_text",
    "read_layout_csv",
    "street_centreline",
    "write_layout_csv",
]

OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
"""Credit every product derived from the road extract must carry."""

_REPO = Path(__file__).resolve().parents[2]
DEFAULT_ROADS_GEOJSON = _REPO / "scenarios" / "dongha" / "osm" / "dongha_roads_osm.geojson"
"""The committed Đông Hà road extract (WGS84 lon/lat)."""
DEFAULT_LAYOUT_CSV = _REPO / "scenarios" / "dongha" / "lighting" / "hung_vuong_layout.csv"
"""The pole and cabinet table generated by :func:`write_layout_csv` (default layout)."""

RAIL_CROSSING_LONLAT = (107.0983, 16.8199)
"""Fallback position (lon, lat WGS84) of the Hùng Vương level crossing, used only
when the GeoJSON has no railway: the mean of the two points where the railway of
the committed extract crosses the two carriageways (107.09823, 16.81997) and
(107.09842, 16.81992)."""

UTM48N = "EPSG:32648"
WGS84 = "EPSG:4326"

_BRIDGE_JOIN_M = 5.0  # a bridge joins the street when both its ends are this close to street ends
_JUNCTION_TOL_M = 30.0  # the cross street's lines must come this close to the street's lines
_MAX_CARRIAGEWAY_SEP_M = 40.0  # lines farther from the reference are not this road
_SAMPLE_M = 5.0  # centreline vertex spacing (m)
_END_STRAIGHT_M = 60.0  # straightened stretch at each end of the section (m)
_SMOOTH_M = 30.0  # running-mean window of the centreline (m), the extract's simplification

XY = tuple[float, float]


class LayoutError(ValueError):
    """The road data do not give the section (street or crossing not found, bad parameters)."""


# ----------------------------------------------------------------------------- geometry


def _polyline_length(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    return float(np.hypot(np.diff(x), np.diff(y)).sum())


def _nearest_on_polyline(
    px: float, py: float, line: NDArray[np.float64]
) -> tuple[float, float, float, bool]:
    """Nearest point of ``line`` (n, 2) to (px, py): (x, y, distance, clamped to an end)."""
    a = line[:-1]
    b = line[1:]
    d = b - a
    ll = (d * d).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = ((px - a[:, 0]) * d[:, 0] + (py - a[:, 1]) * d[:, 1]) / ll
    t = np.where(ll > 0, np.clip(t, 0.0, 1.0), 0.0)
    q = a + d * t[:, None]
    dist = np.hypot(q[:, 0] - px, q[:, 1] - py)
    k = int(np.argmin(dist))
    clamped = (k == 0 and t[k] <= 0.0) or (k == len(a) - 1 and t[k] >= 1.0)
    return float(q[k, 0]), float(q[k, 1]), float(dist[k]), bool(clamped)


def _segment_intersection(p1: XY, p2: XY, q1: XY, q2: XY) -> XY | None:
    """Intersection point of segments p1-p2 and q1-q2, or None."""
    rx, ry = p2[0] - p1[0], p2[1] - p1[1]
    sx, sy = q2[0] - q1[0], q2[1] - q1[1]
    den = rx * sy - ry * sx
    if den == 0:
        return None
    qpx, qpy = q1[0] - p1[0], q1[1] - p1[1]
    t = (qpx * sy - qpy * sx) / den
    u = (qpx * ry - qpy * rx) / den
    if 0.0 <= t <= 1.0 and 0.0 <= u <= 1.0:
        return (p1[0] + t * rx, p1[1] + t * ry)
    return None


def _closest_between(a: NDArray[np.float64], b: NDArray[np.float64]) -> tuple[float, XY]:
    """Smallest distance between polylines ``a`` and ``b`` (n, 2) and the midpoint there."""
    for i in range(len(a) - 1):
        for j in range(len(b) - 1):
            hit = _segment_intersection(
                (a[i, 0], a[i, 1]),
                (a[i + 1, 0], a[i + 1, 1]),
                (b[j, 0], b[j, 1]),
                (b[j + 1, 0], b[j + 1, 1]),
            )
            if hit is not None:
                return 0.0, hit
    best = (math.inf, (math.nan, math.nan))
    for src, dst in ((a, b), (b, a)):
        for px, py in src:
            qx, qy, dist, _ = _nearest_on_polyline(float(px), float(py), dst)
            if dist < best[0]:
                best = (dist, ((px + qx) / 2.0, (py + qy) / 2.0))
    return best


@dataclass(frozen=True, eq=False)
class Centreline:
    """A road centreline in UTM 48N (EPSG:32648, m) with stations from its first vertex.

    Attributes:
        x, y: vertices (m, EPSG:32648), >= 2, read-only.
        station: distance along the polyline of each vertex (m, 0 .. length_m).
        lon, lat: the vertices in WGS84 (degrees).
        source: how the ends were found (free text for reports).
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    station: NDArray[np.float64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    source: str = ""

    @property
    def length_m(self) -> float:
        """Planar length in UTM 48N (m); ~0.02 % above the geodesic length at Đông Hà."""
        return float(self.station[-1])

    def point_at(
        self, s: float | NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """UTM (x, y) (m) of stations ``s`` (m, clipped to 0 .. length_m)."""
        s_arr = np.clip(np.asarray(s, dtype=np.float64), 0.0, self.length_m)
        return np.interp(s_arr, self.station, self.x), np.interp(s_arr, self.station, self.y)

    def left_normal_at(
        self, s: float | NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Unit normal (nx, ny) pointing left of increasing station, at stations ``s`` (m).

        Taken from the tangent over ±``_SAMPLE_M`` so it turns smoothly at vertices.
        """
        s_arr = np.asarray(s, dtype=np.float64)
        x0, y0 = self.point_at(s_arr - _SAMPLE_M)
        x1, y1 = self.point_at(s_arr + _SAMPLE_M)
        tx, ty = x1 - x0, y1 - y0
        n = np.hypot(tx, ty)
        return -ty / n, tx / n

    def heading_deg_at(self, s: float | NDArray[np.float64]) -> NDArray[np.float64]:
        """Compass heading (degrees clockwise from grid north, 0..360) of increasing station."""
        nx, ny = self.left_normal_at(s)
        tx, ty = ny, -nx
        return np.asarray(np.degrees(np.arctan2(tx, ty)) % 360.0)

    def project(
        self, px: NDArray[np.float64], py: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Road-frame (station, offset) (m) of UTM points: nearest point, offset + to the left."""
        px = np.atleast_1d(np.asarray(px, dtype=np.float64))
        py = np.atleast_1d(np.asarray(py, dtype=np.float64))
        ax, ay = self.x[:-1], self.y[:-1]
        dx, dy = np.diff(self.x), np.diff(self.y)
        ll = dx * dx + dy * dy
        t = ((px[:, None] - ax) * dx + (py[:, None] - ay) * dy) / ll
        t = np.clip(t, 0.0, 1.0)
        qx, qy = ax + t * dx, ay + t * dy
        dist = np.hypot(px[:, None] - qx, py[:, None] - qy)
        k = np.argmin(dist, axis=1)
        rows = np.arange(len(px))
        st = self.station[k] + t[rows, k] * np.sqrt(ll[k])
        cross = dx[k] * (py - ay[k]) - dy[k] * (px - ax[k])
        return st, np.sign(cross) * dist[rows, k]


def _to_utm(lonlat: Iterable[Sequence[float]]) -> NDArray[np.float64]:
    from pyproj import Transformer

    pts = np.asarray(list(lonlat), dtype=np.float64)
    tr = Transformer.from_crs(WGS84, UTM48N, always_xy=True)
    x, y = tr.transform(pts[:, 0], pts[:, 1])
    return np.column_stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)])


def _to_lonlat(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    from pyproj import Transformer

    tr = Transformer.from_crs(UTM48N, WGS84, always_xy=True)
    lon, lat = tr.transform(x, y)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _parts(feature: dict[str, Any]) -> list[list[list[float]]]:
    geom = feature.get("geometry") or {}
    if geom.get("type") == "LineString":
        return [geom["coordinates"]]
    if geom.get("type") == "MultiLineString":
        return list(geom["coordinates"])
    return []


def _load_features(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise LayoutError(
            f"{path} does not exist. Hint: the Đông Hà road extract is committed at "
            f"{DEFAULT_ROADS_GEOJSON}"
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    feats = data.get("features")
    if not isinstance(feats, list):
        raise LayoutError(f"{path}: not a GeoJSON FeatureCollection (no 'features' list)")
    return feats


def _street_lines(feats: list[dict[str, Any]], key: str) -> list[NDArray[np.float64]]:
    return [
        _to_utm(part)
        for f in feats
        if key in name_keys((f.get("properties") or {}).get("name"))
        for part in _parts(f)
        if len(part) >= 2
    ]


def street_centreline(
    geojson: Path | str = DEFAULT_ROADS_GEOJSON,
    street: str = "Hùng Vương",
    to_street: str = "Lý Thường Kiệt",
) -> Centreline:
    """The centreline of ``street`` from its railway level crossing to ``to_street``.

    See the module docstring for the method. Stations run from the level
    crossing (0) to the junction. Raises :class:`LayoutError` with a hint when
    the street, the cross street or the crossing cannot be found.
    """
    path = Path(geojson)
    feats = _load_features(path)
    key, to_key = normalise_name(street), normalise_name(to_street)
    lines = _street_lines(feats, key)
    if not lines:
        names = sorted({str((f.get("properties") or {}).get("name")) for f in feats})
        raise LayoutError(
            f"{path}: no line named {street!r}. Hint: check the spelling (NFC, with tones); "
            f"names in the file: {', '.join(names[:40])}"
        )
    ends = [ln[0] for ln in lines] + [ln[-1] for ln in lines]
    for f in feats:
        props = f.get("properties") or {}
        if not is_bridge(props.get("name")):
            continue
        for part in _parts(f):
            xy = _to_utm(part)
            if all(min(math.dist(p, e) for e in ends) <= _BRIDGE_JOIN_M for p in (xy[0], xy[-1])):
                lines.append(xy)
    cross_lines = _street_lines(feats, to_key)
    if not cross_lines:
        raise LayoutError(
            f"{path}: no line named {to_street!r}, the end of the section. Hint: pass "
            "to_street= the name of the junction street as written in the file"
        )
    # the level crossing
    rails = [
        _to_utm(p)
        for f in feats
        if (f.get("properties") or {}).get("kind") == "rail"
        for p in _parts(f)
        if len(p) >= 2
    ]
    hits: list[XY] = []
    for ln in lines:
        for rl in rails:
            d, pt = _closest_between(ln, rl)
            if d == 0.0:
                hits.append(pt)
    if hits:
        crossing = np.mean(np.asarray(hits), axis=0)
        how = f"level crossing = mean of {len(hits)} rail x {street} intersections in the extract"
    elif rails:
        raise LayoutError(
            f"{path}: the railway never crosses {street!r}. Hint: the section starts at the "
            "railway level crossing; check that the street is the right one"
        )
    else:
        crossing = _to_utm([RAIL_CROSSING_LONLAT])[0]
        how = (
            f"no railway in the file: level crossing at the documented coordinate "
            f"{RAIL_CROSSING_LONLAT} (lon, lat)"
        )
    # the junction
    cands: list[XY] = []
    for ln in lines:
        for cl in cross_lines:
            d, pt = _closest_between(ln, cl)
            if d <= _JUNCTION_TOL_M:
                cands.append(pt)
    if not cands:
        raise LayoutError(
            f"{path}: {to_street!r} never comes within {_JUNCTION_TOL_M} m of {street!r}. "
            "Hint: the section ends at the junction of the two streets"
        )
    cand = np.asarray(cands)
    junction = cand.mean(axis=0)
    spread = float(np.hypot(*(cand - junction).T).max())
    if spread > 150.0:
        raise LayoutError(
            f"{path}: {to_street!r} meets {street!r} at places {spread:.0f} m apart; "
            "the junction is ambiguous. Hint: clip the extract to one junction"
        )
    xs, ys = _midline(lines, crossing, junction)
    cx, cy = _cut(xs, ys, crossing, junction)
    lon, lat = _to_lonlat(cx, cy)
    clon, clat = _to_lonlat(np.array([crossing[0]]), np.array([crossing[1]]))
    jlon, jlat = _to_lonlat(np.array([junction[0]]), np.array([junction[1]]))
    source = (
        f"{street} centreline from {path.name} ({OSM_ATTRIBUTION}); {how} at "
        f"({clon[0]:.5f}, {clat[0]:.5f}); junction with {to_street} = mean of "
        f"{len(cands)} closest points at ({jlon[0]:.5f}, {jlat[0]:.5f})"
    )
    st = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(cx), np.diff(cy)))])
    return Centreline(
        x=_frozen(cx),
        y=_frozen(cy),
        station=_frozen(st),
        lon=_frozen(lon),
        lat=_frozen(lat),
        source=source,
    )


def _midline(
    lines: list[NDArray[np.float64]], start: NDArray[np.float64], end: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Centre of the lines between ``start`` and ``end`` (see module docstring, step 3)."""
    axis = end - start
    span = float(np.hypot(*axis))
    if span < 1.0:
        raise LayoutError("the level crossing and the junction coincide; nothing to light")
    u = axis / span
    oriented = []
    for ln in lines:
        along = (ln - start) @ u
        oriented.append(ln if along[-1] >= along[0] else ln[::-1])
    # reference: the pieces in order of where they start along the axis, each keeping
    # only the part ahead of the previous piece
    ref: list[NDArray[np.float64]] = []
    reach = -math.inf
    for ln in sorted(oriented, key=lambda p: float((p[0] - start) @ u)):
        along = (ln - start) @ u
        keep = ln[along > reach + 1.0]
        if len(keep) == 0:
            continue
        ref.extend(keep)
        reach = max(reach, float(along.max()))
    rpts = np.asarray(ref)
    seg = np.hypot(*np.diff(rpts, axis=0).T)
    st = np.concatenate([[0.0], np.cumsum(seg)])
    samples = np.arange(0.0, st[-1] + 1e-9, _SAMPLE_M)
    sx, sy = np.interp(samples, st, rpts[:, 0]), np.interp(samples, st, rpts[:, 1])
    cx, cy = np.empty_like(sx), np.empty_like(sy)
    for k, (px, py) in enumerate(zip(sx, sy, strict=True)):
        found = []
        for ln in oriented:
            qx, qy, d, clamped = _nearest_on_polyline(float(px), float(py), ln)
            if d <= _MAX_CARRIAGEWAY_SEP_M and not clamped:
                found.append((qx, qy))
        if found:
            cx[k], cy[k] = np.mean(np.asarray(found), axis=0)
        else:
            cx[k], cy[k] = px, py
    w = max(1, round(_SMOOTH_M / _SAMPLE_M))
    if len(cx) > w:
        pad = w // 2
        kern = np.ones(w) / w
        cx = np.convolve(np.pad(cx, pad, mode="edge"), kern, mode="same")[pad:-pad]
        cy = np.convolve(np.pad(cy, pad, mode="edge"), kern, mode="same")[pad:-pad]
    return cx, cy


def _cut(
    x: NDArray[np.float64], y: NDArray[np.float64], a: NDArray[np.float64], b: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The part of polyline (x, y) between the projections of points ``a`` and ``b``.

    The last ``_END_STRAIGHT_M`` at each end are replaced by the straight
    continuation of the ``_END_STRAIGHT_M`` before them, ending at the
    projection of the end point on that line: inside a junction or a level
    crossing the lines of a simplified extract meet at odd angles and their
    mean is no road centre.
    """
    st = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    tmp = Centreline(x=x, y=y, station=st, lon=x, lat=y)
    (s0,), _ = tmp.project(np.array([a[0]]), np.array([a[1]]))
    (s1,), _ = tmp.project(np.array([b[0]]), np.array([b[1]]))
    if s1 <= s0:
        raise LayoutError("the junction does not lie beyond the level crossing along the street")
    e = _END_STRAIGHT_M
    if s1 - s0 <= 4.0 * e:
        inner = (st > s0) & (st < s1)
        ss = np.concatenate([[s0], st[inner], [s1]])
        return np.interp(ss, st, x), np.interp(ss, st, y)
    inner = (st > s0 + e) & (st < s1 - e)
    ss = np.concatenate([[s0 + e], st[inner], [s1 - e]])
    mx, my = np.interp(ss, st, x), np.interp(ss, st, y)

    def straight(s_near: float, s_far: float, target: NDArray[np.float64]) -> NDArray[np.float64]:
        p = np.array([np.interp(s_near, st, x), np.interp(s_near, st, y)])
        q = np.array([np.interp(s_far, st, x), np.interp(s_far, st, y)])
        u = (p - q) / float(np.hypot(*(p - q)))
        return p + u * max(float((target - p) @ u), 1.0)

    head = straight(s0 + e, s0 + 2 * e, a)
    tail = straight(s1 - e, s1 - 2 * e, b)
    return np.concatenate([[head[0]], mx, [tail[0]]]), np.concatenate([[head[1]], my, [tail[1]]])


def _frozen(a: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.array(a, dtype=np.float64)
    out.setflags(write=False)
    return out


# ------------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class CrossSection:
    """Cross-section of a divided road, symmetric about the centreline (m).

    Attributes:
        lanes_per_direction: lanes of each carriageway (>= 1).
        lane_width_m: lane width (2.5 .. 5 m).
        median_m: median width between the two carriageways (0 = undivided).
        kerb_setback_m: pole axis behind the kerb, on the footway (0 .. 5 m).
    """

    lanes_per_direction: int = 2
    lane_width_m: float = 3.5
    median_m: float = 3.0
    kerb_setback_m: float = 0.8

    def __post_init__(self) -> None:
        if (
            isinstance(self.lanes_per_direction, bool)
            or not isinstance(self.lanes_per_direction, int)
            or self.lanes_per_direction < 1
        ):
            raise LayoutError(
                f"CrossSection.lanes_per_direction = {self.lanes_per_direction!r}: need an int >= 1"
            )
        _check_range("CrossSection.lane_width_m", self.lane_width_m, 2.5, 5.0)
        _check_range("CrossSection.median_m", self.median_m, 0.0, 50.0)
        _check_range("CrossSection.kerb_setback_m", self.kerb_setback_m, 0.0, 5.0)

    @property
    def carriageway_m(self) -> float:
        """Width of one carriageway (m)."""
        return self.lanes_per_direction * self.lane_width_m

    @property
    def kerb_offset_m(self) -> float:
        """Distance from the centreline to each kerb (m)."""
        return self.median_m / 2.0 + self.carriageway_m

    @property
    def pole_offset_m(self) -> float:
        """Distance from the centreline to each pole axis (m)."""
        return self.kerb_offset_m + self.kerb_setback_m


@dataclass(frozen=True)
class LayoutParams:
    """How poles and cabinets are placed (m, degrees).

    Attributes:
        spacing_m: nominal (maximum) distance between stations of one side (10 .. 80 m).
        height_m: luminaire mounting height above the road (4 .. 20 m).
        arm_m: arm length from the pole axis towards the road (0 .. 4 m).
        tilt_deg: luminaire tilt above horizontal (0 .. 20°).
        arrangement: ``"opposite"`` or ``"staggered"`` (see module docstring).
        end_clearance_m: first and last station from the section ends (0 .. spacing).
        max_per_cabinet: most poles on one cabinet (groups are as equal as possible).
        min_per_cabinet: fewest poles on one cabinet (checked).
        cross_section: the road's cross-section.
    """

    spacing_m: float = 35.0
    height_m: float = 11.0
    arm_m: float = 1.5
    tilt_deg: float = 5.0
    arrangement: str = "opposite"
    end_clearance_m: float = 10.0
    max_per_cabinet: int = 25
    min_per_cabinet: int = 15
    cross_section: CrossSection = field(default_factory=CrossSection)

    def __post_init__(self) -> None:
        _check_range("LayoutParams.spacing_m", self.spacing_m, 10.0, 80.0)
        _check_range("LayoutParams.height_m", self.height_m, 4.0, 20.0)
        _check_range("LayoutParams.arm_m", self.arm_m, 0.0, 4.0)
        _check_range("LayoutParams.tilt_deg", self.tilt_deg, 0.0, 20.0)
        _check_range("LayoutParams.end_clearance_m", self.end_clearance_m, 0.0, self.spacing_m)
        if self.arrangement not in ("opposite", "staggered"):
            raise LayoutError(
                f"LayoutParams.arrangement = {self.arrangement!r}: use 'opposite' or 'staggered'"
            )
        if not (1 <= self.min_per_cabinet <= self.max_per_cabinet):
            raise LayoutError(
                f"LayoutParams.min_per_cabinet = {self.min_per_cabinet!r} / max_per_cabinet = "
                f"{self.max_per_cabinet!r}: need 1 <= min <= max (e.g. 15 and 25)"
            )


def _check_range(name: str, value: Any, lo: float, hi: float) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not lo <= value <= hi:
        raise LayoutError(f"{name} = {value!r} is outside {lo:g} .. {hi:g}")


@dataclass(frozen=True)
class Pole:
    """One lighting pole.

    Attributes:
        id: ``HV-E01``… / ``HV-W01``… (side letter, index along the road).
        side: ``"E"`` (east/north, positive offsets) or ``"W"``.
        index: 1-based index along the road on its side, from the level crossing.
        station_m: distance along the centreline from the crossing (m).
        offset_m: pole axis across the centreline (m, + left = E side).
        head_offset_m: luminaire head across the centreline (m): the pole
            offset moved ``arm_m`` towards the road.
        x, y: pole position (m, EPSG:32648).
        lon, lat: pole position (degrees WGS84).
        heading_deg: compass direction of increasing station at the pole (deg).
        cabinet: id of the feeding cabinet.
        height_m, arm_m, tilt_deg: mounting (m, m, degrees above horizontal).
    """

    id: str
    side: str
    index: int
    station_m: float
    offset_m: float
    head_offset_m: float
    x: float
    y: float
    lon: float
    lat: float
    heading_deg: float
    cabinet: str
    height_m: float
    arm_m: float
    tilt_deg: float


@dataclass(frozen=True)
class Cabinet:
    """A control cabinet and the segment it feeds.

    Attributes:
        id: ``HV-C1``….
        station_start_m, station_end_m: the segment (m along the centreline).
        station_m, offset_m: the cabinet's road-frame position (m).
        x, y: position (m, EPSG:32648); lon, lat (degrees WGS84).
        pole_ids: the poles it feeds, by station then side.
    """

    id: str
    station_start_m: float
    station_end_m: float
    station_m: float
    offset_m: float
    x: float
    y: float
    lon: float
    lat: float
    pole_ids: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class LightingLayout:
    """Poles and cabinets of a lit section.

    Attributes:
        centreline: the road centreline (UTM 48N).
        poles: ordered by station, then side (E before W).
        cabinets: ordered along the road.
        params: the placing rules.
        attribution: the data credit (ODbL).
    """

    centreline: Centreline
    poles: tuple[Pole, ...]
    cabinets: tuple[Cabinet, ...]
    params: LayoutParams
    attribution: str = OSM_ATTRIBUTION

    @property
    def length_m(self) -> float:
        """Section length along the centreline (m)."""
        return self.centreline.length_m

    @property
    def pole_ids(self) -> tuple[str, ...]:
        """Pole ids in layout order."""
        return tuple(p.id for p in self.poles)

    @property
    def cabinet_ids(self) -> tuple[str, ...]:
        """Cabinet ids along the road."""
        return tuple(c.id for c in self.cabinets)

    def pole(self, pole_id: str) -> Pole:
        """The pole with this id (KeyError naming the known range)."""
        for p in self.poles:
            if p.id == pole_id:
                return p
        raise KeyError(f"no pole {pole_id!r}; poles are {self.poles[0].id} .. {self.poles[-1].id}")

    def cabinet_of_pole(self) -> NDArray[np.intp]:
        """Index into ``cabinets`` of each pole, layout order."""
        idx = {c.id: k for k, c in enumerate(self.cabinets)}
        return np.array([idx[p.cabinet] for p in self.poles], dtype=np.intp)

    def pole_array(self, attr: str) -> NDArray[np.float64]:
        """A numeric pole attribute (``station_m``, ``x``…) as an array, layout order."""
        return np.array([float(getattr(p, attr)) for p in self.poles], dtype=np.float64)


def build_layout(
    centreline: Centreline, params: LayoutParams | None = None, prefix: str = "HV"
) -> LightingLayout:
    """Place poles and cabinets along ``centreline`` (see the module docstring)."""
    prm = params if params is not None else LayoutParams()
    length = centreline.length_m
    usable = length - 2.0 * prm.end_clearance_m
    if usable <= 0:
        raise LayoutError(
            f"the section is {length:.1f} m long, too short for end_clearance_m = "
            f"{prm.end_clearance_m} m at both ends"
        )
    n_spans = max(1, math.ceil(usable / prm.spacing_m - 1e-9))
    stations = prm.end_clearance_m + np.arange(n_spans + 1) * (usable / n_spans)
    if prm.arrangement == "opposite":
        sides = {"E": stations, "W": stations}
    else:
        sides = {"E": stations, "W": stations[:-1] + usable / n_spans / 2.0}
    nx0, ny0 = centreline.left_normal_at(np.array([length / 2.0]))
    left_is_e = (abs(float(nx0[0])) >= abs(float(ny0[0])) and nx0[0] > 0) or (
        abs(float(nx0[0])) < abs(float(ny0[0])) and ny0[0] > 0
    )
    sign = {"E": 1.0 if left_is_e else -1.0, "W": -1.0 if left_is_e else 1.0}
    width = max(2, len(str(max(len(v) for v in sides.values()))))
    cs = prm.cross_section
    raw: list[tuple[float, int, str, int]] = []  # station, side order, side, index
    for side_order, side in enumerate(("E", "W")):
        for i, s in enumerate(sides[side]):
            raw.append((float(s), side_order, side, i + 1))
    raw.sort()
    # cabinets: contiguous groups of distinct stations
    uniq = np.unique(np.array([r[0] for r in raw]))
    n_poles = len(raw)
    n_cab = max(1, math.ceil(n_poles / prm.max_per_cabinet))
    groups = np.array_split(uniq, n_cab)
    cab_of_station: dict[float, int] = {}
    for g, block in enumerate(groups):
        for s in block:
            cab_of_station[float(s)] = g
    sizes = [sum(1 for r in raw if cab_of_station[r[0]] == g) for g in range(n_cab)]
    if max(sizes) > prm.max_per_cabinet or min(sizes) < prm.min_per_cabinet:
        raise LayoutError(
            f"{n_poles} poles do not split into cabinets of {prm.min_per_cabinet} .. "
            f"{prm.max_per_cabinet} poles (got {sizes}). Hint: widen the range or change spacing_m"
        )
    st = np.array([r[0] for r in raw])
    off = np.array([sign[r[2]] * cs.pole_offset_m for r in raw])
    nx, ny = centreline.left_normal_at(st)
    cx, cy = centreline.point_at(st)
    px, py = cx + nx * off, cy + ny * off
    lon, lat = _to_lonlat(px, py)
    heading = centreline.heading_deg_at(st)
    poles = tuple(
        Pole(
            id=f"{prefix}-{side}{index:0{width}d}",
            side=side,
            index=index,
            station_m=round(s, 3),
            offset_m=round(float(off[k]), 3),
            head_offset_m=round(float(off[k] - math.copysign(prm.arm_m, off[k])), 3),
            x=round(float(px[k]), 3),
            y=round(float(py[k]), 3),
            lon=round(float(lon[k]), 7),
            lat=round(float(lat[k]), 7),
            heading_deg=round(float(heading[k]), 2),
            cabinet=f"{prefix}-C{cab_of_station[s] + 1}",
            height_m=prm.height_m,
            arm_m=prm.arm_m,
            tilt_deg=prm.tilt_deg,
        )
        for k, (s, _, side, index) in enumerate(raw)
    )
    cabinets = []
    for g, block in enumerate(groups):
        lo = 0.0 if g == 0 else (float(groups[g - 1][-1]) + float(block[0])) / 2.0
        hi = length if g == n_cab - 1 else (float(block[-1]) + float(groups[g + 1][0])) / 2.0
        s_mid = float(block[len(block) // 2])
        c_off = sign["E"] * (cs.pole_offset_m + 1.0)
        (nxc,), (nyc,) = centreline.left_normal_at(np.array([s_mid]))
        (xc,), (yc,) = centreline.point_at(np.array([s_mid]))
        x, y = float(xc + nxc * c_off), float(yc + nyc * c_off)
        (clon,), (clat,) = _to_lonlat(np.array([x]), np.array([y]))
        cid = f"{prefix}-C{g + 1}"
        cabinets.append(
            Cabinet(
                id=cid,
                station_start_m=round(lo, 3),
                station_end_m=round(hi, 3),
                station_m=round(s_mid, 3),
                offset_m=round(c_off, 3),
                x=round(x, 3),
                y=round(y, 3),
                lon=round(float(clon), 7),
                lat=round(float(clat), 7),
                pole_ids=tuple(p.id for p in poles if p.cabinet == cid),
            )
        )
    return LightingLayout(centreline=centreline, poles=poles, cabinets=tuple(cabinets), params=prm)


def hung_vuong_layout(
    geojson: Path | str = DEFAULT_ROADS_GEOJSON, params: LayoutParams | None = None
) -> LightingLayout:
    """The pilot layout: Hùng Vương from the level crossing to Lý Thường Kiệt."""
    return build_layout(street_centreline(geojson, "Hùng Vương", "Lý Thường Kiệt"), params, "HV")


# ---------------------------------------------------------------------------------- CSV

_CSV_FIELDS = (
    "kind",
    "id",
    "side",
    "index",
    "station_m",
    "offset_m",
    "head_offset_m",
    "x_utm",
    "y_utm",
    "lon",
    "lat",
    "heading_deg",
    "cabinet",
    "height_m",
    "arm_m",
    "tilt_deg",
    "station_start_m",
    "station_end_m",
)


def layout_csv_text(layout: LightingLayout) -> str:
    """The layout as CSV text: ``#`` header (source, credit), a row per pole and cabinet."""
    buf = io.StringIO()
    prm = layout.params
    buf.write(f"# Hùng Vương street-lighting pilot layout. Road data {layout.attribution}.\n")
    buf.write("# Generated by sim/lighting/layout.py (write_layout_csv); do not edit by hand.\n")
    buf.write(f"# {layout.centreline.source}\n")
    buf.write(
        f"# length {layout.length_m:.1f} m; {len(layout.poles)} poles, {prm.arrangement}, "
        f"spacing <= {prm.spacing_m:g} m, height {prm.height_m:g} m, arm {prm.arm_m:g} m, "
        f"tilt {prm.tilt_deg:g} deg; {len(layout.cabinets)} cabinets\n"
    )
    buf.write(
        "# x_utm/y_utm: EPSG:32648 (m); lon/lat: WGS84; "
        "station/offset: road frame (m, + = E side)\n"
    )
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_CSV_FIELDS)
    for p in layout.poles:
        w.writerow(
            [
                "pole",
                p.id,
                p.side,
                p.index,
                f"{p.station_m:.3f}",
                f"{p.offset_m:.3f}",
                f"{p.head_offset_m:.3f}",
                f"{p.x:.3f}",
                f"{p.y:.3f}",
                f"{p.lon:.7f}",
                f"{p.lat:.7f}",
                f"{p.heading_deg:.2f}",
                p.cabinet,
                f"{p.height_m:g}",
                f"{p.arm_m:g}",
                f"{p.tilt_deg:g}",
                "",
                "",
            ]
        )
    for c in layout.cabinets:
        w.writerow(
            [
                "cabinet",
                c.id,
                "E",
                "",
                f"{c.station_m:.3f}",
                f"{c.offset_m:.3f}",
                "",
                f"{c.x:.3f}",
                f"{c.y:.3f}",
                f"{c.lon:.7f}",
                f"{c.lat:.7f}",
                "",
                "",
                "",
                "",
                "",
                f"{c.station_start_m:.3f}",
                f"{c.station_end_m:.3f}",
            ]
        )
    return buf.getvalue()


def write_layout_csv(layout: LightingLayout, path: Path | str = DEFAULT_LAYOUT_CSV) -> Path:
    """Write :func:`layout_csv_text` to ``path`` (parents created); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(layout_csv_text(layout), encoding="utf-8")
    return out


def read_layout_csv(path: Path | str = DEFAULT_LAYOUT_CSV) -> list[dict[str, str]]:
    """Rows of a layout CSV as dicts of text (``kind`` = ``pole`` or ``cabinet``)."""
    p = Path(path)
    if not p.exists():
        raise LayoutError(
            f"{p} does not exist. Hint: python -c 'from sim.lighting.layout import *; "
            "write_layout_csv(hung_vuong_layout())'"
        )
    lines = [
        ln for ln in p.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")
    ]
    return list(csv.DictReader(lines))
