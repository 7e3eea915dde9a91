"""Flood water at a lighting cabinet trips its supply; road users light the poles."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from sim.lighting.plant import LOCAL_TZ, LightingPlant, LightingPlantConfig
from twin.lighting_coupling import FloodLightingCoupling, net_offset

CELL_M = 50.0


def _flood(depth_by_cell: dict[tuple[int, int], float], x0: float, y0: float) -> Any:
    """A stand-in flood grid: 50 m cells from (x0, y0), depth 0 except where given."""

    def cells_of_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.floor((y - y0) / CELL_M).astype(np.intp),
            np.floor((x - x0) / CELL_M).astype(np.intp),
        )

    def depth_at(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.array(
            [depth_by_cell.get((int(r), int(c)), 0.0) for r, c in zip(rows, cols, strict=True)]
        )

    return SimpleNamespace(cells_of_xy=cells_of_xy, depth_at=depth_at, step_s=60.0)


def test_water_over_the_plinth_trips_only_that_cabinet() -> None:
    plant = LightingPlant(
        LightingPlantConfig(
            start=datetime(2026, 10, 16, 20, tzinfo=LOCAL_TZ), step_s=60.0, traffic="none"
        )
    )
    cabs = plant.layout.cabinets
    x0 = min(c.x for c in cabs) - 1000.0
    y0 = min(c.y for c in cabs) - 1000.0
    wet = cabs[2]
    cell = (int((wet.y - y0) // CELL_M), int((wet.x - x0) // CELL_M))
    depths = {cell: 0.1}
    coupling = FloodLightingCoupling(_flood(depths, x0, y0), plant, period_s=60.0)
    assert coupling.outside == []
    plant.start(0.0)
    plant.actuate({f"light/{p}/dim_pct": 100.0 for p in plant.pole_ids})
    coupling.step(0.0, None)  # type: ignore[arg-type]
    plant.advance(60.0)
    assert bool(plant.supply_ok.all())  # 0.1 m is below the 0.3 m plinth
    depths[cell] = 0.45
    coupling.step(60.0, None)  # type: ignore[arg-type]
    plant.advance(120.0)
    k = plant.cabinet_ids.index(wet.id)
    assert not plant.supply_ok[k]
    assert plant.supply_ok.sum() == len(cabs) - 1
    assert coupling.max_depth_m[wet.id] == pytest.approx(0.45)
    fed = [i for i, p in enumerate(plant.pole_ids) if plant.layout.pole(p).cabinet == wet.id]
    assert np.all(plant.light[fed] == 0.0)
    # the water goes down: the cabinet stays off until someone resets it
    depths[cell] = 0.0
    coupling.step(120.0, None)  # type: ignore[arg-type]
    plant.advance(180.0)
    assert not plant.supply_ok[k]


def test_a_grid_network_cannot_be_put_on_the_map(tmp_path) -> None:  # type: ignore[no-untyped-def]
    net = tmp_path / "grid.net.xml"
    net.write_text(
        '<net><location netOffset="0.00,0.00" projParameter="!"/><edge id="a"/></net>',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="not UTM 48N"):
        net_offset(net)
