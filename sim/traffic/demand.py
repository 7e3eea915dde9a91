"""Reproducible weekday demand for the Đông Hà traffic plant (Vietnamese mixed traffic).

Pipeline (all randomness from one ``numpy.random.Generator`` seeded by ``seed``):

1. Departure times: a non-homogeneous Poisson process whose rate (veh/s)
   follows the hourly weekday profile. Profile factors are shares of the
   daily trips per local hour; the rate is interpolated linearly between the
   hour midpoints (periodic over 24 h), which keeps the daily total exact.
   ``day_offset_s`` maps simulation time 0 to a time of day (s after local
   midnight), e.g. sim 0 = 06:30 → 23400.
2. Vehicle type of each trip from the shares of the vehicle-type table.
3. Origin–destination zone pair from a gravity model over the wards and
   external gateways (zones.yaml): T_ij = P_i · A_j · K_ij with
   K_ij = exp(−d_ij / decay_m) between wards (× intrazonal_factor on the
   diagonal) and K = 1 to, from and between gateways (none between gateways
   closer than ``min_through_distance_m`` or of the same ``group``). The internal, external and
   through blocks are each rescaled to their ``trip_split`` share. The
   direction of the day comes from the profile's ``outbound`` column α in
   [−1, 1]: M = ½(1+α)·T(P→A) + ½(1−α)·T(A→P), so mornings flow from homes
   to jobs and schools and evenings back. Pairs a vehicle class cannot use
   (no edge allowing it in the zone) are removed for that class.
4. Origin and destination edges inside each zone: ward edges whose shape
   passes within ``radius_m`` of the centroid, weighted by length × lanes;
   gateway trips start on source-fringe and end on sink-fringe edges.
5. Routes by duarouter (``--seed``, ``--ignore-errors``,
   ``--routing-threads 1``) into ``out_dir/routes.rou.xml``; vehicle types in
   ``out_dir/vtypes.add.xml``. The generator header of duarouter (date,
   paths) is replaced by a fixed comment so the same seed gives a
   byte-identical routes file.

``edge_pair_flows_pcu_h`` turns a routes file into PCU/h per consecutive edge
pair (from-edge → to-edge), the input Webster needs per signal link.

Units: times in s (SUMO time unless "of day"), distances in m, flows in
veh/h or PCU/h as named.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import sumolib
import yaml

from sim.traffic.vtypes import VehicleType, load_vtypes, write_vtypes_xml

__all__ = [
    "DayProfile",
    "DemandResult",
    "Zone",
    "ZoneSet",
    "busiest_hour_edge_pair_flows",
    "edge_pair_flows_pcu_h",
    "edge_pair_passages",
    "generate_demand",
    "load_profile",
    "load_zones",
]

DAY_S = 86400.0
_MIN_EDGE_LENGTH_M = 15.0  # shorter edges (junction stubs) never serve as origin/destination


# --------------------------------------------------------------------------- profile


@dataclass(frozen=True)
class DayProfile:
    """Hourly weekday profile.

    shares[h]: fraction of daily trips starting in local hour h (sum 1).
    outbound[h]: direction α in [−1, 1] (+1 = all trips from homes to
    activities, −1 = all back home, 0 = symmetric).
    """

    shares: tuple[float, ...]
    outbound: tuple[float, ...]

    def rate_veh_s(self, t_of_day_s: np.ndarray, daily_trips: float) -> np.ndarray:
        """Trip rate (veh/s) at times of day (s after local midnight, any real).

        Linear between hour midpoints, periodic over 24 h; integrates to
        ``daily_trips`` over any whole day.
        """
        t = np.mod(np.asarray(t_of_day_s, dtype=float), DAY_S)
        mids = np.arange(-1, 25) * 3600.0 + 1800.0
        vals = np.array([self.shares[-1], *self.shares, self.shares[0]])
        return np.interp(t, mids, vals) * daily_trips / 3600.0

    def expected_trips(
        self, begin_s: float, end_s: float, day_offset_s: float, daily_trips: float
    ) -> float:
        """Expected number of trips departing in sim time [begin_s, end_s)."""
        grid, widths = _time_grid(begin_s, end_s)
        return float(np.sum(self.rate_veh_s(grid + day_offset_s, daily_trips) * widths))


def load_profile(path: Path | str) -> DayProfile:
    """Read ``hour,factor,outbound[,note]`` (24 rows); factors are normalised to sum 1."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if len(rows) != 24:
        raise ValueError(
            f"{path}: {len(rows)} rows, need 24 (hours 0..23). Hint: one row per local hour"
        )
    factors: list[float] = []
    outbound: list[float] = []
    for i, row in enumerate(rows):
        line = i + 2
        try:
            hour = int(row["hour"])
            f = float(row["factor"])
            a = float(row.get("outbound") or 0.0)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{path}: line {line}: {exc}. Hint: columns hour,factor,outbound with numbers"
            ) from None
        if hour != i or not (f >= 0 and math.isfinite(f)) or not -1.0 <= a <= 1.0:
            raise ValueError(
                f"{path}: line {line}: hour {hour}, factor {f}, outbound {a}. "
                "Hint: hours 0..23 in order, factor >= 0, outbound in [-1, 1]"
            )
        factors.append(f)
        outbound.append(a)
    total = sum(factors)
    if total <= 0:
        raise ValueError(f"{path}: all factors are zero. Hint: give the daily profile a shape")
    return DayProfile(tuple(f / total for f in factors), tuple(outbound))


def _time_grid(begin_s: float, end_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Centres and widths (s) of 1-s bins covering [begin_s, end_s)."""
    if not end_s > begin_s:
        raise ValueError(f"end_s ({end_s}) must exceed begin_s ({begin_s})")
    edges = np.arange(begin_s, end_s, 1.0)
    edges = np.append(edges, end_s)
    widths = np.diff(edges)
    return edges[:-1] + widths / 2.0, widths


# --------------------------------------------------------------------------- zones


@dataclass(frozen=True)
class Zone:
    """A ward or gateway. x, y in network metres; radius_m in m."""

    id: str
    name: str
    kind: str  # "ward" or "gateway"
    x: float
    y: float
    radius_m: float
    production: float  # P: population (wards) or weight (gateways)
    attraction: float  # A: activity index (wards) or weight (gateways)
    optional: bool = False
    group: str = ""  # gateways of one non-empty group exchange no through traffic


@dataclass(frozen=True)
class ZoneSet:
    """All zones plus the OD-model parameters from zones.yaml."""

    zones: tuple[Zone, ...]
    daily_trips: float
    split: dict[str, float]
    decay_m: float
    intrazonal_factor: float
    min_through_distance_m: float
    source: Path


def _req(d: Mapping[str, Any], key: str, where: str, path: Path, hint: str) -> Any:
    if key not in d:
        raise ValueError(f"{path}: {where} lacks key {key!r}. Hint: {hint}")
    return d[key]


def _num(
    v: Any, key: str, where: str, path: Path, *, positive: bool = False, signed: bool = False
) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(
            f"{path}: {where}: {key} = {v!r} is not a number. Hint: write a plain number"
        ) from None
    if not math.isfinite(x) or (x < 0 and not signed) or (positive and x == 0):
        raise ValueError(
            f"{path}: {where}: {key} = {x} is out of range. "
            f"Hint: {key} must be {'> 0' if positive else '>= 0'}"
        )
    return x


def load_zones(path: Path | str, net: sumolib.net.Net) -> ZoneSet:
    """Read zones.yaml; place zones with lon/lat (needs a geo-referenced net) or x/y (net m)."""
    path = Path(path)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise ValueError(
            f"{path}: expected a mapping at top level. Hint: see scenarios/dongha/zones.yaml"
        )
    split_raw = _req(doc, "trip_split", "top level", path, "internal/external/through fractions")
    split = {
        k: _num(
            _req(split_raw, k, "trip_split", path, "give all three fractions"),
            k,
            "trip_split",
            path,
        )
        for k in ("internal", "external", "through")
    }
    if abs(sum(split.values()) - 1.0) > 1e-6:
        raise ValueError(f"{path}: trip_split sums to {sum(split.values())}. Hint: make it 1")
    grav = doc.get("gravity", {}) or {}
    zones: list[Zone] = []
    seen: set[str] = set()
    for kind, key in (("ward", "wards"), ("gateway", "gateways")):
        for i, z in enumerate(doc.get(key) or []):
            where = f"{key}[{i}]"
            zid = str(_req(z, "id", where, path, "give every zone an id"))
            where = f"{key}[{i}] ({zid})"
            if zid in seen:
                raise ValueError(f"{path}: {where}: duplicate id. Hint: ids must be unique")
            seen.add(zid)
            if "x" in z and "y" in z:
                x = _num(z["x"], "x", where, path, signed=True)
                y = _num(z["y"], "y", where, path, signed=True)
            elif "lon" in z and "lat" in z:
                lon, lat = float(z["lon"]), float(z["lat"])
                if not net.hasGeoProj():
                    raise ValueError(
                        f"{path}: {where} uses lon/lat but the network has no "
                        "geo projection. Hint: give x/y in network metres"
                    )
                x, y = net.convertLonLat2XY(lon, lat)
            else:
                raise ValueError(f"{path}: {where} needs lon/lat or x/y. Hint: add a position")
            radius = _num(
                _req(z, "radius_m", where, path, "radius in m"),
                "radius_m",
                where,
                path,
                positive=True,
            )
            if kind == "ward":
                p = _num(_req(z, "population", where, path, "people"), "population", where, path)
                a = _num(
                    _req(z, "activity", where, path, "activity index"), "activity", where, path
                )
            else:
                p = a = _num(
                    _req(z, "weight", where, path, "share of external traffic"),
                    "weight",
                    where,
                    path,
                )
            zones.append(
                Zone(
                    zid,
                    str(z.get("name", zid)),
                    kind,
                    float(x),
                    float(y),
                    radius,
                    p,
                    a,
                    bool(z.get("optional", False)),
                    str(z.get("group", "")),
                )
            )
    if not any(z.kind == "ward" for z in zones):
        raise ValueError(f"{path}: no wards. Hint: list at least one ward under 'wards'")
    return ZoneSet(
        zones=tuple(zones),
        daily_trips=_num(doc.get("daily_trips", 0), "daily_trips", "top level", path),
        split=split,
        decay_m=_num(grav.get("decay_m", 3000.0), "decay_m", "gravity", path, positive=True),
        intrazonal_factor=_num(
            grav.get("intrazonal_factor", 0.3), "intrazonal_factor", "gravity", path
        ),
        min_through_distance_m=_num(
            grav.get("min_through_distance_m", 2500.0), "min_through_distance_m", "gravity", path
        ),
        source=path,
    )


# --------------------------------------------------------------------------- edges per zone


class _EdgeIndex:
    """Segments of every normal edge, for point-to-edge distances (m)."""

    def __init__(self, net: sumolib.net.Net) -> None:
        self.edges = sorted(
            (e for e in net.getEdges() if e.getFunction() == ""), key=lambda e: e.getID()
        )
        a, b, idx = [], [], []
        for k, e in enumerate(self.edges):
            shape = e.getShape()
            for p, q in itertools.pairwise(shape):
                a.append(p[:2])
                b.append(q[:2])
                idx.append(k)
        self.a = np.asarray(a, dtype=float)
        self.b = np.asarray(b, dtype=float)
        self.idx = np.asarray(idx, dtype=int)

    def distances(self, x: float, y: float) -> np.ndarray:
        """Distance (m) from (x, y) to each edge's shape, aligned with ``self.edges``."""
        p = np.array([x, y])
        ab = self.b - self.a
        den = np.einsum("ij,ij->i", ab, ab)
        t = np.clip(np.einsum("ij,ij->i", p - self.a, ab) / np.where(den > 0, den, 1.0), 0, 1)
        d = np.hypot(*(self.a + ab * t[:, None] - p).T)
        out = np.full(len(self.edges), np.inf)
        np.minimum.at(out, self.idx, d)
        return out


def _is_source(e: Any) -> bool:
    return bool(e.is_fringe(e.getIncoming()))


def _is_sink(e: Any) -> bool:
    return bool(e.is_fringe(e.getOutgoing()))


def _allowed_lanes(e: Any, vclass: str) -> int:
    return sum(1 for lane in e.getLanes() if lane.allows(vclass))


@dataclass
class _Candidates:
    """Edge ids and sampling probabilities per (zone, vClass), for origins and destinations."""

    orig: dict[tuple[str, str], tuple[list[str], np.ndarray]] = field(default_factory=dict)
    dest: dict[tuple[str, str], tuple[list[str], np.ndarray]] = field(default_factory=dict)


def _candidates(
    zs: ZoneSet, net: sumolib.net.Net, vclasses: Sequence[str], notes: list[str]
) -> tuple[list[Zone], _Candidates]:
    index = _EdgeIndex(net)
    if not index.edges:
        raise ValueError("the network has no normal edges")
    cands = _Candidates()
    active: list[Zone] = []
    for z in zs.zones:
        dist = index.distances(z.x, z.y)
        near = [index.edges[k] for k in np.flatnonzero(dist <= z.radius_m)]
        if z.kind == "ward":
            near = [e for e in near if e.getLength() >= _MIN_EDGE_LENGTH_M]
            o_pool, d_pool = near, near
        else:
            o_pool = [e for e in near if _is_source(e)]
            d_pool = [e for e in near if _is_sink(e)]
        if not o_pool and not d_pool:
            if z.optional:
                notes.append(
                    f"optional zone {z.id} skipped: no usable edge within {z.radius_m:.0f} m"
                )
                continue
            k = int(np.argmin(dist))
            what = "edge" if z.kind == "ward" else "fringe (boundary) edge"
            raise ValueError(
                f"{zs.source}: zone {z.id!r} ({z.name}) at x={z.x:.0f}, y={z.y:.0f} m has no "
                f"{what} within radius_m={z.radius_m:.0f} m; it lies outside the network "
                f"(nearest edge {index.edges[k].getID()!r} is {dist[k]:.0f} m away). "
                "Hint: move the centroid onto the network, enlarge radius_m, or mark a "
                "gateway optional: true"
            )
        active.append(z)
        for vc in vclasses:
            for pool, target in ((o_pool, cands.orig), (d_pool, cands.dest)):
                ids, w = [], []
                for e in pool:
                    n = _allowed_lanes(e, vc)
                    if n:
                        ids.append(e.getID())
                        w.append(n * (e.getLength() if z.kind == "ward" else 1.0))
                if ids:
                    arr = np.asarray(w, dtype=float)
                    target[(z.id, vc)] = (ids, arr / arr.sum())
    return active, cands


# --------------------------------------------------------------------------- OD model


def _od_pair_matrices(zs: ZoneSet, zones: Sequence[Zone]) -> tuple[np.ndarray, np.ndarray]:
    """Home→activity and activity→home OD weights (rows origin, cols destination)."""
    n = len(zones)
    xy = np.array([[z.x, z.y] for z in zones])
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    ward = np.array([z.kind == "ward" for z in zones])
    p = np.array([z.production for z in zones])
    a = np.array([z.attraction for z in zones])
    k = np.ones((n, n))
    ww = ward[:, None] & ward[None, :]
    k[ww] = np.exp(-d[ww] / zs.decay_m)
    k[np.eye(n, dtype=bool) & ww] *= zs.intrazonal_factor
    gg = ~ward[:, None] & ~ward[None, :]
    k[gg & (d < zs.min_through_distance_m)] = 0.0
    grp = np.array([z.group for z in zones])
    k[gg & (grp[:, None] == grp[None, :]) & (grp[:, None] != "")] = 0.0
    t_pa = p[:, None] * a[None, :] * k
    t_ap = a[:, None] * p[None, :] * k
    blocks = {"internal": ww, "through": gg, "external": ~ww & ~gg}
    for name, mask in blocks.items():
        for t in (t_pa, t_ap):
            s = t[mask].sum()
            if s > 0:
                t[mask] *= zs.split[name] / s
    return t_pa, t_ap


# --------------------------------------------------------------------------- result


@dataclass
class DemandResult:
    """What ``generate_demand`` produced. Counts are vehicles (trips)."""

    routes_file: Path
    vtypes_file: Path
    trips_file: Path
    vtypes: list[VehicleType]
    seed: int
    n_requested: int
    n_routed: int
    requested_by_class: dict[str, int]
    routed_by_class: dict[str, int]
    expected_trips: float
    notes: list[str] = field(default_factory=list)

    @property
    def n_dropped(self) -> int:
        """Trips duarouter could not route (dropped with --ignore-errors)."""
        return self.n_requested - self.n_routed

    def edge_pair_flows_pcu_h(
        self, begin_s: float, end_s: float, net: sumolib.net.Net | None = None
    ) -> dict[tuple[str, str], float]:
        """PCU/h per (from_edge, to_edge) over sim time [begin_s, end_s); see module function."""
        return edge_pair_flows_pcu_h(self.routes_file, self.vtypes, begin_s, end_s, net=net)

    def busiest_hour_edge_pair_flows(
        self, duration_s: float, net: sumolib.net.Net | None = None
    ) -> tuple[dict[tuple[str, str], float], float]:
        """The busiest hour's PCU/h per edge pair and its start (s); see module function."""
        return busiest_hour_edge_pair_flows(self.routes_file, self.vtypes, duration_s, net=net)


# --------------------------------------------------------------------------- main entry


def generate_demand(
    net_file: Path,
    out_dir: Path,
    *,
    begin_s: float,
    end_s: float,
    day_offset_s: float,
    seed: int,
    scale: float = 1.0,
    zones_yaml: Path,
    vtypes_csv: Path,
    profile_csv: Path,
    daily_trips: float | None = None,
) -> DemandResult:
    """Draw trips for sim time [begin_s, end_s) and route them with duarouter.

    day_offset_s: time of day (s after local midnight) at sim time 0.
    daily_trips: vehicle trips/day (default: ``daily_trips`` of zones.yaml);
    ``scale`` multiplies it. Writes ``trips.trips.xml``, ``vtypes.add.xml``
    and ``routes.rou.xml`` into ``out_dir``. Same inputs and seed → the
    same bytes.
    """
    net_file, out_dir = Path(net_file).resolve(), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if scale < 0:
        raise ValueError(f"scale must be >= 0, got {scale}")
    vtypes = load_vtypes(vtypes_csv)
    profile = load_profile(profile_csv)
    net = sumolib.net.readNet(str(net_file), withInternal=False)
    zs = load_zones(zones_yaml, net)
    per_day = (zs.daily_trips if daily_trips is None else float(daily_trips)) * scale
    notes: list[str] = []
    vclasses = sorted({v.vClass for v in vtypes})
    zones, cands = _candidates(zs, net, vclasses, notes)
    rng = np.random.default_rng(seed)

    # 1. departures (non-homogeneous Poisson)
    grid, widths = _time_grid(begin_s, end_s)
    lam = profile.rate_veh_s(grid + day_offset_s, per_day) * widths
    expected = float(lam.sum())
    n = int(rng.poisson(expected)) if expected > 0 else 0
    if n:
        cdf = np.cumsum(lam) / expected
        k = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(grid) - 1)
        t = grid[k] - widths[k] / 2 + rng.random(n) * widths[k]
        depart = np.sort(np.maximum(np.floor(t * 100.0) / 100.0, begin_s))  # 0.01 s, < end_s
    else:
        depart = np.zeros(0)

    # 2. vehicle types
    shares = np.array([v.share for v in vtypes])
    vt_idx = rng.choice(len(vtypes), size=n, p=shares / shares.sum())

    # 3. OD pairs per (hour of day, class)
    hour = (np.mod(depart + day_offset_s, DAY_S) // 3600).astype(int)
    t_pa, t_ap = _od_pair_matrices(zs, zones)
    nz = len(zones)
    orig_z = np.full(n, -1)
    dest_z = np.full(n, -1)
    for vi, v in enumerate(vtypes):
        o_ok = np.array([(z.id, v.vClass) in cands.orig for z in zones])
        d_ok = np.array([(z.id, v.vClass) in cands.dest for z in zones])
        mask = o_ok[:, None] & d_ok[None, :]
        for h in range(24):
            sel = np.flatnonzero((vt_idx == vi) & (hour == h))
            if not len(sel):
                continue
            al = profile.outbound[h]
            m = (0.5 * (1 + al) * t_pa + 0.5 * (1 - al) * t_ap) * mask
            if m.sum() <= 0:
                raise ValueError(
                    f"no OD pair usable by vehicle class {v.vClass!r}. Hint: check "
                    "that the network's edges allow it inside the zones"
                )
            flat = rng.choice(nz * nz, size=len(sel), p=(m / m.sum()).ravel())
            orig_z[sel], dest_z[sel] = np.divmod(flat, nz)

    # 4. edges inside zones
    from_e = np.empty(n, dtype=object)
    to_e = np.empty(n, dtype=object)
    for zidx, target, pool in ((orig_z, from_e, cands.orig), (dest_z, to_e, cands.dest)):
        for zi, z in enumerate(zones):
            for vi, v in enumerate(vtypes):
                sel = np.flatnonzero((zidx == zi) & (vt_idx == vi))
                if len(sel):
                    ids, p = pool[(z.id, v.vClass)]
                    target[sel] = [ids[j] for j in rng.choice(len(ids), size=len(sel), p=p)]
    for i in np.flatnonzero(from_e == to_e):  # same edge: redraw the destination edge
        ids, p = cands.dest[(zones[dest_z[i]].id, vtypes[vt_idx[i]].vClass)]
        for _ in range(20):
            to_e[i] = ids[int(rng.choice(len(ids), p=p))]
            if to_e[i] != from_e[i]:
                break

    # 5. files and routing
    vtypes_file = write_vtypes_xml(vtypes, out_dir / "vtypes.add.xml")
    trips_file = out_dir / "trips.trips.xml"
    _write_trips(trips_file, depart, vt_idx, from_e, to_e, vtypes, seed)
    routes_file = out_dir / "routes.rou.xml"
    _run_duarouter(net_file, out_dir, trips_file, vtypes_file, routes_file, seed)
    routed = _count_types(routes_file)
    requested = {v.id: int(np.sum(vt_idx == i)) for i, v in enumerate(vtypes)}
    return DemandResult(
        routes_file=routes_file,
        vtypes_file=vtypes_file,
        trips_file=trips_file,
        vtypes=vtypes,
        seed=seed,
        n_requested=n,
        n_routed=sum(routed.values()),
        requested_by_class=requested,
        routed_by_class={v.id: routed.get(v.id, 0) for v in vtypes},
        expected_trips=expected,
        notes=notes,
    )


def _write_trips(
    path: Path,
    depart: np.ndarray,
    vt_idx: np.ndarray,
    from_e: np.ndarray,
    to_e: np.ndarray,
    vtypes: Sequence[VehicleType],
    seed: int,
) -> None:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<!-- sim.traffic.demand trips, seed {seed} -->",
        "<routes>",
    ]
    for i in range(len(depart)):
        v = vtypes[vt_idx[i]]
        lat = ' departPosLat="random"' if v.latAlignment == "arbitrary" else ""
        lines.append(
            f'    <trip id="{v.id}.{i}" type={quoteattr(v.id)} depart="{depart[i]:.2f}" '
            f"from={quoteattr(from_e[i])} to={quoteattr(to_e[i])} "
            f'departLane="best" departSpeed="max"{lat}/>'
        )
    lines.append("</routes>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


_HEADER = re.compile(r"<!-- generated on .*?-->\n", re.DOTALL)


def _run_duarouter(
    net_file: Path, out_dir: Path, trips: Path, vtypes_file: Path, routes: Path, seed: int
) -> None:
    alt = out_dir / "routes.rou.alt.xml"
    dua_vtypes = out_dir / "duarouter.vtypes.xml"
    cmd = [
        sumolib.checkBinary("duarouter"),
        "-n",
        str(net_file),
        "--route-files",
        trips.name,
        "--additional-files",
        vtypes_file.name,
        "-o",
        routes.name,
        "--alternatives-output",
        alt.name,
        "--vtype-output",
        dua_vtypes.name,
        "--seed",
        str(int(seed) % 2**31),
        "--ignore-errors",
        "true",
        "--routing-threads",
        "1",
        "--no-step-log",
        "true",
        "--no-warnings",
        "true",
        "--error-log",
        "duarouter.log",
    ]
    proc = subprocess.run(cmd, cwd=out_dir, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not routes.exists():
        raise RuntimeError(
            f"duarouter failed ({proc.returncode}) in {out_dir}: "
            f"{proc.stderr.strip()[-2000:]}. Hint: see {out_dir}/duarouter.log"
        )
    for f in (alt, dua_vtypes):
        f.unlink(missing_ok=True)
    text = routes.read_text(encoding="utf-8")
    fixed = f"<!-- routed by duarouter from sim.traffic.demand trips, seed {seed} -->\n"
    routes.write_text(_HEADER.sub(fixed, text, count=1), encoding="utf-8")


def _count_types(routes_file: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, el in ET.iterparse(routes_file, events=("end",)):
        if el.tag == "vehicle":
            t = el.get("type", "DEFAULT_VEHTYPE")
            counts[t] = counts.get(t, 0) + 1
            el.clear()
    return counts


# --------------------------------------------------------------------------- PCU flows


def edge_pair_passages(
    routes_file: Path | str,
    vtypes: Sequence[VehicleType] | Mapping[str, float],
    *,
    net: sumolib.net.Net | None = None,
) -> Iterator[tuple[tuple[str, str], float, float]]:
    """Every passage of a routed vehicle over a consecutive edge pair, in file order.

    Yields ``((from_edge, to_edge), time_s, pcu)``. Without ``net`` the time is the
    vehicle's departure (a static assignment); with ``net`` it is the departure plus the
    free-flow travel time (edge length / min(edge speed, vType maxSpeed)) to the end of
    the from-edge. ``vtypes``: the table rows, or a mapping type id → PCU.

    Raises:
        ValueError: a vehicle with a type that has no PCU, or with no route.
    """
    if isinstance(vtypes, Mapping):
        pcu = {str(k): float(val) for k, val in vtypes.items()}
        vmax: dict[str, float] = {}
    else:
        pcu = {v.id: v.pcu for v in vtypes}
        vmax = {v.id: v.maxSpeed for v in vtypes}
    named: dict[str, list[str]] = {}
    edge_cache: dict[str, tuple[float, float]] = {}
    for _, el in ET.iterparse(routes_file, events=("end",)):
        if el.tag == "route" and el.get("id") is not None:
            named[el.get("id", "")] = (el.get("edges") or "").split()
        if el.tag != "vehicle":
            continue
        vid, vtype = el.get("id"), el.get("type", "DEFAULT_VEHTYPE")
        if vtype not in pcu:
            raise ValueError(
                f"{routes_file}: vehicle {vid!r} has type {vtype!r} with no PCU. "
                "Hint: pass the vehicle-type table the routes were made with"
            )
        route = el.find("route")
        if route is not None:
            edges = (route.get("edges") or "").split()
        elif el.get("route") in named:
            edges = named[el.get("route", "")]
        else:
            raise ValueError(f"{routes_file}: vehicle {vid!r} has no route")
        t = float(el.get("depart", "0"))
        weight = pcu[vtype]
        for a, b in itertools.pairwise(edges):
            if net is not None:
                if a not in edge_cache:
                    e = net.getEdge(a)
                    edge_cache[a] = (e.getLength(), e.getSpeed())
                length, speed = edge_cache[a]
                t += length / max(0.1, min(speed, vmax.get(vtype, speed)))
            yield (a, b), t, weight
        el.clear()


def edge_pair_flows_pcu_h(
    routes_file: Path | str,
    vtypes: Sequence[VehicleType] | Mapping[str, float],
    begin_s: float,
    end_s: float,
    *,
    net: sumolib.net.Net | None = None,
) -> dict[tuple[str, str], float]:
    """PCU/h on each consecutive edge pair (from_edge, to_edge) of routed vehicles.

    A vehicle contributes its type's PCU to every consecutive pair of its route whose
    passage time (see :func:`edge_pair_passages`) lies in sim time [begin_s, end_s); the
    sum is divided by the window length in hours. Keys are sorted.
    """
    if not end_s > begin_s:
        raise ValueError(f"end_s ({end_s}) must exceed begin_s ({begin_s})")
    acc: dict[tuple[str, str], float] = {}
    for pair, t, weight in edge_pair_passages(routes_file, vtypes, net=net):
        if begin_s <= t < end_s:
            acc[pair] = acc.get(pair, 0.0) + weight
    hours = (end_s - begin_s) / 3600.0
    return {k: acc[k] / hours for k in sorted(acc)}


def busiest_hour_edge_pair_flows(
    routes_file: Path | str,
    vtypes: Sequence[VehicleType] | Mapping[str, float],
    duration_s: float,
    *,
    net: sumolib.net.Net | None = None,
    step_s: float = 900.0,
) -> tuple[dict[tuple[str, str], float], float]:
    """Edge-pair flows (PCU/h) of the busiest hour within [0, duration_s), and its start (s).

    The hours considered start at multiples of ``step_s`` (s, dividing 3600) and end by
    ``duration_s``; the busiest has the largest total PCU over all pairs (the earliest on
    a tie). A run of an hour or less uses the whole run. The routes file is read once,
    so a 48 h demand costs no more than one pass (windows summed from ``step_s`` bins).
    """
    if not duration_s > 0:
        raise ValueError(f"duration_s must be > 0 s, got {duration_s}")
    if duration_s <= 3600:
        return edge_pair_flows_pcu_h(routes_file, vtypes, 0.0, duration_s, net=net), 0.0
    per_hour = round(3600.0 / step_s)
    if not (step_s > 0 and abs(per_hour * step_s - 3600.0) < 1e-9):
        raise ValueError(f"step_s must divide 3600 s, got {step_s}")
    n_bins = math.floor(duration_s / step_s + 1e-9)
    bins: list[dict[tuple[str, str], float]] = [{} for _ in range(n_bins)]
    for pair, t, weight in edge_pair_passages(routes_file, vtypes, net=net):
        k = int(t // step_s)
        if t >= 0 and k < n_bins:
            bins[k][pair] = bins[k].get(pair, 0.0) + weight
    totals = [sum(b.values()) for b in bins]
    best_total, best_first = -1.0, 0
    for first in range(0, n_bins - per_hour + 1):
        total = sum(totals[first : first + per_hour])
        if total > best_total:
            best_total, best_first = total, first
    acc: dict[tuple[str, str], float] = {}
    for b in bins[best_first : best_first + per_hour]:
        for pair, value in b.items():
            acc[pair] = acc.get(pair, 0.0) + value
    return {k: acc[k] for k in sorted(acc)}, best_first * step_s
