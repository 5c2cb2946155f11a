"""The backend busy computing: its process near one full core (an event loop or a GIL serialises
everything on it) while the database is not where the time goes.

A single-threaded backend saturates at 100% of one core whatever the machine has, so the threshold
is per core, and the finding names the routes slowest on the server as where to look: per-route CPU
is not something the access log can say.
"""

from __future__ import annotations

from statistics import median

from perfdash.diagnose.facts import Facts
from perfdash.diagnose.model import Evidence, Finding, Gap
from perfdash.diagnose.rules.common import ms, pct

ID = "cpu-bound-app"
BUSY_PCT = 80.0  # of one core
MIN_SAMPLES = 10
SLOW_SERVER_MS = 10.0


def find(facts: Facts) -> list[Finding] | Gap:
    cpu = facts.backend_cpu_pct
    if len(cpu) < MIN_SAMPLES:
        return Gap(ID, "the backend process's CPU (metrics.csv backend_cpu_pct): the demo, or a "
                       "backend listening on this machine at the base URL's port")
    loaded = [c for c in cpu if c > 1.0] or cpu
    typical = median(loaded)
    busy = sum(1 for c in loaded if c >= BUSY_PCT) / len(loaded)
    if typical < BUSY_PCT:
        return []
    db_time = facts.waits.total() if facts.waits else 0
    evidence = [Evidence(
        f"the backend process used a median {typical:.0f}% of one core (≥ {BUSY_PCT:.0f}% in "
        f"{pct(busy)} of {len(loaded)} seconds)", "metrics.csv")]
    slow = sorted((e for e in facts.endpoints if (e.server_p50_ms or 0) >= SLOW_SERVER_MS),
                  key=lambda e: -(e.server_p50_ms or 0))
    if slow:
        evidence.append(Evidence("slowest on the server: " + ", ".join(
            f"{e.endpoint} p50 {ms(e.server_p50_ms or 0)}" for e in slow[:4]), "applog-endpoints.json"))
    if facts.waits:
        active = sum(facts.waits.values()) / max(len(cpu), 1)
        evidence.append(Evidence(f"meanwhile the database had {active:.1f} active sessions on average",
                                 "db-activity.ndjson"))
    only = slow[0] if len(slow) == 1 else None
    return [Finding(
        ID, f"The backend process is CPU-bound: a median {typical:.0f}% of one core during the load"
        + (f"; {only.endpoint} is the slow route" if only else ""),
        busy if not db_time else busy / 2,
        "the application spends the time computing in its own process; with one event loop or a "
        "GIL, every request waits while one of them computes",
        "profile the slow routes (py-spy, clinic, pprof) and move heavy work off the request path "
        "(a worker pool or a queue), or run more worker processes",
        "medium", evidence, endpoint=only.endpoint if only else None)]
