"""Reading plain input samples of a warning point: a usable number or flag, or nothing.

A flood-warning point must stay safe on bad input, so every helper here
returns ``None`` rather than raising for anything it cannot trust: a missing
sample, a quality other than GOOD (the process image has already aged stale
samples to UNCERTAIN and BAD), a value of the wrong type, NaN or infinity, a
value outside the allowed range, or a sample older than ``max_age_s``.
"""

from __future__ import annotations

import math

from controllers.io import Quality, Sample

__all__ = ["good_flag", "good_number"]


def good_number(
    sample: Sample | None,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    now: float | None = None,
    max_age_s: float = math.inf,
) -> float | None:
    """The value of a GOOD sample holding a finite number in ``[low, high]``, else None.

    Args:
        sample: the input sample, or None when the input is missing.
        low, high: the allowed closed range (in the point's unit).
        now: the scan time (s); needed only when ``max_age_s`` is finite.
        max_age_s: a sample whose source time is more than this (s) before
            ``now`` is too old to use.
    """
    if sample is None or sample.quality is not Quality.GOOD:
        return None
    value = sample.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        return None
    if now is not None and math.isfinite(max_age_s):
        stamp = sample.source_time
        if not isinstance(stamp, int | float) or not math.isfinite(stamp):
            return None
        if now - stamp > max_age_s:
            return None
    return number


def good_flag(sample: Sample | None) -> bool | None:
    """The value of a GOOD boolean sample (``True``/``False``, or ``1``/``0``), else None."""
    if sample is None or sample.quality is not Quality.GOOD:
        return None
    value = sample.value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    return None
