"""What the database's busy sessions wait on, when it is not a lock: reading from disk, writing
the WAL, PostgreSQL's own internal locks. Each is a different fix, so the dominant wait event is
named with what it usually means (the wait-event names are PostgreSQL's, as pg_stat_activity
shows them; lock waits are `lock_contention`'s).
"""

from __future__ import annotations

from perfdash.artifacts import DB_ACTIVITY_NDJSON
from perfdash.diagnose.facts import Facts
from perfdash.diagnose.model import Evidence, Finding, Gap
from perfdash.diagnose.rules.common import pct

ID = "database-waits"
MIN_SHARE = 0.3  # of the active session observations
MIN_ACTIVE = 1.0  # active sessions per sample on average: a lone query waiting is no pattern

# wait event type (or type:event prefix) -> (what it means, what to do)
MEANINGS: dict[str, tuple[str, str]] = {
    "IO:WAL": ("commits wait for the write-ahead log to reach the disk",
               "batch writes into fewer transactions, use synchronous_commit = off where losing the "
               "last few commits on a crash is acceptable, or give the WAL a faster disk"),
    "IO": ("statements wait for data pages read from disk: the rows they touch are not in memory",
           "read fewer pages (an index that fits the query, fewer columns and rows), or give "
           "PostgreSQL more memory (shared_buffers, and the OS cache beside it)"),
    "LWLock": ("sessions queue on PostgreSQL's internal locks (buffer mapping, WAL insertion, the lock "
               "manager): many connections working on the same pages at once",
               "fewer concurrent connections doing the work (a pool sized to the cores), and batch "
               "what is written to the same rows or pages"),
    "BufferPin": ("sessions wait to pin a buffer another session holds (often VACUUM against a "
                  "long-running scan)", "shorten long-running queries and transactions"),
    "IPC": ("sessions wait for other processes (parallel query workers, replication)",
            "look at parallel query settings and at synchronous replication"),
}


def _meaning(wait: str) -> tuple[str, str] | None:
    for prefix in sorted(MEANINGS, key=len, reverse=True):
        if wait.startswith(prefix):
            return MEANINGS[prefix]
    return None


def find(facts: Facts) -> list[Finding] | Gap:
    if facts.activity_gap:
        return Gap(ID, f"once-a-second database activity samples: {facts.activity_gap}")
    total = sum(facts.waits.values())
    samples = facts.activity_samples
    if not total:
        return []
    by_type: dict[str, int] = {}
    for wait, n in facts.waits.items():
        if wait == "CPU" or wait.startswith("Lock:") or wait.startswith("Client:"):
            continue
        key = "IO:WAL" if wait.startswith("IO:WAL") else wait.split(":", 1)[0]
        by_type[key] = by_type.get(key, 0) + n
    out = []
    for key, n in sorted(by_type.items(), key=lambda kv: -kv[1]):
        meaning = _meaning(key)
        if meaning is None or n / total < MIN_SHARE:
            continue
        if samples and n / samples < MIN_ACTIVE:
            continue
        events = ", ".join(f"{w} {c}" for w, c in facts.waits.most_common()
                           if (w.startswith(key + ":") or w.startswith(key)) and c)[:200]
        out.append(Finding(
            ID, f"The database's busy sessions spend {pct(n / total)} of their time waiting on {key}",
            n / total, meaning[0], meaning[1], "medium",
            [Evidence(f"{n:,} of {total:,} active-session observations waited on {key} ({events})",
                      DB_ACTIVITY_NDJSON)]))
    return out
