"""Read and write measured (or synthetic) weather series as CSV.

Format
------
UTF-8 text. Lines starting with ``#`` are comments (anywhere; blank lines are
ignored too). The first other line is the header; it must name exactly these
columns, in any order::

    time,air_temp_c,rel_humidity_pct,wind_speed_mps,solar_radiation_wm2,rain_mm

- ``time``: ISO-8601 with a UTC offset, e.g. ``2024-10-15T06:00:00+07:00``
  (``Z`` allowed). Rows must be equally spaced and increasing; the step is
  taken from the first two rows.
- ``air_temp_c`` (°C, −10…50), ``rel_humidity_pct`` (%, 0…100),
  ``wind_speed_mps`` (m/s at 2 m, 0…80), ``solar_radiation_wm2`` (W/m², global
  horizontal, 0…1500): instantaneous (or short-average) values at ``time``.
- ``rain_mm``: the rain total over the step **ending** at ``time`` (mm, ≥ 0).

Missing values (an empty cell, ``NaN``, ``NA``, ``null``) follow an explicit
policy, ``missing=``:

- ``"error"`` (default): raise, naming file, line and column;
- ``"interpolate"``: fill gaps of at most ``max_gap`` consecutive rows in the
  four state columns linearly between their neighbours. A gap at the start or
  end, a longer gap, or any missing ``rain_mm`` still raises — a rain total
  cannot be guessed; fill it in the file.

Every error is a :class:`~sim.weather.series.WeatherDataError` whose message
starts with ``<file>:<line>:``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np

from sim.weather.series import COLUMNS, LOCAL_TZ, WeatherDataError, WeatherSeries

__all__ = ["CSV_HEADER", "load_weather_csv", "save_weather_csv"]

#: The header line written by :func:`save_weather_csv`.
CSV_HEADER = ("time", *COLUMNS)

_MISSING = {"", "nan", "na", "n/a", "null", "none"}
_DECIMALS = {
    "air_temp_c": 2,
    "rel_humidity_pct": 2,
    "wind_speed_mps": 3,
    "solar_radiation_wm2": 2,
    "rain_mm": 3,
}


def _parse_time(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise WeatherDataError(
            f"{where}: column time: {text!r} is not ISO-8601 (e.g. 2024-10-15T06:00:00+07:00)"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise WeatherDataError(
            f"{where}: column time: {text!r} has no UTC offset; write e.g. "
            f"{text.strip()}+07:00 for Đông Hà local time"
        )
    return value


def load_weather_csv(
    path: str | Path,
    *,
    missing: Literal["error", "interpolate"] = "error",
    max_gap: int = 3,
) -> WeatherSeries:
    """Load a weather CSV (format in the module docstring) into a :class:`WeatherSeries`.

    Args:
        path: the CSV file.
        missing: ``"error"`` or ``"interpolate"`` (see the module docstring).
        max_gap: longest run of missing rows (state columns) filled when
            interpolating.

    Raises:
        WeatherDataError: naming ``file:line`` and the column of the first problem.
    """
    if missing not in ("error", "interpolate"):
        raise ValueError(f"missing must be 'error' or 'interpolate', got {missing!r}")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WeatherDataError(f"{p}: no such weather CSV") from None
    header: list[str] | None = None
    header_line = 0
    times: list[datetime] = []
    lines: list[int] = []
    values: dict[str, list[float]] = {c: [] for c in COLUMNS}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.split(",")]
        where = f"{p}:{lineno}"
        if header is None:
            header, header_line = cells, lineno
            unknown = [c for c in cells if c not in CSV_HEADER]
            absent = [c for c in CSV_HEADER if c not in cells]
            dup = sorted({c for c in cells if cells.count(c) > 1})
            if unknown or absent or dup:
                raise WeatherDataError(
                    f"{where}: bad header: unknown column(s) {unknown}, missing {absent}, "
                    f"duplicated {dup}; expected {','.join(CSV_HEADER)}"
                )
            continue
        if len(cells) != len(header):
            raise WeatherDataError(
                f"{where}: {len(cells)} cells, the header on line {header_line} has {len(header)}"
            )
        row = dict(zip(header, cells, strict=True))
        times.append(_parse_time(row["time"], where))
        lines.append(lineno)
        for col in COLUMNS:
            cell = row[col]
            if cell.lower() in _MISSING:
                if missing == "error" or col == "rain_mm":
                    hint = (
                        "a rain total cannot be interpolated; fill it in the file"
                        if col == "rain_mm"
                        else "fill it, or load with missing='interpolate'"
                    )
                    raise WeatherDataError(f"{where}: column {col}: missing value; {hint}")
                values[col].append(math.nan)
                continue
            try:
                number = float(cell)
            except ValueError:
                raise WeatherDataError(f"{where}: column {col}: {cell!r} is not a number") from None
            if not math.isfinite(number):
                raise WeatherDataError(f"{where}: column {col}: {cell!r} is not finite")
            values[col].append(number)
    if header is None:
        raise WeatherDataError(f"{p}: empty file; expected the header {','.join(CSV_HEADER)}")
    if not times:
        raise WeatherDataError(f"{p}:{header_line}: header but no data rows")

    step = (times[1] - times[0]).total_seconds() if len(times) > 1 else 3600.0
    if step <= 0:
        raise WeatherDataError(
            f"{p}:{lines[1]}: column time: {times[1].isoformat()} is not after "
            f"{times[0].isoformat()} (line {lines[0]})"
        )
    for i in range(1, len(times)):
        expected = times[0] + timedelta(seconds=i * step)
        if times[i] != expected:
            raise WeatherDataError(
                f"{p}:{lines[i]}: column time: {times[i].isoformat()}, expected "
                f"{expected.astimezone(LOCAL_TZ).isoformat()} (fixed step {step:g} s from "
                f"the first two rows; gaps and duplicates are not allowed)"
            )

    arrays = {c: np.array(v, dtype=np.float64) for c, v in values.items()}
    if missing == "interpolate":
        for col in COLUMNS[:4]:
            _fill_gaps(arrays[col], col, lines, p, max_gap)
    try:
        return WeatherSeries(times[0], step, **arrays)
    except WeatherDataError as exc:
        raise WeatherDataError(_with_line(str(exc), lines, p)) from None


def _fill_gaps(arr: np.ndarray, col: str, lines: list[int], p: Path, max_gap: int) -> None:
    bad = np.isnan(arr)
    if not bad.any():
        return
    idx = np.flatnonzero(bad)
    # runs of consecutive missing rows
    breaks = np.flatnonzero(np.diff(idx) > 1)
    run_starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    run_ends = np.concatenate((idx[breaks], [idx[-1]]))
    for a, b in zip(run_starts, run_ends, strict=True):
        if a == 0 or b == arr.size - 1:
            raise WeatherDataError(
                f"{p}:{lines[a]}: column {col}: missing value at the start or end of the file "
                "cannot be interpolated; fill it or trim the file"
            )
        if b - a + 1 > max_gap:
            raise WeatherDataError(
                f"{p}:{lines[a]}: column {col}: {b - a + 1} consecutive missing values "
                f"(lines {lines[a]}–{lines[b]}) exceed max_gap={max_gap}"
            )
    good = ~bad
    x = np.arange(arr.size)
    arr[bad] = np.interp(x[bad], x[good], arr[good])


def _with_line(message: str, lines: list[int], p: Path) -> str:
    """Turn a series 'row i' message into 'file:line: ...'."""
    marker = " at row "
    if marker in message:
        try:
            row = int(message.split(marker, 1)[1].split()[0])
            return f"{p}:{lines[row]}: {message}"
        except (ValueError, IndexError):
            pass
    return f"{p}: {message}"


def save_weather_csv(
    series: WeatherSeries, path: str | Path, *, comment: str | None = None
) -> Path:
    """Write ``series`` as CSV (format in the module docstring); return the path.

    Values are rounded to 2–3 decimals (0.01 °C, 0.01 %, 0.001 m/s,
    0.01 W/m², 0.001 mm). ``comment`` (may span lines) is written first as
    ``#`` lines. Times carry the +07:00 offset.
    """
    p = Path(path)
    out: list[str] = []
    if comment:
        out.extend(f"# {line}".rstrip() for line in comment.splitlines())
    out.append(",".join(CSV_HEADER))
    cols = [series.column(c) for c in COLUMNS]
    for i, when in enumerate(series.datetimes()):
        cells = [when.isoformat()]
        for name, arr in zip(COLUMNS, cols, strict=True):
            cells.append(f"{arr[i] + 0.0:.{_DECIMALS[name]}f}")  # no "-0.000"
        out.append(",".join(cells))
    p.write_text("\n".join(out) + "\n", encoding="utf-8")
    return p
