"""Connection pool saturation: the application's connections pinned at one number, all of them busy.

A pool at its maximum is invisible to a check against max_connections (4 of 100 looks healthy),
yet every request that needs a connection queues inside the application, so endpoints whose SQL
takes a fraction of a millisecond take tens or hundreds. The signature in pg_stat_activity is the
application's connections at a constant N, well below max_connections, with none of them idle.
"""

from __future__ import annotations

from perfdash.artifacts import APPLOG_ENDPOINTS_JSON, DB_ACTIVITY_NDJSON, QUERY_ANALYSIS_JSON
from perfdash.diagnose.facts import AppConnections, Facts
from perfdash.diagnose.model import Evidence, Finding, Gap
from perfdash.diagnose.rules.common import ms, pct

ID = "pool-saturation"
MIN_AT_PLATEAU = 0.7  # of the samples
MIN_BUSY = 0.7  # of the pool's connections active or in a transaction, on average
HEADROOM = 0.8  # a plateau above this share of max_connections is the server's limit, not a pool's
SLOW_SERVER_MS = 20.0
MIN_LOG_LINES = 3


def saturated(app: AppConnections, max_connections: int | None) -> bool:
    """Pinned at one number well below the server's limit, and most of it busy on average. A
    full pool under churn shows a connection idle for an instant in many samples (released, not
    yet taken again), so "none idle" in every sample is too strict; the mean is what queues."""
    below_server = max_connections is None or app.plateau < HEADROOM * max_connections
    return (app.plateau >= 1 and below_server and app.at_plateau >= MIN_AT_PLATEAU
            and app.busy >= MIN_BUSY)


def find(facts: Facts) -> list[Finding] | Gap:
    if facts.activity_gap and not facts.pool_lines:
        return Gap(ID, f"once-a-second database activity samples: {facts.activity_gap}")
    out = []
    for app in facts.apps:
        if not saturated(app, facts.max_connections) or not _queueing(facts, app):
            continue
        name = app.app or "the application"
        limit = f" of max_connections {facts.max_connections}" if facts.max_connections else ""
        evidence = [Evidence(
            f"{name} held exactly {app.plateau} connections in {pct(app.at_plateau)} of "
            f"{app.samples} samples{limit}; on average {pct(app.busy)} of them were busy (active "
            f"or in a transaction), and all {app.plateau} at once in {pct(app.all_busy)} of the "
            "samples", DB_ACTIVITY_NDJSON,
            app.from_s, app.to_s)]
        evidence += _log_evidence(facts)
        if app.idle_in_tx >= 0.5:
            evidence.append(Evidence(
                f"on average {app.idle_in_tx:.1f} of them sat idle in transaction, holding a "
                "connection while the application did something else", DB_ACTIVITY_NDJSON,
                app.from_s, app.to_s))
        slow = sorted((e for e in facts.endpoints if e.server_p50_ms is not None
                       and e.server_p50_ms >= SLOW_SERVER_MS), key=lambda e: -(e.server_p50_ms or 0))
        if slow:
            evidence.append(Evidence(
                "slow on the server meanwhile: " + ", ".join(
                    f"{e.endpoint} p50 {ms(e.server_p50_ms or 0)}" for e in slow[:4]),
                APPLOG_ENDPOINTS_JSON))
        fast_sql = [s for s in facts.statements if s.kind == "statement" and s.mean_ms < 1
                    and s.calls >= 100]
        if slow and fast_sql:
            evidence.append(Evidence(
                f"{len(fast_sql)} of the busiest statements take under 1 ms each, so the time is "
                "spent waiting for a connection, not in the database", QUERY_ANALYSIS_JSON))
        impact = (sum((e.requests or 0) for e in slow) / facts.total_requests
                  if facts.total_requests else 0.5)
        out.append(Finding(
            ID,
            f"The application's connection pool ({app.plateau} connections, {name}) is the "
            f"bottleneck: pinned at {app.plateau} and {pct(app.busy)} busy on average",
            impact,
            "every request that needs the database waits for one of the pool's connections; "
            "what holds them (long transactions, lock waits, slow calls inside a transaction) "
            "sets everyone's latency",
            f"first fix what holds the connections (see the linked findings), then size the pool "
            f"for the concurrency you need (it is {app.plateau} now, the server allows "
            f"{facts.max_connections or '?'}) and give it an acquire timeout so a full pool shows "
            "up as errors, not as latency",
            "high" if slow or facts.pool_lines else "medium", evidence))
    if not out and facts.pool_lines and int(facts.pool_lines.get("lines") or 0) >= MIN_LOG_LINES:
        out.append(Finding(
            ID, "The application's log says its connection pool ran out "
            f"({facts.pool_lines.get('lines')} lines)", 0.1,
            "requests waited for a database connection inside the application",
            "find what holds the pool's connections (long transactions, slow statements, calls "
            "made inside a transaction), then size the pool for the concurrency you need",
            "medium", _log_evidence(facts)))
    return out


def _queueing(facts: Facts, app: AppConnections) -> bool:
    """Something says requests waited for those connections: endpoints slow on the server, lock
    waiters of this application holding them, or the application's own pool lines."""
    slow = any((e.server_p50_ms or 0) >= SLOW_SERVER_MS for e in facts.endpoints)
    waiting = facts.locks is not None and facts.locks.apps.get(app.app, 0) > 0
    return slow or waiting or bool(facts.pool_lines)


def _log_evidence(facts: Facts) -> list[Evidence]:
    lines = facts.pool_lines
    if not lines:
        return []
    libraries = ", ".join(f"{name} {n}" for name, n in (lines.get("by_library") or {}).items())
    waiting = f"; up to {lines['max_waiting']} requests waiting" if lines.get("max_waiting") else ""
    return [Evidence(f"the app log has {lines.get('lines')} pool lines ({libraries}){waiting}, e.g. "
                     f"\"{lines.get('example', '')}\"", "app log")]
