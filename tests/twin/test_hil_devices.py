"""The emulated irrigation gateway in real time: pacing, drift, and its own watchdog fail-safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from twin.hil_devices import build_site_plant, device_failsafe, serve_realtime
from twin.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "dongha_agri_hil_dt.yaml"
VALVE = "agri/DT-H01-P1/valve_open"


class FakeClock:
    """Virtual wall time: sleep() advances it; each step costs ``work_s``."""

    def __init__(self, work_s: float = 0.0) -> None:
        self.t = 0.0
        self.work_s = work_s

    def now(self) -> float:
        self.t += self.work_s
        return self.t

    def sleep(self, dt: float) -> None:
        self.t += dt


class ScriptedEndpoint:
    """A field endpoint whose controller writes on the listed calls, then falls silent."""

    def __init__(self, writes_on: set[int]) -> None:
        self.writes_on = writes_on
        self.calls = 0
        self.published: list[float] = []

    def publish(self, now: float, samples: dict[str, Any]) -> None:
        self.published.append(now)

    def take_writes(self) -> dict[str, Any]:
        self.calls += 1
        if self.calls in self.writes_on:
            return {VALVE: True, "agri/DT/pump_on": True}
        return {}


def _plant():  # type: ignore[no-untyped-def]
    return build_site_plant(load_scenario(SCENARIO, {"duration": "1h"}), "DT")


def test_a_silent_controller_leaves_the_valves_shut_after_the_watchdog() -> None:
    plant = _plant()
    endpoint = ScriptedEndpoint(writes_on={1})  # one write, then silence
    clock = FakeClock()
    report = serve_realtime(
        plant,
        endpoint,
        3600.0,
        speed=60.0,
        failsafe=device_failsafe(plant),
        watchdog_s=600.0,
        clock=clock.now,
        sleep=clock.sleep,
    )
    assert report.failsafe_trips == 1
    assert report.steps == 60 and len(endpoint.published) == 61
    litres = plant.hydraulics.volume_l[plant.plot_ids.index("DT-H01-P1")]
    flow = plant.hydraulics.nominal_flow_lpm("DT-H01-P1", 150.0)
    # open from the first step until the watchdog (600 s of device time = 10 steps)
    assert 9 * flow < litres < 14 * flow
    assert not plant.hydraulics.actual_open().any()
    assert all(v is False for v in device_failsafe(plant).values())


def test_a_live_controller_is_followed_and_pacing_is_measured() -> None:
    plant = _plant()
    endpoint = ScriptedEndpoint(writes_on=set(range(1, 100)))
    clock = FakeClock(work_s=0.2)  # every clock read costs 0.2 s: each step starts 0.2 s late
    report = serve_realtime(
        plant,
        endpoint,
        3600.0,
        speed=60.0,
        failsafe=device_failsafe(plant),
        watchdog_s=600.0,
        clock=clock.now,
        sleep=clock.sleep,
    )
    assert report.failsafe_trips == 0
    assert plant.hydraulics.actual_open()[plant.plot_ids.index("DT-H01-P1")]
    assert report.max_drift_s == pytest.approx(0.2, abs=1e-9)
    with pytest.raises(ValueError, match="speed"):
        serve_realtime(plant, endpoint, 60.0, speed=0.0)


def test_a_scenario_with_measured_weather_serves_that_weather() -> None:
    from sim.weather import load_weather_csv

    csv = SCENARIO.parent / "dongha" / "weather_sample.csv"
    overrides = {
        "start": "2024-10-15T00:00:00+07:00",
        "duration": "1h",
        "plants": {"weather": {"source": "csv", "csv": str(csv)}},
    }
    plant = build_site_plant(load_scenario(SCENARIO, overrides), "DT")
    measured = load_weather_csv(csv)
    assert plant.weather.start == measured.start and plant.weather.step_s == measured.step_s
    assert list(plant.weather.air_temp_c) == list(measured.air_temp_c)
