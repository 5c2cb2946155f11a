"""The database report of a run: what `query-analysis.json` says happened between two snapshots.

The run controller calls `build_query_analysis` after load with the snapshots from
`perfdash.collect.dbstats` and writes the returned dict. Counts are window deltas, so statements that
ran before load started do not count. Plans come from EXPLAIN without ANALYZE, which plans a
statement without running it, in a read-only transaction that is always rolled back; if the
database is gone by then, the report is built from the snapshots alone. A statement that gets no
plan always carries one sentence saying why (`plan_error`, also in its hint), because a silently
missing plan reads as "nothing to see here". What a plan says about indexes is worked out in
`perfdash.analyze.plan_hints` and `perfdash.analyze.index_shapes`; each advised index is then tried
on the planner with HypoPG (`perfdash.analyze.hypo`, through the EXPLAIN session in
`perfdash.analyze.explainer`), and the advice says "verified" only when the plan would use it and
cost less. `index_advice` lists every advised index with that verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from perfdash.analyze.explainer import Explainer, is_read_query, open_explainer
from perfdash.analyze.plan_hints import scan_advice
from perfdash.analyze.plan_nodes import plan_nodes, plan_scans
from perfdash.analyze.workload import workload
from perfdash.collect.dbstats import DbSnapshot, StatementStats, TableStats, is_own_statement
from perfdash.secret import Secret

SCHEMA_VERSION: Final = 1


@dataclass(frozen=True)
class WindowStatement:
    """A statement's activity between the two snapshots."""

    stats: StatementStats
    calls: int
    total_ms: float
    rows: int
    max_ms: float | None  # exact only when a new maximum was set inside the window
    shared_blks_hit: int = 0
    shared_blks_read: int = 0
    temp_blks_written: int = 0

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls

    @property
    def queryid(self) -> str:
        return self.stats.queryid

    @property
    def query(self) -> str:
        return self.stats.query


@dataclass(frozen=True)
class TableWindow:
    """A table's scan counters between the two snapshots."""

    table: TableStats
    seq_scan: int
    seq_tup_read: int
    idx_scan: int | None  # None while the table has no index


def build_query_analysis(
    url: Secret | None,
    before: DbSnapshot,
    after: DbSnapshot,
    *,
    slow_ms: float = 100.0,
    max_plans: int = 10,
    min_table_rows: int = 1000,
    timeout_s: float = 5.0,
) -> dict[str, Any]:
    """The JSON-ready report; never raises for a missing extension or an unreachable database.

    Statements whose mean time inside the window exceeds `slow_ms` are slow; the `max_plans` with
    the most total time get a plan. Tables smaller than `min_table_rows` are left out of sequential
    scans because scanning them is cheaper than using an index. Up to `max_plans` further window
    statements that mention a seq-scanned table are explained to name the filtered column.

    pg_stat_statements keeps only an all-time maximum, so `max_ms` is given when the window set a
    new maximum (then it is the window's) and is null otherwise. Every value is a plain JSON type;
    `queryid` is a string because it is a signed 64-bit number.
    """
    not_measured: list[dict[str, str]] = []
    window = _window_statements(before, after, not_measured)
    slow = sorted(
        (w for w in window if w.mean_ms > slow_ms), key=lambda w: w.total_ms, reverse=True
    )
    scanned = _scanned_tables(before, after, min_table_rows)

    explainer = open_explainer(url, timeout_s)
    advice: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        slow_entries, findings = _explain_slow(explainer, slow, max_plans, advice)
        unexplained = _explain_for_tables(
            explainer, window, slow, scanned, findings, max_plans, advice,
        )
    finally:
        if explainer.conn is not None:
            explainer.conn.close()
    if explainer.unavailable and (slow or scanned):
        not_measured.append({"what": "query plans", "reason": explainer.unavailable})

    return {
        "schema_version": SCHEMA_VERSION,
        "window": {"started_at": before.taken_at, "ended_at": after.taken_at},
        "database": {
            "server_version": after.server_version,
            "max_connections": after.max_connections,
            "pg_stat_statements": before.statements_available and after.statements_available,
        },
        "slow_queries": slow_entries,
        "sequential_scans": [_table_entry(t, findings, unexplained) for t in scanned],
        "workload": workload(window),
        "database_counters": counter_deltas(before, after),
        "index_advice": list(advice.values()),
        "not_measured": not_measured,
        "thresholds": {"slow_query_ms": slow_ms, "min_table_rows": min_table_rows},
    }


def counter_deltas(before: DbSnapshot, after: DbSnapshot) -> dict[str, int]:
    """pg_stat_database over the window (deadlocks, temp files, sessions opened…); a counter that
    shrank was reset, so it is left out rather than reported negative."""
    return {k: after.counters[k] - v for k, v in before.counters.items()
            if k in after.counters and after.counters[k] >= v}


def _window_statements(
    before: DbSnapshot, after: DbSnapshot, not_measured: list[dict[str, str]],
) -> list[WindowStatement]:
    """Per-statement deltas; an entry that shrank was reset or evicted, so all of it is new."""
    for snap, when in ((before, "when load started"), (after, "when load ended")):
        if not snap.statements_available:
            not_measured.append({
                "what": "slow queries",
                "reason": f"{when}, {snap.statements_reason or 'pg_stat_statements was unavailable'}",
            })
            return []
    if after.hidden_statements:
        not_measured.append({
            "what": "statements of other roles",
            "reason": f"{after.hidden_statements} statements of other roles are hidden from this "
            "role; GRANT pg_read_all_stats to the role in PERF_DATABASE_URL to include them.",
        })
    if before.statements_reset_at != after.statements_reset_at:
        not_measured.append({
            "what": "statements before the pg_stat_statements reset",
            "reason": f"pg_stat_statements was reset at {after.statements_reset_at}, during the "
            "run; calls before that moment are missing from the window.",
        })
    result = []
    for qid, now in after.statements.items():
        if is_own_statement(now.query):
            continue
        then = before.statements.get(qid)
        if then is None or now.calls < then.calls:
            then = None
        calls = now.calls - (then.calls if then else 0)
        if calls <= 0:
            continue
        grew = then is None or now.max_exec_time > then.max_exec_time
        result.append(WindowStatement(
            stats=now, calls=calls,
            total_ms=max(0.0, now.total_exec_time - (then.total_exec_time if then else 0.0)),
            rows=now.rows - (then.rows if then else 0),
            max_ms=now.max_exec_time if grew else None,
            shared_blks_hit=max(0, now.shared_blks_hit - (then.shared_blks_hit if then else 0)),
            shared_blks_read=max(0, now.shared_blks_read - (then.shared_blks_read if then else 0)),
            temp_blks_written=max(0, now.temp_blks_written - (then.temp_blks_written if then else 0)),
        ))
    return result


def _scanned_tables(before: DbSnapshot, after: DbSnapshot, min_rows: int) -> list[TableWindow]:
    """Tables with new sequential scans, most rows read first; a counter that shrank was reset."""
    found = []
    for key, now in after.tables.items():
        then = before.tables.get(key)
        if then is None or now.seq_scan < then.seq_scan:
            then = None
        seq = now.seq_scan - (then.seq_scan if then else 0)
        if seq <= 0 or now.n_live_tup < min_rows:
            continue
        idx = None
        if now.idx_scan is not None:
            idx = now.idx_scan - ((then.idx_scan or 0) if then else 0)
        found.append(TableWindow(
            table=now, seq_scan=seq,
            seq_tup_read=now.seq_tup_read - (then.seq_tup_read if then else 0), idx_scan=idx,
        ))
    return sorted(found, key=lambda t: t.seq_tup_read, reverse=True)


def _explain_slow(
    explainer: Explainer, slow: list[WindowStatement], max_plans: int,
    advice: dict[tuple[str, str], dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Entries for slow statements, plus plan findings per table for the seq-scan section."""
    entries = []
    findings: dict[str, list[str]] = {}
    for rank, w in enumerate(slow):
        if rank < max_plans:
            plan, error = explainer.plan(w.stats.query)
        else:
            plan, error = None, (
                f"not explained: plans are limited to the {max_plans} statements with the most "
                "total time"
            )
        hints = _plan_hints(explainer, w, plan, findings, advice) if plan else []
        entries.append({
            "queryid": w.stats.queryid,
            "query": w.stats.query,
            "calls": w.calls,
            "mean_ms": round(w.mean_ms, 3),
            "max_ms": None if w.max_ms is None else round(w.max_ms, 3),
            "total_ms": round(w.total_ms, 3),
            "rows": w.rows,
            "plan": plan,
            "plan_error": error,
            "hint": _statement_hint(w, plan, hints, error),
        })
    return entries, findings


def _explain_for_tables(
    explainer: Explainer, window: list[WindowStatement], slow: list[WindowStatement],
    scanned: list[TableWindow], findings: dict[str, list[str]],
    max_plans: int, advice: dict[tuple[str, str], dict[str, Any]], per_table: int = 3,
) -> dict[str, str]:
    """Explain the statements with the most total time that mention a seq-scanned table.

    The slow statements are already explained, but a fast query run thousands of times usually
    causes most of a table's sequential scans, so its finding comes first in the table's hint.
    Returns, per table, why the first of its statements that got no plan got none.
    """
    unexplained: dict[str, str] = {}
    if explainer.conn is None:
        return unexplained
    slow_ids = {w.stats.queryid for w in slow}
    budget = max_plans
    for scan in scanned:
        table = scan.table
        pattern = re.compile(rf"\b{re.escape(table.name)}\b", re.I)
        frequent: dict[str, list[str]] = {}
        explained = 0
        for w in sorted(window, key=lambda w: w.total_ms, reverse=True):
            if budget <= 0 or explained >= per_table:
                break
            if w.stats.queryid in slow_ids or not pattern.search(w.stats.query):
                continue
            if not is_read_query(w.stats.query):
                continue
            budget -= 1
            explained += 1
            plan, error = explainer.plan(w.stats.query)
            if plan:
                _plan_hints(explainer, w, plan, frequent, advice)
            elif error:
                unexplained.setdefault(table.display_name, error)
        for name, hints in frequent.items():
            findings[name] = hints + findings.get(name, [])
    return unexplained


def _plan_hints(
    explainer: Explainer, w: WindowStatement, plan: list[Any], findings: dict[str, list[str]],
    advice: dict[tuple[str, str], dict[str, Any]],
) -> list[str]:
    """Plain-words findings for each scan that reads a whole table; also filed per table.

    An advised index is tried with HypoPG and its finding carries the verdict; `advice` gets one
    entry per statement and index.
    """
    hints = []
    for node, order in plan_scans(plan):
        schema, name = str(node.get("Schema", "public")), str(node["Relation Name"])
        columns, indexes = explainer.table_columns(schema, name)
        found = scan_advice(node, schema, name, columns, indexes, order)
        if found is None:
            continue
        checked = explainer.verify(w.stats.query, found)
        if found.only_if_verified and (checked is None or not checked[1].verified):
            continue
        if checked is None:
            hint = found.hint()
        else:
            candidate, verdict = checked
            hint = found.hint(candidate, verdict.text())
            advice.setdefault((w.stats.queryid, candidate.create_index), {
                "queryid": w.stats.queryid,
                "statement": w.stats.query,
                "table": found.table,
                "create_index": candidate.create_index,
                "kind": candidate.kind,
                "verified": verdict.verified,
                "cost_before": verdict.cost_before,
                "cost_after": verdict.cost_after,
                "not_verified": verdict.not_verified,
            })
        hints.append(hint)
        findings.setdefault(found.table, []).append(hint)
    return hints


def _statement_hint(
    w: WindowStatement, plan: list[Any] | None, hints: list[str], error: str | None,
) -> str:
    per_call = f"{w.mean_ms:.0f} ms per call over {w.calls} call{'' if w.calls == 1 else 's'}"
    if hints:
        return "; ".join(dict.fromkeys(hints))
    if plan is None and error:  # summary.md shows the hint alone, so it carries the reason too
        return f"{per_call}; {error}, so run EXPLAIN on it with typical values"
    if plan is None:
        return f"{per_call}; without a plan, run EXPLAIN on it with typical values"
    if not any("Relation Name" in node for node in plan_nodes(plan)):
        return (
            f"{per_call}, yet the plan reads no table: the time goes to the functions it calls "
            "(such as pg_sleep) or to waiting for locks"
        )
    rows = w.rows / w.calls
    if rows >= 1000:
        return f"{per_call}, returning {rows:.0f} rows per call: fetch fewer rows or paginate"
    return (
        f"{per_call}; the plan has no unindexed filter, so check lock waits and I/O "
        "(pg_stat_activity wait_event) while load runs"
    )


def _table_entry(
    scan: TableWindow, findings: dict[str, list[str]], unexplained: dict[str, str],
) -> dict[str, Any]:
    name = scan.table.display_name
    read = f"{name} was read sequentially {scan.seq_scan} times ({scan.seq_tup_read} rows)"
    if name in findings:
        hint = f"{read}; {'; '.join(dict.fromkeys(findings[name]))}"
    elif name in unexplained:
        hint = (
            f"{read}; look for a WHERE column without an index (a statement that reads it got "
            f"no plan: {unexplained[name].removeprefix('not explained: ')})"
        )
    else:
        hint = f"{read}; look for a WHERE column without an index"
    return {
        "table": name,
        "seq_scan": scan.seq_scan,
        "seq_tup_read": scan.seq_tup_read,
        "idx_scan": scan.idx_scan,
        "n_live_tup": scan.table.n_live_tup,
        "size_bytes": scan.table.size_bytes,
        "hint": hint,
    }
