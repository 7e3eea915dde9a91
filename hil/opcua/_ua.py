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

__all__ = ["SharedDataValue", "data_value", "node_id", "status"]


class SharedDataValue(ua.DataValue):
    """A DataValue that nobody changes once made, so a copy of it is the value itself.

    asyncua's server deep-copies the DataValue of every write into each
    monitored item that watches the node (about 30 µs a copy, most of the cost
    of a sensor update). This bridge makes a DataValue for each sample and
    never changes it afterwards, and what it holds (a scalar Variant, a
    StatusCode, datetimes) is not changed either, so ``copy`` and ``deepcopy``
    return the object itself. Only for scalar values: an array Variant holds a
    list, which a copy must not share.
    """

    __slots__ = ()

    def __copy__(self) -> SharedDataValue:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedDataValue:
        return self


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
    code: int | ua.StatusCode | None = None,
    source: datetime | None = None,
    server: datetime | None = None,
) -> SharedDataValue:
    """A DataValue of a scalar ``value`` (see :class:`SharedDataValue`); ``code`` None
    means Good; timestamps are aware UTC datetimes or None."""
    if not isinstance(code, ua.StatusCode):
        code = status(ua.StatusCodes.Good if code is None else code)
    return SharedDataValue(
        Value=value,
        StatusCode=code,
        SourceTimestamp=cast(Any, source),
        ServerTimestamp=cast(Any, server),
    )
