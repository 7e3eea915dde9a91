"""LoRaWAN uplink of a flood-warning point: airtime, duty cycle, loss, payload, ChirpStack JSON.

**Band.** Vietnam uses the LoRaWAN AS923-2 channel plan (AS923 with a
-1.8 MHz offset: default channels 921.4 and 921.6 MHz; the twin adds the
usual 921.8 .. 922.8 MHz channels, 200 kHz apart), within the 920-923 MHz
band. The Ministry's draft LPWAN rule (an ETSI EN 300 220-style text, as
summarised by the certification consultancy ExtendMax) caps end devices at a
1 % duty cycle and gateways at 10 %; this model enforces 1 % per device
(:class:`LoraSpec` ``duty_cycle``), the conservative reading. AS923's
optional 400 ms uplink dwell-time limit can be switched on
(``max_dwell_s=0.4``). Data rates are AS923's: DR0 = SF12 .. DR5 = SF7 at 125 kHz.

**Time on air** (:func:`time_on_air_s`), from Semtech's LoRa modem formula
(SX1276 datasheet §4.1.1.7, AN1200.13)::

    T_sym     = 2^SF / BW
    T_pre     = (n_preamble + 4.25) T_sym
    n_payload = 8 + max(ceil((8 PL - 4 SF + 28 + 16 CRC - 20 IH) / (4 (SF - 2 DE))) (CR + 4), 0)
    T         = T_pre + n_payload T_sym

with PL the PHY payload in bytes (the LoRaWAN frame: 13 bytes of MHDR,
DevAddr, FCtrl, FCnt, FPort and MIC around the application payload), CR 1..4
for 4/5..4/8, IH = 1 for an implicit header, DE = 1 (low data rate optimise)
when a symbol lasts more than 16 ms (SF11/SF12 at 125 kHz).

Checked by hand: SF7, 125 kHz, CR 4/5, 8 preamble symbols, explicit header,
CRC on. T_sym = 128 / 125 000 = 1.024 ms; T_pre = 12.25 x 1.024 = 12.544 ms.
An 11-byte PHY payload: ceil((88 - 28 + 28 + 16) / 28) = ceil(3.71) = 4,
n_payload = 8 + 4 x 5 = 28 symbols = 28.672 ms, T = **41.216 ms**. The
flood point's 11-byte application payload in a LoRaWAN frame (PL = 24):
ceil(208 / 28) = 8, n_payload = 48 symbols = 49.152 ms, T = **61.696 ms**.
SF12 with PL = 24 (DE = 1): T_sym = 32.768 ms, ceil(188 / 40) = 5,
n_payload = 33, T = 401.408 + 1081.344 = **1482.752 ms**.

**Duty cycle.** Enforced the way LoRaMAC stacks do: after a frame of airtime
T the band stays closed for ``T / duty_cycle`` from the start of the frame
(1 %: a 61.7 ms frame closes the band for 6.17 s). A report due while the
band is closed is *not sent* (no frame counter used); the device reports
again at its next period.

**Loss.** Each sent frame is lost with probability ``loss_prob``, or
``heavy_rain_loss_prob`` while it rains at ``heavy_rain_mm_h`` or more. Rain
attenuation at 921 MHz is negligible (ITU-R P.838: ~0.001 dB/km at
100 mm/h); the higher loss in storms stands for what field networks see then:
wet antennas and radomes, moving wet foliage, gateway or backhaul power cuts
and more traffic from other devices. Both probabilities are estimates to
calibrate. RSSI and SNR are synthetic: log-distance path loss from the
gateway plus log-normal shadowing; they do not decide the loss.

**Payload** (FPort 10, 11 bytes, big-endian, format version 1)::

    byte 0      version          u8   = 1
    byte 1      flags            u8   StatusFlag bits; bit 7 reserved (0)
    bytes 2-3   level_mm         i16  level in the site's frame (mm); -32768 = no level
    bytes 4-5   rain_tips        u16  tips of 0.2 mm since the previous sent report
    bytes 6-7   rain_tips_total  u16  all tips since power-up, modulo 65536
    bytes 8-9   interval_s       u16  seconds since the previous sent report (1 .. 65535)
    byte 10     battery_pct      u8   state of charge (%, 0 .. 100)

**ChirpStack v4.** :func:`render_up_event` writes the JSON of the ``up``
integration event (Protobuf JSON mapping of ``integration.UplinkEvent``:
``deduplicationId``, ``time``, ``deviceInfo``, ``devAddr``, ``adr``, ``dr``,
``fCnt``, ``fPort``, ``confirmed``, ``data`` (base64), ``object``,
``rxInfo[]`` (``gatewayId``, ``uplinkId``, ``nsTime``, ``rssi``, ``snr``,
``channel``, ``rfChain``, ``location``, ``context``, ``metadata``,
``crcStatus``), ``txInfo`` (``frequency``, ``modulation.lora``
{``bandwidth`` Hz, ``spreadingFactor``, ``codeRate`` "CR_4_5"}),
``regionConfigId``), published on MQTT topic :func:`up_topic`
``application/{applicationId}/device/{devEui}/event/up``.

**Decoding.** :func:`decode_payload` and :func:`decode_up_event` RAISE
:class:`PayloadError` (a ``ValueError``) for anything corrupt: bad JSON, a
missing field, bad base64, a wrong length, an unknown version or reserved
bit, inconsistent flags, out-of-range values, or an ``object`` that
disagrees with ``data``; the message names the field. Callers that must keep
running use :func:`try_decode_up_event`, which RETURNS a
:class:`DecodeFailure` instead of raising.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import struct
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntFlag, StrEnum
from typing import Any

import numpy as np

__all__ = [
    "AS923_2_CHANNELS_HZ",
    "FLOOD_F_PORT",
    "LORAWAN_OVERHEAD_BYTES",
    "PAYLOAD_BYTES",
    "RAIN_MAX_MM_H",
    "TIP_MM",
    "DecodeFailure",
    "DeviceIdentity",
    "FloodPayload",
    "GatewayRx",
    "LinkGateway",
    "LoraSpec",
    "LoraUplink",
    "PayloadError",
    "StatusFlag",
    "Transmission",
    "TxStatus",
    "UplinkReading",
    "data_rate",
    "decode_payload",
    "decode_up_event",
    "encode_payload",
    "max_rain_tips",
    "render_up_event",
    "time_on_air_s",
    "try_decode_up_event",
    "up_topic",
]

AS923_2_CHANNELS_HZ: tuple[int, ...] = tuple(921_400_000 + 200_000 * i for i in range(8))
"""Uplink channels (Hz): AS923-2 defaults 921.4 / 921.6 MHz plus 921.8 .. 922.8 MHz."""
LORAWAN_OVERHEAD_BYTES = 13
"""MHDR (1) + DevAddr (4) + FCtrl (1) + FCnt (2) + FPort (1) + MIC (4), no FOpts."""
FLOOD_F_PORT = 10
"""FPort of the flood-point measurement uplink."""
PAYLOAD_VERSION = 1
PAYLOAD_BYTES = 11
"""Length of the version-1 application payload (bytes)."""
TIP_MM = 0.2
"""Rain per tip of the bucket (mm), fixed by the payload format."""
RAIN_MAX_MM_H = 1000.0
"""Highest rain rate a payload may carry (mm/h); above it the payload is corrupt."""
LEVEL_MIN_MM = -10_000
LEVEL_MAX_MM = 32_000
_NO_LEVEL = -32768
_FORMAT = struct.Struct(">BBhHHHB")
_UINT16 = 65_535
_UINT32 = 1 << 32
_HEX = re.compile(r"[0-9A-Fa-f]+")
_CODE_RATES = {1: "CR_4_5", 2: "CR_4_6", 3: "CR_4_7", 4: "CR_4_8"}
_TWIN_NS = uuid.UUID("5b0c6f2e-3f43-5d3a-9d8e-6e1d0a7c2b11")  # namespace of the twin's event ids


class PayloadError(ValueError):
    """A corrupt or implausible uplink (payload or ChirpStack JSON); the message names the field."""


# ---------------------------------------------------------------- airtime


def time_on_air_s(
    phy_payload_bytes: int,
    spreading_factor: int,
    bandwidth_hz: int = 125_000,
    coding_rate: int = 1,
    preamble_symbols: int = 8,
    *,
    explicit_header: bool = True,
    crc: bool = True,
    low_data_rate_optimize: bool | None = None,
) -> float:
    """Time on air of one LoRa frame (s), Semtech's formula (see the module docstring).

    Args:
        phy_payload_bytes: PHY payload (bytes, 0 .. 255): the whole LoRaWAN
            frame, i.e. application payload + :data:`LORAWAN_OVERHEAD_BYTES`.
        spreading_factor: 6 .. 12.
        bandwidth_hz: 125 000, 250 000 or 500 000 (Hz).
        coding_rate: 1 .. 4 for 4/5 .. 4/8.
        preamble_symbols: programmed preamble length (symbols, 6 .. 65535; LoRaWAN: 8).
        explicit_header: LoRaWAN uses an explicit header.
        crc: payload CRC on (LoRaWAN uplinks: on).
        low_data_rate_optimize: None = on when a symbol lasts > 16 ms.
    """
    if not 0 <= phy_payload_bytes <= 255:
        raise ValueError(f"PHY payload must be 0 .. 255 bytes, got {phy_payload_bytes}")
    if not 6 <= spreading_factor <= 12:
        raise ValueError(f"spreading factor must be 6 .. 12, got {spreading_factor}")
    if bandwidth_hz not in (125_000, 250_000, 500_000):
        raise ValueError(f"bandwidth must be 125000, 250000 or 500000 Hz, got {bandwidth_hz}")
    if coding_rate not in _CODE_RATES:
        raise ValueError(f"coding rate must be 1 .. 4 (4/5 .. 4/8), got {coding_rate}")
    if not 6 <= preamble_symbols <= 65_535:
        raise ValueError(f"preamble must be 6 .. 65535 symbols, got {preamble_symbols}")
    t_sym = (1 << spreading_factor) / bandwidth_hz
    de = t_sym > 0.016 if low_data_rate_optimize is None else low_data_rate_optimize
    numerator = (
        8 * phy_payload_bytes
        - 4 * spreading_factor
        + 28
        + (16 if crc else 0)
        - (0 if explicit_header else 20)
    )
    blocks = math.ceil(numerator / (4 * (spreading_factor - 2 * int(de))))
    n_payload = 8 + max(blocks * (coding_rate + 4), 0)
    return (preamble_symbols + 4.25) * t_sym + n_payload * t_sym


def data_rate(spreading_factor: int, bandwidth_hz: int = 125_000) -> int:
    """AS923 data rate of a 125 kHz LoRa setting: DR0 = SF12 .. DR5 = SF7."""
    if bandwidth_hz != 125_000 or not 7 <= spreading_factor <= 12:
        raise ValueError("AS923 data rates DR0-DR5 are SF12-SF7 at 125 kHz")
    return 12 - spreading_factor


# ---------------------------------------------------------------- payload


class StatusFlag(IntFlag):
    """Bits of the payload's flags byte (bit 7 is reserved and must be 0)."""

    LEVEL_INVALID = 0x01  # level_mm carries no value
    OUT_OF_RANGE = 0x02  # no echo within the sensor's range (level below its bottom)
    BLIND_ZONE = 0x04  # water inside the blind zone (level above its top)
    RAIN_GAUGE = 0x08  # the point has a rain gauge; rain fields are meaningful
    LOW_BATTERY = 0x10  # state of charge below the low-battery threshold
    NO_READING = 0x20  # the level sensor gave no reading
    RAIN_CLIPPED = 0x40  # rain_tips was clipped to RAIN_MAX_MM_H


_RESERVED_BITS = 0x80
_LEVEL_REASONS = StatusFlag.OUT_OF_RANGE | StatusFlag.BLIND_ZONE | StatusFlag.NO_READING


def max_rain_tips(interval_s: int) -> int:
    """Most tips a payload may carry for ``interval_s`` (s): :data:`RAIN_MAX_MM_H` over it."""
    return min(_UINT16, math.floor(RAIN_MAX_MM_H * interval_s / 3600.0 / TIP_MM + 1e-9))


@dataclass(frozen=True)
class FloodPayload:
    """The flood point's measurement payload (see the module docstring).

    Attributes:
        level_mm: level in the site's frame (mm, -10 000 .. 32 000), None when
            the flags say LEVEL_INVALID.
        rain_tips: tips of :data:`TIP_MM` since the previous sent report (0 .. 65535).
        rain_tips_total: tips since power-up, modulo 65536.
        interval_s: seconds since the previous sent report (1 .. 65535).
        battery_pct: state of charge (%, 0 .. 100).
        flags: :class:`StatusFlag` bits.
        version: payload format version (1).
    """

    level_mm: int | None
    rain_tips: int
    rain_tips_total: int
    interval_s: int
    battery_pct: int
    flags: StatusFlag
    version: int = PAYLOAD_VERSION

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def level_m(self) -> float | None:
        """Level in the site's frame (m), None when invalid."""
        return None if self.level_mm is None else self.level_mm / 1000.0

    @property
    def rain_mm_h(self) -> float | None:
        """Mean rain rate over the interval (mm/h), None without a rain gauge."""
        if not self.flags & StatusFlag.RAIN_GAUGE:
            return None
        return round(self.rain_tips * TIP_MM * 3600.0 / self.interval_s, 6)

    def to_object(self) -> dict[str, Any]:
        """The decoded form a ChirpStack codec would put in the event's ``object``."""
        return {
            "version": self.version,
            "levelMm": self.level_mm,
            "rainTips": self.rain_tips,
            "rainTipsTotal": self.rain_tips_total,
            "intervalS": self.interval_s,
            "rainMmH": self.rain_mm_h,
            "batteryPct": self.battery_pct,
            "flags": self.flags.value,
            "flagNames": [f.name for f in StatusFlag if f in self.flags],
        }


def _int_field(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise PayloadError(f"payload field {name} = {value!r} is not an integer")
    if not low <= value <= high:
        raise PayloadError(f"payload field {name} = {value} is out of range {low} .. {high}")
    return int(value)


def _validate(p: FloodPayload) -> None:
    if p.version != PAYLOAD_VERSION:
        raise PayloadError(
            f"payload version {p.version} unknown; this decoder reads version {PAYLOAD_VERSION}"
        )
    raw_flags = _int_field(p.flags, "flags", 0, 255)
    if raw_flags & _RESERVED_BITS:
        raise PayloadError(f"payload flags 0x{raw_flags:02x} set reserved bit 7")
    flags = StatusFlag(raw_flags)
    object.__setattr__(p, "flags", flags)
    reasons = [f for f in StatusFlag if f in _LEVEL_REASONS and f in flags]
    if flags & StatusFlag.LEVEL_INVALID:
        if p.level_mm is not None:
            raise PayloadError(f"payload says LEVEL_INVALID but carries level_mm = {p.level_mm}")
        if len(reasons) != 1:
            raise PayloadError(
                "payload says LEVEL_INVALID without exactly one reason "
                f"(OUT_OF_RANGE, BLIND_ZONE or NO_READING); flags 0x{raw_flags:02x}"
            )
    else:
        if p.level_mm is None:
            raise PayloadError("payload carries no level but LEVEL_INVALID is not set")
        _int_field(p.level_mm, "level_mm", LEVEL_MIN_MM, LEVEL_MAX_MM)
        if reasons:
            raise PayloadError(
                f"payload flags {', '.join(str(r.name) for r in reasons)} need LEVEL_INVALID"
            )
    interval = _int_field(p.interval_s, "interval_s", 1, _UINT16)
    tips = _int_field(p.rain_tips, "rain_tips", 0, _UINT16)
    _int_field(p.rain_tips_total, "rain_tips_total", 0, _UINT16)
    _int_field(p.battery_pct, "battery_pct", 0, 100)
    if flags & StatusFlag.RAIN_GAUGE:
        limit = max_rain_tips(interval)
        if tips > limit:
            raise PayloadError(
                f"payload field rain_tips = {tips} in {interval} s is "
                f"{tips * TIP_MM * 3600 / interval:.0f} mm/h, "
                f"above the {RAIN_MAX_MM_H:.0f} mm/h limit"
            )
    elif tips or p.rain_tips_total or flags & StatusFlag.RAIN_CLIPPED:
        raise PayloadError("payload carries rain data but its RAIN_GAUGE flag is not set")


def encode_payload(p: FloodPayload) -> bytes:
    """The 11-byte wire form of ``p`` (already validated when ``p`` was built)."""
    level = _NO_LEVEL if p.level_mm is None else p.level_mm
    return _FORMAT.pack(
        p.version,
        int(p.flags),
        level,
        p.rain_tips,
        p.rain_tips_total,
        p.interval_s,
        p.battery_pct,
    )


def decode_payload(raw: bytes) -> FloodPayload:
    """Parse and validate a wire payload. Raises :class:`PayloadError` when corrupt."""
    if not isinstance(raw, bytes | bytearray):
        raise PayloadError(f"payload must be bytes, got {type(raw).__name__}")
    if len(raw) != PAYLOAD_BYTES:
        raise PayloadError(
            f"payload is {len(raw)} bytes; format version {PAYLOAD_VERSION} has {PAYLOAD_BYTES}"
        )
    version, flags, level, tips, total, interval, battery = _FORMAT.unpack(bytes(raw))
    if version != PAYLOAD_VERSION:
        raise PayloadError(
            f"payload version {version} unknown; this decoder reads version {PAYLOAD_VERSION}"
        )
    if flags & _RESERVED_BITS:
        raise PayloadError(f"payload flags 0x{flags:02x} set reserved bit 7")
    if (level == _NO_LEVEL) != bool(flags & StatusFlag.LEVEL_INVALID):
        raise PayloadError(
            f"payload level field {level} and LEVEL_INVALID flag disagree (flags 0x{flags:02x})"
        )
    return FloodPayload(
        level_mm=None if level == _NO_LEVEL else level,
        rain_tips=tips,
        rain_tips_total=total,
        interval_s=interval,
        battery_pct=battery,
        flags=StatusFlag(flags),
        version=version,
    )


# ---------------------------------------------------------------- radio link


class TxStatus(StrEnum):
    """What became of one report."""

    DELIVERED = "delivered"  # sent and received by the network server
    LOST = "lost"  # sent (frame counter used) but not received
    DUTY_CYCLE = "duty_cycle"  # not sent: the band was still closed
    DWELL_TIME = "dwell_time"  # not sent: the frame is longer than the dwell-time limit


@dataclass(frozen=True)
class LinkGateway:
    """A gateway as one device sees it: EUI, distance (m) and position (degrees)."""

    gateway_id: str
    distance_m: float
    lat_deg: float
    lon_deg: float


@dataclass(frozen=True)
class GatewayRx:
    """Reception of one frame by one gateway: RSSI (dBm, integer), SNR (dB, 0.25 steps)."""

    gateway_id: str
    rssi_dbm: int
    snr_db: float
    lat_deg: float
    lon_deg: float


@dataclass(frozen=True)
class Transmission:
    """One report's fate on the radio.

    Attributes:
        t_s: time the report was due (s); the frame starts then.
        status: see :class:`TxStatus`.
        f_cnt: uplink frame counter of the frame, None when not sent.
        airtime_s: time on air of the frame (s), also when not sent.
        frequency_hz, channel: channel used, None when not sent.
        spreading_factor: SF of the frame.
        rx: receptions (empty unless delivered).
    """

    t_s: float
    status: TxStatus
    f_cnt: int | None
    airtime_s: float
    frequency_hz: int | None
    channel: int | None
    spreading_factor: int
    rx: tuple[GatewayRx, ...] = ()

    @property
    def sent(self) -> bool:
        """True when the frame went on air (delivered or lost)."""
        return self.status in (TxStatus.DELIVERED, TxStatus.LOST)

    @property
    def delivered(self) -> bool:
        """True when the network server received the frame."""
        return self.status is TxStatus.DELIVERED


@dataclass(frozen=True)
class LoraSpec:
    """Parameters of a device's LoRaWAN uplink (see the module docstring).

    Attributes:
        spreading_factor: 7 .. 12 (125 kHz: DR5 .. DR0).
        coding_rate: 1 .. 4 for 4/5 .. 4/8.
        preamble_symbols: 8 for LoRaWAN.
        tx_power_dbm: conducted transmit power (dBm, 0 .. 27; AS923 default 16 dBm EIRP).
        antenna_gains_db: device + gateway antenna gains minus cable losses (dB, -20 .. 20).
        loss_prob: probability a sent frame is lost in dry weather (1, 0 .. 1).
        heavy_rain_loss_prob: the same while rain >= heavy_rain_mm_h (1, 0 .. 1; the
            larger of the two applies then).
        heavy_rain_mm_h: rain rate counted as heavy (mm/h, > 0).
        duty_cycle: maximum fraction of time on air (1, 0 < x <= 1; 0.01 = 1 %).
        max_dwell_s: longest allowed frame (s), None = no dwell-time limit (AS923: 0.4 when on).
        path_loss_1km_db: median path loss at 1 km (dB, 80 .. 160).
        path_loss_exponent: log-distance exponent (1, 2 .. 5).
        shadowing_sd_db: log-normal shadowing (dB, 0 .. 20).
        noise_floor_dbm: receiver noise in 125 kHz (dBm): -174 + 10 log10(125e3) + 6 dB NF ≈ -117.
        snr_max_db: highest SNR a gateway reports (dB).
        channels_hz: uplink channels (Hz), used at random.
    """

    spreading_factor: int = 9
    coding_rate: int = 1
    preamble_symbols: int = 8
    tx_power_dbm: float = 14.0
    antenna_gains_db: float = 5.0
    loss_prob: float = 0.02
    heavy_rain_loss_prob: float = 0.08
    heavy_rain_mm_h: float = 10.0
    duty_cycle: float = 0.01
    max_dwell_s: float | None = None
    path_loss_1km_db: float = 115.0
    path_loss_exponent: float = 3.5
    shadowing_sd_db: float = 6.0
    noise_floor_dbm: float = -117.0
    snr_max_db: float = 12.0
    channels_hz: tuple[int, ...] = AS923_2_CHANNELS_HZ

    def __post_init__(self) -> None:
        problems = []
        if not 7 <= self.spreading_factor <= 12:
            problems.append("spreading_factor must be 7 .. 12")
        if self.coding_rate not in _CODE_RATES:
            problems.append("coding_rate must be 1 .. 4")
        if not 0.0 <= self.loss_prob <= 1.0:
            problems.append("loss_prob must be a probability 0 .. 1")
        if not 0.0 <= self.heavy_rain_loss_prob <= 1.0:
            problems.append("heavy_rain_loss_prob must be a probability 0 .. 1")
        if not self.heavy_rain_mm_h > 0.0:
            problems.append("heavy_rain_mm_h must be > 0 mm/h")
        if not 0.0 < self.duty_cycle <= 1.0:
            problems.append("duty_cycle must be in (0, 1] (0.01 = 1 %)")
        if self.max_dwell_s is not None and not self.max_dwell_s > 0.0:
            problems.append("max_dwell_s must be > 0 s or None")
        if not 2.0 <= self.path_loss_exponent <= 5.0:
            problems.append("path_loss_exponent must be 2 .. 5")
        if not self.shadowing_sd_db >= 0.0:
            problems.append("shadowing_sd_db must be >= 0 dB")
        if not self.channels_hz:
            problems.append("channels_hz must list at least one channel")
        if problems:
            raise ValueError(f"LoRa link: {'; '.join(problems)}; got {self}")

    @property
    def bandwidth_hz(self) -> int:
        """Channel bandwidth (Hz): 125 kHz for AS923 DR0-DR5."""
        return 125_000

    def loss_probability(self, rain_mm_h: float) -> float:
        """Loss probability of a sent frame under rain ``rain_mm_h`` (mm/h).

        In heavy rain, the larger of ``heavy_rain_loss_prob`` and ``loss_prob``.
        """
        if rain_mm_h >= self.heavy_rain_mm_h:
            return max(self.heavy_rain_loss_prob, self.loss_prob)
        return self.loss_prob

    def airtime_s(self, app_payload_bytes: int) -> float:
        """Time on air of a LoRaWAN frame carrying ``app_payload_bytes`` (s)."""
        return time_on_air_s(
            app_payload_bytes + LORAWAN_OVERHEAD_BYTES,
            self.spreading_factor,
            self.bandwidth_hz,
            self.coding_rate,
            self.preamble_symbols,
        )


class LoraUplink:
    """A device's LoRaWAN radio: frame counter, duty-cycle timer, loss and reception.

    Args:
        spec: link parameters.
        gateways: the gateways that may hear the device (at least one).
        f_cnt: first uplink frame counter (0 after a join).

    Each :meth:`transmit` that goes on air draws ``2 + 2 x len(gateways)``
    numbers from the generator; a blocked report draws none.
    """

    def __init__(self, spec: LoraSpec, gateways: Sequence[LinkGateway], f_cnt: int = 0) -> None:
        if not gateways:
            raise ValueError("a LoRa uplink needs at least one gateway")
        self.spec = spec
        self.gateways = tuple(gateways)
        self.f_cnt = f_cnt % _UINT32  # the counter of the next frame
        self.band_free_at_s = -math.inf
        self.airtime_total_s = 0.0
        self._recent: deque[tuple[float, float]] = deque()  # (start s, airtime s)

    def transmit(
        self,
        t_s: float,
        app_payload: bytes,
        rain_mm_h: float,
        rng: np.random.Generator,
        *,
        force_loss: bool = False,
    ) -> Transmission:
        """Send ``app_payload`` at ``t_s`` (s) under rain ``rain_mm_h`` (mm/h).

        ``force_loss`` loses a sent frame whatever the odds (a gateway or
        backhaul outage): the frame counter is still used.
        """
        s = self.spec
        airtime = s.airtime_s(len(app_payload))
        blocked: TxStatus | None = None
        if s.max_dwell_s is not None and airtime > s.max_dwell_s:
            blocked = TxStatus.DWELL_TIME
        elif t_s < self.band_free_at_s:
            blocked = TxStatus.DUTY_CYCLE
        if blocked is not None:
            return Transmission(t_s, blocked, None, airtime, None, None, s.spreading_factor)
        f_cnt = self.f_cnt
        self.f_cnt = (self.f_cnt + 1) % _UINT32
        self.band_free_at_s = t_s + airtime / s.duty_cycle
        self.airtime_total_s += airtime
        self._recent.append((t_s, airtime))
        u = float(rng.random())
        channel = int(rng.integers(len(s.channels_hz)))
        shadow = rng.standard_normal(len(self.gateways))
        jitter = rng.standard_normal(len(self.gateways))
        lost = force_loss or u < s.loss_probability(rain_mm_h)
        rx: tuple[GatewayRx, ...] = ()
        if not lost:
            rx = tuple(
                self._reception(gw, float(sh), float(j))
                for gw, sh, j in zip(self.gateways, shadow, jitter, strict=True)
            )
        status = TxStatus.LOST if lost else TxStatus.DELIVERED
        return Transmission(
            t_s, status, f_cnt, airtime, s.channels_hz[channel], channel, s.spreading_factor, rx
        )

    def duty_cycle_used(self, t_s: float, window_s: float = 3600.0) -> float:
        """Fraction of the last ``window_s`` seconds before ``t_s`` spent on air (1)."""
        while self._recent and self._recent[0][0] < t_s - window_s:
            self._recent.popleft()
        return sum(a for start, a in self._recent if start <= t_s) / window_s

    def _reception(self, gw: LinkGateway, shadow: float, jitter: float) -> GatewayRx:
        s = self.spec
        d_km = max(gw.distance_m, 50.0) / 1000.0
        loss = s.path_loss_1km_db + 10.0 * s.path_loss_exponent * math.log10(d_km)
        rssi = s.tx_power_dbm + s.antenna_gains_db - loss + s.shadowing_sd_db * shadow
        snr = min(rssi - s.noise_floor_dbm + jitter, s.snr_max_db)
        return GatewayRx(gw.gateway_id, round(rssi), round(snr * 4.0) / 4.0, gw.lat_deg, gw.lon_deg)


# ---------------------------------------------------------------- ChirpStack v4 JSON


@dataclass(frozen=True)
class DeviceIdentity:
    """How ChirpStack knows a device (the ``deviceInfo`` block and the device address).

    Attributes:
        dev_eui: 16 hex digits (written lower case in events, as ChirpStack does).
        dev_addr: 8 hex digits.
        tags: device tags (string to string), e.g. ``{"site": "P03"}``.
        region_config_id: ChirpStack region configuration (``as923_2``).
    """

    dev_eui: str
    device_name: str
    dev_addr: str
    application_id: str
    application_name: str
    tenant_id: str
    tenant_name: str
    device_profile_id: str
    device_profile_name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    region_config_id: str = "as923_2"


def up_topic(application_id: str, dev_eui: str) -> str:
    """MQTT topic of a ChirpStack v4 uplink event."""
    return f"application/{application_id}/device/{dev_eui.lower()}/event/up"


def _rfc3339(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("event time must be timezone-aware")
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def render_up_event(
    identity: DeviceIdentity,
    tx: Transmission,
    app_payload: bytes,
    start: datetime,
    f_port: int = FLOOD_F_PORT,
    decoded: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ChirpStack v4 ``up`` event of a delivered frame, as a JSON-ready dict.

    Args:
        identity: the device as ChirpStack knows it.
        tx: a delivered :class:`Transmission`.
        app_payload: the FRMPayload bytes (``data``).
        start: wall-clock time of simulation second 0 (timezone-aware).
        f_port: the frame's FPort.
        decoded: the ``object`` (a codec's output); omitted when None.
    """
    if not tx.delivered or tx.f_cnt is None or tx.frequency_hz is None:
        raise ValueError(f"only a delivered frame makes an up event; this one is {tx.status}")
    received = start + timedelta(seconds=tx.t_s + tx.airtime_s)
    time = _rfc3339(received)
    dedup = uuid.uuid5(_TWIN_NS, f"{identity.dev_eui.lower()}/{tx.f_cnt}/{time}")
    counter_us = round((tx.t_s + tx.airtime_s) * 1e6) % _UINT32
    rx_info = [
        {
            "gatewayId": rx.gateway_id,
            "uplinkId": (dedup.int + i) % _UINT32,
            "nsTime": time,
            "rssi": rx.rssi_dbm,
            "snr": rx.snr_db,
            "channel": tx.channel,
            "rfChain": 0,
            "location": {"latitude": rx.lat_deg, "longitude": rx.lon_deg},
            "context": base64.b64encode(counter_us.to_bytes(4, "big")).decode("ascii"),
            "metadata": {
                "region_config_id": identity.region_config_id,
                "region_common_name": "AS923_2",
            },
            "crcStatus": "CRC_OK",
        }
        for i, rx in enumerate(tx.rx)
    ]
    event: dict[str, Any] = {
        "deduplicationId": str(dedup),
        "time": time,
        "deviceInfo": {
            "tenantId": identity.tenant_id,
            "tenantName": identity.tenant_name,
            "applicationId": identity.application_id,
            "applicationName": identity.application_name,
            "deviceProfileId": identity.device_profile_id,
            "deviceProfileName": identity.device_profile_name,
            "deviceName": identity.device_name,
            "devEui": identity.dev_eui.lower(),
            "deviceClassEnabled": "CLASS_A",
            "tags": dict(identity.tags),
        },
        "devAddr": identity.dev_addr.lower(),
        "adr": True,
        "dr": data_rate(tx.spreading_factor),
        "fCnt": tx.f_cnt,
        "fPort": f_port,
        "confirmed": False,
        "data": base64.b64encode(app_payload).decode("ascii"),
    }
    if decoded is not None:
        event["object"] = dict(decoded)
    event["rxInfo"] = rx_info
    event["txInfo"] = {
        "frequency": tx.frequency_hz,
        "modulation": {
            "lora": {
                "bandwidth": 125_000,
                "spreadingFactor": tx.spreading_factor,
                "codeRate": _CODE_RATES[1],
            }
        },
    }
    event["regionConfigId"] = identity.region_config_id
    return event


@dataclass(frozen=True)
class UplinkReading:
    """A flood-point reading as the centre receives it from ChirpStack.

    Attributes:
        dev_eui: 16 upper-case hex digits.
        device_name: ChirpStack device name.
        site_id: the ``site`` tag, None when absent.
        f_cnt, f_port: LoRaWAN frame counter and port.
        time: the event's RFC 3339 time string.
        payload: the decoded measurement.
        rssi_dbm, snr_db: best reception (highest RSSI), None when rxInfo is empty.
    """

    dev_eui: str
    device_name: str
    site_id: str | None
    f_cnt: int
    f_port: int
    time: str
    payload: FloodPayload
    rssi_dbm: float | None
    snr_db: float | None

    @property
    def level_m(self) -> float | None:
        """Level in the site's frame (m), None when the sensor gave none."""
        return self.payload.level_m

    @property
    def rain_mm_h(self) -> float | None:
        """Mean rain rate since the previous report (mm/h), None without a gauge."""
        return self.payload.rain_mm_h

    @property
    def battery_pct(self) -> int:
        """State of charge (%)."""
        return self.payload.battery_pct


@dataclass(frozen=True)
class DecodeFailure:
    """Why an uplink was rejected (returned by :func:`try_decode_up_event`; falsy)."""

    reason: str

    def __bool__(self) -> bool:
        return False


def _get(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise PayloadError(f"uplink event: {where}{key} is missing")
    return obj[key]


def _event_int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"uplink event: {name} = {value!r} is not an integer")
    if not low <= value <= high:
        raise PayloadError(f"uplink event: {name} = {value} is out of range {low} .. {high}")
    return value


def decode_up_event(
    message: str | bytes | Mapping[str, Any], f_port: int = FLOOD_F_PORT
) -> UplinkReading:
    """Decode a ChirpStack v4 ``up`` event (JSON text, bytes or a parsed dict).

    Raises:
        PayloadError: bad UTF-8 or JSON, a missing or mistyped field, bad
            base64, another FPort, a corrupt payload, or an ``object`` that
            disagrees with ``data``.
    """
    event: Any = message
    if isinstance(event, bytes | bytearray):
        try:
            event = bytes(event).decode("utf-8")
        except UnicodeDecodeError as err:
            raise PayloadError(f"uplink event is not UTF-8 text: {err}") from None
    if isinstance(event, str):
        try:
            event = json.loads(event)
        except json.JSONDecodeError as err:
            raise PayloadError(f"uplink event is not valid JSON: {err}") from None
    if not isinstance(event, Mapping):
        raise PayloadError(f"uplink event must be a JSON object, got {type(event).__name__}")
    info = _get(event, "deviceInfo", "")
    if not isinstance(info, Mapping):
        raise PayloadError("uplink event: deviceInfo must be an object")
    dev_eui = _get(info, "devEui", "deviceInfo.")
    if not (isinstance(dev_eui, str) and len(dev_eui) == 16 and _is_hex(dev_eui)):
        raise PayloadError(f"uplink event: deviceInfo.devEui = {dev_eui!r} is not 16 hex digits")
    name = info.get("deviceName", "")
    tags = info.get("tags") or {}
    if not isinstance(name, str) or not isinstance(tags, Mapping):
        raise PayloadError("uplink event: deviceInfo.deviceName / tags have the wrong type")
    f_cnt = _event_int(_get(event, "fCnt", ""), "fCnt", 0, _UINT32 - 1)
    port = _event_int(_get(event, "fPort", ""), "fPort", 0, 255)
    if port != f_port:
        raise PayloadError(f"uplink event: fPort {port} is not the flood-point port {f_port}")
    time = _get(event, "time", "")
    if not isinstance(time, str):
        raise PayloadError(f"uplink event: time = {time!r} is not a string")
    data = _get(event, "data", "")
    if not isinstance(data, str):
        raise PayloadError(f"uplink event: data = {data!r} is not a base64 string")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as err:
        raise PayloadError(f"uplink event: data {data!r} is not valid base64 ({err})") from None
    payload = decode_payload(raw)
    obj = event.get("object")
    if obj is not None:
        _check_object(obj, payload)
    rssi, snr = _best_reception(event.get("rxInfo", []))
    site = tags.get("site")
    return UplinkReading(
        dev_eui=dev_eui.upper(),
        device_name=name,
        site_id=site if isinstance(site, str) else None,
        f_cnt=f_cnt,
        f_port=port,
        time=time,
        payload=payload,
        rssi_dbm=rssi,
        snr_db=snr,
    )


def try_decode_up_event(
    message: str | bytes | Mapping[str, Any], f_port: int = FLOOD_F_PORT
) -> UplinkReading | DecodeFailure:
    """Like :func:`decode_up_event` but RETURNS a :class:`DecodeFailure` instead of raising."""
    try:
        return decode_up_event(message, f_port)
    except PayloadError as err:
        return DecodeFailure(str(err))


def _is_hex(text: str) -> bool:
    return _HEX.fullmatch(text) is not None


def _check_object(obj: Any, payload: FloodPayload) -> None:
    if not isinstance(obj, Mapping):
        raise PayloadError("uplink event: object must be a JSON object")
    expected = payload.to_object()
    for key in ("levelMm", "rainTips", "rainTipsTotal", "intervalS", "batteryPct", "flags"):
        if key in obj and obj[key] != expected[key]:
            raise PayloadError(
                f"uplink event: object.{key} = {obj[key]!r} disagrees with data ({expected[key]!r})"
            )


def _best_reception(rx_info: Any) -> tuple[float | None, float | None]:
    if not isinstance(rx_info, list):
        raise PayloadError("uplink event: rxInfo must be a list")
    best: tuple[float, float | None] | None = None
    for i, rx in enumerate(rx_info):
        if not isinstance(rx, Mapping):
            raise PayloadError(f"uplink event: rxInfo[{i}] must be an object")
        rssi, snr = rx.get("rssi"), rx.get("snr")
        if isinstance(rssi, bool) or not isinstance(rssi, int | float):
            raise PayloadError(f"uplink event: rxInfo[{i}].rssi = {rssi!r} is not a number")
        if snr is not None and (isinstance(snr, bool) or not isinstance(snr, int | float)):
            raise PayloadError(f"uplink event: rxInfo[{i}].snr = {snr!r} is not a number")
        if best is None or rssi > best[0]:
            best = (float(rssi), None if snr is None else float(snr))
    return (None, None) if best is None else best
