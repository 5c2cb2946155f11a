"""The result screen on the recorded passing and failing runs, and on a directory without a
usable summary."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from perfdash.analyze.compare import compare_runs
from perfdash.ui.app import make_app
from perfdash.ui.result.check_detail import CheckDetail
from perfdash.ui.result.checks_table import ChecksTable
from perfdash.ui.result.comparison_panel import ABSENT, ComparisonPanel
from perfdash.ui.result.latency_table import LatencyTable, latency_table
from perfdash.ui.result.problems_list import ProblemsList
from perfdash.ui.result.query_panel import QueryPanel
from perfdash.ui.result.result_screen import ResultScreen
from perfdash.ui.result.run_data import load_run
from perfdash.ui.result.status_banner import StatusBanner
from tests.ui.conftest import FAIL_RUN, PASS_RUN


def plain(renderable: object) -> str:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


async def test_failing_run_banner_and_checks() -> None:
    app = make_app(summary_dir=FAIL_RUN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ResultScreen)
        banner = screen.query_one(StatusBanner)
        assert banner.has_class("-fail")
        text = banner.render().plain
        assert "█▀▀ ▄▀▄ ▀█▀ █" in text  # FAIL, three lines tall
        assert "FAIL (exit 1): a threshold was breached" in text
        assert "1 fail · 11 pass · 3 warn" in text
        table = screen.query_one(ChecksTable)
        assert table.row_count == 15
        status, name, value, threshold = table.get_row_at(0)  # the detail is shown under it
        assert isinstance(status, Text)
        assert (status.plain, str(status.style)) == ("FAIL", "bold red")
        assert name == "k6 http_req_duration p(95)"
        assert value.plain == "31.0 ms"
        assert threshold == "p(95)<0.001"
        assert app.exit_code == 1


async def test_moving_through_checks_shows_the_full_detail() -> None:
    app = make_app(summary_dir=PASS_RUN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        detail = app.screen.query_one(CheckDetail)
        assert "k6 http_req_duration p(95): 48.6 ms against p(95)<500" in detail.render().plain
        await pilot.press(*["down"] * 14)  # the last check: sequential scans, a long detail
        text = detail.render().plain
        assert text.startswith("WARN Database sequential scans: 2 against none on large tables")
        assert "CREATE INDEX ON orders (customer_id)" in text


async def test_latency_problems_plots_queries_and_the_comparison_place() -> None:
    app = make_app(summary_dir=PASS_RUN, comparison=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.has_class("-wide")
        latency = plain(screen.query_one(LatencyTable).render())
        assert "http_req_duration" in latency
        assert "socketio.response_time" in latency
        assert "endpoint /api/orders (cre" in latency  # names are cut to the column
        assert "none recorded" in screen.query_one(ProblemsList).render().plain
        plots = [p for p in screen.query(PlotextPlot) if p.display]
        assert [p.id for p in plots] == ["chart-rps", "chart-latency", "chart-errors", "chart-vus",
                                         "chart-host", "chart-load", "chart-db", "chart-log"]
        queries = screen.query_one(QueryPanel)
        table = queries.query_one(DataTable)
        assert table.row_count == 3  # one slow query, two sequentially scanned tables
        detail = plain(queries.query_one("#query-detail", Static).content)
        assert "pg_sleep" in detail
        assert "Seq Scan on orders o" in detail  # the plan tree of the slow query
        table.focus()
        await pilot.press("down")
        detail = plain(queries.query_one("#query-detail", Static).content)
        assert "sequential scans of orders" in detail
        assert "CREATE INDEX ON orders (customer_id)" in detail
        assert ABSENT[:40] in screen.query_one(ComparisonPanel).render().plain


async def test_a_comparison_lists_regressions_first() -> None:
    comparison = compare_runs(PASS_RUN, FAIL_RUN).to_json()
    app = make_app(summary_dir=FAIL_RUN, comparison=comparison)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        shown = app.screen.query_one(ComparisonPanel).render().plain
        assert shown.startswith(f"against {comparison['base_run']}: {comparison['regressions']} regressed")
        lines = shown.splitlines()[1:]
        verdicts = [line.split()[0] for line in lines if line.split()]
        if comparison["regressions"]:
            assert verdicts[0] == "regressed"
        assert "→" in shown


async def test_a_directory_without_summary_says_so(tmp_path: Path) -> None:
    shutil.copy(PASS_RUN / "metrics.csv", tmp_path / "metrics.csv")
    (tmp_path / "summary.json").write_text('{"run_id": "x", "stat')  # cut by a kill
    app = make_app(summary_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.query_one(StatusBanner).has_class("-incomplete")
        problems = screen.query_one(ProblemsList).render().plain
        assert "summary.json is not valid JSON (truncated?)" in problems
        assert app.exit_code == 3


def test_run_data_reads_every_artifact() -> None:
    run = load_run(FAIL_RUN)
    assert run.status == "fail"
    assert run.environment_kind == "demo"
    assert [r.metric for r in run.latency][:2] == ["http_req_duration",
                                                   "http_req_duration{name:products}"]
    assert run.latency[0].count == 321  # http_reqs of the k6 summary export
    assert run.timeline is not None
    assert len(run.timeline.t) == 23
    assert run.timeline_problem is None
    assert len(run.slow_queries) == 1
    assert [t["table"] for t in run.seq_scans] == ["orders", "products"]
    assert "no k6 or Artillery report" in plain(latency_table(load_run(Path("/nonexistent"))))


async def test_a_slow_query_without_a_window_maximum_still_shows(tmp_path: Path) -> None:
    """pg_stat_statements keeps only an all-time maximum, so max_ms is null when the run did not
    beat it (a shared database): the detail must say so instead of failing to open."""
    import json

    run_dir = tmp_path / PASS_RUN.name
    shutil.copytree(PASS_RUN, run_dir)
    path = run_dir / "query-analysis.json"
    analysis = json.loads(path.read_text())
    analysis["slow_queries"][0]["max_ms"] = None
    path.write_text(json.dumps(analysis))
    app = make_app(summary_dir=run_dir)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        detail = plain(app.screen.query_one(QueryPanel).query_one("#query-detail", Static).content)
        assert "max unknown" in detail
        assert "pg_sleep" in detail


def test_a_run_from_before_the_timeline_charts_its_host_from_metrics_csv(tmp_path: Path) -> None:
    shutil.copytree(PASS_RUN, tmp_path / "run")
    (tmp_path / "run" / "timeline.csv").unlink()
    run = load_run(tmp_path / "run")
    assert run.timeline is not None
    assert sorted(run.timeline.series) == ["cpu_pct", "load1", "mem_pct"]
    assert len(run.timeline.t) == 22  # metrics.csv rows
