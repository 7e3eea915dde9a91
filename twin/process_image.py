"""The process image: the latest sample of every declared point, with quality propagation.

Plants publish sensor samples into it; controllers read their inputs from it
and write their outputs into it; the kernel hands actuator values to plants.
Quality propagates three ways:

- a value that does not fit its point (wrong type, NaN, out of range) is
  stored as a BAD sample with no value, and the error is kept for the log;
- a sample read later than its point's ``stale_after_s`` reads as UNCERTAIN,
  later than ``bad_after_s`` as BAD. Age counts from the sample's source
  timestamp or, if later, from the last keep-alive of the plant that published
  it (plants report by exception: an unchanged value is confirmed by the step);
- a forced fault (a scenario event "sensor fails") makes reads BAD until cleared.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from controllers.io import PointSpec, PointValueError, Quality, Sample, bad_sample

__all__ = ["PointConflictError", "ProcessImage", "Rejection"]


class PointConflictError(ValueError):
    """Two declarations of one point disagree (direction, unit or type)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A value the image refused: when (s), which point, who wrote it, and why."""

    time: float
    point: str
    writer: str
    reason: str


class ProcessImage:
    """Latest samples by point name, in declaration order (deterministic)."""

    def __init__(self) -> None:
        self._specs: dict[str, PointSpec] = {}
        self._samples: dict[str, Sample] = {}
        self._declared_by: dict[str, list[str]] = {}
        self._forced: dict[str, Quality] = {}
        self._publisher: dict[str, str] = {}
        self._confirmed: dict[str, float] = {}
        self.rejections: list[Rejection] = []

    # -- declaration -------------------------------------------------------
    def declare(self, spec: PointSpec, owner: str) -> None:
        """Register ``spec`` for ``owner`` (a plant or controller name).

        A point may be declared by several owners (the plant that publishes a
        sensor and the controllers that read it); the first declaration fixes
        the spec and later ones must agree on direction, unit and type.
        """
        first = self._specs.get(spec.name)
        if first is None:
            self._specs[spec.name] = spec
            self._declared_by[spec.name] = [owner]
            return
        for field in ("direction", "unit", "value_type"):
            if getattr(first, field) != getattr(spec, field):
                raise PointConflictError(
                    f"point {spec.name}: {owner} declares {field}={getattr(spec, field)!r} but "
                    f"{self._declared_by[spec.name][0]} declared {getattr(first, field)!r}; "
                    "make both declarations agree"
                )
        self._declared_by[spec.name].append(owner)

    def spec(self, name: str) -> PointSpec:
        """The spec of a declared point (KeyError with a hint otherwise)."""
        try:
            return self._specs[name]
        except KeyError:
            raise KeyError(f"point {name!r} is not declared by any plant or controller") from None

    def names(self) -> list[str]:
        """Declared point names in declaration order."""
        return list(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    # -- writing -----------------------------------------------------------
    def write(
        self,
        name: str,
        value: Any,
        now: float,
        *,
        writer: str,
        quality: Quality = Quality.GOOD,
        source_time: float | None = None,
    ) -> Sample:
        """Store one value (checked against its spec) and return the stored sample."""
        spec = self.spec(name)
        stamp = now if source_time is None else source_time
        previous = self._samples.get(name)
        if (
            previous is not None
            and previous.value is not None
            and type(previous.value) is type(value)
            and previous.value == value
        ):  # the same value passed its check before: only the time and quality are new
            sample = Sample(previous.value, quality, stamp)
            self._samples[name] = sample
            return sample
        if value is None:
            sample = Sample(None, Quality.BAD, stamp)
        else:
            try:
                sample = Sample(spec.check(value), quality, stamp)
            except PointValueError as err:
                self.rejections.append(Rejection(now, name, writer, str(err)))
                sample = Sample(None, Quality.BAD, stamp)
        self._samples[name] = sample
        return sample

    def publish(self, samples: Mapping[str, Sample], now: float, *, writer: str) -> None:
        """Store samples from a plant (each value checked; quality and timestamp kept).

        A sample whose value passes its point's check unchanged is stored as the
        same object (plants publish hundreds of points a step; this is the hot path).
        """
        specs = self._specs
        store = self._samples
        publisher = self._publisher
        for name, sample in samples.items():
            publisher[name] = writer
            spec = specs.get(name) or self.spec(name)  # unknown: raises with a hint
            value = sample.value
            if value is None:
                store[name] = (
                    sample
                    if sample.quality is Quality.BAD
                    else Sample(None, Quality.BAD, sample.source_time)
                )
                continue
            try:
                checked = spec.check(value)
            except PointValueError as err:
                self.rejections.append(Rejection(now, name, writer, str(err)))
                store[name] = Sample(None, Quality.BAD, sample.source_time)
                continue
            if checked is value or (checked == value and type(checked) is type(value)):
                store[name] = sample
            else:
                store[name] = Sample(checked, sample.quality, sample.source_time)

    def confirm(self, writer: str, now: float) -> None:
        """Keep-alive: every point ``writer`` published is current as of ``now`` (s)."""
        self._confirmed[writer] = now

    # -- faults ------------------------------------------------------------
    def force_quality(self, name: str, quality: Quality | None) -> None:
        """Force reads of ``name`` to at least ``quality``; None clears the fault."""
        self.spec(name)
        if quality is None:
            self._forced.pop(name, None)
        else:
            self._forced[name] = quality

    # -- reading -----------------------------------------------------------
    def read(self, name: str, now: float) -> Sample:
        """The sample of ``name`` as seen at ``now``: quality worsened by age and faults."""
        sample = self._samples.get(name)
        spec = self._specs.get(name)
        if sample is None or spec is None:
            return bad_sample()
        publisher = self._publisher.get(name)
        if publisher is not None:
            confirmed = self._confirmed.get(publisher, -math.inf)
            if confirmed > sample.source_time:
                sample = Sample(sample.value, sample.quality, confirmed)
        quality = spec.quality_at(sample, now)
        forced = self._forced.get(name)
        if forced is not None and forced > quality:
            quality = forced
        if quality is sample.quality:
            return sample
        return Sample(sample.value, quality, sample.source_time)

    def read_many(self, names: Iterable[str], now: float) -> dict[str, Sample]:
        """``read`` for several points, in the given order."""
        return {name: self.read(name, now) for name in names}

    def latest(self) -> Mapping[str, Sample]:
        """The stored samples (no ageing), for the recorder."""
        return self._samples
