"""summary.md, junit.xml and incident.md from the artifacts of two real demo runs (one passing, one
with a p(95) threshold set to fail), and from broken copies of them made in tmp_path.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from perfdash.analyze.breach import breach_of
from perfdash.analyze.reports import incident_markdown, junit_xml, summary_markdown, write_reports
from perfdash.thresholds import Limit, parse_limit

DATA = Path(__file__).parent / "data"
PASS, FAIL = DATA / "smoke-pass", DATA / "smoke-fail"


def load(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    return data


def copy_run(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def k6_p95(run_dir: Path) -> float:
    value: float = json.loads((run_dir / "k6-smoke.json").read_text())["metrics"][
        "http_req_duration"]["p(95)"]
    return value


def test_summary_markdown_of_the_passing_run() -> None:
    summary = load(PASS)
    md = summary_markdown(summary, PASS)
    assert md.startswith("# ✅ PASS — perfdash smoke on demo\n")
    assert summary["run_id"] in md
    assert f"{summary['duration_s']} s" in md
    for check in summary["checks"]:
        assert check["name"] in md
    assert "| ✅ pass | k6 http_req_duration p(95) | " in md
    assert "| k6 http_req_duration | " in md
    assert f"{k6_p95(PASS):.1f} ms" in md
    assert "| Artillery http.response_time |" in md
    assert "| Artillery socketio.response_time |" in md
    assert "CREATE INDEX ON orders (customer_id)" in md  # the seq-scan hint
    assert "| orders |" in md
    assert "pg_sleep" in md
    assert "[k6-smoke.json](k6-smoke.json)" in md
    assert "[metrics.csv](metrics.csv)" in md
    assert "incident.md" not in md


def test_summary_markdown_of_the_failing_run_points_to_the_incident() -> None:
    md = summary_markdown(load(FAIL), FAIL)
    assert md.startswith("# ❌ FAIL")
    assert "| ❌ fail | k6 http_req_duration p(95) | 35.8 ms | p(95)<0.001 |" in md
    assert "[incident.md](incident.md)" in md
    assert "k6: exit 99" in md  # how the tool ended, with its last stderr line
    assert "thresholds on metrics 'http_req_duration' have been crossed" in md


def test_summary_markdown_skips_missing_and_truncated_artifacts_with_a_note(tmp_path: Path) -> None:
    run = copy_run(PASS, tmp_path)
    (run / "k6-smoke.json").unlink()
    text = (run / "artillery-smoke.json").read_text()
    (run / "artillery-smoke.json").write_text(text[: len(text) // 2])
    (run / "query-analysis.json").write_text("")
    md = summary_markdown(load(run), run)
    assert "k6 percentiles skipped: k6-smoke.json is missing." in md
    assert "Artillery percentiles skipped: artillery-smoke.json is not valid JSON (truncated?)" in md
    assert "Database findings skipped: query-analysis.json is empty." in md
    assert "[k6-smoke.json]" not in md
    assert "k6-smoke.json" in md.split("Not written in this run")[1]


def test_summary_markdown_says_nothing_about_a_tool_the_profile_does_not_use(tmp_path: Path) -> None:
    run = copy_run(PASS, tmp_path)
    (run / "artillery-smoke.json").unlink()
    summary = load(run)
    summary["configuration"]["profile"]["artillery_script"] = None
    md = summary_markdown(summary, run)
    assert "Artillery percentiles skipped" not in md
    assert "| k6 http_req_duration |" in md


def test_summary_markdown_survives_an_empty_summary(tmp_path: Path) -> None:
    md = summary_markdown({}, tmp_path)
    assert "No check was evaluated." in md
    assert "percentiles skipped" in md


def test_junit_has_one_testcase_per_check_and_counts_failures() -> None:
    summary = load(FAIL)
    suite = ET.fromstring(junit_xml(summary))
    cases = suite.findall("testcase")
    failed = [c for c in summary["checks"] if c["status"] == "fail"]
    assert suite.tag == "testsuite"
    assert suite.get("name") == "perfdash smoke"
    assert len(cases) == len(summary["checks"]) == int(suite.get("tests", "-1"))
    assert int(suite.get("failures", "-1")) == len(failed) == len(suite.findall("testcase/failure")) == 1
    assert suite.get("errors") == "0"
    assert suite.get("skipped") == "0"
    assert suite.get("time") == str(summary["duration_s"])
    failure = cases[0].find("failure")
    assert cases[0].get("classname") == "perfdash.k6"
    assert cases[0].get("name") == "k6 http_req_duration p(95)"
    assert failure is not None
    assert failure.get("message") == "35.8 ms vs p(95)<0.001"
    assert "k6: crossed" in (failure.text or "")
    warned = next(c for c in cases if c.get("name") == "Host CPU headroom")
    assert warned.find("failure") is None
    assert warned.find("error") is None
    assert "warning" in (warned.findtext("system-out") or "")


def test_junit_of_the_passing_run_has_no_failures() -> None:
    suite = ET.fromstring(junit_xml(load(PASS)))
    assert suite.get("failures") == "0"
    assert suite.get("errors") == "0"
    assert {c.get("classname") for c in suite.findall("testcase")} == {
        "perfdash.k6", "perfdash.artillery", "perfdash.host", "perfdash.db"}


def test_junit_reports_not_measured_checks_as_errors() -> None:
    summary = load(PASS)
    summary["status"] = "incomplete"
    summary["checks"][0] = {**summary["checks"][0], "status": "not measured", "value": None,
                            "detail": "k6-smoke.json is missing"}
    suite = ET.fromstring(junit_xml(summary))
    assert suite.get("errors") == "1"
    assert suite.get("failures") == "0"
    error = suite.findall("testcase")[0].find("error")
    assert error is not None
    assert error.get("message") == "not measured: k6-smoke.json is missing"
    assert len(suite.findall("testcase")) == len(summary["checks"])  # no extra run case


@pytest.mark.parametrize("status", ["incomplete", "interrupted"])
def test_junit_never_shows_a_run_that_proved_nothing_green(status: str) -> None:
    summary = {"status": status, "profile": "load", "checks": [],
               "problems": [{"what": "preflight: backend not reachable", "fix": "start it"}]}
    suite = ET.fromstring(junit_xml(summary))
    assert suite.get("tests") == "1"
    assert suite.get("errors") == "1"
    error = suite.find("testcase/error")
    assert error is not None
    assert status in (error.get("message") or "")
    assert "backend not reachable" in (error.get("message") or "")


def test_junit_escapes_names_and_drops_control_characters() -> None:
    check = {"id": "k6.x", "name": 'k6 <weird> & "quoted" \x1b[31m', "status": "fail", "value": 2,
             "unit": "", "threshold": "count<1", "source": "s", "detail": "a < b & c\x00"}
    suite = ET.fromstring(junit_xml({"status": "fail", "checks": [check]}))
    case = suite.find("testcase")
    assert case is not None
    assert case.get("name") == 'k6 <weird> & "quoted" [31m'
    assert "a < b & c" in (case.findtext("failure") or "")


def test_no_incident_for_a_run_that_did_not_breach(tmp_path: Path) -> None:
    assert incident_markdown(load(PASS), PASS) is None
    for status in ("incomplete", "interrupted"):
        assert incident_markdown({**load(PASS), "status": status}, PASS) is None


def test_incident_states_the_p95_overshoot_when_and_where() -> None:
    summary = load(FAIL)
    md = incident_markdown(summary, FAIL)
    assert md is not None
    title = md.splitlines()[0]
    assert title.startswith("# Performance thresholds breached on demo (smoke): ")
    assert "k6 http_req_duration p(95) 35.8 ms vs p(95)<0.001" in title
    measured = next(c["value"] for c in summary["checks"] if c["status"] == "fail")
    assert ("measured 35.8 ms against `p(95)<0.001` (limit 0.001 ms): 35.8 ms over "
            f"({(measured - 0.001) / 0.001 * 100:,.0f}% over, {measured / 0.001:,.0f}× the limit)") in md
    assert f"Started: {summary['started_at']}" in md
    assert f"Ended: {summary['ended_at']}" in md
    for link in ("[k6-smoke.json](k6-smoke.json)", "[k6.stderr.log](k6.stderr.log)",
                 "[metrics.csv](metrics.csv)", "[query-analysis.json](query-analysis.json)",
                 "[summary.md](summary.md)"):
        assert link in md
    assert "artillery-smoke.json" not in md.split("## Evidence")[1].split("##")[0]  # k6 breached
    causes = md.split("## Possible causes")[1]
    assert "CREATE INDEX ON orders (customer_id)" in causes
    assert "pg_sleep" in causes
    assert "Host CPU headroom" in causes  # the host was saturated: a cause, too


@pytest.mark.parametrize(("threshold", "value", "unit", "distance", "pct"), [
    ("p(95)<500", 600.0, "ms", 100.0, 20.0),
    ("p95<800", 1000.0, "ms", 200.0, 25.0),
    ("rate>=0.99", 0.95, "ratio", 0.04, 4.0404),
    ("rate<0.01", 0.05, "ratio", 0.04, 400.0),
    ("count==0", 3.0, "", 3.0, None),
    ("p95 <= 80%", 90.0, "%", 10.0, 12.5),
    (">= 99%", 0.95, "ratio", 0.04, 4.0404),
    ("> 0", 0.0, "", 0.0, None),
])
def test_breach_distance_and_percentage(threshold: str, value: float, unit: str, distance: float,
                                        pct: float | None) -> None:
    breach = breach_of({"threshold": threshold, "value": value, "unit": unit})
    assert breach is not None
    assert breach.distance == pytest.approx(distance)
    assert breach.pct == (None if pct is None else pytest.approx(pct, abs=1e-3))


def test_prose_thresholds_have_no_breach() -> None:
    assert parse_limit("none on large tables") is None
    assert breach_of({"threshold": "p(95)<500", "value": None}) is None
    assert breach_of({"threshold": "none on large tables", "value": 3, "limit": None}) is None
    limit = parse_limit("mean <= 100 ms")
    assert limit is not None
    assert (limit.stat, limit.op, limit.value, limit.unit) == ("mean", "<=", 100.0, "ms")


def test_breach_reads_the_stored_limit_not_the_text() -> None:
    """A summary that carries a limit is measured against it: the text is only for display."""
    stored = Limit("p(95)", "<", 400.0, "", "p(95)<400").to_json()
    breach = breach_of({"threshold": "p(95)<500", "value": 600.0, "unit": "ms", "limit": stored})
    assert breach is not None
    assert (breach.limit, breach.distance) == (400.0, 200.0)
    ratio = Limit("", ">=", 0.99, "ratio", ">= 99%").to_json()
    breach = breach_of({"threshold": ">= 99%", "value": 0.95, "unit": "ratio", "limit": ratio})
    assert breach is not None
    assert breach.distance == pytest.approx(0.04)


def test_write_reports_writes_all_three_for_a_failing_run(tmp_path: Path) -> None:
    run = copy_run(FAIL, tmp_path)
    paths = write_reports(load(run), run)
    assert [p.name for p in paths] == ["summary.md", "junit.xml", "incident.md"]
    assert all(p.exists() and p.stat().st_mode & 0o644 == 0o644 for p in paths)
    assert not list(run.glob(".*.tmp"))
    ET.parse(run / "junit.xml")


def test_write_reports_removes_a_stale_incident(tmp_path: Path) -> None:
    run = copy_run(PASS, tmp_path)
    (run / "incident.md").write_text("an earlier analysis said this run failed\n")
    paths = write_reports(load(run), run)
    assert [p.name for p in paths] == ["summary.md", "junit.xml"]
    assert not (run / "incident.md").exists()
