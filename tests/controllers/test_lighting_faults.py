"""Fault detection from metered power: every code, persistence, clearing, time to detect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from controllers.io import Quality, Sample
from controllers.lighting import (
    DriverModel,
    FaultConfig,
    LightingController,
    LightingControllerConfig,
    PoleFaultMonitor,
)

POLES = ["HV-E01", "HV-E02", "HV-W01", "HV-W02"]
DRIVER = DriverModel(rated_w=120.0, a=0.1, b=0.9, standby_w=0.6, min_dim_pct=15.0)
PERSIST = 3


def controller(start: str) -> LightingController:
    return LightingController(
        LightingControllerConfig.from_mapping(
            {
                "site": {"lat_deg": 16.82, "lon_deg": 107.10},
                "start": start,
                "calendar": {
                    "programs": {
                        "n": [{"at": "sunset", "level_pct": 100}, {"at": "sunrise", "level_pct": 0}]
                    }
                },
                "poles": [
                    {
                        "id": p,
                        "cabinet": "HV-C1" if p.endswith("1") else "HV-C2",
                        "side": p[3],
                        "index": int(p[4:]),
                    }
                    for p in POLES
                ],
                "cabinets": {
                    "HV-C1": {"commissioning": {"M3": 70.0}},
                    "HV-C2": {"commissioning": {"M3": 70.0}},
                },
                "boost": {"enabled": False},
                "driver": {
                    "rated_w": 120.0,
                    "a": 0.1,
                    "b": 0.9,
                    "standby_w": 0.6,
                    "min_dim_pct": 15.0,
                },
                "faults": {"persist_scans": PERSIST, "clear_scans": 2, "settle_s": 2.0},
            }
        )
    )


Fault = Callable[[float, str, float], tuple[Any, Quality]]  # (t, pole, healthy W) -> (W, quality)


def run(
    ctrl: LightingController,
    seconds: int,
    *,
    power: Fault | None = None,
    supply: Callable[[float, str], bool] = lambda t, c: True,
    link: Callable[[float, str], bool] = lambda t, p: True,
    ambient: float = 0.1,
) -> list[dict[str, Any]]:
    """A toy plant: each pole draws what the driver model says for the last command."""
    outs: list[dict[str, Any]] = []
    last = dict.fromkeys(POLES, 0.0)
    for t in range(seconds):
        ins: dict[str, Sample] = {}
        for cab in ("HV-C1", "HV-C2"):
            ins[f"light/{cab}/supply_ok"] = Sample(supply(t, cab), Quality.GOOD, t)
            ins[f"light/{cab}/ambient_lx"] = Sample(ambient, Quality.GOOD, t)
            ins[f"light/{cab}/volume_veh_h"] = Sample(500.0, Quality.GOOD, t)
            ins[f"light/{cab}/rain_mm_h"] = Sample(0.0, Quality.GOOD, t)
        for p in POLES:
            healthy = DRIVER.expected_w(last[p])
            value, q = power(t, p, healthy) if power else (healthy, Quality.GOOD)
            ins[f"light/{p}/power_w"] = Sample(value, q, t)
            ins[f"light/{p}/link_ok"] = Sample(link(t, p), Quality.GOOD, t)
            ins[f"light/{p}/motion"] = Sample(False, Quality.GOOD, t)
        out = ctrl.scan(float(t), ins)
        last = {p: out[f"light/{p}/dim_pct"] for p in POLES}
        outs.append(out)
    return outs


NIGHT = "2026-01-01T20:00:00+07:00"
DAY = "2026-01-01T10:00:00+07:00"
T0 = 20  # injection time (s)


def raised(ctrl: LightingController, code: str) -> list[tuple[float, str]]:
    return [(e.time_s, e.pole) for e in ctrl.alerts() if e.code == code and e.kind == "raised"]


def test_healthy_section_raises_nothing() -> None:
    for start in (NIGHT, DAY):
        ctrl = controller(start)
        outs = run(ctrl, 60, ambient=0.1 if start == NIGHT else 30000.0)
        assert ctrl.alerts() == []
        assert all(o[f"light/{p}/fault"] == "" for o in outs for p in POLES)


def test_lamp_failure_is_detected_after_persistence_and_clears() -> None:
    ctrl = controller(NIGHT)

    def dead(t: float, p: str, w: float) -> tuple[Any, Quality]:
        return (0.6 if p == "HV-E02" and T0 <= t < 40 else w), Quality.GOOD

    outs = run(ctrl, 60, power=dead)
    assert raised(ctrl, "lampFailure") == [(T0 + PERSIST - 1, "HV-E02")]  # time to detect
    assert outs[T0 + PERSIST - 1]["light/HV-E02/fault"] == "lampFailure"
    assert outs[T0 + PERSIST - 2]["light/HV-E02/fault"] == ""
    assert outs[50]["light/HV-E02/fault"] == ""
    cleared = [e for e in ctrl.alerts() if e.kind == "cleared"]
    assert [(e.time_s, e.code) for e in cleared] == [(41.0, "lampFailure")]


def test_a_single_glitch_is_not_an_alarm() -> None:
    ctrl = controller(NIGHT)

    def glitch(t: float, p: str, w: float) -> tuple[Any, Quality]:
        return (0.0 if t in (T0, T0 + 5) else w), Quality.GOOD

    run(ctrl, 40, power=glitch)
    assert ctrl.alerts() == []


def test_dimming_failure_when_the_driver_ignores_the_dim_command() -> None:
    ctrl = controller(NIGHT)

    def stuck_full(t: float, p: str, w: float) -> tuple[Any, Quality]:
        return (DRIVER.expected_w(100.0) if p == "HV-W01" and t >= T0 else w), Quality.GOOD

    outs = run(ctrl, 40, power=stuck_full)
    assert outs[-1]["light/HV-W01/dim_pct"] == 70.0
    assert raised(ctrl, "dimmingFailure") == [(T0 + PERSIST - 1, "HV-W01")]


def test_within_tolerance_is_not_a_dimming_failure() -> None:
    ctrl = controller(NIGHT)
    run(ctrl, 40, power=lambda t, p, w: (w * 1.1, Quality.GOOD))
    assert ctrl.alerts() == []


def test_lamp_unexpectedly_on_by_day() -> None:
    ctrl = controller(DAY)

    def stuck_on(t: float, p: str, w: float) -> tuple[Any, Quality]:
        return (DRIVER.expected_w(100.0) if p == "HV-E01" and t >= T0 else w), Quality.GOOD

    outs = run(ctrl, 40, power=stuck_on, ambient=30000.0)
    assert outs[-1]["light/HV-E01/dim_pct"] == 0.0
    assert raised(ctrl, "lampUnexpectedOn") == [(T0 + PERSIST - 1, "HV-E01")]


def test_supply_loss_flags_every_pole_of_the_cabinet_and_masks_lamp_codes() -> None:
    ctrl = controller(NIGHT)

    def no_mains_power(t: float, p: str, w: float) -> tuple[Any, Quality]:
        return (0.0 if p.endswith("1") and t >= T0 else w), Quality.GOOD

    outs = run(ctrl, 40, power=no_mains_power, supply=lambda t, c: not (c == "HV-C1" and t >= T0))
    assert sorted(raised(ctrl, "supplyLoss")) == [
        (T0 + PERSIST - 1, "HV-E01"),
        (T0 + PERSIST - 1, "HV-W01"),
    ]
    assert raised(ctrl, "lampFailure") == []
    assert outs[-1]["light/HV-E01/fault"] == "supplyLoss"
    assert outs[-1]["light/HV-E02/fault"] == ""


def test_comm_failure_from_link_loss_or_bad_power() -> None:
    ctrl = controller(NIGHT)

    def bad_meter(t: float, p: str, w: float) -> tuple[Any, Quality]:
        return (w, Quality.BAD) if p == "HV-W02" and t >= T0 else (w, Quality.GOOD)

    outs = run(ctrl, 40, power=bad_meter, link=lambda t, p: not (p == "HV-E02" and t >= T0))
    assert sorted(raised(ctrl, "commFailure")) == [
        (T0 + PERSIST - 1, "HV-E02"),
        (T0 + PERSIST - 1, "HV-W02"),
    ]
    assert outs[-1]["light/HV-E02/fault"] == "commFailure"


@pytest.mark.parametrize("level", [0.0, 10.0, 15.0, 50.0, 100.0])
def test_driver_model(level: float) -> None:
    expected = DRIVER.expected_w(level)
    if level == 0:
        assert expected == DRIVER.standby_w
    else:
        light = max(level, DRIVER.min_dim_pct) / 100
        assert expected == pytest.approx(120.0 * (0.1 + 0.9 * light))


def test_monitor_holds_lamp_codes_while_they_cannot_be_judged() -> None:
    mon = PoleFaultMonitor("P", DRIVER, FaultConfig(persist_scans=2, clear_scans=2))
    for t in range(3):
        mon.observe(t + 10, 100.0, 0.0, 0.0, 0.6, True, True)
    assert mon.code == "lampFailure"
    for t in range(5):  # link lost: lampFailure stays, commFailure on top
        mon.observe(t + 20, 100.0, 0.0, 0.0, None, False, True)
    assert mon.active.keys() == {"lampFailure", "commFailure"}
    assert mon.code == "commFailure"


def test_bad_fault_config_names_the_key() -> None:
    with pytest.raises(ValueError, match=r"faults\.persist_scans"):
        FaultConfig(persist_scans=0)
    with pytest.raises(ValueError, match=r"driver\.standby_w"):
        DriverModel(rated_w=10.0, a=0.0, b=1.0, standby_w=5.0, min_dim_pct=10.0)


def test_failed_sodium_burner_is_a_lamp_failure_not_a_dimming_one() -> None:
    """An HPS lantern whose burner died still feeds its ballast (~15 W of 280 W)."""
    from controllers.lighting import DriverModel, FaultConfig, PoleFaultMonitor

    hps = DriverModel(rated_w=280.0, a=1.0, b=0.0, standby_w=0.0, min_dim_pct=100.0)
    monitor = PoleFaultMonitor("HV-E01", hps, FaultConfig())
    codes: list[str] = []
    for k in range(10):
        for event in monitor.observe(float(k), 100.0, -100.0, -100.0, 15.0, True, True):
            if event.kind == "raised":
                codes.append(event.code)
    assert codes == ["lampFailure"]
    healthy = PoleFaultMonitor("HV-E02", hps, FaultConfig())
    for k in range(10):
        assert not healthy.observe(float(k), 100.0, -100.0, -100.0, 281.0, True, True)
