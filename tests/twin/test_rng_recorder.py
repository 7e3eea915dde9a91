"""One seed drives every stream; the recorder keeps what it recorded."""

from __future__ import annotations

import math

import pyarrow.parquet as pq
import pytest

from controllers.io import Quality, Sample
from twin.recorder import Recorder
from twin.rng import RngRegistry


def test_streams_depend_on_seed_and_name_not_on_request_order():
    a = RngRegistry(7)
    first = a.stream("demand").random(3).tolist()
    a.stream("sumo")
    b = RngRegistry(7)
    b.stream("sumo")
    assert b.stream("demand").random(3).tolist() == first
    assert RngRegistry(8).stream("demand").random(3).tolist() != first
    assert a.stream("sumo").random(3).tolist() != RngRegistry(7).stream("demand").random(3).tolist()
    assert a.names() == ["demand", "sumo"]
    assert a.integer_seed("sumo") == RngRegistry(7).integer_seed("sumo")
    assert 0 <= a.integer_seed("sumo") < 2**31


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, "7", True])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        RngRegistry(seed)


def test_recorder_writes_long_form_with_text_and_quality(tmp_path):
    rec = Recorder(tmp_path / "p.parquet", period_s=1.0, flush_every=2)
    for t in range(5):
        rec.snapshot(
            float(t),
            {
                "tls/J/state": Sample("GGrr", Quality.GOOD, t),
                "tls/J/det/a/queue_m": Sample(float(t), Quality.UNCERTAIN, t),
                "tls/J/det/a/speed_mps": Sample(None, Quality.BAD, t),
            },
        )
    rec.close()
    rec.close()  # twice is harmless and keeps the file
    rows = pq.read_table(tmp_path / "p.parquet").to_pylist()
    assert len(rows) == 15 and rec.rows_written == 15
    state = [r for r in rows if r["point"] == "tls/J/state"]
    assert {r["text"] for r in state} == {"GGrr"} and all(math.isnan(r["value"]) for r in state)
    queue = [r["value"] for r in rows if r["point"].endswith("queue_m")]
    assert queue == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert {r["quality"] for r in rows if r["point"].endswith("speed_mps")} == {2}


def test_recorder_flushes_row_groups_before_close(tmp_path):
    rec = Recorder(tmp_path / "p.parquet", period_s=1.0, flush_every=1)
    rec.snapshot(0.0, {"a/b": Sample(1.0)})
    rec.snapshot(1.0, {"a/b": Sample(2.0)})
    assert rec.rows_written == 2  # on disk already, before close
    rec.close()
