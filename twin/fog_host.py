"""A fog node inside a simulated run: the node is scanned by the kernel as one controller.

In the field, a cooperative's controllers run on its fog node
(:class:`hil.fog.FogNode`), which records every scan durably and syncs with
the centre. :class:`FogNodeController` puts that same node into the kernel:
its points are the union of its controllers' points, its scan period the
shortest of theirs, and each kernel scan is one :meth:`FogNode.step` (which
runs only the controllers that are due). So a simulated run exercises the
node's recording, snapshots and uplink exactly as the gateway would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from controllers.io import Controller, PointSpec, Sample
from hil.fog import FogNode, MqttUplink

__all__ = ["FogNodeController", "open_fog_node"]


class FogNodeController:
    """A :class:`FogNode` seen by the kernel as one controller named ``fog/<node>``."""

    def __init__(self, node: FogNode) -> None:
        self.node = node
        self.name = f"fog/{node.node_id}"
        ctrls = node.controllers
        self.scan_period_s = min(c.scan_period_s for c in ctrls)
        seen: dict[str, PointSpec] = {}
        for c in ctrls:
            for spec in c.points():
                seen.setdefault(spec.name, spec)
        self._specs = tuple(seen.values())

    def points(self) -> Sequence[PointSpec]:
        """Every point of every controller on the node (first declaration wins)."""
        return self._specs

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """One node step: the due controllers scan; all held outputs are returned."""
        return self.node.step(now, inputs)

    def snapshot(self) -> dict[str, Any]:
        """The snapshots of the node's controllers, by name."""
        return {c.name: c.snapshot() for c in self.node.controllers}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`snapshot` data into the node's controllers."""
        for c in self.node.controllers:
            c.restore(state[c.name])


def open_fog_node(
    path: Path, node_id: str, controllers: Sequence[Controller], uplink_url: str | None = None
) -> FogNode:
    """A fog node on a new or existing store at ``path``; ``uplink_url`` is
    ``mqtt://host:port`` of the centre's broker, or None to buffer on disk only."""
    uplink = None
    if uplink_url is not None:
        url = urlparse(uplink_url)
        if url.scheme != "mqtt" or not url.hostname:
            raise ValueError(
                f"fog uplink {uplink_url!r}: use mqtt://host:port, e.g. mqtt://127.0.0.1:1883"
            )
        uplink = MqttUplink(node_id, url.hostname, url.port or 1883)
    path.parent.mkdir(parents=True, exist_ok=True)
    return FogNode.open(path, controllers, node_id=node_id, uplink=uplink)
