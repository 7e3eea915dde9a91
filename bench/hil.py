"""HIL benchmark: latency and throughput of the bridges on loopback with 1,000 points.

Peers measured in the same run: a raw pyzmq REQ/REP ping-pong carrying the same
msgpack payload (the baseline of the ZeroMQ bridge), and an in-process scan.

- **round trip** (p50/p99, ms): one lock-step exchange — the field side publishes
  the step's 1,000 samples, the controller side receives them, scans (a trivial
  controller: one output), writes its output and the field side has it back.
  For the raw baseline: REQ sends the same samples packed with msgpack, REP
  answers one value.
- **throughput** (point updates/s): the field side publishes all 1,000 points
  as fast as it can for a few seconds (real-time mode); updates received by
  the controller link are counted.
- **OPC-UA write-to-notification** (p50/p99, ms): the server writes a sensor
  value; time until the client's subscription shows it in ``latest()``.

Both OPC-UA security modes are measured: None, and Basic256Sha256 SignAndEncrypt
with a user; the links run with their defaults (OPC-UA publishing interval 1 ms).
Targets (issue 7): ZeroMQ bridge <= 2 x the raw baseline's round trip; OPC-UA
write-to-notification p99 <= 5 ms; >= 10,000 point updates/s through the OPC-UA
server.

    .venv/bin/python bench/hil.py [--steps 300] [--seconds 3]

Prints one JSON line; ``make bench-hil`` appends it to bench/results/hil.jsonl.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controllers.io import Direction, PointSpec, Quality, Sample  # noqa: E402
from hil.opcua import (  # noqa: E402
    ClientSecurity,
    OpcUaControllerLink,
    OpcUaField,
    OpcUaUser,
    Security,
    generate_certificates,
)
from hil.zmq import ZmqControllerLink, ZmqField  # noqa: E402

N_POINTS = 1000
INPUTS = [
    PointSpec(f"bench/dev{i // 50:02d}/p{i:04d}", Direction.INPUT, "1", low=0.0, high=1e6)
    for i in range(N_POINTS - 1)
]
OUTPUT = PointSpec("bench/ctl/out", Direction.OUTPUT, "1", low=0.0, high=1e9)
POINTS = [*INPUTS, OUTPUT]
USER, PASSWORD = "bench", "bench-secret-1"


class Echo:
    """A trivial controller: one output, the sum of two inputs plus the step time."""

    name = "bench/echo"
    scan_period_s = 1.0

    def points(self) -> list[PointSpec]:
        return POINTS

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        a = inputs.get(INPUTS[0].name)
        b = inputs.get(INPUTS[-1].name)
        va = a.value if a is not None and a.value is not None else 0.0
        vb = b.value if b is not None and b.value is not None else 0.0
        return {OUTPUT.name: float(va + vb + now)}

    def snapshot(self) -> dict[str, Any]:
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        return None


def _samples(k: int, now: float) -> dict[str, Sample]:
    return {p.name: Sample(float(k + i), Quality.GOOD, now) for i, p in enumerate(INPUTS)}


def _pct(xs: list[float]) -> dict[str, float]:
    a = np.array(xs) * 1e3
    p50, p99 = (round(float(np.percentile(a, q)), 3) for q in (50, 99))
    return {"p50_ms": p50, "p99_ms": p99}


def _controller_thread(link: Any, errors: list[BaseException]) -> threading.Thread:
    ctl = Echo()

    def run() -> None:
        try:
            while (frame := link.wait_step(20.0)) is not None:
                link.finish_step(frame.k, ctl.scan(frame.now, frame.samples))
        except BaseException as err:  # reported by the caller
            errors.append(err)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _lockstep(field: Any, link: Any, steps: int, end: Callable[[], None]) -> list[float]:
    errors: list[BaseException] = []
    worker = _controller_thread(link, errors)
    times: list[float] = []
    for k in range(steps):
        samples = _samples(k, float(k))
        tick = time.perf_counter()
        out = field.exchange(k, float(k), samples, 20.0)
        times.append(time.perf_counter() - tick)
        assert out[OUTPUT.name] == float(k + k + N_POINTS - 2 + k), out
    end()
    worker.join(30.0)
    if errors:
        raise errors[0]
    return times[5:]  # warm-up


def _throughput(field: Any, link: Any, seconds: float) -> float:
    """Point updates/s seen by the link while the field publishes all points flat out."""
    seen: dict[str, int] = {"n": 0}
    stop = threading.Event()

    def reader() -> None:
        last: dict[str, Any] = {}
        while not stop.is_set():
            cur = link.latest(time.time())
            n = 0
            for name, s in cur.items():
                if s.value is not None and last.get(name) != s.value:
                    n += 1
                    last[name] = s.value
            seen["n"] += n
            time.sleep(0.001)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.5)
    start_n = seen["n"]
    tick = time.perf_counter()
    k = 0
    while time.perf_counter() - tick < seconds:
        k += 1
        field.publish(float(k), _samples(k * 1000, float(k)))
    time.sleep(0.5)  # let the tail arrive
    stop.set()
    t.join(5.0)
    return (seen["n"] - start_n) / (time.perf_counter() - tick - 0.5)


def _notification(field: OpcUaField, link: OpcUaControllerLink, n: int) -> list[float]:
    """Server-side write of one sensor → the client's subscription has it (s)."""
    name = INPUTS[0].name
    times: list[float] = []
    for k in range(n):
        value = 1e5 + k
        tick = time.perf_counter()
        field.publish(float(k), {name: Sample(value, Quality.GOOD, float(k))})
        while link.latest(time.time())[name].value != value:
            if time.perf_counter() - tick > 2.0:
                raise TimeoutError(f"notification {k} did not arrive in 2 s")
            time.sleep(0.0002)  # a busy spin would starve asyncua's thread of the GIL
        times.append(time.perf_counter() - tick)
        time.sleep(0.002)
    return times[5:]


def raw_baseline(steps: int) -> list[float]:
    """REQ/REP on loopback, the same 1,000 samples packed with msgpack each way in."""
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    rep = ctx.socket(zmq.REP)
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    req = ctx.socket(zmq.REQ)
    req.connect(f"tcp://127.0.0.1:{port}")

    def serve() -> None:
        for _ in range(steps):
            msg = msgpack.unpackb(rep.recv())
            rep.send(msgpack.packb({"out": msg["k"]}))

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    times = []
    for k in range(steps):
        packed = {n: [s.value, 0, s.source_time] for n, s in _samples(k, float(k)).items()}
        payload = {"k": k, "samples": packed}
        tick = time.perf_counter()
        req.send(msgpack.packb(payload))
        msgpack.unpackb(req.recv())
        times.append(time.perf_counter() - tick)
    t.join()
    req.close(0)
    rep.close(0)
    return times[5:]


def in_process(steps: int) -> list[float]:
    ctl = Echo()
    times = []
    for k in range(steps):
        samples = _samples(k, float(k))
        tick = time.perf_counter()
        ctl.scan(float(k), samples)
        times.append(time.perf_counter() - tick)
    return times[5:]


def zmq_bridge(steps: int, seconds: float) -> dict[str, Any]:
    field = ZmqField(POINTS)
    field.start()
    link = ZmqControllerLink(field.pub_endpoint, field.rep_endpoint, INPUTS)
    link.connect(10.0)
    try:
        rt = _lockstep(field, link, steps, field.stop)  # stopping announces the end
    finally:
        field.stop()
        link.close()
    field = ZmqField(POINTS)
    field.start()
    link = ZmqControllerLink(field.pub_endpoint, field.rep_endpoint, INPUTS)
    link.connect(10.0)
    try:
        tp = _throughput(field, link, seconds)
    finally:
        field.stop()
        link.close()
    return {"round_trip": _pct(rt), "updates_per_s": round(tp)}


def opcua_bridge(steps: int, seconds: float, secure: bool, certs: Path | None) -> dict[str, Any]:
    users = [OpcUaUser.with_password(USER, PASSWORD, "operator")]
    kw: dict[str, Any] = {"run_start_utc_s": 1_767_225_600.0, "users": users}
    client_security = None
    if secure:
        assert certs is not None
        kw.update(security=Security.SIGN_ENCRYPT, cert_dir=certs)
        client_security = ClientSecurity.from_cert_dir(certs)
    else:
        kw.update(security=Security.NONE)
    out: dict[str, Any] = {}

    def make() -> tuple[OpcUaField, OpcUaControllerLink]:
        field = OpcUaField(POINTS, **kw)
        field.start()
        link = OpcUaControllerLink(
            field.url, INPUTS, [OUTPUT], user=USER, password=PASSWORD, security=client_security
        )
        link.connect(20.0)
        return field, link

    field, link = make()
    try:
        out["round_trip"] = _pct(_lockstep(field, link, steps, field.end))
    finally:
        link.close()
        field.stop()
    field, link = make()
    try:
        out["write_to_notification"] = _pct(_notification(field, link, max(steps, 200)))
        out["updates_per_s"] = round(_throughput(field, link, seconds))
    finally:
        link.close()
        field.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    line: dict[str, Any] = {
        "bench": "hil",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "points": N_POINTS,
        "steps": args.steps,
    }
    line["raw_zmq_req_rep"] = {"round_trip": _pct(raw_baseline(args.steps))}
    line["in_process"] = {"round_trip": _pct(in_process(args.steps))}
    line["zmq"] = zmq_bridge(args.steps, args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        certs = generate_certificates(Path(tmp) / "certs", "127.0.0.1").folder
        line["opcua_none"] = opcua_bridge(args.steps, args.seconds, False, None)
        line["opcua_sign_encrypt"] = opcua_bridge(args.steps, args.seconds, True, certs)
    raw = line["raw_zmq_req_rep"]["round_trip"]["p50_ms"]
    line["zmq_vs_raw_p50"] = round(line["zmq"]["round_trip"]["p50_ms"] / raw, 2)
    line["targets"] = {
        "zmq_le_2x_raw": line["zmq_vs_raw_p50"] <= 2.0,
        "opcua_notification_p99_le_5ms": max(
            line[m]["write_to_notification"]["p99_ms"] for m in ("opcua_none", "opcua_sign_encrypt")
        )
        <= 5.0,
        "opcua_ge_10k_updates_per_s": min(
            line[m]["updates_per_s"] for m in ("opcua_none", "opcua_sign_encrypt")
        )
        >= 10_000,
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
