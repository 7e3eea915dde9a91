"""Scenario validation: every kind of bad input names the file, the key and what is valid."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from twin.scenario import ScenarioError, load_scenario, parse_duration


@pytest.fixture
def scenario_file(tmp_path: Path):
    """Write a minimal valid scenario (with dummy data files) and return a writer for variants."""
    for name in ("net.xml", "signals.yaml", "zones.yaml", "vtypes.csv", "profile.csv"):
        (tmp_path / name).write_text("x")
    base = {
        "name": "t",
        "start": "2026-03-10T06:30:00",
        "duration": "1h",
        "seed": 1,
        "plants": {
            "traffic": {
                "network": "net.xml",
                "signals": "signals.yaml",
                "demand": {"zones": "zones.yaml", "vtypes": "vtypes.csv", "profile": "profile.csv"},
            }
        },
    }

    def write(changes: dict | None = None, drop: tuple[str, ...] = ()) -> Path:
        data = yaml.safe_load(yaml.safe_dump(base))
        for key in drop:
            data.pop(key)
        for dotted, value in (changes or {}).items():
            node = data
            *parents, last = dotted.split(".")
            for p in parents:
                node = node[p]
            node[last] = value
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        return path

    return write


def one_error(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert len(info.value.lines) == 1, info.value.lines
    line = info.value.lines[0]
    assert line.startswith(str(path)), line
    return line


def test_valid_scenario_loads_with_city_timezone(scenario_file):
    s = load_scenario(scenario_file())
    assert s.duration == 3600
    assert s.start.utcoffset().total_seconds() == 7 * 3600
    assert s.day_offset_s() == 6.5 * 3600
    assert s.plants.traffic.network.is_absolute()


def test_unknown_key_suggests_the_valid_one(scenario_file):
    line = one_error(scenario_file({"plants.traffic.mod": "meso"}))
    assert "plants.traffic.mod: unknown key" in line
    assert "did you mean 'mode'" in line
    assert "lateral_resolution_m" in line


def test_wrong_type_names_key_and_value(scenario_file):
    line = one_error(scenario_file({"seed": "abc"}))
    assert "seed:" in line and "'abc'" in line


def test_bad_choice_lists_the_valid_ones(scenario_file):
    line = one_error(scenario_file({"plants.traffic.mode": "mezo"}))
    assert "plants.traffic.mode" in line and "'micro'" in line and "'meso'" in line


def test_missing_data_file(scenario_file, tmp_path):
    (tmp_path / "zones.yaml").unlink()
    line = one_error(scenario_file())
    assert "plants.traffic.demand.zones: data file not found" in line


def test_negative_duration(scenario_file):
    line = one_error(scenario_file({"duration": -30}))
    assert "duration" in line and "positive" in line


def test_missing_required_key(scenario_file):
    line = one_error(scenario_file(drop=("seed",)))
    assert "seed: required key is missing" in line


def test_unknown_event_kind_and_event_outside_run(scenario_file):
    line = one_error(scenario_file({"events": [{"kind": "meteor", "at": 5}]}))
    assert "events.0" in line and "sensor_fault" in line
    line = one_error(
        scenario_file({"events": [{"kind": "sensor_fault", "at": "12:00", "points": "x/*"}]})
    )
    assert "events.0.at" in line and "outside the run" in line


def test_unknown_key_inside_an_event(scenario_file):
    line = one_error(scenario_file({"events": [{"kind": "sensor_fault", "at": 5, "point": "x/*"}]}))
    assert "unknown key" in line and "points" in line


def test_variant_overrides_base(scenario_file, tmp_path):
    base = scenario_file()
    variant = tmp_path / "v.yaml"
    variant.write_text(f"base: {base.name}\nseed: 9\nplants:\n  traffic:\n    mode: meso\n")
    s = load_scenario(variant)
    assert (s.seed, s.plants.traffic.mode, s.plants.traffic.signals.name) == (
        9,
        "meso",
        "signals.yaml",
    )


def test_not_yaml_and_not_a_mapping(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    assert "not valid YAML" in one_error(bad)
    bad.write_text("- a\n- b\n")
    assert "mapping" in one_error(bad)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2h30m", 9000), ("90min", 5400), ("45 s", 45), ("02:30:00", 9000), (120, 120), ("180", 180)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5", "0", "1e3", 0, -1, True])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_signal_settings_that_cannot_run_are_refused(scenario_file):
    line = one_error(scenario_file({"controllers": {"signals": {"scan_period_s": 6}}}))
    assert "controllers.signals.scan_period_s" in line and "2.5" in line
    line = one_error(scenario_file({"controllers": {"signals": {"all_red_s": 0}}}))
    assert "controllers.signals.all_red_s" in line
    line = one_error(
        scenario_file({"controllers": {"signals": {"min_cycle_s": 100, "max_cycle_s": 60}}})
    )
    assert "controllers.signals" in line and "min_cycle_s (100) is above max_cycle_s (60)" in line
