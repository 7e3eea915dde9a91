"""Kill the field server mid-run and restart it on the same port: while it is down the
controller's inputs read BAD and its outputs go fail-safe; the link resumes within 5 s."""

from __future__ import annotations

import time
from collections.abc import Callable

from opcua_support import (
    FLOW,
    IRRIGATION_INPUTS,
    IRRIGATION_OUTPUTS,
    MODE,
    OPERATOR,
    VALVE,
    VWC,
    Irrigation,
    ServerProcess,
    free_port,
)

from controllers.io import Quality
from hil.opcua import OpcUaControllerLink

SCAN_S = 0.02
FAIL_SAFE = {VALVE: False, FLOW: 0.0, MODE: 3}


def test_kill_and_restart_server_mid_run() -> None:
    run_start = time.time()
    server = ServerProcess(free_port(), run_start)
    url = server.start()
    link = OpcUaControllerLink(
        url, IRRIGATION_INPUTS, IRRIGATION_OUTPUTS, user=OPERATOR[0], password=OPERATOR[1]
    )
    ctl = Irrigation()
    log: list[tuple[float, bool, dict[str, object]]] = []  # (wall s, inputs good, outputs)

    def scan() -> tuple[bool, dict[str, object]]:
        now = time.time() - run_start
        inputs = link.latest(now)
        outputs = ctl.scan(now, inputs)
        link.write(outputs)
        good = all(s.quality is Quality.GOOD for s in inputs.values())
        log.append((time.monotonic(), good, outputs))
        time.sleep(SCAN_S)
        return good, outputs

    def scan_until(done: Callable[[], bool], timeout_s: float, what: str) -> float:
        start = time.monotonic()
        while not done():
            if time.monotonic() - start > timeout_s:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
            scan()
        return time.monotonic() - start

    try:
        link.connect(15.0)
        scan_until(lambda: len(log) > 20 and log[-1][1], 5.0, "good inputs")
        assert log[-1][2][VALVE] is True and log[-1][2][MODE] == 1  # dry soil: irrigating
        assert link.latest(0.0)[VWC].value == 0.2

        server.kill()
        killed = time.monotonic()
        went_bad = scan_until(lambda: not log[-1][1], 3.0, "inputs to go BAD")
        assert log[-1][2] == FAIL_SAFE
        assert not link.connected
        time.sleep(1.0)  # stay down a while; the controller keeps scanning meanwhile
        scan_until(lambda: time.monotonic() - killed > 1.5, 5.0, "the outage")

        server.start()
        restarted = time.monotonic()
        resumed = scan_until(lambda: log[-1][1], 5.0, "the link to resume")
        scan_until(lambda: log[-1][2][VALVE] is True, 2.0, "irrigation to resume")
    finally:
        link.close()
        server.kill()

    print(f"inputs BAD {went_bad:.3f} s after the kill; resumed {resumed:.3f} s after restart")
    down = [(good, outputs) for t, good, outputs in log if killed + went_bad <= t < restarted]
    assert len(down) > 20
    assert all(not good and outputs == FAIL_SAFE for good, outputs in down)
    assert resumed <= 5.0
    assert link.stats["reconnects"] >= 1
    assert link.stats["lost"] > 0  # writes during the outage were dropped, not queued
