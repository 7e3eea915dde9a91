"""Configuration of one flood-warning point, validated on construction.

A point is a *river* gauge (water stage above the national datum, m) or a
*street* point (water depth above the road surface, m). Its kind chooses the
defaults of every part — thresholds, rate alarm, siren policy, fault limits —
and any part can be given explicitly::

    FloodPointConfig.river("P01")
    FloodPointConfig.street("P04", has_rain=True, neighbours=(p03.as_neighbour(),))
    FloodPointConfig.street("P05", thresholds=LevelThresholds(0.15, 0.3, 0.5, 0.05, 600))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controllers.flood.faults import FaultConfig
from controllers.flood.levels import LevelThresholds
from controllers.flood.rate import RateAlarmConfig
from controllers.flood.siren import SirenPolicy
from controllers.flood.voting import Neighbour
from controllers.io import validate_point_name

__all__ = ["KINDS", "FloodPointConfig"]

#: the kinds of warning point
KINDS = ("river", "street")


@dataclass(frozen=True)
class FloodPointConfig:
    """Everything a warning point needs to decide on its own.

    Attributes:
        point_id: the point's id, ``P01`` .. ``P12`` (a point-name segment).
        kind: ``"river"`` (stage gauge) or ``"street"`` (depth on the road).
        thresholds: levels I/II/III, hysteresis band and hold time.
        rate: the rate-of-rise alarm.
        siren: when the siren sounds.
        faults: the sensor's valid range and fault limits.
        neighbours: nearby points whose readings vote when this point's own
            sensor is in doubt (none: the point relies on itself alone).
        has_rain: the point has a rain gauge (``flood/{id}/rain_mm_h``).
        has_battery: the point reports its battery (``flood/{id}/battery_pct``).
    """

    point_id: str
    kind: str
    thresholds: LevelThresholds
    rate: RateAlarmConfig
    siren: SirenPolicy
    faults: FaultConfig
    neighbours: tuple[Neighbour, ...] = ()
    has_rain: bool = False
    has_battery: bool = False

    def __post_init__(self) -> None:
        owner = "FloodPointConfig"
        if not isinstance(self.point_id, str) or "/" in self.point_id:
            raise ValueError(
                f"{owner}.point_id must be one name segment like 'P01', got {self.point_id!r}"
            )
        try:
            validate_point_name(f"flood/{self.point_id}")
        except ValueError as exc:
            raise ValueError(
                f"{owner}.point_id {self.point_id!r}: use letters, digits and _ . # : - "
                "(e.g. 'P01')"
            ) from exc
        if self.kind not in KINDS:
            raise ValueError(f"{owner}.kind must be one of {KINDS}, got {self.kind!r}")
        for field, cls in (
            ("thresholds", LevelThresholds),
            ("rate", RateAlarmConfig),
            ("siren", SirenPolicy),
            ("faults", FaultConfig),
        ):
            if not isinstance(getattr(self, field), cls):
                raise ValueError(
                    f"{owner}.{field} must be a {cls.__name__}, got "
                    f"{type(getattr(self, field)).__name__}"
                )
        t, f = self.thresholds, self.faults
        if not f.valid_low_m < t.level_1_m or not t.level_3_m < f.valid_high_m:
            raise ValueError(
                f"{owner}.thresholds {t.values_m} m must lie inside the sensor's valid range "
                f"faults.valid_low_m..valid_high_m = {f.valid_low_m}..{f.valid_high_m} m, or "
                "some levels could never be reached or left"
            )
        if not isinstance(self.neighbours, tuple) or not all(
            isinstance(n, Neighbour) for n in self.neighbours
        ):
            raise ValueError(f"{owner}.neighbours must be a tuple of Neighbour")
        ids = [n.point_id for n in self.neighbours]
        if self.point_id in ids:
            raise ValueError(f"{owner}.neighbours: point {self.point_id} lists itself")
        if len(set(ids)) != len(ids):
            raise ValueError(f"{owner}.neighbours lists a point twice: {ids}")
        for field in ("has_rain", "has_battery"):
            if not isinstance(getattr(self, field), bool):
                raise ValueError(f"{owner}.{field} must be a bool, got {getattr(self, field)!r}")

    @classmethod
    def for_kind(
        cls,
        point_id: str,
        kind: str,
        *,
        thresholds: LevelThresholds | None = None,
        rate: RateAlarmConfig | None = None,
        siren: SirenPolicy | None = None,
        faults: FaultConfig | None = None,
        neighbours: tuple[Neighbour, ...] = (),
        has_rain: bool = False,
        has_battery: bool = False,
    ) -> FloodPointConfig:
        """A point of ``kind`` with that kind's defaults for every part not given."""
        if kind not in KINDS:
            raise ValueError(f"FloodPointConfig.kind must be one of {KINDS}, got {kind!r}")
        river = kind == "river"
        return cls(
            point_id=point_id,
            kind=kind,
            thresholds=thresholds
            or (LevelThresholds.river() if river else LevelThresholds.street()),
            rate=rate or (RateAlarmConfig.river() if river else RateAlarmConfig.street()),
            siren=siren or (SirenPolicy.river() if river else SirenPolicy.street()),
            faults=faults or (FaultConfig.river() if river else FaultConfig.street()),
            neighbours=tuple(neighbours),
            has_rain=has_rain,
            has_battery=has_battery,
        )

    @classmethod
    def river(cls, point_id: str, **parts: Any) -> FloodPointConfig:
        """A river gauge (Đông Hà station defaults); ``parts`` as for :meth:`for_kind`."""
        return cls.for_kind(point_id, "river", **parts)

    @classmethod
    def street(cls, point_id: str, **parts: Any) -> FloodPointConfig:
        """A street point (0.10/0.30/0.50 m defaults); ``parts`` as for :meth:`for_kind`."""
        return cls.for_kind(point_id, "street", **parts)

    def as_neighbour(self, max_age_s: float = 900.0) -> Neighbour:
        """This point as another point's neighbour (its thresholds and valid range)."""
        return Neighbour(
            self.point_id,
            self.thresholds,
            self.faults.valid_low_m,
            self.faults.valid_high_m,
            max_age_s=max_age_s,
        )
