"""The lighting report draws from a synthetic run folder and fails loud on bad inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from viz.lighting_report import make_lighting_report

N_T, N_SIDE, STEP_S = 50, 6, 600.0


def _write_run(run_dir: Path, *, faults: bool = True, **override: np.ndarray) -> Path:
    """A 12-pole, 2-cabinet, 50-step lighting run (17:00 +07:00, 10 min records)."""
    folder = run_dir / "lighting"
    folder.mkdir(parents=True)
    n_p = 2 * N_SIDE
    t_s = np.arange(1, N_T + 1) * STEP_S
    pole_ids = np.array(
        [f"HV-E{i + 1:02d}" for i in range(N_SIDE)] + [f"HV-W{i + 1:02d}" for i in range(N_SIDE)]
    )
    station = np.tile(np.arange(N_SIDE) * 36.0 + 10.0, 2)
    side = np.array(["E"] * N_SIDE + ["W"] * N_SIDE)
    cabinet = np.array((["HV-C1"] * 3 + ["HV-C2"] * 3) * 2)
    cabinet_ids = np.array(["HV-C1", "HV-C2"])
    hours = t_s / 3600.0
    level = np.clip(np.where(hours < 1.5, 0.0, np.where(hours < 5, 1.0, 0.5)), 0, 1)
    level = np.repeat(level[:, None], n_p, axis=1).astype(np.float32)
    light = level * 0.95
    light[(t_s > 12_000) & (t_s <= 20_000), 1] = 0.0  # HV-E02 lamp failure
    pole_power = (light * 60.0 + 1.0).astype(np.float32)
    cab_power = np.stack(
        [pole_power[:, cabinet == c].sum(axis=1) for c in cabinet_ids], axis=1
    ).astype(np.float64)
    cab_energy = np.cumsum(cab_power * STEP_S / 3.6e6, axis=0)
    ambient = np.repeat(np.linspace(200, 0, N_T)[:, None], 2, axis=1)
    arrays: dict[str, Any] = {
        "t_s": t_s,
        "start_iso": np.array("2026-03-10T17:00:00+07:00"),
        "pole_ids": pole_ids,
        "pole_station_m": station,
        "pole_side": side,
        "pole_cabinet": cabinet,
        "cabinet_ids": cabinet_ids,
        "level": level,
        "light": light.astype(np.float32),
        "pole_power_w": pole_power,
        "cabinet_power_w": cab_power,
        "cabinet_energy_kwh": cab_energy,
        "ambient_lx": ambient,
    }
    arrays.update(override)
    np.savez(folder / "history.npz", **arrays)

    lines = ["t_s,cabinet,required_class,met,l_avg_cd_m2,u0,ul"]
    for t in t_s[::5]:
        for c in cabinet_ids:
            lit = t / 3600.0 >= 1.5
            met = int(not (c == "HV-C1" and 12_000 < t <= 20_000))
            cls = ("M3" if t / 3600.0 < 5 else "M4") if lit else ""
            lines.append(f"{t:g},{c},{cls},{met if lit else 0},1.1,0.42,0.7")
    (folder / "compliance.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "alerts.csv").write_text(
        "t_s,pole,code,kind\n12600,HV-E02,lampFailure,raised\n20400,HV-E02,,cleared\n",
        encoding="utf-8",
    )
    header = "kind,target,start_s,end_s,detected_s,detect_delay_s,expected_alert\n"
    row = "lamp_failure,HV-E02,12000,20000,12600,600,lampFailure\n" if faults else ""
    (folder / "faults.csv").write_text(header + row, encoding="utf-8")
    (run_dir / "kpis.json").write_text(
        json.dumps(
            {
                "lighting": {
                    "energy_kwh": float(cab_energy[-1].sum()),
                    "co2_kg": 3.2,
                    "cost_vnd": 12345.0,
                    "compliance_share": 0.9,
                }
            }
        ),
        encoding="utf-8",
    )
    return run_dir


def test_report_is_drawn_at_the_expected_size(tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    run = _write_run(tmp_path / "run")
    out = make_lighting_report(run)
    assert out == run / "lighting_report.png"
    assert out.exists()
    img = mpimg.imread(out)
    assert img.shape[:2] == (1100, 1600)
    assert float(img[..., :3].var()) > 1e-3


def test_no_faults_and_no_kpis_still_draws(tmp_path: Path) -> None:
    run = _write_run(tmp_path / "run", faults=False)
    (run / "kpis.json").unlink()
    out = make_lighting_report(run, tmp_path / "elsewhere.png")
    assert out == tmp_path / "elsewhere.png"
    assert out.stat().st_size > 10_000


def test_missing_history_names_the_file(tmp_path: Path) -> None:
    run = _write_run(tmp_path / "run")
    (run / "lighting" / "history.npz").unlink()
    with pytest.raises(FileNotFoundError, match=r"history\.npz"):
        make_lighting_report(run)


def test_level_with_wrong_shape_names_the_array(tmp_path: Path) -> None:
    run = _write_run(tmp_path / "run", level=np.zeros((N_T, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="'level'"):
        make_lighting_report(run)
