"""The flood plant (solver + warning devices) and the October 2020 forcing files.

Runs use the synthetic DEM at 200 m (48 x 52 cells) and the numpy kernel (no
JIT compile), a few simulated hours each, so the file stays fast.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from controllers.io import Direction, Quality, Sample
from sim.hydro import plant as plant_module
from sim.hydro.dem import Dem
from sim.hydro.dongha_dem import HOTSPOTS, synthetic_dongha_dem
from sim.hydro.forcing import RainSeries
from sim.hydro.infiltration import CurveNumber
from sim.hydro.lora import decode_up_event, up_topic
from sim.hydro.oct2020 import (
    OCT2020_PEAK_STAGE_M,
    OCT2020_PEAK_TIME,
    OCT2020_RAIN_CSV,
    OCT2020_STAGE_CSV,
    OCT2020_START,
    ForcingFileError,
    load_rain_csv,
    load_stage_csv,
    rain_depth_mm,
)
from sim.hydro.plant import STAGE_POINT, FloodPlant, FloodPlantConfig, UniformRainCurveNumber
from sim.hydro.river_edges import find_river_layout, initial_depth
from twin.plant import PlantModel

CELL_M = 200.0
STREETS = [f"P{i:02d}" for i in range(4, 13)]

_DEMS: dict[tuple[float, int], Dem] = {}


def _cached_dem(cell_m: float = 10.0, seed: int = 0) -> Dem:
    key = (cell_m, seed)
    if key not in _DEMS:
        _DEMS[key] = synthetic_dongha_dem(cell_m, seed)
    return _DEMS[key]


@pytest.fixture(autouse=True)
def _reuse_dem(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the 200 m DEM once for the whole file (the plant never modifies it)."""
    monkeypatch.setattr(plant_module, "synthetic_dongha_dem", _cached_dem)


def write_csv(path: Path, column: str, rows: list[tuple[float, float]]) -> Path:
    path.write_text(f"time,{column}\n" + "".join(f"{t:g},{v:g}\n" for t, v in rows))
    return path


def make_plant(
    tmp_path: Path,
    *,
    rain: list[tuple[float, float]] | None = None,
    stage: list[tuple[float, float]] | None = None,
    **overrides: object,
) -> FloodPlant:
    """A 200 m plant; rain and stage rows are (seconds since start, value)."""
    kwargs: dict[str, object] = {"cell_m": CELL_M, "backend": "numpy"}
    if rain is not None:
        kwargs["rain_csv"] = write_csv(tmp_path / "rain.csv", "rain_mm_h", rain)
    if stage is not None:
        kwargs["stage_csv"] = write_csv(tmp_path / "stage.csv", "stage_m", stage)
    kwargs.update(overrides)
    return FloodPlant(FloodPlantConfig(**kwargs))  # type: ignore[arg-type]


def run(plant: FloodPlant, hours: float, step_s: float = 60.0) -> list[dict[str, Sample]]:
    """Start at 0 and advance every ``step_s``; return every step's changed samples."""
    plant.start(0.0)
    out = [dict(plant.sensors())]
    for k in range(1, round(hours * 3600 / step_s) + 1):
        plant.advance(k * step_s)
        out.append(dict(plant.sensors()))
    return out


def site_depth(plant: FloodPlant, site_id: str) -> float:
    """The true depth (m) at a site's cell."""
    site = plant.catalog.site(site_id)
    return float(plant.depth_at(*plant.cells_of_xy([site.x_m], [site.y_m]))[0])


# ------------------------------------------------------------------------- protocol


def test_plant_satisfies_the_protocol(tmp_path: Path) -> None:
    plant = make_plant(tmp_path, rain=[(0, 0)], stage=[(0, 2.0)])
    assert isinstance(plant, PlantModel)
    assert plant.name == "flood" and plant.step_s == 60.0
    specs = {s.name: s for s in plant.points()}
    assert all(s.direction is Direction.INPUT for s in specs.values())
    for site in plant.catalog.sites:
        for field in ("level_m", "battery_pct", "uplink_ok"):
            assert site.point(field) in specs
        assert (site.point("rain_mm_h") in specs) is site.rain_gauge
    assert specs["flood/P01/level_m"].unit == "m" and specs["flood/P04/level_m"].low == 0.0
    assert STAGE_POINT in specs
    with pytest.raises(RuntimeError, match="start"):
        plant.advance(60.0)
    plant.actuate({})
    with pytest.raises(ValueError, match="no actuator"):
        plant.actuate({"flood/P01/siren": True})
    plant.start(0.0)
    first = plant.sensors()
    assert set(first) == set(specs)  # everything is new at start
    assert first[STAGE_POINT].quality is Quality.GOOD
    # a logger reports when it powers up: the controllers start with a reading, not a gap
    assert first["flood/P01/level_m"].good and first["flood/P01/level_m"].source_time == 0.0
    plant.advance(600.0)
    level = plant.latest()["flood/P01/level_m"]
    assert level.good and isinstance(level.value, float)
    with pytest.raises(ValueError, match="forward"):
        plant.advance(600.0)
    plant.close()
    plant.close()
    with pytest.raises(RuntimeError, match="closed"):
        plant.advance(1200.0)


def test_config_errors_name_the_field_and_hint() -> None:
    with pytest.raises(ValueError, match=r"alpha = 0\.7 .*sqrt\(theta/2\).*Hint"):
        FloodPlantConfig(alpha=0.7)
    with pytest.raises(ValueError, match=r"cell_m = 500.*Hint"):
        FloodPlantConfig(cell_m=500)
    with pytest.raises(ValueError, match=r"start .*timezone-aware"):
        FloodPlantConfig(start=OCT2020_START.replace(tzinfo=None))
    with pytest.raises(ValueError, match=r"rain_csv .*does not exist"):
        FloodPlantConfig(rain_csv=Path("no/such.csv"))
    with pytest.raises(ValueError, match=r"curve_number = 20"):
        FloodPlantConfig(curve_number=20)


# ---------------------------------------------------------------------- the river


def test_river_edges_and_river_at_rest() -> None:
    dem = _cached_dem(CELL_M)
    from sim.hydro.dongha_dem import GAUGE_DONG_HA

    layout = find_river_layout(dem, GAUGE_DONG_HA.xy)
    sides = {g.side: g for g in layout.boundaries}
    assert set(sides) == {"north", "east", "west"}  # Thạch Hãn out/in, Hiếu in
    assert sides["north"].outlet and sides["north"].offset_m < 0
    assert sides["west"].offset_m == pytest.approx(1e-4 * (sides["west"].along_m - 5028), 0.01)
    assert sides["west"].offset_m > 0.5
    h0 = initial_depth(dem.elevation, layout, 2.0)
    assert np.all(h0[layout.network] > 0)  # the channel is full
    eta = dem.elevation + h0
    assert eta[layout.gauge] == pytest.approx(2.0)
    row, col = dem.cell_of(*HOTSPOTS[0].xy)
    assert h0[row, col] == 0.0  # the town is dry


def test_river_gauge_follows_the_stage_hydrograph(tmp_path: Path) -> None:
    """17 Oct 00:00-04:00: the Hiếu rises from 2.72 m through alert II at 0.08 m/h."""
    plant = make_plant(tmp_path, rain=[(0, 0)], start=OCT2020_START + timedelta(hours=18))
    steps = run(plant, 4.0)
    checked = 0
    for k, changed in enumerate(steps):
        sample = changed.get("flood/P01/level_m")
        if k * 60 < 3600 or sample is None or sample.value is None:
            continue  # let the river settle for an hour
        assert sample.value == pytest.approx(plant.stage.at(k * 60.0), abs=0.3)
        checked += 1
    assert checked >= 30  # a reading every 5 min over 3 h
    assert plant.latest()["flood/P01/level_m"].value > 2.9  # it rose with the river
    assert plant.gauge_stage_m() == pytest.approx(plant.stage.at(4 * 3600.0), abs=0.3)
    # each gauge's truth is the river at its own cell: the upstream gauge (P02) stands
    # above Đông Hà station (P01), the downstream one (P03) below, on a sloping river
    p01, p02, p03 = (plant.true_level_m(p) for p in ("P01", "P02", "P03"))
    assert p02 > p01 > p03
    assert plant.latest()["flood/P01/level_m"].value == pytest.approx(p01, abs=0.1)
    with pytest.raises(KeyError, match="P99"):
        plant.true_level_m("P99")


def test_street_points_dry_then_wet_after_heavy_rain(tmp_path: Path) -> None:
    plant = make_plant(tmp_path, rain=[(0, 0), (3600, 100), (7200, 0)], stage=[(0, 2.0)])
    dry_points = [p for p in STREETS if site_depth(plant, p) == 0.0]
    assert len(dry_points) >= 7  # at 200 m a cell may be a stream joined to the river (P12)
    plant.start(0.0)
    for k in range(1, 61):
        plant.advance(k * 60.0)
    dry = plant.latest()
    for p in dry_points:
        assert dry[f"flood/{p}/level_m"].value == pytest.approx(0.0, abs=0.01), p
    for k in range(61, 181):
        plant.advance(k * 60.0)
    wet = plant.latest()
    assert wet["flood/P04/level_m"].value > 0.05  # Trường Chinh hotspot
    assert wet["flood/P04/rain_mm_h"].good  # P04 has a rain gauge
    assert plant.kpis()["flooded_area_km2"]["0.1"] > 0
    assert plant.solver.ledger.relative_error < 1e-9


# ------------------------------------------------------------------- run outputs


def test_uplinks_maps_kpis_and_ledger(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    plant = make_plant(tmp_path, rain=[(0, 60), (1800, 0)], stage=[(0, 2.0)], run_dir=run_dir)
    run(plant, 1.0)
    kpis = plant.kpis()
    plant.close()
    assert kpis["ledger"]["relative_error"] < 1e-9
    assert kpis["ledger"]["rain_m3"] > 0 and kpis["solver_steps"] > 0
    lines = (run_dir / "flood" / "uplinks.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == plant.uplink_count > 12  # every point reported about 12 times
    topics = {up_topic(s.application_id, s.dev_eui) for s in plant.catalog.sites}
    for line in lines:
        entry = json.loads(line)
        assert entry["topic"] in topics
        reading = decode_up_event(entry["message"])
        assert reading.site_id in plant.catalog.ids
    folder = run_dir / "flood"
    grid = json.loads((folder / "grid.json").read_text(encoding="utf-8"))
    assert grid["crs"] == "EPSG:32648" and grid["cell_m"] == CELL_M
    assert grid["ledger"]["relative_error"] < 1e-9
    assert np.load(folder / "max_depth_m.npy").shape == tuple(grid["shape"])
    assert np.load(folder / "dem_m.npy").shape == tuple(grid["shape"])
    arrival = np.load(folder / "arrival_s.npy")
    assert np.nanmax(arrival) <= 3600.0
    assert json.loads((folder / "kpis.json").read_text())["cells"] == 48 * 52


def test_same_seed_same_readings(tmp_path: Path) -> None:
    def readings(seed: int) -> list[dict[str, Sample]]:
        return run(make_plant(tmp_path, rain=[(0, 30)], stage=[(0, 2.0)], seed=seed), 0.5)

    first = readings(7)
    assert readings(7) == first
    assert readings(8) != first


def test_cells_of_xy_and_depth_at(tmp_path: Path) -> None:
    plant = make_plant(tmp_path, rain=[(0, 0)], stage=[(0, 2.0)])
    x, y = HOTSPOTS[0].xy
    with pytest.warns(UserWarning, match="1 of 2 points lie outside"):
        rows, cols = plant.cells_of_xy([x, 107.1], [y, 16.8])
    assert (rows[1], cols[1]) == (-1, -1)
    assert (rows[0], cols[0]) == plant.dem.cell_of(x, y)
    depth = plant.depth_at(rows, cols)
    assert depth[0] == 0.0 and math.isnan(depth[1])
    with pytest.raises(IndexError, match="outside"):
        plant.depth_at([999], [0])
    assert plant.depth_at([plant.layout.gauge[0]], [plant.layout.gauge[1]])[0] > 3.0


def test_uniform_curve_number_matches_the_general_one() -> None:
    rng = np.random.default_rng(1)
    mask = rng.random((5, 6)) > 0.3
    general = CurveNumber((5, 6), np.where(mask, 85.0, 100.0))
    uniform = UniformRainCurveNumber(mask, 85.0)
    h1 = rng.random((5, 6)) * 0.01
    h2 = h1.copy()
    for rain in (0.0, 0.002, 0.004, 0.0, 0.01, 0.03):
        h1 += rain
        h2 += rain
        np.testing.assert_allclose(uniform.take(h2, rain, 1.0), general.take(h1, rain, 1.0))
    np.testing.assert_allclose(h2, h1)


# -------------------------------------------------------------- the forcing files


def test_oct2020_rain_is_298_mm_in_the_first_18_hours() -> None:
    rain = load_rain_csv(OCT2020_RAIN_CSV, OCT2020_START)
    assert rain.times_s[0] == 0.0
    assert rain_depth_mm(rain, 0.0, 18 * 3600.0) == pytest.approx(298.0, abs=1e-9)
    rows = [
        line.split(",")
        for line in OCT2020_RAIN_CSV.read_text(encoding="utf-8").splitlines()
        if line[:1].isdigit()
    ]
    assert sum(float(v) * 0.5 for _, v in rows[:36]) == pytest.approx(298.0, abs=1e-9)
    peak = max(float(v) for _, v in rows)
    assert 45.0 <= peak <= 50.0
    later = rain_depth_mm(rain, 18 * 3600.0, 48 * 3600.0)
    assert 100.0 <= later <= 200.0  # ~120 mm/day over the remaining 30 h
    assert rain.rate(48 * 3600.0 + 1) == 0.0  # the last row stops the rain


def test_oct2020_stage_peaks_at_5_36_m_at_0330_on_18_october() -> None:
    stage = load_stage_csv(OCT2020_STAGE_CSV, OCT2020_START)
    k = int(np.argmax(stage.values))
    assert stage.values[k] == OCT2020_PEAK_STAGE_M == 5.36
    assert stage.times_s[k] == (OCT2020_PEAK_TIME - OCT2020_START).total_seconds()
    assert np.count_nonzero(stage.values == 5.36) == 1
    assert stage.at(0.0) == pytest.approx(2.0, abs=0.1)
    day17 = (OCT2020_START + timedelta(hours=18) - OCT2020_START).total_seconds()
    for alert in (3.0, 4.0):
        crossing = stage.times_s[np.argmax(stage.values >= alert)]
        assert day17 <= crossing < day17 + 86400.0
    assert 5.2 <= stage.at(48 * 3600.0) <= 5.3


BAD_FILES = [
    ("time,rain_mm_h\n0,1\n600,abc\n", "line 3, column 'rain_mm_h'"),
    ("# c\ntime,rain_mm_h\n0,1\n600,nan\n", "line 4, column 'rain_mm_h'.*not finite"),
    ("time,rain_mm_h\n0,1\n600,-2\n", "line 3, column 'rain_mm_h'.*negative"),
    ("time,rain_mm_h\n0,1\n600,2\n300,1\n", "line 4, column 'time'.*sort"),
    ("time,rain_mm_h\n0,1\n0,2\n", "line 3, column 'time'"),
    ("time,rain_mm_h\n2020-10-16T06:00,1\nyesterday,2\n", "line 3, column 'time'"),
    ("time,rain_mm_h\n0,1\n2020-10-16T07:00,2\n", "line 3, column 'time'.*mixes"),
    ("time,rain_mm_h\n0,1,3\n", "line 2: 3 cells for 2 columns"),
    ("time,rain\n0,1\n", "line 1: header"),
    ("# only a comment\n", "no data rows"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_rain_loader_rejects_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rain.csv"
    path.write_text(text)
    with pytest.raises(ForcingFileError, match=message):
        load_rain_csv(path, OCT2020_START)


def test_stage_loader_rejects_implausible_values(tmp_path: Path) -> None:
    path = tmp_path / "stage.csv"
    path.write_text("time,stage_m\n2020-10-16T06:00,2.0\n2020-10-16T07:00,536\n")
    with pytest.raises(ForcingFileError, match=r"line 3, column 'stage_m'.*cm or mm"):
        load_stage_csv(path, OCT2020_START)
    path.write_text("time,stage_m,note\n2020-10-16T06:00+07:00,2.0,x\n2020-10-16T06:30,2.5,y\n")
    stage = load_stage_csv(path, OCT2020_START)
    assert list(stage.times_s) == [0.0, 1800.0] and stage.at(900.0) == pytest.approx(2.25)


def test_rain_depth_is_exact_for_partial_intervals() -> None:
    rain = RainSeries.uniform_mm_h([0, 3600, 7200], [10, 20, 0])
    assert rain_depth_mm(rain, 1800, 5400) == pytest.approx(15.0)
    assert rain_depth_mm(rain, -100, 99999) == pytest.approx(30.0)
