"""The backend's own request times, per second, on the run's time axis: counted from the access log
as it is tailed, folded into `srv_p50_ms`/`srv_p95_ms`/`srv_p99_ms`, and judged by windows in
compare (a run without k6's per-second percentiles still has a p95 to judge)."""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

import pytest

from perfdash.analyze.compare import compare_runs
from perfdash.collect.access_log import EndpointCounter
from perfdash.collect.latency_buckets import bucket_of
from perfdash.collect.log_set import LogSet, merge_endpoints
from perfdash.events import Bus, RequestTimesRead
from perfdash.settings import LogSpec
from perfdash.timeline.recorder import TIMELINE_CSV, TimelineRecorder

LINE = '127.0.0.1 - - [04/Dec/2026:20:31:02 +0000] "GET /api/a/{n} HTTP/1.1" 200 12 "-" "k6" {t}\n'


def _block(times_s: list[float]) -> bytes:
    return "".join(LINE.format(n=i, t=f"{t:.3f}") for i, t in enumerate(times_s)).encode()


def test_the_counter_hands_over_each_intervals_times_once() -> None:
    c = EndpointCounter(log_format="nginx")
    c.feed(_block([0.010] * 90 + [0.200] * 10))
    first = c.drain_interval()
    assert sum(first.values()) == 100
    assert first[bucket_of(200.0)] == 10
    assert c.drain_interval() == {}
    c.feed(_block([0.050]))
    assert c.drain_interval() == {bucket_of(50.0): 1}


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def _batch(times_ms: list[float]) -> RequestTimesRead:
    c = EndpointCounter(log_format="nginx")
    c.feed(_block([t / 1000 for t in times_ms]))
    return RequestTimesRead(tuple(c.drain_interval().items()))


def test_the_recorder_writes_server_percentiles_per_second(tmp_path: Path) -> None:
    clock = Clock()
    rec = TimelineRecorder(Bus(), tmp_path, clock=clock)
    rec.open()
    rec(_batch([10.0] * 50))
    rec(_batch([10.0] * 40 + [300.0] * 10))  # two batches in one second: one histogram
    first = rec.tick()
    clock.now += 1
    second = rec.tick()  # nothing read: no server time in that second
    rec.stop()
    assert first is not None
    assert second is not None
    assert first.values["srv_p50_ms"] == pytest.approx(10.0, rel=0.05)
    assert first.values["srv_p95_ms"] == pytest.approx(300.0, rel=0.05)
    assert second.values["srv_p95_ms"] is None
    rows = list(csv.DictReader((tmp_path / TIMELINE_CSV).open()))
    assert float(rows[0]["srv_p99_ms"]) == pytest.approx(300.0, rel=0.05)
    assert rows[1]["srv_p95_ms"] == ""


def _run_dir(root: Path, name: str, p95s: list[float], template: Path) -> Path:
    """A finished run copied from a fixture, with a timeline of server p95s and an access log
    whose whole-run p95 is the timeline's median."""
    run = root / name
    shutil.copytree(template, run)
    header = ["t_s", "srv_p50_ms", "srv_p95_ms", "srv_p99_ms"]
    with (run / TIMELINE_CSV).open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i, v in enumerate(p95s):
            w.writerow([i, v / 2, v, v * 1.2])
    c = EndpointCounter(log_format="nginx")
    median = sorted(p95s)[len(p95s) // 2]
    c.feed(_block([median / 2000] * 95 + [median / 1000] * 5))
    c.write(run / "applog-endpoints.json")
    return run


def test_compare_judges_the_servers_p95_by_its_windows(tmp_path: Path) -> None:
    template = Path(__file__).parent / "data" / "smoke-pass"
    base = _run_dir(tmp_path, "base", [20.0 + (i % 5) for i in range(60)], template)
    new = _run_dir(tmp_path, "new", [60.0 + (i % 5) for i in range(60)], template)
    c = compare_runs(base, new)
    server = next(d for d in c.deltas if d.key == "metric:server.p95")
    assert server.verdict == "regressed", server
    assert server.method == "median of windows"
    same = compare_runs(base, _run_dir(tmp_path, "same", [20.0 + (i % 5) for i in range(60)], template))
    assert next(d for d in same.deltas if d.key == "metric:server.p95").verdict == "no clear change"


def test_a_run_without_an_access_log_says_nothing_about_it(tmp_path: Path) -> None:
    template = Path(__file__).parent / "data" / "smoke-pass"
    assert not (template / "applog-endpoints.json").exists()
    c = compare_runs(template, template)
    assert not [d for d in c.deltas if d.key == "metric:server.p95"]
    assert not [n for n in c.notes if "access log" in n]


def test_an_access_log_tail_publishes_its_request_times(tmp_path: Path) -> None:
    """An access log's lines are not shown, but its times reach the timeline."""
    bus = Bus()
    sub = bus.subscribe()
    logs = LogSet(bus, [LogSpec(tmp_path / "access.log", "access", format="nginx")],
                  batch_interval_s=0.05)
    logs.start()
    (tmp_path / "access.log").write_bytes(_block([0.010] * 19 + [0.250]))
    deadline = time.monotonic() + 5
    got: list[RequestTimesRead] = []
    while not got and time.monotonic() < deadline:
        got = [e for e in sub.drain(0.1) if isinstance(e, RequestTimesRead)]
    logs.stop()
    assert got, "no RequestTimesRead from the access log's tail"
    counts = dict(got[0].buckets)
    assert sum(counts.values()) == 20
    assert counts[bucket_of(250.0)] == 1


def test_several_logs_merged_keep_the_proxys_figures(tmp_path: Path) -> None:
    upstream = '127.0.0.1 - - [04/Dec/2026:20:31:02 +0000] "GET /api/a/1 HTTP/1.1" {s} 12 "-" "k6" {t}\n'
    one, two = EndpointCounter(log_format="nginx"), EndpointCounter(log_format="nginx")
    one.feed((upstream.format(s=200, t="0.300 0.010") * 4).encode())
    two.feed((upstream.format(s=200, t="0.100 0.010") * 4 + upstream.format(s=503, t="0.000 -")).encode())
    merged = merge_endpoints([(tmp_path / "a.log", one.to_json()), (tmp_path / "b.log", two.to_json())])
    route = merged["routes"]["/api/a/{}"]
    assert merged["upstream_times"] is True
    assert route["upstream_n"] == 8
    assert route["upstream_avg_ms"] == pytest.approx(10.0)
    assert route["proxy_avg_ms"] == pytest.approx((290 * 4 + 90 * 4) / 8)
    assert route["proxy_answered"] == {"5xx": 1}
    assert sum(route["upstream_buckets"].values()) == 8
