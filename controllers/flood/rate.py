"""Rate-of-rise alarm: water rising fast, whatever its level.

A fast rise warns before a threshold is reached: a river rising 0.3 m/h
reaches the next alert level within hours; a street filling at 0.2 m/h
(5 cm in 15 min) means drains are overwhelmed.

The rate is the least-squares slope of the accepted readings (m) against
their source times (s) over the last ``window_s`` seconds, in m/h. It is
computed only when the readings span at least ``min_span_fraction`` of the
window (a slope over two close readings is noise); until then the alarm
keeps its state. The alarm is set when the rate reaches ``threshold_m_h`` and
cleared only when the rate has fallen below ``clear_fraction`` of it and the
alarm has been on for at least ``hold_s``. Only rises alarm; a fall never
does.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["RateAlarmConfig", "RateOfRiseMonitor"]


@dataclass(frozen=True)
class RateAlarmConfig:
    """When a rise is fast enough to alarm.

    Attributes:
        threshold_m_h: rise rate that sets the alarm (m/h, > 0).
        window_s: readings of the last this many seconds give the rate (s, > 0).
        min_span_fraction: the readings must span at least this share of the
            window for a rate (0 < x <= 1).
        clear_fraction: the alarm clears below this share of the threshold
            (0 <= x <= 1).
        hold_s: the alarm stays on at least this long (s, >= 0).
    """

    threshold_m_h: float
    window_s: float
    min_span_fraction: float = 0.5
    clear_fraction: float = 0.5
    hold_s: float = 900.0

    def __post_init__(self) -> None:
        owner = "RateAlarmConfig"
        for field in ("threshold_m_h", "window_s", "min_span_fraction", "clear_fraction", "hold_s"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{owner}.{field} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{owner}.{field} must be finite, got {value!r}")
        if self.threshold_m_h <= 0:
            raise ValueError(f"{owner}.threshold_m_h must be > 0 m/h, got {self.threshold_m_h}")
        if self.window_s <= 0:
            raise ValueError(f"{owner}.window_s must be > 0 s, got {self.window_s}")
        if not 0 < self.min_span_fraction <= 1:
            raise ValueError(
                f"{owner}.min_span_fraction must be in (0, 1], got {self.min_span_fraction}"
            )
        if not 0 <= self.clear_fraction <= 1:
            raise ValueError(f"{owner}.clear_fraction must be in [0, 1], got {self.clear_fraction}")
        if self.hold_s < 0:
            raise ValueError(f"{owner}.hold_s must be >= 0 s, got {self.hold_s}")

    @classmethod
    def river(cls) -> RateAlarmConfig:
        """River gauge: 0.3 m/h over 1 h, held at least 30 min."""
        return cls(threshold_m_h=0.3, window_s=3600.0, hold_s=1800.0)

    @classmethod
    def street(cls) -> RateAlarmConfig:
        """Street point: 0.2 m/h over 15 min, held at least 10 min."""
        return cls(threshold_m_h=0.2, window_s=900.0, hold_s=600.0)


class RateOfRiseMonitor:
    """Rate of rise of one sensor's accepted readings, and its alarm.

    Feed it only readings that passed the fault checks (:meth:`observe`),
    each once, in time order.
    """

    __slots__ = ("_readings", "alarm", "alarm_since", "config", "rate_m_h")

    def __init__(self, config: RateAlarmConfig) -> None:
        self.config = config
        self._readings: deque[tuple[float, float]] = deque()
        self.alarm = False
        #: s: when the alarm was last set (None while off)
        self.alarm_since: float | None = None
        #: the last computed rate (m/h; None until the readings span enough time)
        self.rate_m_h: float | None = None

    def observe(self, time_s: float, value_m: float) -> bool:
        """Add one accepted reading (source time in s, value in m); return the alarm."""
        readings = self._readings
        if readings and time_s <= readings[-1][0]:
            return self.alarm  # not newer than the last reading: ignore
        readings.append((time_s, value_m))
        start = time_s - self.config.window_s
        while readings[0][0] < start:
            readings.popleft()
        self.rate_m_h = self._slope_m_h()
        if self.rate_m_h is None:
            return self.alarm
        cfg = self.config
        if self.rate_m_h >= cfg.threshold_m_h:
            if not self.alarm:
                self.alarm, self.alarm_since = True, time_s
        elif (
            self.alarm
            and self.rate_m_h < cfg.clear_fraction * cfg.threshold_m_h
            and self.alarm_since is not None
            and time_s - self.alarm_since >= cfg.hold_s
        ):
            self.alarm, self.alarm_since = False, None
        return self.alarm

    def _slope_m_h(self) -> float | None:
        readings = self._readings
        if len(readings) < 2:
            return None
        t0 = readings[0][0]
        span = readings[-1][0] - t0
        if span < self.config.min_span_fraction * self.config.window_s:
            return None
        n = len(readings)
        mean_t = sum(t - t0 for t, _ in readings) / n
        mean_v = sum(v for _, v in readings) / n
        sxx = sum((t - t0 - mean_t) ** 2 for t, _ in readings)
        sxy = sum((t - t0 - mean_t) * (v - mean_v) for t, v in readings)
        return sxy / sxx * 3600.0 if sxx > 0 else None

    def snapshot(self) -> dict[str, Any]:
        """State as plain data: the readings in the window (s, m) and the alarm."""
        return {
            "readings": [[t, v] for t, v in self._readings],
            "alarm": self.alarm,
            "alarm_since": self.alarm_since,
            "rate_m_h": self.rate_m_h,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot` (raises ValueError if malformed)."""
        try:
            readings = deque((float(t), float(v)) for t, v in state["readings"])
            alarm = bool(state["alarm"])
            since = None if state["alarm_since"] is None else float(state["alarm_since"])
            rate = None if state["rate_m_h"] is None else float(state["rate_m_h"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed rate-of-rise snapshot ({exc!r})") from exc
        self._readings, self.alarm, self.alarm_since, self.rate_m_h = readings, alarm, since, rate
