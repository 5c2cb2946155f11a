"""The backend's request time per second per endpoint group: the access-log counter hands over each
batch's times per normalised route (the busiest TOP_GROUPS named, the rest merged), the timeline
recorder closes them per second into server-latency.csv, and the endpoint tables name each group's
typical and worst second. Percentiles are checked against the nearest-rank percentile of the very
times written into the log, taken to its 4% bucket edge in the test."""

from __future__ import annotations

import csv
import math
import time
from collections import Counter
from pathlib import Path

from perfdash.analyze.endpoints import endpoints_markdown, endpoints_table, read_endpoints
from perfdash.analyze.server_groups import MIN_REQUESTS, read_server_groups, worst_seconds_line
from perfdash.analyze.summary import artifact_index
from perfdash.artifacts import SERVER_LATENCY_CSV, RunPaths
from perfdash.artifacts.server_latency import HEADER
from perfdash.collect.access_log import EndpointCounter
from perfdash.collect.endpoint_groups import OTHER, TOP_GROUPS, IntervalTimes, top_groups
from perfdash.collect.latency_buckets import bucket_of, bucket_value, percentile
from perfdash.collect.log_set import LogSet
from perfdash.events import Bus, RequestTimesRead
from perfdash.settings import LogSpec
from perfdash.timeline.recorder import TIMELINE_CSV, TimelineRecorder
from perfdash.timeline.server_latency import GroupLatencies

LINE = '127.0.0.1 - - [05/Dec/2026:02:31:02 +0000] "GET {path} HTTP/1.1" 200 12 "-" "k6" {t}\n'


def _log(requests: list[tuple[str, int]]) -> bytes:
    """nginx lines, (path, request time in whole ms) each, written as nginx does: seconds."""
    return "".join(LINE.format(path=path, t=f"{ms / 1000:.3f}") for path, ms in requests).encode()


def _ms(ms: int) -> float:
    """The time the counter reads back from `_log`'s line: seconds with three decimals, times 1000."""
    return float(f"{ms / 1000:.3f}") * 1000.0


def expected(times_ms: list[int], q: float) -> float:
    """The nearest-rank q-th percentile of the times, as the upper edge of its 4% bucket."""
    ranked = sorted(_ms(t) for t in times_ms)
    return round(bucket_value(bucket_of(ranked[max(1, math.ceil(len(ranked) * q / 100)) - 1])), 3)


def _times(batch: RequestTimesRead, group: str) -> dict[int, int]:
    return dict(dict(batch.groups)[group])


ACCOUNTS = [3, 5, 8, 8, 9, 11, 12, 12, 13, 15, 17, 20, 22, 25, 31, 40, 55, 80, 120, 400]
ORDERS = [100, 110, 120, 130, 150, 170, 200, 250, 900, 1500]


def _counter_batch(log: bytes) -> RequestTimesRead:
    c = EndpointCounter(log_format="nginx")
    c.feed(log)
    everything, groups = c.drain_times()
    return RequestTimesRead(tuple(sorted(everything.items())), groups)


def test_the_counter_hands_over_each_groups_times_by_normalised_route() -> None:
    log = _log([(f"/api/accounts/{i}", ms) for i, ms in enumerate(ACCOUNTS)]
               + [(f"/api/orders?page={i}", ms) for i, ms in enumerate(ORDERS)])
    batch = _counter_batch(log)
    assert [g for g, _ in batch.groups] == ["/api/accounts/{}", "/api/orders"]
    for group, times in (("/api/accounts/{}", ACCOUNTS), ("/api/orders", ORDERS)):
        buckets = _times(batch, group)
        assert sum(buckets.values()) == len(times)
        for q in (50, 95, 99):
            assert percentile(buckets, q) == expected(times, q), (group, q)
    # the run-wide histogram is the groups' together, as before
    assert percentile(dict(batch.buckets), 95) == expected(ACCOUNTS + ORDERS, 95)


def test_each_batch_is_handed_over_once() -> None:
    c = EndpointCounter(log_format="nginx")
    c.feed(_log([("/a", 10), ("/b", 20)]))
    assert c.drain_times()[1] == (("/a", ((bucket_of(10.0), 1),)), ("/b", ((bucket_of(20.0), 1),)))
    assert c.drain_times() == ({}, ())
    c.feed(_log([("/b", 30)]))
    assert c.drain_interval() == {bucket_of(30.0): 1}
    assert c.drain_times() == ({}, ())  # drain_interval drained the groups as well


def test_only_the_busiest_groups_keep_a_name_and_nothing_is_dropped() -> None:
    # route i gets i + 1 requests: the TOP_GROUPS busiest are the last ones
    routes = [f"/r{i}" for i in range(TOP_GROUPS + 3)]
    log = _log([(r, 10 + i) for i, r in enumerate(routes) for _ in range(i + 1)])
    batch = _counter_batch(log)
    names = [g for g, _ in batch.groups]
    assert set(names) == {*routes[3:], OTHER}
    other = _times(batch, OTHER)
    assert other == {bucket_of(10.0): 1, bucket_of(11.0): 2, bucket_of(12.0): 3}
    assert sum(sum(dict(b).values()) for _, b in batch.groups) == sum(dict(batch.buckets).values())


def test_the_top_groups_are_chosen_by_requests_so_far_with_ties_by_name() -> None:
    assert top_groups({"/b": 5, "/a": 5, "/c": 1, OTHER: 100}, 2) == {"/a", "/b"}
    times = IntervalTimes()
    times.add("/quiet", bucket_of(5.0), 1)
    # a route busy over the run keeps its name in a second where it was quiet
    _, groups = times.drain({"/quiet": 1000, "/x": 1, "/y": 2}, top=1)
    assert groups == (("/quiet", ((bucket_of(5.0), 1),)),)


class Clock:
    now = 50.0

    def __call__(self) -> float:
        return self.now


def test_the_recorder_writes_each_seconds_groups_to_server_latency_csv(tmp_path: Path) -> None:
    clock = Clock()
    rec = TimelineRecorder(Bus(), tmp_path, clock=clock)
    rec.open()
    half = len(ACCOUNTS) // 2
    # two batches in the first second: one histogram per group
    rec(_counter_batch(_log([(f"/api/accounts/{i}", ms) for i, ms in enumerate(ACCOUNTS[:half])])))
    rec(_counter_batch(_log([(f"/api/accounts/{i}", ms) for i, ms in enumerate(ACCOUNTS[half:])]
                            + [("/api/orders", ms) for ms in ORDERS])))
    first = rec.tick()
    clock.now += 1
    rec.tick()  # nothing read: no rows for this second
    clock.now += 1
    rec(_counter_batch(_log([("/api/orders", ms) for ms in ORDERS[:3]])))
    rec.tick()
    rec.stop()
    assert first is not None
    assert first.values["srv_p95_ms"] == expected(ACCOUNTS + ORDERS, 95)
    with (tmp_path / SERVER_LATENCY_CSV).open(newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == HEADER
    body = [(r[0], r[1], int(r[2]), *(float(x) for x in r[3:])) for r in rows[1:]]
    assert body == [
        ("0", "/api/accounts/{}", 20, *(expected(ACCOUNTS, q) for q in (50, 95, 99))),
        ("0", "/api/orders", 10, *(expected(ORDERS, q) for q in (50, 95, 99))),
        ("2", "/api/orders", 3, *(expected(ORDERS[:3], q) for q in (50, 95, 99))),
    ]
    # the same seconds as timeline.csv's rows
    assert [r[0] for r in csv.reader((tmp_path / TIMELINE_CSV).open())][1:] == ["0", "1", "2"]


def test_several_logs_are_capped_again_over_everything_read(tmp_path: Path) -> None:
    groups = GroupLatencies(tmp_path, top=2)
    groups.add((("/a", ((bucket_of(10.0), 5),)), ("/b", ((bucket_of(20.0), 3),))))  # one log
    groups.add((("/c", ((bucket_of(30.0), 1),)), ("/a", ((bucket_of(10.0), 1),))))  # another
    rows = groups.close_second(0.0)
    groups.close()
    assert [(g, n) for _, g, n, *_ in rows] == [("/a", 6), ("/b", 3), (OTHER, 1)]
    assert rows[2][4] == round(bucket_value(bucket_of(30.0)), 3)


def test_no_request_time_means_no_file(tmp_path: Path) -> None:
    clock = Clock()
    rec = TimelineRecorder(Bus(), tmp_path, clock=clock)
    rec.open()
    rec.tick()
    rec.stop()
    assert not (tmp_path / SERVER_LATENCY_CSV).exists()
    assert "server_latency" not in artifact_index(RunPaths(tmp_path, "smoke"))
    assert read_server_groups(tmp_path) == []


def _written(run_dir: Path, seconds: list[dict[str, list[int]]]) -> None:
    groups = GroupLatencies(run_dir)
    for t, second in enumerate(seconds):
        for group, times in second.items():
            groups.add(((group, tuple(Counter(bucket_of(_ms(ms)) for ms in times).items())),))
        groups.close_second(float(t))
    groups.close()


def test_each_groups_typical_and_worst_second(tmp_path: Path) -> None:
    calm, slow = [10] * 10, [10] * 5 + [500] * 5
    _written(tmp_path, [{"/a": calm, "/b": [20] * 6}, {"/a": slow, "/b": [2000] * (MIN_REQUESTS - 1)},
                        {"/a": calm, "/b": [30] * 6}])
    with (tmp_path / SERVER_LATENCY_CSV).open("a") as f:
        f.write("3,/a,12,1")  # a half-written last line
    got = read_server_groups(tmp_path)
    assert [g["group"] for g in got] == ["/a", "/b"]
    a, b = got
    assert (a["requests"], a["seconds"]) == (30, 3)
    assert a["p95_typical_ms"] == expected(calm, 95)
    assert (a["p95_worst_ms"], a["worst_at_s"]) == (expected(slow, 95), 1.0)
    # /b's 2 s second had too few requests to count as its worst
    assert (b["p95_worst_ms"], b["worst_at_s"]) == (expected([30] * 6, 95), 2.0)
    line = worst_seconds_line({"server_groups": got})
    assert line is not None
    assert line.startswith(f"server p95, worst second: /a {expected(slow, 95):,.0f} ms at 0:01")
    assert "/b" in line


def test_the_endpoint_tables_show_the_groups(tmp_path: Path) -> None:
    (tmp_path / "applog-endpoints.json").write_text('{"format": "combined", "routes": {}}')
    _written(tmp_path, [{"/api/x": [40] * 10}, {"/api/x": [10] * 10}])
    endpoints = read_endpoints(tmp_path, "smoke", tools=[])
    assert endpoints["server_groups"][0]["group"] == "/api/x"
    endpoints["rows"] = [{"endpoint": "/api/x", "kind": "http", "sources": {"log": {"requests": 20}}}]
    md = "\n".join(endpoints_markdown(endpoints))
    assert "| /api/x | 20 | 2 |" in md
    assert endpoints_table(endpoints).caption == worst_seconds_line(endpoints)
    assert "server_latency" in artifact_index(RunPaths(tmp_path, "smoke"))


def test_damaged_summary_entries_are_left_out() -> None:
    damaged = [1, {"group": 2}, {"group": "/a", "p95_worst_ms": "x"}]
    assert worst_seconds_line({"server_groups": damaged}) is None
    assert worst_seconds_line({"server_groups": "nope"}) is None
    assert endpoints_markdown({"rows": [], "server_groups": [None]}) == []


def test_run_paths_names_the_file_the_recorder_writes(tmp_path: Path) -> None:
    assert RunPaths(tmp_path, "smoke").server_latency == tmp_path / SERVER_LATENCY_CSV


def test_an_access_log_tail_publishes_its_groups(tmp_path: Path) -> None:
    bus = Bus()
    sub = bus.subscribe()
    logs = LogSet(bus, [LogSpec(tmp_path / "access.log", "access", format="nginx")], batch_interval_s=0.05)
    logs.start()
    (tmp_path / "access.log").write_bytes(_log([("/api/a/1", 10)] * 3 + [("/api/b", 250)]))
    deadline = time.monotonic() + 5
    got: list[RequestTimesRead] = []
    while sum(sum(dict(e.buckets).values()) for e in got) < 4 and time.monotonic() < deadline:
        got += [e for e in sub.drain(0.1) if isinstance(e, RequestTimesRead)]
    logs.stop()
    merged: dict[str, int] = {}
    for e in got:
        for group, buckets in e.groups:
            merged[group] = merged.get(group, 0) + sum(dict(buckets).values())
    assert merged == {"/api/a/{}": 3, "/api/b": 1}
