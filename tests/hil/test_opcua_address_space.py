"""The process image as an OPC-UA address space: layout, types, units, EURange,
access levels, quality as StatusCode and run time as SourceTimestamp — browsed
by a plain asyncua client over TCP."""

from __future__ import annotations

import asyncio
import copy
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asyncua import Client, ua
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import struct_from_binary, struct_to_binary
from opcua_support import (
    CITY,
    COUNT,
    DIM,
    EC,
    ET0,
    FLOW,
    GREEN,
    IRRIGATION,
    LEVEL,
    MODE,
    NOTE,
    OPERATOR,
    TEMP,
    VALVE,
    VWC,
    running_field,
)

from controllers.io import Direction, PointSpec, PointValueError, Quality, Sample, ValueType
from hil.opcua.address_space import (
    NAMESPACE_URI,
    RunClock,
    check_point_set,
    datavalue_to_sample,
    quality_from_status,
    sample_to_datavalue,
)
from hil.opcua.units import UNITS, eu_information, unit_id

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def test_unit_ids_follow_the_unece_packing() -> None:
    assert unit_id("MTR") == 0x4D5452
    assert unit_id("P1") == 20529  # percent, as in the OPC Foundation's UNECE table
    assert unit_id("C62") == 4404786
    assert unit_id(None) == -1
    with pytest.raises(ValueError):
        unit_id("TOOLONG")
    for text in ("m", "s", "m/s", "%", "kPa", "L/min", "mm", "mm/d", "degC", "m3/m3", "mS/cm"):
        assert text in UNITS
    assert eu_information("degC").DisplayName.Text == "°C"
    assert eu_information("mm/d").UnitId == -1
    assert eu_information("furlong").UnitId == -1


def test_run_clock_round_trips_to_the_microsecond() -> None:
    clock = RunClock(START)
    assert clock.start == datetime(2026, 1, 1, tzinfo=UTC)
    for t in (0.0, 0.5, 1234.25, -3.0, 86_400.000001):
        assert clock.to_run_s(clock.to_datetime(t)) == t
    assert clock.to_datetime(math.inf) is None
    # the last answer is kept; a repeated or alternating time still maps exactly
    times = (5.0, 5.0, 6.25, 5.0, math.nan, 5.0)
    expected = [None if t != t else clock.start + timedelta(seconds=t) for t in times]
    assert [clock.to_datetime(t) for t in times] == expected
    assert clock.to_run_s(None) == -math.inf
    assert RunClock.from_datetime(clock.start + timedelta(seconds=10)).to_run_s(clock.start) == -10
    with pytest.raises(ValueError, match="run_start_utc_s"):
        RunClock(math.nan)


def test_samples_travel_as_datavalues_and_back() -> None:
    clock = RunClock(START)
    vwc = IRRIGATION[0]
    for sample in (
        Sample(0.31, Quality.GOOD, 12.5),
        Sample(0.29, Quality.UNCERTAIN, 13.0),
        Sample(None, Quality.BAD, 14.0),
    ):
        dv = sample_to_datavalue(vwc, sample, clock)
        assert datavalue_to_sample(dv, clock) == sample
    bad_with_value = sample_to_datavalue(vwc, Sample(0.5, Quality.BAD, 1.0), clock)
    assert bad_with_value.Value.Value is None and bad_with_value.StatusCode.is_bad()
    with pytest.raises(PointValueError):
        sample_to_datavalue(vwc, Sample("wet", Quality.GOOD, 1.0), clock)
    with pytest.raises(PointValueError):
        sample_to_datavalue(vwc, Sample(None, Quality.GOOD, 1.0), clock)


def test_datavalues_are_shared_not_copied_and_encode_as_plain_datavalues() -> None:
    clock = RunClock(START)
    server_time = datetime(2026, 1, 1, 0, 0, 13, tzinfo=UTC)
    dv = sample_to_datavalue(IRRIGATION[0], Sample(0.31, Quality.GOOD, 12.5), clock, server_time)
    # asyncua deep-copies a written value into each monitored item: ours is never changed
    assert copy.deepcopy(dv) is dv and copy.copy(dv) is dv
    plain = ua.DataValue(
        Value=ua.Variant(0.31, ua.VariantType.Double),
        StatusCode=ua.StatusCode(ua.StatusCodes.Good),
        SourceTimestamp=clock.to_datetime(12.5),
        ServerTimestamp=server_time,
    )
    ours = struct_to_binary(ua.MonitoredItemNotification(ClientHandle=3, Value=dv))
    assert ours == struct_to_binary(ua.MonitoredItemNotification(ClientHandle=3, Value=plain))
    back = struct_from_binary(ua.MonitoredItemNotification, Buffer(ours))
    assert datavalue_to_sample(back.Value, clock) == Sample(0.31, Quality.GOOD, 12.5)


@pytest.mark.parametrize(
    ("code", "quality"),
    [
        (None, Quality.GOOD),
        (ua.StatusCodes.Good, Quality.GOOD),
        (ua.StatusCodes.GoodClamped, Quality.GOOD),
        (ua.StatusCodes.Uncertain, Quality.UNCERTAIN),
        (ua.StatusCodes.UncertainLastUsableValue, Quality.UNCERTAIN),
        (ua.StatusCodes.Bad, Quality.BAD),
        (ua.StatusCodes.BadWaitingForInitialData, Quality.BAD),
        (0xC0000000, Quality.BAD),  # severity 11 is reserved: read as Bad
    ],
)
def test_quality_follows_the_status_severity(code: int | None, quality: Quality) -> None:
    status = None if code is None else ua.StatusCode(code)
    assert quality_from_status(status) is quality
    if status is not None:
        expected = "good" if status.is_good() else "uncertain" if status.is_uncertain() else "bad"
        assert quality.name.lower() == expected


def test_point_sets_are_checked() -> None:
    ok = PointSpec("agri/X/a", Direction.INPUT, "m")
    with pytest.raises(ValueError, match="twice"):
        check_point_set([ok, ok])
    with pytest.raises(ValueError, match="reserved"):
        check_point_set([PointSpec("twin/clock/x", Direction.INPUT, "s")])
    with pytest.raises(ValueError, match="folder"):
        check_point_set([PointSpec("agri/X", Direction.INPUT, "m"), ok])


async def _names(node: Any) -> list[str]:
    return sorted([(await child.read_browse_name()).Name for child in await node.get_children()])


async def _browse(url: str) -> dict[str, Any]:
    client = Client(url)
    client.set_user(OPERATOR[0])
    client.set_password(OPERATOR[1])
    async with client:
        ns = await client.get_namespace_index(NAMESPACE_URI)
        objects = client.nodes.objects
        root = await objects.get_child([f"{ns}:DongHa"])
        domains = await _names(root)
        agri = await root.get_child([f"{ns}:agri", f"{ns}:DT-H01-P1"])
        device = await _names(agri)
        vwc = await objects.get_child(
            [f"{ns}:DongHa", f"{ns}:agri", f"{ns}:DT-H01-P1", f"{ns}:soil_vwc"]
        )
        props = {
            (await p.read_browse_name()).Name: await p.read_value()
            for p in await vwc.get_properties()
        }
        out: dict[str, Any] = {"ns": ns, "domains": domains, "device": device, "props": props}
        out["vwc_id"] = vwc.nodeid.to_string()
        out["vwc_type"] = (await vwc.read_type_definition()).to_string()
        out["vwc_dv"] = await vwc.read_data_value(raise_on_bad_status=False)
        out["vwc_access"] = await vwc.read_attribute(ua.AttributeIds.AccessLevel)
        nodes = {
            name: client.get_node(f"ns={ns};s={name}")
            for name in (VALVE, MODE, NOTE, FLOW, DIM, COUNT, GREEN, ET0, TEMP, EC, LEVEL)
        }
        out["types"] = {n: (await node.read_data_type()).Identifier for n, node in nodes.items()}
        out["access"] = {
            n: (await node.read_attribute(ua.AttributeIds.AccessLevel)).Value.Value
            for n, node in nodes.items()
        }
        out["units"] = {}
        for name in (FLOW, DIM, ET0, TEMP, EC, LEVEL, COUNT):
            eu = await nodes[name].get_child(["0:EngineeringUnits"])
            out["units"][name] = await eu.read_value()
        out["unbounded_type"] = (
            await client.get_node(f"ns={ns};s=light/HV-12/lux").read_type_definition()
        ).Identifier
        out["flow_dv"] = await nodes[FLOW].read_data_value(raise_on_bad_status=False)
        clock = await objects.get_child([f"{ns}:DongHa", f"{ns}:twin", f"{ns}:clock"])
        out["clock"] = await _names(clock)
        out["run_start"] = await client.get_node(f"ns={ns};s=twin/clock/run_start").read_value()
        return out


def test_browse_structure_units_ranges_status_and_timestamps() -> None:
    with running_field(CITY, run_start_utc_s=START) as field:
        field.publish(
            12.5,
            {
                VWC: Sample(0.29, Quality.UNCERTAIN, 12.25),
                EC: Sample(None, Quality.BAD, 12.0),
                NOTE: Sample("dry", Quality.GOOD, 12.5),
            },
        )
        got = asyncio.run(_browse(field.url))
        assert field.mapping()[VWC] == f"ns={got['ns']};s={VWC}"
    ns = got["ns"]
    assert got["domains"] == ["agri", "flood", "light", "tls", "twin"]
    assert got["device"] == sorted(
        [
            "soil_vwc",
            "rain_mm",
            "valve_open",
            "flow_lpm",
            "mode",
            "soil_ec",
            "et0_mm_d",
            "air_temp",
            "line_kpa",
            "note",
        ]
    )
    assert got["vwc_id"] == f"ns={ns};s={VWC}"
    assert got["vwc_type"] == "i=2368"  # AnalogItemType
    assert got["unbounded_type"] == ua.ObjectIds.BaseAnalogType
    assert got["props"]["EURange"] == ua.Range(0.0, 0.6)
    eu = got["props"]["EngineeringUnits"]
    assert (eu.NamespaceUri, eu.UnitId, eu.DisplayName.Text) == (
        "http://www.opcfoundation.org/UA/units/un/cefact",
        unit_id("H60"),
        "m³/m³",
    )
    units = {name: (e.UnitId, e.DisplayName.Text) for name, e in got["units"].items()}
    assert units == {
        FLOW: (unit_id("L2"), "l/min"),
        DIM: (unit_id("P1"), "%"),
        ET0: (-1, "mm/d"),
        TEMP: (unit_id("CEL"), "°C"),
        EC: (unit_id("H61"), "mS/cm"),
        LEVEL: (unit_id("MTR"), "m"),
        COUNT: (unit_id("C62"), "1"),
    }
    assert got["types"][VALVE] == ua.ObjectIds.Boolean
    assert got["types"][MODE] == ua.ObjectIds.Int64
    assert got["types"][NOTE] == ua.ObjectIds.String
    assert got["types"][FLOW] == ua.ObjectIds.Double
    read, write = ua.AccessLevel.CurrentRead.mask, ua.AccessLevel.CurrentWrite.mask
    assert got["vwc_access"].Value.Value == read
    assert got["access"][VALVE] == got["access"][FLOW] == got["access"][DIM] == read | write
    assert got["access"][EC] == got["access"][LEVEL] == got["access"][NOTE] == read
    dv = got["vwc_dv"]
    assert dv.StatusCode.is_uncertain() and dv.Value.Value == 0.29
    assert dv.SourceTimestamp == datetime(2026, 1, 1, 0, 0, 12, 250000, tzinfo=UTC)
    assert got["flow_dv"].StatusCode.value == ua.StatusCodes.BadWaitingForInitialData
    assert got["clock"] == ["ack_step", "ended", "now_s", "run_start", "step"]
    assert got["run_start"].replace(tzinfo=UTC) == datetime(2026, 1, 1, tzinfo=UTC)
    with running_field(CITY, run_start_utc_s=START) as field:
        with pytest.raises(ValueError, match="actuator"):
            field.publish(1.0, {VALVE: Sample(True)})
        with pytest.raises(ValueError, match="not a point"):
            field.publish(1.0, {"agri/nope/x": Sample(1.0)})
        assert field.read(EC).quality is Quality.BAD


def test_bad_sample_reads_bad_and_types_follow_value_type() -> None:
    clock = RunClock(START)
    specs = {
        vt: PointSpec(f"x/{vt.value}/v", Direction.INPUT, "", vt)
        for vt in (ValueType.FLOAT, ValueType.INT, ValueType.BOOL, ValueType.STR)
    }
    values = {ValueType.FLOAT: 3, ValueType.INT: 4.0, ValueType.BOOL: 1, ValueType.STR: "x"}
    expect = {ValueType.FLOAT: 3.0, ValueType.INT: 4, ValueType.BOOL: True, ValueType.STR: "x"}
    for vt, spec in specs.items():
        dv = sample_to_datavalue(spec, Sample(values[vt], Quality.GOOD, 0.0), clock)
        back = datavalue_to_sample(dv, clock).value
        assert back == expect[vt] and type(back) is type(expect[vt])
    with pytest.raises(PointValueError):
        sample_to_datavalue(specs[ValueType.INT], Sample(2.5, Quality.GOOD, 0.0), clock)
