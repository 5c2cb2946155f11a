"""A reverse proxy in front of the backend: time spent in the proxy, and requests it refused.

Read from the proxy's access log when it writes the backend's time beside its own (nginx
`$request_time $upstream_response_time`). Request time minus upstream time is what the proxy
added: a `limit_req` queue (a burst without `nodelay` delays every request over the rate), a full
`max_conns` or worker, a new connection to the backend per request, buffering to a slow client.
A line with no upstream time and a 5xx is a refusal the backend never saw (`limit_req` answers
503 by default, a dead upstream 502), so it is the proxy's error, not the backend's.
"""

from __future__ import annotations

from perfdash.artifacts import APPLOG_ENDPOINTS_JSON
from perfdash.diagnose.facts import Facts, ProxyTime
from perfdash.diagnose.model import Evidence, Finding, Gap
from perfdash.diagnose.rules.common import ms, pct

ID = "reverse-proxy"
REFUSED_ID = "proxy-refused"
MIN_REQUESTS = 20
MIN_PROXY_MS = 20.0  # added by the proxy on average, and
MIN_PROXY_SHARE = 0.3  # this share of the request time at least
MIN_REFUSED = 3
MIN_REFUSED_SHARE = 0.01
SOURCE = APPLOG_ENDPOINTS_JSON
NEEDS = ("only behind a reverse proxy: its access log with the backend's time after its own "
         "(nginx `$request_time $upstream_response_time`)")


def find(facts: Facts) -> list[Finding] | Gap:
    if not facts.proxy_log:
        return Gap(ID, NEEDS)
    total = sum(p.requests + sum(p.answered.values()) for p in facts.proxy.values()) or 1
    out = [f for route, p in sorted(facts.proxy.items(), key=lambda kv: -kv[1].proxy_avg_ms)
           if (f := _slow(route, p, total)) is not None][:3]
    out += [f for route, p in sorted(facts.proxy.items(), key=lambda kv: -kv[1].refused_5xx)
            if (f := _refused(route, p, total)) is not None][:3]
    return out


def _slow(route: str, p: ProxyTime, total: int) -> Finding | None:
    request_ms = p.proxy_avg_ms + p.upstream_avg_ms
    if (p.requests < MIN_REQUESTS or p.proxy_avg_ms < MIN_PROXY_MS
            or p.proxy_avg_ms < MIN_PROXY_SHARE * request_ms):
        return None
    share = p.proxy_avg_ms / request_ms
    return Finding(
        ID, f"the reverse proxy holds {route}'s requests: {ms(p.proxy_avg_ms)} of their "
        f"{ms(request_ms)} mean ({pct(share)}) is spent in the proxy, the backend answers in "
        f"{ms(p.upstream_avg_ms)}",
        p.requests / total * share,
        "the proxy delays requests before or after the backend: a rate limit that queues "
        "(nginx `limit_req` with a burst and no `nodelay`), a cap on upstream connections "
        "(`max_conns`, a full worker), a new connection to the backend per request, or "
        "buffering the response to a slow client; the backend itself is fast",
        "look at the proxy's configuration for this location: `limit_req` (rate, burst, "
        "`nodelay`/`delay=`), `limit_conn`, the upstream's `max_conns` and `keepalive`; "
        "raise or remove the limit if the backend has room (its time is small), or size the "
        "load test to the limit",
        "high",
        [Evidence(f"{route}: request time (the proxy's) {ms(request_ms)} on average, upstream "
                  f"time (the backend's) {ms(p.upstream_avg_ms)}, over {p.requests:,} requests",
                  SOURCE)],
        endpoint=route)


def _refused(route: str, p: ProxyTime, total: int) -> Finding | None:
    refused = p.refused_5xx
    seen = p.requests + sum(p.answered.values())
    if refused < MIN_REFUSED or refused / seen < MIN_REFUSED_SHARE:
        return None
    return Finding(
        REFUSED_ID, f"the reverse proxy refused {refused:,} of {route}'s {seen:,} requests "
        f"({pct(refused / seen)}) itself: server errors the backend never saw",
        refused / total,
        "the proxy answered 5xx without asking the backend: a rate or connection limit "
        "(nginx `limit_req`/`limit_conn` answer 503 by default) or no live upstream (502/504)",
        "check the proxy's error log and its limits for this location; if it is a limit, "
        "answer 429 (`limit_req_status 429`) so clients back off, and size the limit to the "
        "backend's capacity",
        "high",
        [Evidence(f"{route}: {refused:,} 5xx answers with no upstream time, "
                  f"{p.requests:,} requests passed to the backend", SOURCE)],
        endpoint=route)
