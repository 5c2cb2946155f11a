"""Comparing two runs: the artifacts of real demo runs (smoke-pass/smoke-fail, from before the
timeline; compare/aa-base and aa-new, two identical smoke runs with their timelines), and copies of
them edited in tmp_path to make a known regression, a change under the minimum effect, or an
unreadable side. The statistics themselves are tested in test_stats.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from perfdash.analyze.compare import CompareError, Comparison, MetricDelta, compare_runs
from perfdash.analyze.compare_report import comparison_markdown, comparison_table

DATA = Path(__file__).parent / "data"
PASS, FAIL = DATA / "smoke-pass", DATA / "smoke-fail"
AA_BASE, AA_NEW = DATA / "compare" / "aa-base", DATA / "compare" / "aa-new"
# two 90 s `steady` demo runs; in the second the demo backend made /api/customers/{id}/orders 50%
# slower (PERFDASH_DEMO_SLOW="/api/customers/{id}/orders:+50%"), on a machine others shared
AB_BASE, AB_NEW = DATA / "compare" / "ab50-base", DATA / "compare" / "ab50-new"
P95 = "check:k6.http_req_duration.p(95)"
JUDGED = ("regressed", "improved", "no clear change", "too few windows")


def copy_run(tmp_path: Path, name: str, src: Path = PASS) -> Path:
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def scale_timeline(run: Path, column: str, factor: float, add: float = 0.0) -> None:
    """Every measured window of one timeline column times `factor` plus `add`: a known shift."""
    lines = (run / "timeline.csv").read_text().splitlines()
    header = lines[0].split(",")
    i = header.index(column)
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if cells[i]:
            cells[i] = f"{float(cells[i]) * factor + add:.4f}"
        out.append(",".join(cells))
    (run / "timeline.csv").write_text("\n".join(out) + "\n")


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
        assert keys[f"check:{check['id']}"].verdict in JUDGED
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
        assert keys[key].verdict in JUDGED
    assert not [d for d in c.deltas if d.verdict in ("added", "removed", "not comparable")]
    # these fixtures predate the timeline: said once per run, and nothing sampled is judged
    assert len(c.notes) == 2
    assert all("no timeline.csv" in n and "cannot be judged" in n for n in c.notes)
    assert p95.verdict == "too few windows"
    assert "too few windows to decide" in p95.note


def test_a_run_against_itself_has_nothing_to_report() -> None:
    for run in (PASS, AA_BASE):
        c = compare_runs(run, run)
        assert c.regressions == ()
        assert {d.verdict for d in c.deltas} == {"no clear change"}


def test_two_identical_recorded_runs_show_no_clear_change() -> None:
    """Two smoke runs of the same code one after the other: their whole-run p95s differ, and that
    is noise, not a regression; every figure with windows is judged, with its interval."""
    c = compare_runs(AA_BASE, AA_NEW)
    assert c.regressions == ()
    assert c.improvements == ()
    p95 = by_key(c)[P95]
    assert p95.base != p95.new
    assert p95.verdict == "no clear change"
    assert p95.method == "median of windows"
    assert p95.low is not None
    assert p95.high is not None
    assert p95.low < 0 < p95.high
    assert p95.samples == (20, 20)
    assert p95.interval.startswith(f"{p95.estimate:+.1f} ms, 95% interval ")
    # Artillery reports every 10 s: a 15 s phase has too few windows, and says so
    art = by_key(c)["check:artillery.http.response_time.p95"]
    assert art.verdict == "too few windows"
    assert "too few windows to decide" in art.note


def test_a_recorded_slowdown_is_found_with_its_interval() -> None:
    c = compare_runs(AB_BASE, AB_NEW)
    p95 = by_key(c)[P95]
    assert p95.verdict == "regressed"
    assert p95.samples == (90, 90)
    assert p95.low is not None
    assert p95.low > 0
    assert p95.estimate is not None
    assert p95.base is not None
    # the slowed endpoint is the top of the latency distribution: the p95 rose by at least half
    assert p95.estimate >= 0.5 * 38.85  # its base median window: 38.85 ms
    assert P95 in {d.key for d in c.regressions}
    # the machine was busier in the second run too, and the comparison says so
    assert any("the host's CPU differed clearly" in n for n in c.notes)
    # Artillery reported 9-10 windows of 10 s in each run: enough to decide
    assert by_key(c)["check:artillery.http.response_time.p95"].verdict == "regressed"


def test_doubled_p95_is_a_regression_with_an_interval_that_covers_it(tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base", AA_BASE), copy_run(tmp_path, "new", AA_BASE)
    scale_check(new, "k6.http_req_duration.p(95)", 2)
    scale_timeline(new, "k6_p95_ms", 2)
    c = compare_runs(base, new)
    p95 = by_key(c)[P95]
    assert p95.verdict == "regressed"
    assert p95.better == "lower"
    assert p95.pct == pytest.approx(100.0)
    assert p95.delta == pytest.approx(p95.base)
    assert p95.low is not None
    assert p95.high is not None
    assert p95.estimate is not None
    # every window doubled: the median window moved by the median window
    median = sorted(v for v in _column(base, "k6_p95_ms"))
    shift = (median[9] + median[10]) / 2
    assert p95.low <= shift <= p95.high
    assert [d.key for d in c.regressions] == [P95]
    # the rest of the run is the same run
    assert by_key(c)["metric:k6.http_req_duration.med"].verdict == "no clear change"


def _column(run: Path, name: str) -> list[float]:
    lines = (run / "timeline.csv").read_text().splitlines()
    i = lines[0].split(",").index(name)
    return [float(c) for line in lines[1:] if (c := line.split(",")[i])]


def test_a_clear_change_under_the_minimum_effect_is_no_clear_change(tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base", AA_BASE), copy_run(tmp_path, "new", AA_BASE)
    scale_timeline(new, "k6_p95_ms", 2)
    key = P95
    assert by_key(compare_runs(base, new))[key].verdict == "regressed"
    loose = by_key(compare_runs(base, new, tolerance_pct=150))[key]
    assert loose.verdict == "no clear change"
    assert "smaller than the minimum effect" in loose.note
    assert by_key(compare_runs(base, new, min_effect_ms=500))[key].verdict == "no clear change"


def test_a_five_percent_shift_is_no_clear_change(tmp_path: Path) -> None:
    """5% of a p99 is within what two identical runs differ by: not called a change, at any
    tolerance, because it is not clear; shown with its interval."""
    base, new = copy_run(tmp_path, "base", AA_BASE), copy_run(tmp_path, "new", AA_BASE)
    scale_k6(new, "http_req_duration", "p(99)", 1.05)
    scale_timeline(new, "k6_p99_ms", 1.05)
    key = "metric:k6.http_req_duration.p(99)"
    for tolerance in (10.0, 4.0):
        d = by_key(compare_runs(base, new, tolerance_pct=tolerance))[key]
        assert d.verdict == "no clear change"
        assert d.pct == pytest.approx(5.0)
        assert "95% interval" in d.interval


def test_direction_depends_on_what_is_measured(tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base", AA_BASE), copy_run(tmp_path, "new", AA_BASE)

    def change(summary: dict[str, Any]) -> None:
        for c in summary["checks"]:
            if c["id"] == "k6.checks_rate":
                c["value"] = 0.95  # fewer checks pass: worse, but one number per run
            if c["id"] == "k6.http_req_failed.rate":
                c["value"] = 0.05
    edit_json(new / "summary.json", change)
    scale_timeline(new, "k6_error_rate", 0, 0.05)  # 5% of requests fail in every second: worse
    scale_timeline(new, "k6_rps", 2)  # more throughput: better
    scale_timeline(new, "k6_p50_ms", 0.5)  # faster: better
    keys = by_key(compare_runs(base, new))
    assert keys["check:k6.checks_rate"].better == "higher"
    assert keys["check:k6.checks_rate"].verdict == "too few windows"
    assert keys["check:k6.http_req_failed.rate"].better == "lower"
    assert keys["check:k6.http_req_failed.rate"].verdict == "regressed"
    assert keys["check:k6.http_req_failed.rate"].method == "rate test"
    assert keys["check:k6.http_req_failed.rate"].pct is None  # from 0
    assert keys["metric:k6.http_reqs.rate"].verdict == "improved"
    assert keys["metric:k6.http_req_duration.med"].verdict == "improved"


def test_counts_use_a_rate_test(tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base", AA_BASE), copy_run(tmp_path, "new", AA_BASE)

    def errors(n: int) -> Callable[[dict[str, Any]], None]:
        def change(summary: dict[str, Any]) -> None:
            for c in summary["checks"]:
                if c["id"] == "app_log.errors":
                    c["value"] = n
        return change
    edit_json(new / "summary.json", errors(1))
    one = by_key(compare_runs(base, new))["check:app_log.errors"]
    assert one.verdict == "no clear change"  # 0 → 1 in 20 s: could be chance
    assert one.method == "rate test"
    edit_json(new / "summary.json", errors(40))
    many = by_key(compare_runs(base, new))["check:app_log.errors"]
    assert many.verdict == "regressed"
    assert many.low is not None
    assert many.low > 0


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
    base, new = copy_run(tmp_path, "base", AA_BASE), copy_run(tmp_path, "new", AA_BASE)
    scale_check(new, "k6.http_req_duration.p(95)", 2)
    scale_timeline(new, "k6_p95_ms", 2)
    c = compare_runs(base, new)
    data = json.loads(json.dumps(c.to_json()))
    assert data["regressions"] == 1
    assert data["tolerance_pct"] == 10.0
    assert data["confidence"] == 0.95
    assert data["deltas"][0]["verdict"] == "regressed"
    assert data["deltas"][0]["interval"].endswith("ms")
    table = comparison_table(c)
    assert table.rows[0].style == "bold red"
    console = Console(record=True, width=250)
    console.print(table)
    text = console.export_text()
    assert "k6 http_req_duration p(95)" in text
    assert "+100.0%" in text
    assert "median window +" in text
    assert "95% interval" in text
    md = comparison_markdown(c)
    assert "**1 regression**: changes that are statistically clear (95% confidence" in md
    assert "| 🔴 regressed | k6 http_req_duration p(95) |" in md
    assert "- **k6 http_req_duration p(95)**:" in md
    # Artillery's 10 s windows in a 15 s phase: too few, and the same figures in both copies
    assert "too few windows to decide (3 and 3; at least 8 in each run)" in md


def test_pass_rates_have_one_value_per_run_and_are_not_guessed(tmp_path: Path) -> None:
    """A checks pass rate has no per-window samples: a change is "too few windows to decide" (shown,
    with the status change in its note), never a verdict from one number each."""
    base, new = copy_run(tmp_path, "base", AA_BASE), copy_run(tmp_path, "new", AA_BASE)
    scale_check(new, "k6.checks_rate", 0.95)
    d = by_key(compare_runs(base, new))["check:k6.checks_rate"]
    assert d.verdict == "too few windows"
    assert d.pct == pytest.approx(-5.0)
    assert d not in compare_runs(base, new).regressions


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


def test_an_earlier_comparison_is_not_a_figure(tmp_path: Path) -> None:
    new = copy_run(tmp_path, "new", AA_NEW)
    edit_json(new / "summary.json", lambda s: s["checks"].append(
        {"id": "baseline.regressions", "name": "Regressions against x", "status": "pass",
         "value": 0, "threshold": "none", "source": "profile", "detail": "", "unit": ""}))
    assert "check:baseline.regressions" not in by_key(compare_runs(AA_BASE, new))


def _without_percentiles(run: Path) -> None:
    """The run's timeline as k6 without its web dashboard output records it: no per-second
    percentiles, a mean (here the old p50) on every second row."""
    lines = (run / "timeline.csv").read_text().splitlines()
    header = lines[0].split(",")
    cols = {name: header.index(name) for name in ("k6_p50_ms", "k6_p95_ms", "k6_p99_ms")}
    out = [lines[0] + ",k6_avg_ms"]
    for row, line in enumerate(lines[1:]):
        cells = line.split(",")
        mean = cells[cols["k6_p50_ms"]] if row % 2 == 0 else ""
        for i in cols.values():
            cells[i] = ""
        out.append(",".join([*cells, mean]))
    (run / "timeline.csv").write_text("\n".join(out) + "\n")


def test_without_per_second_percentiles_the_mean_is_judged_and_the_p95_says_why_not(
        tmp_path: Path) -> None:
    base, new = copy_run(tmp_path, "base", AA_BASE), copy_run(tmp_path, "new", AA_BASE)
    for run in (base, new):
        _without_percentiles(run)
    scale_k6(new, "http_req_duration", "avg", 3)
    scale_timeline(new, "k6_avg_ms", 3)
    c = compare_runs(base, new)
    assert by_key(c)["metric:k6.http_req_duration.avg"].verdict == "regressed"
    assert by_key(c)[P95].verdict in ("too few windows", "no clear change")
    assert sum("without its web dashboard output" in n and "web_dashboard = true" in n
               for n in c.notes) == 2
    # with per-second percentiles in both runs, no such note
    assert not any("web dashboard" in n for n in compare_runs(AA_BASE, AA_NEW).notes)
