"""Server errors on one endpoint: 5xx answers the backend's own log counted (or failures the load
tool saw), concentrated on a route rather than spread over all of them."""

from __future__ import annotations

from perfdash.artifacts import APPLOG_ENDPOINTS_JSON, SUMMARY_JSON
from perfdash.diagnose.facts import Facts
from perfdash.diagnose.model import Evidence, Finding, Gap
from perfdash.diagnose.rules.common import pct

ID = "endpoint-errors"
MIN_SHARE = 0.01  # of the endpoint's requests
MIN_COUNT = 3


def find(facts: Facts) -> list[Finding] | Gap:
    if not facts.endpoints:
        return Gap(ID, "per-endpoint request counts (an access log or the tools' per-endpoint "
                       "metrics)")
    out = []
    total = facts.total_requests
    for e in facts.endpoints:
        failed = e.status_5xx if e.status_5xx is not None else e.errors
        if failed and e.status_5xx is not None and e.endpoint in facts.proxy:
            failed -= facts.proxy[e.endpoint].refused_5xx  # the proxy's own: see reverse_proxy
        base = e.server_requests if e.status_5xx is not None else e.requests
        if not failed or not base or failed < MIN_COUNT or failed / base < MIN_SHARE:
            continue
        source = "the backend's log" if e.status_5xx is not None else e.requests_source or "the tool"
        evidence = [Evidence(f"{failed:,} of {base:,} requests to {e.endpoint} failed "
                             f"({pct(failed / base)}), counted by {source}",
                             APPLOG_ENDPOINTS_JSON if e.status_5xx is not None else SUMMARY_JSON)]
        if e.status_5xx is not None and e.errors:
            evidence.append(Evidence(f"the load tool saw {e.errors:,} failures on it", SUMMARY_JSON))
        out.append(Finding(
            ID, f"{e.endpoint} answered {pct(failed / base)} of its requests with server errors "
            f"({failed:,} of {base:,})",
            failed / total if total else 0.0,
            "the backend fails on this route; when the database shows nothing for it, the cause "
            "is in the application or a dependency it calls",
            f"read the app log's errors for {e.endpoint} at the times of the failures; if it calls "
            "another service, add a timeout, retries with backoff and a circuit breaker",
            "high" if e.status_5xx is not None else "medium", evidence, endpoint=e.endpoint))
    return out
