"""What the access-log counter keeps per endpoint, and how one endpoint's counts are written into
`applog-endpoints.json`.

Apart from the counting (perfdash.collect.access_log) so the shape of an endpoint row, the one thing
the artifact's readers (the endpoint table, compare, the diagnosis) depend on, is in one screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TOO_MANY_REQUESTS = 429


def status_class(status: int) -> str:
    return "none" if status < 100 else f"{status // 100}xx"


@dataclass
class RouteCounts:
    count: int = 0
    by_class: dict[str, int] = field(default_factory=dict)
    throttled: int = 0  # 429 Too Many Requests: the server protecting itself, not failing
    latency_sum_ms: float = 0.0
    latency_n: int = 0
    buckets: dict[int, int] = field(default_factory=dict)
    # behind a reverse proxy: requests with an upstream time, their upstream and proxy time (request
    # time minus upstream time), and what the proxy answered itself (`-`) by status class
    upstream_n: int = 0
    upstream_sum_ms: float = 0.0
    proxy_sum_ms: float = 0.0
    upstream_buckets: dict[int, int] = field(default_factory=dict)
    proxy_answered: dict[str, int] = field(default_factory=dict)


def route_json(rc: RouteCounts) -> dict[str, Any]:
    """One endpoint's entry under `routes` in applog-endpoints.json."""
    entry: dict[str, Any] = {
        "count": rc.count, "by_class": dict(sorted(rc.by_class.items())),
        "status_429": rc.throttled,
        "latency_n": rc.latency_n,
        "latency_avg_ms": round(rc.latency_sum_ms / rc.latency_n, 3) if rc.latency_n else None,
        "buckets": {str(b): n for b, n in sorted(rc.buckets.items())},
    }
    if rc.upstream_n or rc.proxy_answered:
        entry.update(_upstream_json(rc))
    return entry


def _upstream_json(rc: RouteCounts) -> dict[str, Any]:
    n = rc.upstream_n
    return {"upstream_n": n,
            "upstream_avg_ms": round(rc.upstream_sum_ms / n, 3) if n else None,
            "proxy_avg_ms": round(rc.proxy_sum_ms / n, 3) if n else None,
            "upstream_buckets": {str(b): c for b, c in sorted(rc.upstream_buckets.items())},
            "proxy_answered": dict(sorted(rc.proxy_answered.items()))}
