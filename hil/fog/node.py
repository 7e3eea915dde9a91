"""The fog node: runs the controllers, records everything durably, syncs with the centre.

Each :meth:`FogNode.step` runs the controllers whose scan is due (time is
passed in, never read from a clock), then writes in ONE transaction: one
telemetry record per scan (its inputs and outputs, JSON-safe), the alarms the
scan raised, and the controllers' snapshots. Only then are the outputs
returned for actuation and the new records offered to the uplink, which sends
them whenever the link is up; while it is down the node keeps controlling and
the outbox grows on disk.

Commands from the centre are looked up by id first: a replay returns the
stored result and is not applied again (also after a power cycle). A new one
goes to its handler or to the controller that owns its target, and its
result, the event reporting it and that controller's snapshot are committed
together.

After a power cycle, :meth:`FogNode.open` on the same store restores every
controller from its last committed snapshot, keeps the scan schedule and
continues the sequence numbers.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from controllers.io import Controller, Direction, PointSpec, Sample, bad_sample
from hil.fog.protocol import Command, CommandResult, validate_node_id
from hil.fog.store import FogStore, NewRecord, SavedState, StoreError
from hil.fog.telemetry import json_safe, output_entry, sample_entry
from hil.fog.uplink import LinkEvent, Uplink

__all__ = ["CommandHandler", "CommandOutcome", "FogNode"]

log = logging.getLogger(__name__)

CommandHandler = Callable[[Command], str]
"""A node-level handler for one command kind: returns a result word (``applied``, …);
raises ValueError to reject the command with that message."""

_DUE_TOL_S = 1e-6
_STAT_KEYS = (
    "scans",
    "missed_scans",
    "alarms",
    "commands_applied",
    "commands_rejected",
    "commands_failed",
    "command_replays",
    "link_up",
    "link_down",
)


class CommandOutcome(NamedTuple):
    """What :meth:`FogNode.handle_command` did: the result, and whether it was a replay."""

    result: CommandResult
    replay: bool


class _Rejected(Exception):
    """A command the node cannot route (no owner, ambiguous, no command method)."""


@dataclass(slots=True)
class _Slot:
    """A controller and the node's bookkeeping for it."""

    controller: Controller
    inputs: tuple[PointSpec, ...]
    outputs: dict[str, PointSpec]
    owns: frozenset[str]
    next_due_s: float | None = None
    alarm_cursor: int = 0
    scans: int = 0
    held: dict[str, Any] = field(default_factory=dict)

    def node_state(self) -> dict[str, Any]:
        return {
            "next_due_s": self.next_due_s,
            "alarm_cursor": self.alarm_cursor,
            "scans": self.scans,
            "outputs": json_safe(self.held),
        }

    def load(self, data: Mapping[str, Any]) -> None:
        due, cursor, scans, held = (
            data.get("next_due_s"),
            data.get("alarm_cursor"),
            data.get("scans"),
            data.get("outputs"),
        )
        if due is not None and (
            isinstance(due, bool) or not isinstance(due, int | float) or not math.isfinite(due)
        ):
            raise ValueError(f"next_due_s must be a finite number or null, got {due!r}")
        for key, value in (("alarm_cursor", cursor), ("scans", scans)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{key} must be an integer >= 0, got {value!r}")
        if not isinstance(held, dict):
            raise ValueError(f"outputs must be an object, got {type(held).__name__}")
        assert isinstance(cursor, int) and isinstance(scans, int)
        self.next_due_s = None if due is None else float(due)
        self.alarm_cursor, self.scans, self.held = cursor, scans, dict(held)


def _make_slot(ctl: Any) -> _Slot:
    if not isinstance(ctl, Controller):
        raise TypeError(
            f"{ctl!r} is not a controller: it needs name, scan_period_s, points(), scan(), "
            "snapshot() and restore() (controllers.io.Controller)"
        )
    period = ctl.scan_period_s
    if (
        isinstance(period, bool)
        or not isinstance(period, int | float)
        or not (0 < period < math.inf)
    ):
        raise ValueError(f"controller {ctl.name!r}: scan_period_s must be > 0 s, got {period!r}")
    specs = tuple(ctl.points())
    owns = {seg for s in specs for seg in s.name.split("/")[:-1]}
    return _Slot(
        controller=ctl,
        inputs=tuple(s for s in specs if s.direction is Direction.INPUT),
        outputs={s.name: s for s in specs if s.direction is Direction.OUTPUT},
        owns=frozenset(owns),
    )


class FogNode:
    """Controllers + durable outbox + uplink, on one gateway box.

    Args:
        node_id: this node's id (1-64 letters, digits, ``_``, ``-``).
        controllers: the controllers to run (unique names).
        store: the node's durable store; claimed for ``node_id``. If it holds
            snapshots, the controllers are restored from them (a restart).
        uplink: the link to the centre, or None to run standalone. The node
            starts it now and stops it in :meth:`close`.
        command_handlers: node-level handlers by command kind, tried before
            the controllers.
        wall_clock: Unix seconds, stamped on records (never used for control).

    Raises:
        StoreError: the store belongs to another node, or a saved state does
            not fit its controller.

    Not thread-safe: call :meth:`step`, :meth:`service` and
    :meth:`handle_command` from one thread (the uplink's network thread only
    queues what it receives).
    """

    def __init__(
        self,
        node_id: str,
        controllers: Sequence[Controller],
        store: FogStore,
        uplink: Uplink | None = None,
        command_handlers: Mapping[str, CommandHandler] | None = None,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.node_id = validate_node_id(node_id)
        slots = [_make_slot(c) for c in controllers]
        if not slots:
            raise ValueError("a fog node needs at least one controller")
        names = [s.controller.name for s in slots]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"controller names must be unique; repeated: {dupes}")
        if uplink is not None and uplink.node_id != node_id:
            raise ValueError(f"the uplink is for node {uplink.node_id!r}, this node is {node_id!r}")
        handlers = dict(command_handlers or {})
        for kind, handler in handlers.items():
            if not callable(handler):
                raise TypeError(f"command handler for {kind!r} is not callable")
        self.store = store
        self.uplink = uplink
        self._handlers = handlers
        self._wall = wall_clock
        self._slots = {s.controller.name: s for s in slots}
        self.stats: dict[str, int] = dict.fromkeys(_STAT_KEYS, 0)
        self._closed = False
        store.claim(node_id)
        self._last_now = self._restore()
        if uplink is not None:
            uplink.start()

    @classmethod
    def open(
        cls,
        path: str | Path,
        controllers: Sequence[Controller],
        *,
        node_id: str | None = None,
        uplink: Uplink | None = None,
        command_handlers: Mapping[str, CommandHandler] | None = None,
        wall_clock: Callable[[], float] = time.time,
        keep_acked: int = 100_000,
    ) -> FogNode:
        """Open the store at ``path`` and build the node on it (resuming after a power cycle).

        ``node_id`` defaults to the store's (then the uplink's); a new store needs one.
        """
        store = FogStore(path, keep_acked=keep_acked)
        try:
            nid = node_id or store.node_id or (uplink.node_id if uplink is not None else None)
            if nid is None:
                raise ValueError(f"{path} is a new store: pass node_id to claim it")
            return cls(nid, controllers, store, uplink, command_handlers, wall_clock=wall_clock)
        except BaseException:
            store.close()
            raise

    def _restore(self) -> float | None:
        saved = self.store.snapshots()
        restored, fresh = [], []
        for name, slot in self._slots.items():
            state = saved.get(name)
            if state is None:
                fresh.append(name)
                continue
            try:
                slot.controller.restore(state.state)
                slot.load(state.node_state)
            except (ValueError, KeyError, TypeError) as exc:
                raise StoreError(
                    f"{self.store.path}: the saved state of controller {name!r} does not fit "
                    f"it ({exc}). Install the controller version that wrote it, or move the "
                    "store away to start fresh (after its outbox has synced)."
                ) from exc
            restored.append(name)
        unknown = sorted(set(saved) - set(self._slots))
        if unknown:
            log.warning("%s: the store holds states of controllers not run now: %s", self, unknown)
        times = [s.run_s for s in saved.values() if s.run_s is not None]
        last_now = max(times) if times else None
        self.store.append(
            "event",
            {
                "type": "boot",
                "node": self.node_id,
                "restored": restored,
                "fresh": fresh,
                "unknown": unknown,
                "last_seq": self.store.last_seq,
                "acked_seq": self.store.acked_seq,
            },
            last_now,
            self._wall(),
        )
        return last_now

    def __repr__(self) -> str:
        return f"FogNode({self.node_id!r})"

    # ------------------------------------------------------------- queries
    @property
    def last_now(self) -> float | None:
        """Run time (s) of the last step (restored after a power cycle), None before any."""
        return self._last_now

    @property
    def controllers(self) -> tuple[Controller, ...]:
        """The controllers, in the order given."""
        return tuple(s.controller for s in self._slots.values())

    def next_due(self, name: str) -> float | None:
        """Run time (s) of controller ``name``'s next scan (None: at the next step)."""
        return self._slots[name].next_due_s

    def outputs(self) -> dict[str, Any]:
        """The outputs each controller returned at its last scan (held between scans)."""
        out: dict[str, Any] = {}
        for slot in self._slots.values():
            out.update(slot.held)
        return out

    # ---------------------------------------------------------------- step
    def step(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """Run the controllers due at ``now`` (s, run clock) on ``inputs``; return all outputs.

        ``inputs`` maps point names to samples (the process image); a
        controller's missing inputs read as BAD samples. The scans' telemetry,
        alarms and snapshots are committed before the outputs are returned.
        """
        if self._closed:
            raise RuntimeError(f"{self}: closed; open a new node on the store")
        now = self._check_now(now)
        self._last_now = now
        self.service()
        wall = self._wall()
        records: list[NewRecord] = []
        snaps: dict[str, SavedState] = {}
        try:
            for slot in self._slots.values():
                if slot.next_due_s is None or now >= slot.next_due_s - _DUE_TOL_S:
                    recs, saved = self._scan(slot, now, inputs, wall)
                    records += recs
                    snaps[slot.controller.name] = saved
        finally:  # a controller that raises does not undo the scans before it
            if records:
                self.store.commit(records, snaps)
                self.stats["scans"] += len(snaps)
        self.service()
        return self.outputs()

    def _scan(
        self, slot: _Slot, now: float, inputs: Mapping[str, Sample], wall: float
    ) -> tuple[list[NewRecord], SavedState]:
        """Scan one controller: its telemetry and alarm records and its state (to commit)."""
        ctl = slot.controller
        given = {}
        for spec in slot.inputs:
            sample = inputs.get(spec.name)
            if sample is None:
                sample = bad_sample()
            elif not isinstance(sample, Sample):
                raise TypeError(
                    f"input {spec.name}: expected a controllers.io.Sample, got "
                    f"{type(sample).__name__}; wrap values as Sample(value, quality, time)"
                )
            given[spec.name] = sample
        out = dict(ctl.scan(now, given))
        slot.held = out
        self._advance(slot, now)
        records = [NewRecord("telemetry", now, wall, self._telemetry(slot, given, out))]
        records += self._alarm_records(slot, now, wall)
        return records, SavedState(ctl.snapshot(), slot.node_state(), now)

    def _check_now(self, now: Any) -> float:
        if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
            raise ValueError(f"{self}: now must be a finite run time in s, got {now!r}")
        if self._last_now is not None and now < self._last_now:
            raise ValueError(
                f"{self}: time went backwards from {self._last_now} s to {now} s. After a "
                "restart, continue the run clock from node.last_now (it is restored)."
            )
        return float(now)

    def _advance(self, slot: _Slot, now: float) -> None:
        period = float(slot.controller.scan_period_s)
        due = now if slot.next_due_s is None else slot.next_due_s
        nxt = due + period
        if nxt <= now + _DUE_TOL_S:
            missed = math.floor((now - due) / period + _DUE_TOL_S)
            self.stats["missed_scans"] += missed
            log.warning(
                "%s: %s missed %d scan(s) before %s s", self, slot.controller.name, missed, now
            )
            nxt = now + period
        slot.next_due_s = nxt
        slot.scans += 1

    def _telemetry(
        self, slot: _Slot, given: Mapping[str, Sample], out: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {
            "type": "scan",
            "controller": slot.controller.name,
            "scan": slot.scans,
            "inputs": {name: sample_entry(s) for name, s in given.items()},
            "outputs": {str(k): output_entry(slot.outputs.get(k), v) for k, v in out.items()},
        }

    def _alarm_records(self, slot: _Slot, now: float | None, wall: float) -> list[NewRecord]:
        fetch = getattr(slot.controller, "alarms", None)
        if not callable(fetch):
            return []
        new = list(fetch(slot.alarm_cursor))
        slot.alarm_cursor += len(new)
        self.stats["alarms"] += len(new)
        return [
            NewRecord(
                "event",
                now,
                wall,
                {"type": "alarm", "controller": slot.controller.name, "alarm": json_safe(a)},
            )
            for a in new
        ]

    # ---------------------------------------------------------------- link
    def service(self) -> None:
        """Handle what the uplink received (acks, commands, link changes) and send records.

        :meth:`step` calls it; call it between steps too when waiting on the link.
        """
        if self.uplink is None or self._closed:
            return
        for event in self.uplink.service(self.store):
            self._on_link_event(event)

    def _on_link_event(self, event: LinkEvent) -> None:
        if event.kind == "command" and event.command is not None:
            self.handle_command(event.command, event.wall_s)
        elif event.kind in ("up", "down"):
            self.stats["link_up" if event.kind == "up" else "link_down"] += 1
            body: dict[str, Any] = {"type": "link", "state": event.kind}
            if event.detail:
                body["detail"] = event.detail
            self.store.append("event", body, self._last_now, event.wall_s)

    # ------------------------------------------------------------ commands
    def handle_command(self, cmd: Command, wall_s: float | None = None) -> CommandOutcome:
        """Apply ``cmd`` once: a known id returns its stored result without re-applying.

        Routing: a handler for ``cmd.kind``; else the controller named by
        ``cmd.controller``; else the controller named ``cmd.target`` (called
        with ``target=None``); else the one controller with a ``command``
        method whose point names contain ``cmd.target`` as a segment (e.g.
        ``P03`` in ``agri/P03/soil_vwc``). The controller is called as
        ``command(cmd_id, issued_s, kind, target=..., **args)``.

        Results: what the handler returned (``applied``, ``duplicate``,
        ``superseded``, …), ``rejected`` (unroutable, or it raised
        ValueError/TypeError) or ``error`` (it raised anything else; logged).
        Every result is stored with the id and reported as a ``cmd_result`` event.
        """
        prior = self.store.command_result(cmd.cmd_id)
        if prior is not None:
            self.stats["command_replays"] += 1
            log.info("%s: command %s is a replay; answered %s", self, cmd.cmd_id, prior)
            return CommandOutcome(
                CommandResult(
                    cmd.cmd_id,
                    str(prior.get("result")),
                    str(prior.get("detail", "")),
                    prior.get("controller"),
                ),
                True,
            )
        wall = self._wall() if wall_s is None else wall_s
        slot: _Slot | None = None
        detail = ""
        try:
            if cmd.kind in self._handlers:
                word = self._handlers[cmd.kind](cmd)
            else:
                slot, target = self._route(cmd)
                method = getattr(slot.controller, "command", None)
                if not callable(method):
                    raise _Rejected(f"controller {slot.controller.name!r} takes no commands")
                word = method(cmd.cmd_id, cmd.issued_s, cmd.kind, target=target, **cmd.args)
            result = str(word)
            self.stats["commands_applied"] += 1
        except (_Rejected, ValueError, TypeError) as exc:
            result, detail = "rejected", str(exc)
            self.stats["commands_rejected"] += 1
            log.warning("%s: command %s rejected: %s", self, cmd.cmd_id, exc)
        except Exception as exc:
            result, detail = "error", repr(exc)
            self.stats["commands_failed"] += 1
            log.exception("%s: command %s failed in its handler", self, cmd.cmd_id)
        name = None if slot is None else slot.controller.name
        outcome = CommandResult(cmd.cmd_id, result, detail[:500], name)
        records = [NewRecord("event", self._last_now, wall, outcome.to_body())]
        snaps = {}
        if slot is not None:
            records += self._alarm_records(slot, self._last_now, wall)
            snaps[slot.controller.name] = SavedState(
                slot.controller.snapshot(), slot.node_state(), self._last_now
            )
        stored = {"result": result, "detail": outcome.detail, "controller": name}
        self.store.commit(records, snaps, command=(cmd.cmd_id, stored))
        return CommandOutcome(outcome, False)

    def _route(self, cmd: Command) -> tuple[_Slot, str | None]:
        names = list(self._slots)
        if cmd.controller is not None:
            slot = self._slots.get(cmd.controller)
            if slot is None:
                raise _Rejected(f"no controller named {cmd.controller!r}; this node runs {names}")
            return slot, None if cmd.target in (None, slot.controller.name) else cmd.target
        takers = [
            s for s in self._slots.values() if callable(getattr(s.controller, "command", None))
        ]
        if cmd.target is None:
            if len(takers) == 1:
                return takers[0], None
            raise _Rejected("no target and no controller given; name the controller")
        if cmd.target in self._slots:
            return self._slots[cmd.target], None
        owners = [s for s in takers if cmd.target in s.owns]
        if len(owners) == 1:
            return owners[0], cmd.target
        if not owners:
            raise _Rejected(f"no controller owns target {cmd.target!r}; this node runs {names}")
        raise _Rejected(
            f"target {cmd.target!r} is owned by {[s.controller.name for s in owners]}; "
            "name the controller"
        )

    # ------------------------------------------------------------ shutdown
    def close(self) -> None:
        """Record a ``stop`` event, stop the uplink and close the store (idempotent)."""
        if self._closed:
            return
        try:
            self.store.append("event", {"type": "stop"}, self._last_now, self._wall())
        finally:
            self._closed = True
            if self.uplink is not None:
                self.uplink.stop()
            self.store.close()

    def __enter__(self) -> FogNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
