"""The street-lighting plant of the Hùng Vương pilot.

It satisfies ``twin.plant.PlantModel`` structurally (``sim`` does not import
``twin``): ``name = "lighting"``, ``step_s``, ``points()``, ``start(t0)``,
``actuate(values)``, ``advance(t)``, ``sensors()`` (by exception), ``close()``.
Road data of the default layout © OpenStreetMap contributors (ODbL).

Points (names exact, ``<p>`` pole id, ``<c>`` cabinet id; see
/tmp/lighting_contract.md and :func:`point_specs`)
----------------------------------------------------------------------------
INPUT: ``light/<p>/motion`` (BOOL), ``light/<p>/power_w`` (W), ``light/<p>/link_ok``
(BOOL), ``light/<c>/ambient_lx`` (lx), ``light/<c>/rain_mm_h`` (mm/h),
``light/<c>/volume_veh_h`` (veh/h), ``light/<c>/supply_ok`` (BOOL),
``light/<c>/power_w`` (W), ``light/<c>/energy_kwh`` (kWh).
OUTPUT (applied here): ``light/<p>/dim_pct`` (%, 0..100), ``light/<p>/fault`` (text).

One step ``(t_prev, t]``
------------------------
1. **Command**: the last ``dim_pct`` of each pole / 100 (``initial_dim_pct``
   before any), clamped by the luminaire (:meth:`LuminaireModel.clamp_level`:
   0 = off, below ``min_level`` raised to it; HPS: on/off only).
2. **Faults** in effect for the step (:mod:`sim.lighting.faults`) and
   cabinets tripped by flood water: a failed driver runs at its stuck level
   when on, a welded relay burns at full when commanded off, a failed lamp
   gives no light and ``failed_lamp_w``, a cabinet without mains gives 0 W and
   no light on all its poles.
3. **Light** = level × lumen maintenance at the pole's burning hours (see
   :mod:`sim.lighting.luminaire`); **power** from the driver curve; burning
   hours grow by the step while the light is > 0. Power is constant over the
   step; the energy registers integrate it exactly.
4. **Sensors**: motion from the road users seen during the step (the
   synthetic traffic model, or positions given to :meth:`observe_road_users`);
   the cabinet photocell from the sun elevation at ``t`` and the clouds/rain
   (or the weather series' irradiance); the rain gauge from the series' mean
   intensity over the step (or ``rain_mm_h``); vehicle counts per cabinet
   segment in 15-min bins; meters with noise.
5. **Links**: a pole's link is down for a step when its cabinet has no mains,
   by an injected ``link_down`` fault, or at random with ``link_loss_prob``.
   Then ``link_ok`` is False and ``power_w`` BAD. ``motion`` stays GOOD while
   the node has mains: the pole-level controller runs on the node and sees its
   own sensor; it is BAD when the node is unpowered. The cabinet gateway (on a
   UPS) keeps reporting its points through a supply loss.
6. Samples that changed are reported (all after ``start``).

Commanded dim levels are the node's own output (the pole-level controller
runs on the node), so they are applied whatever the link state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from controllers.io import Direction, PointSpec, Quality, Sample, ValueType
from sim.lighting.faults import FAULT_KINDS, Fault, FaultError, FloodTrip, active_faults
from sim.lighting.layout import LightingLayout, hung_vuong_layout
from sim.lighting.luminaire import LuminaireModel, luminaire_by_name
from sim.lighting.sensors import (
    AmbientLightSensor,
    MotionSensors,
    PowerMeters,
    RainGauge,
    TrafficCounters,
    clear_sky_global_wm2,
    cloud_transmittance,
    daylight_lx_scalar,
    rain_transmittance,
)
from sim.lighting.traffic_profile import HUNG_VUONG_AADT, SyntheticTraffic, hung_vuong_volumes
from sim.weather import LOCAL_TZ, WeatherSeries, solar_elevation_deg

__all__ = [
    "LUMINAIRE_TYPES",
    "TRAFFIC_SOURCES",
    "LightingHistory",
    "LightingPlant",
    "LightingPlantConfig",
    "point_specs",
]

LUMINAIRE_TYPES = ("led", "hps_fixed")
TRAFFIC_SOURCES = ("observed", "synthetic", "none")
_ALERT_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:."
_COUNT_WINDOW_M = 50.0  # half-window (m) for counts estimated from positions without ids
_SUN_KNOT_S = 300.0  # solar elevation computed every 5 min, interpolated in between
_ON_ROAD_M = 20.0  # road users farther than this from the centreline are not on the section


@dataclass(frozen=True)
class LightingPlantConfig:
    """How to run the lighting plant (validated on construction).

    Attributes:
        start: aware datetime of run time 0 (local time Asia/Ho_Chi_Minh or any zone).
        step_s: the kernel's exchange interval (s, > 0).
        luminaire: ``"led"`` (dimmable) or ``"hps_fixed"`` (on/off only).
        luminaire_model: a model replacing the type's default (its ``kind``
            must match ``luminaire``), e.g. ``hps_250w(10.0)`` or ``led_100w(120)``.
        layout: the poles and cabinets; None = :func:`hung_vuong_layout`.
        initial_hours_h: burning hours of every lamp at the start (h, >= 0).
        initial_dim_pct: node level before the first command (%, 0..100).
        traffic: ``"observed"`` (positions from :meth:`LightingPlant.observe_road_users`),
            ``"synthetic"`` (:class:`~sim.lighting.traffic_profile.SyntheticTraffic`)
            or ``"none"``.
        aadt_veh_day, pedestrians_per_day: synthetic traffic volumes.
        motion_radius_m, motion_p_detect, motion_false_per_h: motion sensors.
        link_loss_prob: probability a pole's link is down in a step (0..1).
        meter_gain_sd, meter_noise_sd: meter gain error and reading noise (fractions).
        ambient_noise_frac: photocell relative noise (0..0.5).
        rain_bucket_mm: rain-gauge tip (mm; 0 = read the true rate).
        weather: a weather series (irradiance and rain); None = ``cloud_cover``
            and ``rain_mm_h``. Series time = run time + (start - series.start).
        cloud_cover: cloud cover (0..1) without a series.
        rain_mm_h: rain intensity (mm/h, >= 0) without a series.
        cabinet_plinth_m: plinth height(s) for the flood trip (m, > 0).
        cabinet_overhead_w: gateway and contactor power of a cabinet with mains (W).
        counter_bin_s: traffic-counter bin (s).
        record_period_s: history period (s, > 0), None = no history.
        seed: seed of the plant's generator when none is passed in.
    """

    start: datetime
    step_s: float = 60.0
    luminaire: str = "led"
    luminaire_model: LuminaireModel | None = None
    layout: LightingLayout | None = None
    initial_hours_h: float = 0.0
    initial_dim_pct: float = 0.0
    traffic: str = "observed"
    aadt_veh_day: float = HUNG_VUONG_AADT
    pedestrians_per_day: float = 1500.0
    motion_radius_m: float = 15.0
    motion_p_detect: float = 0.95
    motion_false_per_h: float = 0.2
    link_loss_prob: float = 0.01
    meter_gain_sd: float = 0.005
    meter_noise_sd: float = 0.005
    ambient_noise_frac: float = 0.05
    rain_bucket_mm: float = 0.2
    weather: WeatherSeries | None = None
    cloud_cover: float = 0.0
    rain_mm_h: float = 0.0
    cabinet_plinth_m: float | Mapping[str, float] = 0.3
    cabinet_overhead_w: float = 5.0
    counter_bin_s: float = 900.0
    record_period_s: float | None = 300.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.start, datetime) and self.start.utcoffset() is not None):
            _fail(
                "start",
                self.start,
                "must be a timezone-aware datetime",
                "e.g. datetime(2025, 1, 1, 18, tzinfo=LOCAL_TZ)",
            )
        _num("step_s", self.step_s, 0.0, math.inf, "60 s", low_open=True)
        if self.luminaire not in LUMINAIRE_TYPES:
            _fail("luminaire", self.luminaire, "is unknown", "'led' or 'hps_fixed'")
        m = self.luminaire_model
        if m is not None:
            if not isinstance(m, LuminaireModel):
                _fail("luminaire_model", m, "is not a LuminaireModel", "hps_250w() or led_100w()")
            want = "hps" if self.luminaire == "hps_fixed" else "led"
            if m.kind != want:
                _fail(
                    "luminaire_model",
                    m.name,
                    f"is a {m.kind!r} model but luminaire is {self.luminaire!r}",
                    f"give a {want} model",
                )
        if self.layout is not None and not isinstance(self.layout, LightingLayout):
            _fail("layout", self.layout, "is not a LightingLayout", "None or hung_vuong_layout()")
        _num("initial_hours_h", self.initial_hours_h, 0.0, 1e6, "0 h for new lamps")
        _num("initial_dim_pct", self.initial_dim_pct, 0.0, 100.0, "0 (off) or 100")
        if self.traffic not in TRAFFIC_SOURCES:
            _fail("traffic", self.traffic, "is unknown", "'observed', 'synthetic' or 'none'")
        _num("aadt_veh_day", self.aadt_veh_day, 0.0, 1e6, "20000 veh/day", low_open=True)
        _num("pedestrians_per_day", self.pedestrians_per_day, 0.0, 1e6, "1500")
        _num("motion_radius_m", self.motion_radius_m, 0.0, 100.0, "15 m", low_open=True)
        _num("motion_p_detect", self.motion_p_detect, 0.0, 1.0, "0.95")
        _num("motion_false_per_h", self.motion_false_per_h, 0.0, 3600.0, "0.2 per hour")
        _num("link_loss_prob", self.link_loss_prob, 0.0, 1.0, "0.01")
        _num("meter_gain_sd", self.meter_gain_sd, 0.0, 0.1, "0.005")
        _num("meter_noise_sd", self.meter_noise_sd, 0.0, 0.1, "0.005")
        _num("ambient_noise_frac", self.ambient_noise_frac, 0.0, 0.5, "0.05")
        _num("rain_bucket_mm", self.rain_bucket_mm, 0.0, 10.0, "0.2 mm")
        if self.weather is not None and not isinstance(self.weather, WeatherSeries):
            _fail("weather", self.weather, "is not a WeatherSeries", "None or a series")
        _num("cloud_cover", self.cloud_cover, 0.0, 1.0, "0 (clear) .. 1 (overcast)")
        _num("rain_mm_h", self.rain_mm_h, 0.0, 500.0, "0 mm/h")
        plinth = self.cabinet_plinth_m
        values = plinth.values() if isinstance(plinth, Mapping) else [plinth]
        for v in values:
            _num("cabinet_plinth_m", v, 0.0, 5.0, "0.3 m", low_open=True)
        _num("cabinet_overhead_w", self.cabinet_overhead_w, 0.0, 1000.0, "5 W")
        _num("counter_bin_s", self.counter_bin_s, 0.0, 86400.0, "900 s", low_open=True)
        if self.record_period_s is not None:
            _num(
                "record_period_s",
                self.record_period_s,
                0.0,
                math.inf,
                "300 s or None",
                low_open=True,
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            _fail("seed", self.seed, "must be an integer >= 0", "e.g. 0")


def _fail(name: str, value: Any, problem: str, hint: str) -> None:
    raise ValueError(f"LightingPlantConfig.{name} = {value!r} {problem}. Hint: {hint}")


def _num(name: str, value: Any, lo: float, hi: float, hint: str, low_open: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value > hi or value < lo or (low_open and value == lo):
        bound = f"({lo:g}, {hi:g}]" if low_open else f"[{lo:g}, {hi:g}]"
        _fail(name, value, f"is outside {bound}", hint)


def point_specs(layout: LightingLayout, step_s: float) -> tuple[PointSpec, ...]:
    """The contract's points for ``layout``: per pole, then per cabinet.

    Sensor samples read UNCERTAIN after 3 steps and BAD after 10 without a
    fresh value (a plant that stops stepping ages).
    """
    stale, bad = 3.0 * step_s, 10.0 * step_s
    specs: list[PointSpec] = []
    inp, out = Direction.INPUT, Direction.OUTPUT
    for p in layout.poles:
        b = f"light/{p.id}"
        specs += [
            PointSpec(
                f"{b}/motion",
                inp,
                "",
                ValueType.BOOL,
                None,
                None,
                stale,
                bad,
                description=f"road user detected by {p.id} during the last step",
            ),
            PointSpec(
                f"{b}/power_w",
                inp,
                "W",
                ValueType.FLOAT,
                0.0,
                2000.0,
                stale,
                bad,
                description=f"metered active power of {p.id}",
            ),
            PointSpec(
                f"{b}/link_ok",
                inp,
                "",
                ValueType.BOOL,
                None,
                None,
                stale,
                bad,
                description=f"link of the {p.id} node",
            ),
            PointSpec(
                f"{b}/dim_pct",
                out,
                "%",
                ValueType.FLOAT,
                0.0,
                100.0,
                description=f"commanded light level of {p.id} (0 = off)",
            ),
            PointSpec(
                f"{b}/fault",
                out,
                "",
                ValueType.STR,
                choices=_ALERT_CHARS,
                description=f"controller alert code of {p.id} ('' = none)",
            ),
        ]
    for c in layout.cabinets:
        b = f"light/{c.id}"
        specs += [
            PointSpec(
                f"{b}/ambient_lx",
                inp,
                "lx",
                ValueType.FLOAT,
                0.0,
                150_000.0,
                stale,
                bad,
                description=f"photocell of {c.id}",
            ),
            PointSpec(
                f"{b}/rain_mm_h",
                inp,
                "mm/h",
                ValueType.FLOAT,
                0.0,
                500.0,
                stale,
                bad,
                description=f"rain intensity at {c.id}",
            ),
            PointSpec(
                f"{b}/volume_veh_h",
                inp,
                "veh/h",
                ValueType.FLOAT,
                0.0,
                20_000.0,
                stale,
                bad,
                description=f"vehicles on the {c.id} segment, last 15 min as veh/h",
            ),
            PointSpec(
                f"{b}/supply_ok",
                inp,
                "",
                ValueType.BOOL,
                None,
                None,
                stale,
                bad,
                description=f"mains at {c.id}",
            ),
            PointSpec(
                f"{b}/power_w",
                inp,
                "W",
                ValueType.FLOAT,
                0.0,
                100_000.0,
                stale,
                bad,
                description=f"{c.id} meter, active power",
            ),
            PointSpec(
                f"{b}/energy_kwh",
                inp,
                "kWh",
                ValueType.FLOAT,
                0.0,
                1e9,
                stale,
                bad,
                description=f"{c.id} meter, energy since start",
            ),
        ]
    return tuple(specs)


@dataclass(frozen=True)
class LightingHistory:
    """Recorded state at every ``record_period_s`` (arrays, row = record time).

    Attributes:
        t_s: run time of each record (s).
        pole_ids, cabinet_ids: column labels.
        level: clamped commanded level per pole (fraction 0..1, float32).
        light: actual light fraction per pole after faults and depreciation (float32).
        pole_power_w: true power per pole (W, float32).
        cabinet_power_w: true power per cabinet (W).
        cabinet_energy_kwh: true energy per cabinet since the start (kWh).
        ambient_lx: true horizontal daylight (lx).
    """

    t_s: NDArray[np.float64]
    pole_ids: tuple[str, ...]
    cabinet_ids: tuple[str, ...]
    level: NDArray[np.float32]
    light: NDArray[np.float32]
    pole_power_w: NDArray[np.float32]
    cabinet_power_w: NDArray[np.float64]
    cabinet_energy_kwh: NDArray[np.float64]
    ambient_lx: NDArray[np.float64]


class LightingPlant:
    """Poles, cabinets, sensors and faults of the pilot behind the plant protocol.

    Args:
        config: the run's settings.
        rng: the plant's random generator; None = ``default_rng(config.seed)``.
            Independent child streams are spawned from it for the motion
            sensors, links, meters, photocells and synthetic traffic.
    """

    name = "lighting"

    def __init__(self, config: LightingPlantConfig, rng: np.random.Generator | None = None) -> None:
        if not isinstance(config, LightingPlantConfig):
            raise TypeError(f"config must be a LightingPlantConfig, got {type(config).__name__}")
        self.config = config
        self.step_s = float(config.step_s)
        self.layout = config.layout if config.layout is not None else hung_vuong_layout()
        self.model = config.luminaire_model or luminaire_by_name(config.luminaire)
        lay = self.layout
        self.pole_ids = lay.pole_ids
        self.cabinet_ids = lay.cabinet_ids
        self._pole_index = {p: k for k, p in enumerate(self.pole_ids)}
        self._cab_index = {c: k for k, c in enumerate(self.cabinet_ids)}
        self._cab_of_pole = lay.cabinet_of_pole()
        n_p, n_c = len(self.pole_ids), len(self.cabinet_ids)
        base = rng if rng is not None else np.random.default_rng(config.seed)
        r_motion, r_link, r_meter, r_cab_meter, r_amb, r_traffic = base.spawn(6)
        self._rng_link = r_link
        self.motion = MotionSensors(
            lay.pole_array("x"),
            lay.pole_array("y"),
            r_motion,
            config.motion_radius_m,
            config.motion_p_detect,
            config.motion_false_per_h,
        )
        self.pole_meters = PowerMeters(n_p, r_meter, config.meter_gain_sd, config.meter_noise_sd)
        self.cabinet_meters = PowerMeters(
            n_c, r_cab_meter, config.meter_gain_sd, config.meter_noise_sd
        )
        self.photocells = AmbientLightSensor(n_c, r_amb, config.ambient_noise_frac)
        self.rain_gauges = RainGauge(n_c, config.rain_bucket_mm)
        local0 = config.start.astimezone(LOCAL_TZ)
        quarter = (
            local0.minute * 60 + local0.second + local0.microsecond / 1e6
        ) % config.counter_bin_s
        self.counters = TrafficCounters(n_c, config.counter_bin_s, origin_s=-quarter)
        self._count_st = np.array(
            [(c.station_start_m + c.station_end_m) / 2.0 for c in lay.cabinets]
        )
        self.traffic: SyntheticTraffic | None = None
        if config.traffic == "synthetic":
            self.traffic = SyntheticTraffic(
                hung_vuong_volumes(config.aadt_veh_day),
                config.start,
                lay.length_m,
                lay.pole_array("station_m"),
                self._count_st,
                r_traffic,
                zone_radius_m=config.motion_radius_m,
                pedestrians_per_day=config.pedestrians_per_day,
            )
        self.flood = FloodTrip(self.cabinet_ids, config.cabinet_plinth_m)
        self.faults: list[Fault] = []
        self._specs = point_specs(lay, self.step_s)
        self._outputs = {s.name: s for s in self._specs if s.direction is Direction.OUTPUT}
        # state
        self._cmd = np.full(n_p, config.initial_dim_pct / 100.0)
        self.hours = np.full(n_p, float(config.initial_hours_h))
        self._hours0 = self.hours.copy()
        self.level = np.zeros(n_p)
        self.light = np.zeros(n_p)
        self.power_w = np.zeros(n_p)
        self.cabinet_power_w = np.zeros(n_c)
        self.supply_ok = np.ones(n_c, dtype=bool)
        self.link_ok = np.ones(n_p, dtype=bool)
        self.ambient_lx = 0.0
        self.energy_wh = np.zeros(n_p)
        self.cabinet_energy_wh = np.zeros(n_c)
        self.burning_s = 0.0
        self._obs_users = np.zeros(n_p, dtype=np.int64)
        self._obs_counts = np.zeros(n_c)
        self._obs_prev: dict[str, float] = {}
        self._obs_t: float | None = None
        self._alerts = [""] * n_p
        self.alert_log: list[dict[str, Any]] = []
        self._detections: dict[int, dict[str, Any]] = {}
        self.false_alerts = 0
        self._t: float | None = None
        self._closed = False
        self._latest: dict[str, Sample] = {}
        self._changed: dict[str, Sample] | None = None
        self._pending: dict[str, NDArray[np.float64]] = {}
        self._pending_t = 0.0
        self._published: dict[str, NDArray[np.float64]] = {}
        pole_f = {"motion": True, "power_w": False, "link_ok": True}
        cab_f = {
            "ambient_lx": False,
            "rain_mm_h": False,
            "volume_veh_h": False,
            "supply_ok": True,
            "power_w_cab": False,
            "energy_kwh": False,
        }
        self._families: dict[str, tuple[list[str], bool]] = {}
        for key, is_bool in pole_f.items():
            self._families[key] = ([f"light/{p}/{key}" for p in self.pole_ids], is_bool)
        for key, is_bool in cab_f.items():
            field = "power_w" if key == "power_w_cab" else key
            self._families[key] = ([f"light/{c}/{field}" for c in self.cabinet_ids], is_bool)
        self._hist: dict[str, list[Any]] = {
            k: []
            for k in LightingHistory.__dataclass_fields__
            if k not in ("pole_ids", "cabinet_ids")
        }
        self._next_record: float | None = None
        self._sun_knot: tuple[int, float, float] | None = None

    # ---------------------------------------------------------------- protocol
    def points(self) -> Sequence[PointSpec]:
        """Sensor (INPUT) and actuator (OUTPUT) points, poles first, then cabinets."""
        return self._specs

    def start(self, t0: float) -> None:
        """Start at run time ``t0`` (s): the state of a zero-length step is computed and
        every sensor point is reported."""
        self._check_open()
        if self._t is not None:
            raise RuntimeError("LightingPlant: start() was already called")
        if not (isinstance(t0, int | float) and math.isfinite(t0)):
            raise ValueError(f"LightingPlant: t0 must be a finite time (s), got {t0!r}")
        self._t = float(t0)
        self._next_record = float(t0)
        self._step(float(t0), float(t0))

    def actuate(self, values: Mapping[str, Any]) -> None:
        """Apply ``light/<p>/dim_pct`` (0..100 %) and ``light/<p>/fault`` (alert text).

        Raises ValueError naming the point for an unknown name, a sensor point,
        or a value of the wrong type or out of range; nothing is applied then.
        """
        self._check_open()
        staged: list[tuple[int, str, Any]] = []
        for name, value in values.items():
            spec = self._outputs.get(name)
            if spec is None:
                known = (
                    "an INPUT (sensor) point"
                    if any(s.name == name for s in self._specs)
                    else "not a point of this plant"
                )
                raise ValueError(
                    f"LightingPlant.actuate: {name!r} is {known}. Hint: actuators are "
                    "light/<pole>/dim_pct and light/<pole>/fault, e.g. light/HV-E01/dim_pct"
                )
            try:
                v = spec.check(value)
            except ValueError as err:
                raise ValueError(
                    f"LightingPlant.actuate: {err}. Hint: dim_pct is 0..100 %"
                ) from None
            pole = name.split("/")[1]
            staged.append((self._pole_index[pole], name.rsplit("/", 1)[1], v))
        for k, field, v in staged:
            if field == "dim_pct":
                self._cmd[k] = float(v) / 100.0
            else:
                self._set_alert(k, str(v))

    def advance(self, t: float) -> None:
        """Advance to run time ``t`` (s, > the last time)."""
        self._check_open()
        if self._t is None:
            raise RuntimeError("LightingPlant: call start(t0) before advance()")
        if not (isinstance(t, int | float) and math.isfinite(t) and t > self._t):
            raise ValueError(
                f"LightingPlant: advance({t!r}) does not move forward from {self._t} s"
            )
        t_prev = self._t
        self._t = float(t)
        self._step(t_prev, float(t))

    def sensors(self) -> Mapping[str, Sample]:
        """Samples that changed at the last step (all of them after ``start``).

        Samples are built here, from the readings drawn at ``advance``: a caller
        that never reads them (a fast yearly run) pays nothing. If a step's
        samples are not read, the next call reports the changes since the last
        read.
        """
        if self._t is None:
            raise RuntimeError("LightingPlant: no samples before start(t0)")
        return dict(self._flush())

    def latest(self) -> Mapping[str, Sample]:
        """The latest sample of every sensor point."""
        if self._t is not None:
            self._flush()
        return dict(self._latest)

    def close(self) -> None:
        """Nothing to release; safe to call twice."""
        self._closed = True

    # ---------------------------------------------------------------- inputs
    def observe_road_users(
        self,
        t: float,
        x_utm: ArrayLike,
        y_utm: ArrayLike,
        ids: Sequence[str] | None = None,
    ) -> None:
        """Road users (vehicles and pedestrians) at run time ``t`` (s), positions in m (EPSG:32648).

        Called by the twin every SUMO step; all calls since the last
        ``advance`` feed that step. Motion: each pole takes the largest number
        of users seen at once in its zone. Counts: with ``ids`` (SUMO ids),
        users crossing the middle of each cabinet's segment are counted
        exactly; without, the number within ±50 m of it × 11.1 m/s × the time
        since the last call / 100 m (occupancy × an assumed 40 km/h).
        """
        x = np.atleast_1d(np.asarray(x_utm, dtype=np.float64))
        y = np.atleast_1d(np.asarray(y_utm, dtype=np.float64))
        if x.shape != y.shape:
            raise ValueError(f"observe_road_users: x has shape {x.shape}, y {y.shape}")
        if ids is not None and len(ids) != x.size:
            raise ValueError(f"observe_road_users: {len(ids)} ids for {x.size} positions")
        np.maximum(self._obs_users, self.motion.users_in_zone(x, y), out=self._obs_users)
        dt = 0.0 if self._obs_t is None else max(float(t) - self._obs_t, 0.0)
        self._obs_t = float(t)
        cl = self.layout.centreline
        pad = _ON_ROAD_M
        box = (
            (x >= cl.x.min() - pad)
            & (x <= cl.x.max() + pad)
            & (y >= cl.y.min() - pad)
            & (y <= cl.y.max() + pad)
        )
        idx = np.flatnonzero(box)
        if idx.size == 0:
            return
        st, off = cl.project(x[idx], y[idx])
        on = np.abs(off) <= pad
        idx, st = idx[on], st[on]
        if ids is None:
            near = np.abs(st[None, :] - self._count_st[:, None]) <= _COUNT_WINDOW_M
            self._obs_counts += near.sum(axis=1) * (40.0 / 3.6) * dt / (2.0 * _COUNT_WINDOW_M)
            return
        prev = self._obs_prev
        now: dict[str, float] = {}
        for k, s in zip(idx.tolist(), st.tolist(), strict=True):
            uid = ids[k]
            now[uid] = s
            s0 = prev.get(uid)
            if s0 is not None and s0 != s:
                lo, hi = min(s0, s), max(s0, s)
                self._obs_counts += ((self._count_st > lo) & (self._count_st <= hi)).astype(
                    np.float64
                )
        self._obs_prev = now

    def set_cabinet_water_depth(self, cabinet: str, depth_m: float) -> None:
        """Water depth (m) at ``cabinet`` now (flood coupling); trips it above its plinth."""
        self.flood.set_depth(cabinet, depth_m, self._t if self._t is not None else 0.0)

    def reset_cabinet(self, cabinet: str) -> None:
        """Reset a flood-tripped cabinet (raises while the water is above the plinth)."""
        self.flood.reset(cabinet)

    def inject(self, fault: Fault) -> None:
        """Add a fault (see :mod:`sim.lighting.faults`); its target must exist."""
        if not isinstance(fault, Fault):
            raise FaultError(f"inject() takes a Fault, got {type(fault).__name__}")
        index = self._cab_index if fault.on_cabinet else self._pole_index
        if fault.target not in index:
            what = "cabinet" if fault.on_cabinet else "pole"
            raise FaultError(
                f"{fault.kind} targets unknown {what} {fault.target!r}; "
                f"{what}s are {next(iter(index))} .. {list(index)[-1]}"
            )
        self.faults.append(fault)

    # ---------------------------------------------------------------- stepping
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("LightingPlant is closed")

    def _step(self, t_prev: float, t: float) -> None:
        cfg, model = self.config, self.model
        dt = t - t_prev
        fs = active_faults(self.faults, self._pole_index, self._cab_index, t_prev, t)
        supply = ~(fs.supply_lost | self.flood.tripped)
        powered = supply[self._cab_of_pole]
        cmd = self._cmd
        level = model.clamp_level(cmd)
        stuck = ~np.isnan(fs.driver_level)
        if stuck.any():
            level = np.where(
                stuck & (level > 0), model.clamp_level(np.where(stuck, fs.driver_level, 0.0)), level
            )
        level = np.where(fs.stuck_on & (level == 0), 1.0, level)
        light = model.light_fraction(level, self.hours)
        power = model.power_w(level, self.hours)
        if fs.lamp_failed.any():
            light = np.where(fs.lamp_failed, 0.0, light)
            power = np.where(
                fs.lamp_failed, np.where(level > 0, model.failed_lamp_w, model.standby_w), power
            )
        light = np.where(powered, light, 0.0)
        power = np.where(powered, power, 0.0)
        level = np.where(powered, level, 0.0)
        cab_power = np.bincount(self._cab_of_pole, weights=power, minlength=len(supply))
        cab_power = np.where(supply, cab_power + cfg.cabinet_overhead_w, 0.0)
        if dt > 0:
            self.hours = self.hours + np.where(light > 0, dt / 3600.0, 0.0)
            self.energy_wh += power * dt / 3600.0
            self.cabinet_energy_wh += cab_power * dt / 3600.0
            self.pole_meters.integrate(power, dt)
            self.cabinet_meters.integrate(cab_power, dt)
            if (light > 0).any():
                self.burning_s += dt
        self.level, self.light, self.power_w = level, light, power
        self.cabinet_power_w = np.asarray(cab_power, dtype=np.float64)
        self.supply_ok = supply
        # links
        link = powered & ~fs.link_down
        if cfg.link_loss_prob > 0:
            link &= self._rng_link.random(link.size) >= cfg.link_loss_prob
        self.link_ok = link
        # road users
        users = self._obs_users.copy()
        counts = self._obs_counts.copy()
        self._obs_users[:] = 0
        self._obs_counts[:] = 0.0
        if self.traffic is not None and dt > 0:
            ts = self.traffic.step(t_prev, t)
            users += ts.users_in_zone
            counts += ts.counts
        motion = self.motion.detect(users, dt) if dt > 0 else np.zeros(users.size, dtype=bool)
        if dt > 0:
            self.counters.add(t, counts)
        # weather
        elev = self._sun_elevation(t)
        ghi, rain = self._weather(t_prev, t)
        if ghi is not None and elev > 5.0:
            tr = ghi / float(clear_sky_global_wm2(elev))
        else:
            tr = float(cloud_transmittance(cfg.cloud_cover) * rain_transmittance(rain))
        self.ambient_lx = daylight_lx_scalar(elev, tr)
        amb = self.photocells.read(self.ambient_lx)
        rain_read = self.rain_gauges.read(rain, dt) if dt > 0 else np.full(len(supply), rain)
        self._publish(t, motion, powered, amb, rain_read)
        self._record(t)

    def _sun_elevation(self, t: float) -> float:
        """Solar elevation (deg) at run time ``t``: :func:`solar_elevation_deg` at knots every
        ``_SUN_KNOT_S`` s, linear in between (error < 0.01°; 5x fewer calls at 1-min steps)."""
        k = math.floor(t / _SUN_KNOT_S)
        if self._sun_knot is None or self._sun_knot[0] != k:
            e0, e1 = (
                solar_elevation_deg(self.config.start + timedelta(seconds=(k + j) * _SUN_KNOT_S))
                for j in (0, 1)
            )
            self._sun_knot = (k, e0, e1)
        _, e0, e1 = self._sun_knot
        f = t / _SUN_KNOT_S - k
        return e0 + (e1 - e0) * f

    def _weather(self, t_prev: float, t: float) -> tuple[float | None, float]:
        """(global irradiance W/m² or None, mean rain mm/h over the step) at run time ``t``."""
        w = self.config.weather
        if w is None:
            return None, float(self.config.rain_mm_h)
        off = (self.config.start - w.start).total_seconds()
        ghi = w.at(t + off)["solar_radiation_wm2"]
        if t > t_prev:
            rain = w.rain_between(t_prev + off, t + off) / (t - t_prev) * 3600.0
        else:
            rain = w.at(t + off)["rain_rate_mmph"]
        return float(ghi), float(rain)

    def _publish(
        self,
        t: float,
        motion: NDArray[np.bool_],
        powered: NDArray[np.bool_],
        amb: NDArray[np.float64],
        rain: NDArray[np.float64],
    ) -> None:
        """Draw the readings of this step as arrays (NaN = no value); samples come lazily."""
        nan = np.nan
        p_read = np.minimum(self.pole_meters.read(self.power_w), 2000.0)
        c_read = np.minimum(self.cabinet_meters.read(self.cabinet_power_w), 100_000.0)
        volume = self.counters.veh_h()
        self._pending = {
            "motion": np.where(powered, motion.astype(np.float64), nan),
            "power_w": np.where(self.link_ok, p_read, nan),
            "link_ok": self.link_ok.astype(np.float64),
            "ambient_lx": np.round(amb, 3),
            "rain_mm_h": np.minimum(np.round(rain, 3), 500.0),
            "volume_veh_h": np.full(len(self.cabinet_ids), nan)
            if volume is None
            else np.minimum(volume, 20_000.0),
            "supply_ok": self.supply_ok.astype(np.float64),
            "power_w_cab": c_read,
            "energy_kwh": np.round(self.cabinet_meters.energy_kwh, 6),
        }
        self._pending_t = t
        self._changed = None

    def _flush(self) -> dict[str, Sample]:
        """Samples of the last step that differ from the last published ones."""
        if self._changed is not None:
            return self._changed
        changed: dict[str, Sample] = {}
        t = self._pending_t
        for key, new in self._pending.items():
            names, is_bool = self._families[key]
            old = self._published.get(key)
            idx: list[int]
            if old is None:
                idx = list(range(new.size))
            else:
                same = (new == old) | (np.isnan(new) & np.isnan(old))
                idx = np.flatnonzero(~same).tolist()
            for k in idx:
                v = float(new[k])
                if v != v:
                    sample = Sample(None, Quality.BAD, t)
                else:
                    sample = Sample(bool(v) if is_bool else v, Quality.GOOD, t)
                self._latest[names[k]] = changed[names[k]] = sample
            self._published[key] = new
        self._changed = changed
        return changed

    def _record(self, t: float) -> None:
        period = self.config.record_period_s
        if period is None or self._next_record is None or t < self._next_record - 1e-9:
            return
        h = self._hist
        h["t_s"].append(t)
        h["level"].append(self.level.astype(np.float32))
        h["light"].append(self.light.astype(np.float32))
        h["pole_power_w"].append(self.power_w.astype(np.float32))
        h["cabinet_power_w"].append(self.cabinet_power_w.copy())
        h["cabinet_energy_kwh"].append(self.cabinet_energy_wh / 1000.0)
        h["ambient_lx"].append(self.ambient_lx)
        while self._next_record <= t + 1e-9:
            self._next_record += period

    # ---------------------------------------------------------------- alerts
    def _set_alert(self, k: int, code: str) -> None:
        if code == self._alerts[k]:
            return
        self._alerts[k] = code
        t = self._t if self._t is not None else 0.0
        pid = self.pole_ids[k]
        self.alert_log.append({"t_s": t, "pole": pid, "code": code})
        if not code:
            return
        cab = self.layout.poles[k].cabinet
        matched = False
        for i, f in enumerate(self.faults):
            if f.target not in (pid, cab) or f.start_s > t:
                continue
            if f.end_s is not None and t > f.end_s + 3 * self.step_s:
                continue
            matched = True
            if i not in self._detections:
                self._detections[i] = {
                    "detected_s": t,
                    "delay_s": t - f.start_s,
                    "pole": pid,
                    "code": code,
                    "code_matches": code == f.expected_alert,
                }
        if not matched:
            self.false_alerts += 1

    # ---------------------------------------------------------------- outputs
    @property
    def time_s(self) -> float | None:
        """Run time (s) of the last step, None before ``start``."""
        return self._t

    def history(self) -> LightingHistory:
        """The recorded series (empty arrays without ``record_period_s`` or records)."""
        h = self._hist
        n_p, n_c = len(self.pole_ids), len(self.cabinet_ids)

        def stack(key: str, width: int, dtype: type) -> Any:
            return np.array(h[key], dtype=dtype).reshape(len(h[key]), width)

        return LightingHistory(
            t_s=np.array(h["t_s"], dtype=np.float64),
            pole_ids=self.pole_ids,
            cabinet_ids=self.cabinet_ids,
            level=stack("level", n_p, np.float32),
            light=stack("light", n_p, np.float32),
            pole_power_w=stack("pole_power_w", n_p, np.float32),
            cabinet_power_w=stack("cabinet_power_w", n_c, np.float64),
            cabinet_energy_kwh=stack("cabinet_energy_kwh", n_c, np.float64),
            ambient_lx=np.array(h["ambient_lx"], dtype=np.float64),
        )

    def fault_report(self) -> list[dict[str, Any]]:
        """Every injected fault with whether and when the controller's alert found it."""
        out = []
        for i, f in enumerate(self.faults):
            d = self._detections.get(i)
            out.append(
                {
                    "kind": f.kind,
                    "target": f.target,
                    "start_s": f.start_s,
                    "end_s": f.end_s,
                    "expected_alert": f.expected_alert,
                    "detected": d is not None,
                    **(d or {}),
                }
            )
        return out

    def kpis(self) -> dict[str, Any]:
        """Energy (kWh) per cabinet and total, lamp-hours, burning hours, faults.

        ``energy_kwh*`` are true energies (the meters' registers, with their
        gain errors, are ``metered_energy_kwh_by_cabinet``); ``lamp_hours`` sums
        every pole's hours with light > 0 during the run; ``burning_hours`` is
        the time any lamp was lit; ``full_power_equivalent_hours`` = energy of the
        lamps / (poles × rated power).
        """
        lamp_kwh = float(self.energy_wh.sum()) / 1000.0
        n = len(self.pole_ids)
        return {
            "luminaire": self.model.name,
            "time_s": self._t,
            "poles": n,
            "energy_kwh_total": float(self.cabinet_energy_wh.sum()) / 1000.0,
            "energy_kwh_by_cabinet": {
                c: float(e) / 1000.0
                for c, e in zip(self.cabinet_ids, self.cabinet_energy_wh, strict=True)
            },
            "metered_energy_kwh_by_cabinet": {
                c: float(e)
                for c, e in zip(self.cabinet_ids, self.cabinet_meters.energy_kwh, strict=True)
            },
            "lamp_energy_kwh": lamp_kwh,
            "lamp_hours": float((self.hours - self._hours0).sum()),
            "burning_hours": self.burning_s / 3600.0,
            "full_power_equivalent_hours": lamp_kwh * 1000.0 / (n * self.model.rated_power_w),
            "flood_trips": [{"cabinet": c, "t_s": s} for c, s in self.flood.trip_times],
            "faults": self.fault_report(),
            "false_alerts": self.false_alerts,
        }

    def fault_kinds(self) -> tuple[str, ...]:
        """The fault kinds :meth:`inject` accepts."""
        return FAULT_KINDS
