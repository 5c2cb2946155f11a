"""Backend memory that grows through the run and does not come back: the shape of a leak (or of a
cache without a bound), read from the backend process's resident memory in metrics.csv."""

from __future__ import annotations

from itertools import pairwise
from statistics import median

from perfdash.artifacts import METRICS_CSV
from perfdash.diagnose.facts import Facts
from perfdash.diagnose.model import Evidence, Finding, Gap

ID = "memory-growth"
MIN_SAMPLES = 15
MIN_GROWTH_MB = 50.0
MIN_GROWTH_SHARE = 0.25  # of the memory at the start
KEPT = 0.9  # at the end, still this share of the peak: it did not come back


def find(facts: Facts) -> list[Finding] | Gap:
    rss = facts.backend_rss_mb
    if len(rss) < MIN_SAMPLES:
        return Gap(ID, f"the backend process's memory for {MIN_SAMPLES} s or more (metrics.csv "
                       "backend_rss_mb: the demo, or a backend listening on this machine)")
    tenth = max(3, len(rss) // 10)
    start, end, peak = median(rss[:tenth]), median(rss[-tenth:]), max(rss)
    grew = end - start
    if grew < MIN_GROWTH_MB or grew < MIN_GROWTH_SHARE * start or end < KEPT * peak:
        return []
    rising = sum(1 for a, b in pairwise(rss) if b > a) / (len(rss) - 1)
    return [Finding(
        ID, f"The backend's memory grew from {start:,.0f} MB to {end:,.0f} MB during the run and "
        "did not come back",
        min(1.0, grew / max(peak, 1.0)),
        "memory is kept per request or per connection and never released: a cache without a bound, "
        "objects added to a global list or map, listeners or timers that are never removed",
        "run a longer soak to confirm the slope, then compare two heap snapshots taken minutes apart "
        "(tracemalloc / memray for Python, --inspect heap snapshots for Node, jmap for the JVM) and "
        "bound or remove what grows",
        "medium" if rising < 0.5 else "high",
        [Evidence(f"resident memory: {start:,.0f} MB in the first {tenth} s, {end:,.0f} MB in the last "
                  f"{tenth} s, peak {peak:,.0f} MB; it rose in {rising:.0%} of the seconds",
                  METRICS_CSV, 0.0, float(len(rss)))])]
