"""The street-lighting run report: dimming map, energy, compliance and faults.

Reads only the run folder. ``twin run`` writes these into ``run_dir/lighting/``
when the scenario has the street-lighting plant (Hùng Vương pilot):

``history.npz`` (``np.savez``; text arrays as unicode ``<U``, not object):
    ``t_s`` (n_t,) run time (s), increasing; ``start_iso`` 0-d str, ISO 8601
    with a UTC offset (``2026-03-10T17:00:00+07:00``), the local time at
    ``t_s = 0``; ``pole_ids``, ``pole_side`` (``E``/``W``), ``pole_cabinet``
    (n_p,) str; ``pole_station_m`` (n_p,) float, m along the road from the
    railway crossing; ``cabinet_ids`` (n_c,) str; ``level`` (commanded, 0..1),
    ``light`` (actual light fraction, 0..1), ``pole_power_w`` (W), each
    (n_t, n_p); ``cabinet_power_w`` (W), ``cabinet_energy_kwh`` (cumulative
    kWh), each (n_t, n_c); ``ambient_lx`` (n_t, n_c) or (n_t,), lx.
``compliance.csv``
    ``t_s,cabinet,required_class,met,l_avg_cd_m2,u0,ul``; one row per cabinet
    per evaluation; ``met`` 0/1; ``required_class`` (``M3``...) empty while
    the lamps are off by day. A row holds until the cabinet's next row.
``alerts.csv``
    ``t_s,pole,code,kind``; ``kind`` is ``raised`` or ``cleared``.
``faults.csv``
    ``kind,target,start_s,end_s,detected_s,detect_delay_s,expected_alert``;
    ``end_s`` empty = never ends; ``detected_s``/``detect_delay_s`` empty =
    not detected; ``target`` is a pole id or, for ``supply_loss``, a cabinet id.

All four are required (write the CSVs with only their header when empty).
``run_dir/kpis.json`` is optional; its ``lighting`` key (``energy_kwh``,
``co2_kg``, ``cost_vnd``, ``compliance_share`` 0..1) feeds the title line.

Writes ``run_dir/lighting_report.png`` (1600 × 1100 px at 100 dpi) unless
``out`` is given.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["make_lighting_report"]

_ATTRIBUTION = "Road geometry © OpenStreetMap contributors (ODbL)"
_WRITER = "twin run with the street-lighting plant"
_SIZE_IN = (16.0, 11.0)
_DPI = 100
_MAX_COLUMNS = 720  # time columns of the dimming map; longer runs are block-averaged
_MET, _NOT_MET, _OFF = "#2ca02c", "#d62728", "#bdbdbd"
_ALERT_COLOURS = {
    "lampFailure": "tab:red",
    "dimmingFailure": "tab:orange",
    "lampUnexpectedOn": "tab:purple",
    "supplyLoss": "black",
    "commFailure": "tab:blue",
}
_MAX_FAULT_ROWS = 30

_COMPLIANCE_COLS = ("t_s", "cabinet", "required_class", "met", "l_avg_cd_m2", "u0", "ul")
_ALERT_COLS = ("t_s", "pole", "code", "kind")
_FAULT_COLS = (
    "kind",
    "target",
    "start_s",
    "end_s",
    "detected_s",
    "detect_delay_s",
    "expected_alert",
)


@dataclass(frozen=True)
class _History:
    """``history.npz``, checked (see the module docstring for units and shapes)."""

    t_s: np.ndarray
    start: datetime
    pole_ids: list[str]
    station_m: np.ndarray
    side: list[str]
    pole_cabinet: list[str]
    cabinet_ids: list[str]
    light: np.ndarray
    cabinet_energy_kwh: np.ndarray


def make_lighting_report(run_dir: Path, out: Path | None = None) -> Path:
    """Draw the lighting report of ``run_dir`` and return the PNG's path.

    Args:
        run_dir: a run folder holding ``lighting/`` (see the module docstring).
        out: where to write the PNG; default ``run_dir/lighting_report.png``.

    Raises:
        FileNotFoundError: a required input file is missing.
        ValueError: an array has the wrong shape or a CSV lacks a column.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    run_dir = Path(run_dir)
    folder = run_dir / "lighting"
    hist = _load_history(folder / "history.npz")
    compliance = _read_csv(folder / "compliance.csv", _COMPLIANCE_COLS)
    alerts = _read_csv(folder / "alerts.csv", _ALERT_COLS)
    faults = _read_csv(folder / "faults.csv", _FAULT_COLS)
    kpis = _lighting_kpis(run_dir / "kpis.json")

    fig = Figure(figsize=_SIZE_IN, dpi=_DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.07, right=0.95, top=0.91, bottom=0.07, hspace=0.32, wspace=0.22)
    grid = fig.add_gridspec(2, 2)

    _dimming_map(fig, grid[0, 0], hist)
    _energy(fig.add_subplot(grid[0, 1]), hist)
    _compliance(fig.add_subplot(grid[1, 0]), hist, compliance)
    _faults(fig.add_subplot(grid[1, 1]), hist, faults, alerts)

    fig.suptitle(_title(hist, kpis), fontsize=13)
    fig.text(0.01, 0.008, _ATTRIBUTION, fontsize=8, color="0.3")
    path = Path(out) if out is not None else run_dir / "lighting_report.png"
    fig.savefig(path, dpi=_DPI)
    return path


# ------------------------------------------------------------------ inputs
def _load_history(path: Path) -> _History:
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: missing lighting history (history.npz is written by {_WRITER})"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except ValueError as e:
        raise ValueError(
            f"{path}: cannot read ({e}); save text arrays as unicode (np.str_), not objects"
        ) from e

    def need(name: str) -> np.ndarray:
        if name not in data:
            raise ValueError(f"{path}: no array {name!r} (have {', '.join(sorted(data))})")
        return data[name]

    def shaped(name: str, *shapes: tuple[int, ...]) -> np.ndarray:
        arr = need(name)
        if arr.shape not in shapes:
            want = " or ".join(str(s) for s in shapes)
            raise ValueError(f"{path}: array {name!r} has shape {arr.shape}, expected {want}")
        return arr

    t_s = np.asarray(need("t_s"), dtype=float)
    if t_s.ndim != 1 or t_s.size == 0:
        raise ValueError(f"{path}: array 't_s' has shape {t_s.shape}, expected (n_t,) with n_t ≥ 1")
    if not (np.all(np.isfinite(t_s)) and np.all(np.diff(t_s) > 0)):
        raise ValueError(f"{path}: array 't_s' must be finite and strictly increasing")
    pole_ids = need("pole_ids")
    if pole_ids.ndim != 1 or pole_ids.size == 0:
        raise ValueError(f"{path}: array 'pole_ids' has shape {pole_ids.shape}, expected (n_p,)")
    cabinet_ids = need("cabinet_ids")
    if cabinet_ids.ndim != 1 or cabinet_ids.size == 0:
        raise ValueError(
            f"{path}: array 'cabinet_ids' has shape {cabinet_ids.shape}, expected (n_c,)"
        )
    n_t, n_p, n_c = t_s.size, pole_ids.size, cabinet_ids.size

    station = np.asarray(shaped("pole_station_m", (n_p,)), dtype=float)
    side = [str(s) for s in shaped("pole_side", (n_p,))]
    pole_cabinet = [str(c) for c in shaped("pole_cabinet", (n_p,))]
    for name in ("level", "light", "pole_power_w"):
        shaped(name, (n_t, n_p))
    for name in ("cabinet_power_w", "cabinet_energy_kwh"):
        shaped(name, (n_t, n_c))
    shaped("ambient_lx", (n_t, n_c), (n_t,))

    bad_side = sorted({s for s in side if s not in ("E", "W")})
    if bad_side:
        raise ValueError(f"{path}: array 'pole_side' holds {bad_side}; use 'E' or 'W'")
    cabs = [str(c) for c in cabinet_ids]
    unknown = sorted(set(pole_cabinet) - set(cabs))
    if unknown:
        raise ValueError(f"{path}: array 'pole_cabinet' names {unknown}, not in 'cabinet_ids'")

    start_raw = need("start_iso")
    if start_raw.shape != ():
        raise ValueError(f"{path}: array 'start_iso' has shape {start_raw.shape}, expected ()")
    try:
        start = datetime.fromisoformat(str(start_raw[()]))
    except ValueError as e:
        raise ValueError(f"{path}: array 'start_iso' = {start_raw[()]!r} is not ISO 8601") from e
    if start.tzinfo is None:
        raise ValueError(
            f"{path}: array 'start_iso' = {start_raw[()]!r} has no UTC offset; "
            "write local time with its offset, e.g. 2026-03-10T17:00:00+07:00"
        )

    return _History(
        t_s=t_s,
        start=start,
        pole_ids=[str(p) for p in pole_ids],
        station_m=station,
        side=side,
        pole_cabinet=pole_cabinet,
        cabinet_ids=cabs,
        light=np.asarray(data["light"], dtype=float),
        cabinet_energy_kwh=np.asarray(data["cabinet_energy_kwh"], dtype=float),
    )


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: missing (written by {_WRITER}; header only when it has no rows)"
        )
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{path}: no column(s) {', '.join(missing)}; expected header {','.join(columns)}"
            )
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def _num(value: str, what: str) -> float | None:
    """The number in a CSV cell, None if empty."""
    if value == "":
        return None
    try:
        return float(value)
    except ValueError as e:
        raise ValueError(f"{what} = {value!r}: expected a number or empty") from e


def _lighting_kpis(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    section = data.get("lighting") if isinstance(data, dict) else None
    return section if isinstance(section, dict) else {}


# ------------------------------------------------------------------ time axis
def _clock(hist: _History, t_s: np.ndarray | float) -> Any:
    """Matplotlib date numbers of run times ``t_s`` (s)."""
    import matplotlib.dates as mdates

    t = np.atleast_1d(np.asarray(t_s, dtype=float))
    return mdates.date2num([hist.start + timedelta(seconds=float(s)) for s in t])


def _time_axis(ax: Any, hist: _History, label: bool = True) -> None:
    import matplotlib.dates as mdates

    tz = hist.start.tzinfo
    locator = mdates.AutoDateLocator(tz=tz, minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=tz))
    end = hist.t_s[-1] + _step(hist.t_s)
    ax.set_xlim(*_clock(hist, np.array([hist.t_s[0], end])))
    if label:
        offset = hist.start.strftime("%z")
        ax.set_xlabel(f"local time (UTC{offset[:3]}:{offset[3:]}), from {hist.start:%Y-%m-%d}")


def _step(t_s: np.ndarray) -> float:
    """The typical record period (s); 60 s for a single record."""
    return float(np.median(np.diff(t_s))) if t_s.size > 1 else 60.0


# ------------------------------------------------------------------ panels
def _dimming_map(fig: Any, cell: Any, hist: _History) -> None:
    """Panel 1: light fraction per pole over time, E side above W side."""
    sub = cell.subgridspec(2, 2, width_ratios=[40, 1], hspace=0.08, wspace=0.04)
    t_edges, light = _time_blocks(hist.t_s, hist.light)
    x_edges = _clock(hist, t_edges)
    mesh = None
    top = None
    for row, side in enumerate(("E", "W")):
        ax = fig.add_subplot(sub[row, 0], sharex=top)
        idx = np.array([k for k, s in enumerate(hist.side) if s == side], dtype=int)
        if idx.size == 0:
            ax.text(0.5, 0.5, f"no {side} poles", ha="center", va="center", transform=ax.transAxes)
            ax.set_yticks([])
        else:
            order = idx[np.argsort(hist.station_m[idx], kind="stable")]
            y_edges = _edges(hist.station_m[order], 10.0)
            mesh = ax.pcolormesh(
                x_edges,
                y_edges,
                100.0 * light[:, order].T,
                cmap="inferno",
                vmin=0,
                vmax=100,
                shading="flat",
                rasterized=True,
            )
            _cabinet_bounds(ax, hist, order, y_edges)
            ax.set_ylim(y_edges[0], y_edges[-1])
        ax.set_ylabel(f"{side} side: station (m)")
        _time_axis(ax, hist, label=row == 1)
        if row == 0:
            ax.set_title("Light output per pole (% of full), cabinet boundaries dashed")
            ax.tick_params(labelbottom=False)
            top = ax
    cax = fig.add_subplot(sub[:, 1])
    if mesh is not None:
        fig.colorbar(mesh, cax=cax, label="light (%)")


def _time_blocks(t_s: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell edges (s) and values, block-averaged to at most ``_MAX_COLUMNS`` columns.

    A record at ``t`` holds until the next one (the last for one record period).
    """
    edges = np.concatenate([t_s, [t_s[-1] + _step(t_s)]])
    n = t_s.size
    if n <= _MAX_COLUMNS:
        return edges, values
    bounds = np.linspace(0, n, _MAX_COLUMNS + 1).round().astype(int)
    sums = np.add.reduceat(values, bounds[:-1], axis=0)
    means = sums / np.diff(bounds)[:, None]
    return edges[bounds], means


def _edges(centres: np.ndarray, default: float) -> np.ndarray:
    """Cell edges around sorted ``centres`` (half-way between neighbours)."""
    if centres.size == 1:
        return np.array([centres[0] - default, centres[0] + default])
    mid = 0.5 * (centres[1:] + centres[:-1])
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def _cabinet_bounds(ax: Any, hist: _History, order: np.ndarray, y_edges: np.ndarray) -> None:
    cabs = [hist.pole_cabinet[k] for k in order]
    first = 0
    for i in range(1, len(cabs) + 1):
        if i == len(cabs) or cabs[i] != cabs[first]:
            if i < len(cabs):
                ax.axhline(y_edges[i], color="cyan", lw=0.9, ls="--")
            ax.text(
                0.005,
                0.5 * (y_edges[first] + y_edges[i]),
                cabs[first],
                transform=ax.get_yaxis_transform(),
                fontsize=7,
                va="center",
                ha="left",
                color="cyan",
                bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "lw": 0},
            )
            first = i


def _energy(ax: Any, hist: _History) -> None:
    """Panel 2: cumulative energy per cabinet."""
    x = _clock(hist, hist.t_s)
    e = hist.cabinet_energy_kwh
    for j, cab in enumerate(hist.cabinet_ids):
        ax.plot(x, e[:, j], lw=1.4, label=f"{cab}: {e[-1, j]:.1f} kWh")
    total = float(np.nansum(e[-1]))
    ax.legend(
        loc="upper left", fontsize=8, title=f"total {total:.1f} kWh", title_fontsize=9, ncol=2
    )
    _time_axis(ax, hist)
    ax.set_ylabel("energy since start (kWh)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.set_title("Energy per cabinet (cumulative)")


def _compliance(ax: Any, hist: _History, rows: list[dict[str, str]]) -> None:
    """Panel 3: per cabinet, the required class and whether it was met, over time."""
    from matplotlib.patches import Patch

    end = hist.t_s[-1] + _step(hist.t_s)
    n_c = len(hist.cabinet_ids)
    by_cab: dict[str, list[tuple[float, str, bool]]] = {c: [] for c in hist.cabinet_ids}
    for i, r in enumerate(rows, start=2):
        cab = r["cabinet"]
        if cab not in by_cab:
            raise ValueError(
                f"compliance.csv line {i}: cabinet {cab!r} not in history 'cabinet_ids'"
            )
        t = _num(r["t_s"], f"compliance.csv line {i} t_s")
        met = _num(r["met"], f"compliance.csv line {i} met")
        if t is None:
            raise ValueError(f"compliance.csv line {i}: empty t_s")
        by_cab[cab].append((t, r["required_class"], bool(met)))

    labels = []
    lit_total = met_total = 0.0
    for j, cab in enumerate(hist.cabinet_ids):
        y = n_c - 1 - j
        segs = sorted(by_cab[cab], key=lambda s: s[0])
        lit = met_s = 0.0
        for k, (t0, cls, met) in enumerate(segs):
            t1 = segs[k + 1][0] if k + 1 < len(segs) else end
            if t1 <= t0:
                continue
            colour = _OFF if not cls else (_MET if met else _NOT_MET)
            x0, x1 = _clock(hist, np.array([t0, t1]))
            ax.broken_barh([(x0, x1 - x0)], (y - 0.4, 0.8), facecolors=colour, lw=0)
            if cls:
                lit += t1 - t0
                met_s += (t1 - t0) if met else 0.0
                new_class = k == 0 or segs[k - 1][1] != cls
                if new_class:
                    ax.text(x0, y, f" {cls}", fontsize=7, va="center", ha="left", clip_on=True)
        lit_total += lit
        met_total += met_s
        share = f"{met_s / lit:.0%} met" if lit > 0 else "no lit time"
        labels.append((y, f"{cab}\n{share}" if segs else f"{cab}\nno rows"))
    ax.set_yticks([y for y, _ in labels], [s for _, s in labels], fontsize=8)
    ax.set_ylim(-0.6, n_c + 0.15)  # room for the legend above the strips
    _time_axis(ax, hist)
    overall = f"{met_total / lit_total:.0%}" if lit_total > 0 else "n/a"
    handles = [
        Patch(color=_MET, label="met"),
        Patch(color=_NOT_MET, label="not met"),
        Patch(color=_OFF, label="lamps off (day)"),
    ]
    ax.legend(
        handles=handles,
        loc="upper right",
        ncol=3,
        fontsize=8,
        title=f"share of lit time met: {overall}",
        title_fontsize=8,
        framealpha=0.9,
    )
    ax.set_title("Compliance with the required lighting class, per cabinet")


def _faults(
    ax: Any, hist: _History, faults: list[dict[str, str]], alerts: list[dict[str, str]]
) -> None:
    """Panel 4: injected faults (start → end), detection time and delay, raised alerts."""
    end = hist.t_s[-1] + _step(hist.t_s)
    pole_cab = dict(zip(hist.pole_ids, hist.pole_cabinet, strict=True))
    parsed = []
    for i, f in enumerate(faults, start=2):
        where = f"faults.csv line {i}"
        start = _num(f["start_s"], f"{where} start_s")
        if start is None:
            raise ValueError(f"{where}: empty start_s")
        parsed.append(
            (
                f,
                start,
                _num(f["end_s"], f"{where} end_s"),
                _num(f["detected_s"], f"{where} detected_s"),
                _num(f["detect_delay_s"], f"{where} detect_delay_s"),
            )
        )
    targets = sorted({f["target"] for f, *_ in parsed})
    raised = [a for a in alerts if a["kind"] == "raised"]

    def row_of(pole: str) -> str:
        """An alert's row: its pole, or its cabinet's row when the fault is on the cabinet."""
        cab = pole_cab.get(pole, "")
        return cab if pole not in targets and cab in targets else pole

    alert_rows = sorted({row_of(a["pole"]) for a in raised} - set(targets))
    rows = targets + alert_rows
    hidden = max(0, len(rows) - _MAX_FAULT_ROWS)
    rows = rows[:_MAX_FAULT_ROWS]
    y_of = {name: len(rows) - 1 - i for i, name in enumerate(rows)}

    _time_axis(ax, hist)
    if not parsed:
        ax.text(
            0.5,
            0.5 if not rows else 0.97,
            "no faults injected",
            transform=ax.transAxes,
            ha="center",
            va="center" if not rows else "top",
            fontsize=12,
            color="0.4",
        )
    for f, start, stop, detected, delay in parsed:
        y = y_of.get(f["target"])
        if y is None:
            continue
        x0, x1 = _clock(hist, np.array([start, stop if stop is not None else end]))
        ax.broken_barh(
            [(x0, max(x1 - x0, 0.0))],
            (y - 0.3, 0.6),
            facecolors="tab:red" if stop is not None else "none",
            edgecolors="tab:red",
            hatch=None if stop is not None else "//",
            alpha=0.35 if stop is not None else 0.8,
        )
        label = f" {f['kind']}"
        if detected is not None:
            xd = _clock(hist, detected)[0]
            ax.plot([xd], [y], "D", color="black", ms=6, zorder=4)
            d = delay if delay is not None else detected - start
            label += f": detected after {_duration(d)} ({f['expected_alert']} expected)"
        else:
            label += f": not detected ({f['expected_alert']} expected)"
        lo, hi = ax.get_xlim()
        right = x0 > 0.5 * (lo + hi)  # late faults: end the text at the bar's end
        ax.text(
            x1 if right else x0,
            y + 0.32,
            label + (" " if right else ""),
            fontsize=7,
            va="bottom",
            ha="right" if right else "left",
            clip_on=True,
        )

    codes_seen: dict[str, Any] = {}
    for i, a in enumerate(raised, start=2):
        t = _num(a["t_s"], f"alerts.csv line {i} t_s")
        y = y_of.get(row_of(a["pole"]))
        if t is None or y is None:
            continue
        colour = _ALERT_COLOURS.get(a["code"], "tab:gray")
        (line,) = ax.plot(
            _clock(hist, t), [y - 0.15], "v", color=colour, ms=7, mec="white", zorder=5
        )
        codes_seen.setdefault(a["code"], line)

    if rows:
        names = list(rows)
        ax.set_yticks([y_of[n] for n in names], names, fontsize=8)
        ax.set_ylim(-0.7, len(rows) - 0.2)
    else:
        ax.set_yticks([])
    handles = [codes_seen[c] for c in sorted(codes_seen)]
    if handles:
        ax.legend(
            handles, [f"alert {c}" for c in sorted(codes_seen)], loc="lower right", fontsize=7
        )
    n_det = sum(1 for p in parsed if p[3] is not None)
    more = f"; {hidden} more rows not shown" if hidden else ""
    ax.set_title(
        f"Faults: {len(parsed)} injected, {n_det} detected (◆); "
        f"{len(raised)} alert{'' if len(raised) == 1 else 's'} raised (▼){more}"
    )
    ax.grid(axis="x", alpha=0.3)


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    if abs(seconds) < 120:
        return f"{seconds:.0f} s"
    if abs(seconds) < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _title(hist: _History, kpis: dict[str, Any]) -> str:
    hours = (hist.t_s[-1] - hist.t_s[0] + _step(hist.t_s)) / 3600.0
    head = (
        f"Street lighting, Hùng Vương — {hist.start:%Y-%m-%d %H:%M} +{hours:.3g} h; "
        f"{len(hist.pole_ids)} poles, {len(hist.cabinet_ids)} cabinets"
    )
    parts = []
    fmt = (
        ("energy_kwh", "{:.1f} kWh"),
        ("co2_kg", "{:.1f} kg CO₂"),
        ("cost_vnd", "{:,.0f} VND"),
        ("compliance_share", "{:.0%} compliant"),
    )
    for key, pattern in fmt:
        value = kpis.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            parts.append(pattern.format(value))
    return head + ("; " + ", ".join(parts) if parts else "")
