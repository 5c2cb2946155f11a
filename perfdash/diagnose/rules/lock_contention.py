"""Lock contention: sessions waiting for a lock in a fair share of the samples.

The blocker's state names the cause. `idle in transaction` means a transaction took the lock and
the application went off to do something else (an HTTP call, a sleep, a slow computation) before
committing, so every other transaction on that row queues behind it: the waiting statement's mean
is then the holder's outside work, not the database's.
"""

from __future__ import annotations

from perfdash.artifacts import DB_ACTIVITY_NDJSON, QUERY_ANALYSIS_JSON
from perfdash.diagnose.facts import Facts
from perfdash.diagnose.model import Confidence, Evidence, Finding, Gap
from perfdash.diagnose.rules.common import ms, pct, rank_words, short

ID = "lock-contention"
MIN_SAMPLES_WITH_WAITERS = 3
MIN_SHARE = 0.05  # of the samples
SOURCE = DB_ACTIVITY_NDJSON


def find(facts: Facts) -> list[Finding] | Gap:
    if facts.activity_gap:
        return Gap(ID, f"once-a-second database activity samples: {facts.activity_gap}")
    locks = facts.locks
    if locks is None or locks.samples_with_waiters < MIN_SAMPLES_WITH_WAITERS \
            or locks.samples_with_waiters / locks.samples < MIN_SHARE:
        return []
    seen = sum(locks.blocker_states.values())
    idle_tx = (locks.blocker_states.get("idle in transaction", 0)
               + locks.blocker_states.get("idle in transaction (aborted)", 0)) / seen if seen else 0.0
    stmt = facts.statement_like(locks.top_query)
    where = f" on {locks.relation}" if locks.relation else ""
    title = (f"Lock contention{where}: up to {locks.max_waiters} sessions waited for a lock in "
             f"{pct(locks.samples_with_waiters / locks.samples)} of the samples, on "
             f"`{short(locks.top_query, 80)}`")
    evidence = [Evidence(
        f"{locks.samples_with_waiters} of {locks.samples} once-a-second samples had sessions waiting "
        f"for a lock (at most {locks.max_waiters} at once); {pct(locks.lock_share)} of the active "
        "sessions seen were waiting on a lock", SOURCE, locks.from_s, locks.to_s)]
    if stmt is not None:
        evidence.append(Evidence(
            f"the waiting statement ran {stmt.calls:,} times, mean {ms(stmt.mean_ms)}, "
            f"{stmt.total_ms / 1000:,.1f} s in all ({rank_words(stmt.rank)}; "
            f"{pct(stmt.share)} of all statement time)", QUERY_ANALYSIS_JSON))
    if seen:
        states = ", ".join(f"{s} {pct(n / seen)}" for s, n in locks.blocker_states.most_common())
        evidence.append(Evidence(f"the session holding the lock was: {states}", SOURCE,
                                 locks.from_s, locks.to_s))
    if idle_tx >= 0.5:
        title += "; the holder sat idle in transaction"
        cause = ("a transaction holds the lock while the application does something else (an "
                 "outside call, a sleep, slow code) before it commits, so every other transaction "
                 "on the same row queues behind it")
        fix = ("commit before the slow work: do the outside call before BEGIN or after COMMIT and "
               "keep the locked section to the statements that need it; if many requests update "
               "one row, spread it (per-shard counters, an append-only ledger) or use SKIP LOCKED / "
               "NOWAIT where waiting is not needed; set idle_in_transaction_session_timeout as a guard")
    else:
        cause = ("transactions update the same rows at the same time and the holder's own "
                 "statements are slow, so the others queue")
        fix = ("shorten the transactions that lock these rows (index their WHERE clauses, lock "
               "last, commit sooner) or avoid a shared hot row")
    impact = max(locks.lock_share, stmt.share if stmt else 0.0)
    confidence: Confidence = "high" if stmt is not None and locks.samples_with_waiters >= 5 else "medium"
    return [Finding(ID, title, impact, cause, fix, confidence, evidence,
                    statement=stmt.query if stmt else locks.top_query)]
