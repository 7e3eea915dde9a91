"""Mapping files (point name <-> NodeId): round trip, and errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.opcua.mapping import MappingError, read_mapping, write_mapping

MAPPING = {
    "agri/DT-H01-P1/soil_vwc": "ns=2;s=agri/DT-H01-P1/soil_vwc",
    "agri/DT-H01-P1/valve_open": "ns=3;s=Valve,1",  # a comma: CSV-quoted
    "flood/P03/level_m": "nsu=urn:dongha-twin;s=flood/P03/level_m",
    "tls/J07/det/e12_0/count": "ns=4;i=1001",
}


def test_round_trip_keeps_order_and_quoting(tmp_path: Path) -> None:
    path = write_mapping(tmp_path / "map.csv", MAPPING, comment="device DT-H01\nsecond line")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# device DT-H01\n# second line\npoint,node_id\n")
    assert '"ns=3;s=Valve,1"' in text
    back = read_mapping(path)
    assert back == MAPPING
    assert list(back) == list(MAPPING)


def test_comments_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "# a comment\n\npoint,node_id\n# between\nagri/X/a, ns=2;s=agri/X/a \n\n",
        encoding="utf-8",
    )
    assert read_mapping(path) == {"agri/X/a": "ns=2;s=agri/X/a"}


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("point,nodeid\n", 1, "header"),
        ("# c\npoint,node_id\nagri/X/a\n", 3, "2 fields"),
        ("point,node_id\nagri/X/a,ns=2;s=a,extra\n", 2, "2 fields"),
        ("point,node_id\nagri/X/a,ns=2;s=a\nbad name,ns=2;s=b\n", 3, "invalid point name"),
        ("point,node_id\nagri/X/a,ns=2;q=zz\n", 2, "not a NodeId"),
        ("point,node_id\nagri/X/a,\n", 2, "empty NodeId"),
        ("point,node_id\nagri/X/a,ns=2;s=a\nagri/X/a,ns=2;s=b\n", 3, "first at line 2"),
        ("point,node_id\nagri/X/a,ns=2;s=a\nagri/X/b,ns=2;s=a\n", 3, "mapped twice"),
        ("# only a comment\n", 1, "empty mapping file"),
    ],
)
def test_errors_name_the_line(tmp_path: Path, body: str, line: int, words: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(MappingError, match=rf"bad\.csv:{line}: .*{words}"):
        read_mapping(path)


def test_missing_file_and_bad_entries_on_write(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="no such mapping file"):
        read_mapping(tmp_path / "absent.csv")
    target = tmp_path / "w.csv"
    with pytest.raises(MappingError, match="entry 2"):
        write_mapping(target, {"agri/X/a": "ns=2;s=a", "agri/X/b": "not a node id"})
    with pytest.raises(MappingError, match="mapped twice"):
        write_mapping(target, {"agri/X/a": "ns=2;s=a", "agri/X/b": "ns=2;s=a"})
    assert not target.exists()
