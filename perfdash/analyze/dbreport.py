"""query-analysis.json into checks: slow queries and sequential scans are findings to read (warn),
and a database report that could not be made is "not measured", never a pass.
"""

from __future__ import annotations

import csv
from pathlib import Path

from perfdash.analyze.checks import Check
from perfdash.artifacts import open_regular
from perfdash.collect.report_files import read_query_analysis
from perfdash.diagnose.facts import Facts
from perfdash.diagnose.gather import gather_activity
from perfdash.diagnose.rules.pool import saturated
from perfdash.settings import Profile
from perfdash.thresholds import Limit

# A sampler that answered for fewer than this share of the load's seconds saw too little of it:
# a database frozen for most of the load leaves a handful of quiet samples that would pass.
MIN_SAMPLED_SHARE = 0.5
SEQ_SCANS_SOURCE = "guide: sequential scans"


def analyse_connections(path: Path, reason_absent: str | None = None,
                        load_s: float | None = None) -> Check:
    """Peak connections against max_connections from db-connections.csv (warn above 80%), over
    samples that cover at least half the seconds of a load of `load_s` seconds."""
    name, threshold = "Database connections peak", "<= 80% of max_connections"
    try:
        with open_regular(path, newline="", errors="replace") as f:
            rows = [(int(r["total"]), int(r["max_connections"])) for r in csv.DictReader(f)
                    if str(r.get("total") or "").isdigit()
                    and str(r.get("max_connections") or "").isdigit()]
    except (OSError, csv.Error):
        rows = []
    if not rows:
        return Check.not_measured("db.connections", name,
                                  reason_absent or f"{path.name} has no samples", threshold)
    if load_s and len(rows) < MIN_SAMPLED_SHARE * load_s:
        return Check.not_measured(
            "db.connections", name,
            f"only {len(rows)} samples in {path.name} over {load_s:.0f} s of load (fewer than one "
            "every two seconds): the database did not answer the sampler for most of the load, so "
            "its peak is unknown", threshold)
    peak, most = max(rows)
    share = peak / most if most else 0.0
    detail = f"peak {peak} of {most} ({share:.0%}) over {len(rows)} samples"
    pool = _saturated_pool(path.parent, most)
    if pool is not None:  # a full application pool queues requests long before max_connections
        return Check("db.connections", name, "warn", peak,
                     f"{threshold}; the application's pool not always full", "perfdash default",
                     f"{detail}; {pool}")
    return Check("db.connections", name, "pass" if share <= 0.8 else "warn", peak, threshold,
                 "perfdash default", detail)


def _saturated_pool(run_dir: Path, max_connections: int) -> str | None:
    """The application whose connections sat at one number with none idle (its pool's size)."""
    facts = Facts(max_connections=max_connections)
    gather_activity(run_dir, facts)
    for app in facts.apps:
        if saturated(app, max_connections):
            return (f"{app.app or 'the application'} held {app.plateau} connections in "
                    f"{app.at_plateau:.0%} of the samples, {app.busy:.0%} of them busy on average: "
                    "its pool is full")
    return None


def analyse_database(path: Path, profile: Profile, reason_absent: str | None = None) -> list[Check]:
    data, problem = read_query_analysis(path)
    # The rule each query's mean is held to; the check's value counts the queries that broke it.
    rule = Limit("mean", "<=", profile.slow_query_ms, "ms", f"mean <= {profile.slow_query_ms:.0f} ms")
    slow_t = rule.text
    src = "guide: queries slower than 100 ms"
    if not isinstance(data, dict):
        reason = reason_absent or problem or "no database report"
        return [
            Check.not_measured("db.slow_queries", "Database slow queries", reason, slow_t, src, rule),
            Check.not_measured("db.seq_scans", "Database sequential scans", reason,
                               "none on large tables", SEQ_SCANS_SOURCE),
        ]
    checks: list[Check] = []
    missing = {m.get("what"): m.get("reason") for m in data.get("not_measured") or []}
    slow = data.get("slow_queries")
    if not data.get("database", {}).get("pg_stat_statements", False) or slow is None:
        checks.append(Check.not_measured(
            "db.slow_queries", "Database slow queries",
            next(iter(missing.values()), None) or "pg_stat_statements is not available",
            slow_t, src, rule))
    else:
        detail = "; ".join(
            f"{q['mean_ms']:.0f} ms x{q['calls']}: {' '.join(str(q['query']).split())[:80]}"
            for q in slow[:3])
        checks.append(Check("db.slow_queries", "Database slow queries",
                            "warn" if slow else "pass", len(slow), slow_t, src, detail, limit=rule))
    scans = data.get("sequential_scans") or []
    detail = "; ".join(s.get("hint") or s["table"] for s in scans[:3])
    checks.append(Check("db.seq_scans", "Database sequential scans", "warn" if scans else "pass",
                        len(scans), "none on large tables", SEQ_SCANS_SOURCE, detail))
    return checks
