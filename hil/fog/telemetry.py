"""JSON-safe telemetry: samples, output values and alarms as plain JSON data.

A value that JSON cannot carry (NaN, ±inf, an object) is written as ``null``
with quality ``BAD``; nothing is dropped silently and nothing raises, so one
odd sensor value never stops the node from recording a scan.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any

from controllers.io import PointSpec, PointValueError, Quality, Sample

__all__ = ["json_safe", "json_value", "output_entry", "sample_entry"]

_MAX_DEPTH = 32


def json_value(value: Any) -> tuple[Any, bool]:
    """``(value, ok)``: a JSON scalar for ``value``, or ``(None, False)`` if it has none.

    Finite floats, ints, bools, strings and None pass; numpy-like numbers are
    converted; NaN, ±inf and other objects give ``(None, False)``.
    """
    if value is None or isinstance(value, bool | str):
        return value, True
    if isinstance(value, int):
        return int(value), True
    if isinstance(value, float):
        return (value, True) if math.isfinite(value) else (None, False)
    if isinstance(value, Integral):
        return int(value), True
    if isinstance(value, Real):
        number = float(value)
        return (number, True) if math.isfinite(number) else (None, False)
    return None, False


def json_safe(obj: Any, _depth: int = 0) -> Any:
    """``obj`` as JSON data: dataclasses, named tuples and mappings become objects,
    sequences lists, non-finite numbers and unknown objects ``None``."""
    if _depth > _MAX_DEPTH:
        return None
    value, ok = json_value(obj)
    if ok:
        return value
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    elif isinstance(obj, tuple) and hasattr(obj, "_asdict"):
        obj = obj._asdict()
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v, _depth + 1) for k, v in obj.items()}
    if isinstance(obj, Sequence | set | frozenset) and not isinstance(obj, bytes | bytearray):
        items = sorted(obj, key=repr) if isinstance(obj, set | frozenset) else obj
        return [json_safe(v, _depth + 1) for v in items]
    return None


def sample_entry(sample: Sample) -> dict[str, Any]:
    """``{"v": value, "q": "GOOD"|"UNCERTAIN"|"BAD", "t": source time s}`` of an input sample.

    A value JSON cannot carry becomes ``null`` with quality BAD; a
    non-finite source time becomes ``null``.
    """
    value, ok = json_value(sample.value)
    try:
        quality = Quality(sample.quality)
    except ValueError:
        quality, ok = Quality.BAD, False
    if not ok:
        quality = Quality.BAD
    t, t_ok = json_value(sample.source_time)
    return {"v": value, "q": quality.name, "t": t if t_ok and not isinstance(t, bool) else None}


def output_entry(spec: PointSpec | None, value: Any) -> dict[str, Any]:
    """``{"v": value, "q": ...}`` of an output; BAD (with ``err``) if ``spec`` rejects it."""
    safe, ok = json_value(value)
    entry: dict[str, Any] = {"v": safe, "q": Quality.GOOD.name if ok else Quality.BAD.name}
    if not ok:
        entry["err"] = f"not JSON-representable: {value!r}"[:200]
    elif spec is not None:
        try:
            spec.check(value)
        except PointValueError as exc:
            entry["q"], entry["err"] = Quality.BAD.name, str(exc)[:200]
    return entry
