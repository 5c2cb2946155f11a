"""What pg_stat_database counted over the load: deadlocks, sorts and hashes spilled to disk, and
sessions opened (connection churn). Each is cheap for PostgreSQL to count and easy to miss."""

from __future__ import annotations

from perfdash.artifacts import QUERY_ANALYSIS_JSON, SUMMARY_JSON
from perfdash.diagnose.facts import Facts
from perfdash.diagnose.model import Evidence, Finding, Gap
from perfdash.diagnose.rules.common import ms, short

SOURCE = QUERY_ANALYSIS_JSON
BLOCK_BYTES = 8192
CHURN_MIN_SESSIONS = 50
CHURN_PER_REQUEST = 0.5
CHURN_MATCH = 0.3  # sessions within 30% of one endpoint's requests


def find(facts: Facts) -> list[Finding] | Gap:
    if not facts.counters:
        return Gap("database-counters", "pg_stat_database counters at both ends of the load "
                                        "(a database URL, and a report written after the load)")
    return [*_deadlocks(facts), *_spills(facts), *_churn(facts)]


def _deadlocks(facts: Facts) -> list[Finding]:
    n = facts.counters.get("deadlocks", 0)
    if n <= 0:
        return []
    rollbacks = facts.counters.get("xact_rollback", 0)
    return [Finding(
        "deadlocks", f"{n} deadlock{'s' if n > 1 else ''} during the load: PostgreSQL aborted "
        f"{'those transactions' if n > 1 else 'a transaction'} with error 40P01",
        min(1.0, n / max(facts.total_requests, 1) * 10),
        "two transactions locked the same rows in opposite orders and each waited for the other",
        "lock rows in one consistent order (e.g. `ORDER BY id FOR UPDATE` before updating), keep "
        "transactions short, and retry a transaction that fails with 40P01",
        "high", [Evidence(f"pg_stat_database.deadlocks rose by {n} ({rollbacks:,} rollbacks in all)",
                          SOURCE)])]


def _spills(facts: Facts) -> list[Finding]:
    out = []
    files = facts.counters.get("temp_files", 0)
    for s in facts.statements:
        if s.temp_blks_written <= 0 or s.kind != "statement":
            continue
        mb = s.temp_blks_written * BLOCK_BYTES / 1e6
        out.append(Finding(
            "disk-spill", f"`{short(s.query, 80)}` spilled {mb:,.1f} MB to temporary files "
            f"({s.calls:,} calls, mean {ms(s.mean_ms)})", s.share,
            "its sort or hash does not fit in work_mem, so PostgreSQL writes it to disk",
            "add an index that returns the rows already in order (or lets it avoid the hash), "
            "fetch fewer rows, or raise work_mem for this statement (`SET LOCAL work_mem = '64MB'`)",
            "high", [Evidence(f"{s.temp_blks_written:,} temporary blocks written by this statement; "
                              f"{files:,} temporary files in the database", SOURCE)],
            statement=s.query))
    return out


def _churn(facts: Facts) -> list[Finding]:
    """Sessions opened close to one endpoint's requests (one connection per request of it), or
    to half of all requests or more."""
    sessions = facts.counters.get("sessions")
    requests = facts.total_requests
    if sessions is None or sessions < CHURN_MIN_SESSIONS or not requests:
        return []
    near = [e for e in facts.endpoints
            if e.requests and abs(sessions - e.requests) <= CHURN_MATCH * e.requests]
    route = min(near, key=lambda e: abs(sessions - (e.requests or 0)), default=None)
    if route is None and sessions < CHURN_PER_REQUEST * requests:
        return []
    served = route.requests if route is not None and route.requests else requests
    where = f" of {route.endpoint}" if route is not None else ""
    evidence = [Evidence(f"pg_stat_database.sessions rose by {sessions:,} during the load", SOURCE)]
    evidence.append(Evidence(
        f"{route.endpoint} served {served:,} requests" if route is not None
        else f"{requests:,} requests in all endpoints", SUMMARY_JSON))
    return [Finding(
        "connection-churn", f"The application opened {sessions:,} database sessions for "
        f"{served:,} requests{where}: about one connection per request",
        min(1.0, served / requests),
        "each request connects to PostgreSQL and disconnects: a new backend process, "
        "authentication and TLS every time, several milliseconds each",
        "use a connection pool in the application (or PgBouncer in front of PostgreSQL) and keep "
        "connections open across requests",
        "high" if route is not None else "medium", evidence,
        endpoint=route.endpoint if route is not None else None)]
