"""Checks shared by the irrigation, misting, fertigation and timer configurations.

Every error names where the offending value sits (``irrigation.plots[3].area_m2``)
and what would be valid, so a scenario author can fix the YAML from the message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from controllers.io import validate_point_name

__all__ = ["is_finite_number", "number", "reject_unknown_keys", "segment"]


def is_finite_number(value: Any) -> bool:
    """True for an int or float (not a bool) that is neither NaN nor infinite."""
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def number(
    data: Mapping[str, Any],
    key: str,
    where: str,
    default: float | None = None,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
) -> float:
    if key not in data:
        if default is None:
            raise ValueError(f"{where}.{key} is required")
        return float(default)
    value = data[key]
    if not is_finite_number(value):
        raise ValueError(f"{where}.{key} must be a finite number, got {value!r}")
    number = float(value)
    if number < low or number > high or (low_open and number == low):
        lo = "(" if low_open else "["
        raise ValueError(f"{where}.{key} = {number} outside {lo}{low}, {high}]")
    return number


def segment(value: Any, where: str) -> str:
    if not isinstance(value, str) or "/" in value:
        raise ValueError(f"{where} must be one point-name segment like 'AL-H03-P1', got {value!r}")
    try:
        validate_point_name(f"agri/{value}")
    except ValueError as exc:
        raise ValueError(f"{where} {value!r}: use letters, digits and _ . # : -") from exc
    return value


def reject_unknown_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(str(k) for k in data if k not in allowed)
    if extra:
        raise ValueError(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")
