"""The live screen driven by recorded runs on a fake clock: what each pane shows, the log filter
and pause, notifications, and the switch to the result screen when the run finishes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from rich.text import Text
from textual.content import Content

from perfdash.events import LogLinesRead, RunFinished
from perfdash.ui.live.database_pane import DatabasePane
from perfdash.ui.live.host_pane import HostPane
from perfdash.ui.live.live_screen import LiveScreen
from perfdash.ui.live.log_pane import LogPane
from perfdash.ui.live.log_view import LogView
from perfdash.ui.live.run_header import RunHeader
from perfdash.ui.live.timeline_chart import TimelineChart
from perfdash.ui.live.tool_pane import ToolPane
from perfdash.ui.result.result_screen import ResultScreen
from tests.ui.conftest import FAIL_RUN, MID_RUN_S, PASS_RUN, LiveRig, recorded


def subtitle(pane: LogPane) -> str:
    return Content.from_markup(pane.border_subtitle_text).plain


def styles_of(text: Text, needle: str) -> set[str]:
    """The styles of the spans covering the line that contains `needle`."""
    start = text.plain.index(needle)
    return {str(span.style) for span in text.spans if span.start <= start < span.end}


async def test_mid_run_every_pane_shows_its_numbers(rig: LiveRig) -> None:
    async with rig.app.run_test(size=(160, 48)) as pilot:
        rig.feed(recorded(FAIL_RUN, MID_RUN_S))
        await pilot.pause()
        screen = rig.app.screen
        assert isinstance(screen, LiveScreen)
        header = screen.query_one(RunHeader).plain
        assert "run 20261125T151240Z · profile smoke · env demo" in header
        assert "elapsed 0:13" in header
        assert "phase load: parallel, about 20 s" in header
        assert "thresholds CROSSED" in header
        host = screen.query_one(HostPane).plain
        assert "CPU  81%" in host
        assert "load 2.48 1.12 0.57" in host
        k6 = screen.query_one("#tool-k6", ToolPane).plain
        assert "11/20 s · 9 s left" in k6
        assert "VUs 2/3" in k6
        assert "p95 31.4 ms" in k6
        art = screen.query_one("#tool-artillery", ToolPane).plain
        assert "p95 10.9 ms" in art
        assert "Socket.IO p95 9.9 ms" in art
        db = screen.query_one(DatabasePane).plain
        assert "2 of 100" in db
        log = screen.query_one(LogView).text().plain.splitlines()
        assert len(log) == screen.query_one(LogView).size.height
        assert log[-1].endswith("GET /api/products 200 1.3ms")
        assert "198 lines · 3 warnings · following" in subtitle(screen.query_one(LogPane))


async def test_elapsed_moves_with_the_clock_not_with_events(rig: LiveRig) -> None:
    async with rig.app.run_test(size=(80, 24)) as pilot:
        rig.feed(recorded(PASS_RUN, 3.0))
        rig.clock.now += 120
        for _ in range(rig.app.paint_every):  # a second of drains without events still repaints once
            rig.app.drain()
        await pilot.pause()
        assert "elapsed 2:0" in rig.app.screen.query_one(RunHeader).plain


async def test_log_filter_shows_matching_lines_in_their_level_colour(rig: LiveRig) -> None:
    async with rig.app.run_test(size=(80, 24)) as pilot:
        rig.feed(recorded(FAIL_RUN, MID_RUN_S))
        await pilot.press("slash", *"slow", "enter")
        pane = rig.app.screen.query_one(LogPane)
        assert not pane.has_class("-filtering")  # Enter keeps the filter and closes the field
        shown = pane.view.text()
        assert shown.plain.count("/api/reports/slow") == 3
        assert "GET /api/products" not in shown.plain
        assert styles_of(shown, "WARN") == {"yellow"}
        assert "filter 'slow'" in subtitle(pane)
        await pilot.press("slash", "escape")
        assert pane.view.filter_text == ""
        assert "GET /api/products" in pane.view.text().plain


async def test_pause_freezes_the_log_and_counts_what_arrives(rig: LiveRig) -> None:
    async with rig.app.run_test(size=(80, 24)) as pilot:
        events = recorded(FAIL_RUN, None)
        first, rest = events[:80], events[80:120]
        rig.feed(first)
        await pilot.press("f")
        pane = rig.app.screen.query_one(LogPane)
        frozen = pane.view.text().plain
        rig.feed(rest)
        await pilot.pause()
        assert pane.view.text().plain == frozen
        new = sum(len(e.lines) for e in rest if isinstance(e, LogLinesRead))
        assert f"PAUSED +{new} new" in subtitle(pane)
        await pilot.press("f")
        assert pane.view.text().plain != frozen
        assert "following" in subtitle(pane)


async def test_without_log_batches_the_pane_says_no_app_log(rig: LiveRig) -> None:
    async with rig.app.run_test(size=(80, 24)) as pilot:
        rig.feed(recorded(PASS_RUN, MID_RUN_S, without=(LogLinesRead,)))
        await pilot.pause()
        assert "no app log configured" in rig.app.screen.query_one(LogView).text().plain


async def test_problems_become_notifications(rig: LiveRig, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    notes: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(rig.app, "notify", lambda message, **kw: notes.append((message, kw)))
    async with rig.app.run_test(size=(80, 24)) as pilot:
        rig.feed(recorded(FAIL_RUN, MID_RUN_S))
        await pilot.pause()
    problems = [(m, kw) for m, kw in notes if kw.get("title") == "problem"]
    assert len(problems) == 2
    assert problems[0][0].startswith("machine CPU at 100%")
    assert "→ run the load generators on another machine" in problems[0][0]
    assert problems[0][1]["severity"] == "warning"


async def test_the_finished_run_opens_the_result_screen(rig: LiveRig) -> None:
    events = [replace(e, summary_path=str(FAIL_RUN / "summary.json"))
              if isinstance(e, RunFinished) else e for e in recorded(FAIL_RUN, None)]
    async with rig.app.run_test(size=(80, 24)) as pilot:
        rig.feed(events)
        await pilot.pause()
        assert isinstance(rig.app.screen, ResultScreen)
        assert rig.app.screen.run_dir == FAIL_RUN
        assert rig.app.exit_code == 1


async def test_at_200_by_60_the_charts_grow(rig: LiveRig) -> None:
    async with rig.app.run_test(size=(200, 60)) as pilot:
        rig.feed(recorded(FAIL_RUN, MID_RUN_S))
        await pilot.pause()
        screen = rig.app.screen
        assert screen.has_class("-wide")
        assert screen.has_class("-huge")
        panes = [screen.query_one(HostPane), screen.query_one("#tool-k6", ToolPane),
                 screen.query_one("#tool-artillery", ToolPane), screen.query_one(DatabasePane)]
        assert len({p.region.y for p in panes}) == 1  # one row
        assert all(p.size.height == 4 for p in panes)  # the numbers; the chart has the history
        assert screen.query_one(TimelineChart).size.height == 32
        assert screen.query_one(LogView).size.height > 12


async def test_very_short_terminals_keep_the_essential_panes(rig: LiveRig) -> None:
    async with rig.app.run_test(size=(80, 16)) as pilot:
        rig.feed(recorded(FAIL_RUN, MID_RUN_S))
        await pilot.pause()
        screen = rig.app.screen
        assert screen.query_one("#tool-k6", ToolPane).display
        assert not screen.query_one("#tool-artillery", ToolPane).display
        assert not screen.query_one(DatabasePane).display
