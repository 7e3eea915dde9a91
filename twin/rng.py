"""One seeded random-number registry per run.

Every random stream of a run is drawn from one seed: a stream is identified by
a name (``demand``, ``sumo``, ``weather``...) and derived from the run seed and
a stable digest of that name, so adding a new stream never shifts the others
and the order in which streams are requested does not matter.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["RngRegistry"]


def _name_key(name: str) -> list[int]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


class RngRegistry:
    """Named, independent numpy Generators derived from one run seed.

    Args:
        seed: the run seed, an integer in [0, 2**63).
    """

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
        self.seed = seed
        self._streams: dict[str, np.random.Generator] = {}

    def stream(self, name: str) -> np.random.Generator:
        """The generator for ``name`` (created on first use, then the same object)."""
        if name not in self._streams:
            seq = np.random.SeedSequence([self.seed, *_name_key(name)])
            self._streams[name] = np.random.Generator(np.random.PCG64(seq))
        return self._streams[name]

    def integer_seed(self, name: str) -> int:
        """A fresh integer seed in [0, 2**31) for an external tool (SUMO, duarouter)."""
        seq = np.random.SeedSequence([self.seed, *_name_key("seed:" + name)])
        return int(seq.generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)

    def names(self) -> list[str]:
        """Names of the streams used so far, sorted."""
        return sorted(self._streams)
