"""A reader never crashes on its input: every artifact `perfdash show` reads (and the database
activity reader the diagnosis uses) is fed mutated versions of real artifacts: a value of another
type anywhere in a JSON tree, a key or element gone, a CSV cell or line changed, a file cut short
or with a byte flipped. Whatever the mutation, `show --json` and `show --headless` (run in-process
through `perfdash.cli.main`) answer with an exit code (0/1 a verdict, 2/3 one sentence) and no
exception escapes. The number of examples is bounded so the whole file takes a few seconds;
PERFDASH_FUZZ_EXAMPLES raises it for a longer hunt.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfdash.artifacts import read_samples
from perfdash.cli import main

from .conftest import ROOT

DATA = ROOT / "tests" / "data"
EXAMPLES = int(os.environ.get("PERFDASH_FUZZ_EXAMPLES", "6"))
# (run directory, artifact): every reader `show` reaches, on a passing, a failing and a full run.
ARTIFACTS = [
    *((run, name) for run in ("smoke-pass", "smoke-fail")
      for name in ("summary.json", "query-analysis.json", "metrics.csv", "k6-smoke.json",
                   "artillery-smoke.json")),
    *(("smoke-full", name) for name in (
        "summary.json", "query-analysis.json", "metrics.csv", "timeline.csv",
        "timeline-markers.ndjson", "db-activity.ndjson", "db-connections.csv",
        "applog-endpoints.json", "k6-smoke.json", "artillery-smoke.json")),
]

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats()
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=6)
CELLS = (st.text(max_size=8) | st.integers(-(2**40), 2**40).map(str)
         | st.sampled_from(["", "nan", "inf", "-inf", "-1", "1e308", "0", "x"]))


def _places(tree: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value in a JSON tree (bounded: a big report has thousands)."""
    out = [path]
    if isinstance(tree, dict):
        for key, value in tree.items():
            out += _places(value, (*path, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree[:5]):
            out += _places(value, (*path, i))
    return out


def _mutate_json(data: st.DataObject, tree: Any) -> Any:
    path = data.draw(st.sampled_from(_places(tree)), label="where")
    if not path:
        return data.draw(JSON_VALUES, label="the whole file")
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    how = data.draw(st.sampled_from(["replace", "drop", "wrap", "rename"]), label="how")
    if how == "drop":
        del parent[path[-1]]
    elif how == "rename" and isinstance(parent, dict):
        parent[data.draw(st.text(max_size=8), label="new key")] = parent.pop(path[-1])
    elif how == "wrap":
        parent[path[-1]] = [parent[path[-1]]]
    else:
        parent[path[-1]] = data.draw(JSON_VALUES, label="value")
    return tree


def _mutate_lines(data: st.DataObject, text: str, ndjson: bool) -> str:
    lines = text.splitlines() or [""]
    i = data.draw(st.integers(0, len(lines) - 1), label="line")
    how = data.draw(st.sampled_from(["cell", "drop", "repeat", "junk"]), label="how")
    if how == "cell" and ndjson:
        try:
            lines[i] = json.dumps(_mutate_json(data, json.loads(lines[i])))
        except ValueError:
            lines[i] = data.draw(st.text(max_size=20))
    elif how == "cell":
        cells = lines[i].split(",")
        j = data.draw(st.integers(0, len(cells) - 1), label="cell")
        cells[j] = data.draw(CELLS, label="value")
        lines[i] = ",".join(cells)
    elif how == "drop":
        del lines[i]
    elif how == "repeat":
        lines.insert(i, lines[i])
    else:
        lines[i] = data.draw(st.text(max_size=30), label="junk")
    return "\n".join(lines) + "\n"


def _mutated(data: st.DataObject, original: bytes, name: str) -> bytes:
    how = data.draw(st.sampled_from(["structure", "structure", "structure", "cut", "byte"]),
                    label="mutation")
    if how == "cut":
        return original[:data.draw(st.integers(0, max(0, len(original) - 1)), label="cut at")]
    if how == "byte":
        at = data.draw(st.integers(0, max(0, len(original) - 1)), label="byte at")
        return original[:at] + bytes([data.draw(st.integers(0, 255))]) + original[at + 1:]
    text = original.decode()
    if name.endswith(".json"):
        tree = _mutate_json(data, json.loads(text))
        return json.dumps(tree, allow_nan=True).encode()
    return _mutate_lines(data, text, name.endswith(".ndjson")).encode()


def _show(run: Path, how: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["show", how, str(run)])
    return code, err.getvalue()


@pytest.mark.parametrize(("run", "name"), ARTIFACTS)
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_show_never_crashes_on_a_mutated_artifact(run: str, name: str,
                                                  data: st.DataObject) -> None:
    original = (DATA / run / name).read_bytes()
    mutated = _mutated(data, original, name)
    how = data.draw(st.sampled_from(["--json", "--headless"]), label="show")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(shutil.copytree(DATA / run, Path(tmp) / "run"))
        (copy / name).write_bytes(mutated)
        code, err = _show(copy, how)  # an exception escaping fails the test with its traceback
    assert code in (0, 1, 2, 3), err
    if code in (2, 3):
        assert len(err.strip().splitlines()) <= 2, err  # a sentence, not a dump


@settings(max_examples=EXAMPLES * 4, deadline=None, database=None)
@given(data=st.data())
def test_the_database_activity_reader_never_crashes(data: st.DataObject) -> None:
    original = (DATA / "smoke-full" / "db-activity.ndjson").read_bytes()
    mutated = _mutated(data, original, "db-activity.ndjson")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "db-activity.ndjson"
        path.write_bytes(mutated)
        samples = read_samples(path)
    for sample in samples:
        assert isinstance(sample, dict)
        assert math.isfinite(sample["at"]) or isinstance(sample["at"], float)
