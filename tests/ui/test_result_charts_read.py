"""The result view's charts read right: a p95 limit far above the data is named off the scale
instead of setting the axis (a 39 ms p95 under a 500 ms limit is no longer a flat line on the
floor), the latency axis is round and near the data with the p99 line in it, every chart says its
unit and source, and at 80 columns no legend is cut."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from rich.text import Text

from perfdash.artifacts.timeline import Timeline
from perfdash.ui.app import make_app
from perfdash.ui.result.chart_data import (
    CHARTS,
    Y_LABEL_WIDTH,
    Chart,
    chart_specs,
    charts_view,
    p95_threshold,
    tick_label,
)
from perfdash.ui.result.timeline_charts import TimelineCharts, legend
from tests.ui.conftest import LOCUST_RUN, PASS_RUN


def latency_run(p95: float, p99: float, seconds: int = 60) -> Timeline:
    """k6 with its per-second percentiles: p50 well under p95, p99 above it."""
    t = [float(i) for i in range(seconds)]
    return Timeline(t, {"k6_p50_ms": [p95 / 3] * seconds,
                        "k6_p95_ms": [p95 * (0.9 + 0.1 * (i % 2)) for i in range(seconds)],
                        "k6_p99_ms": [p99] * seconds,
                        "k6_avg_ms": [p95 / 2] * seconds,
                        "art_p95_ms": [p95] * seconds})


def latency(timeline: Timeline, threshold: float | None) -> Chart:
    view = charts_view(timeline, None, 200, threshold=threshold)
    return next(c for c in view.charts if c.spec.key == "latency")


def is_round(step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5))


def test_a_limit_far_above_the_data_is_off_scale_not_the_axis_top() -> None:
    chart = latency(latency_run(p95=39.0, p99=61.0), threshold=500.0)
    assert chart.hline is None  # not drawn: it would be the top of the axis
    assert chart.limit == 500.0
    assert chart.limit_off_scale
    assert 61.0 <= chart.y_top <= 61.0 * 1.5  # the p99 line fits, and the axis ends near it
    steps = {b - a for a, b in zip(chart.y_ticks, chart.y_ticks[1:], strict=False)}
    assert len(steps) == 1
    assert is_round(steps.pop())
    assert chart.y_ticks[0] == 0.0


def test_a_limit_near_the_data_is_drawn_on_the_axis() -> None:
    chart = latency(latency_run(p95=39.0, p99=61.0), threshold=80.0)
    assert chart.hline == 80.0
    assert not chart.limit_off_scale
    assert 80.0 <= chart.y_top <= 100.0
    below = latency(latency_run(p95=39.0, p99=61.0), threshold=0.001)  # the failing fixture's
    assert below.hline == 0.001
    assert below.y_top >= 61.0


def test_tick_labels_stay_within_the_label_column() -> None:
    for value in (0.0005, 0.0015, 0.00025, 0.125, 2.5, 1250.0, 12_500.0, 2.5e6):
        assert len(tick_label(value)) <= Y_LABEL_WIDTH, value
    assert tick_label(0.0015) == "0.0015"
    assert tick_label(0.00025) == "2.5e-4"
    assert tick_label(500.0) == "500"
    assert tick_label(20_000.0) == "20k"


def test_every_chart_names_its_unit_and_source() -> None:
    for spec in CHARTS:
        assert spec.source, spec.key
        assert spec.short_source, spec.key
        assert spec.key in ("errors", "vus", "db", "log", "load") or any(
            unit in spec.title for unit in ("/s", "ms", "%")), spec.title
        if spec.key in ("errors", "log"):  # mixed or per-line units: each label says its own
            assert all(any(u in label for u in ("%", "/", "/s")) for _, label, _, _ in spec.lines)


def test_the_fullest_legend_fits_80_columns_with_its_limit() -> None:
    chart = latency(latency_run(p95=39.0, p99=61.0), threshold=500.0)
    assert len(chart.series) == 5
    wide = Text.from_markup(legend(chart, 200)).plain
    assert "k6 http_req_duration, Artillery http.response_time" in wide
    assert "↑ p95 limit 500 (off scale)" in wide
    narrow = Text.from_markup(legend(chart, 72)).plain
    assert len(narrow) <= 72
    assert "limit 500" in narrow
    assert "↑" in narrow
    assert "k6" in narrow
    for label in ("mean", "p50", "p95", "p99"):
        assert label in narrow


async def test_the_passing_run_draws_its_p95_near_the_data() -> None:
    """The recorded passing run: Artillery p95 tens of ms under a k6 limit of p(95)<500."""
    app = make_app(summary_dir=PASS_RUN)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        charts = app.screen.query_one(TimelineCharts)
        assert charts.view is not None
        chart = next(c for c in charts.view.charts if c.spec.key == "latency")
        top = max(y for s in chart.series for y in s.ys)
        assert chart.limit == 500.0
        assert chart.hline is None
        assert top <= chart.y_top <= 2 * top < 500.0
        title = Text.from_markup(str(app.screen.query_one("#chart-latency").border_title)).plain
        assert "↑ p95 limit 500" in title


async def test_at_80_columns_every_legend_fits_its_chart() -> None:
    app = make_app(summary_dir=PASS_RUN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        charts = app.screen.query_one(TimelineCharts)
        assert charts.view is not None
        shown = [c for c in charts.view.charts if c.series]
        assert len(shown) >= 6
        for chart in shown:
            plot = app.screen.query_one(f"#chart-{chart.spec.key}")
            title = Text.from_markup(str(plot.border_title)).plain
            assert len(title) <= plot.size.width - 4, title  # drawn whole, nothing cut or overlaid
            assert chart.spec.short_source in title, title
            for series in chart.series:
                assert series.label.replace("Artillery", "Art") in title.replace("Artillery", "Art")


def test_host_charts_name_node_exporter_when_a_backend_host_was_measured() -> None:
    present = frozenset({"cpu_pct", "load1", "host.api-1.cpu_pct"})
    alone = {c.key: c.short_source for c in chart_specs([], present)}
    assert (alone["host"], alone["load"]) == ("psutil", "psutil")
    generators = {c.key: c.short_source for c in chart_specs([("gen-1", "generator")], present)}
    assert generators["host"] == "psutil"
    specs = {c.key: c for c in chart_specs([("api-1", "backend"), ("gen-1", "generator")], present)}
    assert specs["host"].short_source == "node_exporter"
    assert specs["host"].lines[0][1] == "api-1 CPU %"  # the per-host chart
    assert specs["load"].source == "first backend host, node_exporter"
    older = {c.key: c for c in chart_specs([("api-1", "backend")], frozenset({"cpu_pct"}))}
    assert older["host"].lines == CHARTS[4].lines  # no per-host columns: the plain chart ...
    assert older["host"].short_source == "node_exporter"  # ... of that host all the same


def test_a_tool_that_declares_no_chart_lines_is_drawn_by_its_common_fields() -> None:
    """Locust declares no chart lines: its req/s, p95, failed share and users reach the charts
    through the fields every tool's progress may carry, named after it, in colours of their own."""
    present = frozenset({"locust_rps", "locust_p95_ms", "locust_fail_ratio", "locust_users",
                         "srv_p95_ms"})
    specs = {c.key: c for c in chart_specs([], present)}
    assert [(c, label, s) for c, label, _, s in specs["rps"].lines] == [("locust_rps", "Locust", 1.0)]
    assert [label for _, label, _, _ in specs["latency"].lines] == ["Locust p95", "server p95"]
    assert len({colour for _, _, colour, _ in specs["latency"].lines}) == 2
    assert specs["errors"].lines[0][0::3] == ("locust_fail_ratio", 100.0)
    assert specs["vus"].lines[0][:2] == ("locust_users", "Locust users")
    assert specs["latency"].short_source == "Locust, log"  # only the tools the run recorded


def test_the_limit_marker_follows_any_tools_p95_check() -> None:
    summary = json.loads((LOCUST_RUN / "summary.json").read_text())
    assert p95_threshold(summary) == 500.0  # "<= 500 ms" on locust.response_time.p95
    summary["checks"] = [c for c in summary["checks"] if c["id"] != "locust.response_time.p95"]
    assert p95_threshold(summary) is None


def test_the_chart_module_names_no_load_tool() -> None:
    """The load tools' lines come from their packages (perfdash.tools.live.ChartLine)."""
    source = (Path(__file__).parents[2] / "perfdash" / "ui" / "result" / "chart_data.py").read_text()
    for name in ("k6", "Artillery", "artillery", "art_", "Locust", "locust"):
        assert not re.search(rf"\b{name}", source), name
