"""The live screen's timeline chart, fed `TimelineTicked` events the way the core's recorder will
publish them: the values per column and the markers it shows, the p95 threshold from the run's
k6-config.json, compression of a long run, the log size keys, Artillery before its first report,
and a replay whose events carry ticks."""

from __future__ import annotations

import json
from pathlib import Path

from perfdash.events import Bus, Event, PhaseChanged, RunStarted, TimelineTicked, to_record
from perfdash.tools.k6.command import p95_limit
from perfdash.ui.app import make_app
from perfdash.ui.live.live_screen import LOG_STEP, LiveScreen
from perfdash.ui.live.log_pane import LogPane
from perfdash.ui.live.timeline_chart import TimelineChart, allocate, chart_rows
from perfdash.ui.live.timeline_data import TimelineData
from perfdash.ui.live.tool_pane import ToolPane
from tests.ui.conftest import FAIL_RUN, MID_RUN_S, LiveRig, recorded
from tests.ui.live_ticks import with_ticks


def ticks(n: int, start: float = 2000.0) -> list[Event]:
    """A run of `n` seconds: k6 ramps up, p95 rises, a breach at 5 s and a problem at 7 s."""
    out: list[Event] = [RunStarted("r1", "/nonexistent", "smoke", "demo", 20.0, at=start),
                        PhaseChanged("load", "parallel, about 20 s", at=start)]
    for t in range(n):
        marks: tuple[tuple[str, str], ...] = ()
        if t == 5:
            marks = (("breach", "http_req_duration p(95)<40"),)
        elif t == 7:
            marks = (("problem", "machine CPU at 95%"), ("phase", "x"))
        out.append(TimelineTicked(float(t), {
            "k6_vus": float(min(t, 4)), "k6_rps": 10.0 * t, "k6_p50_ms": 5.0 + t,
            "k6_p95_ms": 10.0 + 5 * t, "k6_p99_ms": 20.0 + 6 * t, "k6_error_rate": 0.0,
            "art_rps": 7.0 if t == 9 else None, "cpu_pct": 30.0 + t, "mem_pct": 40.0,
            "db_active": 1.0, "db_total": 3.0, "db_max": 100.0, "log_errors": float(t % 2),
        }, marks, at=start + t + 1))
    return out


def chart(rig: LiveRig) -> TimelineChart:
    return rig.app.screen.query_one(TimelineChart)


async def test_chart_shows_each_second_of_each_column_and_the_markers(rig: LiveRig) -> None:
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(ticks(10))
        await pilot.pause()
        cols = chart(rig).columns()
        per = cols.cells_per_column
        assert cols.seconds_per_column == 1
        assert per > 1
        every = slice(None, None, per)
        assert cols.series["k6_rps"][every] == [10.0 * t for t in range(10)]
        assert cols.series["k6_p95_ms"][every] == [10.0 + 5 * t for t in range(10)]
        assert cols.series["cpu_pct"][every] == [30.0 + t for t in range(10)]
        # Artillery's window holds on the seconds after it arrived.
        assert cols.series["art_rps"][every] == [None] * 9 + [7.0]
        kinds = [tuple(k for k, _ in m) for m in cols.markers[every]]
        assert kinds[5] == ("breach",)
        assert kinds[7] == ("problem", "phase")
        assert sum(1 for k in kinds if k) == 2
        plain = chart(rig).plain
        assert "p95 55.0" in plain
        assert "k6 90" in plain
        assert "CPU 39%" in plain
        assert "◆1 ▲1" in plain
        assert "└0:00" in plain
        marker_line = next(line for line in plain.splitlines() if line.startswith("◆1"))
        assert marker_line[16 + 5 * per] == "◆"
        assert marker_line[16 + 7 * per] == "▲"


async def test_p95_threshold_comes_from_the_runs_k6_config(rig: LiveRig, tmp_path: Path) -> None:
    (tmp_path / "k6-config.json").write_text(json.dumps({"thresholds": {
        "http_req_duration": ["p(95)<40", "p(99)<900"],
        "http_req_duration{name:products}": ["p(95)<10"]}}))
    rig.app.state.files_dir = tmp_path
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(ticks(10))
        await pilot.pause()
        assert rig.app.state.timeline.p95_limit_ms == 40.0
        assert "limit 40.0" in chart(rig).plain


def test_p95_limit_reads_only_the_untagged_upper_p95() -> None:
    assert p95_limit({"thresholds": {"http_req_duration": ["p(95)<500", "p(95)<=300",
                                                           {"threshold": "p(95)<250"}]}}) == 250
    assert p95_limit({"thresholds": {"http_req_duration": ["avg<100", "p(95)>1"]}}) is None
    assert p95_limit({"thresholds": {"http_req_duration{name:x}": ["p(95)<1"]}}) is None
    assert p95_limit([]) is None


def test_a_long_run_is_compressed_and_keeps_its_peaks_and_markers() -> None:
    data = TimelineData()
    for t in range(1000):
        data.add(t, {"k6_p95_ms": 500.0 if t == 777 else 20.0, "k6_rps": 100.0},
                 (("breach", "p95"),) if t == 778 else ())
    cols = data.columns(100, ["k6_p95_ms", "k6_rps"])
    assert cols.seconds_per_column == 10
    assert cols.count == 100
    assert cols.series["k6_p95_ms"][77] == 500.0  # a spike survives as the column's peak
    assert cols.series["k6_rps"][77] == 100.0  # rates are averaged
    assert [i for i, m in enumerate(cols.markers) if m] == [77]
    for t in range(1000, 5000):  # past MAX_POINTS the history is merged, not dropped
        data.add(t, {"k6_rps": 1.0}, ())
    assert data.step == 4
    assert data.seconds >= 5000
    assert data.columns(100, ["k6_p95_ms"]).series["k6_p95_ms"].count(500.0) == 1


def _text(row: list[tuple[str, str]]) -> str:
    return "".join(text for text, _ in row)


def test_without_percentiles_the_latency_track_draws_k6s_interval_mean() -> None:
    """The default k6 launch has no web dashboard output: one mean every 3 s or more, held in
    between, drawn and named as a mean (never as a p95)."""
    data = TimelineData()
    for t in range(30):
        data.add(t, {"k6_rps": 50.0, "k6_avg_ms": 12.0 + t if t % 3 == 0 else None}, ())
    text = [_text(r) for r in chart_rows(data, 120, 12)]
    assert any("mean 39.0" in line for line in text), text
    assert not any("p95" in line for line in text)
    cols = data.columns(100, ["k6_avg_ms"])
    assert None not in cols.series["k6_avg_ms"]  # held until the next answer
    data.add(30, {"k6_p95_ms": 80.0, "k6_avg_ms": 40.0}, ())  # with percentiles: the p95 leads
    text = [_text(r) for r in chart_rows(data, 120, 12)]
    assert any("p95 80.0" in line for line in text), text


def test_tracks_drop_by_priority_on_short_terminals() -> None:
    assert allocate(8) == {"latency": 2, "rps": 2, "errors": 1, "vus": 1}
    tall = allocate(22)
    assert set(tall) == {"latency", "rps", "errors", "vus", "host", "db", "log"}
    assert sum(tall.values()) == 22 - 3


async def test_plus_and_minus_give_rows_to_the_log_and_back(rig: LiveRig) -> None:
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(ticks(10))
        await pilot.pause()
        screen = rig.app.screen
        assert isinstance(screen, LiveScreen)
        log, graph = screen.query_one(LogPane), chart(rig)
        chart_rows, log_rows = graph.size.height, log.size.height
        await pilot.press("plus")
        await pilot.pause()
        assert graph.size.height == chart_rows - LOG_STEP
        assert log.size.height == log_rows + LOG_STEP
        await pilot.press("minus", "minus")
        await pilot.pause()
        assert graph.size.height == chart_rows + LOG_STEP
        assert log.size.height == log_rows - LOG_STEP


async def test_artillery_shows_what_is_known_before_its_first_report(rig: LiveRig) -> None:
    events = recorded(FAIL_RUN, 8.0)  # load began at 2.9 s, first report at ~12 s
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(events)
        await pilot.pause()
        art = rig.app.screen.query_one("#tool-artillery", ToolPane).plain
        assert "waiting" not in art
        assert "running · reports every 10 s" in art
        assert "/20 s" in art  # elapsed against the profile's planned seconds


async def test_recorded_run_with_ticks_fills_the_chart(rig: LiveRig) -> None:
    events = with_ticks(recorded(FAIL_RUN, MID_RUN_S))
    sent = [e for e in events if isinstance(e, TimelineTicked)]
    async with rig.app.run_test(size=(80, 24)) as pilot:
        rig.feed(events)
        await pilot.pause()
        data = rig.app.state.timeline
        assert data.points == len(sent)
        assert data.series["k6_vus"] == [e.values.get("k6_vus") for e in sent]
        assert "p95" in chart(rig).plain


async def test_replay_with_ticks_shows_the_charts(tmp_path: Path) -> None:
    events = with_ticks(recorded(FAIL_RUN, MID_RUN_S))
    (tmp_path / "events.ndjson").write_text(
        "".join(json.dumps(to_record(e)) + "\n" for e in events))
    app = make_app(replay=tmp_path, replay_speed=1000.0)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(400):
            await pilot.pause(0.05)
            if app.state.timeline.points == sum(isinstance(e, TimelineTicked) for e in events):
                break
        app.show_now()
        await pilot.pause()
        assert app.state.timeline.points > 5
        assert "└0:00" in app.screen.query_one(TimelineChart).plain


def test_bus_delivers_every_tick_uncoalesced() -> None:
    bus = Bus()
    sub = bus.subscribe()
    for e in ticks(3)[2:]:
        bus.publish(e)
    assert [e.t_s for e in sub.drain() if isinstance(e, TimelineTicked)] == [0.0, 1.0, 2.0]
