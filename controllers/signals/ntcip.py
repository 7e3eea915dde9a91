"""NTCIP 1202-style objects of a signal cabinet, as process-image points.

No OPC-UA companion specification exists for traffic signal controllers, so
the twin's virtual cabinet (:mod:`controllers.signals.cabinet`) and the
central side that drives it (:mod:`controllers.signals.ntcip_central`) speak
a namespace that reuses the names and codes of NTCIP 1202 (the Actuated
Signal Controller MIB). Everything lives under ``tls/{id}/ntcip/``.

Phases are numbered as in NTCIP, from 1: phase ``p`` is the junction's green
phase ``spec.green_phases[p - 1]``; bit ``p - 1`` of a mask stands for phase
``p`` (NTCIP splits masks in groups of 8 phases; here one integer carries up to
:data:`MAX_PHASES`).

**Phase control** (written by the central system, read by the cabinet;
``phaseControlGroup*``):

- ``phase_control/omit``      phases not to be served (a green one ends once
  its minimum green is done and another phase is called; a phase the cabinet
  has already committed to is still served);
- ``phase_control/hold``      phases whose green is to be kept (wins over
  force-off, omit and max green);
- ``phase_control/force_off`` phases whose green is to end (after minimum green);
- ``phase_control/veh_call``, ``phase_control/ped_call``  phases demanded;
- ``coord/pattern_command``   ``systemPatternControl``: :data:`PATTERN_STANDBY`
  (0: not under system control; the cabinet runs its own time-base plan),
  1 (the cabinet's plan 1), :data:`PATTERN_FREE` (254: free, i.e. sequenced by
  phase control), :data:`PATTERN_FLASH` (255);
- ``central/heartbeat``       a counter the central system changes every scan;
  the cabinet falls back to its time-base plan (NTCIP "backup") when it has
  not changed for the backup time.

**Status** (published by the cabinet; ``phaseStatusGroup*``, ``unit*``,
``coordPatternStatus``):

- ``phase_status/greens``, ``/yellows``, ``/reds``: a phase is green when all
  its green links show green, yellow when one of them shows amber, red
  otherwise; ``phase_status/next``: the phase the cabinet moves to, while it
  is not yet green; ``phase_status/calls``: the calls it holds;
- ``unit/control_status`` (``unitControlStatus``), ``unit/flash_status``
  (``unitFlashStatus``), ``coord/pattern_status`` (``coordPatternStatus``),
  ``coord/cycle_s`` and ``coord/offset_s`` (the time-base plan's cycle and offset);
- ``mmu/violations``: breaches seen by the cabinet's conflict monitor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import IntEnum

from controllers.io import Direction, PointSpec, ValueType
from controllers.signals.intersection import GREEN_CHARS, IntersectionSpec

__all__ = [
    "CONTROL_FIELDS",
    "HEARTBEAT_MODULUS",
    "MAX_PHASES",
    "PATTERN_FLASH",
    "PATTERN_FREE",
    "PATTERN_PLAN",
    "PATTERN_STANDBY",
    "STATUS_FIELDS",
    "FlashStatus",
    "UnitControlStatus",
    "control_points",
    "mask",
    "phase_links",
    "phase_status",
    "point_name",
    "status_points",
]

MAX_PHASES = 16
HEARTBEAT_MODULUS = 2**31  # the heartbeat counts 0 .. 2**31 - 1 and wraps
PATTERN_STANDBY = 0
PATTERN_PLAN = 1  # the cabinet's own time-base plan
PATTERN_FREE = 254
PATTERN_FLASH = 255

CONTROL_FIELDS = (
    "phase_control/omit",
    "phase_control/hold",
    "phase_control/force_off",
    "phase_control/veh_call",
    "phase_control/ped_call",
)
STATUS_FIELDS = (
    "phase_status/greens",
    "phase_status/yellows",
    "phase_status/reds",
    "phase_status/next",
    "phase_status/calls",
)


class UnitControlStatus(IntEnum):
    """``unitControlStatus``: who is in control of the cabinet."""

    OTHER = 1
    SYSTEM_CONTROL = 2
    SYSTEM_STANDBY = 3
    BACKUP_MODE = 4
    MANUAL = 5
    TIMEBASE = 6


class FlashStatus(IntEnum):
    """``unitFlashStatus``: whether and why the cabinet flashes."""

    OTHER = 1
    NOT_FLASH = 2
    AUTOMATIC = 3
    LOCAL_MANUAL = 4
    FAULT_MONITOR = 5
    MMU = 6
    STARTUP = 7


def point_name(tls_id: str, field: str) -> str:
    """The point of NTCIP object ``field`` of junction ``tls_id``."""
    return f"tls/{tls_id}/ntcip/{field}"


def mask(phases: Sequence[int] | set[int]) -> int:
    """The bit mask of 0-based phase indices (bit ``i`` = NTCIP phase ``i + 1``)."""
    out = 0
    for i in phases:
        if not 0 <= i < MAX_PHASES:
            raise ValueError(f"phase index {i} outside 0..{MAX_PHASES - 1}")
        out |= 1 << i
    return out


def phase_links(spec: IntersectionSpec) -> tuple[tuple[int, ...], ...]:
    """Per green phase, the links it shows green; refuses more than MAX_PHASES phases."""
    if len(spec.green_phases) > MAX_PHASES:
        raise ValueError(
            f"tls {spec.tls_id}: {len(spec.green_phases)} green phases; the NTCIP namespace "
            f"carries at most {MAX_PHASES}"
        )
    return tuple(
        tuple(i for i, ch in enumerate(phase) if ch in GREEN_CHARS) for phase in spec.green_phases
    )


def phase_status(links: Sequence[Sequence[int]], shown: str) -> tuple[int, int, int]:
    """Masks (greens, yellows, reds) of the phases for the state ``shown``.

    A phase with no green link (an all-red phase) is never green."""
    greens = yellows = 0
    for p, own in enumerate(links):
        if own and all(shown[i] in GREEN_CHARS for i in own):
            greens |= 1 << p
        elif any(shown[i] == "y" for i in own):
            yellows |= 1 << p
    reds = ((1 << len(links)) - 1) & ~(greens | yellows)
    return greens, yellows, reds


def control_points(
    tls_id: str, n_phases: int, direction: Direction, *, backup_s: float = 10.0
) -> tuple[PointSpec, ...]:
    """Phase-control, pattern and heartbeat points of one junction.

    ``direction`` is OUTPUT on the central side, INPUT on the cabinet's. On the
    cabinet's side samples age: older than ``backup_s`` (s, > 0) reads BAD.
    """
    if not (math.isfinite(backup_s) and backup_s > 0):
        raise ValueError(f"backup_s must be a finite time > 0 s, got {backup_s!r}")
    top = (1 << n_phases) - 1
    age = math.inf if direction is Direction.OUTPUT else backup_s
    found = [
        PointSpec(
            point_name(tls_id, field),
            direction,
            "1",
            ValueType.INT,
            0,
            top,
            description=f"NTCIP phaseControlGroup {field.rpartition('/')[2]}: bit p-1 = phase p",
            stale_after_s=age,
            bad_after_s=age,
        )
        for field in CONTROL_FIELDS
    ]
    found.append(
        PointSpec(
            point_name(tls_id, "coord/pattern_command"),
            direction,
            "1",
            ValueType.INT,
            0,
            255,
            description="NTCIP systemPatternControl: 0 standby, 1 plan, 254 free, 255 flash",
            stale_after_s=age,
            bad_after_s=age,
        )
    )
    found.append(
        PointSpec(
            point_name(tls_id, "central/heartbeat"),
            direction,
            "1",
            ValueType.INT,
            0,
            HEARTBEAT_MODULUS - 1,
            description="changes every central scan; unchanged for the backup time = backup",
            stale_after_s=age,
            bad_after_s=age,
        )
    )
    return tuple(found)


def status_points(tls_id: str, n_phases: int, direction: Direction) -> tuple[PointSpec, ...]:
    """Phase, unit, coordination and MMU status points of one junction.

    ``direction`` is OUTPUT on the cabinet's side, INPUT on the central side."""
    top = (1 << n_phases) - 1
    found = [
        PointSpec(
            point_name(tls_id, field),
            direction,
            "1",
            ValueType.INT,
            0,
            top,
            description=f"NTCIP phaseStatusGroup {field.rpartition('/')[2]}: bit p-1 = phase p",
        )
        for field in STATUS_FIELDS
    ]
    found += [
        PointSpec(
            point_name(tls_id, "unit/control_status"),
            direction,
            "1",
            ValueType.INT,
            1,
            6,
            description="NTCIP unitControlStatus: 2 system, 3 standby, 4 backup, 6 timebase",
        ),
        PointSpec(
            point_name(tls_id, "unit/flash_status"),
            direction,
            "1",
            ValueType.INT,
            1,
            7,
            description="NTCIP unitFlashStatus: 2 not flashing, 3 commanded, 6 MMU, 7 start-up",
        ),
        PointSpec(
            point_name(tls_id, "coord/pattern_status"),
            direction,
            "1",
            ValueType.INT,
            0,
            255,
            description="NTCIP coordPatternStatus: 1 plan, 254 free, 255 flash",
        ),
        PointSpec(
            point_name(tls_id, "coord/cycle_s"),
            direction,
            "s",
            ValueType.FLOAT,
            0.0,
            None,
            description="NTCIP coordCycleStatus: the time-base plan's cycle length",
        ),
        PointSpec(
            point_name(tls_id, "coord/offset_s"),
            direction,
            "s",
            ValueType.FLOAT,
            0.0,
            None,
            description="the time-base plan's offset within its cycle",
        ),
        PointSpec(
            point_name(tls_id, "mmu/violations"),
            direction,
            "1",
            ValueType.INT,
            0,
            None,
            description="breaches seen by the cabinet's conflict monitor (MMU) since power-up",
        ),
    ]
    return tuple(found)
