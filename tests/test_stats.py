"""The statistics behind compare, on constructed series whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from perfdash.analyze.judge import Rule, decide
from perfdash.analyze.stats import MIN_BLOCKS, Shift, adjust, block_length, median_shift, rate_change


def series(seed: int, n: int = 30, loc: float = 30.0, scale: float = 4.0) -> list[float]:
    return list(np.random.default_rng(seed).normal(loc, scale, n))


def test_identical_distributions_show_no_change() -> None:
    found = [median_shift(series(s), series(s + 100)) for s in range(20)]
    # an interval that excludes zero at 95% may happen by chance, rarely; both tests agreeing is rarer
    clear = [f for f in found if f.excludes_zero and f.p_value < 0.05]
    assert len(clear) <= 2
    for f in found:
        assert f.decided
        assert f.low < f.estimate < f.high or f.low == f.high


def test_a_run_against_itself_is_exactly_no_change() -> None:
    x = series(1)
    f = median_shift(x, x)
    assert f.estimate == 0
    assert f.p_value == pytest.approx(1.0)
    assert not f.excludes_zero


@pytest.mark.parametrize("shift", [6.0, 10.0, 15.0])
def test_a_shifted_series_is_a_change_whose_interval_covers_the_shift(shift: float) -> None:
    base, new = series(3), [v + shift for v in series(4)]
    f = median_shift(base, new)
    assert f.excludes_zero
    assert f.p_value < 0.01
    assert f.low <= shift <= f.high
    assert f.estimate == pytest.approx(shift, abs=3.0)


def test_too_few_windows_is_said_not_guessed() -> None:
    f = median_shift([30.0, 31, 29, 30], [60.0, 61, 59, 60])
    assert not f.decided
    assert "too few windows to decide" in f.reason
    assert math.isnan(f.p_value)


def test_correlated_windows_get_longer_blocks_and_wider_intervals() -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 1, 60)
    walk = list(30 + np.convolve(noise, np.ones(6), mode="same"))  # slow spells of ~6 windows
    independent = list(30 + rng.normal(0, float(np.std(walk)), 60))
    assert block_length(walk) > 1
    assert block_length(independent) <= 2
    wide = median_shift(walk, walk[::-1])
    narrow = median_shift(independent, independent[::-1])
    assert wide.high - wide.low >= narrow.high - narrow.low


def test_rate_test_for_counts() -> None:
    same = rate_change(3, 20.0, 4, 20.0)
    assert same.p_value > 0.5
    assert not same.excludes_zero
    more = rate_change(2, 20.0, 40, 20.0)
    assert more.p_value < 1e-6
    assert more.excludes_zero
    assert more.low <= 38 / 20 <= more.high
    none = rate_change(0, 20.0, 0, 25.0)
    assert none.p_value == 1.0
    assert none.estimate == 0
    # a longer run is allowed more events at the same rate
    assert rate_change(10, 10.0, 20, 20.0).p_value == pytest.approx(1.0)


def test_p_values_are_adjusted_for_many_figures_and_missing_ones_skipped() -> None:
    adjusted = adjust([0.01, 0.04, math.nan, 0.03])
    assert adjusted[0] == pytest.approx(0.03)
    assert adjusted[1] == pytest.approx(0.04)
    assert adjusted[3] == pytest.approx(0.04)
    assert math.isnan(adjusted[2])
    assert adjust([]) == []


def _clear(estimate: float, level: float) -> Shift:
    """A change the data leave no doubt about: an interval tight around it, a tiny p-value."""
    return Shift(estimate, estimate - abs(estimate) / 10 - 1e-9, estimate + abs(estimate) / 10 + 1e-9,
                 0.95, 1e-6, "median of windows", 30, 30, level)


@pytest.mark.parametrize(("base", "new", "unit", "verdict"), [
    (0.2, 0.3, "ms", "no clear change"),  # +50%, clear, but a tenth of a millisecond
    (0.2, 1.2, "ms", "regressed"),  # +500% and a full millisecond
    (100.0, 109.0, "ms", "no clear change"),  # clear, but under the 10% minimum effect
    (100.0, 111.0, "ms", "regressed"),
    (100.0, 89.0, "ms", "improved"),
    (10.0, 11.5, "%", "no clear change"),  # +15% of CPU, but 1.5 points
    (10.0, 13.0, "%", "regressed"),
    (0.0, 0.0005, "ratio", "no clear change"),
    (0.0, 0.002, "ratio", "regressed"),
])
def test_clear_changes_still_need_the_minimum_effect(base: float, new: float, unit: str,
                                                      verdict: str) -> None:
    d = decide(_clear(new - base, base), 1e-6, unit, "lower", Rule(), base, new, 20.0)
    assert d.verdict == verdict
    if verdict == "no clear change":
        assert "smaller than the minimum effect" in d.note
    assert "95% interval" in d.interval


def test_a_large_change_that_is_not_clear_is_no_clear_change_with_its_interval() -> None:
    noisy = Shift(7.4, -3.1, 18.0, 0.95, 0.2, "median of windows", 20, 20, 30.0)
    d = decide(noisy, 0.2, "ms", "lower", Rule(), 30.0, 37.4, 20.0)
    assert d.verdict == "no clear change"
    assert d.interval == "+7.4 ms, 95% interval -3.1 ms to +18.0 ms"


def test_clear_alone_but_not_among_many_figures() -> None:
    d = decide(_clear(20.0, 100.0), 0.3, "ms", "lower", Rule(), 100.0, 120.0, 20.0)
    assert d.verdict == "no clear change"
    assert "adjusted for every figure compared" in d.note


def test_min_effect_ms_and_confidence_come_from_the_rule() -> None:
    assert Rule(min_effect_ms=5).min_effect("ms", 10.0) == 5
    assert Rule(tolerance_pct=20).min_effect("ms", 100.0) == 20
    assert Rule(confidence=0.99).alpha == pytest.approx(0.01)
    higher = decide(_clear(-20.0, 100.0), 1e-6, "/s", "higher", Rule(), 100.0, 80.0, 20.0)
    assert higher.verdict == "regressed"  # less throughput is worse


def _slow_spells(n: int, seed: int = 11) -> list[float]:
    """A drifting series (a run warming up): autocorrelated over most of its length, so its
    block length is as long as a series of n windows allows."""
    rng = np.random.default_rng(seed)
    return list(30 + np.linspace(0, 20, n) + rng.normal(0, 0.5, n))


@pytest.mark.parametrize(("short", "long"), [(8, 90), (12, 90), (20, 90), (21, 99), (9, 400)])
def test_runs_of_different_lengths_are_judged_or_called_too_few_never_a_crash(
        short: int, long: int) -> None:
    """The block length of the longer run is longer than the shorter run: that pair cannot hold
    enough blocks, in either direction, and says so instead of resampling past its end."""
    drifting = _slow_spells(long)
    assert block_length(drifting) > short // MIN_BLOCKS
    for base, new in ((series(1, short), drifting), (drifting, series(1, short))):
        f = median_shift(base, new)
        assert not f.decided
        assert "too few windows to decide" in f.reason
        assert f"({len(base)} and {len(new)} windows" in f.reason
        assert math.isnan(f.p_value)
        assert not f.excludes_zero


@pytest.mark.parametrize("short", [8, 9, 16, 20, 33])
def test_a_short_independent_run_against_a_long_one_is_judged(short: int) -> None:
    """What both runs can support is judged: independent windows make blocks of one, and a short
    run of at least MIN_WINDOWS of them is enough."""
    long = series(5, 300)
    f = median_shift(long, [v + 12 for v in series(6, short)])
    g = median_shift([v + 12 for v in series(6, short)], long)
    for shift in (f, g):
        assert shift.decided, shift.reason
        assert shift.low <= shift.high
    assert f.estimate > 0 > g.estimate


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_very_short_runs_against_long_ones_are_too_few_windows(n: int) -> None:
    for base, new in ((series(2, n), _slow_spells(90)), (_slow_spells(90), series(2, n))):
        f = median_shift(base, new)
        assert not f.decided
        assert "too few windows to decide" in f.reason


def test_a_block_longer_than_the_series_still_resamples_it() -> None:
    from perfdash.analyze.stats import _block_bootstrap_medians

    medians = np.asarray(_block_bootstrap_medians([1.0, 2.0, 3.0], 22, 50, 0))
    assert medians.shape == (50,)
    assert set(np.round(medians, 6)) <= {1.0, 2.0, 3.0}
