"""The database report of a run: what `query-analysis.json` says happened between two snapshots.

The run controller calls `build_query_analysis` after load with the snapshots from
`perfdash.collect.dbstats` and writes the returned dict. Counts are window deltas, so statements that
ran before load started do not count. Plans come from EXPLAIN without ANALYZE, which plans a
statement without running it, in a read-only transaction that is always rolled back; if the
database is gone by then, the report is built from the snapshots alone. A statement that gets no
plan always carries one sentence saying why (`plan_error`, also in its hint), because a silently
missing plan reads as "nothing to see here". What a plan says about indexes is worked out in
`perfdash.analyze.plan_hints` and `perfdash.analyze.index_shapes`; each advised index is then tried
on the planner with HypoPG (`perfdash.analyze.hypo`), and the advice says "verified" only when the
plan would use it and cost less. `index_advice` lists every advised index with that verdict.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg

from perfdash.analyze.hypo import HypoChecker, Prepared, Verdict
from perfdash.analyze.index_shapes import normalised
from perfdash.analyze.plan_hints import (
    IndexCandidate,
    ScanAdvice,
    TableIndexes,
    index_kinds,
    preparable,
    scan_advice,
)
from perfdash.analyze.workload import workload
from perfdash.collect.dbstats import (
    MARKER,
    DbSnapshot,
    DbStatsError,
    StatementStats,
    TableStats,
    connect,
    is_own_statement,
)
from perfdash.secret import Secret

SCHEMA_VERSION: Final = 1
_PARAM = re.compile(r"\$(\d+)")
_LEADING_NOISE = re.compile(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/|\()*", re.S)
_READ_QUERY = re.compile(r"(?:select|with)\b", re.I)
# Nodes between a Sort and the scan below it that keep the scan's row order meaningful to the sort.
_PASS_THROUGH = frozenset({"Limit", "Gather", "Gather Merge", "Result", "Sort", "Incremental Sort"})


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


@dataclass
class _Explainer:
    """EXPLAINs normalised statements over one session, or says why it cannot."""

    conn: psycopg.Connection[tuple[Any, ...]] | None
    unavailable: str | None
    columns: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    indexes: dict[tuple[str, str], TableIndexes] = field(default_factory=dict)
    hypo: HypoChecker | None = None

    def __post_init__(self) -> None:
        if self.conn is not None:
            self.hypo = HypoChecker(self.conn)

    def plan(self, query: str) -> tuple[list[Any] | None, str | None]:
        if self.conn is None:
            return None, self.unavailable
        if not _is_read_query(query):
            return None, "not explained: only SELECT and WITH statements get a plan"
        if ";" in query:
            return None, "not explained: the statement text contains ';'"
        statement = _prepared(query)
        text, args = statement.text, statement.args
        prepared = False
        try:
            with self.conn.transaction(force_rollback=True):
                self.conn.execute(f"/* {MARKER} */ SET TRANSACTION READ ONLY")
                # The normalised text has $n placeholders; a generic plan needs no values for them.
                self.conn.execute(f"/* {MARKER} */ SET LOCAL plan_cache_mode = force_generic_plan")
                try:
                    self.conn.execute(f"PREPARE perfdash_explain AS {text}")
                except psycopg.Error as exc:
                    return None, (
                        "not explained: PostgreSQL could not plan the normalised text "
                        f"({_gist(exc)})"
                    )
                prepared = True
                row = self.conn.execute(
                    f"EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE perfdash_explain{args}"
                ).fetchone()
        except psycopg.Error as exc:
            return None, f"not explained: EXPLAIN failed ({_gist(exc)})"
        finally:
            if prepared:  # PREPARE outlives the rollback
                self._quietly("DEALLOCATE perfdash_explain")
        if row is None or not isinstance(row[0], list):
            return None, "not explained: EXPLAIN returned no plan"
        return row[0], None

    def table_columns(self, schema: str, name: str) -> tuple[list[str], TableIndexes]:
        """Column names of a table and the columns that lead its indexes, by kind (cached)."""
        key = (schema, name)
        if key not in self.columns and self.conn is not None:
            try:
                cols = self.conn.execute(
                    f"SELECT /* {MARKER} */ a.attname FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 "
                    "AND NOT a.attisdropped ORDER BY a.attnum",
                    (schema, name),
                ).fetchall()
                relabelled = self.conn.execute(
                    f"SELECT /* {MARKER} */ a.attname FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 "
                    "AND NOT a.attisdropped AND a.atttypid = 'varchar'::regtype",
                    (schema, name),
                ).fetchall()
                # Every key of every btree index, expressions included, to tell which shapes exist.
                btree = self.conn.execute(
                    f"SELECT /* {MARKER} */ array(SELECT pg_get_indexdef(i.indexrelid, k, true) "
                    "FROM generate_series(1, i.indnkeyatts) k ORDER BY k) "
                    "FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "JOIN pg_class ic ON ic.oid = i.indexrelid "
                    "JOIN pg_am am ON am.oid = ic.relam "
                    "WHERE n.nspname = %s AND c.relname = %s AND am.amname = 'btree' "
                    "AND i.indpred IS NULL",
                    (schema, name),
                ).fetchall()
                # The collation decides whether a plain btree serves LIKE 'term%': only in C/POSIX.
                lead = self.conn.execute(
                    f"SELECT /* {MARKER} */ a.attname, am.amname, opc.opcname, "
                    "CASE WHEN coll.collname = 'default' THEN (SELECT datcollate FROM pg_database "
                    "WHERE datname = current_database()) ELSE coll.collname END "
                    "FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "JOIN pg_class ic ON ic.oid = i.indexrelid "
                    "JOIN pg_am am ON am.oid = ic.relam "
                    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                    "LEFT JOIN pg_opclass opc ON opc.oid = i.indclass[0] "
                    "LEFT JOIN pg_collation coll ON coll.oid = i.indcollation[0] "
                    "WHERE n.nspname = %s AND c.relname = %s",
                    (schema, name),
                ).fetchall()
            except psycopg.Error:
                cols, lead, relabelled, btree = [], [], [], []
            self.columns[key] = [str(r[0]) for r in cols]
            self.indexes[key] = dataclasses.replace(
                index_kinds(lead),
                btree_keys=frozenset(tuple(normalised(str(k)) for k in r[0]) for r in btree),
                relabelled=frozenset(str(r[0]) for r in relabelled),
            )
        return self.columns.get(key, []), self.indexes.get(key, TableIndexes())

    def verify(self, query: str, advice: ScanAdvice) -> tuple[IndexCandidate, Verdict] | None:
        """The candidate to advise and HypoPG's verdict on it: the verified one that costs least,
        else the first (with why it is not verified)."""
        if not advice.candidates or self.hypo is None:
            return None
        verdicts = self.hypo.verify(
            _prepared(query), [c.create_index for c in advice.candidates],
        )
        pairs = list(zip(advice.candidates, verdicts, strict=True))
        verified = [p for p in pairs if p[1].verified]
        if verified:
            return min(verified, key=lambda p: p[1].cost_after or 0.0)
        return pairs[0]

    def _quietly(self, statement: str) -> None:
        if self.conn is None:
            return
        with contextlib.suppress(psycopg.Error):
            self.conn.execute(statement)


def _prepared(query: str) -> Prepared:
    """The text to PREPARE and the NULL arguments its generic plan needs.

    PREPARE works on every version; PostgreSQL 16's EXPLAIN (GENERIC_PLAN) would save it but parses
    with the same grammar, so the typed-literal rewrite is needed either way.
    """
    nparams = max((int(n) for n in _PARAM.findall(query)), default=0)
    args = f"({', '.join(['NULL'] * nparams)})" if nparams else ""
    return Prepared(preparable(query), args)


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

    explainer = _open_explainer(url, timeout_s)
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


def _open_explainer(url: Secret | None, timeout_s: float) -> _Explainer:
    if url is None:
        return _Explainer(None, "no database URL was given when the report was built")
    try:
        return _Explainer(connect(url, timeout_s), None)
    except DbStatsError as exc:
        return _Explainer(None, f"the database was unreachable when the report was built: {exc}")


def _explain_slow(
    explainer: _Explainer, slow: list[WindowStatement], max_plans: int,
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
    explainer: _Explainer, window: list[WindowStatement], slow: list[WindowStatement],
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
            if not _is_read_query(w.stats.query):
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
    explainer: _Explainer, w: WindowStatement, plan: list[Any], findings: dict[str, list[str]],
    advice: dict[tuple[str, str], dict[str, Any]],
) -> list[str]:
    """Plain-words findings for each scan that reads a whole table; also filed per table.

    An advised index is tried with HypoPG and its finding carries the verdict; `advice` gets one
    entry per statement and index.
    """
    hints = []
    for node, order in _scans(plan):
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


def _scans(plan: list[Any]) -> list[tuple[dict[str, Any], list[str]]]:
    """Every scan node, with the Sort Key of a sort above it that its row order could make unneeded.

    Only Limit, Gather and the like may stand between: above a join or an aggregate the order
    of one table's rows no longer decides the order of the output.
    """
    found: list[tuple[dict[str, Any], list[str]]] = []
    stack: list[tuple[dict[str, Any], list[str]]] = [
        (entry["Plan"], []) for entry in plan if isinstance(entry, dict) and "Plan" in entry
    ]
    while stack:
        node, order = stack.pop()
        kind = str(node.get("Node Type"))
        if "Relation Name" in node:
            found.append((node, order))
        if kind in ("Sort", "Incremental Sort"):
            order = [str(k) for k in node.get("Sort Key", [])]
        elif kind not in _PASS_THROUGH:
            order = []
        stack.extend((child, order) for child in reversed(node.get("Plans", [])))
    return found


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
    if not any("Relation Name" in node for node in _walk(plan)):
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


def _walk(plan: list[Any]) -> list[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) result, depth first."""
    nodes: list[dict[str, Any]] = []
    stack = [entry["Plan"] for entry in plan if isinstance(entry, dict) and "Plan" in entry]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(reversed(node.get("Plans", [])))
    return nodes


def _is_read_query(query: str) -> bool:
    return _READ_QUERY.match(_LEADING_NOISE.sub("", query, count=1)) is not None


def _gist(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
