"""The real irrigation and fertigation controllers on a fog node in a twin run, synced over MQTT."""

from __future__ import annotations

from pathlib import Path

from fog_support import Broker, wait_until

from hil.fog import CentreReceiver, FogStore
from twin.run import run_scenario
from twin.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
DRILL = REPO / "scenarios" / "dongha_agri_fog_drill.yaml"


def test_a_twin_run_streams_its_fog_node_to_the_centre(broker: Broker, tmp_path: Path) -> None:
    centre = CentreReceiver(tmp_path / "centre.sqlite", ["fog-dt"], port=broker.port)
    centre.start()
    try:
        wait_until(lambda: centre.connected, 10.0, what="centre connected")
        overrides = {
            "duration": "2h",
            "controllers": {
                "irrigation": {"fog_node": {"uplink": f"mqtt://127.0.0.1:{broker.port}"}}
            },
        }
        scenario = load_scenario(DRILL, overrides)
        result = run_scenario(scenario, tmp_path / "run", scenario_file=DRILL)
        assert result.kpis["agri"]["DT"]["fog_node"]["records"] > 0
        wait_until(lambda: centre.watermark("fog-dt") > 100, 10.0, what="records at the centre")
        got = centre.records("fog-dt")
        store = FogStore(tmp_path / "run" / "agri" / "fog_DT.sqlite")
        try:
            kept = store.records(1, len(got))
            acked = store.acked_seq
        finally:
            store.close()
        # the centre holds an in-order prefix of the node's outbox, identical, no duplicates
        assert [r.seq for r in got] == list(range(1, len(got) + 1))
        assert [(r.seq, r.kind, r.run_s, r.body) for r in got] == [
            (r.seq, r.kind, r.run_s, r.body) for r in kept
        ]
        controllers = {r.body.get("controller") for r in got if r.kind == "telemetry"}
        assert {"irrigation/DT", "fertigation/DT"} <= controllers
        assert 0 < acked <= len(got)
    finally:
        centre.stop()
        centre.close()
