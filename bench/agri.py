"""Agriculture benchmark: a full season at both cooperatives, smart control vs the fixed schedule.

An Lạc: the chrysanthemum season, first planting 1 Sep to the last harvest before Tết
(150 days, 8 weekly cohorts, net houses). Đông Thanh: the dry-season leafy vegetables,
first planting 6 Jan (104 days, 5 weekly cohorts, open field). Each plot grows one cycle.
Both controllers run on the same synthetic weather (seeded, from Đông Hà's normals), the
same plant seed (same probes, meters and forecasts), lock-step (``twin/agri_season.py``);
irrigation only (misting and fertigation are covered by the month scenarios).

Figures: water per site (m³ and mm) and the saving, pump energy, stress days (in-season
plot-days with ETa < 0.99 ETc), the yield-loss proxy, simulation speed (×real time),
and the peer: our vectorised FAO-56 water balance against pyfao56 (USDA) on the same
inputs, each plot from planting to harvest with the season's ET0, rain and the smart
run's irrigation — plot-days per second of both, the speed-up, and the depletion RMSE.
Target (issue 6): >= 30 % less water than the fixed schedule with no more stress days.

    .venv/bin/python bench/agri.py [--seed 1] [--no-peer]

Prints one JSON line; ``make bench-agri`` appends it to bench/results/agri.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.agri.crops import CROPS  # noqa: E402
from sim.agri.plant import AgriPlant, AgriPlantConfig  # noqa: E402
from sim.agri.sites import load_sites  # noqa: E402
from sim.agri.water_balance import RootZoneBalance  # noqa: E402
from sim.weather import LOCAL_TZ  # noqa: E402
from twin.agri_season import compare_site, season_weather, summarise_pair  # noqa: E402

SEASONS = {
    "AL": (datetime(2024, 9, 1, tzinfo=LOCAL_TZ), 150),
    "DT": (datetime(2025, 1, 6, tzinfo=LOCAL_TZ), 104),
}


def _plot_inputs(plant: AgriPlant) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per plot, from its planting day: ET0 (its net-house factor applied), rain and the
    run's net irrigation (mm/d), shape (max season days, n plots); and season lengths."""
    hist = {d["date"]: d for d in plant.history}
    plots = plant.site.plots
    seasons = np.array([int(CROPS[p.crop].season_length_days) for p in plots])
    n_days = int(seasons.max())
    et0 = np.zeros((n_days, len(plots)))
    rain = np.zeros_like(et0)
    irr = np.zeros_like(et0)
    for i, p in enumerate(plots):
        for d in range(seasons[i]):
            day = p.planted + timedelta(days=d)
            rec = hist.get(day)
            if rec is None:
                continue
            et0[d, i] = plant._et0_by_date[day] * plant._et_factor[i]
            rain[d, i] = rec["rain_mm"]
            irr[d, i] = rec["irrigation_mm"][i]
    return et0, rain, irr, seasons


def _ours(
    plant: AgriPlant, et0: np.ndarray, rain: np.ndarray, irr: np.ndarray
) -> tuple[np.ndarray, float]:
    soil = plant.site.soil
    tick = time.perf_counter()
    wb = RootZoneBalance([CROPS[p.crop] for p in plant.site.plots], soil.theta_fc, soil.theta_wp)
    dr = np.array([wb.advance_day(et0[d], rain[d], irr[d]).dr for d in range(et0.shape[0])])
    return dr, time.perf_counter() - tick


def _pyfao56(
    plant: AgriPlant, et0: np.ndarray, rain: np.ndarray, irr: np.ndarray, seasons: np.ndarray
) -> tuple[list[np.ndarray], float]:
    import pyfao56

    soil = plant.site.soil
    out: list[np.ndarray] = []
    tick = time.perf_counter()
    for i, p in enumerate(plant.site.plots):
        crop = CROPS[p.crop]
        par = pyfao56.Parameters(
            Kcbini=crop.kc_ini, Kcbmid=crop.kc_mid, Kcbend=crop.kc_end,
            Kcmini=crop.kc_ini, Kcmmid=crop.kc_mid, Kcmend=crop.kc_end,
            Lini=int(crop.l_ini), Ldev=int(crop.l_dev), Lmid=int(crop.l_mid),
            Lend=int(crop.l_late), hini=0.05, hmax=crop.max_height_m,
            thetaFC=soil.theta_fc, thetaWP=soil.theta_wp, theta0=soil.theta_fc,
            Zrini=crop.zr_min, Zrmax=crop.zr_max, pbase=crop.p, Ze=0.01, REW=5.0,
        )  # fmt: skip
        wth = pyfao56.Weather()
        wth.wndht = 2.0
        wth.rfcrp = "S"
        events = pyfao56.Irrigation()
        year = 2023
        for d in range(seasons[i]):
            key = f"{year}-{d + 1:03d}"
            wth.wdata.loc[key] = [math.nan] * 7 + [2.0, float(rain[d, i]), float(et0[d, i]), "M"]
            wth.wdata.loc[key, "RHmin"] = 45.0
            if irr[d, i] > 0:
                events.addevent(year, d + 1, float(irr[d, i]), 1.0)
        model = pyfao56.Model(f"{year}-001", f"{year}-{seasons[i]:03d}", par, wth, irr=events)
        model.run()
        out.append(model.odata["Dr"].to_numpy(dtype=float))
    return out, time.perf_counter() - tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-peer", action="store_true", help="skip the pyfao56 comparison")
    args = parser.parse_args()
    sites = {s.id: s for s in load_sites()}
    cfg = AgriPlantConfig(repeat_gap_d=None)
    line: dict[str, Any] = {
        "bench": "agri_season",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "seed": args.seed,
        "sites": {},
    }
    ours_s, theirs_s, plot_days = 0.0, 0.0, 0
    rmse_mm: list[float] = []
    for k, (sid, (start, days)) in enumerate(SEASONS.items()):
        weather = season_weather(start, days, args.seed * 100 + k)
        smart, fixed = compare_site(
            sites[sid], weather, start=start, days=days, seed=args.seed * 100 + 50 + k,
            plant_config=cfg,
        )  # fmt: skip
        summary = summarise_pair(smart, fixed)
        summary["wall_s"] = {"smart": round(smart.wall_s, 1), "fixed": round(fixed.wall_s, 1)}
        line["sites"][sid] = summary
        if not args.no_peer:
            et0, rain, irr, seasons = _plot_inputs(smart.plant)
            ours, t_ours = _ours(smart.plant, et0, rain, irr)
            theirs, t_theirs = _pyfao56(smart.plant, et0, rain, irr, seasons)
            ours_s += t_ours
            theirs_s += t_theirs
            plot_days += int(seasons.sum())
            for i, dr in enumerate(theirs):
                n = seasons[i]
                rmse_mm.append(float(np.sqrt(np.mean((ours[:n, i] - dr[:n]) ** 2))))
    s = line["sites"]
    line["water_saving"] = {sid: s[sid]["water_saving"] for sid in s}
    line["stress_days"] = {sid: s[sid]["stress_days"] for sid in s}
    line["target_met"] = all(
        s[sid]["water_saving"] >= 0.30
        and s[sid]["stress_days"]["smart"] <= s[sid]["stress_days"]["fixed"]
        for sid in s
    )
    if not args.no_peer:
        line["peer"] = {
            "name": "pyfao56 Model (USDA), one run per plot, same inputs",
            "plot_days": plot_days,
            "ours_plot_days_per_s": round(plot_days / ours_s),
            "pyfao56_plot_days_per_s": round(plot_days / theirs_s, 1),
            "speedup_vs_pyfao56": round(theirs_s / ours_s, 1),
            "depletion_rmse_mm_max": float(f"{max(rmse_mm):.3g}"),
            "depletion_rmse_mm_mean": float(f"{float(np.mean(rmse_mm)):.3g}"),
        }
    print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main()
