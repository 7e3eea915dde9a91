"""TALQ-style names for the lighting points, for field gateways that speak them.

No OPC-UA companion specification exists for street lighting; outdoor lighting
networks are managed through the TALQ interface, which models a device as a
set of *functions* (lamp actuator, lamp monitor, light sensor, electrical
meter, ...) with attributes. The twin's lighting cabinet emulator publishes its
points under names built that way, and a controller reaches them through
:func:`talq_name` (its own point names stay as they are).

``light/<id>/<leaf>`` ↔ ``light/<id>/talq/<Function>/<attribute>``; the table
:data:`TALQ_NAMES` gives ``<Function>/<attribute>`` per leaf. The function and
attribute names follow TALQ's style and vocabulary; they are this project's
namespace, not a claim of conformance to a TALQ release.
"""

from __future__ import annotations

__all__ = ["TALQ_NAMES", "process_name", "talq_name"]

#: process-image leaf → TALQ-style function/attribute
TALQ_NAMES: dict[str, str] = {
    "dim_pct": "LampActuator/targetLevel",  # %, 0 = off
    "fault": "LampMonitor/failureCode",  # the controller's diagnosis, "" = none
    "motion": "OccupancySensor/occupied",
    "power_w": "ElectricalMeter/activePower",  # W (pole node or cabinet meter)
    "link_ok": "Communication/linkUp",
    "ambient_lx": "LightSensor/illuminance",  # lx
    "rain_mm_h": "RainSensor/intensity",  # mm/h
    "volume_veh_h": "TrafficCounter/vehicleFlow",  # veh/h
    "supply_ok": "ElectricalMeter/supplyPresent",
    "energy_kwh": "ElectricalMeter/activeEnergy",  # kWh
}
_BACK = {v: k for k, v in TALQ_NAMES.items()}


def talq_name(point: str) -> str:
    """The TALQ-style name of lighting point ``light/<id>/<leaf>``; ValueError otherwise."""
    domain, _, rest = point.partition("/")
    device, _, leaf = rest.partition("/")
    if domain != "light" or not device or leaf not in TALQ_NAMES:
        raise ValueError(
            f"{point!r} is not a lighting point with a TALQ name (light/<id>/<leaf>, leaf one "
            f"of {sorted(TALQ_NAMES)})"
        )
    return f"light/{device}/talq/{TALQ_NAMES[leaf]}"


def process_name(talq: str) -> str:
    """The process-image name of a :func:`talq_name`; ValueError otherwise."""
    parts = talq.split("/")
    if len(parts) != 5 or parts[0] != "light" or parts[2] != "talq":
        raise ValueError(f"{talq!r} is not a TALQ-style lighting name")
    leaf = _BACK.get(f"{parts[3]}/{parts[4]}")
    if leaf is None:
        raise ValueError(f"{talq!r}: unknown TALQ function/attribute {parts[3]}/{parts[4]}")
    return f"light/{parts[1]}/{leaf}"
