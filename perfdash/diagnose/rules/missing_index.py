"""Missing indexes: a statement that reads a whole table where an index would read a few rows.

Advice comes from query-analysis.json: `index_advice` (an index that fits the predicate, verified
with a hypothetical index where HypoPG is available) or, from an older report, the sequential-scan
hints. A verified advice states the planner's cost before and after; an unverified one says why.
"""

from __future__ import annotations

from typing import Any

from perfdash.artifacts import QUERY_ANALYSIS_JSON
from perfdash.diagnose.facts import Facts, Statement
from perfdash.diagnose.model import Evidence, Finding, Gap
from perfdash.diagnose.rules.common import ms, short

ID = "missing-index"
SOURCE = QUERY_ANALYSIS_JSON


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _count(v: Any) -> str:
    """A count from the report, or ? when an edited report lacks it."""
    n = _num(v)
    return f"{n:,.0f}" if n is not None else "?"


def _statement(facts: Facts, text: str) -> Statement | None:
    wanted = " ".join(text.split())
    return next((s for s in facts.statements if " ".join(s.query.split()) == wanted), None)


def _from_advice(facts: Facts, advice: dict[str, Any]) -> Finding | None:
    create = advice.get("create_index")
    if not isinstance(create, str):
        return None
    table = str(advice.get("table", "?"))
    text = str(advice.get("statement", ""))
    stmt = _statement(facts, text)
    before, after = _num(advice.get("cost_before")), _num(advice.get("cost_after"))
    verified = advice.get("verified") is True and before is not None and after is not None
    evidence = []
    scan = next((s for s in facts.seq_scans if s.get("table") == table), None)
    if scan is not None:
        evidence.append(Evidence(
            f"{table} was read sequentially {scan.get('seq_scan')} times "
            f"({_count(scan.get('seq_tup_read'))} rows read, {_count(scan.get('n_live_tup'))} live "
            "rows)", SOURCE))
    if stmt is not None:
        evidence.append(Evidence(
            f"`{short(stmt.query, 80)}`: {stmt.calls:,} calls, mean {ms(stmt.mean_ms)}", SOURCE))
    if verified and before is not None and after is not None:
        check = f"verified with a hypothetical index: plan cost {before:,.1f} → {after:,.1f}"
    else:
        check = f"not verified: {advice.get('not_verified') or 'no hypothetical index was tried'}"
    evidence.append(Evidence(check, SOURCE))
    kind = str(advice.get("kind", "column"))
    # what the index can save: the statement's share of time, scaled by how much cheaper its plan gets
    saved = 1.0 - after / before if verified and before and after is not None and before > 0 else 0.5
    return Finding(
        ID, f"Missing index on {table}: `{short(text, 80)}` reads the whole table; "
        f"{create}" + (f" (cost {before:,.0f} → {after:,.1f})" if verified and before and after else ""),
        (stmt.share if stmt else 0.0) * max(0.0, saved),
        f"no index matches the statement's predicate ({kind}), so every call scans {table}",
        f"{create}" + ("" if verified else " — check it with EXPLAIN before relying on it"),
        "high" if verified else "medium", evidence, statement=text or None)


def _from_scan(scan: dict[str, Any]) -> Finding | None:
    hint = str(scan.get("hint", ""))
    if "CREATE INDEX" not in hint:
        return None
    table = str(scan.get("table", "?"))
    create = hint[hint.index("CREATE INDEX"):].split(")", maxsplit=1)[0] + ")"
    return Finding(
        ID, f"Missing index on {table}: read sequentially {scan.get('seq_scan')} times; {create}",
        0.0, f"a WHERE column of {table} has no index, so statements scan the table",
        f"{create} — not verified: the report has no index advice", "low",
        [Evidence(hint, SOURCE)])


def find(facts: Facts) -> list[Finding] | Gap:
    if facts.statements_gap and not facts.statements and not facts.seq_scans:
        return Gap(ID, f"the run's database report: {facts.statements_gap}")
    out: list[Finding] = []
    if facts.index_advice:
        seen: set[str] = set()
        for advice in facts.index_advice:
            f = _from_advice(facts, advice)
            if f is not None and f.fix not in seen:
                seen.add(f.fix)
                out.append(f)
        return out
    for scan in facts.seq_scans:
        f = _from_scan(scan)
        if f is not None:
            out.append(f)
    return out
