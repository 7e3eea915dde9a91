"""Recorded point series, written to Parquet in row groups as the run goes.

Every ``period_s`` the recorder takes the latest sample of every point of the
process image and appends it in long form: ``time_s`` (float64, s),
``point`` (dictionary-encoded text), ``value`` (float64; NaN for text or
missing values), ``text`` (the value of text points, else null) and
``quality`` (int8: 0 good, 1 uncertain, 2 bad, as a reader saw it then: aged
and with forced faults) and ``source_time_s`` (the sample's timestamp). Rows are flushed every
``flush_every`` records, so a run that fails keeps what it recorded.
Query it with DuckDB or pyarrow: ``SELECT * FROM 'points.parquet' WHERE point LIKE 'tls/%'``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from controllers.io import Quality, Sample

__all__ = ["Recorder"]

_SCHEMA = pa.schema(
    [
        ("time_s", pa.float64()),
        ("point", pa.dictionary(pa.int32(), pa.string())),
        ("value", pa.float64()),
        ("text", pa.string()),
        ("quality", pa.int8()),
        ("source_time_s", pa.float64()),
    ]
)


class Recorder:
    """Buffers snapshots of the process image and writes them to one Parquet file.

    Args:
        path: output file (``points.parquet``).
        period_s: seconds between snapshots (> 0).
        flush_every: snapshots per Parquet row group.
    """

    def __init__(self, path: Path, period_s: float = 10.0, flush_every: int = 60) -> None:
        if not period_s > 0:
            raise ValueError(f"record period must be > 0 s, got {period_s}")
        self.path = path
        self.period_s = float(period_s)
        self.flush_every = int(flush_every)
        self._writer: pq.ParquetWriter | None = None
        self._rows: dict[str, list] = {k: [] for k in _SCHEMA.names}
        self._pending = 0
        self._closed = False
        self.rows_written = 0

    def snapshot(self, now: float, samples: Mapping[str, Sample]) -> None:
        """Append the given samples (by point name) at time ``now`` (s)."""
        rows = self._rows
        for name, sample in samples.items():
            value = sample.value
            rows["time_s"].append(now)
            rows["point"].append(name)
            rows["quality"].append(int(sample.quality))
            rows["source_time_s"].append(float(sample.source_time))
            if isinstance(value, str):
                rows["value"].append(math.nan)
                rows["text"].append(value)
            else:
                rows["value"].append(math.nan if value is None else float(value))
                rows["text"].append(None)
        self._pending += 1
        if self._pending >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Write buffered rows as one row group."""
        if not self._rows["time_s"]:
            return
        table = pa.table(
            {
                "time_s": np.asarray(self._rows["time_s"], dtype=np.float64),
                "point": pa.array(self._rows["point"]).dictionary_encode(),
                "value": np.asarray(self._rows["value"], dtype=np.float64),
                "text": pa.array(self._rows["text"], type=pa.string()),
                "quality": np.asarray(self._rows["quality"], dtype=np.int8),
                "source_time_s": np.asarray(self._rows["source_time_s"], dtype=np.float64),
            },
            schema=_SCHEMA,
        )
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.path, _SCHEMA, compression="zstd")
        self._writer.write_table(table)
        self.rows_written += table.num_rows
        for column in self._rows.values():
            column.clear()
        self._pending = 0

    def close(self) -> None:
        """Flush and close the file (safe to call twice); writes an empty file if nothing came."""
        if self._closed:
            return
        self._closed = True
        self.flush()
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.path, _SCHEMA, compression="zstd")
        self._writer.close()
        self._writer = None

    @staticmethod
    def quality_name(code: int) -> str:
        """'good', 'uncertain' or 'bad' for a stored quality code."""
        return Quality(code).name.lower()
