"""Request times as a histogram of 4% buckets, and percentiles read back from one.

A histogram, not a list of times: counts from several logs, batches and seconds add up bucket by
bucket, so the timeline, the endpoint table and a comparison can merge them freely, and a flood of
requests costs a dict update, not a growing list. The price is that a percentile is a bucket's upper
edge, at most 4% above the true value. The access-log counter (perfdash.collect.access_log) fills
them; the timeline, the endpoint rows, the diagnosis and compare read them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

BUCKET_BASE = 1.04
_LOG_BASE = math.log(BUCKET_BASE)


def bucket_of(ms: float) -> int:
    return int(math.log(ms) / _LOG_BASE) + 1 if ms >= 1.0 else 0 if ms <= 0 else -1


def bucket_value(b: int) -> float:
    """The upper edge of a bucket, in ms (the value a percentile reports)."""
    return 0.0 if b == 0 else 1.0 if b == -1 else float(BUCKET_BASE ** b)


def percentile(buckets: Mapping[int, int], q: float) -> float | None:
    """The q-th percentile (0..100) of a bucket histogram, as the bucket's upper edge in ms."""
    total = sum(buckets.values())
    if not total:
        return None
    rank = max(1, math.ceil(total * q / 100))
    seen = 0
    for b in sorted(buckets):
        seen += buckets[b]
        if seen >= rank:
            return round(bucket_value(b), 3)
    return None
