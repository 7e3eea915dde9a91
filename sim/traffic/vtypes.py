"""The one reviewed vehicle-type table of the twin (Vietnamese mixed traffic).

`scenarios/dongha/vtypes.csv` holds every vehicle parameter the traffic plant
uses: SUMO vClass, share of trips (fraction, sums to 1), passenger-car units
(PCU, car = 1), size (m), car-following (m/s, m/s², s) and sublane
(m, m/s) parameters, each row with a `source_why` note. All values are
uncalibrated estimates unless the note says otherwise.

`load_vtypes` validates the table (fails with the file, row and a hint) and
`write_vtypes_xml` writes the matching SUMO ``<vType>`` definitions.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

__all__ = ["SUMO_VCLASSES", "VehicleType", "load_vtypes", "write_vtypes_xml"]

#: vClasses known to SUMO 1.28 (https://sumo.dlr.de/docs/Vehicle_Type_Parameter_Defaults.html).
SUMO_VCLASSES: frozenset[str] = frozenset(
    {
        "private",
        "emergency",
        "authority",
        "army",
        "vip",
        "pedestrian",
        "passenger",
        "hov",
        "taxi",
        "bus",
        "coach",
        "delivery",
        "truck",
        "trailer",
        "motorcycle",
        "moped",
        "bicycle",
        "evehicle",
        "tram",
        "rail_urban",
        "rail",
        "rail_electric",
        "rail_fast",
        "ship",
        "container",
        "cable_car",
        "subway",
        "aircraft",
        "wheelchair",
        "scooter",
        "drone",
        "custom1",
        "custom2",
    }
)

_LAT_ALIGNMENTS = frozenset({"left", "right", "center", "compact", "nice", "arbitrary"})

# column -> (lower bound, upper bound, inclusive lower?)  numeric columns only
_NUMERIC: dict[str, tuple[float, float, bool]] = {
    "share": (0.0, 1.0, True),
    "pcu": (0.0, 10.0, False),
    "length": (0.0, 30.0, False),
    "width": (0.0, 4.0, False),
    "minGap": (0.0, 10.0, True),
    "accel": (0.0, 10.0, False),
    "decel": (0.0, 15.0, False),
    "emergencyDecel": (0.0, 15.0, False),
    "maxSpeed": (0.0, 70.0, False),
    "speedDev": (0.0, 1.0, True),
    "sigma": (0.0, 1.0, True),
    "tau": (0.0, 5.0, False),
    "minGapLat": (0.0, 3.0, True),
    "maxSpeedLat": (0.0, 5.0, False),
    "lcSublane": (0.0, 100.0, True),
    "lcPushy": (0.0, 1.0, True),
    "lcAssertive": (0.0, 100.0, False),
}
_REQUIRED = ("id", "vClass", *_NUMERIC, "latAlignment", "color", "source_why")


@dataclass(frozen=True)
class VehicleType:
    """One row of the vehicle-type table.

    Units: share fraction of trips [0, 1]; pcu car units; length, width,
    minGap, minGapLat in m; accel, decel, emergencyDecel in m/s²; maxSpeed,
    maxSpeedLat in m/s; tau in s; speedDev, sigma dimensionless.
    """

    id: str
    vClass: str
    share: float
    pcu: float
    length: float
    width: float
    minGap: float
    accel: float
    decel: float
    emergencyDecel: float
    maxSpeed: float
    speedDev: float
    sigma: float
    tau: float
    latAlignment: str
    minGapLat: float
    maxSpeedLat: float
    lcSublane: float
    lcPushy: float
    lcAssertive: float
    color: str
    source_why: str

    def sumo_attributes(self) -> dict[str, str]:
        """Attributes of the SUMO ``<vType>`` element, in a fixed order."""
        return {
            "id": self.id,
            "vClass": self.vClass,
            "length": _fmt(self.length),
            "width": _fmt(self.width),
            "minGap": _fmt(self.minGap),
            "accel": _fmt(self.accel),
            "decel": _fmt(self.decel),
            "emergencyDecel": _fmt(self.emergencyDecel),
            "maxSpeed": _fmt(self.maxSpeed),
            "speedDev": _fmt(self.speedDev),
            "sigma": _fmt(self.sigma),
            "tau": _fmt(self.tau),
            "latAlignment": self.latAlignment,
            "minGapLat": _fmt(self.minGapLat),
            "maxSpeedLat": _fmt(self.maxSpeedLat),
            "lcSublane": _fmt(self.lcSublane),
            "lcPushy": _fmt(self.lcPushy),
            "lcAssertive": _fmt(self.lcAssertive),
            "color": self.color.replace(";", ","),
        }


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _row_error(path: Path, line: int, what: str, hint: str) -> ValueError:
    return ValueError(f"{path}: row at line {line}: {what}. Hint: {hint}")


def load_vtypes(path: Path | str) -> list[VehicleType]:
    """Read and validate the vehicle-type table.

    Raises ValueError naming the file, the line and the column, with a hint,
    for a missing column, an unparsable or out-of-range number, an unknown
    vClass or latAlignment, a duplicate id, or shares that do not sum to 1.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise ValueError(
                f"{path}: header lacks column(s) {missing}. "
                f"Hint: the table needs columns {list(_REQUIRED)}"
            )
        out: list[VehicleType] = []
        seen: set[str] = set()
        for row in reader:
            line = reader.line_num
            if None in row or any(row[c] is None for c in _REQUIRED):
                raise _row_error(
                    path,
                    line,
                    "wrong number of fields",
                    "quote a source_why note that contains commas",
                )
            vid = row["id"].strip()
            if not vid or vid in seen:
                raise _row_error(
                    path,
                    line,
                    f"empty or duplicate id {vid!r}",
                    "give each vehicle type a unique id",
                )
            seen.add(vid)
            vclass = row["vClass"].strip()
            if vclass not in SUMO_VCLASSES:
                raise _row_error(
                    path,
                    line,
                    f"unknown vClass {vclass!r}",
                    "use a SUMO vClass such as motorcycle, passenger, bus, truck, bicycle",
                )
            lat = row["latAlignment"].strip()
            if lat not in _LAT_ALIGNMENTS:
                raise _row_error(
                    path,
                    line,
                    f"unknown latAlignment {lat!r}",
                    f"use one of {sorted(_LAT_ALIGNMENTS)}",
                )
            nums: dict[str, float] = {}
            for col, (lo, hi, lo_incl) in _NUMERIC.items():
                text = row[col].strip()
                try:
                    val = float(text)
                except ValueError:
                    raise _row_error(
                        path,
                        line,
                        f"column {col!r} = {text!r} is not a number",
                        "write a plain decimal number, e.g. 1.25",
                    ) from None
                ok = math.isfinite(val) and (val >= lo if lo_incl else val > lo) and val <= hi
                if not ok:
                    bound = "[" if lo_incl else "("
                    raise _row_error(
                        path,
                        line,
                        f"column {col!r} = {val} is out of range",
                        f"{col} must lie in {bound}{lo}, {hi}]",
                    )
                nums[col] = val
            if nums["emergencyDecel"] < nums["decel"]:
                raise _row_error(
                    path, line, "emergencyDecel < decel", "SUMO needs emergencyDecel >= decel"
                )
            out.append(
                VehicleType(
                    id=vid,
                    vClass=vclass,
                    latAlignment=lat,
                    color=row["color"].strip(),
                    source_why=row["source_why"].strip(),
                    **nums,
                )
            )
    if not out:
        raise ValueError(f"{path}: no vehicle types. Hint: add at least one row")
    total = sum(v.share for v in out)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(
            f"{path}: shares sum to {total:.6f}, not 1. "
            "Hint: shares are fractions of trips; adjust them to sum to 1"
        )
    return out


def write_vtypes_xml(vtypes: Sequence[VehicleType], path: Path | str) -> Path:
    """Write SUMO ``<vType>`` definitions (an additional file) and return its path.

    Each trip of the demand names its type explicitly, so no
    ``vTypeDistribution`` is written; the shares live in the CSV table.
    """
    path = Path(path)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<!-- generated by sim.traffic.vtypes from the reviewed vehicle-type table -->",
        "<additional>",
    ]
    for v in vtypes:
        attrs = " ".join(f"{k}={quoteattr(val)}" for k, val in v.sumo_attributes().items())
        lines.append(f"    <vType {attrs}>")
        lines.append(f'        <param key="pcu" value="{_fmt(v.pcu)}"/>')
        lines.append("    </vType>")
    lines.append("</additional>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
