"""The statistics behind a regression verdict: is the difference between two runs larger than the
noise within them?

One number per run cannot say: two identical smoke runs differ by 25% in their whole-run p95. So a
figure is judged from its per-window samples (`timeline.csv`: one p95, one req/s, ... per second,
or per Artillery 10 s window) in both runs:

- `median_shift`: the difference of the medians of the windows, with a bootstrap interval. The
  windows of one run are correlated (a slow spell lasts several seconds), so plain resampling of
  windows would understate the spread; a moving-block bootstrap resamples runs of consecutive
  windows instead, in blocks as long as the series stays autocorrelated. Where the windows are
  independent (blocks of one), a Mann-Whitney U test (scipy) on the windows gives the p-value;
  where they are not, the rank test does not fit, and the p-value is the one the block bootstrap
  itself gives (twice the share of resampled differences on the far side of zero), so that the
  interval and the test always agree.
- `rate_change`: counts (errors, 5xx, failed users) compared as rates over their exposure (seconds,
  or requests): under "no change" the new run's share of all events is binomial with the new
  run's share of the exposure, an exact conditional test (scipy's binomtest).

scipy and numpy are imported inside the functions, so `perfdash --help` never loads them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_WINDOWS = 8  # per run: below this a run is "too few windows to decide"
MIN_BLOCKS = 4  # per run, for the rank test: 4 against 4 is the least that can reach p < 0.05
RESAMPLES = 2000


@dataclass(frozen=True)
class Shift:
    """New minus base: a point estimate, its interval, and the p-value of the test behind it.

    `decided` is False when there was too little data to judge at all; `reason` then says why."""

    estimate: float
    low: float
    high: float
    confidence: float
    p_value: float
    method: str
    base_n: float = 0.0  # windows, or events
    new_n: float = 0.0
    base_level: float = 0.0  # the base run's median window, or its rate
    decided: bool = True
    reason: str = ""

    @property
    def excludes_zero(self) -> bool:
        return self.decided and (self.low > 0 or self.high < 0)


def block_length(*series: Sequence[float]) -> int:
    """How many consecutive windows belong together: one more than the last lag at which a series
    is still autocorrelated beyond chance (|r| > 2/sqrt(n)), at most n/MIN_BLOCKS, so that
    independent windows keep their full weight and a slow spell lasting several windows counts once.
    """
    import numpy as np

    length = 1
    for x in series:
        data = np.asarray(x, dtype=float)
        n = len(data)
        centred = data - data.mean()
        denominator = float(np.dot(centred, centred))
        if n < 4 or denominator == 0:
            continue
        band = 2 / math.sqrt(n)
        lag = 1
        while lag < n // MIN_BLOCKS and \
                float(np.dot(centred[:-lag], centred[lag:])) / denominator > band:
            lag += 1
        length = max(length, lag)
    return length


def _block_bootstrap_medians(x: Sequence[float], length: int, resamples: int, seed: int) -> object:
    """`resamples` medians of moving-block bootstrap resamples of x (a numpy array)."""
    import numpy as np

    data = np.asarray(x, dtype=float)
    n = len(data)
    length = max(1, min(length, n))  # a block longer than the series has no place to start
    blocks = math.ceil(n / length)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - length + 1, size=(resamples, blocks))
    index = (starts[:, :, None] + np.arange(length)).reshape(resamples, blocks * length)[:, :n]
    return np.median(data[index], axis=1)


def median_shift(base: Sequence[float], new: Sequence[float], *, confidence: float = 0.95,
                 resamples: int = RESAMPLES, seed: int = 0, min_windows: int = MIN_WINDOWS,
                 base_parts: Sequence[Sequence[float]] = ()) -> Shift:
    """median(new) − median(base) with a moving-block bootstrap interval and a rank-test p-value.

    `base_parts`: when the base pools several runs, each run's windows, so that the steps between
    one run and the next are not taken for autocorrelation within a run."""
    import numpy as np
    from scipy.stats import mannwhitneyu

    b = [float(v) for v in base if v is not None and math.isfinite(v)]
    n = [float(v) for v in new if v is not None and math.isfinite(v)]
    base_med = float(np.median(b)) if b else 0.0
    estimate = float(np.median(n)) - base_med if b and n else 0.0
    if len(b) < min_windows or len(n) < min_windows:
        return Shift(estimate, math.nan, math.nan, confidence, math.nan, "median of windows",
                     len(b), len(n), base_med, decided=False,
                     reason=f"too few windows to decide ({len(b)} and {len(n)}; at least "
                            f"{min_windows} in each run)")
    # The block length comes from whichever series stays correlated longest, and it applies to both:
    # a short run cannot hold MIN_BLOCKS blocks of a long run's length, so the check comes before
    # any resampling, and the shorter run decides what the pair can support.
    length = block_length(*(base_parts or [b]), n)
    if min(len(b), len(n)) // length < MIN_BLOCKS:
        return Shift(estimate, math.nan, math.nan, confidence, math.nan, "median of windows",
                     len(b), len(n), base_med, decided=False,
                     reason=f"too few windows to decide ({len(b)} and {len(n)} windows make "
                            f"fewer than {MIN_BLOCKS} independent blocks of {length})")
    diffs = np.asarray(_block_bootstrap_medians(n, length, resamples, seed)) - np.asarray(
        _block_bootstrap_medians(b, length, resamples, seed + 1))
    tail = (1 - confidence) / 2 * 100
    low, high = (float(v) for v in np.percentile(diffs, [tail, 100 - tail]))
    if len(set(b) | set(n)) == 1:
        p_value = 1.0  # every window equal on both sides: nothing to rank
    elif length == 1:
        p_value = float(mannwhitneyu(n, b, alternative="two-sided").pvalue)
    else:
        below, above = float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))
        p_value = min(1.0, max(2 * min(below, above), 1 / resamples))
    return Shift(estimate, low, high, confidence, p_value, "median of windows", len(b), len(n),
                 base_med)


def rate_change(base_count: float, base_exposure: float, new_count: float, new_exposure: float,
                *, confidence: float = 0.95) -> Shift:
    """Events per unit of exposure, new minus base, with an exact conditional test.

    The interval is on the difference of rates, from the Clopper-Pearson interval of the new run's
    share of all the events of both runs. Counts are rounded: the test is for whole events."""
    from scipy.stats import binomtest

    k_base, k_new = round(base_count), round(new_count)
    if base_exposure <= 0 or new_exposure <= 0:
        return Shift(0.0, math.nan, math.nan, confidence, math.nan, "rate test", k_base, k_new,
                     decided=False, reason="no exposure to compare the counts over")
    base_rate = k_base / base_exposure
    estimate = k_new / new_exposure - base_rate
    total = k_base + k_new
    if total == 0:
        return Shift(0.0, 0.0, 0.0, confidence, 1.0, "rate test", k_base, k_new, base_rate)
    share = new_exposure / (base_exposure + new_exposure)
    result = binomtest(k_new, total, share)
    ci = result.proportion_ci(confidence_level=confidence, method="exact")

    def difference(p: float) -> float:
        """The rate difference if the new run held a share p of the same events (monotone in p,
        and the observed share gives the estimate)."""
        return total * (p / new_exposure - (1 - p) / base_exposure)

    return Shift(estimate, difference(float(ci.low)), difference(float(ci.high)), confidence,
                 float(result.pvalue), "rate test", k_base, k_new, base_rate)


def adjust(p_values: Sequence[float]) -> list[float]:
    """p-values adjusted for judging many figures at once (Benjamini-Hochberg, scipy's
    `false_discovery_control`): when nothing changed — two identical runs — the chance of any
    false verdict in a whole comparison stays at the chosen level, as it does with a per-figure
    correction, but a real change does not make the other figures' changes harder to see.

    NaN stays NaN and does not count; neither does a test that could never reject (no events in
    either run: p is 1 whatever happens), as Tarone's refinement allows."""
    from scipy.stats import false_discovery_control

    present = [i for i, p in enumerate(p_values) if not math.isnan(p)]
    adjusted = [math.nan] * len(p_values)
    if present:
        values = false_discovery_control([p_values[i] for i in present], method="bh")
        for i, value in zip(present, values, strict=True):
            adjusted[i] = float(value)
    return adjusted
