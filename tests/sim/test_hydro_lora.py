"""LoRa uplink of the flood points: airtime, duty cycle, loss, payload and ChirpStack JSON."""

from __future__ import annotations

import base64
import itertools
import json
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.hydro.level_sensor import Fault, FaultKind
from sim.hydro.lora import (
    AS923_2_CHANNELS_HZ,
    LORAWAN_OVERHEAD_BYTES,
    PAYLOAD_BYTES,
    DecodeFailure,
    FloodPayload,
    LinkGateway,
    LoraSpec,
    LoraUplink,
    PayloadError,
    StatusFlag,
    TxStatus,
    UplinkReading,
    data_rate,
    decode_payload,
    decode_up_event,
    encode_payload,
    max_rain_tips,
    render_up_event,
    time_on_air_s,
    try_decode_up_event,
    up_topic,
)
from sim.hydro.sites import WarningSiteCatalog, load_warning_sites
from sim.hydro.warning_point import UplinkEvent, WarningPointDevice

ICT = timezone(timedelta(hours=7))
START = datetime(2020, 10, 17, 20, 0, tzinfo=ICT)
GATEWAY = [LinkGateway("0244480000fa0001", 1500.0, 16.816, 107.1)]


@pytest.fixture(scope="module")
def catalog() -> WarningSiteCatalog:
    return load_warning_sites()


def run_device(
    device: WarningPointDevice, seconds: float, seed: int, level: float = 2.5, rain: float = 0.0
) -> list[UplinkEvent]:
    rng = np.random.default_rng(seed)
    events: list[UplinkEvent] = []
    for k in range(int(seconds // 60) + 1):
        events += device.step(60.0 * k, level, rain, rng)
    return events


# ---------------------------------------------------------------- time on air


def test_time_on_air_matches_hand_computed_values() -> None:
    # worked by hand in sim/hydro/lora.py's docstring (SF7/125 kHz, CR 4/5, 8 preamble symbols)
    assert time_on_air_s(11, 7) == pytest.approx(0.041216, abs=1e-9)
    assert time_on_air_s(11 + LORAWAN_OVERHEAD_BYTES, 7) == pytest.approx(0.061696, abs=1e-9)
    assert time_on_air_s(24, 12) == pytest.approx(1.482752, abs=1e-9)  # low data rate optimise on
    assert time_on_air_s(24, 9) == pytest.approx(0.205824, abs=1e-9)
    assert LoraSpec(spreading_factor=7).airtime_s(PAYLOAD_BYTES) == pytest.approx(0.061696)
    times = [time_on_air_s(24, sf) for sf in range(7, 13)]
    assert times == sorted(times)
    assert time_on_air_s(24, 7, coding_rate=4) > time_on_air_s(24, 7)
    assert time_on_air_s(24, 7, explicit_header=False) < time_on_air_s(24, 7)
    with pytest.raises(ValueError, match="spreading factor"):
        time_on_air_s(24, 13)
    with pytest.raises(ValueError, match="bandwidth"):
        time_on_air_s(24, 7, bandwidth_hz=200_000)


def test_as923_data_rates_and_channels() -> None:
    assert [data_rate(sf) for sf in range(12, 6, -1)] == [0, 1, 2, 3, 4, 5]
    assert AS923_2_CHANNELS_HZ[:2] == (921_400_000, 921_600_000)
    assert all(920_000_000 <= f <= 923_000_000 for f in AS923_2_CHANNELS_HZ)


# ---------------------------------------------------------------- link


def test_frame_counter_increases_per_uplink_and_blocked_reports_use_none() -> None:
    link = LoraUplink(LoraSpec(spreading_factor=12, loss_prob=0.3), GATEWAY)
    rng = np.random.default_rng(1)
    txs = [link.transmit(60.0 * k, bytes(11), 0.0, rng) for k in range(200)]
    sent = [tx for tx in txs if tx.sent]
    assert [tx.f_cnt for tx in sent] == list(range(len(sent)))
    assert all(tx.f_cnt is None for tx in txs if not tx.sent)
    assert any(tx.status is TxStatus.LOST for tx in sent)
    assert link.f_cnt == len(sent)


def test_duty_cycle_limits_airtime_to_one_percent() -> None:
    spec = LoraSpec(spreading_factor=12, loss_prob=0.0)
    link = LoraUplink(spec, GATEWAY)
    rng = np.random.default_rng(2)
    airtime = spec.airtime_s(PAYLOAD_BYTES)  # 1.48 s: the band closes for 148 s
    txs = [link.transmit(60.0 * k, bytes(11), 0.0, rng) for k in range(600)]
    sent_t = [tx.t_s for tx in txs if tx.sent]
    assert all(b - a >= airtime / 0.01 for a, b in itertools.pairwise(sent_t))
    assert sum(tx.status is TxStatus.DUTY_CYCLE for tx in txs) > 0
    assert link.duty_cycle_used(600 * 60.0) <= 0.01 + airtime / 3600.0
    assert link.airtime_total_s == pytest.approx(airtime * len(sent_t))
    # SF7 every 60 s: 61.7 ms closes the band for 6.2 s only, nothing is blocked
    fast = LoraUplink(LoraSpec(spreading_factor=7, loss_prob=0.0), GATEWAY)
    assert all(fast.transmit(60.0 * k, bytes(11), 0.0, rng).sent for k in range(100))


def test_dwell_time_limit_blocks_long_frames() -> None:
    rng = np.random.default_rng(3)
    slow = LoraUplink(LoraSpec(spreading_factor=12, max_dwell_s=0.4), GATEWAY)
    assert slow.transmit(0.0, bytes(11), 0.0, rng).status is TxStatus.DWELL_TIME
    ok = LoraUplink(LoraSpec(spreading_factor=10, max_dwell_s=0.4), GATEWAY)  # 370.7 ms
    assert ok.transmit(0.0, bytes(11), 0.0, rng).sent


@pytest.mark.parametrize(("rain", "p"), [(0.0, 0.1), (5.0, 0.1), (10.0, 0.35), (80.0, 0.35)])
def test_loss_rate_matches_the_configured_probability(rain: float, p: float) -> None:
    link = LoraUplink(LoraSpec(loss_prob=0.1, heavy_rain_loss_prob=0.35, duty_cycle=1.0), GATEWAY)
    rng = np.random.default_rng(int(rain * 10) + 7)
    n = 20_000
    lost = sum(
        link.transmit(float(k), bytes(11), rain, rng).status is TxStatus.LOST for k in range(n)
    )
    sd = math.sqrt(n * p * (1 - p))
    assert abs(lost - n * p) < 4 * sd, (lost, n * p)


def test_reception_metadata_is_plausible() -> None:
    near = LoraUplink(LoraSpec(loss_prob=0.0), [LinkGateway("a" * 16, 300.0, 16.8, 107.1)])
    far = LoraUplink(LoraSpec(loss_prob=0.0), [LinkGateway("a" * 16, 7000.0, 16.8, 107.1)])
    rng = np.random.default_rng(4)
    rssi_near = [near.transmit(1000.0 * k, bytes(11), 0.0, rng).rx[0].rssi_dbm for k in range(300)]
    rx_far = [far.transmit(1000.0 * k, bytes(11), 0.0, rng).rx[0] for k in range(300)]
    assert np.mean(rssi_near) > np.mean([r.rssi_dbm for r in rx_far]) + 20
    assert all(-150 < r.rssi_dbm < -50 and -25 < r.snr_db <= 12 for r in rx_far)
    assert all((r.snr_db * 4).is_integer() for r in rx_far)


# ---------------------------------------------------------------- payload


payloads = st.builds(
    lambda level, invalid, gauge, tips_frac, total, interval, battery, low: FloodPayload(
        level_mm=None if invalid else level,
        rain_tips=int(tips_frac * max_rain_tips(interval)) if gauge else 0,
        rain_tips_total=total if gauge else 0,
        interval_s=interval,
        battery_pct=battery,
        flags=(
            (StatusFlag.LEVEL_INVALID | invalid if invalid else StatusFlag(0))
            | (StatusFlag.RAIN_GAUGE if gauge else StatusFlag(0))
            | (StatusFlag.LOW_BATTERY if low else StatusFlag(0))
        ),
    ),
    st.integers(-10_000, 32_000),
    st.sampled_from([None, StatusFlag.OUT_OF_RANGE, StatusFlag.BLIND_ZONE, StatusFlag.NO_READING]),
    st.booleans(),
    st.floats(0.0, 1.0),
    st.integers(0, 65_535),
    st.integers(1, 65_535),
    st.integers(0, 100),
    st.booleans(),
)


@given(payloads)
def test_payload_round_trips(p: FloodPayload) -> None:
    raw = encode_payload(p)
    assert len(raw) == PAYLOAD_BYTES
    assert decode_payload(raw) == p


def test_payload_values() -> None:
    p = FloodPayload(4690, 30, 1234, 300, 87, StatusFlag.RAIN_GAUGE | StatusFlag.LOW_BATTERY)
    assert p.level_m == pytest.approx(4.69) and p.rain_mm_h == pytest.approx(72.0)
    assert FloodPayload(100, 0, 0, 300, 50, StatusFlag(0)).rain_mm_h is None
    obj = p.to_object()
    assert obj["levelMm"] == 4690 and obj["flagNames"] == ["RAIN_GAUGE", "LOW_BATTERY"]


def _good() -> bytearray:
    return bytearray(encode_payload(FloodPayload(2500, 3, 10, 300, 80, StatusFlag.RAIN_GAUGE)))


def _patched(offset: int, data: bytes) -> bytes:
    raw = _good()
    raw[offset : offset + len(data)] = data
    return bytes(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (bytes(_good())[:10], r"payload is 10 bytes; format version 1 has 11"),
        (bytes(_good()) + b"\x00", r"payload is 12 bytes"),
        (b"", r"payload is 0 bytes"),
        (_patched(0, b"\x02"), r"payload version 2 unknown"),
        (_patched(1, b"\x88"), r"reserved bit 7"),
        (_patched(1, b"\x09"), r"level field 2500 and LEVEL_INVALID flag disagree"),
        (_patched(2, b"\x80\x00"), r"level field -32768 and LEVEL_INVALID flag disagree"),
        (_patched(1, b"\x0a"), r"need LEVEL_INVALID"),
        (_patched(10, b"\x65"), r"battery_pct = 101 is out of range 0 .. 100"),
        (_patched(8, b"\x00\x00"), r"interval_s = 0 is out of range"),
        (_patched(4, b"\x09\xc4"), r"rain_tips = 2500 in 300 s is 6000 mm/h"),
        (_patched(1, b"\x00"), r"rain data but its RAIN_GAUGE flag is not set"),
        (_patched(2, b"\x7d\x01"), r"level_mm = 32001 is out of range"),
    ],
)
def test_corrupt_payloads_are_rejected_with_the_field_named(raw: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        decode_payload(raw)


def test_invalid_payloads_cannot_be_built() -> None:
    with pytest.raises(PayloadError, match="without exactly one reason"):
        FloodPayload(None, 0, 0, 300, 50, StatusFlag.LEVEL_INVALID)
    with pytest.raises(PayloadError, match="carries no level"):
        FloodPayload(None, 0, 0, 300, 50, StatusFlag(0))
    with pytest.raises(PayloadError, match="not an integer"):
        FloodPayload(1.5, 0, 0, 300, 50, StatusFlag(0))  # type: ignore[arg-type]


# ---------------------------------------------------------------- ChirpStack events


def test_up_event_has_the_chirpstack_v4_shape(catalog: WarningSiteCatalog) -> None:
    site = catalog.site("P03")
    device = WarningPointDevice(site, catalog.network, START)
    events = run_device(device, 3600.0, seed=1)
    assert events
    ev = events[0]
    assert ev.topic == up_topic(site.application_id, site.dev_eui)
    assert re.fullmatch(r"application/[0-9a-f-]{36}/device/[0-9a-f]{16}/event/up", ev.topic), (
        ev.topic
    )
    msg = json.loads(ev.json())
    for key in (
        "deduplicationId",
        "time",
        "deviceInfo",
        "devAddr",
        "adr",
        "dr",
        "fCnt",
        "fPort",
        "confirmed",
        "data",
        "object",
        "rxInfo",
        "txInfo",
    ):
        assert key in msg, key
    info = msg["deviceInfo"]
    for key in (
        "tenantId",
        "tenantName",
        "applicationId",
        "applicationName",
        "deviceProfileId",
        "deviceProfileName",
        "deviceName",
        "devEui",
        "tags",
    ):
        assert key in info, key
    assert info["devEui"] == site.dev_eui.lower() and info["tags"]["site"] == "P03"
    assert info["applicationId"] == site.application_id
    assert msg["fPort"] == 10 and msg["dr"] == 12 - site.spreading_factor
    assert base64.b64decode(msg["data"]) == ev.payload
    lora = msg["txInfo"]["modulation"]["lora"]
    assert lora == {
        "bandwidth": 125_000,
        "spreadingFactor": site.spreading_factor,
        "codeRate": "CR_4_5",
    }
    assert msg["txInfo"]["frequency"] in AS923_2_CHANNELS_HZ
    rx = msg["rxInfo"][0]
    assert {"gatewayId", "rssi", "snr", "crcStatus"} <= set(rx)
    assert datetime.fromisoformat(msg["time"]) > START
    assert ev.t_s == pytest.approx(
        (datetime.fromisoformat(msg["time"]) - START).total_seconds(), abs=1e-5
    )


def test_up_event_round_trips_through_the_decoder(catalog: WarningSiteCatalog) -> None:
    site = catalog.site("P01")
    device = WarningPointDevice(site, catalog.network, START)
    rng = np.random.default_rng(5)
    seen = 0
    for k in range(24 * 60):
        level = 2.0 + 3.0 * math.sin(k / 300.0) ** 2
        for ev in device.step(60.0 * k, level, 20.0, rng):
            for form in (ev.json(), ev.json().encode(), ev.message):
                reading = decode_up_event(form)
                assert isinstance(reading, UplinkReading)
                assert reading.dev_eui == site.dev_eui and reading.site_id == "P01"
                assert reading.f_cnt == ev.f_cnt
                assert reading.payload == decode_payload(ev.payload)
            local = device.local  # the on-site reading made at the same time
            assert reading.level_m == pytest.approx(local.level_m, abs=0.0005)
            assert reading.battery_pct == round(local.battery_pct)
            if reading.payload.interval_s >= 300:  # within one 0.2 mm tip of 20 mm/h
                assert reading.rain_mm_h == pytest.approx(20.0, abs=0.2 * 3600 / 300)
            assert reading.rssi_dbm is not None and reading.snr_db is not None
            seen += 1
    assert seen > 200


def test_frame_counters_increase_with_gaps_for_lost_frames(catalog: WarningSiteCatalog) -> None:
    device = WarningPointDevice(
        catalog.site("P04"),
        catalog.network,
        START,
        link=LoraSpec(spreading_factor=10, loss_prob=0.2),
    )
    events = run_device(device, 2 * 86_400.0, seed=6)
    f_cnts = [decode_up_event(ev.json()).f_cnt for ev in events]
    assert f_cnts == sorted(set(f_cnts))  # strictly increasing
    assert len(f_cnts) < f_cnts[-1] + 1  # gaps where frames were lost
    assert device.stats.sent == device.link.f_cnt  # one counter value per frame on air
    assert device.stats.lost == device.link.f_cnt - len(events) > 0


def test_lost_packets_still_reach_the_local_controller(catalog: WarningSiteCatalog) -> None:
    device = WarningPointDevice(
        catalog.site("P05"), catalog.network, START, link=LoraSpec(loss_prob=1.0)
    )
    rng = np.random.default_rng(7)
    levels = []
    for k in range(6 * 60):
        assert device.step(60.0 * k, 0.01 * k, 0.0, rng) == []
        levels.append(device.points()["flood/P05/level_m"])
    distinct = {v for v in levels if v is not None}
    assert len(distinct) > 50  # refreshed at every report
    assert device.points()["flood/P05/uplink_ok"] is False
    assert device.stats.lost == device.stats.sent > 0


def test_link_down_fault_silences_the_uplink(catalog: WarningSiteCatalog) -> None:
    fault = Fault(FaultKind.LINK_DOWN, 3600.0, 7200.0)
    device = WarningPointDevice(
        catalog.site("P06"), catalog.network, START, link=LoraSpec(loss_prob=0.0), faults=(fault,)
    )
    events = run_device(device, 3 * 3600.0, seed=8)
    assert not [ev for ev in events if 3600.0 <= ev.t_s < 7200.0 + 1.0]
    assert len(events) == device.stats.delivered and device.stats.lost == 12


def test_runs_are_deterministic_for_a_seed(catalog: WarningSiteCatalog) -> None:
    def stream(seed: int) -> list[str]:
        device = WarningPointDevice(catalog.site("P10"), catalog.network, START)
        return [ev.json() for ev in run_device(device, 6 * 3600.0, seed, rain=8.0)]

    assert stream(3) == stream(3)
    assert stream(3) != stream(4)


def test_render_refuses_an_undelivered_frame() -> None:
    link = LoraUplink(LoraSpec(loss_prob=1.0), GATEWAY)
    tx = link.transmit(0.0, bytes(11), 0.0, np.random.default_rng(0))
    assert tx.status is TxStatus.LOST
    with pytest.raises(ValueError, match="only a delivered frame"):
        render_up_event(None, tx, bytes(11), START)  # type: ignore[arg-type]


# ---------------------------------------------------------------- corrupt events


@pytest.fixture(scope="module")
def good_event(catalog: WarningSiteCatalog) -> dict[str, Any]:
    device = WarningPointDevice(catalog.site("P12"), catalog.network, START)
    return run_device(device, 3600.0, seed=2)[0].message


def _mutated(event: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(event))
    node = copy
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return copy


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("data",), "!!notbase64!!", r"data .* is not valid base64"),
        (("data",), "AQgL", r"payload is 3 bytes"),
        (("data",), KeyError, r"data is missing"),
        (("data",), 12, r"data = 12 is not a base64 string"),
        (("fPort",), 2, r"fPort 2 is not the flood-point port 10"),
        (("fCnt",), -1, r"fCnt = -1 is out of range"),
        (("fCnt",), "7", r"fCnt = '7' is not an integer"),
        (("deviceInfo", "devEui"), "0244480000f1001", r"devEui = .* is not 16 hex digits"),
        (("deviceInfo",), KeyError, r"deviceInfo is missing"),
        (("object", "levelMm"), 123, r"object.levelMm = 123 disagrees with data"),
        (("rxInfo",), "gw", r"rxInfo must be a list"),
        (("time",), None, r"time = None is not a string"),
    ],
)
def test_corrupt_events_are_rejected_with_clear_messages(
    good_event: dict[str, Any], path: tuple[str, ...], value: Any, message: str
) -> None:
    bad = _mutated(good_event, path, value)
    with pytest.raises(PayloadError, match=message):
        decode_up_event(bad)
    failure = try_decode_up_event(json.dumps(bad))
    assert isinstance(failure, DecodeFailure) and not failure
    assert re.search(message, failure.reason)


def test_bad_json_and_bad_bytes_are_rejected() -> None:
    for message, pattern in (
        ('{"deviceInfo": ', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("", "not valid JSON"),
    ):
        with pytest.raises(PayloadError, match=pattern):
            decode_up_event(message)


def test_the_caller_keeps_running_on_a_mixed_stream(good_event: dict[str, Any]) -> None:
    text = json.dumps(good_event)
    rng = np.random.default_rng(10)
    accepted = rejected = 0
    for i in range(3000):
        raw = bytearray(text.encode())
        if i % 3:  # corrupt two out of three messages at random positions
            for pos in rng.integers(0, len(raw), size=int(rng.integers(1, 4))):
                raw[int(pos)] = int(rng.integers(0, 256))
        result = try_decode_up_event(bytes(raw))  # never raises for bad input
        if isinstance(result, DecodeFailure):
            assert result.reason
            rejected += 1
        else:
            assert isinstance(result, UplinkReading)
            accepted += 1
    assert accepted >= 1000 and rejected >= 1000


def test_street_depth_is_never_negative(catalog: WarningSiteCatalog) -> None:
    device = WarningPointDevice(catalog.site("P07"), catalog.network, START)
    rng = np.random.default_rng(12)
    levels = []
    for k in range(12 * 60):
        for ev in device.step(60.0 * k, 0.0, 0.0, rng):  # a dry road
            reading = decode_up_event(ev.json())
            assert reading.level_m is not None and reading.level_m >= 0.0
        level = device.points()["flood/P07/level_m"]
        if device.stats.reports_due:  # None only before the first report
            assert isinstance(level, float)
            levels.append(level)
    assert min(levels) == 0.0 and max(levels) < 0.01
