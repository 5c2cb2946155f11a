"""k6's live face: its pane lines, the timeline columns its progress fills, and how a recording's
old `K6Progressed` reads as the `ToolProgressed` k6 publishes now (perfdash.tools.live)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfdash.events import (
    ERROR_RATE,
    FAIL_RATIO,
    P95_MS,
    REQUESTS,
    RPS,
    THRESHOLDS_CROSSED,
    USERS,
    USERS_MAX,
)
from perfdash.tools.k6.command import CONFIG_FILE, config_p95_limit
from perfdash.tools.live import ChartLine, Figure, Line, LiveLimit, LiveSpec

ITERATIONS, CHECKS_RATE = "iterations", "checks_rate"


def from_k6_progressed(rec: Mapping[str, Any]) -> dict[str, Any]:
    """An old K6Progressed record's figures under today's names; its interval error rate was the
    recorder's to work out and is already in the recording's timeline."""
    tainted = rec.get("tainted")
    return {"tool": "k6", "elapsed_s": rec.get("elapsed_s", 0.0),
            "planned_s": rec.get("planned_s", 0.0),
            "fields": [[USERS, rec.get("vus")], [USERS_MAX, rec.get("vus_max")],
                       [ITERATIONS, rec.get("iterations")], [REQUESTS, rec.get("requests")],
                       [RPS, rec.get("req_per_s")], [P95_MS, rec.get("p95_ms")],
                       [CHECKS_RATE, rec.get("checks_rate")], [FAIL_RATIO, rec.get("failed_rate")],
                       [THRESHOLDS_CROSSED, None if tainted is None else float(bool(tainted))]]}


# The numbers only: req/s, latency and errors over time are on the timeline chart above the panes.
K6_LIVE = LiveSpec(
    lines=(
        Line((Figure(USERS, "VUs", of=USERS_MAX), Figure(RPS, "req/s"), Figure(P95_MS, "p95", "ms"))),
        Line((Figure(CHECKS_RATE, "checks", "pct", alarm_below=0.99, calm="green"),
              Figure(FAIL_RATIO, "failed", "pct2", alarm_above=0.01))),
        Line((Figure(THRESHOLDS_CROSSED, flag=("thresholds CROSSED", "thresholds ok")),
              Figure(REQUESTS, unit=" requests", calm="dim"))),
    ),
    columns={USERS: "k6_vus", RPS: "k6_rps", ERROR_RATE: "k6_error_rate"},
    idle="waiting for the first samples…",
    sample_clock=True,  # k6's REST API tells its own elapsed time
    standing=True,
    legacy=("K6Progressed", from_k6_progressed),
    charts=(
        ChartLine("rps", "k6_rps", "k6", "green"),
        ChartLine("latency", "k6_avg_ms", "mean", "green"),
        ChartLine("latency", "k6_p50_ms", "p50", "cyan"),
        ChartLine("latency", "k6_p95_ms", "p95", "yellow"),
        ChartLine("latency", "k6_p99_ms", "p99", "red"),
        ChartLine("errors", "k6_error_rate", "k6 failed %", "red", 100.0),
        ChartLine("vus", "k6_vus", "k6 VUs", "green"),
    ),
    sources={"rps": "k6 each second", "latency": "k6 http_req_duration",
             "errors": "k6 http_req_failed", "vus": "k6 vus metric"},
    limit=LiveLimit(CONFIG_FILE, config_p95_limit),
)
