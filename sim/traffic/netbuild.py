"""Build the SUMO network of Đông Hà from the OpenStreetMap extract.

Pipeline (all coordinates in metres, UTM zone 48N / EPSG:32648 unless said otherwise):

1. ``osm_graph``: read the roads GeoJSON (lon/lat), clip to the city box, project,
   split lines at shared vertices into a connected graph, insert rail level crossings.
2. Resolve ``signals.yaml`` entries to graph nodes by the geometry of the named
   streets (shared node), or by a documented lon/lat.
3. One-way edges: dual carriageways detected by ``osm_graph.detect_carriageways``
   (rule and thresholds in that module's docstring), then the reviewed corrections of
   ``oneway_overrides.csv``, chain extension, merged clip-box ends, and a strong
   connectivity check that reverts any one-way edge that would strand traffic.
4. Signalised junctions become ONE SUMO junction each: the signal's nodes, nodes
   reached over short edges (≤ SIGNAL_JOIN_EDGE_M) and, for a signal on one
   carriageway, a node on the other carriageway (:func:`add_median_crossings`), are
   joined by an explicit ``<join id=signal reset=true>`` (``reset`` lets netconvert
   build every movement afresh: the extract has no median openings).
5. Write SUMO plain XML (``dongha.typ.xml`` from ``road_classes.csv``, ``dongha.nod.xml``
   with a ``<location>`` carrying the UTM projection, ``dongha.edg.xml``).
6. Run ``netconvert`` (other junction clusters joined within JOIN_DIST_M, signal
   guessing off, signals only from the nodes marked here, static default programs)
   → ``dongha.net.xml`` and ``build_report.json`` (one-way figures and per-edge list,
   TLS programs, strongly connected share).

Public API: :func:`build_network`, :func:`nets_equal`, :func:`default_inputs`,
:class:`NetBuildError`.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from sim.traffic.osm_graph import (
    UTM48N,
    UTM48N_PROJ,
    WGS84,
    Carriageway,
    GraphEdge,
    GraphNode,
    RoadGraph,
    build_graph,
    detect_carriageways,
    extend_along_chains,
    join_carriageway_ends,
    keep_strongly_connected,
    load_lines,
    name_keys,
    nearest_node,
    normalise_name,
    strongly_connected_components,
)

__all__ = [
    "CITY_BOX_LONLAT",
    "NetBuildError",
    "build_network",
    "default_inputs",
    "nets_equal",
]

#: Clip box (lon_min, lat_min, lon_max, lat_max) in degrees WGS84: the extract's own box,
#: which covers the city's 9 wards; national-road tails outside it are cut.
CITY_BOX_LONLAT: tuple[float, float, float, float] = (107.02, 16.74, 107.17, 16.88)
#: Vertices closer than this (m) are one point (measured: lines meet at shared vertices).
SNAP_M = 1.0
#: netconvert joins other junction clusters whose nodes are closer than this (m); 20 m
#: joins the divided crossings without signals (15 m left some apart; 25–35 m add
#: nothing but "parallel incoming" refusals, see build_report netconvert_join_warnings).
JOIN_DIST_M = 20.0
#: Named streets that do not share a node but pass within this distance (m) "meet".
NEAR_GAP_M = 15.0
#: A signalised junction is ONE SUMO junction: the signal's nodes, plus every node
#: reached from them over road edges of at most this length (m) and lying within
#: SIGNAL_CLUSTER_M of the signal's first node, are joined explicitly (<join>).
SIGNAL_JOIN_EDGE_M = 30.0
#: A signal on one carriageway of a divided road also takes the other carriageway:
#: its nearest point (at most SIGNAL_CLUSTER_M from the junction) becomes a node of
#: the junction — an existing end node if within this distance (m), else a new node.
MEDIAN_SNAP_M = 12.0
#: Nodes of the named streets within this distance (m) of the chosen one share its signal
#: (dual carriageways give 2–4 nodes per crossing).
SIGNAL_CLUSTER_M = 40.0
#: If the nearest node to a signal's lon/lat is farther than this (m), a node is inserted
#: on the named street instead.
SIGNAL_INSERT_BEYOND_M = 40.0
#: A signal's lon/lat may lie at most this far (m) from the street it names.
SIGNAL_MAX_OFFSET_M = 150.0

NET_BASENAME = "dongha"
REQUIRED_CLASS_COLUMNS = (
    "class",
    "kind",
    "lanes_per_direction",
    "speed_kmh",
    "speed_ms",
    "priority",
    "lane_width_m",
    "allow",
    "oneway_default",
    "source_why",
)


class NetBuildError(ValueError):
    """Bad or missing input to the network build; the message names file, entry and fix."""


def default_inputs(repo_root: Path) -> dict[str, Path]:
    """Paths of the committed Đông Hà inputs and output folder under ``repo_root``.

    Keys: ``roads_geojson``, ``road_classes_csv``, ``signals_yaml``,
    ``oneway_overrides_csv`` (keyword arguments of :func:`build_network`) and ``out_dir``.
    """
    base = Path(repo_root) / "scenarios" / "dongha"
    return {
        "roads_geojson": base / "osm" / "dongha_roads_osm.geojson",
        "road_classes_csv": base / "road_classes.csv",
        "signals_yaml": base / "signals.yaml",
        "oneway_overrides_csv": base / "oneway_overrides.csv",
        "out_dir": base / "net",
    }


# ------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class RoadClass:
    """One row of road_classes.csv; speed in m/s, width in m."""

    name: str
    kind: str
    lanes: int
    speed_ms: float
    priority: int
    lane_width_m: float
    allow: str
    oneway: bool


@dataclass(frozen=True)
class SignalSpec:
    """One signals.yaml entry; ``lonlat`` in degrees WGS84."""

    id: str
    streets: tuple[str, ...]
    reason: str
    lonlat: tuple[float, float] | None
    missing_in_osm: tuple[str, ...]


def _require_file(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise NetBuildError(
            f"{what} not found: {path}. Hint: pass an existing file, or use "
            "default_inputs(repo_root) for the committed scenarios/dongha inputs."
        )
    return path


def load_road_classes(path: Path) -> dict[str, RoadClass]:
    """Read road_classes.csv ('#' lines are comments) into {osm class: RoadClass}."""
    path = _require_file(path, "road classes table")
    rows = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    reader = csv.DictReader(rows)
    missing = [c for c in REQUIRED_CLASS_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise NetBuildError(
            f"{path}: missing columns {missing}. Hint: header must hold "
            f"{', '.join(REQUIRED_CLASS_COLUMNS)}."
        )
    out: dict[str, RoadClass] = {}
    for row in reader:
        cls = row["class"].strip()
        try:
            kmh, ms = float(row["speed_kmh"]), float(row["speed_ms"])
            rc = RoadClass(
                name=cls,
                kind=row["kind"].strip(),
                lanes=int(row["lanes_per_direction"]),
                speed_ms=ms,
                priority=int(row["priority"]),
                lane_width_m=float(row["lane_width_m"]),
                allow=" ".join(row["allow"].split()),
                oneway=row["oneway_default"].strip().lower() == "true",
            )
        except (TypeError, ValueError) as exc:
            raise NetBuildError(
                f"{path}: row {cls!r}: {exc}. Hint: numbers in numeric "
                "columns, true/false in oneway_default."
            ) from exc
        if abs(kmh / 3.6 - ms) > 0.01:
            raise NetBuildError(
                f"{path}: row {cls!r}: speed_ms {ms} != speed_kmh/3.6 "
                f"({kmh / 3.6:.2f}). Hint: fix one of the two."
            )
        if cls in out:
            raise NetBuildError(f"{path}: class {cls!r} listed twice. Hint: one row per class.")
        out[cls] = rc
    return out


def load_signals(path: Path) -> list[SignalSpec]:
    """Read signals.yaml: a top-level ``signals:`` list of {id, streets, reason, ...}."""
    import yaml

    path = _require_file(path, "signals file")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("signals") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise NetBuildError(
            f"{path}: no 'signals:' list. Hint: top level must be "
            "'signals:' followed by entries with id, streets and reason."
        )
    specs: list[SignalSpec] = []
    seen: set[str] = set()
    for k, e in enumerate(entries):
        label = f"entry #{k} ({e.get('id') if isinstance(e, dict) else e!r})"
        if not isinstance(e, dict):
            raise NetBuildError(f"{path}: {label} is not a mapping. Hint: use id/streets/reason.")
        sid = e.get("id")
        if not isinstance(sid, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", sid):
            raise NetBuildError(
                f"{path}: {label}: id must be ASCII letters/digits/_ (e.g. LeDuan_HungVuong)."
            )
        if sid in seen:
            raise NetBuildError(f"{path}: {label}: duplicate id {sid!r}. Hint: ids are unique.")
        seen.add(sid)
        streets = e.get("streets")
        if (
            not isinstance(streets, list)
            or not streets
            or not all(isinstance(s, str) and s.strip() for s in streets)
        ):
            raise NetBuildError(f"{path}: {label}: 'streets' must be a list of street names.")
        reason = e.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise NetBuildError(f"{path}: {label}: 'reason' is required (why is it signalised?).")
        lonlat = e.get("lonlat")
        if lonlat is not None:
            if not (
                isinstance(lonlat, list)
                and len(lonlat) == 2
                and all(isinstance(v, int | float) for v in lonlat)
            ):
                raise NetBuildError(f"{path}: {label}: lonlat must be [lon, lat] in degrees.")
            lonlat = (float(lonlat[0]), float(lonlat[1]))
        missing = tuple(e.get("missing_in_osm") or ())
        specs.append(SignalSpec(sid, tuple(streets), reason.strip(), lonlat, missing))
    return specs


@dataclass(frozen=True)
class OnewayOverride:
    """One reviewed row of oneway_overrides.csv.

    ``selector``: a graph edge id ("e27_0_0_3") or "line:" + a line source
    ("line:f27_0_0", every piece of that clipped OSM line). ``direction``: "forward"
    (the OSM digitised order), "reverse" or "two_way".
    """

    selector: str
    direction: str
    why: str


ONEWAY_DIRECTIONS = ("forward", "reverse", "two_way")


def load_oneway_overrides(path: Path | None) -> list[OnewayOverride]:
    """Read oneway_overrides.csv ('#' lines are comments); no file given → no overrides."""
    if path is None:
        return []
    path = _require_file(path, "one-way overrides table")
    rows = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    reader = csv.DictReader(rows)
    cols = ("selector", "direction", "why")
    if [c for c in cols if c not in (reader.fieldnames or [])]:
        raise NetBuildError(
            f"{path}: header must be {','.join(cols)}. Hint: see the "
            "comment block of scenarios/dongha/oneway_overrides.csv."
        )
    out: list[OnewayOverride] = []
    for k, row in enumerate(reader):
        sel, direction, why = (str(row.get(c) or "").strip() for c in cols)
        if not sel or direction not in ONEWAY_DIRECTIONS or not why:
            raise NetBuildError(
                f"{path}: row {k + 1} ({sel!r}): need a selector, a direction "
                f"in {ONEWAY_DIRECTIONS} and a non-empty why."
            )
        out.append(OnewayOverride(sel, direction, why))
    return out


def apply_oneway_overrides(
    graph: RoadGraph,
    oneway: dict[str, Carriageway],
    overrides: list[OnewayOverride],
    path: Path | None,
) -> tuple[dict[str, Carriageway], set[str]]:
    """Apply the reviewed overrides (a selector must match an edge).

    Returns the new one-way map and the ids of the edges set "two_way" by review.
    """
    out = dict(oneway)
    two_way: set[str] = set()
    for ov in overrides:
        if ov.selector.startswith("line:"):
            src = ov.selector[len("line:") :]
            hit = [e for e in graph.edges if e.line.source == src]
        else:
            hit = [e for e in graph.edges if e.id == ov.selector]
        if not hit:
            raise NetBuildError(
                f"{path}: selector {ov.selector!r} matches no road edge. Hint: "
                "use an edge id or line source listed in build_report.json "
                "('oneway' section), e.g. e27_0_0_3 or line:f27_0_0."
            )
        for e in hit:
            if ov.direction == "two_way":
                out.pop(e.id, None)
                two_way.add(e.id)
            else:
                out[e.id] = Carriageway(e.id, 1 if ov.direction == "forward" else -1, "override")
                two_way.discard(e.id)
    return out, two_way


# --------------------------------------------------------------- signal resolution


@dataclass(frozen=True)
class ResolvedSignal:
    """Where a signal landed: graph node ids it controls, and how it was found."""

    id: str
    nodes: tuple[str, ...]
    method: str  # "shared_node", "near_gap", "lonlat_snap", "lonlat_insert"
    offset_m: float


def _to_xy(lonlat: tuple[float, float]) -> tuple[float, float]:
    from pyproj import Transformer

    x, y = Transformer.from_crs(WGS84, UTM48N, always_xy=True).transform(*lonlat)
    return float(x), float(y)


def _to_lonlat(x: float, y: float) -> tuple[float, float]:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(UTM48N, WGS84, always_xy=True).transform(x, y)
    return round(float(lon), 6), round(float(lat), 6)


def _dist(graph: RoadGraph, a: str, b: str) -> float:
    na, nb = graph.nodes[a], graph.nodes[b]
    return math.hypot(na.x - nb.x, na.y - nb.y)


def resolve_signals(graph: RoadGraph, specs: list[SignalSpec], path: Path) -> list[ResolvedSignal]:
    """Find the graph node(s) of every signal; may insert nodes into ``graph``.

    Raises NetBuildError naming ``path`` and the entry when a street is unknown, the
    streets never meet and no lon/lat is given, or the place is ambiguous.
    """
    out: list[ResolvedSignal] = []
    taken: dict[str, str] = {}
    for spec in specs:
        res = _resolve_one(graph, spec, path)
        for n in res.nodes:
            if n in taken:
                raise NetBuildError(
                    f"{path}: entry {spec.id!r} lands on node {n}, already "
                    f"used by {taken[n]!r}. Hint: remove one, or give lonlat."
                )
            taken[n] = spec.id
        out.append(res)
    return out


def _resolve_one(graph: RoadGraph, spec: SignalSpec, path: Path) -> ResolvedSignal:
    missing_ok = {normalise_name(s) for s in spec.missing_in_osm}
    found: list[tuple[str, list[str]]] = []
    for street in spec.streets:
        key = normalise_name(street)
        nodes = graph.nodes_on_street(key)
        if nodes:
            found.append((key, nodes))
        elif key not in missing_ok:
            raise NetBuildError(
                f"{path}: entry {spec.id!r}: street {street!r} not found in the OSM network. "
                "Hint: check the spelling against the edge names in build_report.json "
                "('streets'), or list it under missing_in_osm and give lonlat: [lon, lat]."
            )
    if not found:
        raise NetBuildError(
            f"{path}: entry {spec.id!r}: none of {list(spec.streets)} is in "
            "the network. Hint: name at least one street present in the OSM."
        )
    candidates: list[str] = []
    method = "shared_node"
    if len(found) >= 2:
        common = set(found[0][1]).intersection(*(set(n) for _, n in found[1:]))
        candidates = sorted(common, key=lambda n: (int(n[1:]) if n[1:].isdigit() else -1, n))
        if not candidates:
            method = "near_gap"
            candidates = [
                a for a in found[0][1] if any(_dist(graph, a, b) <= NEAR_GAP_M for b in found[1][1])
            ]
    if spec.lonlat is not None:
        p = _to_xy(spec.lonlat)
        if candidates:
            best, d = nearest_node(graph, p, candidates)
            if d > SIGNAL_MAX_OFFSET_M:
                raise NetBuildError(
                    f"{path}: entry {spec.id!r}: lonlat is {d:.0f} m from where "
                    f"{list(spec.streets)} meet. Hint: fix or drop lonlat."
                )
        else:
            street_nodes = sorted({n for _, ns in found for n in ns})
            best, d = nearest_node(graph, p, street_nodes)
            method = "lonlat_snap"
            if d > SIGNAL_INSERT_BEYOND_M:
                best, d = _insert_signal_node(graph, spec, p, [k for k, _ in found], path)
                method = "lonlat_insert"
        return ResolvedSignal(spec.id, _cluster(graph, best, candidates or [best]), method, d)
    if not candidates:
        raise NetBuildError(
            f"{path}: entry {spec.id!r}: streets {list(spec.streets)} do not meet in the OSM "
            "network. Hint: add lonlat: [lon, lat] of the junction (it snaps to the nearest "
            "node of the named streets)."
        )
    groups: list[list[str]] = []
    for c in candidates:
        for g in groups:
            if _dist(graph, g[0], c) <= SIGNAL_CLUSTER_M:
                g.append(c)
                break
        else:
            groups.append([c])
    if len(groups) > 1:
        places = [_to_lonlat(graph.nodes[g[0]].x, graph.nodes[g[0]].y) for g in groups]
        raise NetBuildError(
            f"{path}: entry {spec.id!r}: streets meet at {len(groups)} places "
            f"{places}. Hint: add lonlat: [lon, lat] to choose one."
        )
    return ResolvedSignal(spec.id, _cluster(graph, groups[0][0], groups[0]), method, 0.0)


def _cluster(graph: RoadGraph, best: str, candidates: list[str]) -> tuple[str, ...]:
    near = [c for c in candidates if _dist(graph, best, c) <= SIGNAL_CLUSTER_M]
    return tuple(sorted(set(near) | {best}, key=lambda n: (len(n), n)))


def signal_junctions(graph: RoadGraph, signals: list[ResolvedSignal]) -> dict[str, tuple[str, ...]]:
    """Graph nodes that make up each signal's single SUMO junction: {signal id: node ids}.

    Grown from the signal's nodes over road edges of at most SIGNAL_JOIN_EDGE_M,
    keeping nodes within SIGNAL_CLUSTER_M of the first one; rail crossings, dead ends
    and nodes of another signal are never absorbed. Sorted like the graph's node ids.
    """
    owner = {n: s.id for s in signals for n in s.nodes}
    adj: dict[str, list[str]] = {}
    for e in graph.edges:
        if e.line.kind == "rail" or e.length_m > SIGNAL_JOIN_EDGE_M:
            continue
        adj.setdefault(e.from_node, []).append(e.to_node)
        adj.setdefault(e.to_node, []).append(e.from_node)
    out: dict[str, tuple[str, ...]] = {}
    taken: set[str] = set()
    for s in signals:
        seed = s.nodes[0]
        members = set(s.nodes)
        stack = list(s.nodes)
        while stack:
            for m in adj.get(stack.pop(), ()):
                node = graph.nodes[m]
                if (
                    m in members
                    or m in taken
                    or owner.get(m, s.id) != s.id
                    or node.kind in ("rail_crossing", "dead_end")
                    or _dist(graph, seed, m) > SIGNAL_CLUSTER_M
                ):
                    continue
                members.add(m)
                stack.append(m)
        taken |= members
        out[s.id] = tuple(sorted(members, key=lambda n: (len(n), n)))
    return out


def add_median_crossings(
    graph: RoadGraph,
    junctions: dict[str, tuple[str, ...]],
    oneway: dict[str, Carriageway],
) -> dict[str, list[str]]:
    """Bring the far carriageway of a divided road into the signal's junction.

    The extract has no median openings: a side street often meets only the near
    carriageway, so the signal would not control the far one and no left turn
    would exist. For every one-way edge at a signal's junction, each partner
    carriageway (see :func:`sim.traffic.osm_graph.detect_carriageways`) that does not
    touch the junction gets a node at its point nearest to the junction's centre
    (an end node within MEDIAN_SNAP_M is reused; else the edge is split, the two
    halves "<id>a"/"<id>b" keeping its direction) and that node joins the junction.
    Modifies ``graph``, ``junctions`` and ``oneway`` in place; returns the added
    node ids per signal.
    """
    added: dict[str, list[str]] = {}
    owner = {n: sid for sid, ns in junctions.items() for n in ns}
    for sid in list(junctions):
        members = list(junctions[sid])
        cx = sum(graph.nodes[n].x for n in members) / len(members)
        cy = sum(graph.nodes[n].y for n in members) / len(members)
        near = {
            e.id
            for e in graph.edges
            if e.id in oneway and (e.from_node in members or e.to_node in members)
        }
        partners = sorted({p for eid in near for p in oneway[eid].partners})
        for pid in partners:
            # the partner, or the halves it was split into by an earlier signal
            pieces = [
                i
                for i, e in enumerate(graph.edges)
                if e.id == pid or (e.id.startswith(pid) and set(e.id[len(pid) :]) <= {"a", "b"})
            ]
            if any(
                graph.edges[i].from_node in members or graph.edges[i].to_node in members
                for i in pieces
            ):
                continue
            best: tuple[float, int, int, tuple[float, float]] | None = None
            for idx in pieces:
                shape = graph.edges[idx].shape
                for si, (a, b) in enumerate(itertools.pairwise(shape)):
                    foot = _foot((cx, cy), a, b)
                    cand = (math.dist((cx, cy), foot), idx, si, foot)
                    if best is None or cand[:3] < best[:3]:
                        best = cand
            if best is None or best[0] > SIGNAL_CLUSTER_M:
                continue
            _, idx, si, foot = best
            e = graph.edges[idx]
            ends = [
                n
                for n in (e.from_node, e.to_node)
                if math.dist(foot, (graph.nodes[n].x, graph.nodes[n].y)) <= MEDIAN_SNAP_M
            ]
            if ends:
                nid = min(ends, key=lambda n: math.dist(foot, (graph.nodes[n].x, graph.nodes[n].y)))
                if owner.get(nid, sid) != sid or graph.nodes[nid].kind != "junction":
                    continue
            else:
                nid = f"n_{sid}_{len(added.get(sid, [])) + 1}"
                first, second = _split_edge(graph, idx, si, foot, nid)
                c = oneway.pop(e.id)
                for half in (first, second):
                    oneway[half.id] = Carriageway(
                        half.id, c.direction, c.method, c.partners, c.paired_fraction, c.gap_m
                    )
            if nid not in members:
                members.append(nid)
                owner[nid] = sid
                added.setdefault(sid, []).append(nid)
        junctions[sid] = tuple(sorted(members, key=lambda n: (len(n), n)))
    return added


def _insert_signal_node(
    graph: RoadGraph, spec: SignalSpec, p: tuple[float, float], keys: list[str], path: Path
) -> tuple[str, float]:
    """Split the nearest edge of the named streets at the foot of ``p``; new node id."""
    best: tuple[float, int, int, tuple[float, float]] | None = None
    for ei, e in enumerate(graph.edges):
        if not set(name_keys(e.line.name)) & set(keys):
            continue
        for si, (a, b) in enumerate(zip(e.shape, e.shape[1:], strict=False)):
            foot = _foot(p, a, b)
            cand = (math.dist(p, foot), ei, si, foot)
            if best is None or cand[:3] < best[:3]:
                best = cand
    if best is None or best[0] > SIGNAL_MAX_OFFSET_M:
        raise NetBuildError(
            f"{path}: entry {spec.id!r}: lonlat is farther than "
            f"{SIGNAL_MAX_OFFSET_M:.0f} m from {keys}. Hint: fix lonlat."
        )
    d, ei, si, foot = best
    nid = f"n_{spec.id}"
    _split_edge(graph, ei, si, foot, nid)
    return nid, d


def _split_edge(
    graph: RoadGraph, idx: int, si: int, foot: tuple[float, float], nid: str
) -> tuple[GraphEdge, GraphEdge]:
    """Split edge ``idx`` after shape point ``si`` at ``foot`` (m) with a new junction ``nid``."""
    e = graph.edges[idx]
    foot = (round(foot[0], 3), round(foot[1], 3))
    graph.nodes[nid] = GraphNode(nid, foot[0], foot[1], "junction")
    first = GraphEdge(f"{e.id}a", e.from_node, nid, e.line, (*e.shape[: si + 1], foot))
    second = GraphEdge(f"{e.id}b", nid, e.to_node, e.line, (foot, *e.shape[si + 1 :]))
    graph.edges[idx : idx + 1] = [first, second]
    return first, second


def _foot(
    p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]
) -> tuple[float, float]:
    dx, dy = b[0] - a[0], b[1] - a[1]
    den = dx * dx + dy * dy
    t = 0.0 if den == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / den))
    return a[0] + t * dx, a[1] + t * dy


# ------------------------------------------------------------------ plain XML


def _fmt(v: float) -> str:
    return f"{v:.2f}"


def write_plain_xml(
    out_dir: Path,
    graph: RoadGraph,
    classes: dict[str, RoadClass],
    signals: list[ResolvedSignal],
    roads_geojson: Path,
    oneway: dict[str, Carriageway] | None = None,
    junctions: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, Path]:
    """Write dongha.typ.xml, dongha.nod.xml (with <location>) and dongha.edg.xml.

    Node x/y are UTM 48N metres; the <location> element carries the projection so that
    netconvert keeps it in the net and sumolib can convert lon/lat ↔ x/y. Edges in
    ``oneway`` are written in their one direction only (id "-…" when against the OSM
    digitised order), lanes centred on the drawn line. The nodes of a signal that
    controls several graph nodes (``junctions``, see :func:`signal_junctions`) are
    joined (``<join id=signal id>``) into one junction carrying the signal.
    """
    oneway = oneway or {}
    junctions = junctions if junctions is not None else {s.id: s.nodes for s in signals}
    for e in graph.edges:
        if e.line.road_class not in classes:
            raise NetBuildError(
                f"road class {e.line.road_class!r} of OSM feature "
                f"{e.line.source} ({roads_geojson}) has no row in the road "
                "classes table. Hint: add a row for it to road_classes.csv."
            )
    tl_of = {n: sid for sid, nodes in junctions.items() for n in nodes}
    xs = [n.x for n in graph.nodes.values()]
    ys = [n.y for n in graph.nodes.values()]
    lon0, lat0 = _to_lonlat(min(xs), min(ys))
    lon1, lat1 = _to_lonlat(max(xs), max(ys))
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!-- Generated by sim/traffic/netbuild.py '
        "from OpenStreetMap data, © OpenStreetMap contributors, ODbL 1.0. -->\n"
    )
    paths = {k: out_dir / f"{NET_BASENAME}.{k}.xml" for k in ("typ", "nod", "edg")}

    typ = [head, "<types>\n"]
    for rc in classes.values():
        typ.append(
            f'    <type id="{rc.name}" numLanes="{rc.lanes}" speed="{rc.speed_ms:.2f}" '
            f'priority="{rc.priority}" width="{rc.lane_width_m:.2f}" allow="{rc.allow}" '
            f'oneway="{str(rc.oneway).lower()}"/>\n'
        )
    typ.append("</types>\n")
    paths["typ"].write_text("".join(typ), encoding="utf-8")

    nod = [head, "<nodes>\n"]
    nod.append(
        f'    <location netOffset="0.00,0.00" '
        f'convBoundary="{_fmt(min(xs))},{_fmt(min(ys))},{_fmt(max(xs))},{_fmt(max(ys))}" '
        f'origBoundary="{lon0:.6f},{lat0:.6f},{lon1:.6f},{lat1:.6f}" '
        f'projParameter="{UTM48N_PROJ}"/>\n'
    )
    for n in graph.nodes.values():
        attrs = f'id="{n.id}" x="{_fmt(n.x)}" y="{_fmt(n.y)}"'
        if n.id in tl_of:
            attrs += f' type="traffic_light" tl="{tl_of[n.id]}" tlType="static"'
        elif n.kind == "rail_crossing":
            attrs += ' type="rail_crossing"'
        nod.append(f"    <node {attrs}/>\n")
    for sid, nodes in junctions.items():
        if len(nodes) > 1:
            nod.append(
                f'    <join reset="true" id="{sid}" nodes="{" ".join(nodes)}" '
                f'type="traffic_light" tl="{sid}" tlType="static"/>\n'
            )
    nod.append("</nodes>\n")
    paths["nod"].write_text("".join(nod), encoding="utf-8")

    edg = [head, "<edges>\n"]
    for e in graph.edges:
        rc = classes[e.line.road_class]
        name = f" name={quoteattr(e.line.label)}" if e.line.label else ""
        c = oneway.get(e.id)
        spread = ' spreadType="center"' if c is not None else ""
        if c is None or c.direction > 0:
            fwd = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in e.shape)
            edg.append(
                f'    <edge id="{e.id}" from="{e.from_node}" to="{e.to_node}" '
                f'type="{rc.name}"{name} shape="{fwd}"{spread}/>\n'
            )
        if (c is None and not rc.oneway) or (c is not None and c.direction < 0):
            rev = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in reversed(e.shape))
            edg.append(
                f'    <edge id="-{e.id}" from="{e.to_node}" to="{e.from_node}" '
                f'type="{rc.name}"{name} shape="{rev}"{spread}/>\n'
            )
    edg.append("</edges>\n")
    paths["edg"].write_text("".join(edg), encoding="utf-8")
    return paths


# ------------------------------------------------------------------ netconvert

#: netconvert options (besides the input/output files); see the report for why.
NETCONVERT_OPTIONS: tuple[str, ...] = (
    "--junctions.join",
    "true",
    "--junctions.join-dist",
    f"{JOIN_DIST_M:g}",
    "--tls.guess",
    "false",
    "--tls.guess-signals",
    "false",
    "--tls.default-type",
    "static",
    "--tls.join",
    "false",
    "--no-turnarounds.except-deadend",
    "true",
    "--output.street-names",
    "true",
    "--output.original-names",
    "true",
    "--geometry.remove",
    "false",
    "--roundabouts.guess",
    "true",
    "--sidewalks.guess",
    "false",
    "--no-warnings",
    "false",
)


def find_netconvert(netconvert: str | None = None) -> str:
    """Path of netconvert: the argument, else $SUMO_HOME of the `sumo` wheel, else PATH."""
    if netconvert:
        exe = shutil.which(netconvert)
        if exe is None:
            raise NetBuildError(
                f"netconvert not found at {netconvert!r}. Hint: pass the path "
                "of an executable netconvert, or None to use the sumo wheel's."
            )
        return exe
    try:
        import sumo  # eclipse-sumo wheel

        cand = Path(sumo.SUMO_HOME) / "bin" / "netconvert"
        if cand.is_file():
            return str(cand)
    except ImportError:
        pass
    found = shutil.which("netconvert")
    if found:
        return found
    raise NetBuildError(
        "netconvert not found. Hint: pip install eclipse-sumo (it ships "
        "netconvert), put SUMO's bin/ on PATH, or pass netconvert=PATH."
    )


def run_netconvert(out_dir: Path, netconvert: str) -> list[str]:
    """Run netconvert in ``out_dir`` on the plain files; returns its warning lines."""
    args = [
        netconvert,
        "--type-files",
        f"{NET_BASENAME}.typ.xml",
        "--node-files",
        f"{NET_BASENAME}.nod.xml",
        "--edge-files",
        f"{NET_BASENAME}.edg.xml",
        "--output-file",
        f"{NET_BASENAME}.net.xml",
        *NETCONVERT_OPTIONS,
    ]
    proc = subprocess.run(args, cwd=out_dir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise NetBuildError(
            f"netconvert failed (exit {proc.returncode}) in {out_dir}:\n"
            f"{proc.stderr.strip()[-2000:]}\nHint: inspect the plain XML "
            "files written next to it."
        )
    return [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.startswith("Warning")]


# ----------------------------------------------------------------------- report


def _net_facts(net_file: Path) -> dict[str, object]:
    """Counts, TLS ids → controlled junction ids, rail crossings, street names (from XML)."""
    import xml.etree.ElementTree as ET

    root = ET.parse(net_file).getroot()
    edges = [e for e in root.iter("edge") if e.get("function") != "internal"]
    junctions = [j for j in root.iter("junction") if j.get("type") != "internal"]
    tls_nodes: dict[str, list[str]] = {}
    for c in root.iter("connection"):
        tl = c.get("tl")
        if tl:
            tls_nodes.setdefault(tl, [])
    edge_to = {e.get("id"): e.get("to") for e in edges}
    for c in root.iter("connection"):
        tl = c.get("tl")
        if tl:
            node = edge_to.get(c.get("from") or "")
            if node and node not in tls_nodes[tl]:
                tls_nodes[tl].append(node)
    tls_ids = sorted(t.get("id") or "" for t in root.iter("tlLogic"))
    programs: dict[str, dict[str, object]] = {}
    for t in root.iter("tlLogic"):
        phases = [p.get("state") or "" for p in t.iter("phase")]
        greens = [s for s in phases if ("G" in s or "g" in s) and "y" not in s]
        programs[t.get("id") or ""] = {
            "cycle_s": round(sum(float(p.get("duration") or 0) for p in t.iter("phase")), 1),
            "phases": len(phases),
            "green_phases": len(greens),
            "links": len(phases[0]) if phases else 0,
        }
    road_ids = {e.get("id") or "" for e in edges if e.get("type") != "rail"}
    arcs = [
        (c.get("from") or "", c.get("to") or "")
        for c in root.iter("connection")
        if c.get("from") in road_ids and c.get("to") in road_ids
    ]
    sccs = strongly_connected_components(arcs) if arcs else [[]]
    rail_x = sorted(j.get("id") or "" for j in junctions if j.get("type") == "rail_crossing")
    names = sorted({e.get("name") or "" for e in edges if e.get("name")})
    return {
        "edges": len(edges),
        "road_edges": sum(1 for e in edges if e.get("type") != "rail"),
        "rail_edges": sum(1 for e in edges if e.get("type") == "rail"),
        "junctions": len(junctions),
        "tls_count": len(tls_ids),
        "tls": {t: sorted(tls_nodes.get(t, [])) for t in tls_ids},
        "tls_programs": {t: programs[t] for t in tls_ids},
        "largest_scc_road_edges": len(sccs[0]),
        "largest_scc_share": round(len(sccs[0]) / max(1, len(road_ids)), 4),
        "rail_crossings": rail_x,
        "streets": names,
    }


def _heading_deg(shape: tuple[tuple[float, float], ...], direction: int) -> int:
    """Compass heading (deg, 0 = north, clockwise) of travel from first to last point."""
    (x0, y0), (x1, y1) = (shape[0], shape[-1]) if direction > 0 else (shape[-1], shape[0])
    return round(math.degrees(math.atan2(x1 - x0, y1 - y0))) % 360


def _oneway_report(
    graph: RoadGraph,
    detected: dict[str, Carriageway],
    oneway: dict[str, Carriageway],
    overrides: list[OnewayOverride],
    merged_ends: list[tuple[str, str]],
    reverted: list[str],
) -> dict[str, object]:
    """Figures and per-edge list of the one-way (dual-carriageway) decision."""
    from sim.traffic import osm_graph as og

    road = [e for e in graph.edges if e.line.kind != "rail"]

    def km(ids: set[str]) -> float:
        return round(sum(e.length_m for e in road if e.id in ids) / 1000, 2)

    by_method: dict[str, set[str]] = {}
    for eid, c in oneway.items():
        by_method.setdefault(c.method, set()).add(eid)
    return {
        "rule": "carriageway pairs: same name/ref (or same class, one unnamed), heading "
        f"difference <= {og.PAIR_MAX_ANGLE_DEG:g} deg, {og.PAIR_MIN_GAP_M:g}-"
        f"{og.PAIR_MAX_GAP_M:g} m apart over >= {og.PAIR_MIN_FRACTION:.0%} of the "
        "edge; traffic keeps the other carriageway on its LEFT (right-hand traffic)",
        "road_km": round(sum(e.length_m for e in road) / 1000, 2),
        "oneway_km": km(set(oneway)),
        "oneway_edges": len(oneway),
        "km_by_method": {m: km(ids) for m, ids in sorted(by_method.items())},
        "detected_edges": len(detected),
        "overrides": [
            {"selector": o.selector, "direction": o.direction, "why": o.why} for o in overrides
        ],
        "merged_dead_ends": [list(p) for p in merged_ends],
        "reverted_to_two_way": reverted,
        "edges": [
            [
                e.id,
                e.line.label or "",
                oneway[e.id].method,
                _heading_deg(e.shape, oneway[e.id].direction),
                round(e.length_m),
                oneway[e.id].gap_m,
            ]
            for e in road
            if e.id in oneway
        ],
        "edges_columns": [
            "graph_edge",
            "street",
            "method",
            "travel_heading_deg",
            "length_m",
            "gap_m",
        ],
    }


def build_network(
    out_dir: Path,
    *,
    roads_geojson: Path,
    road_classes_csv: Path,
    signals_yaml: Path,
    oneway_overrides_csv: Path | None = None,
    netconvert: str | None = None,
) -> dict:
    """Build the Đông Hà SUMO network into ``out_dir``; return the build report.

    Writes dongha.{typ,nod,edg}.xml, dongha.net.xml and build_report.json. Deterministic:
    two builds differ only in netconvert's header comment (see :func:`nets_equal`).
    Raises NetBuildError (a ValueError) for missing/bad inputs.
    """
    roads_geojson = _require_file(roads_geojson, "roads GeoJSON")
    classes = load_road_classes(road_classes_csv)
    specs = load_signals(signals_yaml)
    overrides = load_oneway_overrides(oneway_overrides_csv)
    exe = find_netconvert(netconvert)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    graph = build_graph(load_lines(roads_geojson, CITY_BOX_LONLAT), snap_m=SNAP_M)
    signals = resolve_signals(graph, specs, Path(signals_yaml))
    detected = detect_carriageways(graph)
    oneway, two_way = apply_oneway_overrides(graph, detected, overrides, oneway_overrides_csv)
    oneway = extend_along_chains(graph, oneway, frozen=two_way)
    merged_ends = join_carriageway_ends(graph, oneway)
    oneway, reverted = keep_strongly_connected(graph, oneway)
    junctions = signal_junctions(graph, signals)
    median_nodes = add_median_crossings(graph, junctions, oneway)
    write_plain_xml(out_dir, graph, classes, signals, roads_geojson, oneway, junctions)
    warnings = run_netconvert(out_dir, exe)
    facts = _net_facts(out_dir / f"{NET_BASENAME}.net.xml")

    missing_tls = [s.id for s in signals if s.id not in facts["tls"]]  # type: ignore[operator]
    if missing_tls:
        raise NetBuildError(
            f"signals {missing_tls} from {signals_yaml} did not survive "
            "netconvert. Hint: check that their nodes have in/out edges."
        )
    specs_by_id = {s.id: s for s in specs}
    report: dict[str, object] = {
        "attribution": "© OpenStreetMap contributors, ODbL 1.0",
        "inputs": {
            "roads_geojson": roads_geojson.name,
            "road_classes_csv": Path(road_classes_csv).name,
            "signals_yaml": Path(signals_yaml).name,
            "oneway_overrides_csv": (
                Path(oneway_overrides_csv).name if oneway_overrides_csv is not None else None
            ),
        },
        "clip_box_lonlat": list(CITY_BOX_LONLAT),
        "projection": {"epsg": 32648, "proj": UTM48N_PROJ},
        "graph": graph.stats,
        **facts,
        "signals": [
            {
                "id": s.id,
                "streets": list(specs_by_id[s.id].streets),
                "method": s.method,
                "offset_m": round(s.offset_m, 1),
                "graph_nodes": list(s.nodes),
                "lonlat": list(_to_lonlat(graph.nodes[s.nodes[0]].x, graph.nodes[s.nodes[0]].y)),
                "net_nodes": facts["tls"][s.id],  # type: ignore[index]
            }
            for s in signals
        ],
        "signal_junctions": {
            sid: {"graph_nodes": list(nodes), "median_nodes": median_nodes.get(sid, [])}
            for sid, nodes in junctions.items()
        },
        "oneway": _oneway_report(graph, detected, oneway, overrides, merged_ends, reverted),
        "netconvert_options": list(NETCONVERT_OPTIONS),
        "netconvert_warnings": len(warnings),
        "netconvert_join_warnings": [w for w in warnings if "join" in w],
    }
    (out_dir / "build_report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return report


_LEADING_COMMENT = re.compile(r"\s*<!--.*?-->", re.DOTALL)
_XML_DECL = re.compile(r"\s*<\?xml[^>]*\?>")


def _strip_header(text: str) -> str:
    """Drop the XML declaration and every comment before the first element.

    netconvert writes its date, input paths and options there.
    """
    pos = 0
    while True:
        m = _XML_DECL.match(text, pos) or _LEADING_COMMENT.match(text, pos)
        if m is None:
            return text[pos:].lstrip()
        pos = m.end()


def nets_equal(a: Path, b: Path) -> bool:
    """True if two .net.xml files are byte-identical apart from netconvert's header comment."""
    ta = Path(a).read_text(encoding="utf-8")
    tb = Path(b).read_text(encoding="utf-8")
    return _strip_header(ta) == _strip_header(tb)
