"""Topology of the OpenStreetMap road extract: lines → a connected node/edge graph.

The extract (GeoJSON, WGS84 lon/lat) has no junction nodes: roads meet where their
polylines share a vertex. This module

1. reads the features, clips them to a lon/lat box and projects them to UTM zone 48N
   (EPSG:32648, metres, x east / y north);
2. snaps vertices closer than ``snap_m`` into one point;
3. splits every line at points it shares with another line (road–road, rail–rail),
   and at level crossings (rail × road, bridges excluded), giving graph edges;
4. keeps the largest connected component (by length).

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
    return bool(name) and normalise_name(name).startswith("cầu ")


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
    return RoadGraph(nodes=nodes, edges=edges, stats=stats)


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
