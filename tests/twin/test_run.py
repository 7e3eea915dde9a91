"""End-to-end runs of the bundled Đông Hà scenario (short), through the whole stack."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from twin.run import run_scenario
from twin.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "dongha_morning_peak.yaml"
FAILED_JUNCTION = "LeDuan_LeQuyDon"
BLINDED_JUNCTION = "LeDuan_TranHungDao"
FAULTS = [
    {"at": 120, "kind": "sensor_fault", "points": f"tls/{FAILED_JUNCTION}/det/*"},
    {"at": 240, "kind": "controller_fail", "controller": f"signals/{FAILED_JUNCTION}"},
    {"at": 300, "kind": "sensor_fault", "points": f"tls/{BLINDED_JUNCTION}/state_actual"},
    {"at": 310, "kind": "controller_fail", "controller": "monitor/conflicts"},
]


def short_run(out: Path, seed: int = 11, duration: float = 420, events: list | None = None):
    overrides = {"duration": duration, "seed": seed, "outputs": {"record_period_s": 5}}
    if events is not None:
        overrides["events"] = events
    scenario = load_scenario(SCENARIO, overrides)
    return run_scenario(scenario, out, scenario_file=SCENARIO)


@pytest.fixture(scope="module")
def faulted_run(tmp_path_factory):
    """Seven minutes with a detector fault at 120 s and a controller crash at 240 s."""
    out = tmp_path_factory.mktemp("run") / "faulted"
    result = short_run(
        out,
        events=FAULTS,
    )
    return result


def test_run_folder_holds_everything_needed(faulted_run):
    run_dir = faulted_run.run_dir
    for name in (
        "scenario.yaml",
        "scenario.json",
        "manifest.json",
        "points.parquet",
        "events.jsonl",
        "kpis.json",
        "signal_plans.json",
        "tripinfo.xml",
        "demand/routes.rou.xml",
    ):
        assert (run_dir / name).is_file(), name
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["seed"] == 11 and manifest["status"] == "completed"
    assert set(manifest["derived_seeds"]) == {"demand", "sumo"}
    assert manifest["versions"]["eclipse-sumo"].startswith("1.")
    assert "revision" in manifest["git"]
    net = manifest["inputs"]["plants.traffic.network"]
    assert len(net["sha256"]) == 64 and net["path"].endswith("dongha.net.xml")
    # the scenario as run is itself a valid scenario: a run can be repeated from its folder
    again = load_scenario(run_dir / "scenario.json")
    assert again.seed == 11 and again.duration == 420 and len(again.events) == len(FAULTS)


def test_kpis_cover_classes_junctions_and_interlocks(faulted_run):
    kpis = faulted_run.kpis
    assert kpis["vehicles_completed"] > 20
    assert kpis["interlock_violations"] == 0
    assert kpis["mean_travel_time_s"] > kpis["mean_delay_s"] > 0
    assert "motorbike" in kpis["by_class"] and "car" in kpis["by_class"]
    assert (
        sum(c["vehicles_completed"] for c in kpis["by_class"].values())
        == (kpis["vehicles_completed"])
    )
    signals = json.loads((faulted_run.run_dir / "signal_plans.json").read_text())["plans"]
    assert set(kpis["max_queue_m"]) == set(signals) and len(signals) >= 15
    by_class = kpis["max_queued_vehicles_by_class"]
    assert set(by_class) == set(signals)
    assert max(q.get("motorbike", 0) for q in by_class.values()) > 0


def test_recorded_points_show_fault_quality_and_cabinet_flash(faulted_run):
    table = pq.read_table(faulted_run.run_dir / "points.parquet").to_pylist()
    det = [r for r in table if r["point"].startswith(f"tls/{FAILED_JUNCTION}/det/")]
    assert det, "detector points of the junction were recorded"
    assert all(r["quality"] == 0 for r in det if r["time_s"] < 120)
    assert all(r["quality"] == 2 for r in det if r["time_s"] >= 120)  # recorded as read
    flashing = {
        r["time_s"]: r["value"] for r in table if r["point"] == f"tls/{FAILED_JUNCTION}/flashing"
    }
    assert flashing[200] == 0 and flashing[300] == 1  # watchdog flashes after the crash
    others = {
        r["time_s"]: r["value"] for r in table if r["point"] == "tls/LeDuan_TranHungDao/flashing"
    }
    assert others[300] == 0
    events = [
        json.loads(line) for line in (faulted_run.run_dir / "events.jsonl").read_text().splitlines()
    ]
    kinds = [e["kind"] for e in events]
    assert "sensor_fault" in kinds and "controller_failed" in kinds
    # the monitor cannot be switched off, and a blinded monitor says so
    assert "event_refused" in kinds and "monitor_blind" in kinds
    assert faulted_run.kpis["monitor_blind_scans"] >= 100


def test_same_seed_same_run_and_other_seed_differs(faulted_run, tmp_path):
    again = short_run(
        tmp_path / "again",
        events=FAULTS,
    )
    assert again.kpis == faulted_run.kpis

    def trips(run_dir: Path) -> str:
        return re.sub(r"<!--.*?-->", "", (run_dir / "tripinfo.xml").read_text(), flags=re.S)

    assert trips(again.run_dir) == trips(faulted_run.run_dir)
    other = short_run(tmp_path / "other", seed=12, duration=240)
    assert other.kpis["mean_delay_s"] != faulted_run.kpis["mean_delay_s"]


def test_refuses_a_non_empty_run_folder(faulted_run):
    with pytest.raises(FileExistsError, match="not empty"):
        short_run(faulted_run.run_dir)


@pytest.fixture(scope="module")
def adaptive_run(tmp_path_factory):
    """Seven minutes of adaptive control on camera estimates; one junction's cameras fail
    at 120 s and come back at 240 s."""
    out = tmp_path_factory.mktemp("run") / "adaptive"
    overrides = {
        "duration": 420,
        "seed": 12,
        "outputs": {"record_period_s": 5},
        "plants": {"traffic": {"measurement": {"kind": "camera"}}},
        "controllers": {
            "signals": {
                "kind": "adaptive",
                "corridors": str(REPO / "scenarios/dongha/corridors.yaml"),
            }
        },
        "events": [
            {"at": 120, "kind": "sensor_fault", "points": f"tls/{FAILED_JUNCTION}/det/*"},
            {"at": 240, "kind": "sensor_restore", "points": f"tls/{FAILED_JUNCTION}/det/*"},
        ],
    }
    scenario = load_scenario(SCENARIO, overrides)
    return run_scenario(scenario, out, scenario_file=SCENARIO)


def test_adaptive_falls_back_on_failed_cameras_and_returns(adaptive_run):
    table = pq.read_table(adaptive_run.run_dir / "points.parquet").to_pylist()
    mode = {
        r["time_s"]: r["value"] for r in table if r["point"] == f"tls/{FAILED_JUNCTION}/adaptive"
    }
    assert mode[100] == 1 and mode[150] == 0 and mode[235] == 0
    assert mode[260] == 1  # back to adaptive after 10 s of good input
    other = {
        r["time_s"]: r["value"] for r in table if r["point"] == "tls/LeDuan_TranHungDao/adaptive"
    }
    assert all(v == 1 for t, v in other.items() if t >= 10)
    kpis = adaptive_run.kpis
    assert kpis["interlock_violations"] == 0
    assert kpis["fallbacks_to_fixed_plan"] >= 1
    assert 0 < kpis["decision_ms"]["p50"] <= kpis["decision_ms"]["p99"]
    events = (adaptive_run.run_dir / "events.jsonl").read_text()
    assert "camera_measurement" in events


def test_run_writes_hi_res_signal_logs_splits_and_cycles(adaptive_run):
    signals = adaptive_run.run_dir / "signals"
    events = (signals / "events_LeDuan_TranHungDao.csv").read_text().splitlines()
    assert events[0] == "time_s,code,param"
    rows = [line.split(",") for line in events[1:]]
    codes = {int(code) for _t, code, _p in rows}
    assert {1, 8, 9, 10, 11, 81, 82} <= codes
    times = [float(t) for t, _c, _p in rows]
    assert times == sorted(times)
    assert all(round(t, 1) == t for t in times)  # tenths of a second
    splits = (signals / "splits.csv").read_text().splitlines()
    assert len(splits) > 21
    manifest = json.loads((adaptive_run.run_dir / "manifest.json").read_text())
    assert manifest["signal_records"]["detector_file_complete"] is True
