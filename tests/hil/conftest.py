"""Fixtures of the fog-node tests: a real mosquitto broker per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fog_support import Broker, mosquitto_binary


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A running mosquitto on a free loopback port; stopped after the test."""
    binary = mosquitto_binary()
    if binary is None:
        pytest.skip(
            "mosquitto is not installed (apt-get install mosquitto; see `make system-deps`)"
        )
    b = Broker(binary, tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()
