"""The run's event log: one JSON object per line, written and flushed as it happens.

Each record has ``t`` (s, run clock), ``kind`` and free fields. Flushing per
line means a run that dies keeps every event up to the failure.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import IO, Any

__all__ = ["EventLog"]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class EventLog:
    """Append-only JSON-lines log; ``path=None`` keeps events in memory only."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._file: IO[str] | None = path.open("w", encoding="utf-8") if path else None
        self.records: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}

    def emit(self, t: float, kind: str, **fields: Any) -> None:
        """Record one event at time ``t`` (s)."""
        record = {"t": round(float(t), 3), "kind": kind, **_plain(fields)}
        self.records.append(record)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self._file is not None:
            self._file.write(json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n")
            self._file.flush()

    def close(self) -> None:
        """Close the file (safe to call twice)."""
        if self._file is not None:
            self._file.close()
            self._file = None
