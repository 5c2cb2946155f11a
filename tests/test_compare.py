"""Comparing two runs: the artifacts of two real demo runs, and copies of them edited in tmp_path to
make a known regression, a change within tolerance, or an unreadable side.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from perfdash.analyze.compare import (
    CompareError,
    Comparison,
    MetricDelta,
    compare_runs,
    comparison_markdown,
    comparison_table,
    judge,
)

DATA = Path(__file__).parent / "data"
PASS, FAIL = DATA / "smoke-pass", DATA / "smoke-fail"
P95 = "check:k6.http_req_duration.p(95)"


def copy_run(tmp_path: Path, name: str, src: Path = PASS) -> Path:
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def edit_json(path: Path, change: Callable[[Any], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def scale_check(run: Path, check_id: str, factor: float) -> None:
    def change(summary: dict[str, Any]) -> None:
        for c in summary["checks"]:
            if c["id"] == check_id:
                c["value"] *= factor
    edit_json(run / "summary.json", change)


def scale_k6(run: Path, metric: str, stat: str, factor: float) -> None:
    def change(report: dict[str, Any]) -> None:
        report["metrics"][metric][stat] *= factor
    edit_json(run / "k6-smoke.json", change)


def by_key(c: Comparison) -> dict[str, MetricDelta]:
    return {d.key: d for d in c.deltas}


def check_value(run: Path, check_id: str) -> float:
    summary = json.loads((run / "summary.json").read_text())
    value: float = next(c["value"] for c in summary["checks"] if c["id"] == check_id)
    return value


def test_passing_against_failing_fixture_compares_every_check_once() -> None:
    c = compare_runs(PASS, FAIL)
    assert (c.base_run, c.new_run) == ("20261125T151207Z", "20261125T151234Z")
    summary = json.loads((FAIL / "summary.json").read_text())
    keys = by_key(c)
    for check in summary["checks"]:
        assert keys[f"check:{check['id']}"].verdict in ("regressed", "improved", "unchanged")
    p95 = keys[P95]
    assert p95.base == check_value(PASS, "k6.http_req_duration.p(95)")
    assert p95.new == check_value(FAIL, "k6.http_req_duration.p(95)")
    assert "pass → fail" in p95.note
    assert "threshold p(95)<500 → p(95)<0.001" in p95.note
    # Raw figures a check already carries are not repeated; the others are there.
    assert "metric:k6.http_req_duration.p(95)" not in keys
    assert "metric:host.cpu.p95" not in keys
    for key in ("metric:k6.http_req_duration.avg", "metric:k6.http_req_duration.max",
                "metric:k6.http_reqs.rate", "metric:artillery.http.response_time.p50",
                "metric:artillery.errors"):
        assert keys[key].verdict in ("regressed", "improved", "unchanged")
    assert not [d for d in c.deltas if d.verdict in ("added", "removed", "not comparable")]
    assert c.notes == ()


def test_a_run_against_itself_has_nothing_to_report() -> None:
    c = compare_runs(PASS, PASS)
    assert c.regressions == ()
    assert {d.verdict for d in c.deltas} == {"unchanged"}


def test_doubled_p95_is_a_regression_of_100_percent(tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base"), copy_run(tmp_path, "new")
    scale_check(new, "k6.http_req_duration.p(95)", 2)
    scale_k6(new, "http_req_duration", "p(95)", 2)
    c = compare_runs(base, new)
    p95 = by_key(c)[P95]
    assert p95.verdict == "regressed"
    assert p95.better == "lower"
    assert p95.pct == pytest.approx(100.0)
    assert p95.delta == pytest.approx(p95.base)
    assert [d.key for d in c.regressions] == [P95]
    assert by_key(c)["metric:k6.http_req_duration.avg"].verdict == "unchanged"


def test_a_five_percent_change_is_within_a_ten_percent_tolerance(tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base"), copy_run(tmp_path, "new")
    scale_k6(new, "http_req_duration", "p(99)", 1.05)
    key = "metric:k6.http_req_duration.p(99)"
    assert by_key(compare_runs(base, new))[key].verdict == "unchanged"
    tight = by_key(compare_runs(base, new, tolerance_pct=4))[key]
    assert tight.verdict == "regressed"
    assert tight.pct == pytest.approx(5.0)


def test_direction_depends_on_what_is_measured(tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base"), copy_run(tmp_path, "new")

    def change(summary: dict[str, Any]) -> None:
        for c in summary["checks"]:
            if c["id"] == "k6.checks_rate":
                c["value"] = 0.95  # fewer checks pass: worse
            if c["id"] == "k6.http_req_failed.rate":
                c["value"] = 0.05  # more requests fail: worse
    edit_json(new / "summary.json", change)
    scale_k6(new, "http_reqs", "rate", 2)  # more throughput: better
    scale_k6(new, "http_req_duration", "avg", 0.5)  # faster: better
    keys = by_key(compare_runs(base, new))
    assert keys["check:k6.checks_rate"].better == "higher"
    assert keys["check:k6.checks_rate"].verdict == "regressed"
    assert keys["check:k6.http_req_failed.rate"].better == "lower"
    assert keys["check:k6.http_req_failed.rate"].verdict == "regressed"
    assert keys["check:k6.http_req_failed.rate"].pct is None  # from 0: judged on the floor
    assert keys["metric:k6.http_reqs.rate"].verdict == "improved"
    assert keys["metric:k6.http_req_duration.avg"].verdict == "improved"


@pytest.mark.parametrize(("base", "new", "unit", "verdict"), [
    (0.2, 0.3, "ms", "unchanged"),  # +50%, but a tenth of a millisecond
    (0.2, 1.2, "ms", "regressed"),  # +500% and a full millisecond
    (100.0, 109.0, "ms", "unchanged"),
    (100.0, 111.0, "ms", "regressed"),
    (0.0, 1.0, "", "regressed"),  # from no failures to one
    (0.0, 0.0, "", "unchanged"),
    (1.0, 0.0, "", "improved"),
    (0.0, 0.0005, "ratio", "unchanged"),
    (0.0, 0.002, "ratio", "regressed"),
    (10.0, 11.5, "%", "unchanged"),  # +15% of CPU, but 1.5 points
    (10.0, 13.0, "%", "regressed"),
])
def test_noise_floor_and_tolerance(base: float, new: float, unit: str, verdict: str) -> None:
    assert judge(base, new, unit, "lower", 10.0)[2] == verdict


def test_a_truncated_k6_report_makes_its_figures_not_comparable(tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base"), copy_run(tmp_path, "new")
    text = (new / "k6-smoke.json").read_text()
    (new / "k6-smoke.json").write_text(text[:200])
    c = compare_runs(base, new)
    k6 = [d for d in c.deltas if d.key.startswith("metric:k6.")]
    assert len(k6) == 6  # avg, med, p(90), p(99), max, rate; p(95) is the check's
    for d in k6:
        assert d.verdict == "not comparable"
        assert d.note.startswith("new: k6-smoke.json is not valid JSON")
        assert (d.delta, d.pct) == (None, None)
    assert c.regressions == ()


def test_an_unreadable_summary_is_refused(tmp_path: Path) -> None:
    """Without a readable summary nothing says what the run was: refused, never "no regression"."""
    base, new = copy_run(tmp_path, "base"), copy_run(tmp_path, "new")
    (new / "summary.json").write_text('{"schema_version": 1, "checks": [')
    with pytest.raises(CompareError, match=r"new cannot be compared: summary.json is not valid "
                                           r"JSON .*; pass two results/perf/<timestamp>"):
        compare_runs(base, new)


def test_empty_metrics_csv_on_one_side_and_missing_on_both(tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base"), copy_run(tmp_path, "new")
    (new / "metrics.csv").write_text("timestamp,elapsed_s,cpu_pct,mem_pct,load1\n")
    for run in (base, new):  # the host checks would otherwise hide the raw host rows
        edit_json(run / "summary.json", lambda s: s.update(
            checks=[c for c in s["checks"] if not c["id"].startswith("host.")]))
    keys = by_key(compare_runs(base, new))
    assert keys["metric:host.cpu.p95"].verdict == "not comparable"
    assert keys["metric:host.cpu.p95"].note == "new: metrics.csv has no samples"
    (base / "metrics.csv").unlink()
    (new / "metrics.csv").unlink()
    c = compare_runs(base, new)
    assert not [d for d in c.deltas if d.key.startswith("metric:host.")]
    assert any(n.startswith("metrics.csv: not available in either run") for n in c.notes)


def test_a_check_not_measured_on_one_side_is_not_comparable(tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base"), copy_run(tmp_path, "new")

    def change(summary: dict[str, Any]) -> None:
        check = summary["checks"][0]
        check.update(status="not measured", value=None, detail="k6-smoke.json is missing")
    edit_json(new / "summary.json", change)
    d = by_key(compare_runs(base, new))[P95]
    assert d.verdict == "not comparable"
    assert d.note == "new: not measured: k6-smoke.json is missing"


def test_checks_in_one_run_only_are_added_or_removed(tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base"), copy_run(tmp_path, "new")
    edit_json(base / "summary.json", lambda s: s.update(checks=s["checks"][1:]))
    edit_json(new / "summary.json", lambda s: s.update(checks=s["checks"][:-1]))
    keys = by_key(compare_runs(base, new))
    assert keys[P95].verdict == "added"
    assert keys["check:db.seq_scans"].verdict == "removed"


def test_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CompareError, match="is not a run directory"):
        compare_runs(PASS, tmp_path / "nope")


def test_outputs_mark_regressions(tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base"), copy_run(tmp_path, "new")
    scale_check(new, "k6.http_req_duration.p(95)", 2)
    c = compare_runs(base, new)
    data = json.loads(json.dumps(c.to_json()))
    assert data["regressions"] == 1
    assert data["tolerance_pct"] == 10.0
    assert data["deltas"][0]["verdict"] == "regressed"
    table = comparison_table(c)
    assert table.rows[0].style == "bold red"
    console = Console(record=True, width=200)
    console.print(table)
    text = console.export_text()
    assert "k6 http_req_duration p(95)" in text
    assert "+100.0%" in text
    md = comparison_markdown(c)
    assert "**1 regression** beyond ±10%" in md
    assert "| 🔴 regressed | k6 http_req_duration p(95) |" in md
    assert "- **k6 http_req_duration p(95)**:" in md


@pytest.mark.parametrize(("base", "new", "verdict"), [
    (1.0, 0.95, "regressed"),  # from no failing checks to 5%
    (0.999, 0.99, "regressed"),  # ten times as many failing checks, though only 0.9% of the rate
    (0.99, 0.9895, "unchanged"),  # 0.05 points: under the 0.001 floor
    (0.95, 0.99, "improved"),
])
def test_pass_rates_are_judged_on_the_failing_share(base: float, new: float, verdict: str) -> None:
    assert judge(base, new, "ratio", "higher", 10.0)[2] == verdict


def test_slow_queries_without_pg_stat_statements_are_not_comparable(tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base"), copy_run(tmp_path, "new")
    for run in (base, new):  # so the raw count is shown rather than the check
        edit_json(run / "summary.json", lambda s: s.update(
            checks=[c for c in s["checks"] if c["id"] != "db.slow_queries"]))

    def change(report: dict[str, Any]) -> None:
        report["database"]["pg_stat_statements"] = False
        report["slow_queries"] = None
        report["not_measured"] = [{"what": "slow queries", "reason": "pg_stat_statements is not installed"}]
    edit_json(new / "query-analysis.json", change)
    d = by_key(compare_runs(base, new))["metric:db.slow_queries"]
    assert d.verdict == "not comparable"
    assert d.note == "new: pg_stat_statements is not installed"
