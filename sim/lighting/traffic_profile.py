"""Synthetic traffic on Hùng Vương: a year of road users without SUMO.

How a year is simulated quickly
-------------------------------
SUMO is not run for 365 days. Instead vehicles arrive at the two ends of the
section as a Poisson process whose rate follows hourly profiles, and travel
through it at their own constant speed; per plant step the model knows, for
each pole, how many vehicles crossed its detection window and, for each
counting station, how many crossed it — vectorised over the vehicles on the
section (a few hundred at most), with no per-vehicle Python loop. A year at
1-min steps costs a few tens of seconds, at 5-min steps a few seconds.

Volumes (all *(est.)*: no count of Hùng Vương is published)
-----------------------------------------------------------
- **AADT** :data:`HUNG_VUONG_AADT` = 20,000 vehicles/day, both directions, all
  classes (motorbikes ~83 %, ``scenarios/dongha/vtypes.csv``): a 4-lane urban
  arterial of a provincial city of ~100,000 people; with the weekday profile
  its peak hour is ~1,900 veh/h (~480 veh/h per lane, mostly motorbikes), well
  below the ~4,000+ motorbikes/h a lane carries (DOMAIN.md).
- **Weekday shape**: ``scenarios/dongha/weekday_profile.csv`` (share of the
  day's trips per local hour; the demand model of :mod:`sim.traffic.demand`
  uses the same file).
- **Weekend shape** (Saturday and Sunday): the weekday shares with the morning
  peak 06-08 h halved (no school or office start), 09-11 h × 1.2 (markets,
  errands) and the evening 19-22 h × 1.3 (leisure), renormalised.
- **Weekend volume**: a weekend day carries :data:`WEEKEND_DAY_FACTOR` = 0.9 of
  a weekday; the weekday total is set so that the mean over a 7-day week is
  the AADT: ``weekday = AADT × 7 / (5 + 2 × 0.9)``.
- Rates are constant within each local hour (Asia/Ho_Chi_Minh), so a year's
  expected total is the AADT × 365 up to the weekday/weekend mix of that year.
- **Direction**: 50/50. **Speed**: N(40 km/h, 8 km/h) per vehicle, clipped to
  15-70 km/h (motorbike-dominated urban flow at night).
- **Pedestrians**: ``pedestrians_per_day`` (default 1,500) appear at uniformly
  random stations along the section with the same hourly shape and are seen
  by the poles within the detection radius of where they are in that step;
  they are not counted by the vehicle counters.

Every vehicle runs the whole section (entry at one end, exit at the other):
turning traffic at the side streets is ignored. The section starts empty at
the first step; :meth:`SyntheticTraffic.add_vehicle` scripts extra vehicles
(e.g. one car on an empty road for a report).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim.weather import LOCAL_TZ

__all__ = [
    "HUNG_VUONG_AADT",
    "WEEKDAY_PROFILE_CSV",
    "WEEKEND_DAY_FACTOR",
    "HourlyVolumes",
    "SyntheticTraffic",
    "TrafficStep",
    "hung_vuong_volumes",
    "load_weekday_shares",
    "weekend_shares",
]

HUNG_VUONG_AADT = 20_000.0
"""Assumed annual average daily traffic of Hùng Vương (veh/day, both directions) *(est.)*."""
WEEKEND_DAY_FACTOR = 0.9
"""A Saturday or Sunday carries this fraction of a weekday's vehicles *(est.)*."""
WEEKDAY_PROFILE_CSV = (
    Path(__file__).resolve().parents[2] / "scenarios" / "dongha" / "weekday_profile.csv"
)

IntArray = NDArray[np.int64]


def load_weekday_shares(path: Path | str = WEEKDAY_PROFILE_CSV) -> NDArray[np.float64]:
    """Hourly shares (24, sum 1) from a ``hour,factor,...`` profile CSV."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p} is missing: the weekday profile lives in scenarios/dongha/")
    shares = np.full(24, np.nan)
    with p.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            h = int(row["hour"])
            if not 0 <= h <= 23:
                raise ValueError(f"{p}: hour {h} is outside 0..23")
            shares[h] = float(row["factor"])
    if np.isnan(shares).any() or (shares < 0).any() or shares.sum() <= 0:
        raise ValueError(f"{p}: need one non-negative factor for each hour 0..23")
    return np.asarray(shares / shares.sum())


def weekend_shares(weekday: ArrayLike) -> NDArray[np.float64]:
    """The weekend shape derived from the weekday one (see the module docstring)."""
    w = np.array(weekday, dtype=np.float64)
    w[6:8] *= 0.5
    w[9:12] *= 1.2
    w[19:23] *= 1.3
    return np.asarray(w / w.sum())


@dataclass(frozen=True)
class HourlyVolumes:
    """Hourly two-way vehicle volumes of the section.

    Attributes:
        weekday_shares, weekend_shares: shares of the day's vehicles per local
            hour (24 each, sum 1).
        aadt_veh_day: annual average daily traffic (veh/day, > 0).
        weekend_factor: weekend-day volume / weekday volume (> 0).
    """

    weekday_shares: NDArray[np.float64]
    weekend_shares: NDArray[np.float64]
    aadt_veh_day: float = HUNG_VUONG_AADT
    weekend_factor: float = WEEKEND_DAY_FACTOR

    def __post_init__(self) -> None:
        for name in ("weekday_shares", "weekend_shares"):
            a = np.asarray(getattr(self, name), dtype=np.float64)
            if a.shape != (24,) or (a < 0).any() or abs(a.sum() - 1.0) > 1e-6:
                raise ValueError(f"HourlyVolumes.{name}: need 24 shares >= 0 summing to 1")
        if not (math.isfinite(self.aadt_veh_day) and self.aadt_veh_day > 0):
            raise ValueError(
                f"HourlyVolumes.aadt_veh_day = {self.aadt_veh_day!r}: must be > 0 veh/day"
            )
        if not (math.isfinite(self.weekend_factor) and self.weekend_factor > 0):
            raise ValueError(f"HourlyVolumes.weekend_factor = {self.weekend_factor!r}: must be > 0")

    @property
    def weekday_veh_day(self) -> float:
        """Vehicles on a weekday (veh/day)."""
        return self.aadt_veh_day * 7.0 / (5.0 + 2.0 * self.weekend_factor)

    @property
    def weekend_veh_day(self) -> float:
        """Vehicles on a Saturday or Sunday (veh/day)."""
        return self.weekday_veh_day * self.weekend_factor

    def rates_veh_h(self) -> NDArray[np.float64]:
        """(7, 24) two-way volume (veh/h) by weekday (Monday = 0) and local hour."""
        wd = self.weekday_veh_day * np.asarray(self.weekday_shares)
        we = self.weekend_veh_day * np.asarray(self.weekend_shares)
        return np.vstack([wd] * 5 + [we] * 2)

    def expected_between(self, first: date, last: date) -> float:
        """Expected vehicles over the local days ``first`` .. ``last`` inclusive."""
        total, d = 0.0, first
        while d <= last:
            total += self.weekend_veh_day if d.weekday() >= 5 else self.weekday_veh_day
            d += timedelta(days=1)
        return total


def hung_vuong_volumes(
    aadt_veh_day: float = HUNG_VUONG_AADT,
    weekday_csv: Path | str = WEEKDAY_PROFILE_CSV,
    weekend_factor: float = WEEKEND_DAY_FACTOR,
) -> HourlyVolumes:
    """The assumed volumes of Hùng Vương (see the module docstring)."""
    wd = load_weekday_shares(weekday_csv)
    return HourlyVolumes(wd, weekend_shares(wd), float(aadt_veh_day), float(weekend_factor))


@dataclass(frozen=True)
class TrafficStep:
    """What the synthetic traffic did during one step.

    Attributes:
        users_in_zone: per pole, vehicles that passed through its detection
            window plus pedestrians inside it during the step.
        counts: per counting station, vehicles that crossed it.
        arrivals: vehicles that entered the section during the step.
    """

    users_in_zone: IntArray
    counts: IntArray
    arrivals: int


class SyntheticTraffic:
    """Poisson vehicles driving through the section (see the module docstring).

    Args:
        volumes: the hourly volumes.
        start: aware datetime of run time 0.
        length_m: section length (m).
        pole_stations: station (m) of each pole's sensor, any order.
        count_stations: stations (m) of the vehicle counters (e.g. the middle
            of each cabinet's segment).
        rng: random generator.
        zone_radius_m: half-length of each pole's detection window along the road (m).
        speed_kmh, speed_sd_kmh: vehicle speed distribution (km/h).
        pedestrians_per_day: pedestrians per day along the section (>= 0).
    """

    def __init__(
        self,
        volumes: HourlyVolumes,
        start: datetime,
        length_m: float,
        pole_stations: ArrayLike,
        count_stations: ArrayLike,
        rng: np.random.Generator,
        zone_radius_m: float = 15.0,
        speed_kmh: float = 40.0,
        speed_sd_kmh: float = 8.0,
        pedestrians_per_day: float = 1500.0,
    ) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"start {start.isoformat()} is naive; give an aware datetime")
        if not length_m > 0:
            raise ValueError(f"length_m {length_m!r} must be > 0 m")
        if not speed_kmh > 0 or speed_sd_kmh < 0:
            raise ValueError("speed_kmh must be > 0 and speed_sd_kmh >= 0")
        if pedestrians_per_day < 0:
            raise ValueError(f"pedestrians_per_day {pedestrians_per_day!r} must be >= 0")
        self.volumes = volumes
        self.length_m = float(length_m)
        self.rng = rng
        self.zone_radius_m = float(zone_radius_m)
        self.speed_mps = speed_kmh / 3.6
        self.speed_sd_mps = speed_sd_kmh / 3.6
        ps = np.asarray(pole_stations, dtype=np.float64)
        self._pole_order = np.argsort(ps, kind="stable")
        self._pole_sorted = ps[self._pole_order]
        cs = np.asarray(count_stations, dtype=np.float64)
        self._count_order = np.argsort(cs, kind="stable")
        self._count_sorted = cs[self._count_order]
        local = start.astimezone(LOCAL_TZ)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        self._t_local0 = (local - midnight).total_seconds()
        self._dow0 = local.weekday()
        self._rates_s = volumes.rates_veh_h() / 3600.0  # veh/s by (dow, hour)
        shares = np.vstack([volumes.weekday_shares] * 5 + [volumes.weekend_shares] * 2)
        self._ped_rates_s = pedestrians_per_day * shares / 3600.0
        self._enter = np.empty(0)
        self._speed = np.empty(0)
        self._fwd = np.empty(0, dtype=bool)
        self._hour: int | None = None
        self._pend: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]] = (
            np.empty(0),
            np.empty(0),
            np.empty(0, dtype=bool),
        )
        self._ped: tuple[NDArray[np.float64], NDArray[np.float64]] = (np.empty(0), np.empty(0))
        self.total_arrivals = 0
        self._t_last: float | None = None

    # ---------------------------------------------------------------- rates
    def _pieces(self, t0: float, t1: float) -> list[tuple[float, float, int, int]]:
        """(a, b, dow, hour) pieces of constant rate covering (t0, t1]."""
        out = []
        a = t0
        while a < t1:
            tl = self._t_local0 + a
            day = math.floor(tl / 86400.0)
            sec = tl - day * 86400.0
            hour = min(int(sec // 3600.0), 23)
            b = min(t1, a + (hour + 1) * 3600.0 - sec)
            if b <= a:  # float round-off at an hour boundary
                b = min(t1, a + 1e-6)
            out.append((a, b, (self._dow0 + day) % 7, hour))
            a = b
        return out

    def expected_vehicles(self, t0: float, t1: float) -> float:
        """Expected vehicle arrivals over run time (t0, t1] (s)."""
        return sum((b - a) * self._rates_s[d, h] for a, b, d, h in self._pieces(t0, t1))

    def rate_veh_h(self, t: float) -> float:
        """Two-way volume (veh/h) at run time ``t`` (s)."""
        (_, _, d, h), *_ = self._pieces(t, t + 1.0)
        return float(self._rates_s[d, h] * 3600.0)

    # ----------------------------------------------------------------- step
    def _draw_hour(self, hour_index: int) -> None:
        """Draw the arrivals and pedestrians of local hour ``hour_index`` (0 = the start's hour)."""
        rng = self.rng
        h0 = hour_index * 3600.0 - self._t_local0 % 3600.0  # run time of the hour's start
        tl = self._t_local0 + h0 + 1.0
        day = math.floor(tl / 86400.0)
        dow, hour = (self._dow0 + day) % 7, min(int((tl - day * 86400.0) // 3600.0), 23)
        n = int(rng.poisson(3600.0 * self._rates_s[dow, hour]))
        tt = np.sort(rng.uniform(h0, h0 + 3600.0, n))
        v = self.speed_mps + self.speed_sd_mps * rng.standard_normal(n)
        v = np.minimum(np.maximum(v, 15 / 3.6), 70 / 3.6)
        dr = rng.random(n) < 0.5
        m = (
            int(rng.poisson(3600.0 * self._ped_rates_s[dow, hour]))
            if self._ped_rates_s.any()
            else 0
        )
        pt = np.sort(rng.uniform(h0, h0 + 3600.0, m))
        ps = rng.uniform(0.0, self.length_m, m)
        self._pend = (tt, v, dr)
        self._ped = (pt, ps)
        self._hour = hour_index

    def _skip_to(self, t0: float) -> None:
        """Start, or jump over a gap: draws restart in the hour of ``t0`` and the section
        keeps only scripted vehicles (:meth:`add_vehicle`) that are still on it."""
        keep = self._enter + self.length_m / self._speed > t0
        self._enter, self._speed, self._fwd = self._enter[keep], self._speed[keep], self._fwd[keep]
        hour = math.floor((self._t_local0 % 3600.0 + t0) / 3600.0 - 1e-12)
        self._draw_hour(hour)
        tt, v, dr = self._pend
        k = int(np.searchsorted(tt, t0, "right"))
        self._pend = (tt[k:], v[k:], dr[k:])
        pt, ps = self._ped
        j = int(np.searchsorted(pt, t0, "right"))
        self._ped = (pt[j:], ps[j:])

    def add_vehicle(self, t_enter: float, speed_kmh: float = 40.0, forward: bool = True) -> None:
        """Script one vehicle entering at run time ``t_enter`` (s) at the crossing end
        (``forward``, station 0) or the junction end, at a constant ``speed_kmh``."""
        if not speed_kmh > 0:
            raise ValueError(f"speed_kmh {speed_kmh!r} must be > 0")
        self._enter = np.append(self._enter, float(t_enter))
        self._speed = np.append(self._speed, speed_kmh / 3.6)
        self._fwd = np.append(self._fwd, bool(forward))
        self.total_arrivals += 1

    def step(self, t0: float, t1: float) -> TrafficStep:
        """Advance from run time ``t0`` to ``t1`` (s, t1 > t0) and report what passed.

        Arrivals and pedestrians are drawn one local hour at a time, so the
        random stream does not depend on the step length. Steps follow each
        other; a step starting after the last one's end skips the gap (the
        section empties, draws restart in the hour of ``t0``).
        """
        if not t1 > t0:
            raise ValueError(f"step({t0}, {t1}): t1 must be after t0")
        if self._t_last is not None and t0 < self._t_last - 1e-9:
            raise ValueError(
                f"step({t0}, {t1}) goes back before the last step's end {self._t_last}"
            )
        if self._t_last is None or t0 > self._t_last + 1e-9:
            self._skip_to(t0)
        self._t_last = t1
        n_p, n_c = self._pole_sorted.size, self._count_sorted.size
        users = np.zeros(n_p + 1, dtype=np.int64)
        counts = np.zeros(n_c + 1, dtype=np.int64)
        arrivals = 0
        r = self.zone_radius_m
        last_hour = math.floor((self._t_local0 % 3600.0 + t1) / 3600.0 - 1e-12)
        while True:
            tt, v, dr = self._pend
            k = int(np.searchsorted(tt, t1, "right"))
            if k:
                self._enter = np.concatenate([self._enter, tt[:k]])
                self._speed = np.concatenate([self._speed, v[:k]])
                self._fwd = np.concatenate([self._fwd, dr[:k]])
                self._pend = (tt[k:], v[k:], dr[k:])
                arrivals += k
            pt, ps = self._ped
            j = int(np.searchsorted(pt, t1, "right"))
            if j:
                users += np.bincount(
                    np.searchsorted(self._pole_sorted, ps[:j] - r, "left"), minlength=n_p + 1
                )
                users -= np.bincount(
                    np.searchsorted(self._pole_sorted, ps[:j] + r, "right"), minlength=n_p + 1
                )
                self._ped = (pt[j:], ps[j:])
            if self._hour is None or self._hour >= last_hour:
                break
            self._draw_hour(self._hour + 1)
        self.total_arrivals += arrivals
        if self._enter.size:
            big = self.length_m
            ent, spd, fwd = self._enter, self._speed, self._fwd
            da = spd * (np.maximum(t0, ent) - ent)
            db = spd * (t1 - ent)
            np.minimum(da, big, out=da)
            np.minimum(db, big, out=db)
            lo = np.where(fwd, da, big - db)
            hi = np.where(fwd, db, big - da)
            users += np.bincount(
                np.searchsorted(self._pole_sorted, lo - r, "left"), minlength=n_p + 1
            )
            users -= np.bincount(
                np.searchsorted(self._pole_sorted, hi + r, "right"), minlength=n_p + 1
            )
            # a forward vehicle crosses stations in (lo, hi], a backward one in [lo, hi)
            side_lo = np.searchsorted(self._count_sorted, lo, "right")
            side_lo_b = np.searchsorted(self._count_sorted, lo, "left")
            side_hi = np.searchsorted(self._count_sorted, hi, "right")
            side_hi_b = np.searchsorted(self._count_sorted, hi, "left")
            counts += np.bincount(np.where(fwd, side_lo, side_lo_b), minlength=n_c + 1)
            counts -= np.bincount(np.where(fwd, side_hi, side_hi_b), minlength=n_c + 1)
            gone = db >= big
            if gone.any():
                keep = ~gone
                self._enter, self._speed, self._fwd = ent[keep], spd[keep], fwd[keep]
        per_pole = np.empty(n_p, dtype=np.int64)
        per_pole[self._pole_order] = np.cumsum(users)[:-1]
        per_count = np.empty(n_c, dtype=np.int64)
        per_count[self._count_order] = np.cumsum(counts)[:-1]
        return TrafficStep(per_pole, per_count, arrivals)

    @property
    def on_section(self) -> int:
        """Vehicles on the section now."""
        return int(self._enter.size)
