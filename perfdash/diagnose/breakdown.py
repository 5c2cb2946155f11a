"""Where each endpoint's time goes: the client's latency, the server's (access log), the database's
share where statements can be attributed (an N+1 chain), and the stage the gap points to.

Client minus server is the network and the load generator itself; server minus database is the
application: its own CPU, a queue for a pool connection, or a call to something else.
"""

from __future__ import annotations

from typing import Any

from perfdash.diagnose.facts import EndpointLoad, Facts
from perfdash.diagnose.model import Finding

CLIENT_GAP_MS = 10.0


def _stage(e: EndpointLoad, db_ms: float | None, ids: set[str], proxied: set[str | None]) -> str:
    if e.server_p50_ms is None:
        return "not measured: needs an access log with request times"
    if e.endpoint in proxied:
        return "the reverse proxy, in front of the backend (its request time minus the upstream's)"
    if e.client_p50_ms is not None and e.client_p50_ms - e.server_p50_ms > max(
            CLIENT_GAP_MS, 0.5 * e.client_p50_ms):
        return "client or network (the server answered in a fraction of the client's time)"
    if db_ms is not None and db_ms >= 0.5 * e.server_p50_ms:
        return "database"
    notes = [why for rule, why in (("pool-saturation", "the pool was full"),
                                   ("cpu-bound-app", "the backend's CPU was saturated"))
             if rule in ids]
    return "application, outside the database" + (f" ({'; '.join(notes)})" if notes else "")


def time_by_endpoint(facts: Facts, findings: list[Finding]) -> list[dict[str, Any]]:
    ids = {f.id for f in findings}
    proxied = {f.endpoint for f in findings if f.id == "reverse-proxy"}
    db_by_endpoint: dict[str, float] = {}
    for f in findings:
        if f.id == "n-plus-one" and f.endpoint and f.statement:
            stmt = next((s for s in facts.statements if s.query == f.statement), None)
            ep = next((e for e in facts.endpoints if e.endpoint == f.endpoint), None)
            if stmt and ep and ep.requests:
                db_by_endpoint[f.endpoint] = db_by_endpoint.get(f.endpoint, 0.0) + (
                    stmt.total_ms / ep.requests)
    rows = []
    for e in sorted(facts.endpoints, key=lambda e: -(e.requests or 0)):
        db = db_by_endpoint.get(e.endpoint)
        rows.append({
            "endpoint": e.endpoint, "requests": e.requests,
            "client_p50_ms": e.client_p50_ms, "client_source": e.client_source,
            "server_p50_ms": e.server_p50_ms,
            "db_ms_per_request": None if db is None else round(db, 3),
            "stage": _stage(e, db, ids, proxied),
        })
    return rows
