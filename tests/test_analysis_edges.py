"""Analysis of broken or partial artifacts: a missing metric, an empty CSV, truncated JSON, a
killed Artillery — each gives "not measured" with a reason, never a crash and never a pass.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from perfdash.analyze.summary import RunRecord, collect_checks, reanalyse
from perfdash.analyze.verdict import overall_status
from perfdash.artifacts import RunPaths
from perfdash.settings import load_settings

from .conftest import ROOT

FIXTURE = ROOT / "tests" / "data" / "smoke-pass"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    target = tmp_path / "20261125T000000Z"
    shutil.copytree(FIXTURE, target)
    return target


def checks_of(run_dir: Path, record: RunRecord | None = None) -> dict[str, dict[str, object]]:
    profile = load_settings(ROOT).profile("smoke")
    record = record or RunRecord(started_at=datetime.now(UTC), load_started=True)
    return {c.id: c.to_json() for c in collect_checks(RunPaths(run_dir, "smoke"), profile, record)}


def test_fixture_run_passes_as_is(run_dir: Path) -> None:
    checks = checks_of(run_dir)
    assert checks["k6.http_req_duration.p(95)"]["status"] == "pass"
    # The fixture predates db-connections.csv: that one check says so, the rest are measured.
    unmeasured = {k for k, c in checks.items() if c["status"] == "not measured"}
    assert unmeasured == {"db.connections"}
    assert "db-connections.csv has no samples" in str(checks["db.connections"]["detail"])


def test_truncated_k6_report_is_not_measured(run_dir: Path) -> None:
    path = run_dir / "k6-smoke.json"
    path.write_text(path.read_text()[:500])
    checks = checks_of(run_dir)
    k6 = {k: v for k, v in checks.items() if k.startswith("k6.")}
    assert k6
    for check in k6.values():
        assert check["status"] == "not measured"
        assert "not valid JSON" in str(check["detail"])


def test_missing_metric_is_not_measured_with_its_name(run_dir: Path) -> None:
    path = run_dir / "k6-smoke.json"
    data = json.loads(path.read_text())
    del data["metrics"]["http_req_failed"]
    path.write_text(json.dumps(data))
    check = checks_of(run_dir)["k6.http_req_failed.rate"]
    assert check["status"] == "not measured"
    assert "no metric 'http_req_failed'" in str(check["detail"])


def test_empty_metrics_csv_is_not_measured(run_dir: Path) -> None:
    (run_dir / "metrics.csv").write_text("")
    checks = checks_of(run_dir)
    assert checks["host.cpu"]["status"] == "not measured"
    assert "metrics.csv has no samples" in str(checks["host.cpu"]["detail"])


def test_header_only_metrics_csv_names_the_collector_error(run_dir: Path) -> None:
    (run_dir / "metrics.csv").write_text("timestamp,elapsed_s,cpu_pct,mem_pct,load1\n")
    record = RunRecord(started_at=datetime.now(UTC), load_started=True,
                       not_measured={"metrics": "metrics collector stopped: disk full"})
    check = checks_of(run_dir, record)["host.cpu"]
    assert check["status"] == "not measured"
    assert "disk full" in str(check["detail"])


def test_killed_artillery_uses_progress_lines_and_never_passes(run_dir: Path) -> None:
    report = json.loads((run_dir / "artillery-smoke.json").read_text())
    (run_dir / "artillery-smoke.json").unlink()
    window = report["intermediate"][0]
    (run_dir / "artillery-progress.ndjson").write_text(
        json.dumps({"type": "intermediate", "counters": window["counters"],
                    "summaries": window["summaries"], "rates": window.get("rates", {})})
        + "\n" + '{"type": "intermed')  # the last line was cut by the kill
    checks = checks_of(run_dir)
    p95 = checks["artillery.http.response_time.p95"]
    assert p95["value"] is not None
    assert p95["status"] == "not measured"  # a partial window cannot prove a pass
    assert "recorded progress" in str(p95["detail"])


def test_missing_query_analysis_is_not_measured_and_run_is_incomplete(run_dir: Path) -> None:
    (run_dir / "query-analysis.json").unlink()
    record = RunRecord(started_at=datetime.now(UTC), load_started=True,
                       not_measured={"database": "permission denied for view pg_stat_statements"})
    profile = load_settings(ROOT).profile("smoke")
    checks = collect_checks(RunPaths(run_dir, "smoke"), profile, record)
    slow = next(c for c in checks if c.id == "db.slow_queries")
    assert slow.status == "not measured"
    assert "permission denied" in slow.detail
    assert overall_status(checks) == "incomplete"


def test_reanalyse_of_a_broken_summary_says_why(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text('{"status": "pa')
    summary, problem = reanalyse(tmp_path)
    assert summary is None
    assert problem is not None
    assert "not valid JSON" in problem
