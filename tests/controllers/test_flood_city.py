"""The city flood level: the documented rule, failed-point count, and the city controller."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from controllers.flood.city import CityFloodController, CityRule, city_level
from controllers.flood.config import FloodPointConfig
from controllers.flood.faults import SensorHealth
from controllers.flood.point import FloodPointController
from controllers.io import Controller, Direction, Quality, Sample, ValueType

REPORT_S = 60.0


def reference_city_level(river: list[int], street: list[int], cap: int, quorum: int) -> int:
    """The rule of the module notes, written out independently."""
    widespread = 0
    for k in (3, 2, 1):
        if len([s for s in street if s >= k]) >= quorum:
            widespread = k
            break
    return max([*river, 0, min(max([*street, 0]), cap), widespread])


@pytest.mark.parametrize(("cap", "quorum"), [(2, 3), (1, 2), (3, 1), (0, 4)])
def test_city_level_follows_the_documented_rule(cap: int, quorum: int) -> None:
    rule = CityRule(street_cap=cap, street_quorum=quorum)
    rng = random.Random(cap * 10 + quorum)
    for _ in range(500):
        river = [rng.randint(0, 3) for _ in range(rng.randint(0, 2))]
        street = [rng.randint(0, 3) for _ in range(rng.randint(0, 11))]
        assert city_level(river, street, rule) == reference_city_level(river, street, cap, quorum)


def test_city_level_examples() -> None:
    assert city_level([3], [0] * 11) == 3  # river alert III is city-wide
    assert city_level([0], [3] + [0] * 10) == 2  # one flooded street: capped at II
    assert city_level([0], [3, 3, 3] + [0] * 8) == 3  # widespread street flooding
    assert city_level([1], [2, 2, 1]) == 2
    assert city_level([], []) == 0


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [("street_cap", {"street_cap": 4}), ("street_quorum", {"street_quorum": 0})],
)
def test_city_rule_is_validated(field: str, kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=field):
        CityRule(**kwargs)


def make_city() -> CityFloodController:
    gauge = FloodPointConfig.river("P01")
    streets = [FloodPointConfig.street(f"P{k:02d}") for k in range(2, 13)]
    controllers = [FloodPointController(gauge, scan_period_s=REPORT_S)]
    for k, cfg in enumerate(streets):
        near = tuple(s.as_neighbour() for s in streets[max(0, k - 1) : k + 2] if s is not cfg)
        cfg = FloodPointConfig.street(cfg.point_id, neighbours=near)
        controllers.append(FloodPointController(cfg, scan_period_s=REPORT_S))
    return CityFloodController(controllers)


def field(t: float, river_m: float, depths: dict[str, float | None]) -> dict[str, Sample]:
    samples = {"flood/P01/level_m": Sample(river_m, Quality.GOOD, t)}
    for k in range(1, 13):
        samples[f"flood/P{k:02d}/uplink_ok"] = Sample(True, Quality.GOOD, t)
    for pid, depth in depths.items():
        if depth is not None:
            samples[f"flood/{pid}/level_m"] = Sample(depth, Quality.GOOD, t)
    return samples


def test_city_controller_declares_every_point_once_and_the_city_outputs() -> None:
    city = make_city()
    assert isinstance(city, Controller)
    names = [p.name for p in city.points()]
    assert len(names) == len(set(names))
    specs = {p.name: p for p in city.points()}
    for k in range(1, 13):
        pid = f"P{k:02d}"
        assert specs[f"flood/{pid}/level_m"].direction is Direction.INPUT
        for leaf in ("warning_level", "siren", "sensor_health", "rate_alarm"):
            assert specs[f"flood/{pid}/{leaf}"].direction is Direction.OUTPUT
    assert specs["flood/city/warning_level"].value_type is ValueType.INT
    assert specs["flood/city/points_failed"].high == 12


def test_city_controller_aggregates_levels_and_counts_failed_points() -> None:
    city = make_city()
    pids = [f"P{k:02d}" for k in range(2, 13)]
    dead = {"P07", "P11"}
    t, outs = 0.0, {}
    dropout = city.controllers[0].config.faults.dropout_s
    while t <= dropout + 5 * REPORT_S:
        depths: dict[str, float | None] = {p: (None if p in dead else 0.0) for p in pids}
        depths["P03"] = 0.6  # one street deep under water
        outs = city.scan(t, field(t, 1.5 + 0.005 * (t // REPORT_S % 2), depths))
        t += REPORT_S
    assert outs["flood/city/points_failed"] == len(dead)
    assert outs["flood/P03/warning_level"] == 3 and outs["flood/P03/siren"]
    assert outs["flood/city/warning_level"] == city_level([0], [3] + [0] * 10)
    failed = [c.config.point_id for c in city.controllers if c.health is SensorHealth.FAILED]
    assert failed == sorted(dead)
    # the river reaches alert III: the city follows
    for k in range(30):
        outs = city.scan(t, field(t, 3.5 + 0.05 * k, {p: 0.0 for p in pids}))
        t += REPORT_S
    assert outs["flood/P01/warning_level"] == 3
    assert outs["flood/city/warning_level"] == 3


def test_city_snapshot_restore_continues_identically() -> None:
    rng = random.Random(5)
    pids = [f"P{k:02d}" for k in range(2, 13)]
    series = []
    for i in range(300):
        t = i * REPORT_S
        depths: dict[str, float | None] = {
            p: max(0.0, 0.4 * rng.random() - 0.1) if rng.random() > 0.05 else None for p in pids
        }
        series.append((t, field(t, 1.0 + 3.5 * i / 300 + rng.uniform(0, 0.01), depths)))
    first, second = make_city(), make_city()
    for t, s in series[:170]:
        first.scan(t, s)
    second.restore(json.loads(json.dumps(first.snapshot())))
    tail = series[170:]
    assert [second.scan(t, s) for t, s in tail] == [first.scan(t, s) for t, s in tail]


def test_city_restore_rejects_a_bad_snapshot_and_keeps_its_state() -> None:
    city = make_city()
    for i in range(10):
        city.scan(i * REPORT_S, field(i * REPORT_S, 2.5, {"P02": 0.2}))
    before = city.snapshot()
    bad = json.loads(json.dumps(before))
    bad["points"]["flood/P05"]["detector"] = {}
    bad["points"]["flood/P02"]["tracker"]["level"] = 0
    with pytest.raises(ValueError):
        city.restore(bad)
    assert city.snapshot() == before
    del bad["points"]["flood/P05"]
    with pytest.raises(ValueError, match="flood/P05"):
        city.restore(bad)


def test_city_controller_rejects_duplicate_points() -> None:
    cfg = FloodPointConfig.river("P01")
    with pytest.raises(ValueError, match="twice"):
        CityFloodController([FloodPointController(cfg), FloodPointController(cfg)])
    with pytest.raises(ValueError, match="at least one"):
        CityFloodController([])


def test_points_keep_deciding_on_their_own_when_every_uplink_is_down() -> None:
    city = make_city()
    for i, level in enumerate(itertools.chain([1.0] * 5, [1.0 + 0.4 * k for k in range(1, 9)])):
        t = i * REPORT_S
        samples = field(t, level + 0.005 * (i % 2), {})
        for k in range(1, 13):
            samples[f"flood/P{k:02d}/uplink_ok"] = Sample(False, Quality.GOOD, t)
        outs = city.scan(t, samples)
    assert outs["flood/P01/siren"] and outs["flood/city/warning_level"] == 3
