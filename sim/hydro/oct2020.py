"""Forcing files of a flood run (rain, river stage) and the October 2020 event that ships with them.

Two CSV formats, both with ``#`` comment lines allowed anywhere and a header row:

``time,rain_mm_h``
    Rain intensity (mm/h, finite, >= 0) from each row's time until the next
    row's (a gauge reports a total per interval); the last row holds forever,
    so end a file with a ``0`` row at the end of the event.
``time,stage_m``
    River stage (m above the national datum, -10 .. 30) at the Đông Hà gauge,
    linear between rows and held before the first and after the last.

``time`` is either an ISO 8601 date-time (``2020-10-16T06:00``; without an
offset it is local time, Asia/Ho_Chi_Minh, UTC+7) or a number of seconds since
the run's start (``0``, ``1800``); one file uses one form. Times must increase
strictly. Extra columns (a ``note``, a ``source``) are ignored.

A malformed file raises :class:`ForcingFileError` naming the file, the line
number and the column, with a hint.

The October 2020 files (:data:`OCT2020_RAIN_CSV`, :data:`OCT2020_STAGE_CSV`)
cover 48 h from :data:`OCT2020_START` (2020-10-16 06:00 local time); their
headers say which values are documented and which are shaped.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from sim.hydro.forcing import MM_PER_HOUR, Hydrograph, RainSeries

__all__ = [
    "LOCAL_TZ",
    "OCT2020_DURATION_S",
    "OCT2020_PEAK_STAGE_M",
    "OCT2020_PEAK_TIME",
    "OCT2020_RAIN_CSV",
    "OCT2020_STAGE_CSV",
    "OCT2020_START",
    "ForcingFileError",
    "load_rain_csv",
    "load_stage_csv",
    "rain_depth_mm",
]

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
"""Đông Hà local time (UTC+7, no daylight saving)."""

_SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "dongha"
OCT2020_RAIN_CSV = _SCENARIO_DIR / "flood_oct2020_rain.csv"
"""Rain at Đông Hà, 16–18 Oct 2020 (298 mm in the first 18 h; see the file's header)."""
OCT2020_STAGE_CSV = _SCENARIO_DIR / "flood_oct2020_stage.csv"
"""Hiếu stage at Đông Hà station, 16–18 Oct 2020 (peak 5.36 m at 03:30 on 18 Oct)."""
OCT2020_START = datetime(2020, 10, 16, 6, 0, tzinfo=LOCAL_TZ)
"""Run second 0 of the October 2020 event."""
OCT2020_DURATION_S = 48 * 3600.0
"""Length of the October 2020 files (s)."""
OCT2020_PEAK_TIME = datetime(2020, 10, 18, 3, 30, tzinfo=LOCAL_TZ)
"""Documented time of the record stage at Đông Hà (5.36 m)."""
OCT2020_PEAK_STAGE_M = 5.36
"""Documented record stage at Đông Hà on 18 Oct 2020 (m above the national datum)."""

_STAGE_RANGE_M = (-10.0, 30.0)


class ForcingFileError(ValueError):
    """A malformed forcing CSV; the message names the file, line and column, and a fix."""


def _parse_time(text: str, start: datetime) -> tuple[float, bool]:
    """``(seconds since start, was_iso)`` of one ``time`` cell; ValueError when unreadable."""
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds, False
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=LOCAL_TZ)
    return (when - start).total_seconds(), True


def _read_series(
    path: Path | str, column: str, start: datetime, unit: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Times (s since ``start``) and values of ``column`` from a forcing CSV (see module doc)."""
    if start.tzinfo is None:
        raise ValueError(
            "start must be timezone-aware, e.g. datetime(2020, 10, 16, 6, tzinfo=LOCAL_TZ)"
        )
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ForcingFileError(f"{path}: cannot read the forcing file ({err})") from None
    header: list[str] | None = None
    i_time = i_value = -1
    times: list[float] = []
    values: list[float] = []
    iso_form: bool | None = None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in next(csv.reader([line]))]
        where = f"{path}, line {lineno}"
        if header is None:
            header = cells
            if "time" not in header or column not in header:
                raise ForcingFileError(
                    f"{where}: header {','.join(header)!r} lacks column 'time' or {column!r}. "
                    f"Hint: the first non-comment line must be 'time,{column}'"
                )
            i_time, i_value = header.index("time"), header.index(column)
            continue
        if len(cells) != len(header):
            raise ForcingFileError(
                f"{where}: {len(cells)} cells for {len(header)} columns "
                f"({','.join(header)}). Hint: one value per column, comma-separated"
            )
        try:
            t, iso = _parse_time(cells[i_time], start)
        except ValueError:
            raise ForcingFileError(
                f"{where}, column 'time': {cells[i_time]!r} is neither seconds nor an ISO "
                "date-time. Hint: 2020-10-16T06:00 (local time) or seconds since the run start"
            ) from None
        if not math.isfinite(t):
            raise ForcingFileError(f"{where}, column 'time': {cells[i_time]!r} is not finite")
        if iso_form is not None and iso != iso_form:
            raise ForcingFileError(
                f"{where}, column 'time': mixes seconds and ISO date-times. "
                "Hint: use one form for the whole file"
            )
        iso_form = iso
        if times and t <= times[-1]:
            raise ForcingFileError(
                f"{where}, column 'time': {cells[i_time]!r} does not come after the previous "
                "row. Hint: sort the rows by time and remove duplicates"
            )
        try:
            value = float(cells[i_value])
        except ValueError:
            raise ForcingFileError(
                f"{where}, column {column!r}: {cells[i_value]!r} is not a number ({unit})"
            ) from None
        if not math.isfinite(value):
            raise ForcingFileError(
                f"{where}, column {column!r}: {cells[i_value]!r} is not finite. "
                "Hint: fill the gap (interpolate, or 0 for rain) instead of NaN"
            )
        times.append(t)
        values.append(value)
        _check_value(value, column, where)
    if not times:
        raise ForcingFileError(
            f"{path}: no data rows. Hint: a header 'time,{column}' then one row per time"
        )
    return np.asarray(times), np.asarray(values)


def _check_value(value: float, column: str, where: str) -> None:
    if column == "rain_mm_h" and value < 0:
        raise ForcingFileError(
            f"{where}, column 'rain_mm_h': {value:g} is negative. Hint: rain is >= 0 mm/h"
        )
    low, high = _STAGE_RANGE_M
    if column == "stage_m" and not low <= value <= high:
        raise ForcingFileError(
            f"{where}, column 'stage_m': {value:g} m is outside {low:g} .. {high:g} m. "
            "Hint: metres above the national datum (not cm or mm)"
        )


def load_rain_csv(path: Path | str, start: datetime) -> RainSeries:
    """Read a ``time,rain_mm_h`` file into a uniform :class:`RainSeries` (s since ``start``).

    Raises:
        ForcingFileError: unreadable file, bad header, a malformed, NaN, negative
            or unsorted row (the message names the line and column).
    """
    times, rates = _read_series(path, "rain_mm_h", start, "mm/h")
    return RainSeries(times, rates * MM_PER_HOUR)


def load_stage_csv(path: Path | str, start: datetime) -> Hydrograph:
    """Read a ``time,stage_m`` file into a :class:`Hydrograph` (s since ``start``, m datum).

    Raises:
        ForcingFileError: unreadable file, bad header, a malformed, NaN,
            implausible or unsorted row (the message names the line and column).
    """
    times, stages = _read_series(path, "stage_m", start, "m")
    return Hydrograph(times, stages, name=f"stage {Path(path).name}")


def rain_depth_mm(rain: RainSeries, t0_s: float, t1_s: float) -> float:
    """Rain (mm) a uniform series puts down between ``t0_s`` and ``t1_s`` (s, ``t0 <= t1``).

    Exact for the piecewise-constant series (no sampling).
    """
    if rain.gridded:
        raise ValueError("rain_depth_mm needs a uniform series, not a gridded one")
    if not t1_s >= t0_s:
        raise ValueError(f"need t0_s <= t1_s, got {t0_s} and {t1_s}")
    starts = rain.times_s
    ends = np.append(starts[1:], np.inf)
    overlap = np.clip(np.minimum(ends, t1_s) - np.maximum(starts, t0_s), 0.0, None)
    return float(np.dot(overlap, rain.rates)) / MM_PER_HOUR / 3600.0
