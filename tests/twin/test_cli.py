"""The command line on bad input: one line per problem naming file and key, exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "dongha_morning_peak.yaml"


def twin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twin.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def variant(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "variant.yaml"
    path.write_text(f"base: {SCENARIO}\n{text}", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        ("plants:\n  traffic:\n    mod: meso\n", "plants.traffic.mod", "did you mean 'mode'"),
        ("seed: many\n", "seed", "valid integer"),
        ("duration: -30\n", "duration", "positive"),
        (
            "plants:\n  traffic:\n    network: nowhere.net.xml\n",
            "plants.traffic.network",
            "not found",
        ),
    ],
)
def test_bad_scenario_gets_one_line_and_exit_2(tmp_path, text, key, hint):
    path = variant(tmp_path, text)
    result = twin("run", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and key in lines[0] and hint in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "out").exists()


def test_bad_duration_option_is_a_clear_error(tmp_path):
    result = twin("run", str(SCENARIO), "--duration", "soon", "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "duration" in result.stderr and "Traceback" not in result.stderr


def test_missing_scenario_file(tmp_path):
    result = twin("validate", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr and "not found" in result.stderr


def test_validate_accepts_the_bundled_scenario():
    result = twin("validate", str(SCENARIO))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_short_run_prints_kpis_and_draws_the_report(tmp_path):
    out = tmp_path / "run"
    result = twin("run", str(SCENARIO), "--duration", "4m", "--seed", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "mean delay" in result.stdout and "interlock_violations" in result.stdout
    assert (out / "report.png").stat().st_size > 50_000
    assert '"interlock_violations": 0' in result.stdout


def test_network_build_reproduces_the_committed_network(tmp_path):
    from sim.traffic.netbuild import nets_equal

    result = twin("network", "build", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    committed = REPO / "scenarios" / "dongha" / "net" / "dongha.net.xml"
    assert nets_equal(tmp_path / "dongha.net.xml", committed)
    assert "tls_count" in result.stdout and "network written" in result.stdout


def test_setup_failure_is_bad_input_and_the_folder_says_why(tmp_path):
    signals = tmp_path / "signals.yaml"
    signals.write_text("signals:\n  - {id: Nowhere, reason: test}\n", encoding="utf-8")
    path = variant(tmp_path, f"plants:\n  traffic:\n    signals: {signals}\n")
    out = tmp_path / "out"
    result = twin("run", str(path), "--duration", "2m", "--out", str(out))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "no traffic light with id Nowhere" in result.stderr
    assert "Traceback" not in result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "setup_failed" and "Nowhere" in manifest["error"]


def test_lighting_year_prints_one_json_line_per_configuration() -> None:
    done = twin("lighting", "year", "--nights", "1", "--step", "60")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert [r["configuration"] for r in rows] == ["sodium_fixed", "led_fixed", "led_adaptive"]
    energy = [r["energy_kwh_year"] for r in rows]
    assert energy[0] > energy[1] > energy[2] > 0
    assert rows[0]["energy_vs_sodium_fixed"] == 1.0
    bad = twin("lighting", "year", "--configurations", "mercury", "--nights", "1")
    assert bad.returncode == 2
    assert "unknown lighting configuration" in bad.stderr
