"""A fog node in its own process, driven over stdin/stdout, so a test can SIGKILL it.

Usage: python fog_worker.py STORE PORT

Prints ``READY <next_due_s|-> <last_seq>``, then answers one line per command:

``RUN <until_s> [<slow_after_s>]``  scan every 60 s from the node's next due time
    up to ``until_s``; from ``slow_after_s`` on it prints ``HALF <t>`` once and
    sleeps 3 ms per scan (so a kill lands mid-outage). Answers ``RAN <t> <last_seq>``.
``SYNC <timeout_s>``  service the link until every record is acked:
    ``SYNCED <last_seq>`` or ``TIMEOUT <acked> <last_seq>``.
``QUIT``  close the node: ``BYE``.
"""

from __future__ import annotations

import sys
import time

from fog_support import CTL, NODE, FakeController, inputs_at

from hil.fog.node import FogNode
from hil.fog.uplink import MqttUplink


def main(store: str, port: int) -> int:
    uplink = MqttUplink(
        NODE, port=port, reconnect_min_s=0.25, reconnect_max_s=1.0, ack_timeout_s=2.0
    )
    node = FogNode.open(store, [FakeController()], node_id=NODE, uplink=uplink)
    due = node.next_due(CTL)
    print("READY", "-" if due is None else due, node.store.last_seq, flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "RUN":
            until = float(words[1])
            slow = float(words[2]) if len(words) > 2 else None
            t = node.next_due(CTL)
            t = 0.0 if t is None else t
            last, halfway = None, False
            while t <= until:
                node.step(t, inputs_at(t))
                last = t
                if slow is not None and t >= slow:
                    if not halfway:
                        print("HALF", t, flush=True)
                        halfway = True
                    time.sleep(0.003)
                nxt = node.next_due(CTL)
                assert nxt is not None
                t = nxt
            print("RAN", last, node.store.last_seq, flush=True)
        elif words[0] == "SYNC":
            deadline = time.monotonic() + float(words[1])
            while time.monotonic() < deadline:
                node.service()
                if node.store.acked_seq == node.store.last_seq:
                    print("SYNCED", node.store.last_seq, flush=True)
                    break
                time.sleep(0.01)
            else:
                print("TIMEOUT", node.store.acked_seq, node.store.last_seq, flush=True)
        elif words[0] == "QUIT":
            node.close()
            print("BYE", flush=True)
            return 0
        else:
            print("ERROR unknown command", words[0], flush=True)
    node.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
