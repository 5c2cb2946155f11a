"""Every measured host on the run's time axis: real Prometheus and node_exporters feed the
collector and the timeline recorder; timeline.csv gets `host.<name>.*` columns for each host, the
result view's host chart draws one CPU line per backend host named in its legend, summary.json's
artifact index names hosts.json, and the backend CPU series compare can read is the busiest
backend host's, second by second. A run without hosts keeps today's header and charts."""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

from perfdash.analyze.host_groups import backend_cpu_series, read_host_roles
from perfdash.analyze.summary import artifact_index
from perfdash.artifacts import RunPaths
from perfdash.artifacts.timeline import read_timeline
from perfdash.collect.remote_hosts import RemoteHostsCollector, host_roles
from perfdash.events import Bus
from perfdash.net import free_port
from perfdash.settings import HostSpec
from perfdash.timeline.columns import host_columns
from perfdash.timeline.recorder import HEADER, TIMELINE_CSV, TimelineRecorder
from perfdash.ui.app import make_app
from perfdash.ui.result.chart_data import CHARTS, charts_view
from perfdash.ui.result.timeline_charts import TimelineCharts, legend
from tests.prom_fixtures import PromStack, start_node_exporter, stop
from tests.ui.conftest import PASS_RUN


def _record(run_dir: Path, prom: PromStack) -> None:
    """metrics.csv, hosts.json and timeline.csv from two backend hosts and a generator host; the
    second backend host (read directly) stops answering part-way."""
    port = free_port()
    direct = start_node_exporter(port, run_dir.parent / "api-2.log")
    hosts = (HostSpec("api-1", "backend", instance="api-1"),
             HostSpec("api-2", "backend", node_exporter=f"http://127.0.0.1:{port}"),
             HostSpec("gen-1", "generator", instance="gen-1"))
    bus = Bus()
    recorder = TimelineRecorder(bus, run_dir, interval_s=0.5,
                                hosts=[n for n, _ in host_roles(hosts)])
    collector = RemoteHostsCollector(bus, run_dir / "metrics.csv", hosts, prom.url, interval_s=0.5)
    try:
        recorder.start()
        collector.start()
        time.sleep(2.2)
        stop(direct)
        time.sleep(1.6)
    finally:
        collector.stop()
        recorder.stop()
        stop(direct)


async def test_every_host_on_the_timeline_and_in_the_host_chart(prom_stack: PromStack,
                                                                 tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(PASS_RUN, run_dir)  # a finished run's summary.json and reports
    for name in ("timeline.csv", "timeline-markers.ndjson", "metrics.csv"):
        (run_dir / name).unlink(missing_ok=True)
    _record(run_dir, prom_stack)

    # timeline.csv: the common columns, then each host's group, in metrics.csv's order
    header = (run_dir / TIMELINE_CSV).read_text().splitlines()[0].split(",")
    assert tuple(header) == (*HEADER, *host_columns(["api-1", "api-2", "gen-1"]))
    timeline, problem = read_timeline(run_dir)
    assert timeline is not None, problem
    s = timeline.series
    assert any(v is not None for v in s["host.api-1.cpu_pct"])
    assert any(v is not None for v in s["host.gen-1.mem_pct"])
    assert any(v is not None for v in s["host.api-2.cpu_pct"]), "api-2 answered at first"
    assert s["host.api-2.cpu_pct"][-1] is None, "a host that stopped answering is empty, never 0"
    assert s["host.api-2.load1"][-1] is None
    # the single-machine columns still follow the first backend host that answered
    both = [(a, b) for a, b in zip(s["cpu_pct"], s["host.api-1.cpu_pct"], strict=True)
            if a is not None and b is not None]
    assert both
    assert all(a == b for a, b in both)

    # the host chart: one CPU line per backend host, named; the generator host is not on it
    roles = read_host_roles(run_dir)
    assert roles == [("api-1", "backend"), ("api-2", "backend"), ("gen-1", "generator")]
    view = charts_view(timeline, None, 200, hosts=roles)
    host = next(c for c in view.charts if c.spec.key == "host")
    assert [x.label for x in host.series] == ["api-1 CPU %", "api-2 CPU %", "api-1 memory %"]
    assert len({x.color for x in host.series}) == 3
    assert host.y_ticks[-1] == 100.0
    # ... and the result view draws that chart
    app = make_app(summary_dir=run_dir)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        charts = app.screen.query_one(TimelineCharts)
        assert charts.view is not None
        drawn = next(c for c in charts.view.charts if c.spec.key == "host")
        assert [x.label for x in drawn.series] == ["api-1 CPU %", "api-2 CPU %", "api-1 memory %"]
        title = legend(drawn)
        assert "api-1 CPU %" in title
        assert "api-2 CPU %" in title

    # summary.json's artifact index names hosts.json; no generator files in this run
    index = artifact_index(RunPaths(run_dir, "smoke"))
    assert index["hosts"] == {"path": "hosts.json", "exists": True,
                              "bytes": (run_dir / "hosts.json").stat().st_size}
    assert not [r for r in index if r.startswith(("k6_generators", "k6_summary.gen"))]

    # what compare can read for "host CPU": the busiest backend host that answered, per second
    with (run_dir / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    expected = []
    for row in rows:
        up = [float(row[f"{n}.cpu_pct"]) for n in ("api-1", "api-2")
              if row[f"{n}.up"] == "1" and row[f"{n}.cpu_pct"]]
        if up:
            expected.append(max(up))
    series = backend_cpu_series(run_dir / "metrics.csv")
    assert series == expected
    assert series, "the backend hosts answered"
    assert backend_cpu_series(PASS_RUN / "metrics.csv") is None, "psutil layout: not per host"


def test_without_hosts_the_timeline_and_charts_are_as_before(tmp_path: Path) -> None:
    recorder = TimelineRecorder(Bus(), tmp_path)
    recorder.open()
    recorder.tick()
    recorder.stop()
    assert (tmp_path / TIMELINE_CSV).read_text().splitlines()[0] == ",".join(HEADER)
    assert "hosts" not in artifact_index(RunPaths(tmp_path, "smoke"))
    timeline, _ = read_timeline(PASS_RUN)
    assert timeline is not None
    view = charts_view(timeline, None, 200, hosts=read_host_roles(PASS_RUN))
    host = next(c for c in view.charts if c.spec.key == "host")
    assert host.spec == next(c for c in CHARTS if c.key == "host")
    assert [x.label for x in host.series] == ["CPU %", "memory %"]
