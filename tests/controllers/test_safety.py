"""Signal safety: IntersectionSpec, SafetyLayer invariants (property-based), ConflictMonitor."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controllers.signals import (
    ConflictMonitor,
    IntersectionSpec,
    SafetyLayer,
    TimeWentBackwardsError,
)

EPS = 1e-9

# ----------------------------------------------------------------- fixtures


def two_phase_spec(**times: float) -> IntersectionSpec:
    """Links 0,1 (north-south) against links 2,3 (east-west)."""
    return IntersectionSpec.from_program(
        "J1",
        ["GGrr", "yyrr", "rrGG", "rryy"],
        ["n_0", "s_0", "e_0", "w_0"],
        **times,
    )


def spec_from_matrix(comp: list[list[bool]], **times: float) -> IntersectionSpec:
    n = len(comp)
    single_link_phases = tuple("r" * i + "G" + "r" * (n - i - 1) for i in range(n))
    return IntersectionSpec(
        tls_id="X",
        n_links=n,
        compatible=tuple(tuple(row) for row in comp),
        green_phases=single_link_phases,
        link_lanes=tuple(f"lane{i}_0" for i in range(n)),
        **times,
    )


# ---------------------------------------------------------- IntersectionSpec


def test_from_program_derives_conflict_card_and_green_phases() -> None:
    spec = IntersectionSpec.from_program(
        "J2",
        ["GGgrr", "yyyrr", "rrGGr", "rryyr", "GGGrr", "rrrrG", "rrrry"],
        ["a", "a", "b", "b", "c"],
    )
    assert spec.n_links == 5
    assert spec.green_phases == ("GGgrr", "rrGGr", "GGGrr", "rrrrG")
    # 2 is green with 0,1 (phases 0 and 4) and with 3 (phase 2)
    assert spec.compatible[2][0] and spec.compatible[2][3]
    assert not spec.compatible[0][3]
    assert not spec.compatible[4][0]
    assert all(spec.compatible[i][i] for i in range(5))
    assert spec.conflicts(4) == (0, 1, 2, 3)
    assert spec.conflicts(2) == (4,)
    assert json.loads(json.dumps(spec.to_dict()))["green_phases"][1] == "rrGGr"


@pytest.mark.parametrize(
    ("phases", "lanes", "kwargs", "message"),
    [
        (["GGr", "rrGG"], ["a", "b", "c"], {}, "has 4 characters"),
        (["GGx", "rrG"], ["a", "b", "c"], {}, "contains 'x'"),
        (["GGr", "rrG"], ["a", "b"], {}, "link_lanes has 2"),
        (["GGr", "rrG"], ["a", "b", "c"], {"amber_s": 0}, "amber_s"),
        (["GGr", "rrG"], ["a", "b", "c"], {"min_green_s": -1}, "min_green_s"),
        (["GGr", "rrG"], ["a", "b", "c"], {"all_red_s": math.nan}, "all_red_s"),
        (["yyr", "rrr"], ["a", "b", "c"], {}, "at least one green phase"),
        ([], [], {}, "non-empty"),
        ("GGr", ["a", "b", "c"], {}, "non-empty sequence"),
    ],
)
def test_from_program_rejects_bad_input(
    phases: list[str], lanes: list[str], kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        IntersectionSpec.from_program("J", phases, lanes, **kwargs)


def test_spec_rejects_asymmetric_or_inconsistent_matrix() -> None:
    with pytest.raises(ValueError, match="not symmetric"):
        spec_from_matrix([[True, True], [False, True]])
    with pytest.raises(ValueError, match="compatible with itself"):
        spec_from_matrix([[False, True], [True, True]])
    with pytest.raises(ValueError, match="conflicting links 0 and 1"):
        IntersectionSpec("X", 2, ((True, False), (False, True)), ("GG",), ("a", "b"))


# ----------------------------------------------------------- trace checking


def check_trace(
    spec: IntersectionSpec,
    trace: list[tuple[float, str, object]],
) -> None:
    """Assert the safety invariants on (time s, shown state, request) triples.

    Written independently of SafetyLayer and ConflictMonitor.
    """
    n = spec.n_links
    assert trace
    mode_start = [trace[0][0]] * n  # start-up: everything counts as red from t0
    startup_at = trace[0][0]  # the cold start, or the last exit from flash
    prev = trace[0][1]
    assert set(prev) <= {"r", "o"}, f"first output {prev!r} must be red or flash"
    for step, (t, out, req) in enumerate(trace):
        assert isinstance(out, str) and len(out) == n
        assert set(out) <= set("Ggyro"), f"unexpected char in {out!r}"
        assert "o" not in out or out == "o" * n, f"partial flash {out!r}"
        valid = isinstance(req, str) and len(req) == n and set(req) <= set("GgyroO")
        if not valid or "o" in req or "O" in req:
            assert out == "o" * n, f"t={t}: request {req!r} must give flash, got {out!r}"
        for i in range(n):
            for j in spec.conflicts(i):
                assert not (out[i] in "Ggy" and out[j] in "Ggy"), (
                    f"t={t}: conflicting links {i},{j} shown {out!r}"
                )
        for i in range(n):
            a, b = prev[i], out[i]
            was_green, is_green = a in "Gg", b in "Gg"
            lasted = t - mode_start[i]
            if step > 0 and a != b and not (was_green and is_green):
                # link i changes mode at t
                if was_green:
                    assert b in "yo", f"t={t}: link {i} left green to {b!r}"
                    if b == "y":
                        assert lasted >= spec.min_green_s - EPS, (
                            f"t={t}: link {i} green lasted {lasted} < {spec.min_green_s}"
                        )
                if a == "y":
                    assert b in "ro", f"t={t}: link {i} amber followed by {b!r}"
                    if b == "r":
                        assert lasted >= spec.amber_s - EPS, (
                            f"t={t}: link {i} amber lasted {lasted} < {spec.amber_s}"
                        )
                if is_green:
                    assert a == "r", f"t={t}: link {i} went green from {a!r}"
                    assert lasted >= spec.all_red_s - EPS, f"t={t}: link {i} own red {lasted}"
                    for k in spec.conflicts(i):
                        assert out[k] == "r" and prev[k] == "r", f"t={t}: {i} vs {k}"
                        clear = t - mode_start[k]
                        assert clear >= spec.all_red_s - EPS, (
                            f"t={t}: link {i} green {clear}s after conflicting {k} red"
                        )
                    assert valid and req[i] in "Gg", f"t={t}: link {i} green unrequested"
                    assert t - startup_at >= spec.amber_s + spec.all_red_s - EPS, (
                        f"t={t}: green {t - startup_at}s after start-up / flash exit"
                    )
                mode_start[i] = t
            if is_green and valid:
                if req[i] in "Gg":
                    assert b == req[i], f"t={t}: link {i} shows {b!r}, requested {req[i]!r}"
                else:  # held green: only until min green is served
                    assert t - mode_start[i] < spec.min_green_s, (
                        f"t={t}: link {i} held green beyond min green"
                    )
        if prev == "o" * n and out != prev:
            startup_at = t
        prev = out


def run_layer(
    layer: SafetyLayer, steps: list[tuple[float, object, int]], t0: float = 0.0
) -> list[tuple[float, str, object]]:
    """Drive ``layer``; NaN steps pass a NaN time (recorded at the last good time)."""
    trace = []
    t = t0
    for dt, req, repeat in steps:
        for _ in range(repeat):
            if math.isnan(dt):
                out = layer.apply(math.nan, req)  # type: ignore[arg-type]
                assert out == "o" * layer.spec.n_links
                trace.append((t, out, None))
                continue
            t += dt
            trace.append((t, layer.apply(t, req), req))  # type: ignore[arg-type]
    return trace


# ------------------------------------------------------ hypothesis strategies


@st.composite
def specs(draw: st.DrawFn) -> IntersectionSpec:
    n = draw(st.integers(2, 12))
    density = draw(st.floats(0.0, 1.0))
    comp = [[i == j for j in range(n)] for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            comp[i][j] = comp[j][i] = draw(st.floats(0.0, 1.0)) < density
    return spec_from_matrix(
        comp,
        min_green_s=draw(st.floats(0.5, 20.0)),
        amber_s=draw(st.floats(0.5, 6.0)),
        all_red_s=draw(st.floats(0.1, 6.0)),
    )


def requests(n: int) -> st.SearchStrategy[object]:
    valid = st.text(alphabet="GgyrGGr", min_size=n, max_size=n)
    any_chars = st.text(alphabet="GgyrO o", min_size=n, max_size=n)
    wrong_len = st.text(alphabet="Ggyr", max_size=n + 2).filter(lambda s: len(s) != n)
    junk = st.sampled_from([None, 3, b"GGrr", ["G"] * n])
    invalid = st.one_of(any_chars, wrong_len, junk)
    # mostly well-formed requests (9 in 10), so greens, holds and changes get exercised
    return st.integers(0, 9).flatmap(lambda k: invalid if k == 0 else valid)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[IntersectionSpec, list[tuple[float, object, int]]]:
    spec = draw(specs())
    # irregular steps of 0.1..5 s; one step in 20 passes a NaN time instead
    dts = st.integers(0, 19).flatmap(lambda k: st.just(math.nan) if k == 0 else st.floats(0.1, 5.0))
    steps = draw(
        st.lists(
            st.tuples(dts, requests(spec.n_links), st.integers(1, 30)), min_size=3, max_size=40
        )
    )
    return spec, steps


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(scenarios())
def test_safety_invariants_hold_for_any_requests(
    scenario: tuple[IntersectionSpec, list[tuple[float, object, int]]],
) -> None:
    spec, steps = scenario
    layer = SafetyLayer(spec)
    trace = run_layer(layer, [(0.0, "r" * spec.n_links, 1), *steps])
    check_trace(spec, trace)
    monitor = ConflictMonitor(spec)
    for t, out, _ in trace:
        monitor.check(t, out)
    assert monitor.violations == 0, monitor.log[:5]
    counters = layer.counters
    n_bad = sum(
        1
        for _, _, req in trace
        if not (isinstance(req, str) and len(req) == spec.n_links and set(req) <= set("GgyroO"))
    )
    assert counters["faults"] == n_bad
    assert counters["calls"] == len(trace)


@PROPERTY
@given(scenarios(), st.integers(0, 200), st.booleans())
def test_snapshot_restore_continues_identically(
    scenario: tuple[IntersectionSpec, list[tuple[float, object, int]]],
    cut: int,
    forced: bool,
) -> None:
    spec, steps = scenario
    flat = [(dt, req, 1) for dt, req, rep in steps for _ in range(rep)]
    cut = min(cut, len(flat))
    original = SafetyLayer(spec)
    head = run_layer(original, flat[:cut])
    if forced:
        original.flash()
    state = json.loads(json.dumps(original.snapshot()))
    clone = SafetyLayer(spec)
    clone.restore(state)
    assert clone.snapshot() == original.snapshot()
    t0 = head[-1][0] if head else 0.0
    assert run_layer(clone, flat[cut:], t0) == run_layer(original, flat[cut:], t0)


# --------------------------------------------------------- SafetyLayer units


def test_alternating_requests_are_served_with_exact_intervals() -> None:
    spec = two_phase_spec(min_green_s=7, amber_s=3, all_red_s=2)
    layer = SafetyLayer(spec)
    out = {t: layer.apply(float(t), "GGrr" if t < 20 else "rrGG") for t in range(0, 40)}
    # cold start: all red for amber + all-red (5 s), then the requested green
    assert [out[t] for t in range(5)] == ["rrrr"] * 5
    assert out[5] == "GGrr"
    assert out[19] == "GGrr"
    assert [out[t] for t in (20, 21, 22)] == ["yyrr"] * 3
    assert [out[t] for t in (23, 24)] == ["rrrr"] * 2
    assert out[25] == "rrGG"
    check_trace(spec, [(float(t), out[t], "GGrr" if t < 20 else "rrGG") for t in range(40)])


def test_min_green_holds_a_dropped_green_and_g_case_follows_request() -> None:
    spec = two_phase_spec(min_green_s=10, amber_s=3, all_red_s=2)
    layer = SafetyLayer(spec)
    layer.apply(0.0, "rrrr")
    assert layer.apply(5.0, "Ggrr") == "Ggrr"
    assert layer.apply(6.0, "gGrr") == "gGrr"
    assert layer.apply(8.0, "rrGG") == "gGrr"  # held: green for 3 s < 10 s
    assert layer.apply(14.9, "rrGG") == "gGrr"
    assert layer.apply(15.0, "rrGG") == "yyrr"
    assert layer.apply(17.9, "GGrr") == "yyrr"  # amber is never cut or reversed
    assert layer.apply(18.0, "GGrr") == "rrrr"  # amber ends: red, even if green is wanted
    assert layer.apply(19.9, "GGrr") == "rrrr"
    assert layer.apply(20.0, "GGrr") == "GGrr"
    assert layer.counters["greens_held"] == 4  # 2 links x 2 calls


def test_lower_index_wins_a_simultaneous_conflicting_request() -> None:
    spec = two_phase_spec()
    layer = SafetyLayer(spec)
    layer.apply(0.0, "rrrr")
    assert layer.apply(10.0, "GGGG") == "GGrr"
    assert layer.counters["grants_withheld"] >= 2


@pytest.mark.parametrize("bad", ["GGr", "GGrrr", "GGxr", "GG r", None, 7])
def test_malformed_request_flashes_and_counts_a_fault(bad: object) -> None:
    layer = SafetyLayer(two_phase_spec())
    layer.apply(0.0, "rrrr")
    assert layer.apply(6.0, "GGrr") == "GGrr"
    assert layer.apply(7.0, bad) == "oooo"  # type: ignore[arg-type]
    assert layer.faults == 1
    # recovery: all red for amber + all-red (3 + 2 s), then greens again
    assert layer.apply(8.0, "GGrr") == "rrrr"
    assert layer.apply(12.9, "GGrr") == "rrrr"
    assert layer.apply(13.0, "GGrr") == "GGrr"


def test_nan_time_flashes_and_does_not_move_the_clock() -> None:
    layer = SafetyLayer(two_phase_spec())
    layer.apply(10.0, "rrrr")
    assert layer.apply(math.nan, "rrrr") == "oooo"
    assert layer.apply(math.inf, "rrrr") == "oooo"
    assert layer.faults == 2
    assert layer.apply(10.0, "rrrr") == "rrrr"  # 10 s is still allowed


def test_time_going_backwards_raises_and_keeps_state() -> None:
    layer = SafetyLayer(two_phase_spec())
    layer.apply(0.0, "rrrr")
    layer.apply(6.0, "GGrr")
    before = layer.snapshot()
    with pytest.raises(TimeWentBackwardsError, match="backwards"):
        layer.apply(5.0, "rrGG")
    assert layer.snapshot() == before
    assert layer.apply(6.0, "GGrr") == "GGrr"


def test_flash_request_forced_flash_and_release() -> None:
    layer = SafetyLayer(two_phase_spec())
    layer.apply(0.0, "rrrr")
    assert layer.apply(6.0, "GGrr") == "GGrr"
    assert layer.apply(7.0, "OOOO") == "oooo"  # 'O' is never shown dark
    assert layer.apply(8.0, "ooGG") == "oooo"
    assert layer.counters["flash_requests"] == 2
    assert layer.faults == 0
    layer.flash()
    assert layer.forced_flash
    assert layer.apply(20.0, "GGrr") == "oooo"
    layer.release_flash()
    assert layer.apply(21.0, "GGrr") == "rrrr"
    assert layer.apply(26.0, "GGrr") == "GGrr"


def test_restore_refuses_foreign_or_unsafe_snapshots() -> None:
    layer = SafetyLayer(two_phase_spec())
    layer.apply(0.0, "rrrr")
    snap = layer.snapshot()
    other = SafetyLayer(IntersectionSpec.from_program("J9", ["GGrr", "rrGG"], list("abcd")))
    with pytest.raises(ValueError, match="J1"):
        other.restore(snap)
    with pytest.raises(ValueError, match="conflicting links 0 and 2"):
        layer.restore({**snap, "shown": "GrGr", "since": [0.0] * 4})
    with pytest.raises(ValueError, match="malformed"):
        layer.restore({"version": 1, "tls_id": "J1", "n_links": 4})


# ----------------------------------------------------------- ConflictMonitor


def monitor_run(spec: IntersectionSpec, trace: list[tuple[float, str]]) -> ConflictMonitor:
    monitor = ConflictMonitor(spec)
    for t, state in trace:
        monitor.check(t, state)
    return monitor


def test_monitor_accepts_a_correct_cycle() -> None:
    spec = two_phase_spec()
    trace = [(0, "rrrr"), (5, "GGrr"), (12, "yyrr"), (15, "rrrr"), (17, "rrGG"), (24, "rryy")]
    trace += [(27, "rrrr"), (29, "Ggrr"), (30, "gGrr"), (40, "oooo"), (41, "rrrr")]
    assert monitor_run(spec, trace).violations == 0


@pytest.mark.parametrize(
    ("trace", "message"),
    [
        ([(0, "rrrr"), (5, "GrGr")], "conflicting links 0 and 2"),
        ([(0, "rrrr"), (5, "yryr")], "conflicting links 0 and 2"),
        ([(0, "rrrr"), (5, "GGrr"), (6, "GGoo")], "conflicting link"),
        ([(0, "rrrr"), (5, "GGrr"), (11, "yyrr")], "green lasted 6.000s"),
        ([(0, "rrrr"), (5, "GGrr"), (20, "rrrr")], "without amber"),
        ([(0, "rrrr"), (5, "GGrr"), (20, "yyrr"), (22, "rrrr")], "amber lasted 2.000s"),
        ([(0, "rrrr"), (5, "GGrr"), (20, "yyrr"), (23, "GGrr")], "amber to green"),
        (
            [(0, "rrrr"), (5, "GGrr"), (20, "yyrr"), (23, "rrrr"), (24.5, "rrGG")],
            "1.500s after conflicting link 0",
        ),
        ([(0, "rrrr"), (5, "GGrr"), (20, "yyrr"), (23, "rrGG")], "0.000s after conflicting"),
        ([(0, "rrr")], "malformed"),
        ([(0, "rrrr"), (5, "rrrX")], "malformed"),
        ([(5, "rrrr"), (4, "rrrr")], "backwards"),
    ],
)
def test_monitor_detects_hand_made_violations(trace: list[tuple[float, str]], message: str) -> None:
    monitor = monitor_run(two_phase_spec(), trace)
    assert monitor.violations >= 1
    assert any(message in line for line in monitor.log), monitor.log


def test_monitor_flags_a_trace_from_an_unguarded_controller() -> None:
    """The raw requests of a naive controller (no safety layer) do get caught."""
    spec = two_phase_spec()
    monitor = ConflictMonitor(spec)
    for t in range(60):
        monitor.check(float(t), "GGrr" if (t // 10) % 2 == 0 else "rrGG")
    assert monitor.violations > 0
