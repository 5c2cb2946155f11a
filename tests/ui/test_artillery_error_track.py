"""Artillery's errors on the live error track (issue 26): each 10 s report's errors, counted from
its window's own counters, reach the timeline (`art_errors`, and per request or emit sent in the
window `art_error_rate`) and the live chart's error track as a step labelled `art·10s`, like its
p95, beside k6's error rate; its pane still lists the run's errors by type."""

from __future__ import annotations

import json
from pathlib import Path

from perfdash.events import ERROR_RATE, Bus, Event, TimelineTicked, ToolProgressed
from perfdash.timeline.columns import NAMES
from perfdash.timeline.recorder import TimelineRecorder
from perfdash.tools import progress_columns
from perfdash.tools.artillery.live import ERRORS
from perfdash.tools.artillery.progress import ArtilleryProgressTail
from perfdash.ui.live.state import LiveState
from perfdash.ui.live.timeline_chart import chart_rows
from perfdash.ui.live.timeline_data import TimelineData
from perfdash.ui.live.tool_pane import tool_lines


def _window(kind: str, counters: dict[str, int]) -> str:
    return json.dumps({"type": kind, "counters": counters, "rates": {"http.request_rate": 2},
                       "summaries": {"http.response_time": {"p95": 9.0}}}) + "\n"


def test_each_reports_errors_reach_the_timeline_and_the_pane_keeps_them_by_type(tmp_path: Path
                                                                                 ) -> None:
    bus = Bus()
    seen: list[Event] = []
    bus.listen(seen.append)
    now = [100.0]
    recorder = TimelineRecorder(bus, tmp_path, clock=lambda: now[0], tool_fields=progress_columns())
    recorder.open()
    progress = tmp_path / "artillery-progress.ndjson"
    tail = ArtilleryProgressTail(bus, progress, 30.0, interval_s=3600, clock=lambda: now[0])
    tail.start()
    try:
        progress.write_text(_window("intermediate", {"http.requests": 18, "socketio.emit": 2,
                                                     "errors.ETIMEDOUT": 2}))
        tail.poll()
        first = recorder.tick()
        with progress.open("a") as f:
            f.write(_window("intermediate", {"http.requests": 20, "errors.ECONNREFUSED": 5,
                                             "errors.ETIMEDOUT": 1}))
            f.write(_window("summary", {"http.requests": 38, "socketio.emit": 2,
                                        "errors.ECONNREFUSED": 5, "errors.ETIMEDOUT": 3}))
        tail.poll()
        second = recorder.tick()
    finally:
        tail.stop()
        recorder.stop()
    assert first is not None
    assert second is not None
    assert (first.values["art_errors"], first.values["art_error_rate"]) == (2.0, 0.1)
    # the second window's own errors: 6 of 20 requests; the summary's totals are no window
    assert (second.values["art_errors"], second.values["art_error_rate"]) == (6.0, 0.3)
    reports = [e for e in seen if isinstance(e, ToolProgressed)]
    assert [e.get(ERRORS) for e in reports] == [2.0, 6.0, None]
    assert [e.get(ERROR_RATE) for e in reports] == [0.1, 0.3, None]
    assert reports[-1].counts == (("ECONNREFUSED", 5), ("ETIMEDOUT", 3))
    state = LiveState(clock=lambda: 0.0)
    state.apply(reports)
    pane = " / ".join(t.plain for t in tool_lines("artillery", state.tools["artillery"], 60, 6))
    assert "errors ECONNREFUSED 5 · ETIMEDOUT 3" in pane


def _chart(ticks: list[TimelineTicked]) -> str:
    data = TimelineData(horizon_s=30)
    for tick in ticks:
        data.add(tick.t_s, tick.values, tick.markers)
    return "\n".join("".join(part for part, _ in row) for row in chart_rows(data, 140, 30))


def _row(t: int, k6_errors: float | None, art_rate: float | None) -> TimelineTicked:
    return TimelineTicked(float(t), {**dict.fromkeys(NAMES), "k6_rps": 10.0, "art_rps": 2.0,
                                     "k6_error_rate": k6_errors, "art_error_rate": art_rate})


def test_the_error_track_draws_artillerys_report_steps_beside_k6() -> None:
    # Artillery's report lands on one row every 10 s and holds until the next, like its p95
    ticks = [_row(t, 0.0, {9: 0.1, 19: 0.3}.get(t)) for t in range(22)]
    text = _chart(ticks)
    errors = text[text.index("errors"):].splitlines()
    assert any(line.startswith("art·10s 30.0%") for line in errors[:4]), errors[:4]
    assert any(line.startswith("k6 0.0%") for line in errors[:4]), errors[:4]


def test_an_artillery_only_run_still_has_an_error_track() -> None:
    text = _chart([_row(t, None, {9: 0.2}.get(t)) for t in range(12)])
    errors = text[text.index("errors"):].splitlines()
    assert errors[0].startswith("errors ≤")
    assert any(line.startswith("art·10s 20.0%") for line in errors[:4]), errors[:4]
    assert not any(line.startswith("k6 ") for line in errors[:4])


def test_without_artillery_the_error_track_is_k6s_alone() -> None:
    text = _chart([_row(t, 0.02, None) for t in range(12)])
    assert "art·10s" not in text.split("VUs")[0].split("errors", 1)[1]


def test_the_result_views_error_chart_draws_artillerys_rate_per_report_when_recorded() -> None:
    from perfdash.ui.result.chart_data import chart_specs

    def errors(present: set[str]) -> list[tuple[str, str, float]]:
        spec = {c.key: c for c in chart_specs([], frozenset(present))}["errors"]
        return [(column, label, scale) for column, label, _, scale in spec.lines]

    # a run from before: Artillery's count as it was drawn
    assert errors({"k6_error_rate", "art_errors"})[1] == ("art_errors", "Artillery errors/10 s", 1.0)
    # a run with the rate: in percent, like k6's failed requests beside it
    assert errors({"k6_error_rate", "art_errors", "art_error_rate"}) == [
        ("k6_error_rate", "k6 failed %", 100.0),
        ("art_error_rate", "Artillery failed % per 10 s", 100.0)]
