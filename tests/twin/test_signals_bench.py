"""``twin signals bench`` on three topologies: a grid, a five-leg spider junction, Đông Hà."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.traffic.feeds import signal_links
from sim.traffic.layout import read_signal_layouts
from twin.cli import app
from twin.signals_bench import (
    BenchSettings,
    RunJob,
    parse_sumocfg,
    program_file,
    run_one,
    scenario_sumocfg,
)

REPO = Path(__file__).resolve().parents[2]


def sumo_tool(name: str) -> str:
    import sumo

    return str(Path(sumo.SUMO_HOME) / "bin" / name)


def write_cfg(folder: Path, net: Path, routes: Path, end: float = 300) -> Path:
    cfg = folder / "test.sumocfg"
    cfg.write_text(
        f"""<configuration>
  <input><net-file value="{net}"/><route-files value="{routes}"/></input>
  <time><begin value="0"/><end value="{end:g}"/></time>
</configuration>
""",
        encoding="utf-8",
    )
    return cfg


def random_routes(net: Path, out: Path, period: float = 1.5, end: float = 300) -> Path:
    import sumo

    tool = Path(sumo.SUMO_HOME) / "tools" / "randomTrips.py"
    routes = out / "routes.rou.xml"
    subprocess.run(
        [
            sys.executable,
            str(tool),
            "-n",
            str(net),
            "-o",
            str(out / "trips.xml"),
            "-r",
            str(routes),
            "--period",
            str(period),
            "--end",
            str(end),
            "--seed",
            "7",
            "--validate",
        ],
        check=True,
        capture_output=True,
        cwd=out,  # randomTrips leaves helper files in its working folder
    )
    return routes


@pytest.fixture(scope="module")
def spider_cfg(tmp_path_factory) -> Path:
    """A five-arm spider web: a five-leg signalised junction in the middle."""
    folder = tmp_path_factory.mktemp("spider")
    net = folder / "spider.net.xml"
    subprocess.run(
        [
            sumo_tool("netgenerate"),
            "--spider",
            "--spider.arm-number",
            "5",
            "--spider.circle-number",
            "2",
            "--spider.space-radius",
            "150",
            "--tls.guess",
            "true",
            "--tls.guess.threshold",
            "0",
            "--no-turnarounds",
            "true",
            "-o",
            str(net),
        ],
        check=True,
        capture_output=True,
    )
    return write_cfg(folder, net, random_routes(net, folder, period=1.2))


def records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_bench_command_runs_all_five_controllers_on_a_grid(grid_net, tmp_path):
    cfg = write_cfg(tmp_path, grid_net, random_routes(grid_net, tmp_path))
    result = CliRunner().invoke(
        app,
        [
            "signals",
            "bench",
            "--sumocfg",
            str(cfg),
            "--seeds",
            "1",
            "--jobs",
            "2",
            "--out",
            str(tmp_path / "runs"),
        ],
    )
    assert result.exit_code == 0, result.output
    found = {r["controller"]: r for r in records(result.output)}
    assert set(found) == {"fixed", "actuated", "delay_based", "maxpressure", "adaptive"}
    for name, r in found.items():
        assert r["conflict_violations"] == 0, name
        assert r["vehicles_completed"] > 50, name
        assert r["mean_delay_s"] > 0 and r["mean_travel_time_s"] > r["mean_waiting_s"], name
        has_times = r["decision_ms_p99"] is not None
        assert has_times == (name in ("maxpressure", "adaptive")), name
    # the same demand ran under each: the departures are the same, only delays differ
    assert len({r["vehicles_completed"] + r["vehicles_unfinished"] for r in found.values()}) <= 2


def test_bench_on_a_five_leg_junction(spider_cfg, tmp_path):
    layouts = read_signal_layouts(parse_sumocfg(spider_cfg).net_file)
    assert max(len({e[0] for e in lay.link_edges}) for lay in layouts.values()) == 5
    for controller in ("actuated", "adaptive", "maxpressure"):
        job = RunJob(spider_cfg, controller, 3, 0.0, 300.0, tmp_path / controller)
        r = run_one(job)
        assert r["conflict_violations"] == 0, controller
        assert r["vehicles_completed"] > 30, controller


def test_bench_on_dongha_with_camera_estimates(tmp_path):
    cfg = scenario_sumocfg(
        REPO / "scenarios/dongha_morning_peak.yaml", tmp_path / "demand", 5, 1.0, 300.0
    )
    assert parse_sumocfg(cfg).lateral_resolution_m == pytest.approx(0.8)
    settings = BenchSettings(
        corridors=REPO / "scenarios/dongha/corridors.yaml", pcu_per_vehicle=0.45
    )
    r = run_one(RunJob(cfg, "adaptive+camera", 5, 0.0, 300.0, tmp_path / "cam", settings, "dongha"))
    assert r["junctions"] == 21
    assert r["conflict_violations"] == 0
    # trips across the city take ~9 min: in 5 min most are still under way
    assert r["vehicles_completed"] > 5 and r["vehicles_unfinished"] > 100
    assert r["decision_ms_p50"] is not None


def test_sumocfg_errors_name_the_file_and_the_problem(tmp_path):
    bad = tmp_path / "bad.sumocfg"
    bad.write_text("<configuration><input/></configuration>", encoding="utf-8")
    with pytest.raises(ValueError, match="no <net-file"):
        parse_sumocfg(bad)
    bad.write_text(
        '<configuration><input><net-file value="nope.net.xml"/></input></configuration>',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"nope\.net\.xml"):
        parse_sumocfg(bad)
    bad.write_text("<configuration><input>", encoding="utf-8")
    with pytest.raises(ValueError, match="not a readable SUMO configuration"):
        parse_sumocfg(bad)


def test_unknown_controller_is_bad_input(grid_net, tmp_path):
    cfg = write_cfg(tmp_path, grid_net, random_routes(grid_net, tmp_path))
    result = CliRunner().invoke(
        app, ["signals", "bench", "--sumocfg", str(cfg), "--controllers", "fixed,magic"]
    )
    assert result.exit_code == 2
    assert "unknown controller 'magic'" in result.output


@pytest.mark.parametrize("network", ["grid", "dongha"])
def test_builtin_programs_get_min_max_greens_and_the_same_all_red(network, grid_net, tmp_path):
    # Đông Hà's own programs carry a 1 s all-red after some ambers: it must grow to 2 s
    net = grid_net if network == "grid" else REPO / "scenarios/dongha/net/dongha.net.xml"
    layouts = read_signal_layouts(net)
    settings = BenchSettings(min_green_s=7, max_green_s=55, all_red_s=2)
    for kind in ("fixed", "actuated", "delay_based"):
        root = ET.parse(program_file(layouts, kind, settings, tmp_path / f"{kind}.xml")).getroot()
        logics = root.findall("tlLogic")
        assert len(logics) == len(layouts)
        for logic in logics:
            phases = logic.findall("phase")
            states = [p.get("state", "") for p in phases]
            for k, state in enumerate(states):
                if "y" in state:  # every amber is followed by >= 2 s all-red for its links
                    nxt = phases[(k + 1) % len(phases)]
                    assert float(nxt.get("duration", "0")) >= 2
                    assert all(
                        c == "r"
                        for c, was in zip(nxt.get("state", ""), state, strict=True)
                        if was == "y"
                    )
            own = layouts[logic.get("id", "")].phase_states
            greens = [
                p
                for p in phases
                if p.get("state") in own and "y" not in p.get("state") and "G" in p.get("state")
            ]
            if kind == "fixed":
                assert all(p.get("minDur") is None for p in greens)
            else:
                assert {p.get("minDur") for p in greens} == {"7"}
                assert {p.get("maxDur") for p in greens} == {"55"}


def test_signal_links_join_neighbouring_signals_of_a_grid(grid_net):
    layouts = read_signal_layouts(grid_net)
    links = signal_links(grid_net, layouts)
    assert links, "adjacent signals of the grid must feed each other"
    for link in links:
        assert link.up_tls != link.down_tls
        assert 150 < link.distance_m < 410  # one or two 200 m blocks
        assert link.travel_s > 0
        down = layouts[link.down_tls]
        assert set(link.down_lanes) <= set(down.lanes)
        # the upstream link leaves towards the downstream junction's approach
        assert layouts[link.up_tls].link_edges[link.up_link][1]


def test_dongha_corridors_are_linked_along_le_duan():
    net = REPO / "scenarios/dongha/net/dongha.net.xml"
    layouts = read_signal_layouts(net)
    pairs = {(x.up_tls, x.down_tls) for x in signal_links(net, layouts)}
    le_duan = {p for p in pairs if p[0].startswith("LeDuan_") and p[1].startswith("LeDuan_")}
    assert len(le_duan) >= 6, sorted(pairs)


@pytest.fixture(scope="module")
def crossing_cfg(tmp_path_factory) -> Path:
    """The grid with sidewalks and signalised pedestrian crossings, cars and walkers."""
    folder = tmp_path_factory.mktemp("crossings")
    net = folder / "ped.net.xml"
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
            "--sidewalks.guess",
            "true",
            "--crossings.guess",
            "true",
            "-o",
            str(net),
        ],
        check=True,
        capture_output=True,
    )
    cars = random_routes(net, folder, period=2.0)
    import sumo

    walkers = folder / "walkers.rou.xml"
    subprocess.run(
        [
            sys.executable,
            str(Path(sumo.SUMO_HOME) / "tools" / "randomTrips.py"),
            "-n",
            str(net),
            "-o",
            str(folder / "walkers.trips.xml"),
            "-r",
            str(walkers),
            "--pedestrians",
            "--period",
            "1",
            "--end",
            "300",
            "--seed",
            "4",
        ],
        check=True,
        capture_output=True,
        cwd=folder,
    )
    cfg = folder / "ped.sumocfg"
    cfg.write_text(
        f"""<configuration>
  <input><net-file value="{net}"/><route-files value="{cars},{walkers}"/></input>
  <time><begin value="0"/><end value="300"/></time>
</configuration>
""",
        encoding="utf-8",
    )
    return cfg


def test_pedestrian_crossings_are_signal_links_served_by_our_controllers(crossing_cfg, tmp_path):
    layouts = read_signal_layouts(parse_sumocfg(crossing_cfg).net_file)
    centre = layouts["B1"]
    assert len(centre.crossings) == 4 and len(centre.pedestrian_links) == 4
    assert len(centre.phase_states[0]) == centre.n_links  # crossings are links too
    assert not set(centre.crossings) & set(centre.lanes)  # no vehicle detector on a crossing
    for controller in ("adaptive", "maxpressure"):
        r = run_one(RunJob(crossing_cfg, controller, 2, 0.0, 300.0, tmp_path / controller))
        assert r["conflict_violations"] == 0, controller
        assert r["persons_completed"] > 50, controller  # walkers get their green
        assert r["vehicles_completed"] > 30, controller
