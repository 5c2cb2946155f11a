"""`PERFDASH_DEMO_SLOW`: the demo backend's knob that slows chosen endpoints by a known amount.

It lets a comparison be tested against a change whose size is known (bench/bench_compare.py):
comma-separated `ROUTE:+N%` (each request of that route takes N% longer than it did: its whole
latency distribution, p95 included, is stretched by that factor) or `ROUTE:+Nms` (a fixed delay per
request). ROUTE is the route as declared, ids as `{id}`:
`PERFDASH_DEMO_SLOW="/api/customers/{id}/orders:+20%"`. perfdash.demo.server reads it at start and
perfdash.demo.shop applies it per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SLOW_ENV: Final = "PERFDASH_DEMO_SLOW"


@dataclass(frozen=True)
class Slowdown:
    """Extra latency for one route: a share of the request's own time, or a fixed delay."""

    factor: float = 0.0  # 0.2: the request takes 20% longer
    fixed_ms: float = 0.0

    def extra_s(self, elapsed_s: float) -> float:
        return elapsed_s * self.factor + self.fixed_ms / 1000


def parse_slowdowns(spec: str) -> dict[str, Slowdown]:
    """`/api/products:+20%,/health:+5ms` -> {route: Slowdown}; ValueError names the bad part."""
    out: dict[str, Slowdown] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        route, sep, amount = part.rpartition(":")
        amount = amount.strip().removeprefix("+")
        try:
            if not sep or not route.startswith("/"):
                raise ValueError
            if amount.endswith("%"):
                slow = Slowdown(factor=float(amount[:-1]) / 100)
            elif amount.endswith("ms"):
                slow = Slowdown(fixed_ms=float(amount[:-2]))
            else:
                raise ValueError
        except ValueError:
            raise ValueError(f"{SLOW_ENV}: cannot read {part!r}; write ROUTE:+N% or ROUTE:+Nms, "
                             "e.g. /api/customers/{id}/orders:+20%") from None
        if slow.factor < 0 or slow.fixed_ms < 0:
            raise ValueError(f"{SLOW_ENV}: {part!r} would make the route faster; use + amounts")
        out[route.strip()] = slow
    return out
