"""The process image as an OPC-UA address space: names, NodeIds, types, units, samples.

Layout (namespace :data:`NAMESPACE_URI`, index ``ns`` on the server)::

    Objects/
      DongHa/                         folder, NodeId ns;s=DongHa
        agri/                         folder per path segment, NodeId ns;s=agri/
          DT-H01-P1/                  ... NodeId ns;s=agri/DT-H01-P1/
            soil_vwc                  variable, NodeId ns;s=agri/DT-H01-P1/soil_vwc
              EURange                 property, NodeId ns;s=agri/DT-H01-P1/soil_vwc|EURange
              EngineeringUnits        property, NodeId ns;s=agri/DT-H01-P1/soil_vwc|EngineeringUnits
        twin/clock/                   lock-step clock (see CLOCK_* below)
          step       Int64    read    the step number k published by the field side (-1: none yet)
          now_s      Double   read    run time of that step (s)
          ack_step   Int64    write   the controller side writes k here when its outputs are written
          ended      Boolean  read    True once the field side ended the run
          run_start  UtcTime  read    UTC instant of run time 0 (SourceTimestamp = start + t)

A point's variable NodeId is its process-image name as a string identifier
(``ns=<idx>;s=<point name>``). Folder identifiers end with ``/`` and property
identifiers contain ``|``, neither of which a point name can, so the three
never collide. The top-level segment ``twin`` is reserved for the clock.

Types: FLOAT → Double, INT → Int64, BOOL → Boolean, STR → String. Numeric
points are ``AnalogItemType`` (with ``EURange`` from ``low``/``high``; a
missing bound is ±inf) or ``BaseAnalogType`` when unbounded, and carry
``EngineeringUnits`` (:mod:`hil.opcua.units`). Sensors (INPUT) are read-only,
actuators (OUTPUT) read+write.

A sample travels as a ``DataValue``: quality as the StatusCode's severity
(GOOD → Good, UNCERTAIN → Uncertain, BAD → Bad, with a null value) and its
run time as ``SourceTimestamp`` = run start (UTC) + run time. OPC-UA DateTime
has 100 ns ticks but Python datetimes 1 µs, so run times travel rounded to the
microsecond.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from asyncua import ua

from controllers.io import Direction, PointSpec, PointValueError, Quality, Sample, ValueType
from hil.opcua._ua import SharedDataValue, data_value, node_id, status
from hil.opcua.units import eu_information

__all__ = [
    "CLOCK_ACK_STEP",
    "CLOCK_ENDED",
    "CLOCK_NOW_S",
    "CLOCK_RUN_START",
    "CLOCK_STEP",
    "NAMESPACE_URI",
    "ROOT_FOLDER",
    "RunClock",
    "address_space_items",
    "check_point_set",
    "coerce_value",
    "data_type_id",
    "datavalue_to_sample",
    "folder_node_id",
    "initial_datavalue",
    "mapping_for",
    "node_id_text",
    "point_node_id",
    "property_node_id",
    "quality_from_status",
    "sample_to_datavalue",
    "status_from_quality",
    "variant_type",
]

NAMESPACE_URI = "urn:dongha-twin"
ROOT_FOLDER = "DongHa"
RESERVED_DOMAIN = "twin"
CLOCK_STEP = "twin/clock/step"
CLOCK_NOW_S = "twin/clock/now_s"
CLOCK_ACK_STEP = "twin/clock/ack_step"
CLOCK_ENDED = "twin/clock/ended"
CLOCK_RUN_START = "twin/clock/run_start"

_VARIANT = {
    ValueType.FLOAT: ua.VariantType.Double,
    ValueType.INT: ua.VariantType.Int64,
    ValueType.BOOL: ua.VariantType.Boolean,
    ValueType.STR: ua.VariantType.String,
}
_INT64 = (-(2**63), 2**63 - 1)
_STATUS = {
    Quality.GOOD: ua.StatusCodes.Good,
    Quality.UNCERTAIN: ua.StatusCodes.Uncertain,
    Quality.BAD: ua.StatusCodes.Bad,
}
# one StatusCode object per quality, shared by every DataValue made here (never changed)
_STATUS_OBJECTS = {quality: status(code) for quality, code in _STATUS.items()}
_NULL = ua.Variant(None, ua.VariantType.Null)
_SEVERITY = (Quality.GOOD, Quality.UNCERTAIN, Quality.BAD, Quality.BAD)  # by a code's top bits
_GOOD, _BAD = Quality.GOOD, Quality.BAD
_new_tuple = tuple.__new__  # builds a Sample without the NamedTuple's Python-level __new__
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- names and NodeIds ---------------------------------------------------------------


def point_node_id(name: str, ns: int) -> ua.NodeId:
    """The NodeId of a point's variable: string identifier = point name."""
    return node_id(name, ns)


def folder_node_id(path: str, ns: int) -> ua.NodeId:
    """The NodeId of a folder: ``""`` is the root folder ``DongHa``, else ``<path>/``."""
    return node_id(f"{path}/" if path else ROOT_FOLDER, ns)


def property_node_id(name: str, prop: str, ns: int) -> ua.NodeId:
    """The NodeId of a property of a point's variable (``<point>|EURange``)."""
    return node_id(f"{name}|{prop}", ns)


def node_id_text(name: str, ns: int) -> str:
    """A point's NodeId as text, ``ns=<ns>;s=<name>`` (the mapping-file form)."""
    return f"ns={ns};s={name}"


def mapping_for(names: Iterable[str], ns: int) -> dict[str, str]:
    """The point name → NodeId text mapping of this address space for ``names``."""
    return {name: node_id_text(name, ns) for name in names}


def check_point_set(points: Sequence[PointSpec]) -> dict[str, PointSpec]:
    """Points by name; ValueError on duplicates, the reserved ``twin/`` domain, or a
    name that is also the folder of another point (``a/b`` and ``a/b/c``)."""
    by_name: dict[str, PointSpec] = {}
    for spec in points:
        if not isinstance(spec, PointSpec):
            raise TypeError(f"expected PointSpec, got {type(spec).__name__}: {spec!r}")
        if spec.name in by_name:
            raise ValueError(f"point {spec.name!r} is given twice; give each point once")
        if spec.name.split("/", 1)[0] == RESERVED_DOMAIN:
            raise ValueError(
                f"point {spec.name!r}: the top-level segment {RESERVED_DOMAIN!r} is reserved "
                "for the lock-step clock; rename the point"
            )
        by_name[spec.name] = spec
    folders = {"/".join(n.split("/")[:i]) for n in by_name for i in range(1, n.count("/") + 1)}
    clash = sorted(folders & by_name.keys())
    if clash:
        raise ValueError(
            f"point {clash[0]!r} is also the folder of other points; a name must be a leaf"
        )
    return by_name


# --- types, quality, time ------------------------------------------------------------


def variant_type(value_type: ValueType) -> ua.VariantType:
    """The OPC-UA variant type of a point type (FLOAT → Double, INT → Int64, ...)."""
    return _VARIANT[value_type]


def data_type_id(value_type: ValueType) -> ua.NodeId:
    """The DataType NodeId (namespace 0) of a point type."""
    return node_id(_VARIANT[value_type].value, 0)


def coerce_value(spec: PointSpec, value: Any) -> Any:
    """``value`` as the Python type of ``spec``'s variant, or PointValueError.

    Only the type is checked (sensors may legitimately read out of range);
    use ``spec.check`` for the range.
    """
    vt = spec.value_type
    if vt is ValueType.FLOAT:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PointValueError(f"{spec.name}: expected a number, got {value!r}")
        return float(value)
    if vt is ValueType.INT:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PointValueError(f"{spec.name}: expected an integer, got {value!r}")
        if isinstance(value, float) and not (math.isfinite(value) and value == int(value)):
            raise PointValueError(f"{spec.name}: expected an integer, got {value!r}")
        number = int(value)
        if not _INT64[0] <= number <= _INT64[1]:
            raise PointValueError(f"{spec.name}: {number} does not fit an Int64")
        return number
    if vt is ValueType.BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        raise PointValueError(f"{spec.name}: expected a boolean, got {value!r}")
    if not isinstance(value, str):
        raise PointValueError(f"{spec.name}: expected text, got {type(value).__name__}")
    return value


def status_from_quality(quality: Quality) -> ua.StatusCode:
    """GOOD → Good, UNCERTAIN → Uncertain, BAD → Bad."""
    return status(_STATUS[Quality(quality)])


def quality_from_status(code: ua.StatusCode | None) -> Quality:
    """The quality of a StatusCode's severity (None counts as Good, as on the wire).

    The severity is the code's top two bits: 00 Good, 01 Uncertain, 10 and 11
    (reserved) Bad, as asyncua's ``is_good``/``is_uncertain``/``is_bad`` read them.
    """
    if code is None:
        return Quality.GOOD
    return _SEVERITY[(code.value >> 30) & 3]


class RunClock:
    """Converts run time (s since the run start) to UTC datetimes and back.

    Args:
        run_start_utc_s: UTC instant of run time 0, as seconds since 1970-01-01 UTC.
    """

    def __init__(self, run_start_utc_s: float) -> None:
        if (
            isinstance(run_start_utc_s, bool)
            or not isinstance(run_start_utc_s, int | float)
            or not math.isfinite(run_start_utc_s)
        ):
            raise ValueError(
                "run_start_utc_s must be finite seconds since 1970-01-01 UTC, "
                f"got {run_start_utc_s!r}"
            )
        self.run_start_utc_s = float(run_start_utc_s)
        self.start = _EPOCH + timedelta(seconds=self.run_start_utc_s)
        self._last: tuple[float, datetime | None] = (math.nan, None)  # to_datetime's last answer

    @classmethod
    def from_datetime(cls, start: datetime) -> RunClock:
        """The clock whose run time 0 is ``start`` (naive datetimes are taken as UTC)."""
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        clock = cls((start - _EPOCH).total_seconds())
        clock.start = start
        return clock

    def to_datetime(self, run_s: float) -> datetime | None:
        """UTC datetime of run time ``run_s`` (1 µs resolution); None for non-finite times.

        The last answer is kept: the samples of one publish share their time.
        """
        last = self._last
        if last[0] == run_s:
            return last[1]
        if not math.isfinite(run_s):
            return None
        when = self.start + timedelta(seconds=run_s)
        self._last = (run_s, when)
        return when

    def to_run_s(self, when: datetime | None) -> float:
        """Run time (s) of a UTC datetime; ``-inf`` (unknown) for None."""
        if when is None:
            return -math.inf
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return (when - self.start).total_seconds()


def sample_to_datavalue(
    spec: PointSpec, sample: Sample, clock: RunClock, server_time: datetime | None = None
) -> ua.DataValue:
    """A sample as a DataValue of ``spec``'s variant type (see the module docstring).

    A BAD sample travels with a null value. PointValueError when a GOOD or
    UNCERTAIN sample's value does not fit the point's type.
    """
    if type(sample) is Sample:  # fast path: a GOOD or UNCERTAIN float of a FLOAT point
        value, quality, source_time = sample
        if (
            type(value) is float
            and spec.value_type is ValueType.FLOAT
            and (quality is Quality.GOOD or quality is Quality.UNCERTAIN)
        ):
            return SharedDataValue(
                Value=ua.Variant(value, ua.VariantType.Double),
                StatusCode=_STATUS_OBJECTS[quality],
                SourceTimestamp=cast(Any, clock.to_datetime(source_time)),
                ServerTimestamp=cast(Any, server_time),
            )
    elif not isinstance(sample, Sample):
        raise TypeError(f"{spec.name}: expected a Sample, got {type(sample).__name__}")
    value, quality, source_time = sample
    try:
        code = _STATUS_OBJECTS.get(quality)
    except TypeError:  # unhashable
        code = None
    if code is None:
        code = _STATUS_OBJECTS[Quality(quality)]  # ValueError: none of the three
    if quality == Quality.BAD or value is None:
        variant = _NULL
        if quality != Quality.BAD:
            raise PointValueError(f"{spec.name}: a {Quality(quality).name} sample needs a value")
    else:
        variant = ua.Variant(coerce_value(spec, value), _VARIANT[spec.value_type])
    return data_value(variant, code, clock.to_datetime(source_time), server_time)


def datavalue_to_sample(dv: ua.DataValue, clock: RunClock) -> Sample:
    """A DataValue as a Sample: quality from the StatusCode, time from SourceTimestamp.

    A Bad DataValue reads as ``Sample(None, BAD, t)``; a missing SourceTimestamp
    falls back to the ServerTimestamp, then to ``-inf`` (unknown).
    """
    code = dv.StatusCode
    quality = _GOOD if code is None else _SEVERITY[(code.value >> 30) & 3]  # quality_from_status
    when = dv.SourceTimestamp if dv.SourceTimestamp is not None else dv.ServerTimestamp
    variant = dv.Value
    value = None if variant is None else variant.Value
    if quality is _BAD:
        value = None
    elif value is None:
        quality = _BAD  # Good/Uncertain without a value is of no use to a controller
    return _new_tuple(Sample, (value, quality, clock.to_run_s(when)))


# --- building the address space ------------------------------------------------------


def _variable_attributes(
    display: str, description: str, value: ua.Variant, dtype: ua.NodeId, writable: bool
) -> ua.VariableAttributes:
    access = ua.AccessLevel.CurrentRead.mask | (ua.AccessLevel.CurrentWrite.mask if writable else 0)
    attrs = ua.VariableAttributes()
    attrs.DisplayName = ua.LocalizedText(display)
    attrs.Description = ua.LocalizedText(description)
    attrs.Value = value
    attrs.DataType = dtype
    attrs.ValueRank = ua.ValueRank.Scalar
    attrs.ArrayDimensions = []
    attrs.WriteMask = 0
    attrs.UserWriteMask = 0
    attrs.Historizing = False
    attrs.AccessLevel = access
    attrs.UserAccessLevel = access
    attrs.MinimumSamplingInterval = 0.0
    return attrs


def _item(
    new_id: ua.NodeId,
    parent: ua.NodeId,
    browse: ua.QualifiedName,
    node_class: ua.NodeClass,
    reference: int,
    type_def: int,
    attrs: ua.ObjectAttributes | ua.VariableAttributes,
) -> ua.AddNodesItem:
    item = ua.AddNodesItem()
    item.RequestedNewNodeId = new_id
    item.ParentNodeId = parent
    item.BrowseName = browse
    item.NodeClass = node_class
    item.ReferenceTypeId = node_id(reference, 0)
    item.TypeDefinition = node_id(type_def, 0)
    item.NodeAttributes = attrs
    return item


def _folder(path: str, ns: int) -> ua.AddNodesItem:
    parent_path = path.rpartition("/")[0]
    if path:
        parent = folder_node_id(parent_path, ns)
        name = path.rpartition("/")[2]
    else:
        parent, name = node_id(ua.ObjectIds.ObjectsFolder, 0), ROOT_FOLDER
    attrs = ua.ObjectAttributes()
    attrs.DisplayName = ua.LocalizedText(name)
    attrs.Description = ua.LocalizedText(f"{ROOT_FOLDER}/{path}" if path else "Đông Hà twin")
    attrs.EventNotifier = 0
    return _item(
        folder_node_id(path, ns),
        parent,
        ua.QualifiedName(name, ns),
        ua.NodeClass.Object,
        ua.ObjectIds.Organizes,
        ua.ObjectIds.FolderType,
        attrs,
    )


def _property(
    name: str, prop: str, value: Any, vtype: ua.VariantType, dtype: int, ns: int
) -> ua.AddNodesItem:
    attrs = _variable_attributes(prop, prop, ua.Variant(value, vtype), node_id(dtype, 0), False)
    return _item(
        property_node_id(name, prop, ns),
        point_node_id(name, ns),
        ua.QualifiedName(prop, 0),
        ua.NodeClass.Variable,
        ua.ObjectIds.HasProperty,
        ua.ObjectIds.PropertyType,
        attrs,
    )


def _variable(
    name: str,
    value_type: ValueType,
    description: str,
    writable: bool,
    ns: int,
    type_def: int = ua.ObjectIds.BaseDataVariableType,
    initial: ua.Variant | None = None,
) -> ua.AddNodesItem:
    parent_path, _, leaf = name.rpartition("/")
    attrs = _variable_attributes(
        leaf,
        description,
        initial if initial is not None else ua.Variant(None, ua.VariantType.Null),
        data_type_id(value_type),
        writable,
    )
    return _item(
        point_node_id(name, ns),
        folder_node_id(parent_path, ns),
        ua.QualifiedName(leaf, ns),
        ua.NodeClass.Variable,
        ua.ObjectIds.HasComponent,
        type_def,
        attrs,
    )


def address_space_items(
    points: Sequence[PointSpec], ns: int, run_start: datetime
) -> list[ua.AddNodesItem]:
    """AddNodes items for the whole address space (folders first, then variables).

    Every point variable starts with a null value; the server marks it
    ``BadWaitingForInitialData`` until the first sample or write.
    """
    by_name = check_point_set(points)
    names = [*by_name, CLOCK_STEP]
    folders: dict[str, None] = {"": None}
    for name in names:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            folders.setdefault("/".join(parts[:i]), None)
    items = [_folder(path, ns) for path in folders]
    for spec in by_name.values():
        numeric = spec.value_type in (ValueType.FLOAT, ValueType.INT)
        ranged = numeric and (spec.low is not None or spec.high is not None)
        if not numeric:
            type_def = ua.ObjectIds.BaseDataVariableType
        else:
            type_def = ua.ObjectIds.AnalogItemType if ranged else ua.ObjectIds.BaseAnalogType
        items.append(
            _variable(
                spec.name,
                spec.value_type,
                spec.description or spec.name,
                spec.direction is Direction.OUTPUT,
                ns,
                type_def,
            )
        )
        if ranged:
            low = -math.inf if spec.low is None else float(spec.low)
            high = math.inf if spec.high is None else float(spec.high)
            items.append(
                _property(
                    spec.name,
                    "EURange",
                    ua.Range(low, high),
                    ua.VariantType.ExtensionObject,
                    ua.ObjectIds.Range,
                    ns,
                )
            )
        if numeric and spec.unit:
            items.append(
                _property(
                    spec.name,
                    "EngineeringUnits",
                    eu_information(spec.unit),
                    ua.VariantType.ExtensionObject,
                    ua.ObjectIds.EUInformation,
                    ns,
                )
            )
    clock: list[tuple[str, ValueType, str, bool, ua.Variant]] = [
        (
            CLOCK_STEP,
            ValueType.INT,
            "lock-step: step number k (-1: none yet)",
            False,
            ua.Variant(-1, ua.VariantType.Int64),
        ),
        (
            CLOCK_NOW_S,
            ValueType.FLOAT,
            "lock-step: run time of the step (s)",
            False,
            ua.Variant(0.0, ua.VariantType.Double),
        ),
        (
            CLOCK_ACK_STEP,
            ValueType.INT,
            "lock-step: the controller side writes k when done",
            True,
            ua.Variant(-1, ua.VariantType.Int64),
        ),
        (
            CLOCK_ENDED,
            ValueType.BOOL,
            "lock-step: True once the field side ended the run",
            False,
            ua.Variant(False, ua.VariantType.Boolean),
        ),
    ]
    for name, vt, text, writable, initial in clock:
        items.append(_variable(name, vt, text, writable, ns, initial=initial))
    start_item = _variable(
        CLOCK_RUN_START,
        ValueType.STR,
        "UTC instant of run time 0; source timestamps are run start + run time",
        False,
        ns,
        initial=ua.Variant(run_start, ua.VariantType.DateTime),
    )
    start_item.NodeAttributes.DataType = node_id(ua.ObjectIds.UtcTime, 0)
    items.append(start_item)
    return items


def initial_datavalue(server_time: datetime) -> ua.DataValue:
    """The value of a point before its first sample or write."""
    return data_value(
        ua.Variant(None, ua.VariantType.Null),
        ua.StatusCodes.BadWaitingForInitialData,
        server=server_time,
    )
