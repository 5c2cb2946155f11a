"""The diagnosis of a run: facts → rules → ranked, linked findings (shared/DESIGN.md, "Diagnosis").

`diagnose` reads the run directory (never in-memory state), so the end of a live run and
`perfdash show` of an old one say the same thing. Findings are ranked by impact (the share of
request time or requests they explain) and linked when one explains another: a row lock whose
waiters fill the pool, which slows every endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfdash.diagnose.breakdown import time_by_endpoint
from perfdash.diagnose.facts import Facts
from perfdash.diagnose.gather import gather
from perfdash.diagnose.model import Finding, Gap
from perfdash.diagnose.rules import RULES


def diagnose(run_dir: Path, endpoints: Mapping[str, Any] | None,
             app_log: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """summary.json's `diagnosis`: findings, most impact first, and what could not be looked at.
    `app_log` is what the log tail counted (summary.json's `app_log`).

    An artifact of an unexpected shape (a hand-edited or truncated file) must not cost the run its
    summary: the diagnosis then says it could not be made and why, and the checks stand.
    """
    try:
        return run_rules(gather(run_dir, endpoints, app_log))
    except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as exc:
        return {"findings": [], "time_by_endpoint": [], "not_measured": [Gap(
            "diagnosis", f"artifacts it can read: {type(exc).__name__}: {exc}").to_json()]}


def run_rules(facts: Facts) -> dict[str, Any]:
    findings: list[Finding] = []
    gaps: list[Gap] = []
    for rule in RULES:
        result = rule(facts)
        if isinstance(result, Gap):
            gaps.append(result)
        else:
            findings += result
    link(findings, facts)
    findings = _without_contradictions(findings)
    findings.sort(key=lambda f: f.impact, reverse=True)
    return {"findings": [f.to_json() for f in findings], "not_measured": [g.to_json() for g in gaps],
            "time_by_endpoint": time_by_endpoint(facts, findings)}


def link(findings: list[Finding], facts: Facts) -> None:
    """Join the findings that are one story: lock waiters holding the pool's connections, and
    deadlocks that are a route's server errors."""
    _link_deadlocks(findings, facts)
    locks = [f for f in findings if f.id == "lock-contention"]
    pools = [f for f in findings if f.id == "pool-saturation"]
    if locks and pools and facts.locks is not None:
        waiting_apps = set(facts.locks.apps)
        for pool in pools:
            if any(a.app in waiting_apps and a.app in pool.title for a in facts.apps):
                pool.links.append("lock-contention")
                locks[0].links.append("pool-saturation")
                pool.title += ", many of them held by transactions waiting on the lock"
                # the pool's queue is the lock's doing: the lock explains the pool's share too
                locks[0].impact = max(locks[0].impact, pool.impact)


def _without_contradictions(findings: list[Finding]) -> list[Finding]:
    """A route whose server errors are the database's deadlocks waits in the database, so it is
    not also "waiting on something outside the application and the database"."""
    in_database = {f.endpoint for f in findings
                   if f.id in ("deadlocks", "endpoint-errors") and "deadlocks" in [f.id, *f.links]}
    return [f for f in findings if not (f.id == "slow-dependency" and f.endpoint in in_database)]


DEADLOCK_MATCH = 0.25  # a route's 5xx within 25% of the deadlocks counted


def _link_deadlocks(findings: list[Finding], facts: Facts) -> None:
    deadlocks = next((f for f in findings if f.id == "deadlocks"), None)
    n = facts.counters.get("deadlocks", 0)
    if deadlocks is None or n <= 0:
        return
    for f in findings:
        if f.id == "lock-contention":
            f.links.append("deadlocks")
            deadlocks.links.append("lock-contention")
        if f.id != "endpoint-errors" or f.endpoint is None:
            continue
        ep = next((e for e in facts.endpoints if e.endpoint == f.endpoint), None)
        failed = ep.status_5xx if ep is not None and ep.status_5xx is not None else (
            ep.errors if ep is not None else None)
        if failed and abs(failed - n) <= DEADLOCK_MATCH * n:
            f.links.append("deadlocks")
            deadlocks.links.append("endpoint-errors")
            f.title += f": the {n:,} deadlocks"
            deadlocks.endpoint = f.endpoint
