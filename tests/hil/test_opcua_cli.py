"""asyncua's own command-line tools as independent peers: on a loopback server with
anonymous sessions allowed, ``uals`` browses, ``uaread`` reads a sensor, and an
anonymous ``uawrite`` to an actuator is REJECTED, leaving the value unchanged."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from opcua_support import (
    FLOW,
    IRRIGATION_INPUTS,
    IRRIGATION_OUTPUTS,
    OPERATOR,
    VALVE,
    VWC,
    running_field,
)

from controllers.io import Quality, Sample
from hil.opcua import OpcUaControllerLink


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.is_file() else shutil.which(name)
    if found is None:
        pytest.skip(f"asyncua's {name} is not installed next to {sys.executable}")
    return found


def _run(*procs: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Run the commands concurrently; their results in order."""
    started = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for cmd in procs
    ]
    results = []
    for cmd, proc in zip(procs, started, strict=True):
        out, _ = proc.communicate(timeout=60)
        results.append(subprocess.CompletedProcess(cmd, proc.returncode, out, ""))
    return results


def test_asyncua_cli_browses_reads_and_cannot_write_anonymously() -> None:
    uals, uaread, uawrite = _tool("uals"), _tool("uaread"), _tool("uawrite")
    with running_field(allow_anonymous_loopback=True) as field:
        url, ns = field.url, field.namespace_index
        field.publish(5.0, {VWC: Sample(0.31, Quality.GOOD, 5.0)})
        operator = OpcUaControllerLink(
            url, IRRIGATION_INPUTS, IRRIGATION_OUTPUTS, user=OPERATOR[0], password=OPERATOR[1]
        )
        try:
            operator.connect(10.0)
            operator.write({VALVE: False, FLOW: 7.5})
        finally:
            operator.close()
        assert field.take_writes() == {VALVE: False, FLOW: 7.5}

        started = time.monotonic()
        ls, read, write_valve, write_flow = _run(
            [uals, "-u", url, "-n", f"ns={ns};s=DongHa", "-d", "3"],
            [uaread, "-u", url, "-n", f"ns={ns};s={VWC}"],
            [uawrite, "-u", url, "-n", f"ns={ns};s={VALVE}", "-t", "bool", "true"],
            [uawrite, "-u", url, "-n", f"ns={ns};s={FLOW}", "-t", "double", "55.5"],
        )
        after = _run([uaread, "-u", url, "-n", f"ns={ns};s={VALVE}"])[0]
        elapsed = time.monotonic() - started

        assert ls.returncode == 0, ls.stdout
        for name in ("agri", "DT-H01-P1", "soil_vwc", "valve_open", "flow_lpm", "clock"):
            assert name in ls.stdout, f"uals did not list {name}:\n{ls.stdout}"
        assert read.returncode == 0, read.stdout
        assert read.stdout.strip().splitlines()[-1] == "0.31"
        for result in (write_valve, write_flow):
            assert result.returncode != 0, result.stdout
            assert "BadUserAccessDenied" in result.stdout, result.stdout
        assert after.returncode == 0 and after.stdout.strip().splitlines()[-1] == "False"
        assert field.take_writes() == {}
        assert field.read(VALVE).value is False
        assert field.read(FLOW).value == 7.5
        assert elapsed < 30.0
