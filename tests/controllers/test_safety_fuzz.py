"""Seeded fuzz of the signal safety layer: >= 100,000 random decision sequences.

The issue's acceptance criterion: "the property test runs >= 100,000 random
decision sequences through the safety layer with 0 conflicting greens, 0
short greens, 0 missing clearances". Each sequence drives a fresh
:class:`SafetyLayer` with 10-40 calls at random non-decreasing times
(repeated times included) with random valid and invalid requests, random
latched flashes and releases and the odd non-finite time, over intersections
built with :meth:`IntersectionSpec.from_program` from random phase sets
(2-16 links, random min green / amber / all-red).

Every returned state is judged by :class:`TraceChecker`, written here from the
safety rules alone (it shares no code with the layer and derives the conflict
card from the phase sets itself). Times are in s.

The seed is fixed (``SEED``) and printed; set ``SAFETY_FUZZ_SEED`` to fuzz
with another one.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from controllers.signals import IntersectionSpec, SafetyLayer

SEED = 20260310
N_SEQUENCES = 100_000
N_SPECS = 25
MIN_CALLS, MAX_CALLS = 10, 40
EPS = 1e-9  # s: float tolerance of the timing checks
P_FLASH, P_RELEASE, P_NAN = 0.01, 0.06, 0.002  # per call: latch flash, release it, NaN time
KINDS = (
    "conflicting_greens",
    "short_greens",
    "missing_clearances",
    "flash_not_shown",
    "malformed_output",
    "unrequested_greens",
)


# ------------------------------------------------------------------ generator


@dataclass
class FuzzCase:
    """One random intersection and the material its sequences are drawn from.

    Attributes:
        spec: the intersection under test.
        phases: the phase set it was built from (green phases and their ambers).
        compatible: the conflict card derived here from ``phases`` (not the spec's).
        requests: pool of requests (valid states, flash requests, malformed).
        steps: pool of time steps (s, >= 0, 0 = repeated time).
    """

    spec: IntersectionSpec
    phases: list[str]
    compatible: list[list[bool]]
    requests: list[object] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)


def random_case(rnd: random.Random, index: int) -> FuzzCase:
    """A random intersection: 2-16 links, 1-6 green phases, timings on a 0.1 s grid."""
    n = rnd.randint(2, 16)
    density = rnd.uniform(0.15, 0.75)
    phases: list[str] = []
    for _ in range(rnd.randint(1, 6)):
        on = {i for i in range(n) if rnd.random() < density} | {rnd.randrange(n)}
        phase = "".join(("G" if rnd.random() < 0.7 else "g") if i in on else "r" for i in range(n))
        phases += [phase, phase.replace("G", "y").replace("g", "y")]
    if rnd.random() < 0.3:
        phases.append("r" * n)  # an all-red phase: no green, adds no compatibility
    compatible = [[i == j for j in range(n)] for i in range(n)]
    for phase in phases:
        greens = [i for i, c in enumerate(phase) if c in "Gg"]
        for a in greens:
            for b in greens:
                compatible[a][b] = True
    if rnd.random() < 0.3:  # integer timings: boundaries are hit exactly
        min_green = float(rnd.randint(1, 15))
        amber = float(rnd.randint(1, 5))
        all_red = float(rnd.randint(1, 3))
    else:
        min_green = round(rnd.uniform(0.5, 15.0), 1)
        amber = round(rnd.uniform(0.5, 5.0), 1)
        all_red = round(rnd.uniform(0.1, 4.0), 1)
    spec = IntersectionSpec.from_program(
        f"F{index}",
        phases,
        [f"in{i}_0" for i in range(n)],
        min_green_s=min_green,
        amber_s=amber,
        all_red_s=all_red,
    )
    case = FuzzCase(spec, phases, compatible)
    case.requests = request_pool(rnd, case)
    grid = [0.1 * k for k in range(1, 11)]
    timings = [spec.min_green_s, spec.amber_s, spec.all_red_s]
    timings += [spec.amber_s + spec.all_red_s, spec.min_green_s + spec.amber_s]
    near = [max(0.1, round(x + d, 1)) for x in timings for d in (-0.1, 0.1)]
    case.steps = [0.0] * 8 + grid + [1.0] * 6 + [2.0, 3.0, 5.0, 8.0] + timings + near
    case.steps += [round(rnd.uniform(0.0, 2 * spec.min_green_s), 3) for _ in range(10)]
    return case


def request_pool(rnd: random.Random, case: FuzzCase, size: int = 600) -> list[object]:
    """Random requests for ``case``: mostly valid states, some flash and malformed ones."""
    n = case.spec.n_links
    green_phases = [p for p in case.phases if "y" not in p and ("G" in p or "g" in p)]
    pool: list[object] = []
    while len(pool) < size:
        u = rnd.random()
        if u < 0.40:  # a phase of the program, sometimes with one link changed
            phase = list(rnd.choice(green_phases))
            if rnd.random() < 0.3:
                k = rnd.randrange(n)
                phase[k] = {"G": "g", "g": "G", "r": "G"}[phase[k]]
            pool.append("".join(phase))
        elif u < 0.80:  # any mix, conflicting greens included
            pool.append("".join(rnd.choices("GGgrry", k=n)))
        elif u < 0.94:
            pool.append(rnd.choice(["r" * n, "y" * n, "G" * n]))
        elif u < 0.97:  # flash / dark requests
            state = rnd.choices("Grr", k=n)
            state[rnd.randrange(n)] = rnd.choice("oO")
            pool.append("".join(state))
        else:  # malformed
            k = rnd.randrange(5)
            if k == 0:  # wrong length
                pool.append("G" * rnd.choice([0, n - 1, n + 1, 2 * n]))
            elif k == 1:  # a character outside GgyroO
                bad = ["r"] * n
                bad[rnd.randrange(n)] = rnd.choice("xR Y-1")
                pool.append("".join(bad))
            else:  # not a string
                pool.append(rnd.choice([None, 7, b"G" * n, ["G"] * n]))
    return pool


# -------------------------------------------------------------------- checker


class TraceChecker:
    """Judges each state a safety layer returns, from the rules alone.

    Rules (times in s, ``EPS`` tolerance):

    - *conflicting_greens*: two links the phase set never shows green
      together are green or amber at once.
    - *short_greens*: a green ends (to amber) before ``min_green_s``; only
      flash may end a green early.
    - *missing_clearances*: a green goes anywhere but amber or flash; an
      amber goes anywhere but red (after >= ``amber_s``) or flash; a link
      turns green from anything but red, or before it and every conflicting
      link have been red for ``all_red_s``, or less than ``amber_s +
      all_red_s`` after the cold start / the end of a flash.
    - *flash_not_shown*: a latched flash, a flash/dark request, a malformed
      request or a non-finite time did not give flashing amber on every link.
    - *malformed_output*: not a string of ``n`` chars from ``Ggyro``, or a
      partial flash.
    - *unrequested_greens*: a link turns green that the request did not ask for.
    """

    def __init__(self, case: FuzzCase) -> None:
        spec = case.spec
        self.n = spec.n_links
        self.min_green = spec.min_green_s
        self.amber = spec.amber_s
        self.all_red = spec.all_red_s
        self.conflicts = [
            [j for j in range(self.n) if not case.compatible[i][j]] for i in range(self.n)
        ]
        self.flash_state = "o" * self.n
        self.counts = dict.fromkeys(KINDS, 0)
        self.examples: list[str] = []
        # coverage: transitions seen (link-events), to show the fuzz reaches them
        self.seen = dict.fromkeys(("grants", "ambers", "reds", "flash_entries"), 0)
        self.reset()

    def reset(self) -> None:
        """A new layer: it powers up in flash."""
        self.prev = self.flash_state
        self.since = [0.0] * self.n  # when each link entered its green / amber / red
        self.flash_exit = -math.inf

    def _fail(self, kind: str, t: float, detail: str) -> None:
        self.counts[kind] += 1
        if len(self.examples) < 20:
            self.examples.append(f"{kind} at t={t}: {detail}")

    def check(self, t: float, out: object, request: object, must_flash: bool) -> None:
        """Judge ``out``, returned at ``t`` for ``request``; ``must_flash`` from the caller."""
        n = self.n
        prev = self.prev
        if out == prev:  # nothing changed: no transition, the conflicts were judged before
            if must_flash and out != self.flash_state:
                self._fail("flash_not_shown", t, f"{request!r} -> {out!r}")
            return
        if (
            not isinstance(out, str)
            or len(out) != n
            or not set(out) <= set("Ggyro")
            or ("o" in out and out != self.flash_state)
        ):
            self._fail("malformed_output", t, f"{request!r} -> {out!r}")
            return
        if must_flash and out != self.flash_state:
            self._fail("flash_not_shown", t, f"{request!r} -> {out!r}")
        self.prev = out
        if out == self.flash_state:  # flash entry ends any green or amber at once
            self.seen["flash_entries"] += 1
            return
        since = self.since
        if prev == self.flash_state:  # flash exit: everything red from now
            self.flash_exit = t
            for i, ch in enumerate(out):
                since[i] = t
                if ch != "r":
                    self._fail("missing_clearances", t, f"link {i} {ch!r} straight after flash")
            return
        clear_after = self.amber + self.all_red
        for i in range(n):
            a, b = prev[i], out[i]
            if a == b:
                continue
            if a in "Gg":
                if b in "Gg":
                    continue  # G <-> g: the same green
                if b == "y":
                    self.seen["ambers"] += 1
                    if t - since[i] < self.min_green - EPS:
                        self._fail("short_greens", t, f"link {i} green for {t - since[i]:.3f}")
                else:
                    self._fail("missing_clearances", t, f"link {i} green -> {b!r}")
            elif a == "y":
                self.seen["reds"] += 1
                if b != "r":
                    self._fail("missing_clearances", t, f"link {i} amber -> {b!r}")
                elif t - since[i] < self.amber - EPS:
                    self._fail("missing_clearances", t, f"link {i} amber {t - since[i]:.3f}")
            elif b in "Gg":  # red -> green
                self.seen["grants"] += 1
                if t - since[i] < self.all_red - EPS:
                    self._fail("missing_clearances", t, f"link {i} own red {t - since[i]:.3f}")
                if t - self.flash_exit < clear_after - EPS:
                    self._fail("missing_clearances", t, f"link {i} green after flash exit")
                for j in self.conflicts[i]:
                    if out[j] != "r" or prev[j] != "r" or t - since[j] < self.all_red - EPS:
                        self._fail("missing_clearances", t, f"link {i} green, conflicting {j}")
                        break
                if not (isinstance(request, str) and request[i] in "Gg"):
                    self._fail("unrequested_greens", t, f"link {i} by {request!r}")
            else:  # red -> amber
                self._fail("missing_clearances", t, f"link {i} red -> amber")
            since[i] = t
        for i, ch in enumerate(out):
            if ch in "Ggy":
                for j in self.conflicts[i]:
                    if j > i and out[j] in "Ggy":
                        self._fail("conflicting_greens", t, f"links {i},{j} in {out!r}")


# ------------------------------------------------------------------- harness


@dataclass
class FuzzResult:
    """What a fuzz run did and found: sequences, calls, violations and coverage."""

    seed: int
    sequences: int = 0
    calls: int = 0
    flashes_latched: int = 0
    seen: dict[str, int] = field(default_factory=dict)  # transitions reached
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    examples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, other: FuzzResult) -> None:
        """Merge ``other`` (another part of the same run) into this result."""
        self.sequences += other.sequences
        self.calls += other.calls
        self.flashes_latched += other.flashes_latched
        for mine, theirs in ((self.seen, other.seen), (self.counts, other.counts)):
            for key, value in theirs.items():
                mine[key] = mine.get(key, 0) + value
        self.examples += other.examples


def needs_flash(request: object, n: int) -> bool:
    """True if ``request`` must give flash: malformed, or asking for flash (o) or dark (O)."""
    if not isinstance(request, str) or len(request) != n or not set(request) <= set("GgyroO"):
        return True
    return "o" in request or "O" in request


def fuzz_case(
    seed: int,
    index: int,
    n_sequences: int,
    layer_factory: Callable[[IntersectionSpec], Any] = SafetyLayer,
) -> FuzzResult:
    """``n_sequences`` random sequences on random intersection ``index`` of run ``seed``.

    Each intersection has its own seeds (``seed``, ``index``), so a run's
    outcome does not depend on how its intersections are spread over processes.
    """
    case = random_case(random.Random(seed * 1_000 + index), index)
    rng = np.random.default_rng([seed, index])  # the sequences, drawn in bulk
    n = case.spec.n_links
    checker = TraceChecker(case)
    requests, steps = case.requests, case.steps
    must_flash = [needs_flash(r, n) for r in requests]
    lengths = rng.integers(MIN_CALLS, MAX_CALLS + 1, n_sequences).tolist()
    total = sum(lengths)
    req_idx = rng.integers(0, len(requests), total).tolist()
    step_idx = rng.integers(0, len(steps), total).tolist()
    action = rng.random(total).tolist()
    starts = rng.choice([0.0, 0.5, 1000.0, 86_400.25], n_sequences).tolist()
    result = FuzzResult(seed, sequences=n_sequences, calls=total)
    check = checker.check
    nan_above = 1.0 - P_NAN
    first = 0  # index of the sequence's first call in the bulk draws
    for length, t in zip(lengths, starts, strict=True):
        layer = layer_factory(case.spec)
        apply = layer.apply
        checker.reset()
        latched = False
        for k in range(first, first + length):
            u = action[k]
            t += steps[step_idx[k]]
            request = requests[req_idx[k]]
            if u < P_RELEASE:
                if u < P_FLASH:
                    layer.flash()
                    latched = True
                    result.flashes_latched += 1
                else:
                    layer.release_flash()
                    latched = False
            if u > nan_above:
                check(t, apply(math.nan, request), request, True)
            else:
                check(t, apply(t, request), request, latched or must_flash[req_idx[k]])
        first += length
    result.seen = dict(checker.seen)
    result.counts = dict(checker.counts)
    result.examples = [f"{case.spec.tls_id} (seed {seed}): {e}" for e in checker.examples]
    return result


def _fuzz_case_star(args: tuple[int, int, int]) -> FuzzResult:
    return fuzz_case(*args)


def fuzz(
    seed: int = SEED,
    n_sequences: int = N_SEQUENCES,
    n_specs: int = N_SPECS,
    layer_factory: Callable[[IntersectionSpec], Any] = SafetyLayer,
    workers: int = 1,
) -> FuzzResult:
    """Run ``n_sequences`` random decision sequences over ``n_specs`` intersections.

    ``layer_factory`` builds the layer under test (the real SafetyLayer; a
    deliberately broken one shows that the checker catches it). ``workers``
    > 1 spreads the intersections over forked processes (real SafetyLayer
    only); the outcome is the same.
    """
    start = time.perf_counter()
    per_case = -(-n_sequences // n_specs)
    jobs = [(seed, index, per_case) for index in range(n_specs)]
    result = FuzzResult(seed)
    if workers > 1:
        if layer_factory is not SafetyLayer:
            raise ValueError("workers > 1 runs the real SafetyLayer only")
        context = multiprocessing.get_context("fork")
        with context.Pool(workers) as pool:
            parts = pool.map(_fuzz_case_star, jobs, chunksize=1)
    else:
        parts = [fuzz_case(*job, layer_factory=layer_factory) for job in jobs]
    for part in parts:
        result.add(part)
    result.seconds = time.perf_counter() - start
    return result


def test_safety_layer_survives_100k_random_decision_sequences() -> None:
    seed = int(os.environ.get("SAFETY_FUZZ_SEED", SEED))
    workers = min(2, os.cpu_count() or 1)
    result = fuzz(seed, workers=workers)
    summary = (
        f"safety fuzz: seed {seed}, {result.sequences} sequences, {result.calls} calls, "
        f"{result.seconds:.1f} s on {workers} process(es); reached {result.seen}, "
        f"{result.flashes_latched} latched flashes; violations {result.counts}"
    )
    print(summary)
    assert result.sequences >= 100_000, summary
    assert result.counts == dict.fromkeys(KINDS, 0), f"{summary}\n" + "\n".join(result.examples)
    # the fuzz reached the transitions that matter, not just flash and red
    assert result.seen["grants"] > result.sequences, summary
    assert result.seen["ambers"] > result.sequences // 2, summary
    assert result.seen["reds"] > result.sequences // 2, summary
    assert result.seen["flash_entries"] > result.sequences // 10, summary
    assert result.flashes_latched > 1000, summary


def test_fuzz_outcome_does_not_depend_on_the_process_count() -> None:
    one = fuzz(seed=3, n_sequences=600, n_specs=6)
    two = fuzz(seed=3, n_sequences=600, n_specs=6, workers=2)
    assert (one.sequences, one.calls, one.seen, one.counts) == (
        two.sequences,
        two.calls,
        two.seen,
        two.counts,
    )


class _BrokenLayer:
    """A deliberately unsafe layer, to show the checker is not vacuous.

    Bugs: ``skip_amber`` (green -> red directly), ``early_amber`` (a dropped
    green ends at once), ``ignore_conflicts`` (grants what is asked after the
    start-up), ``no_flash`` (a latched flash is ignored).
    """

    def __init__(self, spec: IntersectionSpec, bug: str) -> None:
        self.spec = spec
        self.bug = bug
        self.safe = SafetyLayer(spec)
        self.start: float | None = None

    def flash(self) -> None:
        if self.bug != "no_flash":
            self.safe.flash()

    def release_flash(self) -> None:
        self.safe.release_flash()

    def apply(self, now: float, requested: Any) -> str:
        shown = self.safe.apply(now, requested)
        if self.bug == "skip_amber":
            return shown.replace("y", "r")
        if self.bug == "ignore_conflicts" and "o" not in shown and isinstance(requested, str):
            if self.start is None:
                self.start = now
            if now - self.start > 20 and "o" not in requested and "O" not in requested:
                return "".join(c if c in "Ggr" else "r" for c in requested)
        if self.bug == "early_amber" and isinstance(requested, str) and "o" not in shown:
            return "".join(
                "y" if s in "Gg" and r not in "Gg" else s
                for s, r in zip(shown, requested, strict=False)
            )
        return shown


def test_checker_catches_a_layer_that_breaks_each_rule() -> None:
    """Each deliberately broken layer is caught as the right kind of violation."""

    def broken(kind: str) -> Callable[[IntersectionSpec], Any]:
        return lambda spec: _BrokenLayer(spec, kind)

    expected = {
        "skip_amber": "missing_clearances",
        "early_amber": "short_greens",
        "ignore_conflicts": "conflicting_greens",
        "no_flash": "flash_not_shown",
    }
    for bug, kind in expected.items():
        result = fuzz(seed=7, n_sequences=400, n_specs=8, layer_factory=broken(bug))
        assert result.counts[kind] > 0, (bug, result.counts)
    clean = fuzz(seed=7, n_sequences=400, n_specs=8)
    assert clean.counts == dict.fromkeys(KINDS, 0), clean.examples
