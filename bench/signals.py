"""Signal control benchmark: five controllers on Đông Hà's morning peak, base and +30 % demand.

For each seed, the twin draws the weekday demand of the morning peak from
the scenario's tables (the seed drives the demand and SUMO), writes a SUMO
configuration, and ``twin signals bench`` runs every controller on it —
SUMO's own ``fixed`` / ``actuated`` / ``delay_based`` and the twin's
``maxpressure`` / ``adaptive`` (and ``adaptive+camera``: the adaptive
controller fed the city's ~85 %-accurate camera estimates). Same SUMO
build, same demand, same seeds, same change intervals for all.

Prints one JSON line per run, then one summary line per (demand, controller)
with means and 95 % confidence intervals (Student t over seeds), and one
line of target ratios per demand. Draws ``bench/results/signals.png``.

Usage: python bench/signals.py [--seeds 5] [--first-seed 1] [--duration 2h]
       [--jobs 2] [--out runs/bench-signals] [--results bench/results/signals.jsonl]
Road network © OpenStreetMap contributors (ODbL).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTROLLERS = ("fixed", "actuated", "delay_based", "maxpressure", "adaptive", "adaptive+camera")
METRICS = (
    "mean_delay_s",
    "mean_travel_time_s",
    "mean_waiting_s",
    "mean_stops",
    "mean_halting_vehicles",
    "max_halting_vehicles",
    "vehicles_completed",
    "teleports",
    "decision_ms_p99",
    "conflict_violations",
)
# Student t, two-sided 95 %, by degrees of freedom
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def ci95(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of the 95 % confidence interval (0 for one value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, 0.0
    t = _T95.get(len(values) - 1, 1.96)
    return mean, t * statistics.stdev(values) / math.sqrt(len(values))


def summarise(records: list[dict], demand: str) -> list[dict]:
    """Per controller: mean and 95 % CI of each metric over seeds; then the target ratios."""
    rows = [r for r in records if r["network"] == demand]
    out: list[dict] = []
    means: dict[str, float] = {}
    for c in CONTROLLERS:
        mine = [r for r in rows if r["controller"] == c]
        if not mine:
            continue
        line: dict = {
            "bench": "signals_summary",
            "network": demand,
            "controller": c,
            "runs": len(mine),
        }
        for m in METRICS:
            vals = [float(r[m]) for r in mine if r.get(m) is not None]
            if vals:
                mean, half = ci95(vals)
                line[m] = round(mean, 3)
                line[m + "_ci95"] = round(half, 3)
        means[c] = line.get("mean_delay_s", math.nan)
        out.append(line)
    best_builtin = min(means.get("actuated", math.inf), means.get("delay_based", math.inf))
    if "adaptive" in means and "fixed" in means and math.isfinite(best_builtin):
        out.append(
            {
                "bench": "signals_targets",
                "network": demand,
                "adaptive_vs_fixed": round(means["adaptive"] / means["fixed"], 3),
                "adaptive_vs_best_builtin": round(means["adaptive"] / best_builtin, 3),
                "camera_vs_best_builtin": round(
                    means.get("adaptive+camera", math.nan) / best_builtin, 3
                ),
                "maxpressure_vs_best_builtin": round(
                    means.get("maxpressure", math.nan) / best_builtin, 3
                ),
                "best_builtin": "actuated"
                if means.get("actuated", math.inf) <= means.get("delay_based", math.inf)
                else "delay_based",
                "targets": "adaptive_vs_fixed <= 0.75, adaptive_vs_best_builtin <= 0.90, "
                "camera_vs_best_builtin <= 0.95, decision p99 <= 10 ms",
            }
        )
    return out


def chart(records: list[dict], path: Path) -> None:
    """Bar chart: mean delay with 95 % CI per controller, one panel per demand."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    demands = sorted({r["network"] for r in records})
    fig, axes = plt.subplots(1, len(demands), figsize=(6 * len(demands), 4.2), squeeze=False)
    for ax, demand in zip(axes[0], demands, strict=True):
        names, means, halves = [], [], []
        for c in CONTROLLERS:
            vals = [
                r["mean_delay_s"]
                for r in records
                if r["network"] == demand and r["controller"] == c
            ]
            if vals:
                mean, half = ci95(vals)
                names.append(c.replace("+", "+\n"))
                means.append(mean)
                halves.append(half)
        colours = ["#999999", "#6a8caf", "#6a8caf", "#d9a441", "#2f7d32", "#7fb77e"][: len(names)]
        ax.bar(names, means, yerr=halves, capsize=4, color=colours)
        ax.set_title(f"Đông Hà morning peak — {demand}")
        ax.set_ylabel("mean delay per vehicle (s), 95 % CI")
        ax.tick_params(axis="x", labelsize=8)
    fig.text(0.01, 0.01, "Road network © OpenStreetMap contributors (ODbL)", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario", type=Path, default=ROOT / "scenarios/dongha_morning_peak.yaml"
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--duration", default="2h", help="simulated time per run (s or e.g. 2h)")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "runs/bench-signals")
    parser.add_argument("--results", type=Path, default=ROOT / "bench/results/signals.jsonl")
    parser.add_argument("--chart", type=Path, default=ROOT / "bench/results/signals.png")
    parser.add_argument("--controllers", default=",".join(CONTROLLERS))
    parser.add_argument("--demands", default="base,plus30")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from twin.scenario import parse_duration
    from twin.signal_setup import mix_pcu_per_vehicle
    from twin.signals_bench import BenchSettings, run_bench, scenario_sumocfg

    duration = parse_duration(args.duration)
    scales = {"base": 1.0, "plus30": 1.3}
    demands = [d for d in args.demands.split(",") if d]
    controllers = [c for c in args.controllers.split(",") if c]
    settings = BenchSettings(
        corridors=ROOT / "scenarios/dongha/corridors.yaml",
        pcu_per_vehicle=round(mix_pcu_per_vehicle(ROOT / "scenarios/dongha/vtypes.csv"), 4),
    )
    records: list[dict] = []
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with args.results.open("a", encoding="utf-8") as sink:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for demand in demands:
                folder = args.out / f"{demand}-s{seed}"
                folder.mkdir(parents=True, exist_ok=True)
                cfg = scenario_sumocfg(
                    args.scenario, folder / "demand", seed, scales[demand], duration
                )
                for record in run_bench(
                    cfg,
                    controllers,
                    [seed],
                    folder,
                    jobs=args.jobs,
                    settings=settings,
                    label=demand,
                ):
                    record["machine"] = platform.node()
                    records.append(record)
                    line = json.dumps(record, ensure_ascii=False)
                    print(line, flush=True)
                    sink.write(line + "\n")
                    sink.flush()
        for demand in demands:
            for line in summarise(records, demand):
                text = json.dumps(line, ensure_ascii=False)
                print(text, flush=True)
                sink.write(text + "\n")
    chart(records, args.chart)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
