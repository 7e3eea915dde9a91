"""The cooperatives inside a scenario run: smart vs fixed in one run, the fog node, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from hil.fog import FogStore
from twin.run import run_scenario
from twin.scenario import load_scenario
from viz.agri_report import make_agri_report

REPO = Path(__file__).resolve().parents[2]
JUNE = REPO / "scenarios" / "dongha_agri_laos_wind_june.yaml"
DRILL = REPO / "scenarios" / "dongha_agri_fog_drill.yaml"


@pytest.fixture(scope="module")
def two_days(tmp_path_factory):  # type: ignore[no-untyped-def]
    overrides = {
        "duration": "2d",
        "plants": {
            "agri": {
                "sites": ["DT"],
                "step_s": 60,
                "net_house_climate": False,
                "fertigation": False,
                "initial_depletion_fraction": 0.4,
            }
        },
        "outputs": {"record_period_s": 3600},
    }
    scenario = load_scenario(JUNE, overrides)
    return run_scenario(scenario, tmp_path_factory.mktemp("agri") / "run", scenario_file=JUNE)


def test_smart_and_fixed_are_compared_in_one_run(two_days) -> None:  # type: ignore[no-untyped-def]
    block = two_days.kpis["agri"]["DT"]
    smart, fixed, comp = block["kpis"], block["fixed_kpis"], block["comparison"]
    assert smart["water_m3"] > 0 and fixed["water_m3"] > 0
    assert comp["water_saving"] == pytest.approx(
        1 - smart["water_m3"] / fixed["water_m3"], abs=1e-3
    )
    # paired: the same weather and crops, so the same rain and crop demand
    assert smart["rain_mm"] == fixed["rain_mm"]
    assert smart["in_season_plot_days"] == fixed["in_season_plot_days"]
    households = smart["water_m3_by_household"]
    assert len(households) == 26
    assert sum(households.values()) == pytest.approx(smart["water_m3"], rel=1e-3)
    rows = list(csv.DictReader((two_days.run_dir / "agri" / "DT_daily.csv").open()))
    assert {r["controller"] for r in rows} == {"smart", "fixed"}
    assert len(rows) == 4
    irrigated = sum(float(r["irrigation_mm"]) for r in rows if r["controller"] == "smart")
    assert irrigated == pytest.approx(smart["water_mm"] * 0.9, rel=0.02)  # net of losses
    assert make_agri_report(two_days.run_dir).stat().st_size > 10_000


def test_fog_node_records_every_scan_and_stays_safe(tmp_path: Path) -> None:
    overrides = {
        "duration": "3h",
        "plants": {
            "agri": {
                "initial_depletion_fraction": 0.5,  # plots need water within the hour
                "faults": [{"kind": "pump_failure", "target": "DT", "at": 1800, "until": 5400}],
            }
        },
    }
    scenario = load_scenario(DRILL, overrides)
    result = run_scenario(scenario, tmp_path / "run", scenario_file=DRILL)
    block = result.kpis["agri"]["DT"]
    assert block["alarms"].get("PRESSURE_LOST", 0) >= 1
    store = FogStore(tmp_path / "run" / "agri" / "fog_DT.sqlite")
    try:
        records = store.records()
        seqs = [r.seq for r in records]
        assert seqs == list(range(1, len(seqs) + 1))
        scans = [r for r in records if r.kind == "telemetry"]
        by_ctrl: dict[str, list[float]] = {}
        for r in scans:
            by_ctrl.setdefault(r.body["controller"], []).append(r.run_s)
        assert len(by_ctrl["irrigation/DT"]) == 3 * 60 + 1  # every 60 s scan, 0..3 h
        assert len(by_ctrl["fertigation/DT"]) == 3 * 360 + 1
        alarms = [r for r in records if r.kind == "event" and r.body.get("type") == "alarm"]
        lost = [a.run_s for a in alarms if a.body["alarm"]["code"] == "PRESSURE_LOST"]
        assert lost and 1800 < lost[0] <= 1800 + 4 * 3600
        # from the alarm to the end of the lockout (1 h) no valve is open
        locked = [
            r
            for r in scans
            if r.body["controller"] == "irrigation/DT" and lost[0] <= r.run_s < lost[0] + 3600
        ]
        assert len(locked) >= 30
        for r in locked:
            assert not any(v["v"] for k, v in r.body["outputs"].items() if k.endswith("valve_open"))
    finally:
        store.close()


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"plants": {"agri": {"step_s": 60}}}, "step_s"),
        (
            {
                "plants": {
                    "agri": {"faults": [{"kind": "probe_dead", "target": "DT-H99-P1", "at": 0}]}
                }
            },
            "DT-H99-P1",
        ),
        ({"plants": {"agri": None}}, "controllers.irrigation needs plants.agri"),
        (
            {
                "plants": {
                    "agri": {"faults": [{"kind": "probe_dead", "target": "AL-H01-P1", "at": 0}]}
                }
            },
            "not on a simulated site",
        ),
    ],
)
def test_bad_agri_input_is_named(tmp_path: Path, override: dict, match: str) -> None:
    scenario = load_scenario(DRILL, {"duration": 600, **override})
    with pytest.raises(ValueError, match=match):
        run_scenario(scenario, tmp_path / "run", scenario_file=DRILL)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "setup_failed"
