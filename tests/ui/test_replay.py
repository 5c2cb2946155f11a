"""events.ndjson back into events, and the replayer's timing, on a recorded demo run."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from perfdash.events import (
    P95_MS,
    THRESHOLDS_CROSSED,
    Bus,
    Event,
    LogLinesRead,
    RunFinished,
    RunStarted,
    SystemSampled,
    ToolProgressed,
)
from perfdash.ui.replay import Replayer, event_from_record, events_until, load_events
from tests.ui.conftest import FAIL_RUN, PASS_RUN, FakeClock


def test_load_events_rebuilds_frozen_events_with_tuples() -> None:
    events = load_events(FAIL_RUN / "events.ndjson")
    assert isinstance(events[0], RunStarted)
    assert events[0].run_id == "20261125T151240Z"
    finished = events[-2]
    assert isinstance(finished, RunFinished)
    assert finished.checks == (("k6 http_req_duration p(95)", "fail", "k6: crossed"),)
    system = next(e for e in events if isinstance(e, SystemSampled))
    assert isinstance(system.cpu_per_core, tuple)
    logs = [e for e in events if isinstance(e, LogLinesRead)]
    assert logs
    assert all(isinstance(e.lines, tuple) for e in logs)
    assert sum(len(e.lines) for e in logs) == 430  # the app.log line count in summary.json


def test_unknown_types_and_cut_lines_are_skipped(tmp_path: Path) -> None:
    source = (PASS_RUN / "events.ndjson").read_text().splitlines()
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join([
        source[0],
        json.dumps({"type": "SomethingNew", "at": 1.0, "x": 1}),
        json.dumps({"type": "PhaseChanged", "at": 2.0}),  # a required field missing
        source[1],
        source[2][:40],  # the line a kill cut short
    ]) + "\n")
    events = load_events(path)
    assert [type(e).__name__ for e in events] == ["RunStarted", "PhaseChanged"]


def test_extra_fields_from_a_newer_version_are_ignored() -> None:
    event = event_from_record({"type": "PhaseChanged", "at": 5.0, "phase": "load",
                               "detail": "", "added_later": True})
    assert event is not None
    assert event.at == 5.0


def test_replayer_keeps_the_recorded_spacing_divided_by_speed() -> None:
    events = events_until(load_events(PASS_RUN / "events.ndjson"), 10.0)
    clock, slept, seen = FakeClock(), [], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    bus = Bus()
    bus.listen(lambda e: seen.append((clock.now, e)))
    published = Replayer(events, bus, speed=2.0, clock=clock, sleep=sleep).run()
    assert published == len(events) == len(seen)
    start = seen[0][0]
    for at, event in seen:
        assert at - start == pytest.approx((event.at - events[0].at) / 2.0, abs=1e-6)
    assert sum(slept) == pytest.approx((events[-1].at - events[0].at) / 2.0, abs=1e-6)


def test_stop_ends_a_replay_from_another_thread() -> None:
    events = load_events(PASS_RUN / "events.ndjson")
    seen: list[Event] = []
    bus = Bus()
    bus.listen(seen.append)
    replayer = Replayer(events, bus, speed=0.01)  # real time, far too slow to finish
    thread = threading.Thread(target=replayer.run)
    thread.start()
    replayer.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert replayer.published == len(seen) < len(events)


def test_a_k6_sample_survives_the_round_trip() -> None:
    events = load_events(PASS_RUN / "events.ndjson")
    # recorded as K6Progressed before every tool spoke through ToolProgressed: read as k6's
    k6 = [e for e in events if isinstance(e, ToolProgressed) and e.tool == "k6"]
    assert len(k6) == 20
    assert k6[-1].planned_s == 20.0
    assert k6[-1].get(THRESHOLDS_CROSSED) == 0.0
    assert k6[-1].get(P95_MS) is not None
