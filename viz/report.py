"""The run report picture: the network coloured by mean speed, and KPI charts.

Reads only the run folder (``kpis.json``, ``scenario.json``, SUMO's
``edgedata.xml`` and ``summary.xml``) and the network the scenario names;
writes ``report.png``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

__all__ = ["make_report"]

_ATTRIBUTION = "Road network © OpenStreetMap contributors (ODbL)"


def _edge_speeds_kmh(edgedata: Path) -> dict[str, float]:
    speeds: dict[str, float] = {}
    if not edgedata.exists():
        return speeds
    for _event, elem in ET.iterparse(edgedata):
        if elem.tag == "edge" and elem.get("speed") is not None:
            speeds[elem.get("id", "")] = float(elem.get("speed", 0)) * 3.6
    return speeds


def _summary_series(summary: Path) -> dict[str, list[float]]:
    series: dict[str, list[float]] = {"time": [], "running": [], "halting": [], "waiting": []}
    if not summary.exists():
        return series
    for _event, elem in ET.iterparse(summary):
        if elem.tag == "step":
            series["time"].append(float(elem.get("time", 0)) / 60.0)
            series["running"].append(float(elem.get("running", 0)))
            series["halting"].append(float(elem.get("halting", 0)))
            series["waiting"].append(float(elem.get("waiting", 0)))
            elem.clear()
    return series


def make_report(run_dir: Path) -> Path:
    """Draw ``run_dir/report.png`` from the run folder and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import sumolib
    from matplotlib.collections import LineCollection

    kpis: dict[str, Any] = json.loads((run_dir / "kpis.json").read_text(encoding="utf-8"))
    scenario = json.loads((run_dir / "scenario.json").read_text(encoding="utf-8"))
    traffic = scenario["plants"]["traffic"]
    net = sumolib.net.readNet(traffic["network"], withInternal=False)
    speeds = _edge_speeds_kmh(run_dir / "edgedata.xml")

    fig = plt.figure(figsize=(16, 10), dpi=100)
    grid = fig.add_gridspec(3, 2, width_ratios=[1.6, 1], hspace=0.45, wspace=0.18)
    ax_map = fig.add_subplot(grid[:, 0])
    segments, colours, grey = [], [], []
    for edge in net.getEdges():
        shape = edge.getShape()
        if edge.getID() in speeds:
            segments.append(shape)
            colours.append(speeds[edge.getID()])
        else:
            grey.append(shape)
    ax_map.add_collection(LineCollection(grey, colors="#cccccc", linewidths=0.8))
    lines = LineCollection(segments, array=colours, cmap="RdYlGn", linewidths=2.0)
    lines.set_clim(0, 60)
    ax_map.add_collection(lines)
    fig.colorbar(lines, ax=ax_map, shrink=0.6, label="mean speed over the run (km/h)")
    plans_file = run_dir / "signal_plans.json"
    signal_ids = set(json.loads(plans_file.read_text())["plans"]) if plans_file.exists() else set()
    tls_xy = sorted(
        {
            tuple(c[0].getEdge().getToNode().getCoord())
            for tls in net.getTrafficLights()
            if tls.getID() in signal_ids
            for c in tls.getConnections()
        }
    )
    if tls_xy:
        ax_map.scatter(
            [x for x, _ in tls_xy],
            [y for _, y in tls_xy],
            s=28,
            marker="s",
            c="black",
            label=f"signalised junctions ({len(signal_ids)})",
            zorder=3,
        )
        ax_map.legend(loc="lower left")
    ax_map.autoscale()
    ax_map.set_aspect("equal")
    ax_map.set_xlabel("x (m, UTM 48N offset)")
    ax_map.set_title(f"{scenario['name']} — mean speed by road")
    ax_map.text(0.99, 0.01, _ATTRIBUTION, transform=ax_map.transAxes, ha="right", fontsize=8)

    ax_class = fig.add_subplot(grid[0, 1])
    by_class = kpis.get("by_class", {})
    names = list(by_class)
    ax_class.bar(names, [by_class[n]["mean_delay_s"] for n in names], color="#4477aa")
    ax_class.set_ylabel("mean delay (s/veh)")
    ax_class.set_title(
        f"{kpis['vehicles_completed']} trips completed · mean delay {kpis['mean_delay_s']:.0f} s"
        f" · interlock violations {kpis['interlock_violations']}"
    )

    ax_time = fig.add_subplot(grid[1, 1])
    series = _summary_series(run_dir / "summary.xml")
    ax_time.plot(series["time"], series["running"], label="running")
    ax_time.plot(series["time"], series["halting"], label="halting")
    ax_time.plot(series["time"], series["waiting"], label="waiting to enter", ls="--")
    ax_time.set_xlabel("minutes after start")
    ax_time.set_ylabel("vehicles")
    ax_time.legend(fontsize=8)

    ax_queue = fig.add_subplot(grid[2, 1])
    queues = kpis.get("max_queue_m", {})
    order = sorted(queues, key=queues.get)
    ax_queue.barh(order, [queues[k] for k in order], color="#cc6677")
    ax_queue.set_xlabel("max queue (m)")
    ax_queue.tick_params(axis="y", labelsize=6)

    out = run_dir / "report.png"
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out
