"""Local civil time from the run clock, without reading any clock.

The controller gets ``now`` in run seconds; its configuration carries
``start_utc_s`` (POSIX seconds, UTC, of run time 0) and ``utc_offset_h``
(local time minus UTC in hours; 7.0 for Asia/Ho_Chi_Minh, which has no
daylight saving time). A fixed offset is all a cabinet needs: where a zone has
DST the central pushes a new offset, as TALQ gateways do.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass

__all__ = ["SECONDS_PER_DAY", "LocalClock", "LocalTime"]

SECONDS_PER_DAY = 86_400
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class LocalTime:
    """A local civil time split into its date and the seconds since local midnight.

    Attributes:
        date: the local calendar date.
        seconds: seconds since local midnight of ``date``, in [0, 86400).
        utc_s: the same instant in POSIX seconds (UTC).
    """

    date: _dt.date
    seconds: float
    utc_s: float

    @property
    def hours(self) -> float:
        """Hours since local midnight, in [0, 24)."""
        return self.seconds / 3600.0


@dataclass(frozen=True, slots=True)
class LocalClock:
    """Converts run seconds to local civil time.

    Attributes:
        start_utc_s: POSIX seconds (UTC) of run time 0 (finite).
        utc_offset_h: local time minus UTC (h), in [-14, 14].
    """

    start_utc_s: float
    utc_offset_h: float

    def __post_init__(self) -> None:
        if not _finite(self.start_utc_s):
            raise ValueError(f"start_utc_s must be finite POSIX seconds, got {self.start_utc_s!r}")
        if not (_finite(self.utc_offset_h) and -14.0 <= self.utc_offset_h <= 14.0):
            raise ValueError(f"utc_offset_h must be in [-14, 14] h, got {self.utc_offset_h!r}")

    def utc_s(self, now: float) -> float:
        """POSIX seconds (UTC) of run time ``now`` (s)."""
        return self.start_utc_s + now

    def local(self, now: float) -> LocalTime:
        """The local date and seconds since local midnight at run time ``now`` (s)."""
        utc = self.utc_s(now)
        days, seconds = divmod(utc + self.utc_offset_h * 3600.0, SECONDS_PER_DAY)
        return LocalTime(_dt.date.fromordinal(_EPOCH_ORDINAL + int(days)), seconds, utc)


def _finite(value: object) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(float(value))
    )
