"""Slow statements no other rule explains: a large share of the database's time in statements whose
plan reads no table (the time goes to functions they call, such as pg_sleep, or to waits) or whose
plan an index would not change much. The plan's own hint says what it saw."""

from __future__ import annotations

from perfdash.artifacts import QUERY_ANALYSIS_JSON
from perfdash.diagnose.facts import Facts
from perfdash.diagnose.model import Evidence, Finding, Gap
from perfdash.diagnose.rules.common import ms, pct, rank_words, short

ID = "slow-statement"
MIN_SHARE = 0.10  # of all statement time
INDEXED_GAIN = 0.5  # a verified index that halves the cost is the missing-index finding's story
LOCKING = ("for update", "for share", "for no key update")


def _explained_elsewhere(facts: Facts, query: str) -> bool:
    text = " ".join(query.split())
    if any(word in text.lower() for word in LOCKING) and facts.locks is not None:
        return True
    for advice in facts.index_advice:
        if " ".join(str(advice.get("statement", "")).split()) != text:
            continue
        before, after = advice.get("cost_before"), advice.get("cost_after")
        if advice.get("verified") is True and isinstance(before, int | float) \
                and isinstance(after, int | float) and before > 0 and after / before <= INDEXED_GAIN:
            return True
    return False


def find(facts: Facts) -> list[Finding] | Gap:
    if facts.statements_gap and not facts.statements:
        return Gap(ID, f"the run's statement workload: {facts.statements_gap}")
    out = []
    for q in facts.slow_queries:
        text = str(q.get("query", ""))
        stmt = next((s for s in facts.statements
                     if " ".join(s.query.split()) == " ".join(text.split())), None)
        if stmt is None or stmt.share < MIN_SHARE or _explained_elsewhere(facts, text):
            continue
        hint = str(q.get("hint") or q.get("plan_error") or "")
        out.append(Finding(
            ID, f"`{short(text, 80)}` takes {ms(stmt.mean_ms)} per call, {pct(stmt.share)} of all "
            "statement time",
            stmt.share,
            hint or "the plan does not show why",
            "run EXPLAIN (ANALYZE, BUFFERS) on it with typical values; if its plan reads no table, "
            "the time goes to the functions it calls or to waits (see the database waits)",
            "medium",
            [Evidence(f"{stmt.calls:,} calls, mean {ms(stmt.mean_ms)}, {stmt.total_ms / 1000:,.1f} s in "
                      f"all ({rank_words(stmt.rank)})", QUERY_ANALYSIS_JSON)],
            statement=text))
    return out
