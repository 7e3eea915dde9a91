"""The mapping file: process-image point name ↔ OPC-UA NodeId, one per line (CSV).

Format (UTF-8; ``#`` starts a comment line; blank lines are ignored)::

    # Đông Hà twin: point name <-> NodeId
    point,node_id
    agri/DT-H01-P1/soil_vwc,ns=2;s=agri/DT-H01-P1/soil_vwc
    agri/DT-H01-P1/valve_open,"ns=3;s=Valve,1"
    flood/P03/level_m,nsu=urn:dongha-twin;s=flood/P03/level_m

``node_id`` is any OPC-UA NodeId in its text form (``ns=..;i=..``,
``ns=..;s=..``, ``ns=..;g=..``, ``ns=..;b=..``, or ``nsu=<namespace uri>;..``,
which the client resolves against the server's namespace array). Fields are
CSV-quoted when they contain commas. Each point and each NodeId appears once.

:func:`read_mapping` raises :class:`MappingError` naming the file and line of
the first problem.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from pathlib import Path

from asyncua import ua

from controllers.io import validate_point_name

__all__ = ["HEADER", "MappingError", "parse_node_id", "read_mapping", "write_mapping"]

HEADER = ("point", "node_id")


class MappingError(ValueError):
    """A mapping file (or mapping) is malformed; the message names the line."""


def parse_node_id(text: str) -> ua.NodeId:
    """A NodeId from its text form; ValueError with a hint when it does not parse."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty NodeId; write e.g. 'ns=2;s=agri/DT-H01-P1/soil_vwc'")
    try:
        return ua.NodeId.from_string(text.strip())
    except (ua.UaStringParsingError, ValueError) as err:
        raise ValueError(
            f"{text!r} is not a NodeId; write e.g. 'ns=2;s=agri/DT-H01-P1/soil_vwc' "
            "or 'ns=3;i=1001'"
        ) from err


def _check_entry(
    point: str, node_id: str, seen_points: dict[str, int], seen_ids: dict[str, int], where: int
) -> None:
    validate_point_name(point)
    parsed = parse_node_id(node_id)
    key = parsed.to_string()
    if point in seen_points:
        raise ValueError(f"point {point!r} is mapped twice (first at entry {seen_points[point]})")
    if key in seen_ids:
        raise ValueError(f"NodeId {node_id!r} is mapped twice (first at entry {seen_ids[key]})")
    seen_points[point] = seen_ids[key] = where


def write_mapping(path: str | Path, mapping: Mapping[str, str], comment: str = "") -> Path:
    """Write ``mapping`` (point name → NodeId text) to ``path`` as CSV, atomically.

    ``comment`` lines go first, each prefixed with ``#``. MappingError (and
    nothing written) when an entry is invalid.
    """
    seen_points: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for i, (point, node_id) in enumerate(mapping.items(), start=1):
        try:
            _check_entry(point, node_id, seen_points, seen_ids, i)
        except ValueError as err:
            raise MappingError(f"mapping entry {i} ({point!r}): {err}") from None
    buf = io.StringIO()
    for line in (comment or "Đông Hà twin OPC-UA mapping: point name <-> NodeId").splitlines():
        buf.write(f"# {line}\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(mapping.items())
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, target)
    return target


def read_mapping(path: str | Path) -> dict[str, str]:
    """Read a mapping file: point name → NodeId text, in file order.

    MappingError ``<path>:<line>: <problem>`` on a missing or wrong header, a
    row without exactly two fields, an invalid point name or NodeId, or a
    point or NodeId mapped twice.
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(
            f"{source}: no such mapping file; write one with hil.opcua.write_mapping"
        ) from None
    mapping: dict[str, str] = {}
    seen_ids: dict[str, int] = {}
    lines_by_point: dict[str, int] = {}
    header_seen = False
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        line = reader.line_num
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in row]
        if not header_seen:
            if tuple(fields) != HEADER:
                raise MappingError(
                    f"{source}:{line}: expected the header 'point,node_id', got {','.join(row)!r}"
                )
            header_seen = True
            continue
        if len(fields) != 2:
            raise MappingError(
                f"{source}:{line}: expected 2 fields 'point,node_id', got {len(fields)}; "
                "quote a NodeId that contains commas"
            )
        point, node_id = fields
        try:
            _check_entry(point, node_id, lines_by_point, seen_ids, line)
        except ValueError as err:
            msg = str(err).replace("first at entry", "first at line")
            raise MappingError(f"{source}:{line}: {msg}") from None
        mapping[point] = node_id
    if not header_seen:
        raise MappingError(
            f"{source}:1: empty mapping file; the first line must be 'point,node_id'"
        )
    return mapping
