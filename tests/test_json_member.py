"""Reading one member of a large JSON object (Artillery's aggregate) without decoding the rest,
with the same answers as reading it whole for every broken file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfdash.artifacts import read_json_member


@pytest.mark.parametrize(("text", "value"), [
    (json.dumps({"aggregate": {"x": "é" * 10}, "intermediate": [1] * 10}), {"x": "é" * 10}),
    (json.dumps({"intermediate": [1, 2], "aggregate": {"x": 1}}), {"x": 1}),  # not first
    ('  {\n  "aggregate" : {"x": 1} ,\n "intermediate": []\n}\n\n', {"x": 1}),
])
def test_the_member_is_read(tmp_path: Path, text: str, value: object) -> None:
    (tmp_path / "r.json").write_text(text)
    assert read_json_member(tmp_path / "r.json", "aggregate") == (value, None)


def test_a_member_larger_than_the_first_read_is_read_whole(tmp_path: Path) -> None:
    big = {"aggregate": {"k": "é" * 2_000_000}, "intermediate": [0] * 1000}  # 4 MB of UTF-8
    (tmp_path / "r.json").write_text(json.dumps(big, ensure_ascii=False))
    value, problem = read_json_member(tmp_path / "r.json", "aggregate")
    assert problem is None
    assert value == big["aggregate"]


@pytest.mark.parametrize(("content", "problem"), [
    (json.dumps({"aggregate": {"x": 1}, "intermediate": [1] * 10})[:-5],
     "r.json is not valid JSON (truncated?)"),
    ("", "r.json is empty"),
    ("[1]", "r.json has no 'aggregate'"),
    (json.dumps({"other": 1}), "r.json has no 'aggregate'"),
    (b'{"aggregate": {"x": "\xff"}}', "r.json is not UTF-8 text (byte 21)"),
])
def test_a_broken_file_gets_a_sentence(tmp_path: Path, content: str | bytes, problem: str) -> None:
    path = tmp_path / "r.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    value, why = read_json_member(path, "aggregate")
    assert value is None
    assert why is not None
    assert why.startswith(problem)


def test_a_missing_file_and_a_fifo(tmp_path: Path) -> None:
    import os

    assert read_json_member(tmp_path / "none.json", "aggregate") == (None, "none.json is missing")
    os.mkfifo(tmp_path / "fifo.json")
    value, why = read_json_member(tmp_path / "fifo.json", "aggregate")
    assert value is None
    assert why is not None
    assert "not a regular file" in why
