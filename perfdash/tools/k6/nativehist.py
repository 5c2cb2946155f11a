"""Per-interval quantiles from cumulative native histograms (Prometheus' exponential buckets).

k6's remote-write output sends each trend as a native histogram per tag set, cumulative since the
start. Subtracting the previous push, bucket by bucket, leaves the observations of the interval
alone, so the interval's quantiles cost no more at the tenth minute than at the first.

Within a bucket the position is interpolated on a log scale (Prometheus does the same for
exponential buckets), so the error is bounded by the bucket's width: 2**(2**-schema) - 1, about
9% at schema 3, the resolution k6 1.1 sends; in practice much less, since thousands of
observations spread over several buckets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from perfdash.tools.k6.rwdecode import NativeHistogram


@dataclass
class Buckets:
    """Observation counts of one interval: positive bucket index -> count at `schema`, plus those
    at or below the zero bucket's threshold (durations are never negative)."""

    schema: int
    zero_threshold: float = 0.0
    zero: float = 0.0
    positive: dict[int, float] = field(default_factory=dict)
    count: float = 0.0
    sum: float = 0.0

    def add(self, other: Buckets) -> None:
        if other.schema < self.schema:
            self.positive = downscale(self.positive, self.schema, other.schema)
            self.schema = other.schema
        theirs = downscale(other.positive, other.schema, self.schema)
        for i, c in theirs.items():
            self.positive[i] = self.positive.get(i, 0.0) + c
        self.zero += other.zero
        self.zero_threshold = max(self.zero_threshold, other.zero_threshold)
        self.count += other.count
        self.sum += other.sum

    def quantile(self, q: float) -> float | None:
        """The q-quantile of the interval's observations, None without any."""
        total = self.zero + sum(self.positive.values())
        if total <= 0:
            return None
        rank = q * total
        if rank <= self.zero:
            return self.zero_threshold * (rank / self.zero if self.zero else 0.0)
        seen = self.zero
        base = 2.0 ** (2.0 ** -self.schema)
        last = 0.0
        for i in sorted(self.positive):
            c = self.positive[i]
            if c <= 0:
                continue
            hi = base ** i
            if seen + c >= rank:
                lo = max(hi / base, self.zero_threshold) or hi / base
                return float(lo * (hi / lo) ** ((rank - seen) / c))
            seen += c
            last = hi
        return last


def downscale(buckets: dict[int, float], schema: int, target: int) -> dict[int, float]:
    """The same counts at a coarser schema: 2**(schema-target) buckets merge into one."""
    if target >= schema:
        return buckets
    shift = schema - target
    out: dict[int, float] = {}
    for i, c in buckets.items():
        j = (i + (1 << shift) - 1) >> shift  # bucket (b**(i-1), b**i] falls in ceil(i / 2**shift)
        out[j] = out.get(j, 0.0) + c
    return out


def difference(now: NativeHistogram, before: NativeHistogram | None) -> Buckets:
    """What was observed between two cumulative pushes of one series; a count that went down
    means the sender reset the histogram, so everything in `now` is new."""
    if before is None or now.count < before.count:
        return Buckets(now.schema, now.zero_threshold, now.zero_count, dict(now.positive),
                       now.count, now.sum)
    schema = min(now.schema, before.schema)
    cur = downscale(now.positive, now.schema, schema)
    old = downscale(before.positive, before.schema, schema)
    diff = {i: c - old.get(i, 0.0) for i, c in cur.items() if c - old.get(i, 0.0) > 0}
    return Buckets(schema, now.zero_threshold, max(0.0, now.zero_count - before.zero_count), diff,
                   now.count - before.count, now.sum - before.sum)


def relative_width(schema: int) -> float:
    """How much wider each bucket is than the one below: the interpolation error's bound."""
    return math.pow(2.0, math.pow(2.0, -schema)) - 1.0
