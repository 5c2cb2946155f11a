"""Facts: small typed measurements a rule can reason on, each read from one artifact.

A fact never judges. It says what was measured (a statement's calls, how many sessions waited on a
lock, how many connections the application held) and where it comes from; the rules in
`perfdash.diagnose.rules` decide what it means. Facts are built from the run directory only
(`perfdash.diagnose.gather`), so `perfdash show` of an old run and the end of a live run reason
on the same numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Statement:
    """One entry of the run's database workload (query-analysis.json `workload`)."""

    query: str
    kind: str  # statement | utility | fk-check
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    share: float  # of all statement time in the window
    rank: dict[str, int]
    merged: str | None = None
    temp_blks_written: int = 0

    @property
    def rows_per_call(self) -> float:
        return self.rows / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class EndpointLoad:
    """One endpoint's requests and latencies, client side and server side."""

    endpoint: str
    requests: int | None
    requests_source: str | None  # log | k6 | artillery
    client_p50_ms: float | None
    client_p95_ms: float | None
    client_source: str | None
    server_p50_ms: float | None
    server_p95_ms: float | None
    server_requests: int | None
    status_5xx: int | None
    errors: int | None  # failed requests as the load tool saw them


@dataclass(frozen=True)
class LockWaits:
    """Sessions waiting for locks, over the once-a-second activity samples."""

    samples: int
    samples_with_waiters: int
    max_waiters: int
    top_query: str
    top_query_share: float  # of waiter observations
    relation: str | None
    blocker_states: Counter[str]
    apps: Counter[str]
    lock_share: float  # of active session observations spent waiting on a lock
    from_s: float
    to_s: float


@dataclass(frozen=True)
class AppConnections:
    """The connections one application (name, role, client address) held, sample by sample."""

    group: str
    app: str
    samples: int
    plateau: int  # the most it held at once
    at_plateau: float  # share of samples holding exactly `plateau`
    all_busy: float  # share of samples at the plateau with none of them idle
    idle_in_tx: float  # mean idle-in-transaction connections per sample
    from_s: float
    to_s: float
    busy: float = 0.0  # mean share of the plateau's connections active or in a transaction


@dataclass(frozen=True)
class ProxyTime:
    """One route behind a reverse proxy: the proxy's log has its request time and the backend's
    (nginx `$request_time` and `$upstream_response_time`)."""

    requests: int  # requests with an upstream time
    upstream_avg_ms: float  # the backend's time
    proxy_avg_ms: float  # request time minus upstream time: spent in the proxy
    answered: dict[str, int]  # requests the proxy answered without the backend, by status class

    @property
    def refused_5xx(self) -> int:
        return self.answered.get("5xx", 0)


@dataclass
class Facts:
    statements: list[Statement] = field(default_factory=list)
    statements_gap: str | None = None  # why there are none
    endpoints: list[EndpointLoad] = field(default_factory=list)
    locks: LockWaits | None = None
    apps: list[AppConnections] = field(default_factory=list)
    activity_gap: str | None = None
    activity_samples: int = 0
    waits: Counter[str] = field(default_factory=Counter)  # active session observations by wait
    max_connections: int | None = None
    index_advice: list[dict[str, Any]] = field(default_factory=list)
    slow_queries: list[dict[str, Any]] = field(default_factory=list)  # with their plan hints
    seq_scans: list[dict[str, Any]] = field(default_factory=list)
    backend_cpu_pct: list[float] = field(default_factory=list)
    backend_rss_mb: list[float] = field(default_factory=list)  # one a second, metrics.csv
    host_cpu_pct: list[float] = field(default_factory=list)  # the machine's CPU, metrics.csv
    counters: dict[str, int] = field(default_factory=dict)  # pg_stat_database over the window
    log_time_unit: str | None = None  # the unit the access log's request times were read in
    throttled: dict[str, tuple[int, int]] = field(default_factory=dict)  # route: (429s, requests)
    route_floor_ms: dict[str, tuple[int, float]] = field(default_factory=dict)  # route: (requests, p10)
    route_p50_ms: dict[str, float] = field(default_factory=dict)  # route: p50 of the access log
    pool_lines: dict[str, Any] | None = None  # the app log's pool-exhaustion lines (pool_lines.py)
    proxy: dict[str, ProxyTime] = field(default_factory=dict)  # route: behind a reverse proxy
    proxy_log: bool = False  # the access log had upstream times (a proxy's log)

    @property
    def total_requests(self) -> int:
        return sum(e.requests or 0 for e in self.endpoints)

    def statement_like(self, text: str) -> Statement | None:
        """The workload entry whose text matches a sampled statement (literals as `?`)."""
        from perfdash.collect.db_activity import normalise_query

        for s in self.statements:
            if normalise_query(s.query) == text:
                return s
        return None
