"""Topology of the OpenStreetMap road extract: lines → a connected node/edge graph.

The extract (GeoJSON, WGS84 lon/lat) has no junction nodes: roads meet where their
polylines share a vertex. This module

1. reads the features, clips them to a lon/lat box and projects them to UTM zone 48N
   (EPSG:32648, metres, x east / y north);
2. snaps vertices closer than ``snap_m`` into one point;
3. splits every line at points it shares with another line (road–road, rail–rail),
   and at level crossings (rail × road, bridges excluded), giving graph edges;
4. keeps the largest connected component (by length);
5. decides which edges are one-way (the extract has NO oneway tags).

One-way rule (dual carriageways, right-hand traffic). OSM draws a divided road as
two parallel lines of the same road, one per carriageway; built two-way each, they
would give two two-way roads side by side. :func:`detect_carriageways` pairs them:

- same road: the lines share a name or ref ("Lê Duẩn" / "Quốc lộ 1" both ref QL.1),
  or have the same class and one carries neither;
- parallel: local headings differ by at most PAIR_MAX_ANGLE_DEG = 20° (either sense);
- across: PAIR_MIN_GAP_M = 3 m to PAIR_MAX_GAP_M = 40 m apart, the offset within
  PAIR_MAX_LEAN_DEG = 30° of the normal (the extract is simplified to ~30 m, so real
  pairs measure 5–25 m between centre lines; below 3 m two lines are not separate
  carriageways);
- over most of the edge: at least PAIR_MIN_FRACTION = 60 % of its length (sampled
  every 5 m), with the partner on one side for ≥ 80 % of that.

Vietnam drives on the right: looking along the direction of travel, the other
carriageway is on the LEFT. So an edge runs in its digitised direction if its
partner lies to the left of it, else reversed. Lines with partners on both sides
(the middle of three) and pieces whose partners would run the same way stay two-way;
closed lines up to 300 m (roundabouts) run counter-clockwise.
:func:`extend_along_chains` carries one-way flow through nodes where only two pieces
of the road meet (the converging ends of a pair); :func:`join_carriageway_ends`
merges the two loose ends of a pair cut by the clip box into one dead end; and
:func:`keep_strongly_connected` reverts any one-way edge that would strand traffic
(U-turns only at dead ends, as netconvert builds them).

Everything is deterministic: features, parts and vertices are visited in file order,
node and edge ids derive from that order, and no set/dict iteration order leaks out.
"""

from __future__ import annotations

import itertools
import json
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

UTM48N = "EPSG:32648"
WGS84 = "EPSG:4326"
#: PROJ string written to the SUMO ``<location projParameter=...>``; equals EPSG:32648.
UTM48N_PROJ = "+proj=utm +zone=48 +ellps=WGS84 +datum=WGS84 +units=m +no_defs"

XY = tuple[float, float]


def normalise_name(name: str) -> str:
    """Key for matching street names: NFC, case-folded, whitespace collapsed, no "Đường ".

    "Đường Lê Thánh Tông" and "lê thánh tông" give the same key.
    """
    key = " ".join(unicodedata.normalize("NFC", name).split()).casefold()
    for prefix in ("đường ", "phố "):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    return key


def name_keys(name: str | None) -> tuple[str, ...]:
    """All street keys of an OSM ``name`` ("Quốc lộ 9;Quốc lộ 1" holds two)."""
    if not name:
        return ()
    return tuple(normalise_name(p) for p in name.split(";") if p.strip())


def is_bridge(name: str | None) -> bool:
    """True for features named "Cầu …" (bridges and overpasses)."""
    return bool(name) and normalise_name(name or "").startswith("cầu ")


@dataclass(frozen=True)
class RoadLine:
    """One clipped, projected polyline of a feature.

    ``source`` is "f<feature>_<part>_<run>" (0-based indices into the GeoJSON file;
    ``run`` counts the pieces a part was cut into by the clip box). ``xy`` in metres,
    EPSG:32648.
    """

    source: str
    kind: str
    road_class: str
    name: str | None
    ref: str | None
    xy: tuple[XY, ...]

    @property
    def label(self) -> str | None:
        """Street name for SUMO's edge ``name``: the OSM name, else the ref, else None."""
        return self.name or self.ref


@dataclass(frozen=True)
class GraphNode:
    """A graph node: ``kind`` is "junction", "rail_crossing" or "dead_end"."""

    id: str
    x: float
    y: float
    kind: str


@dataclass(frozen=True)
class GraphEdge:
    """An undirected graph edge between two nodes; ``shape`` includes both end points."""

    id: str
    from_node: str
    to_node: str
    line: RoadLine
    shape: tuple[XY, ...]

    @property
    def length_m(self) -> float:
        return sum(math.dist(a, b) for a, b in itertools.pairwise(self.shape))


@dataclass
class RoadGraph:
    """Nodes and undirected edges, in deterministic order, plus build statistics."""

    nodes: dict[str, GraphNode]
    edges: list[GraphEdge]
    stats: dict[str, object] = field(default_factory=dict)

    def streets_at(self, node_id: str) -> list[str]:
        """Sorted street keys of the edges touching ``node_id``."""
        keys: set[str] = set()
        for e in self.edges:
            if node_id in (e.from_node, e.to_node):
                keys.update(name_keys(e.line.name))
        return sorted(keys)

    def nodes_on_street(self, key: str) -> list[str]:
        """Ids of nodes touched by an edge whose name matches ``key`` (normalised), sorted."""
        found: set[str] = set()
        for e in self.edges:
            if key in name_keys(e.line.name):
                found.update((e.from_node, e.to_node))
        return sorted(found, key=_node_sort_key)


def _node_sort_key(node_id: str) -> tuple[int, str]:
    digits = "".join(ch for ch in node_id if ch.isdigit())
    return (int(digits) if digits else -1, node_id)


# --------------------------------------------------------------------------- loading


def _clip_segment(
    a: XY, b: XY, box: tuple[float, float, float, float]
) -> tuple[float, float] | None:
    """Liang–Barsky: parameter range [t0, t1] of segment a→b inside ``box``, or None."""
    xmin, ymin, xmax, ymax = box
    dx, dy = b[0] - a[0], b[1] - a[1]
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, a[0] - xmin), (dx, xmax - a[0]), (-dy, a[1] - ymin), (dy, ymax - a[1])):
        if p == 0:
            if q < 0:
                return None
            continue
        r = q / p
        if p < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 > t1:
            return None
    return t0, t1


def clip_polyline(coords: Sequence[XY], box: tuple[float, float, float, float]) -> list[list[XY]]:
    """Cut a lon/lat polyline to the box (lon_min, lat_min, lon_max, lat_max); runs inside."""
    runs: list[list[XY]] = []
    cur: list[XY] = []
    for a, b in itertools.pairwise(coords):
        rng = _clip_segment(a, b, box)
        if rng is None:
            if len(cur) >= 2:
                runs.append(cur)
            cur = []
            continue
        t0, t1 = rng
        pa = a if t0 == 0.0 else (a[0] + t0 * (b[0] - a[0]), a[1] + t0 * (b[1] - a[1]))
        pb = b if t1 == 1.0 else (a[0] + t1 * (b[0] - a[0]), a[1] + t1 * (b[1] - a[1]))
        if not cur:
            cur = [pa]
        elif t0 > 0.0:  # re-entered the box on the same segment's start: new run
            if len(cur) >= 2:
                runs.append(cur)
            cur = [pa]
        cur.append(pb)
        if t1 < 1.0:
            if len(cur) >= 2:
                runs.append(cur)
            cur = []
    if len(cur) >= 2:
        runs.append(cur)
    return runs


def load_lines(path: Path, box_lonlat: tuple[float, float, float, float]) -> list[RoadLine]:
    """Read the roads GeoJSON, clip to ``box_lonlat`` (deg) and project to EPSG:32648 (m).

    Features with an unknown geometry type are rejected with ValueError.
    """
    from pyproj import Transformer

    to_utm = Transformer.from_crs(WGS84, UTM48N, always_xy=True)
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    lines: list[RoadLine] = []
    for fi, feat in enumerate(data.get("features", [])):
        geom = feat.get("geometry") or {}
        props = feat.get("properties") or {}
        if geom.get("type") == "LineString":
            parts = [geom["coordinates"]]
        elif geom.get("type") == "MultiLineString":
            parts = geom["coordinates"]
        else:
            raise ValueError(
                f"{path}: feature {fi} has geometry {geom.get('type')!r}; "
                "expected LineString or MultiLineString"
            )
        for pi, part in enumerate(parts):
            lonlat = [(float(c[0]), float(c[1])) for c in part]
            for ri, run in enumerate(clip_polyline(lonlat, box_lonlat)):
                xs, ys = to_utm.transform([p[0] for p in run], [p[1] for p in run])
                xy = tuple((float(x), float(y)) for x, y in zip(xs, ys, strict=True))
                lines.append(
                    RoadLine(
                        source=f"f{fi}_{pi}_{ri}",
                        kind=str(props.get("kind") or "road"),
                        road_class=str(props.get("class") or ""),
                        name=props.get("name") or None,
                        ref=props.get("ref") or None,
                        xy=xy,
                    )
                )
    return lines


# ----------------------------------------------------------------------- topology


class _PointIndex:
    """Snap points closer than ``tol`` metres to the first point seen (grid hash)."""

    def __init__(self, tol: float) -> None:
        self.tol = tol
        self.cell = max(tol, 1e-6)
        self.xy: list[XY] = []
        self.grid: dict[tuple[int, int], list[int]] = {}

    def add(self, p: XY) -> int:
        cx, cy = math.floor(p[0] / self.cell), math.floor(p[1] / self.cell)
        best: tuple[float, int] | None = None
        for gx in (cx - 1, cx, cx + 1):
            for gy in (cy - 1, cy, cy + 1):
                for pid in self.grid.get((gx, gy), ()):
                    cand = (math.dist(p, self.xy[pid]), pid)
                    if cand[0] <= self.tol and (best is None or cand < best):
                        best = cand
        if best is not None:
            return best[1]
        self.xy.append(p)
        self.grid.setdefault((cx, cy), []).append(len(self.xy) - 1)
        return len(self.xy) - 1


def _seg_intersection(a: XY, b: XY, c: XY, d: XY) -> tuple[float, float, XY] | None:
    """Intersection of segments ab and cd: (t on ab, u on cd, point), or None."""
    rx, ry = b[0] - a[0], b[1] - a[1]
    sx, sy = d[0] - c[0], d[1] - c[1]
    den = rx * sy - ry * sx
    if abs(den) < 1e-12:
        return None
    qx, qy = c[0] - a[0], c[1] - a[1]
    t = (qx * sy - qy * sx) / den
    u = (qx * ry - qy * rx) / den
    if 0.0 <= t <= 1.0 and 0.0 <= u <= 1.0:
        return t, u, (a[0] + t * rx, a[1] + t * ry)
    return None


def _insert_level_crossings(lines: list[RoadLine], snap_m: float) -> list[RoadLine]:
    """Insert the rail × road crossing point into both lines where no vertex is shared.

    Bridges ("Cầu …") are grade-separated and never get a crossing point. Lines are
    returned in the same order; only their vertex lists change.
    """
    verts: dict[int, list[XY]] = {i: list(ln.xy) for i, ln in enumerate(lines)}
    rails = [i for i, ln in enumerate(lines) if ln.kind == "rail"]
    roads = [i for i, ln in enumerate(lines) if ln.kind != "rail" and not is_bridge(ln.name)]
    for ri in rails:
        for qi in roads:
            # restart after each insertion so segment indices stay valid
            changed = True
            while changed:
                changed = False
                rv, qv = verts[ri], verts[qi]
                for i in range(len(rv) - 1):
                    for k in range(len(qv) - 1):
                        hit = _seg_intersection(rv[i], rv[i + 1], qv[k], qv[k + 1])
                        if hit is None:
                            continue
                        _, _, p = hit
                        near_r = any(math.dist(p, v) <= snap_m for v in rv[i : i + 2])
                        near_q = any(math.dist(p, v) <= snap_m for v in qv[k : k + 2])
                        if near_r and near_q:
                            continue
                        p = (round(p[0], 3), round(p[1], 3))
                        if not near_r:
                            rv.insert(i + 1, p)
                        if not near_q:
                            qv.insert(k + 1, p)
                        changed = True
                        break
                    if changed:
                        break
    return [
        RoadLine(ln.source, ln.kind, ln.road_class, ln.name, ln.ref, tuple(verts[i]))
        for i, ln in enumerate(lines)
    ]


def build_graph(lines: list[RoadLine], *, snap_m: float = 1.0) -> RoadGraph:
    """Split ``lines`` into a graph at shared vertices (within ``snap_m`` metres).

    Road lines connect to road lines; rail to rail; rail to a road only at a level
    crossing (rail and a non-bridge road share a point), which becomes a node of kind
    "rail_crossing". Then only the largest connected component (by length) is kept.
    """
    lines = _insert_level_crossings(lines, snap_m)
    index = _PointIndex(snap_m)
    pids: list[list[int]] = []
    for ln in lines:
        seq: list[int] = []
        for p in ln.xy:
            pid = index.add(p)
            if not seq or seq[-1] != pid:
                seq.append(pid)
        pids.append(seq)

    # who uses each point: (line index, kind) occurrences
    users: dict[int, list[int]] = {}
    for li, seq in enumerate(pids):
        for pid in seq:
            users.setdefault(pid, []).append(li)

    def role(pid: int) -> str | None:
        """'junction' / 'rail_crossing' if the point connects lines, else None."""
        occ = users[pid]
        road = [li for li in occ if lines[li].kind != "rail"]
        rail = [li for li in occ if lines[li].kind == "rail"]
        flat_road = [li for li in road if not is_bridge(lines[li].name)]
        if rail and flat_road:
            return "rail_crossing"
        if len(road) >= 2 or len(rail) >= 2:
            return "junction"
        return None

    split_role = {pid: role(pid) for pid in sorted(users)}

    def is_split(li: int, pid: int) -> bool:
        r = split_role[pid]
        if r is None:
            return False
        if r == "rail_crossing":
            return lines[li].kind == "rail" or not is_bridge(lines[li].name)
        # plain junction: split a line only if another line of its own layer shares it
        mine_rail = lines[li].kind == "rail"
        same = [o for o in users[pid] if (lines[o].kind == "rail") == mine_rail]
        return len(same) >= 2

    raw_edges: list[tuple[str, int, int, RoadLine, list[int]]] = []
    for li, seq in enumerate(pids):
        if len(seq) < 2:
            continue
        cuts = [0] + [k for k in range(1, len(seq) - 1) if is_split(li, seq[k])] + [len(seq) - 1]
        pieces: list[list[int]] = []
        for a, b in itertools.pairwise(cuts):
            piece = seq[a : b + 1]
            if piece[0] == piece[-1]:  # closed loop: cut in the middle
                if len(piece) < 4:
                    continue
                mid = len(piece) // 2
                pieces += [piece[: mid + 1], piece[mid:]]
            else:
                pieces.append(piece)
        for si, piece in enumerate(pieces):
            eid = f"e{lines[li].source[1:]}_{si}"
            raw_edges.append((eid, piece[0], piece[-1], lines[li], piece))

    kept, dropped_len = _largest_component(raw_edges, index.xy)
    node_ids: dict[int, str] = {}
    end_count: dict[int, int] = {}
    for _, u, v, _, _ in kept:
        end_count[u] = end_count.get(u, 0) + 1
        end_count[v] = end_count.get(v, 0) + 1
    for pid in sorted(end_count):
        node_ids[pid] = f"n{pid}"
    nodes: dict[str, GraphNode] = {}
    for pid in sorted(end_count):
        r = split_role[pid]
        kind = r if r is not None else ("dead_end" if end_count[pid] == 1 else "junction")
        x, y = index.xy[pid]
        nodes[node_ids[pid]] = GraphNode(node_ids[pid], x, y, kind)
    edges = [
        GraphEdge(eid, node_ids[u], node_ids[v], line, tuple(index.xy[p] for p in piece))
        for eid, u, v, line, piece in kept
    ]
    stats = {
        "lines": len(lines),
        "points": len(index.xy),
        "graph_edges": len(edges),
        "graph_nodes": len(nodes),
        "dropped_edges": len(raw_edges) - len(kept),
        "dropped_length_m": round(dropped_len, 1),
        "level_crossings": sum(1 for n in nodes.values() if n.kind == "rail_crossing"),
    }
    return RoadGraph(nodes=nodes, edges=edges, stats=dict(stats))


def _largest_component(
    edges: list[tuple[str, int, int, RoadLine, list[int]]], xy: list[XY]
) -> tuple[list[tuple[str, int, int, RoadLine, list[int]]], float]:
    """Keep the edges of the connected component with the largest total length."""
    parent: dict[int, int] = {}

    def find(a: int) -> int:
        parent.setdefault(a, a)
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for _, u, v, _, _ in edges:
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[max(ru, rv)] = min(ru, rv)
    length: dict[int, float] = {}
    lens = []
    for _, u, _, _, piece in edges:
        seg = sum(math.dist(xy[a], xy[b]) for a, b in itertools.pairwise(piece))
        lens.append(seg)
        root = find(u)
        length[root] = length.get(root, 0.0) + seg
    best = min(length, key=lambda r: (-length[r], r))
    kept = [e for e in edges if find(e[1]) == best]
    dropped = sum(s for e, s in zip(edges, lens, strict=True) if find(e[1]) != best)
    return kept, dropped


def nearest_node(
    graph: RoadGraph, p: XY, candidates: Iterable[str] | None = None
) -> tuple[str, float]:
    """Nearest node id to ``p`` (metres, EPSG:32648) and its distance in metres."""
    ids = list(candidates) if candidates is not None else list(graph.nodes)
    if not ids:
        raise ValueError("no candidate nodes")
    best = min(ids, key=lambda n: (math.dist(p, (graph.nodes[n].x, graph.nodes[n].y)), n))
    return best, math.dist(p, (graph.nodes[best].x, graph.nodes[best].y))


# ------------------------------------------------------------ dual carriageways

#: A carriageway's partner lies at least / at most this far (m) across from it.
PAIR_MIN_GAP_M = 3.0
PAIR_MAX_GAP_M = 40.0
#: Largest heading difference (deg) between a carriageway and its partner, either sense.
PAIR_MAX_ANGLE_DEG = 20.0
#: The partner must lie across: the offset may lean at most this far (deg) off the normal.
PAIR_MAX_LEAN_DEG = 30.0
#: Share of an edge's length that must have a partner for the edge to be a carriageway.
PAIR_MIN_FRACTION = 0.6
#: Share of the partnered length that must see the partner on the same side.
PAIR_MIN_SIDE_AGREEMENT = 0.8
#: Sampling step (m) along each edge.
PAIR_SAMPLE_M = 5.0
#: A closed line (first vertex = last) at most this long (m) is a roundabout.
RING_MAX_M = 300.0
#: A line with partners on both sides over more than this share is a middle line.
MIDDLE_SHARE = 0.3
#: A carriageway whose partners travel its way over more than this share stays two-way.
CONFLICT_SHARE = 0.2


@dataclass(frozen=True)
class Carriageway:
    """An edge made one-way: ``direction`` +1 = digitised (OSM) order, −1 = reversed.

    ``method`` is "paired" (detected), or "override" (from the reviewed list);
    ``partners`` are the edge ids seen across; ``paired_fraction`` the share of the
    edge's length with a partner; ``gap_m`` the median distance to it.
    """

    edge_id: str
    direction: int
    method: str
    partners: tuple[str, ...] = ()
    paired_fraction: float = 0.0
    gap_m: float = 0.0


def road_keys(line: RoadLine) -> frozenset[str]:
    """Identity keys of a road line: its normalised names and refs ("ref:ql.1")."""
    parts = (line.ref or "").split(";")
    refs = ("ref:" + "".join(r.split()).casefold() for r in parts if r.strip())
    return frozenset((*name_keys(line.name), *refs))


def same_road(a: RoadLine, b: RoadLine) -> bool:
    """True if two lines may be carriageways of one road.

    They share a name or ref; or they have the same class and one of them carries
    neither (an unnamed piece of a named road).
    """
    ka, kb = road_keys(a), road_keys(b)
    if ka & kb:
        return True
    return a.road_class == b.road_class and not (ka and kb)


def _samples(shape: Sequence[XY], step: float) -> list[tuple[XY, XY, float]]:
    """Points every ``step`` m along ``shape`` (mid-step): (point, unit heading, weight m)."""
    seg_lens = [math.dist(a, b) for a, b in itertools.pairwise(shape)]
    total = sum(seg_lens)
    if total <= 0:
        return []
    n = max(1, round(total / step))
    w = total / n
    out: list[tuple[XY, XY, float]] = []
    si, acc = 0, 0.0
    for k in range(n):
        s = (k + 0.5) * w
        while si < len(seg_lens) - 1 and acc + seg_lens[si] < s:
            acc += seg_lens[si]
            si += 1
        a, b = shape[si], shape[si + 1]
        ln = seg_lens[si] or 1.0
        t = min(1.0, max(0.0, (s - acc) / ln))
        p = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
        out.append((p, ((b[0] - a[0]) / ln, (b[1] - a[1]) / ln), w))
    return out


def detect_carriageways(
    graph: RoadGraph,
    *,
    min_gap_m: float = PAIR_MIN_GAP_M,
    max_gap_m: float = PAIR_MAX_GAP_M,
    max_angle_deg: float = PAIR_MAX_ANGLE_DEG,
    max_lean_deg: float = PAIR_MAX_LEAN_DEG,
    min_fraction: float = PAIR_MIN_FRACTION,
    min_side_agreement: float = PAIR_MIN_SIDE_AGREEMENT,
    step_m: float = PAIR_SAMPLE_M,
) -> dict[str, Carriageway]:
    """Find the edges that are one carriageway of a divided road; {edge id: Carriageway}.

    Rule (right-hand traffic, Vietnam). Every road edge (rail excluded) is sampled
    every ``step_m`` m. At each sample the nearest point on another edge of the same
    road (:func:`same_road`) counts as a partner if it lies ``min_gap_m``–``max_gap_m``
    away, that edge's local heading is within ``max_angle_deg`` of the sample's
    (either sense), and the offset to it leans at most ``max_lean_deg`` off the
    normal (it lies across, not ahead). An edge with a partner over at least
    ``min_fraction`` of its length, seen on the same side over at least
    ``min_side_agreement`` of that, is a carriageway. Traffic on it drives with the
    partner on its LEFT: direction +1 (digitised order) if the partner is left of the
    digitised direction, else −1.

    Two checks keep odd geometry two-way: a line with partners on BOTH sides over
    more than MIDDLE_SHARE of its length (the middle of three parallel lines), and
    every line partnered with it, stay two-way; and a carriageway whose partners,
    as decided, travel the SAME way over more than CONFLICT_SHARE of the partnered
    length (channelised junction pieces) stays two-way.

    Roundabouts (closed lines up to RING_MAX_M long) are one-way counter-clockwise
    (right-hand traffic), method "roundabout"; their pieces never pair.
    Deterministic: edges are visited in graph order, ties broken by edge order.
    """
    cos_par = math.cos(math.radians(max_angle_deg))
    sin_lean = math.sin(math.radians(max_lean_deg))
    rings: dict[str, int] = {}  # line source -> direction that runs counter-clockwise
    for e in graph.edges:
        xy = e.line.xy
        if (
            e.line.kind != "rail"
            and e.line.source not in rings
            and len(xy) >= 4
            and math.dist(xy[0], xy[-1]) <= 1e-6
            and sum(math.dist(a, b) for a, b in itertools.pairwise(xy)) <= RING_MAX_M
        ):
            area2 = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(xy))
            rings[e.line.source] = 1 if area2 > 0 else -1
    road = [e for e in graph.edges if e.line.kind != "rail" and e.line.source not in rings]
    cell = max_gap_m
    grid: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for ei, e in enumerate(road):
        for si, (a, b) in enumerate(itertools.pairwise(e.shape)):
            x0, x1 = sorted((a[0], b[0]))
            y0, y1 = sorted((a[1], b[1]))
            for gx in range(math.floor(x0 / cell), math.floor(x1 / cell) + 1):
                for gy in range(math.floor(y0 / cell), math.floor(y1 / cell) + 1):
                    grid.setdefault((gx, gy), []).append((ei, si))

    # per edge: total length, and per partnered sample (weight, partner, side,
    # own unit heading, partner's unit heading), side +1 = partner on the left
    totals: list[float] = []
    hits: list[list[tuple[float, int, int, XY, XY, float]]] = []
    both_sides: list[float] = []
    for ei, e in enumerate(road):
        total = both = 0.0
        found: list[tuple[float, int, int, XY, XY, float]] = []
        for p, u, w in _samples(e.shape, step_m):
            total += w
            cx, cy = math.floor(p[0] / cell), math.floor(p[1] / cell)
            cands = sorted(
                {
                    c
                    for gx in (cx - 1, cx, cx + 1)
                    for gy in (cy - 1, cy, cy + 1)
                    for c in grid.get((gx, gy), ())
                    if c[0] != ei
                }
            )
            best: dict[int, tuple[float, int, XY]] = {}  # side -> (gap, edge index, heading)
            for oj, sj in cands:
                other = road[oj]
                if not same_road(e.line, other.line):
                    continue
                a, b = other.shape[sj], other.shape[sj + 1]
                ln = math.dist(a, b)
                if ln == 0:
                    continue
                v = ((b[0] - a[0]) / ln, (b[1] - a[1]) / ln)
                if abs(u[0] * v[0] + u[1] * v[1]) < cos_par:
                    continue
                t = ((p[0] - a[0]) * v[0] + (p[1] - a[1]) * v[1]) / ln
                t = min(1.0, max(0.0, t))
                q = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
                d = math.dist(p, q)
                if not min_gap_m <= d <= max_gap_m:
                    continue
                if abs(((q[0] - p[0]) * u[0] + (q[1] - p[1]) * u[1]) / d) > sin_lean:
                    continue
                side = 1 if u[0] * (q[1] - p[1]) - u[1] * (q[0] - p[0]) > 0 else -1
                if side not in best or (d, oj) < best[side][:2]:
                    best[side] = (d, oj, v)
            if not best:
                continue
            if len(best) == 2:
                both += w
            side = min(best, key=lambda k: (best[k][0], best[k][1]))
            d, oj, v = best[side]
            found.append((w, oj, side, u, v, d))
        totals.append(total)
        hits.append(found)
        both_sides.append(both)

    direction: dict[int, int] = {}
    for ei in range(len(road)):
        paired = sum(h[0] for h in hits[ei])
        if totals[ei] == 0 or paired < min_fraction * totals[ei]:
            continue
        share_left = sum(h[0] for h in hits[ei] if h[2] > 0) / paired
        if max(share_left, 1.0 - share_left) < min_side_agreement:
            continue
        direction[ei] = 1 if share_left >= 0.5 else -1

    middle = {ei for ei in direction if both_sides[ei] > MIDDLE_SHARE * totals[ei]}
    drop = set(middle)
    for ei in direction:
        if any(h[1] in middle for h in hits[ei]):
            drop.add(ei)
    for ei in direction:
        if ei in drop:
            continue
        judged = conflict = 0.0
        for w, oj, _, u, v, _ in hits[ei]:
            if oj not in direction or oj in drop:
                continue
            judged += w
            mine = direction[ei]
            theirs = direction[oj]
            if (u[0] * v[0] + u[1] * v[1]) * mine * theirs > 0:
                conflict += w
        if judged and conflict > CONFLICT_SHARE * judged:
            drop.add(ei)

    out: dict[str, Carriageway] = {
        e.id: Carriageway(e.id, rings[e.line.source], "roundabout")
        for e in graph.edges
        if e.line.source in rings
    }
    for ei, e in enumerate(road):
        if ei not in direction or ei in drop:
            continue
        weights: dict[int, float] = {}
        for h in hits[ei]:
            weights[h[1]] = weights.get(h[1], 0.0) + h[0]
        gaps = sorted(h[5] for h in hits[ei])
        out[e.id] = Carriageway(
            edge_id=e.id,
            direction=direction[ei],
            method="paired",
            partners=tuple(road[j].id for j in sorted(weights)),
            paired_fraction=round(sum(weights.values()) / totals[ei], 3),
            gap_m=round(gaps[len(gaps) // 2], 1),
        )
    return out


def strongly_connected_components(
    arcs: Iterable[tuple[str, str]],
) -> list[list[str]]:
    """SCCs of a directed graph given as (from, to) node pairs; iterative Tarjan.

    Components are returned with sorted members, largest first (ties: smallest member).
    """
    succ: dict[str, list[str]] = {}
    for a, b in arcs:
        succ.setdefault(a, []).append(b)
        succ.setdefault(b, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    comps: list[list[str]] = []
    counter = 0
    for root in sorted(succ):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            nbrs = succ[v]
            if i < len(nbrs):
                work.append((v, i + 1))
                w = nbrs[i]
                if w not in index:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                comp: list[str] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                comps.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return sorted(comps, key=lambda c: (-len(c), c[0]))


def keep_strongly_connected(
    graph: RoadGraph, oneway: dict[str, Carriageway]
) -> tuple[dict[str, Carriageway], list[str]]:
    """Make two-way again the one-way edges that would strand traffic.

    The road network (rail excluded) is modelled like SUMO will drive it: a vertex
    per driving direction of an edge (two for a two-way edge, one for a one-way
    edge), an arc wherever one may follow the other at a node, U-turns only at dead
    ends (netconvert's ``--no-turnarounds.except-deadend``). Outside the largest
    strongly connected component, a one-way edge is reverted to two-way; a driving
    direction of a two-way edge reverts the one-way edges at its two end nodes
    (e.g. a carriageway ending at a dead end, a clip-box cut, or a tangle of short
    pieces). Repeats until stable. Returns the kept one-way map and the reverted
    edge ids (sorted).
    """
    kept = dict(oneway)
    reverted: list[str] = []
    road = [e for e in graph.edges if e.line.kind != "rail"]
    degree: dict[str, int] = {}
    for e in road:
        for n in {e.from_node, e.to_node}:
            degree[n] = degree.get(n, 0) + 1
    while True:
        drives: list[tuple[GraphEdge, int]] = []
        for e in road:
            c = kept.get(e.id)
            for d in (1, -1):
                if c is None or c.direction == d:
                    drives.append((e, d))
        leaving: dict[str, list[tuple[GraphEdge, int]]] = {}
        for e, d in drives:
            leaving.setdefault(e.from_node if d > 0 else e.to_node, []).append((e, d))
        arcs: list[tuple[str, str]] = []
        for e, d in drives:
            head = e.to_node if d > 0 else e.from_node
            for f, fd in leaving.get(head, ()):
                if f.id == e.id and degree[head] > 1:
                    continue  # no U-turn except at a dead end
                arcs.append((f"{e.id}|{d}", f"{f.id}|{fd}"))
        comps = strongly_connected_components(arcs)
        big = set(comps[0]) if comps else set()
        bad: set[str] = set()
        for e, d in drives:
            if f"{e.id}|{d}" in big:
                continue
            if e.id in kept:
                bad.add(e.id)
            else:
                for n in (e.from_node, e.to_node):
                    bad.update(f.id for f, _ in leaving.get(n, ()) if f.id in kept)
                    bad.update(f.id for f in road if f.id in kept and n in (f.from_node, f.to_node))
        if not bad:
            return kept, sorted(reverted)
        for eid in sorted(bad):
            del kept[eid]
        reverted += sorted(bad)


def join_carriageway_ends(
    graph: RoadGraph, oneway: dict[str, Carriageway], *, max_gap_m: float = PAIR_MAX_GAP_M
) -> list[tuple[str, str]]:
    """Merge the loose ends of paired one-way carriageways into one dead-end node.

    Where a divided road is cut by the clip box (or the extract stops), each
    carriageway ends at its own dead end: one-way traffic arriving there could never
    leave. Two dead ends at most ``max_gap_m`` apart whose edges are partners (one
    arriving, one leaving) become one node at their midpoint, so the road ends like a
    two-way road (SUMO allows the turnaround at a dead end). Modifies ``graph`` in
    place; returns the merged (kept id, removed id) pairs.
    """
    ends: dict[str, int] = {}
    touching: dict[str, list[int]] = {}
    for i, e in enumerate(graph.edges):
        for n in (e.from_node, e.to_node):
            touching.setdefault(n, []).append(i)
    for n, idx in touching.items():
        if len(idx) == 1 and graph.edges[idx[0]].id in oneway:
            ends[n] = idx[0]

    def arrives(n: str) -> bool:
        e = graph.edges[ends[n]]
        return (e.to_node == n) == (oneway[e.id].direction > 0)

    merged: list[tuple[str, str]] = []
    used: set[str] = set()
    order = sorted(ends, key=_node_sort_key)
    for a in order:
        if a in used:
            continue
        ea = graph.edges[ends[a]]
        best: tuple[float, str] | None = None
        for b in order:
            if b == a or b in used or arrives(a) == arrives(b):
                continue
            eb = graph.edges[ends[b]]
            if eb.id not in oneway[ea.id].partners and ea.id not in oneway[eb.id].partners:
                continue
            d = _dist_nodes(graph, a, b)
            if d <= max_gap_m and (best is None or (d, b) < best):
                best = (d, b)
        if best is None:
            continue
        b = best[1]
        na, nb = graph.nodes[a], graph.nodes[b]
        mid = (round((na.x + nb.x) / 2, 3), round((na.y + nb.y) / 2, 3))
        graph.nodes[a] = GraphNode(a, mid[0], mid[1], "dead_end")
        del graph.nodes[b]
        for i in (ends[a], ends[b]):
            e = graph.edges[i]
            shape = list(e.shape)
            frm, to = e.from_node, e.to_node
            if frm in (a, b):
                frm, shape[0] = a, mid
            if to in (a, b):
                to, shape[-1] = a, mid
            graph.edges[i] = GraphEdge(e.id, frm, to, e.line, tuple(shape))
        used.update((a, b))
        merged.append((a, b))
    return merged


def _dist_nodes(graph: RoadGraph, a: str, b: str) -> float:
    na, nb = graph.nodes[a], graph.nodes[b]
    return math.hypot(na.x - nb.x, na.y - nb.y)


def extend_along_chains(
    graph: RoadGraph, oneway: dict[str, Carriageway], *, frozen: Iterable[str] = ()
) -> dict[str, Carriageway]:
    """Carry one-way flow on through nodes where only two road edges meet.

    Where a carriageway pair converges into a single road, the last pieces of the
    "V" are too close to count as a pair, but they continue one-way carriageways:
    a two-way edge of the same road (:func:`same_road`) whose end node joins it to
    exactly one other road edge, that one one-way, takes the same flow (leaves the
    node if the other arrives, and vice versa). Both ends must agree; repeats until
    stable. Edges in ``frozen`` (reviewed as two-way) are never changed. Returns a
    new map; added entries have method "chain".
    """
    out = dict(oneway)
    frozen = set(frozen)
    road = [e for e in graph.edges if e.line.kind != "rail"]
    at: dict[str, list[GraphEdge]] = {}
    for e in road:
        at.setdefault(e.from_node, []).append(e)
        if e.to_node != e.from_node:
            at.setdefault(e.to_node, []).append(e)
    changed = True
    while changed:
        changed = False
        for e in road:
            if e.id in out or e.id in frozen or e.from_node == e.to_node:
                continue
            wanted: set[int] = set()
            for n in (e.from_node, e.to_node):
                others = [f for f in at[n] if f.id != e.id]
                if len(others) != 1 or others[0].id not in out:
                    continue
                f = others[0]
                if not same_road(e.line, f.line):
                    continue
                f_arrives = (f.to_node == n) == (out[f.id].direction > 0)
                e_leaves_if_fwd = e.from_node == n
                # e must leave n if f arrives there, else arrive
                wanted.add(1 if e_leaves_if_fwd == f_arrives else -1)
            if len(wanted) == 1:
                out[e.id] = Carriageway(e.id, wanted.pop(), "chain")
                changed = True
    return out
