"""A slow dependency: a route whose every request takes long while neither the backend's CPU nor
the database can be where the time goes, so it waits on something outside both (another service,
a DNS lookup, a disk, a sleep).

Read from the access log's distribution: the route's fastest requests (p10) already take long and
its median is close to them (the same wait every time: a queue for a lock, a connection or the
CPU spreads a route's times out), and the backend's CPU is low.
"""

from __future__ import annotations

from statistics import median

from perfdash.artifacts import APPLOG_ENDPOINTS_JSON, DB_ACTIVITY_NDJSON, METRICS_CSV
from perfdash.diagnose.facts import Facts
from perfdash.diagnose.model import Evidence, Finding, Gap
from perfdash.diagnose.rules.common import ms

ID = "slow-dependency"
MIN_FLOOR_MS = 100.0
TIGHT = 0.8  # p10 at least this share of p50: every request waits about as long
CPU_LOW_PCT = 50.0  # of one core
MIN_REQUESTS = 20


def find(facts: Facts) -> list[Finding] | Gap:
    if not facts.route_floor_ms:
        return Gap(ID, "per-route request times (an access log with request times)")
    cpu = median(facts.backend_cpu_pct) if facts.backend_cpu_pct else None
    if cpu is not None and cpu >= CPU_LOW_PCT:
        return []
    total = sum(n for n, _ in facts.route_floor_ms.values()) or 1
    out = []
    for route, (count, floor) in sorted(facts.route_floor_ms.items(), key=lambda kv: -kv[1][1]):
        p50 = facts.route_p50_ms.get(route)
        if count < MIN_REQUESTS or floor < MIN_FLOOR_MS or not p50 or floor < TIGHT * p50:
            continue
        evidence = [Evidence(f"{route}: even its fastest requests take {ms(floor)} (p10), the median "
                             f"{ms(p50)}, over {count:,} requests", APPLOG_ENDPOINTS_JSON)]
        if cpu is not None:
            evidence.append(Evidence(f"the backend process used a median {cpu:.0f}% of one core",
                                     METRICS_CSV))
        if facts.activity_samples:
            active = sum(facts.waits.values()) / facts.activity_samples
            evidence.append(Evidence(f"the database had {active:.1f} active sessions on average",
                                     DB_ACTIVITY_NDJSON))
        out.append(Finding(
            ID, f"{route} waits on something outside the application and the database: every request "
            f"takes about {ms(p50)} while the backend's CPU and the database are quiet",
            count / total * min(1.0, floor / max(p50, 1.0)),
            "each request of this route waits the same time for a dependency (another service, an "
            "API, DNS, a file) or a fixed sleep; the database and the backend's CPU are not where it goes",
            "trace one request (its outgoing calls and their timings), then cache the answer, call it "
            "concurrently or off the request path, and give the call a timeout",
            "medium" if cpu is None else "high", evidence, endpoint=route))
        if len(out) >= 3:
            break
    return out
