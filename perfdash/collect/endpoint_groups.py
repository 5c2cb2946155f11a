"""The access log's request times since the last batch, for everything and per endpoint group: the
timeline's run-wide srv_p50_ms/srv_p95_ms/srv_p99_ms and the per-group rows of server-latency.csv.

An endpoint group is a normalised route (`/api/accounts/{}`, perfdash.collect.route_names), the
same key the endpoint table uses, so a slow second in server-latency.csv names a row of that table.
Only the TOP_GROUPS groups with the most requests so far keep a name; the others share
OTHER. A run against a real API can hit hundreds of routes, most of them a few times, and a row per
route per second would make a file nobody reads and an event per batch the size of the log; eight
cover the endpoints a load script drives (a script rarely names more), and their seconds add up to
the run-wide figure because nothing is dropped, only merged.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Mapping

TOP_GROUPS = 8
OTHER = "(other routes)"

# (group, ((bucket, count), ...)) for each group, as a frozen event carries it
Groups = tuple[tuple[str, tuple[tuple[int, int], ...]], ...]


def top_groups(requests: Mapping[str, int], n: int = TOP_GROUPS) -> set[str]:
    """The `n` groups with the most requests (ties by name, so the choice does not flicker)."""
    return set(heapq.nsmallest(n, (g for g in requests if g != OTHER), key=lambda g: (-requests[g], g)))


class IntervalTimes:
    """Request times (4% bucket -> count) since the last `drain`, run-wide and per route."""

    def __init__(self) -> None:
        self._all: Counter[int] = Counter()
        self._by_route: dict[str, Counter[int]] = {}

    def add(self, route: str, bucket: int, n: int) -> None:
        self._all[bucket] += n
        counts = self._by_route.get(route)
        if counts is None:
            counts = self._by_route[route] = Counter()
        counts[bucket] += n

    def drain(self, requests: Mapping[str, int], top: int = TOP_GROUPS) -> tuple[dict[int, int], Groups]:
        """(run-wide histogram, per-group histograms) since the last call, and start anew.

        `requests`: every route's requests so far, which decide the top `top` groups; the rest of
        this interval's routes are merged under OTHER."""
        everything, by_route = dict(self._all), self._by_route
        self._all, self._by_route = Counter(), {}
        kept = top_groups(requests, top)
        groups: dict[str, Counter[int]] = {}
        for route, counts in by_route.items():
            name = route if route in kept else OTHER
            if name in groups:
                groups[name].update(counts)
            else:
                groups[name] = counts
        return everything, tuple((g, tuple(sorted(c.items()))) for g, c in sorted(groups.items()))
