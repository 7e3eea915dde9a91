"""Shared fixtures: a small SUMO grid network built with netgenerate, and simple demand."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def sumo_tool(name: str) -> str:
    """Path of a SUMO binary shipped by the eclipse-sumo package."""
    import sumo

    return str(Path(sumo.SUMO_HOME) / "bin" / name)


@pytest.fixture(scope="session")
def grid_net(tmp_path_factory) -> Path:
    """A 3 x 3 grid, 200 m blocks, 2 lanes, traffic lights at the inner junctions."""
    out = tmp_path_factory.mktemp("grid") / "grid.net.xml"
    subprocess.run(
        [
            sumo_tool("netgenerate"),
            "--grid",
            "--grid.number",
            "3",
            "--grid.length",
            "200",
            "--default.lanenumber",
            "2",
            "--tls.guess",
            "true",
            "--no-turnarounds",
            "true",
            "--seed",
            "1",
            "-o",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def grid_routes(tmp_path_factory) -> Path:
    """Motorbikes west→east and cars north→south through the grid's centre junction B1."""
    out = tmp_path_factory.mktemp("grid_routes") / "grid.rou.xml"
    out.write_text(
        """<routes>
  <vType id="moto" vClass="motorcycle" length="2.0" width="0.8" minGapLat="0.3"
         latAlignment="arbitrary"/>
  <vType id="car" vClass="passenger"/>
  <flow id="we" type="moto" begin="0" end="900" vehsPerHour="900" from="A1B1" to="B1C1"/>
  <flow id="ns" type="car" begin="0" end="900" vehsPerHour="500" from="B2B1" to="B1B0"/>
</routes>
""",
        encoding="utf-8",
    )
    return out
