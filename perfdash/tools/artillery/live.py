"""Artillery's live face: its pane lines (errors listed by type, because "xhr poll error" and
"ETIMEDOUT" need different fixes), the timeline columns its 10 s windows fill, and how a
recording's old `ArtilleryProgressed` reads as the `ToolProgressed` it publishes now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfdash.events import ERROR_RATE, P50_MS, P95_MS, P99_MS, RPS
from perfdash.tools.live import ChartLine, Figure, Line, LiveSpec

SIO_P95_MS, SIO_P99_MS, EMITS = "sio_p95_ms", "sio_p99_ms", "emits"
# ERRORS: errors.* counted in the window (the error track), its share of the window's requests
# in ERROR_RATE; the pane lists the run's errors by type from the event's counts.
ERRORS = "errors"
VUSERS_CREATED, VUSERS_COMPLETED, VUSERS_FAILED = "vusers_created", "vusers_completed", "vusers_failed"
REPORT_S = 10


def from_artillery_progressed(rec: Mapping[str, Any]) -> dict[str, Any]:
    """An old ArtilleryProgressed record's figures under today's names; its errors were the run's
    totals by type (its window's own count is not in it)."""
    found = rec.get("errors")
    errors: Mapping[str, Any] = found if isinstance(found, dict) else {}
    return {"tool": "artillery", "elapsed_s": rec.get("elapsed_s", 0.0),
            "planned_s": rec.get("planned_s", 0.0),
            "fields": [[RPS, rec.get("req_per_s")], [P50_MS, rec.get("http_p50_ms")],
                       [P95_MS, rec.get("http_p95_ms")], [P99_MS, rec.get("http_p99_ms")],
                       [SIO_P95_MS, rec.get("socketio_p95_ms")],
                       [SIO_P99_MS, rec.get("socketio_p99_ms")], [EMITS, rec.get("socketio_emits")],
                       [VUSERS_CREATED, rec.get("vusers_created")],
                       [VUSERS_COMPLETED, rec.get("vusers_completed")],
                       [VUSERS_FAILED, rec.get("vusers_failed")]],
            "counts": sorted([[str(k), int(v)] for k, v in errors.items()],
                             key=lambda kv: (-kv[1], kv[0]))}


ARTILLERY_LIVE = LiveSpec(
    lines=(
        Line((Figure(RPS, "req/s"), Figure(P95_MS, "p95", "ms"), Figure(P99_MS, "p99", "ms"))),
        Line((Figure(SIO_P95_MS, "Socket.IO p95", "ms"), Figure(EMITS, unit=" emits"))),
        Line((Figure(label="errors", counts=True),)),
        Line((Figure(VUSERS_CREATED, "vusers", unit=" created"),
              Figure(VUSERS_COMPLETED, unit=" done"),
              Figure(VUSERS_FAILED, unit=" failed", alarm_above=0.0, calm="dim")), sep=" · "),
    ),
    columns={RPS: "art_rps", P50_MS: "art_p50_ms", P95_MS: "art_p95_ms", P99_MS: "art_p99_ms",
             ERRORS: "art_errors", ERROR_RATE: "art_error_rate", SIO_P95_MS: "sio_p95_ms"},
    waiting="req/s, p95 and vusers follow with its first report",
    idle="starts with the load phase",
    report_every_s=REPORT_S,
    standing=True,
    legacy=("ArtilleryProgressed", from_artillery_progressed),
    charts=(
        ChartLine("rps", "art_rps", "Artillery", "blue"),
        ChartLine("latency", "art_p95_ms", "Artillery p95", "magenta"),
        # its errors per request or emit of each report, in percent like k6's failed requests;
        # runs recorded before that column have the count
        ChartLine("errors", "art_error_rate", "Artillery failed % per 10 s", "magenta", 100.0),
        ChartLine("errors", "art_errors", "Artillery errors/10 s", "magenta", unless="art_error_rate"),
    ),
    sources={"rps": "Artillery per 10 s window", "latency": "Artillery http.response_time",
             "errors": "Artillery errors.*"},
)
