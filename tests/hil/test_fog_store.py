"""The fog node's store: order, watermark, retention, atomicity, identity, kill -9 durability."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hil.fog.centre import CentreReceiver
from hil.fog.store import AckError, FogStore, NewRecord, SavedState, StoreError

REPO = Path(__file__).resolve().parents[2]


def _event(i: int) -> NewRecord:
    return NewRecord("event", 60.0 * i, 1.7e9 + i, {"type": "test", "i": i})


def test_sequence_numbers_are_consecutive_and_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    with FogStore(path) as store:
        assert (store.last_seq, store.acked_seq, store.node_id) == (0, 0, None)
        store.claim("fog-1")
        assert store.commit([_event(1), _event(2), _event(3)]) == [1, 2, 3]
        assert store.append("telemetry", {"x": 1}, None, 1.7e9) == 4
    with FogStore(path) as store:
        assert (store.last_seq, store.node_id) == (4, "fog-1")
        assert store.commit([_event(5)]) == [5]
        recs = store.pending(0, 10)
        assert [r.seq for r in recs] == [1, 2, 3, 4, 5]
        assert recs[0].body == {"type": "test", "i": 1} and recs[0].run_s == 60.0
        assert recs[3].kind == "telemetry" and recs[3].run_s is None
        assert [r.seq for r in store.pending(2, 2)] == [3, 4]


def test_watermark_is_monotonic_persistent_and_bounded(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    with FogStore(path) as store:
        store.commit([_event(i) for i in range(1, 6)])
        assert store.set_acked(3) == 3
        assert store.set_acked(2) == 3  # a lower ack never lowers the watermark
        with pytest.raises(AckError, match="last seq is 5"):
            store.set_acked(6)
    with FogStore(path) as store:
        assert store.acked_seq == 3
        assert [r.seq for r in store.pending(store.acked_seq, 100)] == [4, 5]


def test_retention_never_drops_unacked_and_keeps_the_sequence(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    with FogStore(path, keep_acked=2) as store:
        store.commit([_event(i) for i in range(1, 11)])
        store.set_acked(8)
        assert [r.seq for r in store.records()] == [7, 8, 9, 10]  # 2 acked kept + unacked
    with FogStore(path, keep_acked=0) as store:
        store.set_acked(9)
        assert [r.seq for r in store.records()] == [10]
        store.set_acked(10)
        assert store.records() == []
    with FogStore(path) as store:  # everything pruned: numbering still continues
        assert store.last_seq == 10
        assert store.commit([_event(11)]) == [11]


def test_commit_is_atomic_with_snapshots_and_commands(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    with FogStore(path) as store:
        store.commit([_event(1)], {"c": SavedState({"n": 1}, {"due": 60.0}, 0.0)}, ("cmd-1", {}))
        with pytest.raises(ValueError, match="not JSON"):
            store.commit(
                [_event(2), NewRecord("event", 1.0, 1.0, {"x": float("nan")})],
                {"c": SavedState({"n": 2}, {}, 60.0)},
            )
        with pytest.raises(sqlite3.IntegrityError):  # a command id is stored once
            store.commit([_event(2)], {"c": SavedState({"n": 2}, {}, 60.0)}, ("cmd-1", {}))
        with pytest.raises(ValueError, match="kind"):
            store.commit([NewRecord("photo", 1.0, 1.0, {})])
        assert store.last_seq == 1
    with FogStore(path) as store:
        assert store.last_seq == 1 and [r.seq for r in store.records()] == [1]
        assert store.snapshots() == {"c": SavedState({"n": 1}, {"due": 60.0}, 0.0)}
        assert store.command_result("cmd-1") == {} and store.command_result("cmd-2") is None


def test_command_ids_are_bounded_oldest_first(tmp_path: Path) -> None:
    with FogStore(tmp_path / "node.db", keep_commands=3) as store:
        for i in range(5):
            store.commit([_event(i + 1)], command=(f"c{i}", {"result": "applied", "i": i}))
        assert store.command_count() == 3
        assert store.command_result("c1") is None
        assert store.command_result("c4") == {"result": "applied", "i": 4}


def test_store_refuses_another_nodes_claim(tmp_path: Path) -> None:
    with FogStore(tmp_path / "node.db") as store:
        store.claim("fog-1")
        with pytest.raises(StoreError, match="belongs to node 'fog-1'"):
            store.claim("fog-2")


def test_corrupt_and_foreign_files_fail_loud(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(8192))
    with pytest.raises(StoreError, match=r"junk\.db.*not a SQLite database.*Move the file away"):
        FogStore(junk)

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.close()
    with pytest.raises(StoreError, match=r"foreign\.db.*foreign SQLite database.*customers"):
        FogStore(foreign)

    centre_db = tmp_path / "centre.db"
    CentreReceiver(centre_db, ["fog-1"]).close()
    with pytest.raises(StoreError, match="belongs to 'dongha-fog-centre'"):
        FogStore(centre_db)

    newer = tmp_path / "newer.db"
    FogStore(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    conn.close()
    with pytest.raises(StoreError, match="schema version '99'"):
        FogStore(newer)

    with pytest.raises(StoreError, match="folder does not exist"):
        FogStore(tmp_path / "missing" / "node.db")


def test_a_second_process_cannot_open_the_store(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    with FogStore(path):
        probe = subprocess.run(
            [sys.executable, "-c", f"from hil.fog.store import FogStore; FogStore({str(path)!r})"],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        )
    assert probe.returncode != 0
    assert "in use by another process" in probe.stderr


_WRITER = textwrap.dedent(
    """
    import sys
    from hil.fog.store import FogStore, NewRecord, SavedState
    store = FogStore(sys.argv[1])
    store.claim("fog-kill")
    i = store.last_seq
    while True:
        i += 1
        body = {"type": "test", "i": i, "pad": "x" * 200}
        seq = store.commit(
            [NewRecord("event", float(i), 1.7e9 + i, body)],
            {"ctl": SavedState({"i": i}, {"next_due_s": float(i + 1)}, float(i))},
        )[0]
        print(seq, flush=True)
    """
)


def test_committed_rows_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None
    confirmed = []
    try:
        for line in proc.stdout:
            confirmed.append(int(line))
            if len(confirmed) >= 300:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert confirmed == list(range(1, 301))

    with FogStore(path) as store:
        records = store.records()
        last = store.last_seq
        assert last >= 300  # the writer ran on between our read and the kill
        assert [r.seq for r in records] == list(range(1, last + 1))
        for rec in records:
            assert rec.body == {"type": "test", "i": rec.seq, "pad": "x" * 200}
        # the snapshot was written in the same transaction as the last row
        assert store.snapshots()["ctl"].state == {"i": last}
        assert store.node_id == "fog-kill"
        assert store.commit([NewRecord("event", None, 1.0, {"type": "after"})]) == [last + 1]


def test_store_is_wal_with_full_sync(tmp_path: Path) -> None:
    with FogStore(tmp_path / "node.db") as store:
        db = store._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
