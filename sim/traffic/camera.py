"""Camera-style measurement error for the traffic plant's lane detectors.

Đông Hà's AI cameras estimate traffic density with about 85 % accuracy;
signal controllers must be tested against such estimates, not against SUMO's
perfect detectors. :class:`MeasuredPlant` wraps a plant (normally the
:class:`~sim.traffic.plant.TrafficPlant`) and passes every lane detector point
``tls/<J>/det/<L>/<field>`` through a :class:`CameraErrorModel`; all other
points (``state_actual``, ``flashing``, ``traffic/city/*``) pass unchanged.

Error model, per lane ``L`` (one camera view per lane), per published value:

``vehicles`` (veh)
    thinned binomially (each vehicle missed with ``miss_rate``), then scaled
    by ``(1 + bias) * (1 + noise_sd * z)`` with ``z ~ N(0, 1)`` and rounded
    stochastically (``floor(x + u)``, ``u ~ U[0, 1)``), so the mean estimate
    is ``(1 - miss_rate) * (1 + bias)`` times the truth at any count.
``count`` (veh, cumulative over the stop line)
    each increment of the true count gets the same treatment as ``vehicles``
    and is added to the camera's own running count: it never decreases.
    Vehicles crossing during a dropout or a freeze are lost for good.
``queue_m`` (m), ``occupancy_pct`` (%)
    scaled by ``(1 - miss_rate) * (1 + bias) * (1 + noise_sd * z)``.
``speed_mps`` (m/s)
    scaled by ``(1 + noise_sd * z)`` (a count bias does not bias speeds).

Zero stays zero (the camera sees no phantom vehicles) and every value is
clipped to its point's range (from the wrapped plant's PointSpec).

Failures, per lane, as an alternating renewal process: after a healthy spell
of mean ``3600 / (dropout_rate_per_h + freeze_rate_per_h)`` s (exponential) a
failure starts, a dropout or a freeze in proportion to their rates, with an
exponential duration of mean ``dropout_mean_s`` or ``freeze_mean_s``.

- **Dropout**: at its start every point of the lane publishes a BAD sample
  with no value. The process image keeps a BAD sample BAD even when the
  plant's keep-alive freshens its time, so nothing more is published until
  the end, when the lane's current estimates are republished GOOD.
- **Freeze** (the insidious failure): the lane's values stop changing but
  keep arriving GOOD with fresh source times (republished whenever the true
  value changes, and confirmed by each step's keep-alive). At the end the
  current estimates are republished.

Failure events take effect at the first step at or after their time.

Randomness comes only from the ``numpy.random.Generator`` passed in: two
independent child streams are spawned from it, one for the failure schedule
and one for the measurement noise, so the same seed gives the same estimates
and the schedule of outages does not depend on the traffic.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from controllers.io import Direction, PointSpec, Quality, Sample

__all__ = ["CameraErrorModel", "MeasuredPlant"]

# detector fields of a lane and how each is measured
_QUEUE, _OCCUPANCY, _VEHICLES, _SPEED, _COUNT = range(5)
_FIELD_KIND = {
    "queue_m": _QUEUE,
    "occupancy_pct": _OCCUPANCY,
    "vehicles": _VEHICLES,
    "speed_mps": _SPEED,
    "count": _COUNT,
}
_OK, _DROPOUT, _FROZEN = range(3)
_BLOCK = 4096  # random numbers drawn from numpy per refill
_EXACT_BINOMIAL_MAX_N = 400  # above this, thinning uses numpy's binomial sampler


@dataclass(frozen=True)
class CameraErrorModel:
    """How a lane camera's estimates differ from the truth (see module docstring).

    Attributes:
        bias: multiplicative bias of counts, queues and occupancy (1; > -1,
            <= 1): -0.05 under-counts by 5 %.
        noise_sd: relative standard deviation of the multiplicative gaussian
            noise drawn for each published value (1; 0..1).
        miss_rate: probability that the camera misses each vehicle (1; 0..1,
            1 excluded): binomial thinning of ``vehicles`` and of each
            ``count`` increment; queues and occupancy scale by its complement.
        dropout_rate_per_h: camera outages per hour of healthy operation, per
            lane (1/h, >= 0). During an outage the lane's points are BAD.
        dropout_mean_s: mean outage duration (s, > 0; exponential).
        freeze_rate_per_h: frozen images per hour of healthy operation, per
            lane (1/h, >= 0). During a freeze values stay constant but GOOD.
        freeze_mean_s: mean freeze duration (s, > 0; exponential).
    """

    bias: float = 0.0
    noise_sd: float = 0.0
    miss_rate: float = 0.0
    dropout_rate_per_h: float = 0.0
    dropout_mean_s: float = 60.0
    freeze_rate_per_h: float = 0.0
    freeze_mean_s: float = 300.0

    def __post_init__(self) -> None:
        for name in (
            "bias",
            "noise_sd",
            "miss_rate",
            "dropout_rate_per_h",
            "dropout_mean_s",
            "freeze_rate_per_h",
            "freeze_mean_s",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"camera error model: {name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"camera error model: {name} must be finite, got {value!r}")
            object.__setattr__(self, name, float(value))
        checks = (
            (-1.0 < self.bias <= 1.0, "bias must be in (-1, 1] (a fraction, -0.05 = -5 %)"),
            (0.0 <= self.noise_sd <= 1.0, "noise_sd must be in [0, 1] (a relative sd)"),
            (0.0 <= self.miss_rate < 1.0, "miss_rate must be in [0, 1) (a probability)"),
            (self.dropout_rate_per_h >= 0.0, "dropout_rate_per_h must be >= 0 (per hour)"),
            (self.freeze_rate_per_h >= 0.0, "freeze_rate_per_h must be >= 0 (per hour)"),
            (self.dropout_mean_s > 0.0, "dropout_mean_s must be > 0 s"),
            (self.freeze_mean_s > 0.0, "freeze_mean_s must be > 0 s"),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(f"camera error model: {message}; got {self}")

    @classmethod
    def perfect(cls) -> CameraErrorModel:
        """No error at all: a wrapped plant publishes exactly what it would alone."""
        return cls()

    @classmethod
    def city_85(cls) -> CameraErrorModel:
        """A camera with about 85 % accuracy, as the city's AI cameras are quoted.

        "85 % accuracy" is read as a mean absolute percentage error of about
        15 % of per-lane vehicle numbers on non-empty lanes. With
        ``miss_rate`` 0.05 (occlusion in dense motorbike traffic),
        ``bias`` -0.05 and ``noise_sd`` 0.16 the MAPE is 0.17 at 1 vehicle,
        0.15 at 10 and 0.14 at 40 (0.148 averaged over 1..40 vehicles, without
        failures; 0.155 with this preset's freezes, which hold stale values;
        measured by simulation, see tests/sim/test_camera.py). The mean
        estimate is 0.9 times the truth: cameras under-count.

        The failure rates are assumptions, not city data, chosen so that a
        2.5 h run on ~200 lanes sees failures on many lanes: 0.25 outages per
        lane-hour of mean 90 s (~0.6 % of the time BAD) and 0.1 freezes per
        lane-hour of mean 300 s (~0.8 % of the time frozen).
        """
        return cls(
            bias=-0.05,
            noise_sd=0.16,
            miss_rate=0.05,
            dropout_rate_per_h=0.25,
            dropout_mean_s=90.0,
            freeze_rate_per_h=0.1,
            freeze_mean_s=300.0,
        )

    @property
    def is_perfect(self) -> bool:
        """True when the model changes nothing (no error, no failures)."""
        return (
            self.bias == 0.0
            and self.noise_sd == 0.0
            and self.miss_rate == 0.0
            and self.dropout_rate_per_h == 0.0
            and self.freeze_rate_per_h == 0.0
        )


class _Lane:
    """One camera view: its points, failure mode and running count."""

    __slots__ = ("count_est", "count_seen", "index", "mode", "points")

    def __init__(self, index: int) -> None:
        self.index = index
        self.points: list[_Point] = []
        self.mode = _OK
        self.count_seen = 0  # the true count already accounted for (veh)
        self.count_est = 0  # the camera's own cumulative count (veh)


class _Point:
    """One detector point of a lane: how it is measured and its last values."""

    __slots__ = ("est", "gain", "high", "kind", "lane", "low", "name", "true")

    def __init__(self, name: str, lane: _Lane, kind: int, spec: PointSpec, gain: float) -> None:
        self.name = name
        self.lane = lane
        self.kind = kind
        # mean factor of a float value (queue, occupancy, speed); None for counts
        self.gain: float | None = None if kind in (_VEHICLES, _COUNT) else gain
        self.low = 0.0 if spec.low is None else max(0.0, float(spec.low))
        self.high = math.inf if spec.high is None else float(spec.high)
        self.true: Any = None  # last value of the wrapped plant
        self.est: Any = None  # last value published by the camera


def _stream(draw: Callable[[int], np.ndarray]) -> Callable[[], float]:
    """A fast ``next()`` over random numbers drawn from numpy in blocks."""

    def numbers() -> Iterator[float]:
        while True:
            yield from draw(_BLOCK).tolist()

    return numbers().__next__


class _Plant(Protocol):
    """The plant-model protocol (``twin.plant.PlantModel``; sim/ must not import twin)."""

    name: str
    step_s: float

    def points(self) -> Sequence[PointSpec]: ...
    def start(self, t0: float) -> None: ...
    def actuate(self, values: Mapping[str, Any]) -> None: ...
    def advance(self, t: float) -> None: ...
    def sensors(self) -> Mapping[str, Sample]: ...
    def close(self) -> None: ...


P = TypeVar("P", bound=_Plant)


class MeasuredPlant(Generic[P]):
    """A plant whose lane detector points are seen through cameras.

    Implements the plant-model protocol by delegation to ``inner`` and
    applies ``model`` to the INPUT points named ``tls/<J>/det/<L>/<field>``
    (fields ``queue_m``, ``occupancy_pct``, ``vehicles``, ``speed_mps``,
    ``count``). Other attributes (``teleports``, ``layouts``,
    ``max_queue_m``, ``max_queued_by_class``, ``signal_log``, ``config``...)
    are read from the wrapped plant; typed access is ``measured.inner.X``.
    :meth:`latest` gives the *measured* samples; the truth stays available
    as ``measured.inner.latest()`` for a TrafficPlant.

    Args:
        inner: the plant to wrap (report-by-exception sensors).
        model: the camera error model.
        rng: the only source of randomness (seed it from the run seed).

    Attributes:
        inner: the wrapped plant.
        model: the camera error model.
        failures: failures started so far, as (start s, lane point prefix
            ``tls/<J>/det/<L>``, ``"dropout"`` or ``"freeze"``, planned end s).

    Raises:
        ValueError: a detector point has a field with no camera rule.
        TypeError: ``rng`` is not a numpy Generator.
    """

    def __init__(self, inner: P, model: CameraErrorModel, rng: np.random.Generator) -> None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator (e.g. numpy.random.default_rng)")
        if not isinstance(model, CameraErrorModel):
            raise TypeError(f"model must be a CameraErrorModel, got {type(model).__name__}")
        self.inner = inner
        self.model = model
        self.name: str = inner.name
        self.step_s: float = inner.step_s
        self._specs: list[PointSpec] = list(inner.points())
        self._passthrough = model.is_perfect
        events_rng, noise_rng = rng.spawn(2)  # failure schedule, measurement noise
        self._noise_rng = noise_rng
        m = model
        sd = m.noise_sd
        # the multiplicative noise factor 1 + sd * z, z ~ N(0, 1), floored at 0
        self._factor = _stream(
            lambda size: np.maximum(1.0 + sd * noise_rng.standard_normal(size), 0.0)
        )
        self._uniform = _stream(noise_rng.random)
        self._event_uniform = _stream(events_rng.random)
        self._scale = (1.0 - m.miss_rate) * (1.0 + m.bias)  # mean factor of queue / occupancy
        self._count_scale = 1.0 + m.bias  # after thinning: counts
        self._failure_rate_per_s = (m.dropout_rate_per_h + m.freeze_rate_per_h) / 3600.0
        self._lanes: list[_Lane] = []
        self._points: dict[str, _Point] = {}
        by_prefix: dict[str, _Lane] = {}
        for spec in self._specs:
            parts = spec.name.split("/")
            if (
                spec.direction is not Direction.INPUT
                or len(parts) != 5
                or parts[0] != "tls"
                or parts[2] != "det"
            ):
                continue
            kind = _FIELD_KIND.get(parts[4])
            if kind is None:
                raise ValueError(
                    f"detector point {spec.name}: no camera error rule for field "
                    f"{parts[4]!r}; known fields are {', '.join(_FIELD_KIND)}"
                )
            prefix = spec.name.rsplit("/", 1)[0]
            lane = by_prefix.get(prefix)
            if lane is None:
                lane = by_prefix[prefix] = _Lane(len(self._lanes))
                self._lanes.append(lane)
            gain = 1.0 if kind == _SPEED else self._scale
            point = _Point(spec.name, lane, kind, spec, gain)
            lane.points.append(point)
            self._points[spec.name] = point
        self._events: list[tuple[float, int, int, int]] = []  # (time s, seq, lane, mode)
        self._seq = 0
        self._samples: Mapping[str, Sample] = {}
        self._latest: dict[str, Sample] = {}
        self.failures: list[tuple[float, str, str, float]] = []

    # -- pass-through of the wrapped plant's other attributes ---------------
    def __getattr__(self, attr: str) -> Any:
        """Read public attributes the wrapper does not define from the wrapped plant."""
        inner = self.__dict__.get("inner")
        if attr.startswith("_") or inner is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")
        return getattr(inner, attr)

    @property
    def lane_prefixes(self) -> list[str]:
        """The measured lanes, as point-name prefixes ``tls/<J>/det/<L>``."""
        return [lane.points[0].name.rsplit("/", 1)[0] for lane in self._lanes]

    # -- plant protocol -------------------------------------------------------
    def points(self) -> Sequence[PointSpec]:
        """The wrapped plant's points (same names, units and ranges)."""
        return list(self._specs)

    def start(self, t0: float) -> None:
        """Start the wrapped plant at ``t0`` (s) and measure its first readings."""
        self.inner.start(t0)
        self._events.clear()
        self.failures.clear()
        self._latest = {}
        for lane in self._lanes:
            lane.mode = _OK
            lane.count_seen = lane.count_est = 0
            for point in lane.points:
                point.true = point.est = None
            self._schedule_failure(lane, t0)
        self._measure(t0)

    def actuate(self, values: Mapping[str, Any]) -> None:
        """Pass actuator values to the wrapped plant (cameras do not touch them)."""
        self.inner.actuate(values)

    def advance(self, t: float) -> None:
        """Advance the wrapped plant to ``t`` (s) and measure what changed."""
        self.inner.advance(t)
        self._measure(t)

    def sensors(self) -> Mapping[str, Sample]:
        """Measured samples that changed at the last ``advance`` (report by exception)."""
        return self._samples

    def latest(self) -> Mapping[str, Sample]:
        """The latest measured sample of every sensor point published so far."""
        return self._latest

    def close(self) -> None:
        """Close the wrapped plant; safe to call twice."""
        self.inner.close()

    # -- measurement ----------------------------------------------------------
    def _measure(self, t: float) -> None:
        """Turn the wrapped plant's changed samples into measured ones, then run failures.

        The hot path (hundreds of samples a step): float points are measured
        inline and samples built with ``tuple.__new__`` (a NamedTuple's own
        constructor is a Python function, several times slower).
        """
        raw = self.inner.sensors()
        if self._passthrough:
            self._samples = raw
            self._latest.update(raw)
            return
        get = self._points.get
        factor = self._factor
        new = tuple.__new__
        good = Quality.GOOD
        out: dict[str, Sample] = {}
        x: float
        for name, sample in raw.items():
            point = get(name)
            if point is None:
                out[name] = sample
                continue
            value, quality, stamp = sample
            point.true = value
            lane = point.lane
            if lane.mode != _OK:
                if point.kind == _COUNT and value is not None and value > lane.count_seen:
                    lane.count_seen = int(value)  # crossed unseen: lost
                if lane.mode == _FROZEN and point.est is not None:
                    out[name] = new(Sample, (point.est, good, stamp))
                continue
            if value is None or quality is not good:
                point.est = None
                out[name] = sample
                continue
            gain = point.gain
            if gain is None:
                x = self._estimate_count(point, value)
            else:
                x = value * gain * factor()
                if x > point.high:
                    x = point.high
                elif x < point.low:
                    x = point.low
            point.est = x
            out[name] = new(Sample, (x, good, stamp))
        events = self._events
        while events and events[0][0] <= t:
            _, _, index, mode = heapq.heappop(events)
            self._transition(self._lanes[index], mode, t, out)
        self._samples = out
        self._latest.update(out)

    def _estimate(self, point: _Point, value: Any) -> Any:
        """The camera's estimate of a true ``value`` of ``point`` (draws fresh noise)."""
        gain = point.gain
        if gain is None:
            return self._estimate_count(point, value)
        x = float(value) * gain * self._factor()
        return min(max(x, point.low), point.high)

    def _estimate_count(self, point: _Point, value: Any) -> int:
        """Vehicles on the lane, or the cumulative count (see module docstring), as seen."""
        if point.kind == _VEHICLES:
            n = int(value)
            if n <= 0:
                return 0
            estimate = int(self._thin(n) * self._count_scale * self._factor() + self._uniform())
            if estimate > point.high:
                return int(point.high)
            return max(estimate, int(point.low))
        lane = point.lane
        delta = int(value) - lane.count_seen
        if delta > 0:
            lane.count_seen += delta
            lane.count_est += int(
                self._thin(delta) * self._count_scale * self._factor() + self._uniform()
            )
        return lane.count_est

    def _thin(self, n: int) -> int:
        """Vehicles of ``n`` that the camera sees: Binomial(n, 1 - miss_rate)."""
        m = self.model.miss_rate
        if m == 0.0:
            return n
        if n > _EXACT_BINOMIAL_MAX_N:
            return int(self._noise_rng.binomial(n, 1.0 - m))
        # inversion on the number missed, ~ n * m + 1 iterations
        q = 1.0 - m
        p = q**n
        cdf = p
        missed = 0
        u = self._uniform()
        ratio = m / q
        while u > cdf and missed < n:
            p *= (n - missed) / (missed + 1) * ratio
            missed += 1
            cdf += p
        return n - missed

    # -- failures ---------------------------------------------------------------
    def _schedule_failure(self, lane: _Lane, after: float) -> None:
        """Draw the next failure of ``lane`` after a healthy spell from ``after`` (s)."""
        rate = self._failure_rate_per_s
        if rate <= 0.0:
            return
        m = self.model
        at = after - math.log(1.0 - self._event_uniform()) / rate
        is_dropout = self._event_uniform() * (m.dropout_rate_per_h + m.freeze_rate_per_h) < (
            m.dropout_rate_per_h
        )
        self._push(at, lane, _DROPOUT if is_dropout else _FROZEN)

    def _push(self, at: float, lane: _Lane, mode: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, (at, self._seq, lane.index, mode))

    def _transition(self, lane: _Lane, mode: int, t: float, out: dict[str, Sample]) -> None:
        """Apply a failure start (``mode`` DROPOUT / FROZEN) or end (OK) to ``lane`` at ``t``."""
        prefix = lane.points[0].name.rsplit("/", 1)[0]
        if mode == _OK:
            lane.mode = _OK
            for point in lane.points:
                if point.true is None:
                    point.est = None
                    out[point.name] = Sample(None, Quality.BAD, t)
                else:
                    point.est = self._estimate(point, point.true)
                    out[point.name] = Sample(point.est, Quality.GOOD, t)
            self._schedule_failure(lane, t)
            return
        m = self.model
        mean = m.dropout_mean_s if mode == _DROPOUT else m.freeze_mean_s
        end = t - math.log(1.0 - self._event_uniform()) * mean
        lane.mode = mode
        if mode == _DROPOUT:
            for point in lane.points:
                out[point.name] = Sample(None, Quality.BAD, t)
        self.failures.append((t, prefix, "dropout" if mode == _DROPOUT else "freeze", end))
        self._push(end, lane, _OK)
