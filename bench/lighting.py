"""Street-lighting benchmark: a sampled year of the Hùng Vương pilot, three configurations.

The existing 250 W sodium lanterns on an astro-clock schedule (the baseline and peer),
100 W LED on the same schedule, and LED under the adaptive controller (CIE 115 class per
time band from measured traffic, commissioned dim levels, motion boosts), all on the same
synthetic traffic (same seed) and the same photometry. How the year is sampled:
``twin/lighting_year.py``.

Figures: yearly energy, CO2, cost, lamp-hours and EN 13201 class compliance of each;
energy ratio against the sodium baseline; simulation speed (simulated night-hours per
wall second, ×real time) per configuration. Target (issue 5): adaptive LED saves
>= 60 % of the sodium energy with 100 % class compliance.

    .venv/bin/python bench/lighting.py [--nights 26] [--step 30]

Prints one JSON line; ``make bench-lighting`` appends it to bench/results/lighting.jsonl.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin.lighting_year import compare_configurations  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=26, help="sampled nights (1..366)")
    parser.add_argument("--step", type=float, default=30.0, help="exchange step (s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--year", type=int, default=2026)
    args = parser.parse_args()
    tick = time.perf_counter()
    rows = compare_configurations(
        year=args.year, nights=args.nights, seed=args.seed, step_s=args.step
    )
    by_name = {r["configuration"]: r for r in rows}
    adaptive, sodium = by_name["led_adaptive"], by_name["sodium_fixed"]
    saving = 1.0 - adaptive["energy_kwh_year"] / sodium["energy_kwh_year"]
    line = {
        "bench": "lighting",
        "date": time.strftime("%Y-%m-%d"),
        "host": platform.node(),
        "python": platform.python_version(),
        "year": args.year,
        "nights": args.nights,
        "step_s": args.step,
        "seed": args.seed,
        "configurations": rows,
        "adaptive_saving_vs_sodium": round(saving, 4),
        "led_fixed_saving_vs_sodium": round(
            1.0 - by_name["led_fixed"]["energy_kwh_year"] / sodium["energy_kwh_year"], 4
        ),
        "adaptive_compliance_share": adaptive["compliance_share"],
        "target": "adaptive saving >= 0.60 with compliance_share == 1.0",
        "target_met": bool(saving >= 0.60 and adaptive["compliance_share"] == 1.0),
        "wall_s": round(time.perf_counter() - tick, 1),
    }
    print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main()
