"""The columns of the run's common clock (`timeline.csv`, one row per second, and the live
`TimelineTicked` event): every series perfdash follows, so load, latency, errors, host, database
and log can be lined up second by second, live and after the run.

A value is None (an empty cell) when nothing was measured in that second: Artillery reports only
every 10 s, so its columns are filled on the row of the second its window arrived.

Hosts measured through node_exporter add one group of columns per host (`host_columns`), so a
run with several backend hosts keeps each one's CPU and memory on the same axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

# (column, unit, what it is)
COLUMNS: Final[tuple[tuple[str, str, str], ...]] = (
    ("k6_vus", "", "k6 virtual users"),
    ("k6_rps", "/s", "k6 requests per second in this second"),
    ("k6_avg_ms", "ms", "k6 http_req_duration mean over this interval (each second with its web "
                        "dashboard output, else between two REST API answers, 3 s or more)"),
    ("k6_p50_ms", "ms", "k6 http_req_duration median over this interval (web dashboard output)"),
    ("k6_p95_ms", "ms", "k6 http_req_duration p95 over this interval (web dashboard output)"),
    ("k6_p99_ms", "ms", "k6 http_req_duration p99 over this interval (web dashboard output)"),
    ("k6_error_rate", "ratio", "share of k6 requests failed in this interval (http_req_failed)"),
    ("art_rps", "/s", "Artillery HTTP requests per second (its 10 s window)"),
    ("art_p50_ms", "ms", "Artillery http.response_time median (its 10 s window)"),
    ("art_p95_ms", "ms", "Artillery http.response_time p95 (its 10 s window)"),
    ("art_p99_ms", "ms", "Artillery http.response_time p99 (its 10 s window)"),
    ("art_errors", "", "Artillery errors.* counted in its window (before Artillery spoke through "
                       "ToolProgressed: its run's total so far)"),
    ("art_error_rate", "ratio", "Artillery errors.* in its window per HTTP request or Socket.IO "
                                "emit sent in it"),
    ("sio_p95_ms", "ms", "Artillery socketio.response_time p95 (its 10 s window)"),
    # the backend's own request times (its access log), every second, whatever the load tool
    ("srv_p50_ms", "ms", "server request time median in this second (access log)"),
    ("srv_p95_ms", "ms", "server request time p95 in this second (access log)"),
    ("srv_p99_ms", "ms", "server request time p99 in this second (access log)"),
    # the machine under test: this one (psutil), or the first backend host through node_exporter
    ("cpu_pct", "%", "host CPU"),
    ("mem_pct", "%", "host memory"),
    ("load1", "", "host load average over 1 minute"),
    ("db_active", "", "database connections active"),
    ("db_idle", "", "database connections idle"),
    ("db_idle_in_tx", "", "database connections idle in transaction"),
    ("db_total", "", "database connections in all states"),
    ("db_max", "", "max_connections"),
    ("db_lock_waits", "", "database sessions waiting for a lock"),
    ("log_lines", "/s", "app-log lines in this second"),
    ("log_errors", "/s", "app-log ERROR lines in this second"),
)
NAMES: Final[tuple[str, ...]] = tuple(c[0] for c in COLUMNS)
UNITS: Final[dict[str, str]] = {c[0]: c[1] for c in COLUMNS}

# With hosts measured through node_exporter, every host also gets its own columns after the ones
# above, `host.<name>.<field>`, in metrics.csv's host order (backend hosts first): `cpu_pct` and
# friends follow only the first backend host that answered, which hides every other host.
HOST_PREFIX: Final = "host."
HOST_FIELDS: Final[tuple[tuple[str, str, str], ...]] = (
    ("cpu_pct", "%", "CPU of the host"),
    ("mem_pct", "%", "memory of the host"),
    ("load1", "", "load average of the host over 1 minute"),
)


def host_column(host: str, field: str) -> str:
    """`host.api-1.cpu_pct`: a host's column in timeline.csv."""
    return f"{HOST_PREFIX}{host}.{field}"


def host_columns(hosts: Sequence[str]) -> tuple[str, ...]:
    """Every host's columns, host by host, in the order given."""
    return tuple(host_column(h, f) for h in hosts for f, _, _ in HOST_FIELDS)


MarkerKind = Literal["phase", "breach", "problem", "tool_exit"]
