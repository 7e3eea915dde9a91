"""Engineering units of the process image as OPC-UA ``EUInformation`` (UNECE Rec. 20 codes).

OPC 10000-8 §5.6.3 maps the UN/CEFACT "Codes for Units of Measure" onto
``EUInformation``: ``NamespaceUri`` is :data:`UNECE_NAMESPACE_URI`, ``UnitId`` is
the common code packed one ASCII byte per character (``"MTR"`` →
``0x4D5452``), ``DisplayName`` the unit symbol and ``Description`` its name.
Units without a common code get ``UnitId = -1`` ("not available"), as the
specification allows, and keep their symbol as display name.
"""

from __future__ import annotations

from typing import NamedTuple

from asyncua import ua

__all__ = ["UNECE_NAMESPACE_URI", "UNITS", "Unit", "eu_information", "unit_id"]

UNECE_NAMESPACE_URI = "http://www.opcfoundation.org/UA/units/un/cefact"


class Unit(NamedTuple):
    """One engineering unit: UNECE common code (None = none exists), symbol, name."""

    code: str | None
    symbol: str
    name: str


UNITS: dict[str, Unit] = {
    # process-image unit text -> UNECE Recommendation 20 entry
    "m": Unit("MTR", "m", "metre"),
    "s": Unit("SEC", "s", "second [unit of time]"),
    "m/s": Unit("MTS", "m/s", "metre per second"),
    "%": Unit("P1", "%", "percent"),
    "kPa": Unit("KPA", "kPa", "kilopascal"),
    "L/min": Unit("L2", "l/min", "litre per minute"),
    "mm": Unit("MMT", "mm", "millimetre"),
    "mm/d": Unit(None, "mm/d", "millimetre per day"),  # no common code in Rec. 20
    "degC": Unit("CEL", "°C", "degree Celsius"),
    "m3/m3": Unit("H60", "m³/m³", "cubic metre per cubic metre"),
    "mS/cm": Unit("H61", "mS/cm", "millisiemens per centimetre"),
    "W": Unit("WTT", "W", "watt"),
    "lx": Unit("LUX", "lx", "lux"),
    "1": Unit("C62", "1", "one"),
}
"""Units used by the twin's points (``PointSpec.unit``) and their UNECE entries."""


def unit_id(code: str | None) -> int:
    """The ``EUInformation.UnitId`` of a UNECE common code (-1 when there is none).

    >>> unit_id("MTR")
    5067858
    """
    if code is None:
        return -1
    if not (1 <= len(code) <= 3) or not code.isascii() or not code.isalnum():
        raise ValueError(f"UNECE common code must be 1-3 ASCII letters/digits, got {code!r}")
    value = 0
    for char in code:
        value = (value << 8) | ord(char)
    return value


def eu_information(unit: str) -> ua.EUInformation:
    """``EUInformation`` for a point's unit text (``PointSpec.unit``, e.g. ``"kPa"``).

    Units outside :data:`UNITS` get ``UnitId = -1`` and their text as display name.
    """
    entry = UNITS.get(unit, Unit(None, unit, ""))
    return ua.EUInformation(
        NamespaceUri=UNECE_NAMESPACE_URI,
        UnitId=unit_id(entry.code),
        DisplayName=ua.LocalizedText(entry.symbol, "en"),
        Description=ua.LocalizedText(entry.name, "en"),
    )
