"""The backend busy computing: its process near one full core (an event loop or a GIL serialises
everything on it) while the database is not where the time goes.

A single-threaded backend saturates at 100% of one core whatever the machine has, so the threshold
is per core. Which route burns it is found by accounting: a route's fastest requests (p10 of the
access log) times its requests is time it spent on every request; a route whose total exceeds the
CPU the backend used cannot be computing (it waits: for a lock, a connection, another service),
and among the others that account for a fair share of it, the one with the highest floor is named
(waiting for a saturated loop raises every route's floor, but never above the work itself).
"""

from __future__ import annotations

from statistics import median

from perfdash.artifacts import APPLOG_ENDPOINTS_JSON, DB_ACTIVITY_NDJSON, METRICS_CSV
from perfdash.diagnose.facts import Facts
from perfdash.diagnose.model import Evidence, Finding, Gap
from perfdash.diagnose.rules.common import ms, pct

ID = "cpu-bound-app"
BUSY_PCT = 80.0  # of one core
MIN_SAMPLES = 10
SLOW_SERVER_MS = 10.0
MIN_FLOOR_MS = 5.0
MIN_REQUESTS = 20  # a route hit a few times, each stuck behind the loop, proves nothing
FITS = 1.1  # a route's floor time may exceed the CPU measured by sampling error, not more
MIN_SHARE = 0.3  # of the backend's CPU time
HOST_SATURATED_PCT = 90.0
STARVED_PCT = 40.0  # of one core: busy, on a machine with nothing left to give it


def find(facts: Facts) -> list[Finding] | Gap:
    cpu = facts.backend_cpu_pct
    if len(cpu) < MIN_SAMPLES:
        return Gap(ID, "the backend process's CPU (metrics.csv backend_cpu_pct): the demo, or a "
                       "backend listening on this machine at the base URL's port")
    loaded = [c for c in cpu if c > 1.0] or cpu
    typical = median(loaded)
    busy = sum(1 for c in loaded if c >= BUSY_PCT) / len(loaded)
    host = median(facts.host_cpu_pct) if facts.host_cpu_pct else None
    # With the machine saturated (the load generator shares it) the backend gets less than a core
    # however much it wants; then a route whose own work accounts for its CPU time still tells.
    starved = host is not None and host >= HOST_SATURATED_PCT and typical >= STARVED_PCT
    route = _burner(facts, sum(cpu) / 100.0) if starved else None
    if typical < BUSY_PCT and route is None:
        return []
    db_time = facts.waits.total() if facts.waits else 0
    evidence = [Evidence(
        f"the backend process used a median {typical:.0f}% of one core (≥ {BUSY_PCT:.0f}% in "
        f"{pct(busy)} of {len(loaded)} seconds)"
        + (f", while the whole machine was at a median {host:.0f}%: it got what was left"
           if typical < BUSY_PCT and host is not None else ""), METRICS_CSV)]
    slow = sorted((e for e in facts.endpoints if (e.server_p50_ms or 0) >= SLOW_SERVER_MS),
                  key=lambda e: -(e.server_p50_ms or 0))
    if slow:
        evidence.append(Evidence("slowest on the server: " + ", ".join(
            f"{e.endpoint} p50 {ms(e.server_p50_ms or 0)}" for e in slow[:4]), APPLOG_ENDPOINTS_JSON))
    if facts.waits:
        active = sum(facts.waits.values()) / max(len(cpu), 1)
        evidence.append(Evidence(f"meanwhile the database had {active:.1f} active sessions on average",
                                 DB_ACTIVITY_NDJSON))
    cpu_s = sum(cpu) / 100.0  # one sample a second
    route = route or _burner(facts, cpu_s)
    only = None
    if route is not None:
        name, (count, floor) = route
        evidence.append(Evidence(
            f"{name}: even its fastest requests take {ms(floor)} (p10) × {count:,} requests = "
            f"{count * floor / 1000:,.1f} s, {pct(count * floor / 1000 / cpu_s)} of the {cpu_s:,.1f} s "
            "of CPU the backend used: work it does on every request", APPLOG_ENDPOINTS_JSON))
        only = name
    elif len(slow) == 1:
        only = slow[0].endpoint
    return [Finding(
        ID, f"The backend process is CPU-bound: a median {typical:.0f}% of one core during the load"
        + (" on a saturated machine" if typical < BUSY_PCT else "")
        + (f"; {only} does the work" if only else ""),
        busy if not db_time else busy / 2,
        "the application spends the time computing in its own process; with one event loop or a "
        "GIL, every request waits while one of them computes",
        "profile the slow routes (py-spy, clinic, pprof) and move heavy work off the request path "
        "(a worker pool or a queue), or run more worker processes",
        "medium", evidence, endpoint=only)]


def _burner(facts: Facts, cpu_s: float) -> tuple[str, tuple[int, float]] | None:
    """The route that accounts for most of the backend's CPU time and could have spent it."""
    if cpu_s <= 0:
        return None
    fits = [(r, v) for r, v in facts.route_floor_ms.items()
            if v[0] >= MIN_REQUESTS and v[1] >= MIN_FLOOR_MS
            and MIN_SHARE * cpu_s <= v[0] * v[1] / 1000 <= FITS * cpu_s]
    # Under a saturated loop every route's floor rises by the wait for the loop; the route doing
    # the work has the highest floor of those whose floor time the CPU could have paid for.
    return max(fits, key=lambda rv: rv[1][1], default=None)
