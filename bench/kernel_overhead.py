"""Kernel overhead: the same SUMO scenario stepped by a bare libsumo loop and by the twin.

Both figures time the stepping loop alone (SUMO start-up and close excluded).
The twin run is the full stack (kernel, process image with every detector
point, Webster fixed-time controllers through the safety layer, conflict
monitors, Parquet recorder). The bare run replays the *same* SUMO command line
(same network, routes, vehicle types, detectors, seed, outputs) in a plain
``simulationStep`` loop that puts the twin's logged signal states on the same
junctions at the same times, so both runs simulate the same traffic. Each runs in its own
process (libsumo holds one simulation per process). Prints one JSON line:
steps per second of each and their ratio (twin / bare; target >= 0.8).

Usage: python bench/kernel_overhead.py [--duration 1800] [--scenario PATH] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_twin(scenario: Path, duration: float, out: Path) -> dict:
    """Full twin run (in this process); returns its timings."""
    from twin.run import run_scenario
    from twin.scenario import load_scenario

    s = load_scenario(scenario, {"duration": duration, "outputs": {"report": False}})
    result = run_scenario(s, out)
    manifest = json.loads((out / "manifest.json").read_text())
    steps = duration / s.plants.traffic.step_s
    return {
        "wall_s": manifest["timings_s"]["stepping_loop"],
        "steps": steps,
        "vehicles_completed": result.kpis["vehicles_completed"],
        "interlock_violations": result.kpis["interlock_violations"],
    }


def run_bare(twin_dir: Path, out: Path) -> dict:
    """Replay the twin run in a bare libsumo loop (in this process).

    Same SUMO command line, and the same signal states at the same times (read from
    the twin's ``signal_log.csv``), so both simulations are the same: only the twin's
    own work differs. The arrived-vehicle count proves it.
    """
    import libsumo

    cmd = (twin_dir / "sumo_command.txt").read_text().split()
    cmd = [
        c.replace(str(twin_dir), str(out))
        if c.startswith(str(twin_dir)) and not c.endswith(".add.xml") and "demand" not in c
        else c
        for c in cmd
    ]
    out.mkdir(parents=True, exist_ok=True)
    end = float(cmd[cmd.index("--end") + 1])
    step = float(cmd[cmd.index("--step-length") + 1])
    schedule: dict[float, list[tuple[str, str]]] = {}
    for line in (twin_dir / "signal_log.csv").read_text().splitlines()[1:]:
        t, tls, state = line.split(",")
        schedule.setdefault(float(t), []).append((tls, state))
    libsumo.start(cmd)
    steps = arrived = 0
    set_state = libsumo.trafficlight.setRedYellowGreenState
    tick = time.perf_counter()
    t = 0.0
    while t < end - 1e-9:
        for tls, state in schedule.get(t, ()):
            set_state(tls, state)
        t += step
        libsumo.simulationStep(t)
        arrived += libsumo.simulation.getArrivedNumber()
        steps += 1
    wall = time.perf_counter() - tick
    libsumo.close()
    return {"wall_s": wall, "steps": steps, "arrived": arrived}


def _child(kind: str, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario", type=Path, default=ROOT / "scenarios/dongha_morning_peak.yaml"
    )
    parser.add_argument("--duration", type=float, default=1800.0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "twin":
            print(json.dumps(run_twin(Path(rest[0]), float(rest[1]), Path(rest[2]))))
        else:
            print(json.dumps(run_bare(Path(rest[0]), Path(rest[1]))))
        return
    work = Path(tempfile.mkdtemp(prefix="bench_kernel_"))
    twin_rates, bare_rates = [], []
    try:
        for i in range(args.repeats):
            twin_dir = work / f"twin{i}"
            twin = _child("twin", str(args.scenario), str(args.duration), str(twin_dir))
            bare = _child("bare", str(twin_dir), str(work / f"bare{i}"))
            twin_rates.append(twin["steps"] / twin["wall_s"])
            bare_rates.append(bare["steps"] / bare["wall_s"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    twin_rate, bare_rate = max(twin_rates), max(bare_rates)
    print(
        json.dumps(
            {
                "bench": "kernel_overhead",
                "scenario": args.scenario.stem,
                "sim_duration_s": args.duration,
                "steps": int(twin["steps"]),
                "twin_steps_per_s": round(twin_rate, 1),
                "bare_libsumo_steps_per_s": round(bare_rate, 1),
                "ratio_twin_vs_bare": round(twin_rate / bare_rate, 3),
                "target_ratio": 0.8,
                "vehicles_completed": twin["vehicles_completed"],
                "bare_vehicles_arrived": bare["arrived"],
                "same_traffic": bare["arrived"] == twin["vehicles_completed"],
                "interlock_violations": twin["interlock_violations"],
                "repeats": args.repeats,
                "machine": f"{platform.machine()} {platform.python_version()}",
                "date": time.strftime("%Y-%m-%d"),
            }
        )
    )


if __name__ == "__main__":
    main()
