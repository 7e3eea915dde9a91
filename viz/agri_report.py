"""The agriculture run report: water, rain and crop stress per site, smart against fixed.

Reads only the run folder. ``twin run`` writes, for each cooperative site
``<s>`` of ``plants.agri``, ``run_dir/agri/<s>_daily.csv`` with one row per
local day and controller::

    date,controller,irrigation_mm,rain_mm,eta_mm,etc_mm,in_season_plots,
    stressed_plots,mean_depletion_share

(``controller`` is ``smart``, ``fixed`` or ``none``; depths are mm over the
site, area-weighted; ``mean_depletion_share`` is Dr/TAW averaged over the
in-season plots, 0..1). ``run_dir/kpis.json`` is optional; its ``agri`` block
(per site ``comparison.water_saving``, ``stress_days``) feeds the titles.

Writes ``run_dir/agri_report.png`` (1600 × 500 px per site at 100 dpi)
unless ``out`` is given.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["make_agri_report"]

_DPI = 100
_COLOURS = {"smart": "tab:green", "fixed": "tab:orange", "none": "tab:grey"}
_SITE_NAMES = {"AL": "An Lạc (flowers, net houses)", "DT": "Đông Thanh (vegetables)"}


def _read(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """Columns per controller from one ``<s>_daily.csv``; ValueError names the file."""
    rows: dict[str, list[dict[str, str]]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        need = {"date", "controller", "irrigation_mm", "rain_mm", "stressed_plots"}
        missing = need - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
        for row in reader:
            rows.setdefault(row["controller"], []).append(row)
    out: dict[str, dict[str, np.ndarray]] = {}
    for kind, items in rows.items():
        try:
            out[kind] = {
                "date": np.array([date.fromisoformat(r["date"]) for r in items]),
                **{
                    key: np.array([float(r[key]) for r in items])
                    for key in (
                        "irrigation_mm",
                        "rain_mm",
                        "eta_mm",
                        "etc_mm",
                        "in_season_plots",
                        "stressed_plots",
                        "mean_depletion_share",
                    )
                },
            }
        except (KeyError, ValueError) as err:
            raise ValueError(f"{path}: unreadable row for {kind!r} ({err})") from err
    return out


def make_agri_report(run_dir: Path, out: Path | None = None) -> Path:
    """Draw the report of ``run_dir`` and return the PNG's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = sorted((run_dir / "agri").glob("*_daily.csv"))
    if not files:
        raise FileNotFoundError(f"{run_dir / 'agri'}: no <site>_daily.csv; run an agri scenario")
    kpis: dict[str, Any] = {}
    kpi_path = run_dir / "kpis.json"
    if kpi_path.exists():
        kpis = json.loads(kpi_path.read_text(encoding="utf-8")).get("agri", {})
    fig, axes = plt.subplots(
        len(files), 3, figsize=(16.0, 5.0 * len(files)), dpi=_DPI, squeeze=False
    )
    for row, path in zip(axes, files, strict=True):
        site = path.name.removesuffix("_daily.csv")
        data = _read(path)
        _daily_water(row[0], data)
        _cumulative(row[1], data)
        _stress(row[2], data)
        comp = kpis.get(site, {}).get("comparison", {})
        row[0].set_title(_SITE_NAMES.get(site, site), loc="left", fontsize=12)
        if comp:
            row[1].set_title(
                f"water in and out: smart uses {100 * comp['water_saving']:.0f} % less",
                fontsize=10,
            )
            row[2].set_title(
                f"crop water stress: {comp['stress_days']['smart']:g} stress days smart, "
                f"{comp['stress_days']['fixed']:g} fixed",
                fontsize=10,
            )
    fig.autofmt_xdate()
    fig.tight_layout()
    target = out or run_dir / "agri_report.png"
    fig.savefig(target)
    plt.close(fig)
    return target


def _daily_water(ax: Any, data: dict[str, dict[str, np.ndarray]]) -> None:
    kinds = list(data)
    width = 0.8 / max(len(kinds), 1)
    first = next(iter(data.values()))
    x = np.arange(len(first["date"]))
    for k, kind in enumerate(kinds):
        ax.bar(
            x + (k - (len(kinds) - 1) / 2) * width,
            data[kind]["irrigation_mm"],
            width,
            color=_COLOURS.get(kind, "tab:blue"),
            label=f"irrigation, {kind}",
        )
    ax.plot(x, first["etc_mm"], "k-", lw=1, label="crop ET (in season)")
    rain = ax.twinx()
    rain.bar(x, first["rain_mm"], 0.9, color="tab:blue", alpha=0.25)
    rain.set_ylabel("rain (mm/d)", color="tab:blue")
    rain.invert_yaxis()
    ticks = x[:: max(1, len(x) // 8)]
    ax.set_xticks(ticks, [first["date"][i].strftime("%d %b") for i in ticks])
    ax.set_ylabel("mm/d over the site")
    ax.legend(loc="upper left", fontsize=8)


def _cumulative(ax: Any, data: dict[str, dict[str, np.ndarray]]) -> None:
    for kind, cols in data.items():
        ax.plot(
            cols["date"],
            np.cumsum(cols["irrigation_mm"]),
            color=_COLOURS.get(kind, "tab:blue"),
            lw=2,
            label=f"irrigation, {kind}",
        )
    first = next(iter(data.values()))
    ax.plot(first["date"], np.cumsum(first["rain_mm"]), color="tab:blue", ls="--", label="rain")
    ax.plot(first["date"], np.cumsum(first["etc_mm"]), color="black", ls=":", label="crop ET")
    ax.set_ylabel("cumulative mm over the site")
    ax.set_title("water in and out", fontsize=10)
    ax.legend(fontsize=8)


def _stress(ax: Any, data: dict[str, dict[str, np.ndarray]]) -> None:
    for kind, cols in data.items():
        ax.step(
            cols["date"],
            cols["stressed_plots"],
            where="mid",
            color=_COLOURS.get(kind, "tab:blue"),
            label=f"stressed plots, {kind}",
        )
        ax.plot(
            cols["date"],
            100.0 * cols["mean_depletion_share"],
            color=_COLOURS.get(kind, "tab:blue"),
            ls=":",
            label=f"mean Dr/TAW %, {kind}",
        )
    ax.set_ylabel("plots with Ks < 1 that day / Dr/TAW (%)")
    ax.set_title("crop water stress", fontsize=10)
    ax.legend(fontsize=8)
