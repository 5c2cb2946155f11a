"""429 Too Many Requests: the server (or a rate limiter in front of it) protecting itself. Not a
failure of the backend, and not a latency figure to trust either: the test measured the limiter."""

from __future__ import annotations

from perfdash.artifacts import APPLOG_ENDPOINTS_JSON
from perfdash.diagnose.facts import Facts
from perfdash.diagnose.model import Evidence, Finding, Gap
from perfdash.diagnose.rules.common import pct

ID = "throttled"
MIN_SHARE = 0.01


def find(facts: Facts) -> list[Finding] | Gap:
    out = []
    total = sum(n for _, n in facts.throttled.values()) or 1
    for route, (limited, requests) in sorted(facts.throttled.items(), key=lambda kv: -kv[1][0]):
        if not requests or limited / requests < MIN_SHARE:
            continue
        out.append(Finding(
            ID, f"{route} answered 429 Too Many Requests to {pct(limited / requests)} of its requests "
            f"({limited:,} of {requests:,}): a rate limit, not a failure of the backend",
            limited / max(facts.total_requests, total),
            "the load is above a rate limit the server or a proxy enforces, so those requests measured "
            "the limiter, not the backend",
            "for a load test, raise or lift the limit in the test environment, or keep the load at the "
            "rate a real client is allowed; in k6, count 429 apart from failures "
            "(`http.setResponseCallback(http.expectedStatuses({ min: 200, max: 399 }, 429))`)",
            "high", [Evidence(f"{limited:,} responses with status 429 on {route} in the access log",
                              APPLOG_ENDPOINTS_JSON)], endpoint=route))
    return out
