"""Traffic KPIs from SUMO's trip information, overall and per vehicle class.

Definitions (per completed vehicle, then averaged):

- delay (s) = ``timeLoss`` (time lost against driving at the desired speed)
  + ``departDelay`` (time waiting to enter the network);
- travel time (s) = ``duration`` (arrival - departure);
- stops = ``waitingCount`` (times the vehicle came to a halt, speed < 0.1 m/s);
- waiting time (s) = ``waitingTime`` (time spent halted, speed < 0.1 m/s).

Vehicles still travelling at the end are counted as unfinished, not averaged.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

__all__ = ["VEHICLE_CLASS_GROUPS", "person_kpis", "trip_kpis", "vehicle_classes"]

VEHICLE_CLASS_GROUPS = {
    "motorcycle": "motorbike",
    "moped": "motorbike",
    "passenger": "car",
    "taxi": "car",
    "bus": "bus",
    "coach": "bus",
    "truck": "truck",
    "trailer": "truck",
    "delivery": "truck",
    "bicycle": "bicycle",
}


def vehicle_classes(files: Iterable[Path]) -> dict[str, str]:
    """Map vType id -> class group (motorbike, car, bus, truck, bicycle) from SUMO XML files."""
    groups: dict[str, str] = {}
    for path in files:
        for _event, elem in ET.iterparse(path):
            if elem.tag == "vType":
                vclass = elem.get("vClass", "passenger")
                groups[elem.get("id", "")] = VEHICLE_CLASS_GROUPS.get(vclass, vclass)
            elif elem.tag in ("vehicle", "trip", "flow", "route"):
                elem.clear()
    return groups


def _summarise(rows: list[tuple[float, float, float, float]]) -> dict[str, float | int]:
    n = len(rows)
    if n == 0:
        return {
            "vehicles_completed": 0,
            "mean_delay_s": 0.0,
            "mean_travel_time_s": 0.0,
            "mean_stops": 0.0,
            "mean_waiting_s": 0.0,
        }
    return {
        "vehicles_completed": n,
        "mean_delay_s": round(sum(r[0] for r in rows) / n, 2),
        "mean_travel_time_s": round(sum(r[1] for r in rows) / n, 2),
        "mean_stops": round(sum(r[2] for r in rows) / n, 3),
        "mean_waiting_s": round(sum(r[3] for r in rows) / n, 2),
    }


def trip_kpis(tripinfo: Path, classes: dict[str, str]) -> dict[str, object]:
    """KPIs from a tripinfo file: overall, ``by_class``, and ``vehicles_unfinished``."""
    rows: list[tuple[float, float, float, float]] = []
    by_class: dict[str, list[tuple[float, float, float, float]]] = {}
    unfinished = 0
    for _event, elem in ET.iterparse(tripinfo):
        if elem.tag != "tripinfo":
            continue
        if elem.get("vaporized") or float(elem.get("arrival", "-1")) < 0:
            unfinished += 1
        else:
            row = (
                float(elem.get("timeLoss", 0)) + float(elem.get("departDelay", 0)),
                float(elem.get("duration", 0)),
                float(elem.get("waitingCount", 0)),
                float(elem.get("waitingTime", 0)),
            )
            rows.append(row)
            group = classes.get(elem.get("vType", ""), elem.get("vType", "unknown"))
            by_class.setdefault(group, []).append(row)
        elem.clear()
    result: dict[str, object] = dict(_summarise(rows))
    result["vehicles_unfinished"] = unfinished
    result["by_class"] = {k: _summarise(v) for k, v in sorted(by_class.items())}
    return result


def person_kpis(tripinfo: Path) -> dict[str, float | int]:
    """Pedestrians: completed walks and their mean time loss and waiting (s) from a tripinfo."""
    n, loss, wait, unfinished = 0, 0.0, 0.0, 0
    for _event, elem in ET.iterparse(tripinfo):
        if elem.tag != "personinfo":
            continue
        if float(elem.get("duration", "-1")) < 0 or elem.get("vaporized"):
            unfinished += 1
        else:
            n += 1
            loss += float(elem.get("timeLoss", 0))
            wait += float(elem.get("waitingTime", 0))
        elem.clear()
    return {
        "persons_completed": n,
        "persons_unfinished": unfinished,
        "mean_person_time_loss_s": round(loss / n, 2) if n else 0.0,
        "mean_person_waiting_s": round(wait / n, 2) if n else 0.0,
    }
