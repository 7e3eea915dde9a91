"""Writes to the field server are validated: a bad write gets a Bad status and is not applied."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from asyncua import Client, ua
from opcua_support import (
    FLOW,
    IRRIGATION_INPUTS,
    IRRIGATION_OUTPUTS,
    MODE,
    OPERATOR,
    VALVE,
    VWC,
    running_field,
    wait_for,
)

from controllers.io import PointValueError, Quality, Sample
from hil.opcua import OpcUaControllerLink

Write = tuple[str, ua.Variant, ua.StatusCode | None]


def _dv(variant: ua.Variant, status: int | None = None) -> ua.DataValue:
    dv = ua.DataValue(variant)
    if status is not None:
        dv.StatusCode = ua.StatusCode(status)
    return dv


async def _write_all(url: str, ns: int, writes: list[tuple[str, ua.DataValue]]) -> list[str]:
    """Write each value in its own request as the operator; the StatusCode names."""
    client = Client(url)
    client.set_user(OPERATOR[0])
    client.set_password(OPERATOR[1])
    names = []
    async with client:
        for point, dv in writes:
            node = ua.NodeId(point, ns, ua.NodeIdType.String)
            result = await client.uaclient.write_attributes([node], [dv], ua.AttributeIds.Value)
            names.append(result[0].name)
    return names


def test_invalid_writes_are_rejected_and_not_applied() -> None:
    with running_field() as field:
        ns = field.namespace_index
        double, int64 = ua.VariantType.Double, ua.VariantType.Int64
        writes: list[tuple[str, ua.DataValue]] = [
            (FLOW, _dv(ua.Variant(150.0, double))),  # above high
            (FLOW, _dv(ua.Variant(-1.0, double))),  # below low
            (FLOW, _dv(ua.Variant(math.nan, double))),  # not finite
            (FLOW, _dv(ua.Variant(5, ua.VariantType.Int32))),  # wrong type
            (FLOW, _dv(ua.Variant(5.0, double), ua.StatusCodes.Uncertain)),  # not Good
            (VALVE, _dv(ua.Variant(1, int64))),  # Boolean expected
            (MODE, _dv(ua.Variant(7, int64))),  # out of 0..3
            (VWC, _dv(ua.Variant(0.3, double))),  # a sensor: read-only
            ("twin/clock/ack_step", _dv(ua.Variant(0, int64))),  # no step published yet
            ("twin/clock/step", _dv(ua.Variant(5, int64))),  # the clock is read-only
        ]
        statuses = asyncio.run(_write_all(field.url, ns, writes))
        assert statuses == [
            "BadOutOfRange",
            "BadOutOfRange",
            "BadOutOfRange",
            "BadTypeMismatch",
            "BadWriteNotSupported",
            "BadTypeMismatch",
            "BadOutOfRange",
            "BadUserAccessDenied",
            "BadInvalidState",
            "BadUserAccessDenied",
        ]
        assert field.take_writes() == {}
        assert field.read(FLOW).quality is Quality.BAD  # still waiting for initial data
        assert field.stats["rejected"] == 8  # the two read-only nodes are asyncua's refusals

        good = [(FLOW, _dv(ua.Variant(42.5, double))), (VALVE, _dv(ua.Variant(True)))]
        good.append((MODE, _dv(ua.Variant(2, int64))))
        assert asyncio.run(_write_all(field.url, ns, good)) == ["Good", "Good", "Good"]
        assert field.take_writes() == {FLOW: 42.5, VALVE: True, MODE: 2}
        assert field.take_writes() == {}
        flow = field.read(FLOW)
        assert flow.value == 42.5 and flow.quality is Quality.GOOD


def test_link_checks_outputs_before_sending() -> None:
    with running_field() as field:
        link = OpcUaControllerLink(
            field.url,
            IRRIGATION_INPUTS,
            IRRIGATION_OUTPUTS,
            user=OPERATOR[0],
            password=OPERATOR[1],
        )
        try:
            link.connect(10.0)
            with pytest.raises(PointValueError, match="outside"):
                link.write({FLOW: 101.0})
            with pytest.raises(ValueError, match="not an output"):
                link.write({VWC: 0.3})
            assert link.stats["sent"] == 0
            link.write({FLOW: 12.0, VALVE: True})
            assert field.take_writes() == {FLOW: 12.0, VALVE: True}
            field.publish(3.0, {VWC: Sample(0.27, Quality.GOOD, 3.0)})
            wait_for(lambda: link.latest(3.0)[VWC].value == 0.27, 5.0, "the VWC notification")
            got: Any = link.latest(3.0)[VWC]
            assert got == Sample(0.27, Quality.GOOD, 3.0)
        finally:
            link.close()
