"""Facts from a run directory: the workload and index advice from query-analysis.json, waits,
lock waiters and connections per application from db-activity.ndjson, endpoints as joined in the
summary, the backend process's CPU from metrics.csv."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path
from statistics import mean
from typing import Any

from perfdash.artifacts import (
    MetricsError,
    RunPaths,
    load_db_activity,
    load_metrics,
    read_applog_endpoints,
    read_query_analysis,
)
from perfdash.collect.latency_buckets import percentile
from perfdash.diagnose.facts import AppConnections, EndpointLoad, Facts, LockWaits, ProxyTime, Statement

MIN_APP_SAMPLES = 5


def gather(run_dir: Path, endpoints: Mapping[str, Any] | None,
           app_log: Mapping[str, Any] | None = None) -> Facts:
    facts = Facts()
    pool = _dict((app_log or {}).get("pool_lines"))
    facts.pool_lines = pool or None
    paths = RunPaths(run_dir)
    _workload(paths.query_analysis, facts)
    gather_activity(run_dir, facts)
    facts.endpoints = _endpoints(endpoints)
    facts.backend_cpu_pct, facts.backend_rss_mb, facts.host_cpu_pct = _backend(paths.metrics_csv)
    counted, _ = read_applog_endpoints(run_dir)
    unit = _dict(counted).get("time_unit")
    facts.log_time_unit = unit if isinstance(unit, str) else None
    routes = _dict(_dict(counted).get("routes"))
    facts.proxy_log = _dict(counted).get("upstream_times") is True
    facts.proxy = _proxy(routes)
    # the rules reason on the backend: behind a proxy, its time is the upstream time
    backend = {r: {**v, "buckets": v["upstream_buckets"], "latency_n": v.get("upstream_n")}
               if isinstance(v, dict) and v.get("upstream_n") else v for r, v in routes.items()}
    facts.route_floor_ms = _floors(backend)
    facts.route_p50_ms = _floors(backend, 50)
    facts.throttled = {str(r): (int(v["status_429"]), int(v.get("count") or 0))
                       for r, v in routes.items() if isinstance(v, dict)
                       and isinstance(v.get("status_429"), int) and v["status_429"] > 0}
    return facts


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _num(v: Any) -> float | None:
    """A finite number, or None: NaN would make summary.json invalid JSON."""
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _workload(path: Path, facts: Facts) -> None:
    data, problem = read_query_analysis(path)
    if not isinstance(data, dict):
        facts.statements_gap = problem or f"{path.name} was not written (no database URL)"
        return
    db = _dict(data.get("database"))
    facts.max_connections = int(db["max_connections"]) if isinstance(
        db.get("max_connections"), int) else None
    work = data.get("workload")
    if not isinstance(work, dict):
        gaps = [g.get("reason") for g in data.get("not_measured") or [] if isinstance(g, dict)]
        facts.statements_gap = next((str(g) for g in gaps if g), "the report has no workload section")
    else:
        for raw in work.get("statements") or []:
            if not isinstance(raw, dict):
                continue
            calls, total = _num(raw.get("calls")), _num(raw.get("total_ms"))
            if not calls or total is None:
                continue
            facts.statements.append(Statement(
                query=str(raw.get("query", "")), kind=str(raw.get("kind", "statement")),
                calls=int(calls), total_ms=total, mean_ms=total / calls,
                rows=int(_num(raw.get("rows")) or 0), share=_num(raw.get("share_of_time")) or 0.0,
                rank={k: v for k, v in _dict(raw.get("rank")).items()
                      if isinstance(v, int) and not isinstance(v, bool)},
                merged=raw.get("merged") if isinstance(raw.get("merged"), str) else None,
                temp_blks_written=int(_num(raw.get("temp_blks_written")) or 0)))
    facts.counters = {str(k): int(v) for k, v in _dict(data.get("database_counters")).items()
                      if isinstance(v, int) and not isinstance(v, bool)}
    facts.index_advice = [a for a in data.get("index_advice") or [] if isinstance(a, dict)]
    facts.slow_queries = [q for q in data.get("slow_queries") or [] if isinstance(q, dict)]
    facts.seq_scans = [s for s in data.get("sequential_scans") or [] if isinstance(s, dict)]


def gather_activity(run_dir: Path, facts: Facts) -> None:
    """Waits, lock waiters and connections per application from db-activity.ndjson."""
    path = RunPaths(run_dir).db_activity
    samples = load_db_activity(run_dir)
    if not samples:
        facts.activity_gap = (f"{path.name} holds no sample (no database URL, or the sampler could "
                              "not connect)")
        return
    facts.activity_samples = len(samples)
    t0 = samples[0]["at"]
    waiters: list[tuple[float, list[dict[str, Any]]]] = []
    by_group: dict[str, list[tuple[float, dict[str, int]]]] = defaultdict(list)
    for s in samples:
        t = s["at"] - t0
        facts.waits.update(s["waits"])
        if s["lock_waits"]:
            waiters.append((t, s["lock_waits"]))
        for group, states in s["apps"].items():
            by_group[group].append((t, states))
    facts.locks = _lock_waits(len(samples), waiters, facts.waits)
    facts.apps = [a for g, seen in by_group.items() if (a := _app(g, seen)) is not None]
    facts.apps.sort(key=lambda a: a.plateau, reverse=True)


def _lock_waits(n: int, waiters: list[tuple[float, list[dict[str, Any]]]],
                waits: Counter[str]) -> LockWaits | None:
    if not waiters:
        return None
    queries: Counter[str] = Counter()
    relations: Counter[str] = Counter()
    blockers: Counter[str] = Counter()
    apps: Counter[str] = Counter()
    for _, lw in waiters:
        for w in lw:
            queries[str(w.get("query", ""))] += 1
            apps[str(w.get("app", ""))] += 1
            if w.get("relation"):
                relations[str(w["relation"])] += 1
            found = w.get("blockers")
            first = found[0] if isinstance(found, list) and found else {}
            if isinstance(first, dict):
                blockers[str(first.get("state", "unknown"))] += 1
    top, count = queries.most_common(1)[0]
    active = sum(waits.values())
    locked = sum(v for k, v in waits.items() if k.startswith("Lock:"))
    return LockWaits(
        samples=n, samples_with_waiters=len(waiters), max_waiters=max(len(lw) for _, lw in waiters),
        top_query=top, top_query_share=count / sum(queries.values()),
        relation=relations.most_common(1)[0][0] if relations else None,
        blocker_states=blockers, apps=apps, lock_share=locked / active if active else 0.0,
        from_s=waiters[0][0], to_s=waiters[-1][0])


def _app(group: str, samples: list[tuple[float, dict[str, int]]]) -> AppConnections | None:
    """The application's connections over the samples in which it was doing something: before
    load starts and after it ends a pool sits idle, which says nothing about its size under load."""
    seen = [(t, st) for t, st in samples if any(n for k, n in st.items() if k != "idle")]
    if len(seen) < MIN_APP_SAMPLES:
        return None
    totals = [sum(st.values()) for _, st in seen]
    plateau = max(totals)
    at = [st for (_, st), n in zip(seen, totals, strict=True) if n == plateau]
    busy = [st for st in at if st.get("idle", 0) == 0]
    return AppConnections(
        group=group, app=group.split("|", 1)[0], samples=len(seen), plateau=plateau,
        at_plateau=len(at) / len(seen), all_busy=len(busy) / len(seen),
        busy=mean(sum(n for k, n in st.items() if k != "idle") for _, st in seen) / plateau,
        idle_in_tx=mean(st.get("idle in transaction", 0) for _, st in seen),
        from_s=seen[0][0], to_s=seen[-1][0])


_SERVER = ("log",)
_CLIENT = ("k6", "artillery")


def _endpoints(endpoints: Mapping[str, Any] | None) -> list[EndpointLoad]:
    out = []
    for row in (endpoints or {}).get("rows") or []:
        if not isinstance(row, dict) or row.get("kind", "http") != "http":
            continue
        sources = _dict(row.get("sources"))
        log = _dict(sources.get("log")) or None
        client_name = next((n for n in _CLIENT if isinstance(sources.get(n), dict)
                            and _num(sources[n].get("p50_ms")) is not None), None)
        client = _dict(sources.get(client_name)) if client_name else None
        counted = next(((n, int(v["requests"])) for n in ("log", *_CLIENT)
                        if isinstance(v := sources.get(n), dict)
                        and isinstance(v.get("requests"), int) and v["requests"] > 0), None)
        errors = [int(v["errors"]) for n in _CLIENT if isinstance(v := sources.get(n), dict)
                  and isinstance(v.get("errors"), int)]
        out.append(EndpointLoad(
            endpoint=str(row.get("endpoint", "?")),
            requests=counted[1] if counted else None, requests_source=counted[0] if counted else None,
            client_p50_ms=_num(client.get("p50_ms")) if client else None,
            client_p95_ms=_num(client.get("p95_ms")) if client else None, client_source=client_name,
            server_p50_ms=_num(log.get("p50_ms")) if log else None,
            server_p95_ms=_num(log.get("p95_ms")) if log else None,
            server_requests=log.get("requests") if log and isinstance(log.get("requests"), int) else None,
            status_5xx=log.get("status_5xx") if log and isinstance(log.get("status_5xx"), int) else None,
            errors=max(errors) if errors else None))
    return out


FLOOR_PERCENTILE = 10


def _proxy(routes: dict[str, Any]) -> dict[str, ProxyTime]:
    out = {}
    for route, raw in routes.items():
        entry = _dict(raw)
        n = entry.get("upstream_n")
        answered = {str(k): int(v) for k, v in _dict(entry.get("proxy_answered")).items()
                    if isinstance(v, int)}
        if not (isinstance(n, int) and n > 0) and not answered:
            continue
        up, proxy = _num(entry.get("upstream_avg_ms")), _num(entry.get("proxy_avg_ms"))
        out[str(route)] = ProxyTime(n if isinstance(n, int) else 0, up or 0.0, proxy or 0.0, answered)
    return out


def _floors(routes: dict[str, Any], q: float = FLOOR_PERCENTILE) -> dict[str, Any]:
    """Per route, its request count and the time its fastest requests take (p10 of the access
    log's histogram): the work a route does on every request, whatever else it waits for."""
    out = {}
    for route, raw in routes.items():
        entry = _dict(raw)
        try:
            buckets = {int(k): int(v) for k, v in _dict(entry.get("buckets")).items()}
        except (TypeError, ValueError):
            continue
        floor = percentile(buckets, q)
        count = entry.get("latency_n") if isinstance(entry.get("latency_n"), int) else None
        if floor is not None and count:
            out[str(route)] = (count, floor) if q == FLOOR_PERCENTILE else floor
    return out


def _backend(path: Path) -> tuple[list[float], list[float], list[float]]:
    """The backend process's CPU (% of one core) and resident memory (MB), and the machine's CPU
    (%), second by second."""
    try:
        table = load_metrics(path.parent, path)
    except MetricsError:
        return [], [], []
    cpu, rss, host = ([v for v in table.column(name) or () if math.isfinite(v)]
                      for name in ("backend_cpu_pct", "backend_rss_mb", "cpu_pct"))
    return cpu, rss, host
