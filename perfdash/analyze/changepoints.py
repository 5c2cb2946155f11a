"""Change points in a series of runs: the run after which a figure moved and stayed moved.

The method is E-divisive's shape (hierarchical: find the single best split, keep it only if a
significance test says the two sides differ, then look inside each side again), as Apache Otava
does it for benchmark histories, with its parts taken from maintained libraries: the best split
of a segment by `ruptures` (binary segmentation, least-squares cost: the split that best explains
the segment as two levels), and the test by scipy (Welch's t-test between the runs before and the
runs after, the test Otava itself uses). A split must also be at least `min_magnitude` of the
level before it, so a significant but negligible step is not called a change.

(Otava itself is not a dependency: as a package it pins numpy==2.2.0 exactly and brings the
Google BigQuery, Slack and pg8000 clients, which perfdash, installed into users' environments,
cannot impose.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_SIZE = 3  # runs on each side of a change point: fewer cannot carry a t-test
MAX_PVALUE = 0.01
MIN_MAGNITUDE = 0.10


@dataclass(frozen=True)
class ChangePoint:
    """`index` is the first run after the change; the means of the segments either side of it."""

    index: int
    p_value: float
    before: float
    after: float

    @property
    def relative(self) -> float:
        return (self.after - self.before) / abs(self.before) if self.before else math.inf


def _best_split(values: Sequence[float], min_size: int) -> int:
    """Where one split best divides the values into two levels (ruptures' binary segmentation)."""
    import numpy as np
    import ruptures

    signal = np.asarray(values, dtype=float).reshape(-1, 1)
    algo = ruptures.Binseg(model="l2", min_size=min_size, jump=1).fit(signal)
    return int(algo.predict(n_bkps=1)[0])


def change_points(values: Sequence[float], *, min_size: int = MIN_SIZE,
                  max_pvalue: float = MAX_PVALUE,
                  min_magnitude: float = MIN_MAGNITUDE) -> list[ChangePoint]:
    """Every significant change point of the series, in order. NaN values are not allowed: pass
    only the runs that measured the figure."""
    from scipy.stats import ttest_ind

    found: list[ChangePoint] = []

    def split(lo: int, hi: int) -> None:
        segment = list(values[lo:hi])
        if len(segment) < 2 * min_size:
            return
        if max(segment) == min(segment):
            return
        at = _best_split(segment, min_size)
        before, after = segment[:at], segment[at:]
        if len(before) < min_size or len(after) < min_size:
            return
        mean_b, mean_a = float(sum(before) / len(before)), float(sum(after) / len(after))
        if max(before) == min(before) and max(after) == min(after):
            p_value = 0.0 if mean_a != mean_b else 1.0  # two flat levels: no variance to test
        else:
            p_value = float(ttest_ind(before, after, equal_var=False).pvalue)
        big = abs(mean_a - mean_b) >= min_magnitude * abs(mean_b) if mean_b else mean_a != 0
        if not (p_value < max_pvalue and big):
            return
        found.append(ChangePoint(lo + at, p_value, mean_b, mean_a))
        split(lo, lo + at)
        split(lo + at, hi)

    split(0, len(values))
    return sorted(found, key=lambda c: c.index)
