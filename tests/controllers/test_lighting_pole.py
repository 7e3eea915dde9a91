"""Pole nodes inside the section controller: boosts, neighbours, fail-safe, overrides."""

from __future__ import annotations

from typing import Any

import pytest

from controllers.io import Quality, Sample
from controllers.lighting import LightingController, LightingControllerConfig, OverrideCommand

E = [f"HV-E{i:02d}" for i in range(1, 6)]
W = [f"HV-W{i:02d}" for i in range(1, 6)]
POLES = E + W
TABLE = {"M2": 95.0, "M3": 72.0, "M4": 55.0, "M5": 40.0, "M6": 28.0}


def config(**extra: Any) -> LightingControllerConfig:
    data: dict[str, Any] = {
        "site": {"lat_deg": 16.82, "lon_deg": 107.10},
        "start": "2026-01-01T20:00:00+07:00",  # dark: the program says 80 %
        "calendar": {
            "programs": {
                "n": [{"at": "sunset", "level_pct": 80}, {"at": "sunrise", "level_pct": 0}]
            }
        },
        "poles": [{"id": p, "cabinet": "HV-C1", "side": p[3], "index": int(p[4:])} for p in POLES],
        "cabinets": {"HV-C1": {"commissioning": TABLE}},
        "volume_bands": {"capacity_veh_h": 2400},  # 300 veh/h is "low" -> M3 (72 %)
        "boost": {"hold_s": 30, "neighbours": 1},
        "link": {"central_ttl_s": 10},
    }
    data.update(extra)
    return LightingControllerConfig.from_mapping(data)


def inputs(
    t: float, *, down: tuple[str, ...] = (), motion: tuple[str, ...] = (), ambient: float = 0.2
) -> dict[str, Sample]:
    out = {
        "light/HV-C1/volume_veh_h": Sample(300.0, Quality.GOOD, t),
        "light/HV-C1/rain_mm_h": Sample(0.0, Quality.GOOD, t),
        "light/HV-C1/ambient_lx": Sample(ambient, Quality.GOOD, t),
        "light/HV-C1/supply_ok": Sample(True, Quality.GOOD, t),
    }
    for p in POLES:
        out[f"light/{p}/link_ok"] = Sample(p not in down, Quality.GOOD, t)
        out[f"light/{p}/motion"] = Sample(p in motion, Quality.GOOD, t)
    return out


def levels(out: dict[str, Any]) -> dict[str, float]:
    return {p: out[f"light/{p}/dim_pct"] for p in POLES}


def test_class_level_then_boost_with_hold_and_neighbour_prelighting() -> None:
    ctrl = LightingController(config())
    assert set(levels(ctrl.scan(0, inputs(0))).values()) == {72.0}
    out = levels(ctrl.scan(1, inputs(1, motion=("HV-E02",))))
    boosted = {"HV-E01", "HV-E02", "HV-E03", "HV-W01", "HV-W02", "HV-W03"}
    assert {p for p, v in out.items() if v == 95.0} == boosted  # one class brighter (M2)
    assert all(out[p] == 72.0 for p in POLES if p not in boosted)
    assert levels(ctrl.scan(30.9, inputs(30.9)))["HV-E02"] == 95.0  # held 30 s
    assert set(levels(ctrl.scan(31, inputs(31))).values()) == {72.0}
    # a new detection re-arms the hold
    ctrl.scan(40, inputs(40, motion=("HV-W05",)))
    assert levels(ctrl.scan(69, inputs(69)))["HV-W04"] == 95.0
    assert levels(ctrl.scan(70, inputs(70)))["HV-W04"] == 72.0


def test_bad_motion_gives_no_boost() -> None:
    ctrl = LightingController(config())
    ins = inputs(0)
    ins["light/HV-E02/motion"] = Sample(True, Quality.BAD, 0)
    ins["light/HV-E03/motion"] = Sample("yes", Quality.GOOD, 0)
    assert set(levels(ctrl.scan(0, ins)).values()) == {72.0}


def test_explicit_boost_level_and_ramp_down() -> None:
    ctrl = LightingController(
        config(boost={"hold_s": 5, "level_pct": 100, "ramp_down_pct_per_s": 4})
    )
    ctrl.scan(0, inputs(0, motion=("HV-E01",)))
    assert ctrl.levels["HV-E01"] == 100.0
    ctrl.scan(5, inputs(5))
    assert ctrl.levels["HV-E01"] == 100 - 4 * 5  # ramps down, not a step
    ctrl.scan(20, inputs(20))
    assert ctrl.levels["HV-E01"] == 72.0


def test_link_loss_runs_the_last_day_program_after_the_ttl() -> None:
    ctrl = LightingController(config())
    ctrl.scan(0, inputs(0))
    down = ("HV-E01",)
    assert ctrl.scan(5, inputs(5, down=down))["light/HV-E01/dim_pct"] == 72.0  # within ttl
    assert ctrl.pole_source("HV-E01") == "central"
    assert ctrl.scan(11, inputs(11, down=down))["light/HV-E01/dim_pct"] == 80.0  # its program
    assert ctrl.pole_source("HV-E01") == "program"
    # no neighbour boost reaches a pole without link, and its own detection is not relayed
    out = levels(ctrl.scan(12, inputs(12, down=down, motion=("HV-E02",))))
    assert out["HV-E01"] == 80.0 and out["HV-E02"] == 95.0
    ctrl.scan(50, inputs(50, down=down))
    out = levels(ctrl.scan(51, inputs(51, down=down, motion=("HV-E01",))))
    assert out["HV-E01"] == 95.0  # its own sensor still boosts it
    assert out["HV-E02"] == 72.0 and out["HV-W01"] == 72.0
    assert ctrl.scan(52, inputs(52))["light/HV-E01/dim_pct"] == 95.0  # link back, hold runs


def test_link_loss_by_day_keeps_the_program_off() -> None:
    ctrl = LightingController(config(start="2026-01-01T10:00:00+07:00"))
    ctrl.scan(0, inputs(0, ambient=30000.0))
    out = ctrl.scan(100, inputs(100, down=("HV-E01",), ambient=30000.0))
    assert out["light/HV-E01/dim_pct"] == 0.0 and out["light/HV-E02/dim_pct"] == 0.0


def test_never_programmed_pole_goes_full_on_until_it_is_reached() -> None:
    ctrl = LightingController(config(start="2026-01-01T10:00:00+07:00"))  # daytime
    out = ctrl.scan(0, inputs(0, down=("HV-E01",), ambient=30000.0))
    assert out["light/HV-E01/dim_pct"] == 100.0
    assert ctrl.pole_source("HV-E01") == "failsafe"
    assert out["light/HV-E02/dim_pct"] == 0.0
    assert ctrl.scan(1, inputs(1, ambient=30000.0))["light/HV-E01/dim_pct"] == 0.0


def test_bad_or_missing_link_counts_as_lost() -> None:
    ctrl = LightingController(config(start="2026-01-01T10:00:00+07:00"))
    ins = inputs(0, ambient=30000.0)
    ins["light/HV-E01/link_ok"] = Sample(True, Quality.UNCERTAIN, 0)
    del ins["light/HV-E02/link_ok"]
    out = ctrl.scan(0, ins)
    assert out["light/HV-E01/dim_pct"] == 100.0 and out["light/HV-E02/dim_pct"] == 100.0


def cmd(
    cid: str, issued: float, level: float | None, duration: float | None = None, *targets: str
) -> OverrideCommand:
    return OverrideCommand(cid, issued, level, duration, tuple(targets))


def test_override_applies_and_expires_back_to_the_program() -> None:
    ctrl = LightingController(config())
    ctrl.scan(0, inputs(0))
    assert ctrl.command(cmd("a", 0, 10.0, 20.0, "HV-E01")) == ("HV-E01",)
    out = levels(ctrl.scan(1, inputs(1, motion=("HV-E01",))))
    assert out["HV-E01"] == 10.0  # overrides win over boosts
    assert out["HV-E02"] == 95.0
    assert ctrl.scan(19, inputs(19))["light/HV-E01/dim_pct"] == 10.0
    assert ctrl.scan(20, inputs(20))["light/HV-E01/dim_pct"] == 95.0  # hold of the boost
    assert ctrl.scan(40, inputs(40))["light/HV-E01/dim_pct"] == 72.0


def test_override_last_command_wins_by_issue_time_even_out_of_order() -> None:
    ctrl = LightingController(config())
    ctrl.command(cmd("late", 20, 40.0, None, "HV-C1"))  # arrives first
    ctrl.command(cmd("early", 15, 90.0, None, "HV-C1"))  # issued earlier, arrives later
    assert set(levels(ctrl.scan(30, inputs(30))).values()) == {40.0}
    ctrl.command(cmd("early", 15, 90.0, None))  # a replay changes nothing
    assert set(levels(ctrl.scan(31, inputs(31))).values()) == {40.0}
    ctrl.command(cmd("cancel", 32, None))
    assert set(levels(ctrl.scan(33, inputs(33))).values()) == {72.0}
    ctrl.command(cmd("late", 20, 40.0, None))  # replay of an older command: ignored
    ctrl.command(cmd("cancel", 99, 5.0))  # same id, other content: ignored as a replay
    assert set(levels(ctrl.scan(34, inputs(34))).values()) == {72.0}


def test_override_waits_for_the_link_and_keeps_its_expiry_from_the_issue_time() -> None:
    ctrl = LightingController(config())
    ctrl.scan(0, inputs(0))
    ctrl.command(cmd("m", 1, 0.0, 30.0, "HV-E01"))
    assert ctrl.scan(2, inputs(2, down=("HV-E01",)))["light/HV-E01/dim_pct"] == 72.0
    assert ctrl.scan(10, inputs(10))["light/HV-E01/dim_pct"] == 0.0  # delivered late
    assert ctrl.scan(31, inputs(31))["light/HV-E01/dim_pct"] == 72.0  # expired at 1 + 30 s


def test_bad_override_targets_and_values_are_refused() -> None:
    ctrl = LightingController(config())
    with pytest.raises(ValueError, match="unknown target 'HV-X9'"):
        ctrl.command(cmd("x", 0, 50.0, None, "HV-X9"))
    with pytest.raises(ValueError, match="level_pct"):
        ctrl.command({"command_id": "y", "issued_s": 0, "level_pct": 150})
    with pytest.raises(ValueError, match="duration_s"):
        ctrl.command({"command_id": "y", "issued_s": 0, "level_pct": 50, "duration_s": -1})


def test_fixed_mode_follows_the_program_without_boosts() -> None:
    ctrl = LightingController(config(mode="fixed"))
    out = levels(ctrl.scan(0, inputs(0, motion=("HV-E02",))))
    assert set(out.values()) == {80.0}
