"""One cooperative site as a plant: soil water per plot, drip hydraulics, field sensors.

It satisfies ``twin.plant.PlantModel`` structurally (``sim`` does not import
``twin``). ``<p>`` is a plot id (``AL-H03-P1``), ``<s>`` the site id (``AL``).

Points
------
INPUT (sensors): ``agri/<p>/soil_vwc`` (m³/m³, 0..0.6), ``agri/<p>/flow_lpm``
(L/min), ``agri/<s>/pump_pressure_kpa`` (kPa), ``agri/<s>/et0_mm_d`` (mm/d,
yesterday's outdoor ET0 from the station), ``agri/<s>/rain_mm`` (mm over the
last step), ``agri/<s>/forecast_rain_mm`` (mm in the next 24 h),
``agri/<s>/forecast_prob`` (0..1).
OUTPUT (actuators): ``agri/<p>/valve_open`` (bool), ``agri/<s>/pump_on`` (bool).

One step ``(t_prev, t]``
------------------------
1. **Hydraulics** (:mod:`sim.agri.hydraulics`): the commanded valves and pump
   give the operating point; each plot receives ``Q·dt`` litres, of which the
   application efficiency (drip 0.9) reaches the root zone; the rest is lost
   (wetted-surface evaporation, non-uniformity). Pump energy is metered.
2. **Soil water** (:mod:`sim.agri.water_balance`), every ``balance_step_s`` and
   at each local midnight: ET0 of the local day spread over the day in
   proportion to the global radiation, times Kc (FAO-56); rain from the
   series; Ks from the depletion at the start of the interval. Net-house plots
   see ``net_house_et_factor`` × ET0 (shade and shelter).
3. **Crop cycles**: each plot's crop starts on its planting date and, with
   ``repeat_gap_d``, is replanted that many days after each harvest (root zone
   back to Zr min, :meth:`RootZoneBalance.replant`). A plot is *in season*
   from planting to harvest; stress and yield are counted only then.
4. **Sensors**: soil probes every ``probe.period_s`` read the root-zone
   θ with a fixed per-probe bias and noise; flow meters and the pressure
   transmitter each step with noise; the rain gauge the series' rain of the
   step; the station's ET0 of the previous day at 00:05 local; a rain forecast
   (:class:`~sim.weather.forecast.RainForecaster`) at ``forecast_hours``.
   Faults: a probe can be ``dead`` (BAD) or ``stuck``; the hydraulics faults
   are those of :class:`~sim.agri.hydraulics.IrrigationHydraulics`.

KPIs (:meth:`AgriPlant.kpis`): water delivered per site and household (m³),
pump energy (kWh) and hours, in-season plot-days, stress days (an in-season
plot-day whose actual ET fell more than 1 % short of the crop's ET, i.e. Ks < 1
for part of the day), the FAO-33 yield-loss proxy ``Ky (1 − ΣETa/ΣETc)``
per plot (area-weighted), deep percolation and rain (mm, area-weighted).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from controllers.io import Direction, PointSpec, Quality, Sample, ValueType
from sim.agri.crops import CROPS
from sim.agri.et0 import et0_daily_from_weather
from sim.agri.fertigation import FertigationTank, TankSpec
from sim.agri.hydraulics import IrrigationHydraulics, OperatingPoint
from sim.agri.microclimate import DEFAULT_MIST_LPM_PER_M2, NetHouseClimate
from sim.agri.sites import Site
from sim.agri.water_balance import RootZoneBalance
from sim.weather.forecast import RainForecaster
from sim.weather.series import LOCAL_TZ, WeatherDataError, WeatherSeries

__all__ = [
    "FALLOW_ET_FACTOR",
    "SITE_TANK",
    "YIELD_RESPONSE_KY",
    "AgriPlant",
    "AgriPlantConfig",
    "ProbeSpec",
]

_DAY = 86_400.0

#: ET multiplier of a fallow plot (bare soil whose surface has dried; FAO-56 Kc of
#: bare soil with infrequent wetting is ~0.3, est.): without it a plot waiting for
#: its planting dried out as if a mature crop stood on it.
FALLOW_ET_FACTOR = 0.3

#: The cooperatives' nutrient tank (est.): 10 m³ so that the ~290 L/min drip main
#: turns it over in about 35 min, a float valve that outruns the main, dosing
#: pumps sized so one 20 s pulse moves EC by ~0.08 mS/cm and pH by ~0.1-0.2,
#: enough to follow the full draw of the main with pulses a third of the time.
SITE_TANK = TankSpec(
    capacity_l=10_000.0, refill_lpm=450.0, nutrient_pump_lpm=8.0, acid_pump_lpm=3.0
)

#: FAO-33 yield response factors Ky over the whole season (Doorenbos & Kassam
#: 1979: cabbage 0.95; lettuce and water spinach taken like other leafy
#: vegetables, chrysanthemum (est.)).
YIELD_RESPONSE_KY: dict[str, float] = {
    "lettuce": 1.0,
    "mustard_greens": 0.95,
    "water_spinach": 1.0,
    "chrysanthemum": 1.0,
}


@dataclass(frozen=True)
class ProbeSpec:
    """Soil-moisture probes (capacitance type, one per plot, spanning the root zone).

    period_s: reading interval (s). bias_sd: per-probe calibration offset, drawn
    once (m³/m³; site-calibrated capacitance probes ±0.01–0.03, est.).
    noise_sd: reading noise (m³/m³).
    """

    period_s: float = 600.0
    bias_sd: float = 0.01
    noise_sd: float = 0.004


@dataclass(frozen=True)
class AgriPlantConfig:
    """Settings of :class:`AgriPlant` (units in the names; see the module docstring).

    elevation_m: site elevation for ET0. application_efficiency: share of the
    delivered water that reaches the root zone (0..1]. net_house_et_factor:
    ET0 multiplier under a shade net (est. 0.75: ~50 % shade cloth cuts
    radiation and wind). repeat_gap_d: days fallow between cycles (None = one
    cycle only). forecast_hours: local hours at which a forecast is issued.
    flow_noise: relative sd of the flow meters. pressure_noise_kpa: sd of the
    pressure transmitter. stress_tolerance: ETa/ETc shortfall that makes a
    stress day. initial_depletion_fraction: root-zone depletion at the start
    as a share of TAW (0 = field capacity). meter_period_s: how often flows,
    pressure and rain are reported (s, a multiple of ``step_s``; the rain is the
    total since the last report). net_house_climate: simulate the air of the
    net houses and their mist nozzles (:mod:`sim.agri.microclimate`).
    fertigation: simulate the nutrient tank (:mod:`sim.agri.fertigation`).
    heat_threshold_c: net-house air temperature above which heat is counted
    in degree-hours (°C·h; chrysanthemum quality suffers above ~32 °C, est.).
    """

    step_s: float = 60.0
    balance_step_s: float = 600.0
    elevation_m: float = 10.0
    application_efficiency: float = 0.9
    net_house_et_factor: float = 0.75
    repeat_gap_d: float | None = 7.0
    forecast_hours: tuple[float, ...] = (1.0, 7.0, 13.0, 19.0)
    probe: ProbeSpec = field(default_factory=ProbeSpec)
    flow_noise: float = 0.01
    pressure_noise_kpa: float = 1.0
    stress_tolerance: float = 0.01
    initial_depletion_fraction: float = 0.0
    meter_period_s: float = 60.0
    net_house_climate: bool = False
    fertigation: bool = False
    heat_threshold_c: float = 32.0

    def __post_init__(self) -> None:
        ratio = self.meter_period_s / self.step_s
        if not (ratio >= 1.0 and abs(ratio - round(ratio)) < 1e-9):
            raise ValueError("AgriPlantConfig.meter_period_s must be a multiple of step_s")
        if not 0.0 <= self.initial_depletion_fraction <= 1.0:
            raise ValueError("AgriPlantConfig.initial_depletion_fraction must be in [0, 1]")
        if not (self.step_s > 0 and self.balance_step_s >= self.step_s):
            raise ValueError("AgriPlantConfig: need step_s > 0 and balance_step_s >= step_s")
        if not 0.0 < self.application_efficiency <= 1.0:
            raise ValueError("AgriPlantConfig.application_efficiency must be in (0, 1]")
        if not 0.0 < self.net_house_et_factor <= 1.5:
            raise ValueError("AgriPlantConfig.net_house_et_factor must be in (0, 1.5]")
        if self.repeat_gap_d is not None and not self.repeat_gap_d >= 0:
            raise ValueError("AgriPlantConfig.repeat_gap_d must be >= 0 days or None")
        if not all(0.0 <= h < 24.0 for h in self.forecast_hours):
            raise ValueError("AgriPlantConfig.forecast_hours must be local hours in [0, 24)")


class AgriPlant:
    """Soil, crops, drip hydraulics and sensors of one cooperative site.

    Args:
        site: the site (:func:`sim.agri.sites.load_sites`).
        weather: the true weather; it must cover the run and the day before.
        run_start: aware datetime of run time 0.
        rng: the generator of this plant's random streams (probe bias and
            noise, meters, the forecast).
        config: settings (default :class:`AgriPlantConfig`).
        name: plant name (default ``agri/<site id>``).
    """

    def __init__(
        self,
        site: Site,
        weather: WeatherSeries,
        *,
        run_start: datetime,
        rng: np.random.Generator,
        config: AgriPlantConfig | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(site, Site):
            raise TypeError(f"site must be a sim.agri.sites.Site, got {type(site).__name__}")
        if not isinstance(weather, WeatherSeries):
            raise TypeError(f"weather must be a WeatherSeries, got {type(weather).__name__}")
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator")
        self.site = site
        self.weather = weather
        self.config = cfg = config or AgriPlantConfig()
        self.name = name or f"agri/{site.id}"
        self.step_s = float(cfg.step_s)
        self.rng = rng
        self.run_start = run_start.astimezone(LOCAL_TZ)
        self.offset_s = weather.seconds_since_start(self.run_start)
        self._plots = site.plots
        self.plot_ids = tuple(p.id for p in self._plots)
        self._plot_set = frozenset(self.plot_ids)
        n = len(self._plots)
        self.area_m2 = np.array([p.area_m2 for p in self._plots], dtype=float)
        self._crops = [CROPS[p.crop] for p in self._plots]
        self._season_d = np.array([c.season_length_days for c in self._crops])
        self._ky = np.array([YIELD_RESPONSE_KY.get(p.crop, 1.0) for p in self._plots])
        self._et_factor = np.array(
            [cfg.net_house_et_factor if p.net_house else 1.0 for p in self._plots]
        )
        self.hydraulics = IrrigationHydraulics.from_site(site)
        self.hydraulics.set_pump(False)
        # optional sub-models; the tank gets its own stream so the main one never shifts
        tank_rng = np.random.default_rng(int(rng.integers(2**63)))
        self._house_idx = np.array([i for i, p in enumerate(self._plots) if p.net_house], dtype=int)
        self.climate: NetHouseClimate | None = None
        if cfg.net_house_climate and self._house_idx.size:
            areas = self.area_m2[self._house_idx]
            self.climate = NetHouseClimate(areas, mist_flow_lpm=DEFAULT_MIST_LPM_PER_M2 * areas)
        self._house_ids = tuple(self.plot_ids[i] for i in self._house_idx)
        self._house_pos = {pid: k for k, pid in enumerate(self._house_ids)}
        self._mist_cmd = np.zeros(len(self._house_ids), dtype=bool)
        self._mist_deposited_l = np.zeros(len(self._house_ids))
        self._heat_house_h = 0.0
        self.tank: FertigationTank | None = (
            FertigationTank(tank_rng, tank=SITE_TANK) if cfg.fertigation else None
        )
        self._dose = {"nutrient": False, "acid": False}
        self._fert_water_l = 0.0
        self._fert_ec_l = 0.0
        self._fert_ph_ok_l = 0.0
        self._rain_since_report = 0.0
        self._next_meter_s = 0.0

        # weather precomputation: daily ET0 and the cumulative radiation (J/m²)
        dates, et0 = et0_daily_from_weather(weather, lat_deg=site.lat, elevation_m=cfg.elevation_m)
        self._et0_by_date: dict[date, float] = dict(
            zip(dates, (float(x) for x in et0), strict=True)
        )
        rad = weather.solar_radiation_wm2
        self._cum_rad = np.concatenate(
            ([0.0], np.cumsum(0.5 * (rad[1:] + rad[:-1]) * weather.step_s))
        )
        self._cum_rain = np.concatenate(([0.0], np.cumsum(weather.rain_mm)))
        self._rain_edges = (
            np.arange(len(weather) + 1, dtype=np.float64) * weather.step_s - weather.step_s
        )
        self._forecaster = RainForecaster(weather, rng)

        # crop state on the first day
        first = self.run_start.date()
        age, in_season = self._crop_ages(first)
        self._in_season = in_season
        self.balance = RootZoneBalance(
            self._crops,
            site.soil.theta_fc,
            site.soil.theta_wp,
            days_after_planting=np.where(in_season, age, self._season_d),
            theta_initial=site.soil.theta_fc
            - cfg.initial_depletion_fraction * (site.soil.theta_fc - site.soil.theta_wp),
        )
        # probes
        self._probe_bias = rng.normal(0.0, cfg.probe.bias_sd, n)
        self._probe_fault: dict[int, str] = {}
        self._probe_stuck: dict[int, float] = {}
        self._specs = self._declare()
        self._closed = False
        self._t: float | None = None
        # accumulators of the pending balance interval (mm per plot)
        self._pend_rain = 0.0
        self._pend_irr = np.zeros(n)
        self._pend_t0 = 0.0
        # day accumulators and history
        self._day_eta = np.zeros(n)
        self._day_etc = np.zeros(n)
        self._day_irr = np.zeros(n)
        self._day_rain = 0.0
        self._history: list[dict[str, Any]] = []
        self._season_eta = np.zeros(n)
        self._season_etc = np.zeros(n)
        self._stress_days = np.zeros(n)
        self._season_days = np.zeros(n)
        self._losses_l = np.zeros(n)
        self._samples: dict[str, Sample] = {}
        self._valves_cmd: set[str] = set()
        self._next_probe_s = 0.0
        self._next_forecast_s = 0.0
        self._op: OperatingPoint | None = None
        self._day_index = 0

    # ------------------------------------------------------------- crop calendar
    def _crop_ages(self, day: date) -> tuple[np.ndarray, np.ndarray]:
        """(days since the current cycle's planting, in-season mask) on local ``day``."""
        gap = self.config.repeat_gap_d
        age = np.array([(day - p.planted).days for p in self._plots], dtype=float)
        if gap is not None:
            period = self._season_d + gap
            age = np.where(age >= 0, np.mod(age, period), age)
        return age, (age >= 0) & (age < self._season_d)

    # ------------------------------------------------------------------ points
    def _declare(self) -> tuple[PointSpec, ...]:
        s = self.site.id
        specs: list[PointSpec] = []
        for pid in self.plot_ids:
            specs.append(
                PointSpec(f"agri/{pid}/soil_vwc", Direction.INPUT, "m3/m3", low=0.0, high=0.6)
            )
            specs.append(
                PointSpec(f"agri/{pid}/flow_lpm", Direction.INPUT, "L/min", low=0.0, high=500.0)
            )
        for leaf, unit, high in (
            ("pump_pressure_kpa", "kPa", 1000.0),
            ("et0_mm_d", "mm/d", 15.0),
            ("rain_mm", "mm", 500.0),
            ("forecast_rain_mm", "mm", 500.0),
            ("forecast_prob", "1", 1.0),
        ):
            specs.append(PointSpec(f"agri/{s}/{leaf}", Direction.INPUT, unit, low=0.0, high=high))
        if self.climate is not None:
            for pid in self._house_ids:
                specs.append(
                    PointSpec(f"agri/{pid}/air_temp_c", Direction.INPUT, "degC", low=-10, high=60)
                )
                specs.append(
                    PointSpec(f"agri/{pid}/air_rh_pct", Direction.INPUT, "%", low=0.0, high=100.0)
                )
        if self.tank is not None:
            specs += [
                PointSpec(f"agri/{s}/tank_ec_ms_cm", Direction.INPUT, "mS/cm", low=0.0, high=10.0),
                PointSpec(f"agri/{s}/tank_ph", Direction.INPUT, "1", low=0.0, high=14.0),
                PointSpec(f"agri/{s}/irrigating", Direction.INPUT, "", ValueType.BOOL),
            ]
        specs += [
            PointSpec(f"agri/{pid}/valve_open", Direction.OUTPUT, "", ValueType.BOOL)
            for pid in self.plot_ids
        ]
        specs.append(PointSpec(f"agri/{s}/pump_on", Direction.OUTPUT, "", ValueType.BOOL))
        if self.climate is not None:
            specs += [
                PointSpec(f"agri/{pid}/mist_on", Direction.OUTPUT, "", ValueType.BOOL)
                for pid in self._house_ids
            ]
        if self.tank is not None:
            specs += [
                PointSpec(f"agri/{s}/dose_nutrient_on", Direction.OUTPUT, "", ValueType.BOOL),
                PointSpec(f"agri/{s}/dose_acid_on", Direction.OUTPUT, "", ValueType.BOOL),
            ]
        return tuple(specs)

    def points(self) -> Sequence[PointSpec]:
        """Sensor points per plot and site, then the valves and the pump."""
        return self._specs

    # --------------------------------------------------------------- protocol
    def start(self, t0: float) -> None:
        """Start at run time ``t0`` (s); the weather must cover the day before."""
        self._check_open()
        ts = t0 + self.offset_s
        if ts - _DAY < -self.weather.step_s or ts > self.weather.end_s:
            raise WeatherDataError(
                f"agri plant {self.name}: the weather must cover run time {t0:g} s and the "
                "day before (yesterday's ET0)"
            )
        self._t = self._pend_t0 = float(t0)
        self._next_probe_s = float(t0)
        self._next_forecast_s = float(t0)
        self._next_meter_s = float(t0)
        self._day_index = self._local_day(t0)
        if self.climate is not None:
            wx = self._outside(t0)
            self.climate.reset(wx[0], wx[1])
        if self.tank is not None:
            self.tank = FertigationTank(self.tank.rng, tank=SITE_TANK, start_s=float(t0))
        self._op = self.hydraulics.operating_point()
        self._publish_et0(t0)
        self._publish(t0, t0)

    def actuate(self, values: Mapping[str, Any]) -> None:
        """Apply valve and pump commands (``agri/<p>/valve_open``, ``agri/<s>/pump_on``)."""
        self._check_open()
        changed = False
        for name, value in values.items():
            parts = name.split("/")
            if len(parts) != 3 or parts[0] != "agri":
                raise ValueError(f"{self.name}: not an actuator of this plant: {name!r}")
            if parts[2] == "valve_open" and parts[1] in self._plot_set:
                if bool(value) != (parts[1] in self._valves_cmd):
                    (self._valves_cmd.add if value else self._valves_cmd.discard)(parts[1])
                    self.hydraulics.set_valve(parts[1], bool(value))
                    changed = True
            elif parts[2] == "pump_on" and parts[1] == self.site.id:
                if bool(value) != self.hydraulics.pump_on:
                    self.hydraulics.set_pump(bool(value))
                    changed = True
            elif parts[2] == "mist_on" and parts[1] in self._house_pos and self.climate:
                self._mist_cmd[self._house_pos[parts[1]]] = bool(value)
            elif (
                parts[2] in ("dose_nutrient_on", "dose_acid_on")
                and parts[1] == self.site.id
                and self.tank is not None
            ):
                self._dose["nutrient" if parts[2] == "dose_nutrient_on" else "acid"] = bool(value)
            else:
                raise ValueError(f"{self.name}: not an actuator of this plant: {name!r}")
        if changed:
            self._op = self.hydraulics.operating_point()

    def advance(self, t: float) -> None:
        """Advance to run time ``t`` (s)."""
        self._check_open()
        if self._t is None:
            raise RuntimeError(f"{self.name}: call start(t0) before advance()")
        t = float(t)
        if t <= self._t:
            raise ValueError(f"{self.name}: advance({t:g}) does not move forward from {self._t:g}")
        if t + self.offset_s > self.weather.end_s + 1e-9:
            raise WeatherDataError(f"{self.name}: the weather ends before run time {t:g} s")
        t_prev = self._t
        # 1. hydraulics over the step (state constant)
        op = self._op or self.hydraulics.operating_point()
        dt = t - t_prev
        flows = np.array([q for _, q in op.flows_lpm])
        litres = flows * dt / 60.0
        self.hydraulics.volume_l += litres
        self.hydraulics.energy_kwh += op.power_kw * dt / 3600.0
        if op.power_kw > 0:
            self.hydraulics.run_time_s += dt
        eff = self.config.application_efficiency
        self._losses_l += litres * (1.0 - eff)
        irr_mm = litres * eff / self.area_m2
        if self.climate is not None:
            wx = self._outside(t_prev)
            self.climate.advance(dt, wx[0], wx[1], wx[2], wx[3], self._mist_cmd)
            deposited = self.climate.mist_deposited_l
            irr_mm[self._house_idx] += (deposited - self._mist_deposited_l) / self.area_m2[
                self._house_idx
            ]
            self._mist_deposited_l = deposited.copy()
            excess = np.maximum(self.climate.temp_c - self.config.heat_threshold_c, 0.0)
            self._heat_house_h += float(excess.sum()) * dt / 3600.0
        if self.tank is not None:
            drawn = float(litres.sum())
            if drawn > 0.0:
                self._fert_water_l += drawn
                self._fert_ec_l += self.tank.ec_ms_cm * drawn
                self._fert_ph_ok_l += drawn if 5.5 <= self.tank.ph <= 6.5 else 0.0
            self.tank.advance(dt, drawn, self._dose["nutrient"], self._dose["acid"])
        # 2. soil water, split at local midnights
        day_end = self._day_start(self._day_index + 1)
        seg_t0 = t_prev
        while day_end <= t:
            share = (day_end - seg_t0) / dt
            self._accumulate(seg_t0, day_end, irr_mm * share)
            self._flush(day_end)
            self._close_day(day_end)
            seg_t0 = day_end
            day_end = self._day_start(self._day_index + 1)
        if t > seg_t0:
            self._accumulate(seg_t0, t, irr_mm * (t - seg_t0) / dt)
        if t - self._pend_t0 >= self.config.balance_step_s - 1e-9:
            self._flush(t)
        self._t = t
        self._publish(t_prev, t, flows=flows, op=op)

    def sensors(self) -> Mapping[str, Sample]:
        """Samples that changed at the last advance (flows, pressure and rain every step)."""
        if self._t is None:
            raise RuntimeError(f"{self.name}: no samples before start(t0)")
        out, self._samples = self._samples, {}
        return out

    def close(self) -> None:
        """Nothing to release; later calls are refused."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{self.name} is closed")

    # ------------------------------------------------------------------ time
    def _local_day(self, t: float) -> int:
        """Local day number (days since the run start's local midnight) at run time ``t``."""
        midnight = datetime.combine(self.run_start.date(), datetime.min.time(), LOCAL_TZ)
        return math.floor((t - (midnight - self.run_start).total_seconds()) / _DAY + 1e-12)

    def _day_start(self, day_index: int) -> float:
        """Run time (s) of the local midnight starting day ``day_index``."""
        midnight = datetime.combine(self.run_start.date(), datetime.min.time(), LOCAL_TZ)
        return (midnight - self.run_start).total_seconds() + day_index * _DAY

    def _date(self, day_index: int) -> date:
        return self.run_start.date() + timedelta(days=day_index)

    def _outside(self, t: float) -> tuple[float, float, float, float]:
        """Outside air temperature (°C), RH (%), wind (m/s), irradiance (W/m²) at run time t."""
        wx = self.weather.at(t + self.offset_s)
        return (
            wx["air_temp_c"],
            wx["rel_humidity_pct"],
            wx["wind_speed_mps"],
            wx["solar_radiation_wm2"],
        )

    def _rain_between(self, t0: float, t1: float) -> float:
        """Rain (mm) over run times (t0, t1], exact like ``WeatherSeries.rain_between``."""
        a, b = np.interp([t0 + self.offset_s, t1 + self.offset_s], self._rain_edges, self._cum_rain)
        return max(float(b - a), 0.0)

    def _rad_between(self, t0: float, t1: float) -> float:
        grid = self.weather.time_s
        a, b = np.interp([t0 + self.offset_s, t1 + self.offset_s], grid, self._cum_rad)
        return float(b - a)

    # -------------------------------------------------------------- soil water
    def _accumulate(self, t0: float, t1: float, irr_mm: np.ndarray) -> None:
        self._pend_rain += self._rain_between(t0, t1)
        self._pend_irr += irr_mm
        self._day_irr += irr_mm

    def _flush(self, t: float) -> None:
        """Apply the pending interval ``(pend_t0, t]`` to the root-zone balance."""
        t0 = self._pend_t0
        if t <= t0:
            return
        d = self._day_index
        et0_day = self._et0_by_date.get(self._date(d))
        if et0_day is None:
            raise WeatherDataError(f"{self.name}: no complete weather day {self._date(d)}")
        day_rad = self._rad_between(self._day_start(d), self._day_start(d + 1))
        share = self._rad_between(t0, t) / day_rad if day_rad > 0 else (t - t0) / _DAY
        # a fallow bed (before planting, between cycles) only loses its dried top layer
        factor = self._et_factor * np.where(self._in_season, 1.0, FALLOW_ET_FACTOR)
        et0 = et0_day * share * factor
        rec = self.balance.advance(
            (t - t0) / _DAY,
            et0,
            self._pend_rain,
            self._pend_irr,
            et0_day_mm=et0_day * factor,
        )
        self._day_eta += rec.eta
        self._day_etc += rec.etc
        self._day_rain += self._pend_rain
        self._pend_rain = 0.0
        self._pend_irr = np.zeros_like(self._pend_irr)
        self._pend_t0 = t

    def _close_day(self, midnight: float) -> None:
        """Book the finished local day, start the next: stress, history, replanting."""
        ins = self._in_season
        short = self._day_eta < (1.0 - self.config.stress_tolerance) * self._day_etc
        self._stress_days += ins & short
        self._season_days += ins
        self._season_eta += np.where(ins, self._day_eta, 0.0)
        self._season_etc += np.where(ins, self._day_etc, 0.0)
        self._history.append(
            {
                "date": self._date(self._day_index),
                "in_season": ins.copy(),
                "eta_mm": self._day_eta.copy(),
                "etc_mm": self._day_etc.copy(),
                "irrigation_mm": self._day_irr.copy(),
                "rain_mm": self._day_rain,
                "depletion_mm": self.balance.depletion_mm,
                "taw_mm": self.balance.taw_mm,
            }
        )
        self._day_eta[:] = 0.0
        self._day_etc[:] = 0.0
        self._day_irr[:] = 0.0
        self._day_rain = 0.0
        self._day_index += 1
        age, in_season = self._crop_ages(self._date(self._day_index))
        self.balance.replant((age >= 0) & (age < 1))  # the cycle's first day
        self._in_season = in_season
        self._publish_et0(midnight)

    # ------------------------------------------------------------------ sensors
    def _publish_et0(self, t: float) -> None:
        yesterday = self._date(self._local_day(t) - 1)
        value = self._et0_by_date.get(yesterday)
        name = f"agri/{self.site.id}/et0_mm_d"
        if value is None:
            self._samples[name] = Sample(None, Quality.BAD, t)
        else:
            self._samples[name] = Sample(round(value, 2), Quality.GOOD, t)

    def _publish(
        self,
        t_prev: float,
        t: float,
        flows: np.ndarray | None = None,
        op: OperatingPoint | None = None,
    ) -> None:
        cfg, s, rng, out = self.config, self.site.id, self.rng, self._samples
        n = len(self.plot_ids)
        flows = np.zeros(n) if flows is None else flows
        op = op or self.hydraulics.operating_point()
        self._rain_since_report += self._rain_between(t_prev, t) if t > t_prev else 0.0
        if t >= self._next_meter_s - 1e-9:
            self._next_meter_s = t + cfg.meter_period_s
            metered = np.maximum(flows * (1.0 + cfg.flow_noise * rng.standard_normal(n)), 0.0)
            for pid, q in zip(self.plot_ids, metered, strict=True):
                out[f"agri/{pid}/flow_lpm"] = Sample(round(float(q), 2), Quality.GOOD, t)
            pressure = max(
                op.manifold_pressure_kpa + cfg.pressure_noise_kpa * rng.standard_normal(), 0.0
            )
            out[f"agri/{s}/pump_pressure_kpa"] = Sample(round(pressure, 1), Quality.GOOD, t)
            out[f"agri/{s}/rain_mm"] = Sample(round(self._rain_since_report, 3), Quality.GOOD, t)
            self._rain_since_report = 0.0
        if self.climate is not None:
            temp, rh = self.climate.temp_c, self.climate.rh_pct
            for k, pid in enumerate(self._house_ids):
                out[f"agri/{pid}/air_temp_c"] = Sample(round(float(temp[k]), 2), Quality.GOOD, t)
                out[f"agri/{pid}/air_rh_pct"] = Sample(round(float(rh[k]), 1), Quality.GOOD, t)
        if self.tank is not None:
            out.update(self.tank.samples(s))
            out[f"agri/{s}/irrigating"] = Sample(bool(flows.sum() > 0.0), Quality.GOOD, t)
        if t >= self._next_probe_s - 1e-9:
            self._next_probe_s = t + cfg.probe.period_s
            self._read_probes(t)
        if t >= self._next_forecast_s - 1e-9:
            self._issue_forecast(t)

    def _read_probes(self, t: float) -> None:
        theta = self.balance.soil_moisture_vwc()
        noise = self.config.probe.noise_sd * self.rng.standard_normal(theta.size)
        reading = np.clip(theta + self._probe_bias + noise, 0.0, 0.6)
        for i, pid in enumerate(self.plot_ids):
            name = f"agri/{pid}/soil_vwc"
            fault = self._probe_fault.get(i)
            if fault == "dead":
                self._samples[name] = Sample(None, Quality.BAD, t)
            elif fault == "stuck":
                self._samples[name] = Sample(self._probe_stuck[i], Quality.GOOD, t)
            else:
                self._samples[name] = Sample(round(float(reading[i]), 4), Quality.GOOD, t)

    def _issue_forecast(self, t: float) -> None:
        fc = self._forecaster.issue(t + self.offset_s)
        s = self.site.id
        self._samples[f"agri/{s}/forecast_rain_mm"] = Sample(round(fc.rain_mm, 1), Quality.GOOD, t)
        self._samples[f"agri/{s}/forecast_prob"] = Sample(round(fc.prob, 3), Quality.GOOD, t)
        # the next issue hour
        local = self.run_start + timedelta(seconds=t)
        hour = local.hour + local.minute / 60.0 + local.second / 3600.0
        hours = sorted(self.config.forecast_hours)
        later = [h for h in hours if h > hour + 1e-9]
        wait_h = (later[0] - hour) if later else (24.0 - hour + hours[0])
        self._next_forecast_s = t + wait_h * 3600.0

    # ------------------------------------------------------------------ faults
    def fail_probe(self, plot_id: str, mode: str | None) -> None:
        """A soil probe fault: ``dead`` (BAD samples), ``stuck`` (frozen at the
        last reading) or None (repaired)."""
        i = self.plot_ids.index(plot_id)
        if mode is None:
            self._probe_fault.pop(i, None)
            return
        if mode not in ("dead", "stuck"):
            raise ValueError(f"probe fault mode must be 'dead', 'stuck' or None, got {mode!r}")
        self._probe_fault[i] = mode
        self._probe_stuck[i] = float(self.balance.soil_moisture_vwc()[i] + self._probe_bias[i])

    def hydraulics_changed(self) -> None:
        """Call after injecting a hydraulics fault so the next step uses it."""
        self._op = self.hydraulics.operating_point()

    # ------------------------------------------------------------------ results
    @property
    def history(self) -> list[dict[str, Any]]:
        """One record per finished local day (arrays per plot, in ``plot_ids`` order)."""
        return list(self._history)

    def kpis(self) -> dict[str, Any]:
        """Totals since the start (module docstring); finished days only for crop figures."""
        area = self.area_m2
        total_area = float(area.sum())
        water_l = self.hydraulics.volume_l
        households: dict[str, float] = {}
        for p, litres in zip(self._plots, water_l, strict=True):
            households[p.household_id] = households.get(p.household_id, 0.0) + float(litres) / 1e3
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.where(self._season_etc > 0, self._season_eta / self._season_etc, 1.0)
        loss = self._ky * (1.0 - rel)
        ledger = self.balance.ledger()
        in_season = float(self._season_days.sum())
        return {
            "site": self.site.id,
            "days": len(self._history),
            "water_m3": float(water_l.sum()) / 1e3,
            "water_mm": float(water_l.sum()) / total_area,
            "water_m3_by_household": dict(sorted(households.items())),
            "pump_energy_kwh": float(self.hydraulics.energy_kwh),
            "pump_hours": float(self.hydraulics.run_time_s) / 3600.0,
            "in_season_plot_days": in_season,
            "stress_days": float(self._stress_days.sum()),
            "stress_day_share": float(self._stress_days.sum()) / in_season if in_season else 0.0,
            "yield_loss_proxy": float(np.sum(loss * area) / total_area),
            "deep_percolation_mm": float(np.sum(ledger.dp * area) / total_area),
            "application_losses_m3": float(self._losses_l.sum()) / 1e3,
            "eta_mm": float(np.sum(self._season_eta * area) / total_area),
            "etc_mm": float(np.sum(self._season_etc * area) / total_area),
            "rain_mm": float(ledger.rain.mean()),
            **self._sub_model_kpis(),
        }

    def _sub_model_kpis(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.climate is not None:
            houses = max(len(self._house_ids), 1)
            out["mist_water_m3"] = float(self.climate.mist_water_l.sum()) / 1e3
            out["heat_degree_hours_per_house"] = self._heat_house_h / houses
        if self.tank is not None:
            water = self._fert_water_l
            out["fertiliser_kg"] = self.tank.fertiliser_g / 1e3
            out["fertiliser_delivered_kg"] = self.tank.nutrient_supplied_g / 1e3
            out["acid_l"] = self.tank.acid_ml / 1e3
            out["delivered_ec_ms_cm"] = self._fert_ec_l / water if water else float("nan")
            out["delivered_ph_in_band"] = self._fert_ph_ok_l / water if water else float("nan")
        return out
