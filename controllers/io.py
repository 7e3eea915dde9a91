"""The I/O contract between plants and controllers: points, samples, controllers.

This module is the one seam of the twin (see DESIGN.md, "The process image").
It is copied onto cabinets and gateways together with the controllers, so it
uses the standard library only.

Vocabulary
----------
point
    A named I/O channel, as in a PLC: ``tls/J07/state``, ``flood/P03/level_m``.
    Names are hierarchical, ``/``-separated; each segment uses ASCII letters,
    digits and ``_ . # : -`` (SUMO lane ids contain ``_`` and ``#``).
direction
    Seen from the controller: ``INPUT`` points are read by controllers (plant
    sensors), ``OUTPUT`` points are written by controllers (plant actuators).
sample
    A value with its OPC-UA-style quality and its source timestamp.
time
    Seconds on the run's clock (simulated, lock-step or wall-clock seconds
    since the run start). Controllers never read a clock: ``now`` is passed in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any, NamedTuple, Protocol, runtime_checkable

__all__ = [
    "Controller",
    "Direction",
    "PointSpec",
    "PointValueError",
    "Quality",
    "Sample",
    "ValueType",
    "bad_sample",
    "check_scan_time",
    "good_flag",
    "good_number",
    "validate_point_name",
]

_SEGMENT = r"[A-Za-z0-9_.#:\-]+"
_NAME_RE = re.compile(rf"^{_SEGMENT}(/{_SEGMENT})+$")


class Direction(Enum):
    """Direction of a point, seen from the controller."""

    INPUT = "input"  # plant sensor -> controller
    OUTPUT = "output"  # controller -> plant actuator


class ValueType(Enum):
    """Type of a point's value."""

    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    STR = "str"


class Quality(IntEnum):
    """Sample quality, ordered from best to worst (OPC-UA Good/Uncertain/Bad)."""

    GOOD = 0
    UNCERTAIN = 1
    BAD = 2


class PointValueError(ValueError):
    """A value does not fit its point (wrong type, NaN, out of range)."""


def validate_point_name(name: str) -> str:
    """Return ``name`` if it is a valid hierarchical point name, else raise ValueError."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"invalid point name {name!r}: use at least two '/'-separated segments of "
            "letters, digits and _ . # : - (e.g. 'tls/J07/state')"
        )
    return name


@dataclass(frozen=True, slots=True)
class PointSpec:
    """Definition of one I/O point.

    Attributes:
        name: hierarchical name, e.g. ``tls/J07/det/e12_0/queue_m``.
        direction: seen from the controller (INPUT = sensor, OUTPUT = actuator).
        unit: SI unit symbol (``m``, ``s``, ``m/s``, ``%``, ``1`` for counts,
            ``""`` for text and booleans).
        value_type: type of the value.
        low, high: allowed closed range for numeric points (None = unbounded).
        stale_after_s: a sample older than this (s) reads as UNCERTAIN.
        bad_after_s: a sample older than this (s) reads as BAD. Must be
            >= ``stale_after_s``. ``math.inf`` disables ageing.
        choices: for STR points, the allowed characters (every character of
            the value must be one of them), or None for free text.
        description: one line for humans.
    """

    name: str
    direction: Direction
    unit: str
    value_type: ValueType = ValueType.FLOAT
    low: float | None = None
    high: float | None = None
    stale_after_s: float = math.inf
    bad_after_s: float = math.inf
    choices: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        validate_point_name(self.name)
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"point {self.name}: low {self.low} > high {self.high}")
        if not (0 < self.stale_after_s <= self.bad_after_s):
            raise ValueError(
                f"point {self.name}: need 0 < stale_after_s <= bad_after_s, "
                f"got {self.stale_after_s} and {self.bad_after_s}"
            )

    def check(self, value: Any) -> Any:
        """Return ``value`` coerced to this point's type, or raise PointValueError.

        Rejects NaN and infinities, values outside [low, high], and for STR
        points with ``choices`` any character not in ``choices``.
        """
        vt = self.value_type
        if vt is ValueType.FLOAT and type(value) is float:  # hot path: plain finite floats
            if value != value or value in (math.inf, -math.inf):
                raise PointValueError(f"{self.name}: value {value!r} is not finite")
            if (self.low is not None and value < self.low) or (
                self.high is not None and value > self.high
            ):
                raise PointValueError(
                    f"{self.name}: {value!r} {self.unit} outside [{self.low}, {self.high}]"
                )
            return value
        if vt is ValueType.STR:
            if not isinstance(value, str):
                raise PointValueError(f"{self.name}: expected text, got {type(value).__name__}")
            if self.choices is not None:
                wrong = sorted(set(value) - set(self.choices))
                if wrong:
                    raise PointValueError(
                        f"{self.name}: characters {''.join(wrong)!r} not in {self.choices!r}"
                    )
            return value
        if vt is ValueType.BOOL:
            if isinstance(value, bool):
                return value
            if isinstance(value, int | float) and value in (0, 1):
                return bool(value)
            raise PointValueError(f"{self.name}: expected a boolean, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PointValueError(f"{self.name}: expected a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise PointValueError(f"{self.name}: value {value!r} is not finite")
        if vt is ValueType.INT:
            if number != int(number):
                raise PointValueError(f"{self.name}: expected an integer, got {value!r}")
            number = int(number)
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise PointValueError(
                f"{self.name}: {value!r} {self.unit} outside [{self.low}, {self.high}]"
            )
        return number

    def quality_at(self, sample: Sample, now: float) -> Quality:
        """Quality of ``sample`` when read at ``now`` (s): its own, worsened by age."""
        age = now - sample.source_time
        if age > self.bad_after_s:
            return Quality.BAD
        if age > self.stale_after_s:
            return max(sample.quality, Quality.UNCERTAIN)
        return sample.quality


class Sample(NamedTuple):
    """A value as it travels: value, quality and source timestamp (s, run clock).

    Immutable. A named tuple rather than a frozen dataclass because plants
    publish hundreds of samples per step and tuples are several times cheaper
    to create.
    """

    value: Any
    quality: Quality = Quality.GOOD
    source_time: float = 0.0

    @property
    def good(self) -> bool:
        """True when the quality is GOOD."""
        return self.quality is Quality.GOOD


def bad_sample(now: float = -math.inf) -> Sample:
    """A BAD sample with no value: what a controller sees for a missing input."""
    return Sample(None, Quality.BAD, now)


def good_number(sample: Sample | None, low: float, high: float) -> float | None:
    """The value of a GOOD sample if it is a finite number in [low, high], else None."""
    if not isinstance(sample, Sample) or sample.quality is not Quality.GOOD:
        return None
    value = sample.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and low <= number <= high else None


def good_flag(sample: Sample | None) -> bool | None:
    """The value of a GOOD sample if it is a boolean (or 0/1), else None."""
    if not isinstance(sample, Sample) or sample.quality is not Quality.GOOD:
        return None
    value = sample.value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    return None


def check_scan_time(name: str, now: Any, last_now: float | None) -> float:
    """``now`` (s) as a float if it is finite and not before ``last_now``, else ValueError.

    ``name`` is the controller's, for the message. Controllers call it first in ``scan``.
    """
    if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
        raise ValueError(f"{name}: now must be a finite time in s, got {now!r}")
    if last_now is not None and now < last_now:
        raise ValueError(
            f"{name}: time went backwards from {last_now} s to {now} s; pass a "
            "non-decreasing run-clock time"
        )
    return float(now)


@runtime_checkable
class Controller(Protocol):
    """What every controller implements; the kernel and the HIL bridges rely on nothing else.

    Attributes:
        name: unique name of this controller instance (e.g. ``signals/J07``).
        scan_period_s: seconds between scans (> 0).
    """

    name: str
    scan_period_s: float

    def points(self) -> Sequence[PointSpec]:
        """The points this controller reads (INPUT) and writes (OUTPUT)."""
        ...

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """One scan: given the time (s) and input samples, return output values by point name.

        Inputs that are missing map to a BAD sample; a controller must stay
        safe on missing, stale, bad or out-of-range inputs.
        """
        ...

    def snapshot(self) -> dict[str, Any]:
        """The controller's state as plain data (JSON-serialisable)."""
        ...

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a state produced by :meth:`snapshot`."""
        ...
