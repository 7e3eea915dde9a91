"""`twin hil serve` and `twin hil run-controller` as two real processes over ZeroMQ and OPC-UA."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from twin.hil_devices import build_site_controller, build_site_plant
from twin.hil_session import run_inprocess
from twin.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "dongha_agri_hil_dt.yaml"
TWIN = [sys.executable, "-m", "twin.cli"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pair(
    serve_args: list[str],
    ctrl_args: list[str],
    *,
    scenario: Path = SCENARIO,
    controller: str = "irrigation/DT",
    duration: str = "1h",
    before_controller: Callable[[subprocess.Popen[str]], None] | None = None,
) -> tuple[dict, dict]:
    """`twin hil serve` and `twin hil run-controller` as two processes; their JSON reports."""
    serve = subprocess.Popen(
        [*TWIN, "hil", "serve", str(scenario), "--duration", duration, *serve_args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        if before_controller is not None:
            before_controller(serve)
        ctrl = subprocess.run(
            [*TWIN, "hil", "run-controller", str(scenario), controller, *ctrl_args],
            capture_output=True, text=True, cwd=REPO, timeout=300,
        )  # fmt: skip
        out, err = serve.communicate(timeout=300)
    finally:
        serve.kill()
    assert serve.returncode == 0, err[-2000:]
    assert ctrl.returncode == 0, ctrl.stderr[-2000:]
    return json.loads(out.strip().splitlines()[-1]), json.loads(
        ctrl.stdout.strip().splitlines()[-1]
    )


def _reference_water_m3() -> float:
    scenario = load_scenario(SCENARIO, {"duration": "1h"})
    plant = build_site_plant(scenario, "DT")
    run_inprocess(plant, build_site_controller(scenario, "irrigation/DT"), 60)
    return float(plant.kpis()["water_m3"])


@pytest.mark.parametrize("protocol", ["zmq", "opcua", "opcua_secure"])
def test_serve_and_run_controller_in_two_processes(protocol: str, tmp_path: Path) -> None:
    if protocol == "zmq":
        pub, rep = f"tcp://127.0.0.1:{_port()}", f"tcp://127.0.0.1:{_port()}"
        served, ran = _pair(
            ["--protocol", "zmq", "--pub", pub, "--rep", rep], ["--zmq", f"{pub},{rep}"]
        )
    else:
        url = f"opc.tcp://127.0.0.1:{_port()}/dongha"
        secure: list[str] = []
        if protocol == "opcua_secure":  # Basic256Sha256 SignAndEncrypt with certificates
            made = subprocess.run(
                [*TWIN, "hil", "certs", str(tmp_path / "certs"), "--hostname", "127.0.0.1"],
                capture_output=True, text=True, cwd=REPO, timeout=60,
            )  # fmt: skip
            assert made.returncode == 0, made.stderr[-2000:]
            assert Path(json.loads(made.stdout)["server_cert"]).is_file()
            secure = ["--certs", str(tmp_path / "certs")]
        served, ran = _pair(
            ["--protocol", "opcua", "--url", url, "--user", "op", "--password", "pw-1", *secure],
            ["--opcua", url, "--user", "op", "--password", "pw-1", *secure],
        )
    assert served["steps"] == 60
    assert ran == {"controller": "irrigation/DT", "scans": 60, "ended_by": "field_end",
                   "write_failures": 0}  # fmt: skip
    # the same water as the controller in-process: nothing lost over the wire
    assert served["kpis"]["water_m3"] == pytest.approx(_reference_water_m3(), rel=1e-12)
    assert served["kpis"]["water_m3"] > 0


def test_signal_cabinets_served_and_driven_by_the_central_in_two_processes(
    tmp_path: Path,
) -> None:
    """Đông Hà's 21 junctions: virtual NTCIP cabinets in front of SUMO in one process, the
    adaptive controllers as their central system in another, over ZeroMQ."""
    pub, rep = f"tcp://127.0.0.1:{_port()}", f"tcp://127.0.0.1:{_port()}"
    served, ran = _pair(
        ["--protocol", "zmq", "--pub", pub, "--rep", rep, "--out", str(tmp_path / "run")],
        ["--zmq", f"{pub},{rep}", "--plant-duration", "180"],
        scenario=REPO / "scenarios" / "dongha_morning_peak_adaptive.yaml",
        controller="signals",
        duration="180",
    )
    assert served["device"] == "signals" and served["steps"] == 180
    assert served["kpis"]["mmu_violations"] == 0
    assert served["kpis"]["backups"] == {}  # the central's heartbeat never went silent
    assert served["kpis"]["bad_commands"] == 0
    assert ran == {"controller": "signals", "scans": 180, "ended_by": "field_end",
                   "write_failures": 0, "plan_mismatches": 0,
                   "disagreements": 0}  # fmt: skip
    assert (tmp_path / "run" / "demand").is_dir()


def test_lighting_cabinets_over_opcua_with_the_mapping_file_serve_writes(tmp_path: Path) -> None:
    """The lighting controller, unchanged, reaches the TALQ-named nodes through the
    mapping file that `twin hil serve --map` wrote."""
    url, mapping = f"opc.tcp://127.0.0.1:{_port()}/dongha", tmp_path / "talq.csv"
    login = ["--user", "op", "--password", "pw-1"]

    def wait_for_the_map(serve: subprocess.Popen[str]) -> None:
        deadline = time.monotonic() + 120
        while not mapping.exists() and serve.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert mapping.exists(), "serve wrote no mapping file"

    served, ran = _pair(
        ["--protocol", "opcua", "--url", url, "--map", str(mapping), *login],
        ["--opcua", url, "--map", str(mapping), *login],
        scenario=REPO / "scenarios" / "dongha_lighting_hil.yaml",
        controller="lighting",
        duration="60",
        before_controller=wait_for_the_map,
    )
    assert served["device"] == "lighting" and served["steps"] == 60
    assert ran["controller"] == "lighting" and ran["scans"] == 60
    assert ran["ended_by"] == "field_end" and ran["write_failures"] == 0
    assert "light/HV-E17/dim_pct,ns=" in mapping.read_text(encoding="utf-8")


def test_flood_boxes_served_and_their_controllers_in_two_processes(tmp_path: Path) -> None:
    """The 12 warning points' boxes (gauges, sirens) in one process, their warning
    controllers in another, over ZeroMQ: the same warnings as in-process."""
    from twin.hil_flood import build_flood_controller_for_hil, build_gauge_field

    scenario_file = REPO / "scenarios" / "dongha_flood_hil.yaml"
    pub, rep = f"tcp://127.0.0.1:{_port()}", f"tcp://127.0.0.1:{_port()}"
    served, ran = _pair(
        ["--protocol", "zmq", "--pub", pub, "--rep", rep, "--out", str(tmp_path / "run")],
        ["--zmq", f"{pub},{rep}"],
        scenario=scenario_file,
        controller="flood",
        duration="2h",
    )
    assert served["device"] == "flood" and served["steps"] == 120
    assert ran == {"controller": "flood", "scans": 120, "ended_by": "field_end",
                   "write_failures": 0}  # fmt: skip
    scenario = load_scenario(scenario_file, {"duration": "2h"})
    field = build_gauge_field(scenario, tmp_path / "local")
    run_inprocess(field, build_flood_controller_for_hil(scenario, "flood"), 120)
    levels = [v for n, v in field.shown.items() if n.endswith("/warning_level")]
    assert served["kpis"]["highest_warning"] == max(levels)
    assert served["kpis"]["siren_s"] == {
        n.split("/")[1]: s for n, s in sorted(field.siren_s().items())
    }


def test_bad_options_are_refused_before_anything_starts(tmp_path: Path) -> None:
    out = tmp_path / "run"
    served = subprocess.run(
        [*TWIN, "hil", "serve", str(SCENARIO), "--mode", "warp", "--speed", "0",
         "--out", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert served.returncode == 2
    assert "--mode 'warp'" in served.stderr and "--speed 0.0" in served.stderr
    assert not out.exists()
    ran = subprocess.run(
        [*TWIN, "hil", "run-controller", str(SCENARIO), "irrigation/DT", "--mode", "warp"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 2 and "--mode 'warp'" in ran.stderr
