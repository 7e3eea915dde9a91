"""The flood plant: the 2-D flood solver on the Đông Hà DEM and its 12 warning points.

It satisfies ``twin.plant.PlantModel`` structurally (``sim`` does not import
``twin``). It has sensors only, no actuators.

What it runs
------------
- **Terrain**: the synthetic Đông Hà DEM (:func:`~sim.hydro.dongha_dem.synthetic_dongha_dem`)
  at ``cell_m`` (40 m by default), or a GeoTIFF clipped to ``dem_bounds``.
- **River**: the Hiếu stage at Đông Hà station (``stage_csv``) drives every
  place where the gauged river crosses the DEM edge, each offset by
  ``river_slope`` × its along-river distance from the gauge; the river starts
  at rest at the first stage (:mod:`sim.hydro.river_edges` has the rules).
- **Rain** (``rain_csv``), uniform over the DEM; **losses** by the SCS curve
  number on land (the channel loses nothing) and **urban drains** taking up
  to ``drainage_mm_h`` from every land cell whose ground is above the river
  stage at Đông Hà (below it the outfalls are backed up and drain nothing).
- **Warning points**: one :class:`~sim.hydro.warning_point.WarningPointDevice`
  per site of ``sites_yaml``. After each ``advance(t)`` every device is
  stepped with its true level: a river gauge the water-surface elevation
  (m above datum) of the nearest cell of the gauged river (a coarse cell at
  the site itself may be bank); a street point the water depth (m) of the
  site's cell; and the rain series' mean rate over the step. Delivered
  uplinks go to ``run_dir/flood/uplinks.jsonl``.

Points (all INPUT)
------------------
``flood/Pnn/level_m`` (m), ``flood/Pnn/rain_mm_h`` (mm/h, sites with a rain
gauge only: the others never have a value), ``flood/Pnn/battery_pct`` (%),
``flood/Pnn/uplink_ok`` (bool) — the on-site readings of the devices (a
level the sensor could not give is a BAD sample with no value); and
``flood/river/stage_m`` (m above datum): the true simulated stage at the Đông
Hà gauge cell, for reports (no sensor noise, never BAD).

Samples are reported by exception: :meth:`FloodPlant.sensors` returns the
points whose value changed at the last step (all of them after ``start``).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from controllers.io import Direction, PointSpec, Quality, Sample, ValueType
from sim.hydro.dem import Dem, DemError, load_geotiff
from sim.hydro.dongha_dem import DONGHA_BOUNDS_UTM, GAUGE_DONG_HA, synthetic_dongha_dem
from sim.hydro.forcing import Hydrograph, RainSeries, mm_per_hour
from sim.hydro.infiltration import Infiltration
from sim.hydro.oct2020 import (
    OCT2020_RAIN_CSV,
    OCT2020_STAGE_CSV,
    OCT2020_START,
    load_rain_csv,
    load_stage_csv,
    rain_depth_mm,
)
from sim.hydro.river_edges import (
    CUA_VIET_LONLAT,
    RiverLayout,
    find_river_layout,
    initial_depth,
    nearest_cell,
)
from sim.hydro.sites import DEFAULT_SITES_FILE, SiteKind, WarningSiteCatalog, load_warning_sites
from sim.hydro.solver import FloodSolver
from sim.hydro.warning_point import POINT_FIELDS, WarningPointDevice

__all__ = ["STAGE_POINT", "FloodPlant", "FloodPlantConfig", "UniformRainCurveNumber"]

STAGE_POINT = "flood/river/stage_m"
"""The true simulated stage at the Đông Hà gauge cell (m above datum)."""

_FLOOD_THRESHOLDS_M = (0.1, 0.3, 0.5)
_RIVER_SEARCH_M = 250.0  # a river site reads the nearest gauged-river cell within this (m)


@dataclass(frozen=True)
class FloodPlantConfig:
    """How to run the flood plant (validated on construction).

    Attributes:
        dem_geotiff: an elevation GeoTIFF (any CRS; m above the national
            datum), or None for the synthetic Đông Hà DEM.
        cell_m: cell size (m). 40 m by default: a city-scale run spans 48 h
            and the kernel exchanges every minute, and the CFL step in the
            ~8 m deep Hiếu at flood stage is ``0.6 × 40 / sqrt(9.81 × 8) ≈ 2.7 s``
            on 63 000 cells, which runs 48 h in minutes; 10 m would take
            16 × the cells and 4 × the steps (~64 × the time). Synthetic DEM:
            2 .. 200 m.
        dem_seed: seed of the synthetic DEM's terrain noise (the terrain is
            data: it does not change with the run's ``seed``).
        dem_bounds: ``(xmin, ymin, xmax, ymax)`` (m, EPSG:32648) a GeoTIFF is
            clipped to; the synthetic DEM's box by default.
        manning_n: Manning's n on land (s/m^(1/3), 0.01 .. 0.3); 0.05 for a
            town's mix of streets, yards and fields.
        manning_n_channel: n in the river channel (cells below
            ``channel_below_m``), 0.035 for a lowland river; None = ``manning_n``.
        channel_below_m: cells below this elevation (m) are river channel
            (0 m for the synthetic DEM; raise it for a DEM that shows the
            water surface).
        theta, alpha: the solver's flux weighting (0.5 .. 1) and CFL
            coefficient (``0 < alpha <= sqrt(theta / 2)``).
        backend: ``"numba"``, ``"numba-parallel"`` or ``"numpy"``.
        rain_csv: ``time,rain_mm_h`` file (see :mod:`sim.hydro.oct2020`), or
            None for no rain.
        stage_csv: ``time,stage_m`` file: the Hiếu at Đông Hà station.
        river_slope: water-surface slope along the river (-, 0 .. 0.01;
            1e-4 = 10 cm per km). The stage at each place the river crosses
            the DEM edge is the station stage plus ``river_slope`` times its
            along-river distance upstream of the station (negative
            downstream): +0.7 m at the western edge, -0.5 m at the outlet.
        outlet_lonlat: the sea mouth (degrees); the river edge nearest to it
            is the outlet (Cửa Việt by default).
        curve_number: SCS curve number on land (30 .. 100), 90 for an urban
            area on wet ground (after days of rain); None = no losses.
        drainage_mm_h: capacity of the urban drains (mm/h, >= 0) taken from
            every land cell while water is there: 10 mm/h is a small town's
            combined drains under a river that backs them up; 0 = none.
        arrival_depth_m: depth (m) whose first crossing makes the arrival map.
        sites_yaml: the warning points (``scenarios/dongha/flood_points.yaml``).
        start: timezone-aware datetime of run second 0; forcing files' ISO
            times are placed against it.
        step_s: the kernel's exchange interval (s, > 0).
        run_dir: folder for ``flood/uplinks.jsonl`` and, at ``close()``, the
            maps and KPIs; None = write nothing.
        seed: seed of the plant's one random generator (sensor noise, radio).
    """

    dem_geotiff: Path | None = None
    cell_m: float = 40.0
    dem_seed: int = 0
    dem_bounds: tuple[float, float, float, float] = DONGHA_BOUNDS_UTM
    manning_n: float = 0.05
    manning_n_channel: float | None = 0.035
    channel_below_m: float = 0.0
    theta: float = 0.8
    alpha: float = 0.6
    backend: str = "numba"
    rain_csv: Path | None = OCT2020_RAIN_CSV
    stage_csv: Path = OCT2020_STAGE_CSV
    river_slope: float = 1e-4
    outlet_lonlat: tuple[float, float] = CUA_VIET_LONLAT
    curve_number: float | None = 90.0
    drainage_mm_h: float = 10.0
    arrival_depth_m: float = 0.1
    sites_yaml: Path = DEFAULT_SITES_FILE
    start: datetime = OCT2020_START
    step_s: float = 60.0
    run_dir: Path | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("dem_geotiff", "rain_csv", "stage_csv", "sites_yaml", "run_dir"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Path(value))
        self._check_grid()
        self._check_solver()
        self._check_forcing()
        if not (isinstance(self.start, datetime) and self.start.tzinfo is not None):
            _fail("start", self.start, "must be a timezone-aware datetime", "e.g. OCT2020_START")
        if not (_number(self.step_s) and self.step_s > 0):
            _fail("step_s", self.step_s, "must be > 0 s", "60 s (one kernel exchange a minute)")
        for name in ("seed", "dem_seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                _fail(name, value, "must be an integer >= 0", "e.g. 0")

    def _check_grid(self) -> None:
        if not (_number(self.cell_m) and self.cell_m > 0):
            _fail("cell_m", self.cell_m, "must be > 0 m", "40 m for city-scale runs")
        if self.dem_geotiff is None and not 2.0 <= self.cell_m <= 200.0:
            _fail(
                "cell_m",
                self.cell_m,
                "is outside 2 .. 200 m, the synthetic DEM's range",
                "40 m (multi-day runs) or 10 m (street detail)",
            )
        if self.dem_geotiff is not None and not self.dem_geotiff.exists():
            _fail("dem_geotiff", self.dem_geotiff, "does not exist", "None = synthetic DEM")
        b = self.dem_bounds
        if len(b) != 4 or not all(_number(v) for v in b) or not (b[2] > b[0] and b[3] > b[1]):
            _fail("dem_bounds", b, "is not (xmin, ymin, xmax, ymax)", "m in EPSG:32648")
        if not _number(self.channel_below_m):
            _fail("channel_below_m", self.channel_below_m, "must be finite", "0 m")

    def _check_solver(self) -> None:
        if not (_number(self.manning_n) and 0.01 <= self.manning_n <= 0.3):
            _fail("manning_n", self.manning_n, "is outside 0.01 .. 0.3", "0.05 on urban land")
        n_ch = self.manning_n_channel
        if n_ch is not None and not (_number(n_ch) and 0.01 <= n_ch <= 0.3):
            _fail("manning_n_channel", n_ch, "is outside 0.01 .. 0.3", "0.035 or None")
        if not (_number(self.theta) and 0.5 <= self.theta <= 1.0):
            _fail("theta", self.theta, "is outside 0.5 .. 1", "0.8")
        alpha_max = math.sqrt(self.theta / 2.0) if _number(self.theta) else 0.0
        if not (_number(self.alpha) and 0 < self.alpha <= alpha_max + 1e-12):
            _fail(
                "alpha",
                self.alpha,
                f"must be within (0, sqrt(theta/2)] = (0, {alpha_max:.3f}]",
                "0.6 with theta 0.8; above the bound deep water goes unstable",
            )
        if self.backend not in ("numba", "numba-parallel", "numpy"):
            _fail("backend", self.backend, "is unknown", "'numba', 'numba-parallel' or 'numpy'")
        if not (_number(self.arrival_depth_m) and self.arrival_depth_m > 0):
            _fail("arrival_depth_m", self.arrival_depth_m, "must be > 0 m", "0.1 m")

    def _check_forcing(self) -> None:
        for name in ("rain_csv", "stage_csv", "sites_yaml"):
            value = getattr(self, name)
            if value is not None and not Path(value).exists():
                _fail(name, value, "does not exist", "check the path (relative to the cwd)")
        if not (_number(self.river_slope) and 0 <= self.river_slope <= 0.01):
            _fail("river_slope", self.river_slope, "is outside 0 .. 0.01", "1e-4 (10 cm/km)")
        cn = self.curve_number
        if cn is not None and not (_number(cn) and 30 <= cn <= 100):
            _fail("curve_number", cn, "is outside 30 .. 100", "90 (urban, wet) or None")
        if not (_number(self.drainage_mm_h) and self.drainage_mm_h >= 0):
            _fail("drainage_mm_h", self.drainage_mm_h, "must be >= 0 mm/h", "10 mm/h, 0 = none")
        lon, lat = self.outlet_lonlat
        if not (_number(lon) and _number(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            _fail("outlet_lonlat", self.outlet_lonlat, "is not (lon, lat)", "degrees WGS84")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fail(name: str, value: Any, problem: str, hint: str) -> None:
    raise ValueError(f"FloodPlantConfig.{name} = {value!r} {problem}. Hint: {hint}")


class UniformRainCurveNumber(Infiltration):
    """SCS curve-number losses for UNIFORM rain and one curve number on the cells of a mask.

    The same method as :class:`~sim.hydro.infiltration.CurveNumber` (cumulative
    loss ``F(P) = P - (P - Ia)² / (P - Ia + S)`` of the rain ``P`` since the
    start, each step removing the increase of ``F``, limited by the water
    present), but with uniform rain ``P`` is one number for every cell, so ``F``
    is computed once per step instead of per cell: the general class spent half
    of a 40 m run's time there. Cells outside ``mask`` (the river) lose nothing.

    Args:
        mask: cells with losses, ``(ny, nx)``.
        cn: curve number, 30 .. 100.
        ia_ratio: initial abstraction ratio λ, 0 .. 0.3 (0.2 standard).
    """

    def __init__(self, mask: NDArray[np.bool_], cn: float, ia_ratio: float = 0.2) -> None:
        if not (_number(cn) and 30 <= cn <= 100):
            raise ValueError(f"curve number must be within 30..100, got {cn!r}")
        if not 0 <= ia_ratio <= 0.3:
            raise ValueError(
                f"ia_ratio (λ) must be within 0..0.3, got {ia_ratio!r}; 0.2 is standard"
            )
        self.mask = np.asarray(mask, dtype=bool)
        self._weight = self.mask.astype(np.float64)
        self._zeros = np.zeros(self.mask.shape)
        self.s_m = 0.0254 * (1000.0 / cn - 10.0)
        self.ia_m = ia_ratio * self.s_m
        self.rain_m = 0.0

    def _loss(self, p: float) -> float:
        excess = p - self.ia_m
        return p if excess <= 0 else p - excess * excess / (excess + self.s_m)

    def take(
        self, h: NDArray[np.float64], rain_depth: NDArray[np.float64] | float, dt: float
    ) -> NDArray[np.float64]:
        if not isinstance(rain_depth, float | int):
            raise TypeError("UniformRainCurveNumber needs uniform rain; use CurveNumber")
        if rain_depth <= 0:
            return self._zeros
        before = self._loss(self.rain_m)
        self.rain_m += float(rain_depth)
        wanted = self._loss(self.rain_m) - before
        if wanted <= 0:
            return self._zeros
        taken = np.minimum(h, self._weight * wanted)
        h -= taken
        return taken

    def snapshot(self) -> dict[str, NDArray[np.float64]]:
        return {"rain_m": np.array(self.rain_m)}

    def restore(self, state: dict[str, NDArray[np.float64]]) -> None:
        self.rain_m = float(state["rain_m"])


@dataclass(frozen=True)
class _Station:
    """A warning device and the cell whose water it sees."""

    device: WarningPointDevice
    row: int
    col: int
    river: bool
    names: tuple[str, ...]  # published point names, POINT_FIELDS order (rain only with a gauge)


class FloodPlant:
    """The flood solver and the warning devices behind the plant protocol (see module docstring).

    Args:
        config: the run's settings; default ``FloodPlantConfig()`` (Oct 2020 at 40 m).

    Raises:
        ValueError: a bad config, forcing file, sites file or DEM (the message
            says which and how to fix it); a warning point outside the DEM.
    """

    name = "flood"

    def __init__(self, config: FloodPlantConfig | None = None) -> None:
        self.config = c = config or FloodPlantConfig()
        self.step_s = float(c.step_s)
        self.catalog: WarningSiteCatalog = load_warning_sites(c.sites_yaml)
        self.rain: RainSeries | None = (
            load_rain_csv(c.rain_csv, c.start) if c.rain_csv is not None else None
        )
        self.stage: Hydrograph = load_stage_csv(c.stage_csv, c.start)
        self.dem: Dem = (
            synthetic_dongha_dem(c.cell_m, c.dem_seed)
            if c.dem_geotiff is None
            else load_geotiff(c.dem_geotiff, c.cell_m, c.dem_bounds)
        )
        z = self.dem.elevation
        self.layout: RiverLayout = find_river_layout(
            self.dem,
            GAUGE_DONG_HA.xy,
            slope=c.river_slope,
            channel_below_m=c.channel_below_m,
            outlet_lonlat=c.outlet_lonlat,
        )
        channel = self.layout.channel
        n_channel = c.manning_n if c.manning_n_channel is None else c.manning_n_channel
        self.solver = FloodSolver(
            z,
            self.dem.cell_m,
            np.where(channel, n_channel, c.manning_n),
            theta=c.theta,
            alpha=c.alpha,
            backend=c.backend,
            initial_depth_m=initial_depth(z, self.layout, self.stage.at(0.0)),
            arrival_depth_m=c.arrival_depth_m,
        )
        for group in self.layout.boundaries:
            self.solver.add_stage_boundary(
                np.column_stack([group.rows, group.cols]),
                Hydrograph(self.stage.times_s, self.stage.values + group.offset_m, group.side),
                name=f"river edge {group.side}",
            )
        self.solver.set_rain(self.rain)
        if c.curve_number is not None:
            self.solver.set_infiltration(UniformRainCurveNumber(~channel, c.curve_number))
        # drains run by gravity to the river: a cell whose ground is below the river
        # stage cannot drain (its outfall's flap gate is shut), see _update_drains
        self._drain_rate = np.where(channel, 0.0, mm_per_hour(c.drainage_mm_h))
        self._drains_blocked_below_m: float | None = None
        if c.drainage_mm_h > 0:
            self._update_drains(0.0)
        self._stations = self._make_stations()
        self._specs = self._declare()
        self.rng = np.random.default_rng(c.seed)
        self._t: float | None = None
        self._latest: dict[str, Sample] = {}
        self._changed: dict[str, Sample] = {}
        self._uplinks: IO[str] | None = None
        self.uplink_count = 0
        self.wall_s = {"solver": 0.0, "devices": 0.0}
        self._closed = False

    # ------------------------------------------------------------------ set-up
    def _make_stations(self) -> tuple[_Station, ...]:
        sites = self.catalog.sites
        rows, cols = self._cells(np.array([s.x_m for s in sites]), np.array([s.y_m for s in sites]))
        outside = [s.id for s, r in zip(sites, rows, strict=True) if r < 0]
        if outside:
            raise DemError(
                f"warning points {', '.join(outside)} lie outside the DEM "
                f"(bounds {tuple(round(b) for b in self.dem.bounds)} m, EPSG:32648). Hint: a "
                "larger dem_bounds, or a sites_yaml with only the points inside"
            )
        search = max(1, math.ceil(_RIVER_SEARCH_M / self.dem.cell_m))
        stations = []
        for site, row, col in zip(sites, rows, cols, strict=True):
            river = site.kind is SiteKind.RIVER
            r, c = int(row), int(col)
            if river:
                near = nearest_cell(self.layout.network, r, c, search)
                if near is None:
                    raise DemError(
                        f"river gauge {site.id} ({site.name}) has no cell of the gauged river "
                        f"within {_RIVER_SEARCH_M:g} m. Hint: check its lon/lat, or the DEM's "
                        "channel_below_m"
                    )
                r, c = near
            device = WarningPointDevice(site, self.catalog.network, self.config.start)
            names = tuple(
                site.point(f) for f, _ in POINT_FIELDS if f != "rain_mm_h" or site.rain_gauge
            )
            stations.append(_Station(device, r, c, river, names))
        return tuple(stations)

    def _declare(self) -> tuple[PointSpec, ...]:
        stale, bad = 3 * self.step_s, 10 * self.step_s  # a plant that stops stepping ages
        specs: list[PointSpec] = []
        for st in self._stations:
            site, sensor = st.device.site, st.device.sensor
            units = dict(POINT_FIELDS)
            for name in st.names:
                field = name.rsplit("/", 1)[1]
                low: float | None = None
                high: float | None = None
                value_type = ValueType.BOOL if field == "uplink_ok" else ValueType.FLOAT
                if field == "level_m":
                    low = round(sensor.bottom_m, 6) if st.river else 0.0
                    high = round(sensor.top_m, 6)
                    what = "stage above national datum" if st.river else "depth above road"
                elif field == "battery_pct":
                    low, high, what = 0.0, 100.0, "battery state of charge"
                elif field == "rain_mm_h":
                    low, what = 0.0, "mean rain rate over the last report"
                else:
                    what = "last report reached the network server"
                specs.append(
                    PointSpec(
                        name,
                        Direction.INPUT,
                        units[field],
                        value_type,
                        low,
                        high,
                        stale,
                        bad,
                        description=f"{what} at {site.id} ({site.name})",
                    )
                )
        specs.append(
            PointSpec(
                STAGE_POINT,
                Direction.INPUT,
                "m",
                ValueType.FLOAT,
                -20.0,
                40.0,
                stale,
                bad,
                description="true simulated stage of the Hiếu at the Đông Hà gauge cell",
            )
        )
        return tuple(specs)

    # ---------------------------------------------------------------- protocol
    def points(self) -> Sequence[PointSpec]:
        """The warning devices' sensor points and the true gauge stage (all INPUT)."""
        return self._specs

    def start(self, t0: float) -> None:
        """Start at run time ``t0`` (s, >= 0; the solver spins up from 0 to ``t0``)."""
        self._check_open()
        if self._t is not None:
            raise RuntimeError(f"FloodPlant {self.name!r}: start() was already called")
        if not (_number(t0) and t0 >= 0):
            raise ValueError(f"FloodPlant: t0 must be a time >= 0 s, got {t0!r}")
        if self.config.run_dir is not None:
            folder = self.config.run_dir / "flood"
            folder.mkdir(parents=True, exist_ok=True)
            self._uplinks = (folder / "uplinks.jsonl").open("w", encoding="utf-8")
        self._step_to(float(t0), float(t0) - self.step_s)

    def actuate(self, values: Mapping[str, Any]) -> None:
        """The flood plant has no actuators: an empty mapping is fine, any name raises."""
        if values:
            raise ValueError(
                f"FloodPlant {self.name!r} has no actuator points; got {sorted(values)}. "
                "Hint: flood-warning outputs (sirens, levels) go to controllers, not the plant"
            )

    def advance(self, t: float) -> None:
        """Run the solver to ``t`` (s), then step every warning device with its true level."""
        self._check_open()
        if self._t is None:
            raise RuntimeError(f"FloodPlant {self.name!r}: call start(t0) before advance()")
        if not (_number(t) and t > self._t):
            raise ValueError(
                f"FloodPlant {self.name!r}: advance({t!r}) does not move forward from {self._t} s"
            )
        self._step_to(float(t), self._t)

    def sensors(self) -> Mapping[str, Sample]:
        """Samples that changed at the last step (all of them after ``start``)."""
        if self._t is None:
            raise RuntimeError(f"FloodPlant {self.name!r}: no samples before start(t0)")
        return dict(self._changed)

    def latest(self) -> Mapping[str, Sample]:
        """The latest sample of every sensor point."""
        return dict(self._latest)

    def close(self) -> None:
        """Close the uplink log; with a ``run_dir``, write the maps and KPIs. Safe twice."""
        if self._closed:
            return
        self._closed = True
        if self._uplinks is not None:
            self._uplinks.close()
            self._uplinks = None
        if self.config.run_dir is not None and self._t is not None:
            folder = self.save_maps(self.config.run_dir / "flood")
            (folder / "kpis.json").write_text(
                json.dumps(self.kpis(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )

    # ---------------------------------------------------------------- stepping
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"FloodPlant {self.name!r} is closed")

    def _update_drains(self, t: float) -> None:
        """Block the drains of every cell whose ground is below the river stage at ``t``."""
        stage = round(self.stage.at(t), 2)  # cm steps: re-mask only when the river moves
        if stage == self._drains_blocked_below_m:
            return
        self._drains_blocked_below_m = stage
        self.solver.set_drainage(np.where(self.solver.z > stage, self._drain_rate, 0.0))

    def _step_to(self, t: float, t_prev: float) -> None:
        tic = time.perf_counter()
        if self.config.drainage_mm_h > 0:
            self._update_drains(t_prev)
        self.solver.advance_to(t)
        toc = time.perf_counter()
        self.wall_s["solver"] += toc - tic
        rain_mm_h = 0.0
        if self.rain is not None and t > t_prev:
            rain_mm_h = rain_depth_mm(self.rain, t_prev, t) / (t - t_prev) * 3600.0
        eta, depth = self.solver.eta, self.solver.depth
        changed: dict[str, Sample] = {}
        for st in self._stations:
            truth = float(eta[st.row, st.col] if st.river else depth[st.row, st.col])
            for event in st.device.step(t, truth, rain_mm_h, self.rng):
                self._log_uplink(event.t_s, event.topic, event.message)
            values = st.device.points()
            for name in st.names:
                self._put(changed, name, values[name], t)
        self._put(changed, STAGE_POINT, self.gauge_stage_m(), t)
        if self._uplinks is not None:
            self._uplinks.flush()
        self._changed = changed
        self._t = t
        self.wall_s["devices"] += time.perf_counter() - toc

    def _put(self, changed: dict[str, Sample], name: str, value: Any, t: float) -> None:
        old = self._latest.get(name)
        if old is not None and old.value == value and type(old.value) is type(value):
            return
        quality = Quality.GOOD if value is not None else Quality.BAD
        self._latest[name] = changed[name] = Sample(value, quality, t)

    def _log_uplink(self, t_s: float, topic: str, message: Mapping[str, Any]) -> None:
        self.uplink_count += 1
        if self._uplinks is not None:
            line = {"t_s": round(t_s, 6), "topic": topic, "message": message}
            self._uplinks.write(json.dumps(line, ensure_ascii=False) + "\n")

    # ------------------------------------------------------------ twin helpers
    @property
    def time_s(self) -> float | None:
        """Run time (s) of the last step, None before ``start``."""
        return self._t

    def cells_of_xy(
        self, xs: ArrayLike, ys: ArrayLike
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """``(rows, cols)`` of points (m, EPSG:32648); -1 for both outside the DEM (warned)."""
        rows, cols = self._cells(xs, ys)
        outside = rows < 0
        if outside.any():
            k = int(np.argmax(outside))
            x, y = np.broadcast_arrays(np.asarray(xs, float), np.asarray(ys, float))
            warnings.warn(
                f"{int(outside.sum())} of {rows.size} points lie outside the flood DEM "
                f"(first: x={float(x.flat[k]):.1f}, y={float(y.flat[k]):.1f} m, EPSG:32648); "
                "they get cell -1 (lon/lat instead of UTM 48N metres?)",
                stacklevel=2,
            )
        return rows, cols

    def _cells(self, xs: ArrayLike, ys: ArrayLike) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        x, y = np.broadcast_arrays(np.asarray(xs, float), np.asarray(ys, float))
        d = self.dem
        ny, nx = d.shape
        with np.errstate(invalid="ignore"):
            col = np.floor((x - d.x0) / d.cell_m)
            row = np.floor((d.y0 - y) / d.cell_m)
            inside = (row >= 0) & (row < ny) & (col >= 0) & (col < nx)
        rows = np.where(inside, row, -1).astype(np.intp)
        cols = np.where(inside, col, -1).astype(np.intp)
        return rows, cols

    def depth_at(self, rows: ArrayLike, cols: ArrayLike) -> NDArray[np.float64]:
        """Water depth (m) at cells; NaN where ``rows`` or ``cols`` is -1 (outside the DEM)."""
        r, c = np.broadcast_arrays(np.asarray(rows, np.intp), np.asarray(cols, np.intp))
        ny, nx = self.solver.shape
        outside = (r == -1) | (c == -1)
        bad = ~outside & ((r < 0) | (r >= ny) | (c < 0) | (c >= nx))
        if bad.any():
            k = int(np.argmax(bad))
            raise IndexError(
                f"cell ({int(r.flat[k])}, {int(c.flat[k])}) is outside the {ny} x {nx} grid. "
                "Hint: get cells from cells_of_xy"
            )
        out = self.solver.depth[np.where(outside, 0, r), np.where(outside, 0, c)]
        return np.where(outside, np.nan, out)

    def true_level_m(self, site_id: str) -> float:
        """What the device at ``site_id`` measures, without sensor error.

        River gauges: the water-surface elevation (m above datum) at the gauged river's
        cell nearest the site; street points: the water depth (m) at the site's cell.

        Raises:
            KeyError: no warning point with that id.
        """
        for st in self._stations:
            if st.device.site.id == site_id:
                source = self.solver.eta if st.river else self.solver.depth
                return float(source[st.row, st.col])
        known = ", ".join(st.device.site.id for st in self._stations)
        raise KeyError(f"no warning point {site_id!r}; the plant has {known}")

    def gauge_stage_m(self) -> float:
        """The true water-surface elevation (m above datum) at the Đông Hà gauge cell."""
        return float(self.solver.eta[self.layout.gauge])

    def kpis(self) -> dict[str, Any]:
        """Mass ledger, maximum depths, flooded land area, solver effort and wall time.

        Flooded area counts land cells (not river channel) whose maximum depth
        over the run reached 0.1 / 0.3 / 0.5 m (``flooded_area_km2``) or whose
        depth does now (``flooded_area_now_km2``), in km².
        """
        s = self.solver
        land = ~self.layout.channel
        km2 = self.dem.cell_m**2 / 1e6
        wall = self.wall_s["solver"] + self.wall_s["devices"]
        return {
            "time_s": self._t,
            "ledger": s.ledger.as_dict(),
            "max_depth_m": float(s.max_depth_m.max()),
            "max_depth_land_m": float(s.max_depth_m[land].max()) if land.any() else 0.0,
            "flooded_area_km2": {
                f"{h:g}": float((s.max_depth_m[land] >= h).sum() * km2) for h in _FLOOD_THRESHOLDS_M
            },
            "flooded_area_now_km2": {
                f"{h:g}": float((s.depth[land] >= h).sum() * km2) for h in _FLOOD_THRESHOLDS_M
            },
            "gauge_stage_m": self.gauge_stage_m(),
            "solver_steps": s.steps,
            "cell_updates": s.cell_updates,
            "cells": int(s.z.size),
            "cell_m": self.dem.cell_m,
            "uplinks": self.uplink_count,
            "wall_s": wall,
            "wall_solver_s": self.wall_s["solver"],
            "cell_updates_per_s": s.cell_updates / self.wall_s["solver"]
            if self.wall_s["solver"] > 0
            else None,
        }

    def save_maps(self, folder: Path | str) -> Path:
        """Write ``max_depth_m.npy``, ``arrival_s.npy``, ``dem_m.npy`` and ``grid.json``.

        Arrays are ``(ny, nx)`` float64, row 0 = north; arrival is the run time
        (s) the depth first reached ``arrival_depth_m``, NaN where it never did.
        ``grid.json`` holds the georeference (``x0``, ``y0`` = upper-left
        corner, ``cell_m``, ``crs``), the mass ledger and the river boundaries.
        Returns the folder.
        """
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        s, d = self.solver, self.dem
        np.save(out / "max_depth_m.npy", s.max_depth_m)
        np.save(out / "arrival_s.npy", s.arrival_s)
        np.save(out / "dem_m.npy", d.elevation)
        meta = {
            "x0": d.x0,
            "y0": d.y0,
            "cell_m": d.cell_m,
            "crs": d.crs,
            "shape": list(d.shape),
            "row0": "north",
            "start": self.config.start.isoformat(),
            "time_s": self._t,
            "arrival_depth_m": s.arrival_depth_m,
            "dem": d.description,
            "attribution": d.attribution,
            "gauge_cell": list(self.layout.gauge),
            "river_edges": [g.describe() for g in self.layout.boundaries],
            "closed_channel_edges": [g.describe() for g in self.layout.closed],
            "ledger": s.ledger.as_dict(),
        }
        (out / "grid.json").write_text(
            json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return out
