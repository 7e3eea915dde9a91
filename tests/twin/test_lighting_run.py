"""The lighting pilot inside a scenario run: an evening with synthetic traffic and faults.

Without SUMO (``traffic: synthetic``) so it is quick; the SUMO coupling is exercised by
``test_sumo_road_users_reach_the_poles``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from twin.run import run_scenario
from twin.scenario import load_scenario
from viz.lighting_report import make_lighting_report

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "dongha_lighting_hung_vuong.yaml"


@pytest.fixture(scope="module")
def evening(tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("lighting")
    overrides = {
        "start": "2026-03-10T17:30:00+07:00",
        "duration": 3 * 3600.0,
        "plants": {
            "traffic": None,
            "lighting": {
                "traffic": "synthetic",
                "step_s": 5.0,
                "record_period_s": 60,
                "faults": [
                    {"kind": "lamp_failure", "target": "HV-E17", "at": "19:00"},
                    {"kind": "supply_loss", "target": "HV-C5", "at": "19:30", "until": "19:50"},
                ],
            },
        },
        "controllers": {"signals": None, "lighting": {"scan_period_s": 5.0}},
        "couplings": {"traffic_to_lighting": False},
    }
    scenario = load_scenario(SCENARIO, overrides)
    return run_scenario(scenario, folder / "run", scenario_file=SCENARIO)


def test_faults_are_found_from_the_metered_power(evening) -> None:  # type: ignore[no-untyped-def]
    kpis = evening.kpis["lighting"]
    assert kpis["faults_injected"] == 2
    assert kpis["faults_detected"] == 2
    assert all(0 < d <= 120 for d in kpis["detect_delay_s"])
    rows = list(csv.DictReader((evening.run_dir / "lighting" / "faults.csv").open()))
    assert {r["kind"] for r in rows} == {"lamp_failure", "supply_loss"}
    alerts = list(csv.DictReader((evening.run_dir / "lighting" / "alerts.csv").open()))
    codes = {(a["pole"], a["code"]) for a in alerts if a["kind"] == "raised"}
    assert ("HV-E17", "lampFailure") in codes
    assert any(code == "supplyLoss" for _, code in codes)


def test_energy_history_and_compliance_are_recorded(evening) -> None:  # type: ignore[no-untyped-def]
    kpis = evening.kpis["lighting"]
    history = np.load(evening.run_dir / "lighting" / "history.npz")
    energy = history["cabinet_energy_kwh"]
    assert energy.shape[1] == 6
    assert np.all(np.diff(energy, axis=0) >= -1e-9)
    assert kpis["energy_kwh"] == pytest.approx(float(energy[-1].sum()), rel=0.02)
    # lamps off before sunset (~18:05), dimmed below full after it
    light = history["light"]
    t = history["t_s"]
    assert light[t < 1200].max() == 0.0
    lit = light[t > 3600]
    assert 0.0 < np.median(lit) < 1.0
    # the supply loss darkened HV-C5 and broke its compliance while it lasted
    rows = list(csv.DictReader((evening.run_dir / "lighting" / "compliance.csv").open()))
    c5 = [r for r in rows if r["cabinet"] == "HV-C5" and r["required_class"]]
    during = [r for r in c5 if 7200 < float(r["t_s"]) < 8400]
    assert during and all(r["met"] == "0" for r in during)
    assert 0.5 < kpis["compliance_share"] < 1.0
    summary = json.loads((evening.run_dir / "kpis.json").read_text())
    assert summary["lighting"]["configuration"] == "led_adaptive"


def test_the_report_draws_from_the_run_folder(evening) -> None:  # type: ignore[no-untyped-def]
    png = make_lighting_report(evening.run_dir)
    assert png.stat().st_size > 20_000


def test_sumo_road_users_reach_the_poles(tmp_path: Path) -> None:
    """15 min of the bundled scenario with SUMO: vehicles on Hùng Vương trigger the poles."""
    overrides = {
        "duration": 900.0,
        "plants": {"traffic": {"demand": {"scale": 0.5}}, "lighting": {"faults": []}},
        "outputs": {"record_period_s": 60, "report": False},
    }
    scenario = load_scenario(SCENARIO, overrides)
    result = run_scenario(scenario, tmp_path / "run", scenario_file=SCENARIO)
    kpis = result.kpis["lighting"]
    assert kpis["motion_users_seen"] > 100
    history = np.load(result.run_dir / "lighting" / "history.npz")
    counted = [
        e
        for e in map(json.loads, (result.run_dir / "events.jsonl").read_text().splitlines())
        if e.get("kind") == "lighting"
    ]
    assert counted and counted[0]["watched_edges"] > 5
    assert history["level"].shape[1] == 128
