"""The fog node without a network: schedule, telemetry, alarms, commands, restart."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from fog_support import CTL, LEVEL, NODE, FakeController, expected_outputs, inputs_at

from controllers.io import Quality, Sample
from hil.fog.node import FogNode
from hil.fog.protocol import Command, Record
from hil.fog.store import FogStore, StoreError
from hil.fog.uplink import LinkEvent, RecordSource


def _scans(node: FogNode) -> list[Record]:
    return [r for r in node.store.records() if r.kind == "telemetry"]


def _events(node: FogNode, kind: str) -> list[Record]:
    return [r for r in node.store.records() if r.kind == "event" and r.body["type"] == kind]


def test_scans_run_when_due_and_outputs_are_held(tmp_path: Path) -> None:
    node = FogNode.open(tmp_path / "n.db", [FakeController()], node_id=NODE)
    seen = []
    for t in (0.0, 30.0, 59.0, 60.0, 61.0, 150.0, 181.0, 240.0, 500.0, 559.0, 560.0):
        seen.append(node.step(t, inputs_at(t))["fake/C1/count"])
    # phase-locked to 0, 60, 120, …: a late scan (150) takes its slot (120); a long gap
    # (240 -> 500) takes slot 300, counts the slots it skipped (360, 420, 480) and
    # restarts the phase at 500
    assert [r.run_s for r in _scans(node)] == [0.0, 60.0, 150.0, 181.0, 240.0, 500.0, 560.0]
    assert seen == [1, 1, 1, 2, 2, 3, 4, 5, 6, 6, 7]
    assert node.stats["missed_scans"] == 3
    assert node.next_due(CTL) == 620.0
    node.close()


def test_telemetry_is_json_safe_with_qualities(tmp_path: Path) -> None:
    node = FogNode.open(tmp_path / "n.db", [FakeController()], node_id=NODE)
    node.step(0.0, {LEVEL: Sample(math.nan, Quality.GOOD, 0.0)})
    node.step(60.0, {})
    node.step(120.0, {LEVEL: Sample(4.0, Quality.UNCERTAIN, -math.inf)})
    node.step(180.0, {LEVEL: Sample(7.5, Quality.GOOD, 180.0)})
    bodies = [r.body for r in _scans(node)]
    assert bodies[0]["inputs"][LEVEL] == {"v": None, "q": "BAD", "t": 0.0}
    assert bodies[1]["inputs"][LEVEL] == {"v": None, "q": "BAD", "t": None}  # missing
    assert bodies[2]["inputs"][LEVEL] == {"v": 4.0, "q": "UNCERTAIN", "t": None}
    assert bodies[3]["inputs"][LEVEL] == {"v": 7.5, "q": "GOOD", "t": 180.0}
    assert bodies[3]["outputs"]["fake/C1/pump_on"] == {"v": True, "q": "GOOD"}
    assert bodies[3]["outputs"]["fake/C1/count"] == {"v": 4, "q": "GOOD"}
    assert bodies[3]["controller"] == CTL and bodies[3]["scan"] == 4
    node.close()


class _BadOutput(FakeController):
    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        out = super().scan(now, inputs)
        out["fake/C1/total_m"] = math.inf
        out["fake/C1/count"] = "many"
        return out


def test_bad_outputs_are_recorded_as_bad(tmp_path: Path) -> None:
    node = FogNode.open(tmp_path / "n.db", [_BadOutput()], node_id=NODE)
    node.step(0.0, inputs_at(0.0))
    outputs = _scans(node)[0].body["outputs"]
    assert outputs["fake/C1/total_m"]["v"] is None and outputs["fake/C1/total_m"]["q"] == "BAD"
    assert (
        outputs["fake/C1/count"]["q"] == "BAD"
        and "expected a number" in outputs["fake/C1/count"]["err"]
    )
    node.close()


def test_alarms_are_events_once_also_across_restart(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    node = FogNode.open(path, [FakeController()], node_id=NODE)
    high = {LEVEL: Sample(9.0, Quality.GOOD, 0.0)}
    low = {LEVEL: Sample(1.0, Quality.GOOD, 0.0)}
    node.step(0.0, high)
    node.step(60.0, high)
    node.close()
    node = FogNode.open(path, [FakeController()])
    node.step(120.0, high)
    node.step(180.0, low)
    node.step(240.0, high)
    alarms = _events(node, "alarm")
    assert [a.run_s for a in alarms] == [0.0, 240.0]
    assert alarms[0].body["alarm"] == {"time_s": 0.0, "code": "HIGH", "level_m": 9.0}
    node.close()


def test_time_must_not_go_backwards_also_after_restart(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    node = FogNode.open(path, [FakeController()], node_id=NODE)
    node.step(600.0, inputs_at(600.0))
    with pytest.raises(ValueError, match="time went backwards"):
        node.step(599.0, {})
    with pytest.raises(ValueError, match="finite run time"):
        node.step(math.nan, {})
    node.close()
    node = FogNode.open(path, [FakeController()])
    assert node.last_now == 600.0
    with pytest.raises(ValueError, match=r"continue the run clock from node\.last_now"):
        node.step(0.0, {})
    node.close()


def test_restart_resumes_state_schedule_and_sequence(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    node = FogNode.open(path, [FakeController()], node_id=NODE)
    times = [60.0 * k for k in range(10)]
    for t in times[:6]:
        node.step(t, inputs_at(t))
    last_seq = node.store.last_seq
    node.close()  # writes a 'stop' event

    fresh = FakeController()
    node = FogNode.open(path, [fresh])
    assert fresh.scans == 6 and node.next_due(CTL) == 360.0
    assert node.store.last_seq == last_seq + 2  # stop + boot
    node.step(300.0, inputs_at(300.0))  # already scanned at 300: not again
    for t in times[6:]:
        node.step(t, inputs_at(t))
    scans = _scans(node)
    assert [r.run_s for r in scans] == times
    got = [
        (r.body["outputs"]["fake/C1/count"]["v"], r.body["outputs"]["fake/C1/total_m"]["v"])
        for r in scans
    ]
    assert got == expected_outputs(times)
    seqs = [r.seq for r in node.store.records()]
    assert seqs == list(range(1, node.store.last_seq + 1))
    boots = _events(node, "boot")
    assert [b.body["restored"] for b in boots] == [[], [CTL]]
    node.close()


def _cmd(cmd_id: str, kind: str = "force", **kw: Any) -> Command:
    return Command(cmd_id, 100.0, kind, **kw)


def test_commands_are_routed_and_applied_once(tmp_path: Path) -> None:
    c1, c2 = FakeController("fake/C1"), FakeController("fake/C2")
    handled = []

    def ping(cmd: Command) -> str:
        handled.append(cmd.cmd_id)
        return "pong"

    node = FogNode.open(tmp_path / "n.db", [c1, c2], node_id=NODE, command_handlers={"ping": ping})
    node.step(0.0, {})
    r = node.handle_command(_cmd("a", target="C2"))
    assert (r.result.result, r.result.controller, r.replay) == ("applied", "fake/C2", False)
    assert node.handle_command(_cmd("b", target="fake/C1")).result.controller == "fake/C1"
    assert node.handle_command(_cmd("c", controller="fake/C2", target="x")).result.result == (
        "applied"
    )
    assert node.handle_command(_cmd("d", target="fake")).result.result == "rejected"  # ambiguous
    assert node.handle_command(_cmd("e", target="nowhere")).result.result == "rejected"
    bad = node.handle_command(_cmd("f", kind="explode", target="C1"))
    assert bad.result.result == "rejected" and "unknown kind" in bad.result.detail
    assert node.handle_command(_cmd("g", kind="ping")).result.result == "pong"
    assert c1.applied == ["b"] and c2.applied == ["a", "c"] and handled == ["g"]

    for cmd_id in "abcdefg":  # replays: answered from the store, nothing re-applied
        again = node.handle_command(_cmd(cmd_id, kind="ping", target="C1"))
        assert again.replay
    assert c1.applied == ["b"] and c2.applied == ["a", "c"] and handled == ["g"]
    assert node.stats["command_replays"] == 7
    results = [e.body for e in _events(node, "cmd_result")]
    assert [b["cmd_id"] for b in results] == list("abcdefg")  # one event per command
    node.close()


def test_command_replay_after_restart_is_not_applied(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    node = FogNode.open(path, [FakeController()], node_id=NODE)
    node.step(0.0, {})
    assert node.handle_command(_cmd("x1", target="C1")).result.result == "applied"
    node.close()
    ctl = FakeController()
    node = FogNode.open(path, [ctl])
    assert ctl.applied == ["x1"] and ctl.forced  # restored from the command's snapshot
    out = node.handle_command(_cmd("x1", target="C1"))
    assert out.replay and out.result.result == "applied"
    assert ctl.applied == ["x1"]
    node.close()


class _FakeUplink:
    """An in-memory uplink: hands over queued events, records what the node offered."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.stats: dict[str, int] = {}
        self.events: list[LinkEvent] = []
        self.started = self.stopped = False
        self.seen_last_seq = 0

    @property
    def connected(self) -> bool:
        return True

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def service(self, source: RecordSource) -> list[LinkEvent]:
        self.seen_last_seq = source.last_seq
        events, self.events = self.events, []
        return events


def test_link_events_and_commands_from_the_uplink(tmp_path: Path) -> None:
    link = _FakeUplink(NODE)
    ctl = FakeController()
    node = FogNode.open(tmp_path / "n.db", [ctl], node_id=NODE, uplink=link)
    assert link.started
    link.events = [
        LinkEvent("up", 1.0),
        LinkEvent("command", 2.0, command=_cmd("k1", target="C1")),
        LinkEvent("command", 2.5, command=_cmd("k1", target="C1")),
        LinkEvent("down", 3.0, detail="broker gone"),
    ]
    node.step(0.0, inputs_at(0.0))
    assert ctl.applied == ["k1"] and node.stats["command_replays"] == 1
    assert [e.body["state"] for e in _events(node, "link")] == ["up", "down"]
    assert link.seen_last_seq == node.store.last_seq  # offered after the commit
    node.close()
    assert link.stopped


def test_wrong_store_or_state_fails_loud(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    FogNode.open(path, [FakeController()], node_id=NODE).close()
    with pytest.raises(StoreError, match="belongs to node 'fog-test'"):
        FogNode.open(path, [FakeController()], node_id="fog-other")
    with FogStore(path) as store:  # the store was not left locked by the failed open
        assert store.node_id == NODE

    class Picky(FakeController):
        def restore(self, state: Mapping[str, Any]) -> None:
            raise ValueError("snapshot of another version")

    node = FogNode.open(path, [FakeController()])
    node.step(0.0, {})
    node.close()
    with pytest.raises(StoreError, match=r"does not fit it.*move the store away"):
        FogNode.open(path, [Picky()])
    with pytest.raises(ValueError, match="new store: pass node_id"):
        FogNode.open(tmp_path / "new.db", [FakeController()])
    with pytest.raises(ValueError, match="unique"):
        FogNode.open(tmp_path / "new.db", [FakeController(), FakeController()], node_id=NODE)


class _Crashy(FakeController):
    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        raise RuntimeError("bug in the controller")


def test_a_failing_controller_does_not_undo_earlier_scans(tmp_path: Path) -> None:
    good = FakeController("fake/C1")
    node = FogNode.open(tmp_path / "n.db", [good, _Crashy("fake/C2")], node_id=NODE)
    with pytest.raises(RuntimeError, match="bug in the controller"):
        node.step(0.0, inputs_at(0.0))
    scans = _scans(node)
    assert [r.body["controller"] for r in scans] == ["fake/C1"]
    assert node.store.snapshots()["fake/C1"].state["scans"] == 1
    node.close()
