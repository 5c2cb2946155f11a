"""The result view's timeline: the charts' data on the recorded runs (downsampled series, markers,
the zoom window after keys), a 24-hour soak downsampled for drawing, and `show` drawing the very
timeline the live run recorded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from perfdash.artifacts.timeline import Timeline, read_timeline
from perfdash.events import TimelineTicked
from perfdash.ui.app import make_app
from perfdash.ui.replay import load_events
from perfdash.ui.result.chart_data import charts_view, clock, time_ticks, value_ticks
from perfdash.ui.result.checks_table import ChecksTable
from perfdash.ui.result.timeline_charts import TimelineCharts
from tests.ui.conftest import FAIL_RUN, PASS_RUN
from tests.ui.result_timeline import record_timeline


def series(charts: TimelineCharts, key: str, label: str) -> tuple[list[float], list[float]]:
    assert charts.view is not None
    chart = next(c for c in charts.view.charts if c.spec.key == key)
    line = next(s for s in chart.series if s.label == label)
    return line.xs, line.ys


async def test_the_failing_run_draws_every_series_and_its_markers() -> None:
    app = make_app(summary_dir=FAIL_RUN)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        charts = app.screen.query_one(TimelineCharts)
        view = charts.view
        assert view is not None
        assert (view.t0, view.t1) == (0.0, 22.895)  # to the last marker, the end of the cleanup
        assert not view.zoomed
        timeline, _ = read_timeline(FAIL_RUN)
        assert timeline is not None
        xs, ys = series(charts, "host", "CPU %")
        assert ys == [v for v in timeline.series["cpu_pct"] if v is not None]  # 23 s: not thinned
        assert xs[0] == 1.0
        assert [m.kind for m in view.markers] == ["phase", "problem", "breach", "problem",
                                                  "tool_exit", "tool_exit", "phase", "phase",
                                                  "phase"]
        latency = next(c for c in view.charts if c.spec.key == "latency")
        assert latency.hline == 0.001  # the k6 p(95)<0.001 threshold of the failing run
        assert view.x_labels[:3] == ["0:00", "0:05", "0:10"]


async def test_zoom_and_move_with_keys() -> None:
    app = make_app(summary_dir=PASS_RUN)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        charts = app.screen.query_one(TimelineCharts)
        assert app.screen.query_one(ChecksTable).has_focus  # the keys work from the checks table
        whole = charts.whole
        assert whole == (0.0, 23.613)  # the last row at 23 s, the cleanup ended at 23.613 s
        await pilot.press("plus")
        assert charts.window == pytest.approx((5.903, 17.710), abs=1e-3)  # half, around the middle
        await pilot.press("left")
        assert charts.window == pytest.approx((2.952, 14.758), abs=1e-3)  # a quarter earlier
        await pilot.press("left", "left")
        assert charts.window == pytest.approx((0.0, 11.807), abs=1e-3)  # stops at the start
        await pilot.press("right")
        assert charts.window == pytest.approx((2.952, 14.758), abs=1e-3)
        await pilot.pause()
        assert charts.view is not None
        assert charts.view.zoomed
        xs = series(charts, "rps", "k6")[0]
        assert xs == [float(t) for t in range(3, 15)]  # every second of the window
        await pilot.press("minus")
        assert charts.window is None  # the whole run again
        await pilot.press("plus", "plus", "0")
        assert charts.window is None


def soak(seconds: int) -> Timeline:
    t = [float(i) for i in range(seconds)]
    spike = [500.0 if i == 50_000 else 20.0 for i in range(seconds)]
    art = [10.0 if i % 10 == 0 else None for i in range(seconds)]
    return Timeline(t, {"k6_p95_ms": list(spike), "art_rps": art})


def test_a_day_is_downsampled_for_drawing_and_zoom_shows_every_second() -> None:
    day = soak(86_400)
    view = charts_view(day, None, 300)
    latency = next(c for c in view.charts if c.spec.key == "latency")
    (p95,) = latency.series
    assert len(p95.xs) == 300
    assert max(p95.ys) == 500.0  # the one-second spike survives the min/max buckets
    assert view.points == 86_400
    assert view.x_labels == ["0:00", "3:00:00", "6:00:00", "9:00:00", "12:00:00", "15:00:00",
                             "18:00:00", "21:00:00"]
    close = charts_view(day, (49_990.0, 50_090.0), 300)
    (p95,) = next(c for c in close.charts if c.spec.key == "latency").series
    assert p95.xs == [float(i) for i in range(49_990, 50_091)]  # full resolution
    (art,) = next(c for c in close.charts if c.spec.key == "rps").series
    assert art.xs[:2] == [49_990.0, 50_000.0]  # unmeasured seconds are gaps, not zeros


def test_ticks_are_round() -> None:
    assert value_ticks(52.5) == [0.0, 20.0, 40.0, 60.0]
    assert value_ticks(0.9) == [0.0, 0.5, 1.0]
    assert time_ticks(0, 600, 6) == ([0.0, 120.0, 240.0, 360.0, 480.0, 600.0],
                                     ["0:00", "2:00", "4:00", "6:00", "8:00", "10:00"])
    assert clock(3725) == "1:02:05"


async def test_show_draws_the_timeline_the_live_run_recorded(tmp_path: Path) -> None:
    """The live run's recorder wrote timeline.csv and published the same rows as ticks; `show` of
    that directory reads it back through the shared reader and draws exactly those values."""
    run_dir = tmp_path / FAIL_RUN.name
    shutil.copytree(FAIL_RUN, run_dir)
    for name in ("timeline.csv", "timeline-markers.ndjson"):
        (run_dir / name).unlink()
    ticks: list[TimelineTicked] = record_timeline(load_events(FAIL_RUN / "events.ndjson"), run_dir)
    app = make_app(summary_dir=run_dir)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        charts = app.screen.query_one(TimelineCharts)
        for key, label, column in (("host", "CPU %", "cpu_pct"), ("rps", "k6", "k6_rps"),
                                   ("db", "total", "db_total"), ("vus", "k6 VUs", "k6_vus")):
            live = [(t.t_s, v) for t in ticks if (v := t.values.get(column)) is not None]
            xs, ys = series(charts, key, label)
            assert xs == [t for t, _ in live], column
            assert ys == pytest.approx([v for _, v in live], abs=0.005), column  # the file keeps 2 decimals
        assert charts.view is not None
        kinds = [k for t in ticks for k, _ in t.markers]
        assert [m.kind for m in charts.view.markers] == kinds
