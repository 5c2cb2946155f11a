"""A check carries its threshold as a parsed `Limit`: every rule k6, Artillery and perfdash's own
profiles write reads into one, stored checks come back with it (old summaries included), the
producers' limits agree with their text, and no module reads a check's threshold text again.
"""

from __future__ import annotations

import ast
import json
import math
import shutil
from pathlib import Path

import pytest

from perfdash.analyze.summary import reanalyse
from perfdash.analyze.summary_shape import shape_problem
from perfdash.check import ZERO, Check, share_limit, stored_limit
from perfdash.thresholds import Limit, make_threshold, parse_limit, parse_rule
from perfdash.ui.result.chart_data import p95_threshold

from .conftest import ROOT

PACKAGE = ROOT / "perfdash"
DATA = ROOT / "tests" / "data"


# --- the grammar ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "stat", "op", "value"), [
    # k6 (options.thresholds and profiles.toml [thresholds.k6]): every stat of its four metric types
    ("p(95)<500", "p(95)", "<", 500.0),
    ("p(95) < 500", "p(95)", "<", 500.0),
    ("p(99.9)<1500", "p(99.9)", "<", 1500.0),
    ("p(90)<=300", "p(90)", "<=", 300.0),
    ("avg<200", "avg", "<", 200.0),
    ("med<=150", "med", "<=", 150.0),
    ("min>0", "min", ">", 0.0),
    ("max<2000", "max", "<", 2000.0),
    ("rate<0.01", "rate", "<", 0.01),
    ("rate>=0.99", "rate", ">=", 0.99),
    ("count==0", "count", "==", 0.0),
    ("count!=0", "count", "!=", 0.0),
    ("count<1e3", "count", "<", 1000.0),
    ("value>-1", "value", ">", -1.0),
    # Artillery (profiles.toml [thresholds.artillery], its report's stats)
    ("p95<800", "p95", "<", 800.0),
    ("p999<3000", "p999", "<", 3000.0),
    ("mean<=120.5", "mean", "<=", 120.5),
])
def test_tool_thresholds_read_into_a_limit(text: str, stat: str, op: str, value: float) -> None:
    for parse in (parse_rule, parse_limit):
        limit = parse(text)
        assert limit is not None, (parse.__name__, text)
        assert (limit.stat, limit.op, limit.value, limit.unit, limit.text) == (stat, op, value, "", text)


@pytest.mark.parametrize(("text", "stat", "op", "value", "unit"), [
    # Artillery's config.ensure lines, as its plugin records them and stdout prints them
    ("p95 < 200", "p95", "<", 200.0, ""),
    ("http.response_time.p95 < 250", "http.response_time.p95", "<", 250.0, ""),
    ("maxErrorRate < 5", "maxErrorRate", "<", 5.0, ""),
    ("vusers.failed == 0", "vusers.failed", "==", 0.0, ""),
    # perfdash's own rules: a unit, or no stat at all
    ("p95 <= 80%", "p95", "<=", 80.0, "%"),
    ("peak <= 90%", "peak", "<=", 90.0, "%"),
    ("mean <= 100 ms", "mean", "<=", 100.0, "ms"),
    ("<= 500 ms", "", "<=", 500.0, "ms"),
    ("== 0", "", "==", 0.0, ""),
    (">= 99%", "", ">=", 99.0, "%"),
    ("<= 0.05", "", "<=", 0.05, ""),
    ("> 0", "", ">", 0.0, ""),
])
def test_perfdash_and_ensure_rules_read_into_a_limit(text: str, stat: str, op: str, value: float,
                                                     unit: str) -> None:
    limit = parse_limit(text)
    assert limit == Limit(stat, op, value, unit, text)


@pytest.mark.parametrize("text", [
    "", "none on large tables", "> 0 successful", "all 2xx", "0 or 105",
    "<= 80% of max_connections", "count===0", "p(95)<", "p(95)<<5", "p(95)<5 apples",
    "http.response_time.p99 < 100 and http.request_rate > 10", "p(95)<1e999",
])
def test_prose_and_broken_rules_have_no_limit(text: str) -> None:
    assert parse_limit(text) is None
    assert parse_rule(text) is None


@pytest.mark.parametrize("text", ["p95 <= 80%", "== 0", ">= 99%", "mean <= 100 ms", "P95<5"])
def test_a_tool_threshold_names_a_tool_stat_and_no_unit(text: str) -> None:
    assert parse_rule(text) is None


def test_a_threshold_is_its_limit() -> None:
    t = make_threshold("k6", "http_req_duration", "p(95) < 500", "profiles.toml")
    assert t is not None
    assert t.expression == "p(95)<500"
    assert t.limit == Limit("p(95)", "<", 500.0, "", "p(95)<500")
    assert (t.stat, t.op, t.value) == ("p(95)", "<", 500.0)
    assert t.holds(499.9)
    assert not t.holds(500.0)


def test_limit_compares_and_converts() -> None:
    at_most = Limit("p(95)", "<=", 500.0)
    assert at_most.holds(500.0)
    assert not at_most.holds(500.1)
    assert at_most.margin(600.0) == 100.0
    assert not at_most.is_minimum
    at_least = Limit("rate", ">=", 0.99)
    assert at_least.is_minimum
    assert at_least.margin(0.95) == pytest.approx(0.04)
    assert Limit("", "!=", 0.0).margin(3.0) is None
    assert Limit("", ">=", 99.0, "%").on_scale("ratio") == pytest.approx(0.99)
    assert Limit("", ">=", 0.99, "ratio").on_scale("%") == pytest.approx(99.0)
    assert Limit("", "<=", 80.0, "%").on_scale("%") == 80.0
    assert Limit("p(95)", "<", 500.0).on_scale("ms") == 500.0


def test_limit_json_round_trip_and_refusals() -> None:
    limit = Limit("p(95)", "<", 500.0, "", "p(95)<500")
    assert Limit.from_json(json.loads(json.dumps(limit.to_json()))) == limit
    assert Limit.from_json({"op": "<", "value": 3}) == Limit("", "<", 3.0)
    for bad in ({"op": "=<", "value": 1}, {"op": "<", "value": True}, {"op": "<", "value": "5"},
                {"op": "<", "value": math.nan}, {"op": "<"}, {}):
        assert Limit.from_json(bad) is None, bad


# --- checks carry it, and stored checks come back with it -------------------------------------------

def test_a_check_round_trips_through_json_with_its_limit() -> None:
    check = Check("k6.http_req_duration.p(95)", "k6 http_req_duration p(95)", "fail", 612.4,
                  "p(95)<500", "profiles.toml", "k6: crossed", "ms",
                  Limit("p(95)", "<", 500.0, "", "p(95)<500"))
    stored = json.loads(json.dumps(check.to_json()))
    assert stored["threshold"] == "p(95)<500"  # older readers keep their text
    assert stored["limit"] == {"stat": "p(95)", "op": "<", "value": 500.0, "unit": "", "text": "p(95)<500"}
    assert Check.from_json(stored) == check
    prose = Check.not_measured("db.seq_scans", "Database sequential scans", "no report",
                               "none on large tables")
    assert prose.to_json()["limit"] is None
    assert Check.from_json(prose.to_json()) == prose


def test_a_stored_limit_wins_over_the_text() -> None:
    """Text is for display: a check written with a limit, or with none, is not read again."""
    written = {"threshold": "p(95)<500", "limit": Limit("p(95)", "<", 400.0).to_json()}
    assert stored_limit(written) == Limit("p(95)", "<", 400.0)
    assert stored_limit({"threshold": "p(95)<500", "limit": None}) is None


def test_a_summary_written_before_limits_has_its_text_read_once_at_load() -> None:
    legacy = {"id": "host.cpu", "name": "Host CPU headroom", "status": "warn", "value": 91.0,
              "threshold": "p95 <= 80%", "source": "profile smoke [host]", "detail": "", "unit": "%"}
    assert Check.from_json(legacy).limit == Limit("p95", "<=", 80.0, "%", "p95 <= 80%")
    assert stored_limit({"threshold": None}) is None
    with pytest.raises(TypeError, match="'threshold'"):
        Check.from_json({k: v for k, v in legacy.items() if k != "threshold"})


def test_the_shape_check_accepts_a_limit_and_refuses_a_broken_one() -> None:
    summary = json.loads((DATA / "smoke-pass" / "summary.json").read_text())
    assert shape_problem(summary) is None
    summary["checks"][0]["limit"] = Limit("p(95)", "<", 500.0, "", "p(95)<500").to_json()
    summary["checks"][1]["limit"] = None
    assert shape_problem(summary) is None
    summary["checks"][0]["limit"] = {"op": "<", "value": "500"}
    assert "limit" in str(shape_problem(summary))


def test_producers_limits_say_what_their_text_says(tmp_path: Path) -> None:
    """Every check of a real run, judged again: the limit its producer built is the rule its text
    states (same operator, same number on the check's scale), and text without a rule has none."""
    run = tmp_path / "run"
    shutil.copytree(DATA / "smoke-full", run)
    summary, problem = reanalyse(run)
    assert problem is None
    assert summary is not None
    checks = summary["checks"]
    assert len(checks) > 10
    with_limit = 0
    for c in checks:
        assert "limit" in c, c["id"]
        built, read = stored_limit(c), parse_limit(c["threshold"])
        if read is None:
            assert built is None, c["id"]
            continue
        with_limit += 1
        assert built is not None, c["id"]
        unit = c.get("unit") or ""
        assert built.op == read.op, c["id"]
        assert built.on_scale(unit) == pytest.approx(read.on_scale(unit)), c["id"]
    assert with_limit >= 8
    # The chart's p95 line is the same from the limits as from an old summary's text.
    legacy = {**summary, "checks": [{k: v for k, v in c.items() if k != "limit"} for c in checks]}
    assert p95_threshold(summary) == p95_threshold(legacy) == 500.0


def test_helpers_build_the_rules_perfdash_writes() -> None:
    assert parse_limit("== 0") == ZERO
    assert share_limit("p95", 80.0) == parse_limit("p95 <= 80%")
    assert share_limit("peak", 90.0).holds(90.0)


# --- nothing reads a check's threshold text after the verdict ------------------------------------

# Where threshold text may still be taken apart: the grammar itself and the one place stored checks
# come back (perfdash.check, for summaries written before checks carried a limit).
PARSER_MODULES = {"thresholds.py", "check.py"}
# Callees that take text apart: the re module and compiled patterns, str splitting, any parse_*.
_TEXT_SPLITTERS = {"match", "fullmatch", "search", "findall", "finditer", "sub", "subn", "split",
                   "rsplit", "partition", "rpartition", "splitlines"}


def _reads_threshold(node: ast.AST) -> bool:
    """`x.threshold`, `x["threshold"]` or `x.get("threshold")` anywhere under node."""
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute) and n.attr == "threshold":
            return True
        if (isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Constant)
                and n.slice.value == "threshold"):
            return True
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "get"
                and n.args and isinstance(n.args[0], ast.Constant) and n.args[0].value == "threshold"):
            return True
    return False


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def threshold_parsers(source: str) -> list[int]:
    """Lines where threshold text is handed to a regex, a split or a parse function."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _callee(node)
        is_re = (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                 and node.func.value.id == "re")
        if (is_re or name in _TEXT_SPLITTERS or name.startswith("parse")) and _reads_threshold(node):
            found.append(node.lineno)
    return found


@pytest.mark.parametrize("snippet", [
    'found = _P95.search(str(check.get("threshold") or ""))',
    'limit = parse_threshold(check.get("threshold"))',
    'op, _, number = c.threshold.partition("<")',
    'm = re.match(r"(\\w+)([<>]=?)(\\d+)", check["threshold"])',
    'parts = (t.threshold or "").split("<")',
])
def test_the_guard_sees_threshold_parsing(snippet: str) -> None:
    assert threshold_parsers(snippet) == [1]


def test_the_guard_leaves_display_and_limits_alone() -> None:
    assert threshold_parsers('text.append(f" against {check[\'threshold\']}")\n'
                             'limit = stored_limit(check)\nparts = name.split(".")') == []


def test_no_module_parses_a_checks_threshold_text() -> None:
    offenders = [f"{path.relative_to(ROOT)}:{line}"
                 for path in sorted(PACKAGE.rglob("*.py")) if path.name not in PARSER_MODULES
                 or path.parent != PACKAGE
                 for line in threshold_parsers(path.read_text(encoding="utf-8"))]
    assert offenders == [], "read check.limit (perfdash.check.stored_limit for a stored check) instead"


def test_only_where_a_rule_is_written_is_text_parsed() -> None:
    """parse_limit is called by the grammar, the loader of old summaries and the Artillery ensure
    lines (text Artillery writes, read where the check is built); nowhere after a verdict."""
    allowed = {"perfdash/thresholds.py", "perfdash/check.py", "perfdash/tools/artillery/checks.py"}
    callers = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.Call) and _callee(n) == "parse_limit" for n in ast.walk(tree)):
            callers.add(str(path.relative_to(ROOT)))
    assert callers <= allowed, callers - allowed
