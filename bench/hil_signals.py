"""HIL benchmark of the city's signals: 21 NTCIP cabinets and their central, lock-step.

Đông Hà's morning peak with the adaptive controllers as the central system of
virtual NTCIP cabinets in front of SUMO (``twin hil serve --device signals``),
run three ways on the same seed: in-process (the peer), over ZeroMQ and over
OPC-UA (no message security), each in lock-step. Reported per way: wall time,
steps per second, × real time, and the ratio of its wall time to the in-process
run measured in the same benchmark; ``same_states`` says whether SUMO showed
the same signal states all three ways (it must). The controller side runs in a
thread of this process (:func:`twin.hil_session.run_over_link`; one interpreter,
so the bridge's cost includes the GIL).

    .venv/bin/python bench/hil_signals.py [--seconds 600]

Prints one JSON line; ``make bench-hil-signals`` appends it to
bench/results/hil_signals.jsonl.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controllers.io import Direction  # noqa: E402
from hil.opcua import OpcUaControllerLink, OpcUaField, OpcUaUser, Security  # noqa: E402
from hil.zmq import ZmqControllerLink, ZmqField  # noqa: E402
from twin.controller_group import ControllerGroup  # noqa: E402
from twin.hil_session import run_inprocess, run_over_link  # noqa: E402
from twin.rng import RngRegistry  # noqa: E402
from twin.scenario import load_scenario  # noqa: E402
from twin.signal_cabinets import CabinetField, cabinets_for, centrals_for  # noqa: E402
from twin.traffic_setup import build_traffic  # noqa: E402

SCENARIO = ROOT / "scenarios" / "dongha_morning_peak_adaptive.yaml"


def _build(seconds: float, folder: Path) -> tuple[CabinetField, ControllerGroup]:
    scenario = load_scenario(SCENARIO, {"duration": seconds})
    parts = build_traffic(scenario, folder, RngRegistry(scenario.seed))
    field = CabinetField(parts.plant, cabinets_for(parts.controllers))
    return field, ControllerGroup("signals", centrals_for(parts.controllers))


def _remote(field: CabinetField, central: ControllerGroup, steps: int, protocol: str) -> None:
    inputs = [p for p in central.points() if p.direction is Direction.INPUT]
    outputs = [p for p in central.points() if p.direction is Direction.OUTPUT]
    endpoint: Any
    if protocol == "zmq":
        endpoint = ZmqField(list(field.points()))
        endpoint.start()
        link: Any = ZmqControllerLink(endpoint.pub_endpoint, endpoint.rep_endpoint, inputs)
    else:
        operator = OpcUaUser.with_password("bench", "bench-secret-1", "operator")
        endpoint = OpcUaField(
            list(field.points()), run_start_utc_s=1.8e9, security=Security.NONE, users=[operator]
        )
        endpoint.start()
        link = OpcUaControllerLink(
            endpoint.url, inputs, outputs, user="bench", password="bench-secret-1"
        )
    link.connect(30.0)
    run_over_link(field, endpoint, link, central, steps, timeout_s=60.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="run time (s)")
    args = parser.parse_args()
    steps = round(args.seconds)
    ways: dict[str, Callable[[CabinetField, ControllerGroup], object]] = {
        "in_process": lambda f, c: run_inprocess(f, c, steps),
        "zmq": lambda f, c: _remote(f, c, steps, "zmq"),
        "opcua_none": lambda f, c: _remote(f, c, steps, "opcua"),
    }
    figures: dict[str, Any] = {}
    logs: dict[str, list[tuple[float, str, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-hil-signals-") as tmp:
        for name, run in ways.items():
            field, central = _build(args.seconds, Path(tmp) / name)
            points = len(field.points())
            tick = time.perf_counter()
            run(field, central)
            wall = time.perf_counter() - tick
            logs[name] = field.plant.signal_log
            figures[name] = {
                "wall_s": round(wall, 2),
                "steps_per_s": round(steps / wall, 1),
                "x_real_time": round(args.seconds / wall, 2),
                "mmu_violations": field.mmu_violations,
            }
    base = figures["in_process"]["wall_s"]
    for name in ("zmq", "opcua_none"):
        figures[name]["wall_vs_in_process"] = round(figures[name]["wall_s"] / base, 2)
    line = {
        "bench": "hil_signals",
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "junctions": len(field.cabinets),
        "points": points,
        "seconds": args.seconds,
        **figures,
        "same_states": logs["zmq"] == logs["in_process"] == logs["opcua_none"],
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
