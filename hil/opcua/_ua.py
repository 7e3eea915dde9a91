"""Typed constructors for a few asyncua value types.

asyncua annotates its fields with marker subclasses (``ua.Int16``,
``ua.UInt32``, ``ua.DateTime``, ...) that plain ``int``/``datetime`` values do
not satisfy for a type checker, although asyncua accepts them at run time.
These helpers take plain Python values and keep the casts in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from asyncua import ua

__all__ = ["data_value", "node_id", "status"]


def node_id(identifier: object, ns: int, kind: ua.NodeIdType | None = None) -> ua.NodeId:
    """``ua.NodeId(identifier, ns)``; a str identifier makes a string NodeId, an int a
    numeric one (``kind`` overrides, e.g. for Guid or ByteString identifiers)."""
    if kind is None and isinstance(identifier, str):
        kind = ua.NodeIdType.String
    return ua.NodeId(cast(Any, identifier), cast(Any, ns), cast(Any, kind))


def status(code: int) -> ua.StatusCode:
    """``ua.StatusCode(code)`` (e.g. ``ua.StatusCodes.BadOutOfRange``)."""
    return ua.StatusCode(cast(Any, code))


def data_value(
    value: ua.Variant,
    code: int | None = None,
    source: datetime | None = None,
    server: datetime | None = None,
) -> ua.DataValue:
    """A DataValue; ``code`` None means Good; timestamps are aware UTC datetimes or None."""
    return ua.DataValue(
        Value=value,
        StatusCode=status(ua.StatusCodes.Good if code is None else code),
        SourceTimestamp=cast(Any, source),
        ServerTimestamp=cast(Any, server),
    )
