"""A group of controllers behind one link: merged outputs, one writer per output."""

from __future__ import annotations

import pytest

from controllers.io import Direction, PointSpec, Sample, ValueType
from twin.controller_group import ControllerGroup


class Echo:
    """Writes its input plus ``add`` to its output; counts its scans."""

    def __init__(self, name: str, source: str, target: str, add: float, period: float = 1.0):
        self.name, self.scan_period_s, self.add = name, period, add
        self.source = PointSpec(source, Direction.INPUT, "1")
        self.target = PointSpec(target, Direction.OUTPUT, "1", ValueType.FLOAT)
        self.scans = 0

    def points(self):
        return (self.source, self.target)

    def scan(self, now, inputs):
        self.scans += 1
        return {self.target.name: inputs[self.source.name].value + self.add}

    def snapshot(self):
        return {"scans": self.scans}

    def restore(self, state):
        self.scans = state["scans"]


def test_members_scan_on_shared_inputs_and_outputs_merge():
    group = ControllerGroup(
        "g", [Echo("a", "x/in/v", "x/a/out", 1), Echo("b", "x/in/v", "x/b/out", 2)]
    )
    assert [p.name for p in group.points()] == ["x/in/v", "x/a/out", "x/b/out"]
    assert group.scan(0.0, {"x/in/v": Sample(10.0)}) == {"x/a/out": 11.0, "x/b/out": 12.0}
    state = group.snapshot()
    group.scan(1.0, {"x/in/v": Sample(0.0)})
    group.restore(state)
    assert [m.scans for m in group.members] == [1, 1]
    with pytest.raises(ValueError, match="lacks"):
        group.restore({"a": {"scans": 0}})


def test_two_writers_of_one_output_or_mixed_periods_are_refused():
    with pytest.raises(ValueError, match="one writer"):
        ControllerGroup("g", [Echo("a", "x/in/v", "x/o/v", 1), Echo("b", "x/in/w", "x/o/v", 2)])
    with pytest.raises(ValueError, match="one writer"):  # b reads what a writes
        ControllerGroup("g", [Echo("a", "x/in/v", "x/o/v", 1), Echo("b", "x/o/v", "x/p/v", 2)])
    with pytest.raises(ValueError, match="periods"):
        ControllerGroup(
            "g", [Echo("a", "x/in/v", "x/a/v", 1), Echo("b", "x/in/v", "x/b/v", 1, 2.0)]
        )
    with pytest.raises(ValueError, match="no controllers"):
        ControllerGroup("g", [])
