"""Real time, two processes, a crash: the city's central system (the adaptive signal
controllers) is SIGKILLed mid-run. The virtual NTCIP cabinets notice the silent heartbeat
and run their own plans (backup); a restarted central takes them back. An independent
ZeroMQ subscriber watches the cabinets' status, as the operations centre would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from controllers.io import Direction, PointSpec, ValueType
from controllers.signals.ntcip import UnitControlStatus, point_name
from hil.zmq import ZmqControllerLink
from twin.scenario import load_scenario
from twin.traffic_setup import signal_ids

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "dongha_morning_peak_adaptive.yaml"
TWIN = [sys.executable, "-m", "twin.cli"]
SPEED = "4"  # run seconds per wall second, on both sides


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _central(pub: str, rep: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*TWIN, "hil", "run-controller", str(SCENARIO), "signals", "--zmq", f"{pub},{rep}",
         "--mode", "realtime", "--speed", SPEED, "--duration", "300",
         "--plant-duration", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip


def test_killed_central_leaves_cabinets_on_backup_and_a_restart_takes_them_back(tmp_path):
    scenario = load_scenario(SCENARIO, {})
    assert scenario.plants.traffic is not None
    junctions = signal_ids(scenario.plants.traffic.signals)
    status = [
        PointSpec(point_name(j, "unit/control_status"), Direction.INPUT, "1", ValueType.INT)
        for j in junctions
    ]
    pub, rep = f"tcp://127.0.0.1:{_port()}", f"tcp://127.0.0.1:{_port()}"
    serve = subprocess.Popen(
        [*TWIN, "hil", "serve", str(SCENARIO), "--duration", "600", "--mode", "realtime",
         "--speed", SPEED, "--protocol", "zmq", "--pub", pub, "--rep", rep,
         "--out", str(tmp_path / "run")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    centrals: list[subprocess.Popen[str]] = []
    observer = ZmqControllerLink(pub, rep, status)

    def count(wanted: UnitControlStatus) -> int:
        return sum(1 for s in observer.latest().values() if s.value == wanted)

    try:
        observer.connect(60.0)
        centrals.append(_central(pub, rep))
        _wait(lambda: count(UnitControlStatus.SYSTEM_CONTROL) == len(junctions), 60.0,
              "every cabinet under the central's control")  # fmt: skip
        os.kill(centrals[0].pid, signal.SIGKILL)  # a crash: no goodbye
        centrals[0].wait(10)
        _wait(lambda: count(UnitControlStatus.BACKUP_MODE) == len(junctions), 30.0,
              "every cabinet on its own plan after the backup time")  # fmt: skip
        centrals.append(_central(pub, rep))
        _wait(lambda: count(UnitControlStatus.SYSTEM_CONTROL) == len(junctions), 60.0,
              "the restarted central to take every cabinet back")  # fmt: skip
        centrals[1].send_signal(signal.SIGTERM)
        centrals[1].wait(10)
        serve.send_signal(signal.SIGINT)  # end the session early; the report still comes
        out, err = serve.communicate(timeout=60)
    finally:
        observer.close()
        for process in (*centrals, serve):
            if process.poll() is None:
                process.kill()
    assert serve.returncode == 0, err[-2000:]
    served = json.loads(out.strip().splitlines()[-1])
    assert served["kpis"]["mmu_violations"] == 0
    assert set(served["kpis"]["backups"]) == set(junctions)  # each backed up after the kill
    assert served["kpis"]["bad_commands"] == 0
