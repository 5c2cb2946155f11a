"""Folding a recorded run into the live views, and the pure renderers, without a terminal."""

from __future__ import annotations

from pathlib import Path

from perfdash.events import RPS, THRESHOLDS_CROSSED, LogLinesRead, SystemSampled
from perfdash.ui.format import bar, clock_time, spark, spark_rows
from perfdash.ui.live.run_header import header_lines
from perfdash.ui.live.state import HISTORY, LiveState
from perfdash.ui.live.tool_pane import tool_lines
from tests.ui.conftest import FAIL_RUN, MID_RUN_S, PASS_RUN, FakeClock, recorded


def folded(run: Path, until: float | None, without: tuple[type, ...] = ()
           ) -> tuple[LiveState, FakeClock]:
    clock = FakeClock()
    state = LiveState(clock)
    for event in recorded(run, until, without=without):
        state.apply([event])
    return state, clock


def test_mid_run_views_of_the_failing_run() -> None:
    state, _ = folded(FAIL_RUN, MID_RUN_S)
    assert state.header.run_id == "20261125T151240Z"
    assert state.header.phase == "load"
    assert state.header.tainted is True  # p(95)<0.001 is crossed from the first second
    assert state.header.problems == 2
    k6 = state.tools["k6"]  # recorded as K6Progressed: read as k6's ToolProgressed
    assert k6.get(THRESHOLDS_CROSSED) == 1.0
    assert len(k6.req_per_s) == 11
    assert k6.req_per_s[-1] == k6.get(RPS)
    assert state.host is not None
    assert state.host.cpu[-1] == 80.7
    assert state.tools["artillery"].counts == ()
    assert state.database is not None
    assert state.database.max_connections == 100
    assert state.finished is None
    assert state.log.received == 198


def test_the_end_of_a_run_is_recorded() -> None:
    state, _ = folded(PASS_RUN, None)
    assert state.finished is not None
    assert state.finished.status == "pass"
    assert state.header.status == "pass"
    ended = state.tools["k6"].ended
    assert ended is not None
    assert ended.returncode == 0
    assert state.run_dir == "/tmp/ui-runs/20261125T151312Z"


def test_elapsed_follows_the_injected_clock_and_stops_at_the_end() -> None:
    state, clock = folded(PASS_RUN, 5.0)
    clock.now += 61.5
    state.tick()
    assert state.header.elapsed_s == 61
    assert "elapsed 1:01" in header_lines(state.header, 100)[0].plain
    for event in recorded(PASS_RUN, None)[len(recorded(PASS_RUN, 5.0)):]:
        state.apply([event])
    clock.now += 100
    state.tick()
    assert state.header.elapsed_s == 61


def test_no_app_log_is_announced_only_after_a_grace_period() -> None:
    state, clock = folded(PASS_RUN, MID_RUN_S, without=(LogLinesRead,))
    assert not state.log_absent()  # the load started on the fake clock just now
    clock.now += 6
    assert state.log_absent()


def test_sparkline_history_is_bounded() -> None:
    sample = next(e for e in recorded(PASS_RUN, None) if isinstance(e, SystemSampled))
    state = LiveState(FakeClock())
    state.apply([sample] * (HISTORY + 10))
    assert state.host is not None
    assert len(state.host.cpu) == HISTORY


def test_k6_and_artillery_lines() -> None:
    state, _ = folded(FAIL_RUN, MID_RUN_S)
    k6 = "\n".join(t.plain for t in tool_lines("k6", state.tools["k6"], 40, 5))
    assert "11/20 s · 9 s left" in k6
    assert "VUs 2/3" in k6
    assert "p95 31.4 ms" in k6
    assert "checks 100.0%" in k6
    assert "thresholds CROSSED" in k6
    art = "\n".join(t.plain for t in tool_lines("artillery", state.tools["artillery"], 40, 5))
    assert "p95 10.9 ms" in art
    assert "Socket.IO p95 9.9 ms" in art
    assert "errors none" in art


def test_text_builders() -> None:
    assert spark([0, 50, 100], 5, 0, 100) == "  ▁▅█"
    assert spark_rows([0, 100], 2, 2, 0, 100) == [" █", "▁█"]
    assert bar(5, 10, 10).plain == "█████─────"
    assert clock_time(3725) == "1:02:05"
