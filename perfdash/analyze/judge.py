"""How one figure of two runs is judged: which samples stand for it, which test fits them, and the
decision rule (statistically clear AND at least the minimum effect) that `compare` applies to every
figure. See `perfdash.analyze.compare` for the rule in words, `perfdash.analyze.stats` for the tests.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from perfdash.analyze.stats import Shift, median_shift, rate_change
from perfdash.artifacts.timeline import Timeline
from perfdash.tools.base import FigureSpec

Better = Literal["lower", "higher"]

# The smallest change that can matter, per unit: 1 ms (the profile's min_effect_ms), 1 count,
# 0.001 of a ratio, 2 points of CPU/memory, 1/s.
FLOORS: dict[str, float] = {"ms": 1.0, "": 1.0, "ratio": 0.001, "%": 2.0, "/s": 1.0}
# Figures without a unit that are levels sampled over time, not counts of events
LEVELS = frozenset({"db.connections"})


@dataclass(frozen=True)
class Rule:
    """How sure (`confidence`) and how big (`tolerance_pct` of the base, and the unit's floor with
    `min_effect_ms` for latencies) a change must be to be called one."""

    tolerance_pct: float = 10.0
    min_effect_ms: float = 1.0
    confidence: float = 0.95

    @property
    def alpha(self) -> float:
        return 1 - self.confidence

    def min_effect(self, unit: str, level: float) -> float:
        floor = self.min_effect_ms if unit == "ms" else FLOORS.get(unit, 0.0)
        return max(floor, self.tolerance_pct / 100 * abs(level))


@dataclass(frozen=True)
class RunSeries:
    """What one run (or a pooled baseline of several) measured over time: the per-window samples of
    each timeline column, its duration, and counts (figure and check values) for rate tests."""

    columns: Mapping[str, Sequence[float | None]] = field(default_factory=dict)
    duration_s: float = 0.0
    counts: Mapping[str, float] = field(default_factory=dict)
    why_no_timeline: str = ""
    # per column, the median window of each run in it (one for a run, several for a pool)
    levels: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    parts: tuple[RunSeries, ...] = ()  # a pool: the runs in it

    @staticmethod
    def of(timeline: Timeline | None, why: str | None, duration_s: float,
           counts: Mapping[str, float]) -> RunSeries:
        if duration_s <= 0 and timeline is not None:
            duration_s = float(len(timeline))
        columns = dict(timeline.series) if timeline else {}
        levels = {}
        for name, values in columns.items():
            present = [v for v in values if v is not None and math.isfinite(v)]
            if present:
                levels[name] = (statistics.median(present),)
        return RunSeries(columns, duration_s, dict(counts), why or "", levels)


def pool(runs: Sequence[RunSeries]) -> RunSeries:
    """Several runs as one baseline: windows one after another, durations and counts added."""
    if len(runs) == 1:
        return runs[0]
    columns: dict[str, list[float | None]] = {}
    for run in runs:
        for name, values in run.columns.items():
            columns.setdefault(name, []).extend(values)
    counts: dict[str, float] = {}
    for run in runs:
        for key, value in run.counts.items():
            counts[key] = counts.get(key, 0.0) + value
    levels: dict[str, tuple[float, ...]] = {}
    for run in runs:
        for name, values in run.levels.items():
            levels[name] = levels.get(name, ()) + tuple(values)
    return RunSeries(columns, sum(r.duration_s for r in runs), counts,
                     "; ".join(sorted({r.why_no_timeline for r in runs if r.why_no_timeline})),
                     levels, tuple(runs))


POOL_MIN_RUNS = 3  # from this many baseline runs on, their spread is known well enough to use


def beyond_the_pool(spec: FigureSpec | None, base: RunSeries, new: RunSeries,
                    estimate: float) -> str:
    """Why a change is within the run-to-run spread of a pooled baseline, or "" when it is not.

    Windows within one run cannot show how much whole runs differ from each other (another load
    on the machine, a cold cache), and two identical runs can differ by more than their windows
    vary. A baseline of several runs shows it: a change counts only when the new run's median
    window lies beyond the median window of every baseline run, on the side it moved to (for
    exchangeable runs, that happens by chance with probability 1/(k+1) for k runs)."""
    if spec is None or not spec.timeline:
        return ""
    levels = base.levels.get(spec.timeline, ())
    mine = new.levels.get(spec.timeline, ())
    if len(levels) < POOL_MIN_RUNS or not mine:
        return ""
    level = mine[0]
    if (estimate > 0 and level > max(levels)) or (estimate < 0 and level < min(levels)):
        return ""
    return (f"within the spread of the {len(levels)} baseline runs (their median windows "
            f"{min(levels):.4g} to {max(levels):.4g}, this run {level:.4g})")


def _windows(run: RunSeries, column: str) -> list[float]:
    return [v for v in run.columns.get(column) or () if v is not None and math.isfinite(v)]


def measure(key: str, unit: str, spec: FigureSpec | None, base: RunSeries, new: RunSeries,
            confidence: float) -> Shift | None:
    """The change of one figure with its interval and p-value, or None when it has nothing to
    sample (one value per run)."""
    if spec is not None and spec.timeline and spec.timeline_weight:
        # a ratio of requests: failed = rate x requests, second by second
        def counted(run: RunSeries) -> tuple[float, float]:
            rates = run.columns.get(spec.timeline or "") or ()
            weights = run.columns.get(spec.timeline_weight or "") or ()
            pairs = [(r, w) for r, w in zip(rates, weights, strict=False)
                     if r is not None and w is not None]
            return sum(r * w for r, w in pairs), sum(w for _, w in pairs)

        (bk, bn), (nk, nn) = counted(base), counted(new)
        if bn > 0 and nn > 0:
            return rate_change(bk, bn, nk, nn, confidence=confidence)
        return None
    if spec is not None and spec.timeline and (unit != "" or key in LEVELS):
        b, n = _windows(base, spec.timeline), _windows(new, spec.timeline)
        parts = [w for part in base.parts if (w := _windows(part, spec.timeline or ""))]
        if b or n:
            return median_shift(b, n, confidence=confidence, base_parts=parts)
    if unit == "" and not key.endswith(".exit") and key in base.counts and key in new.counts:
        return rate_change(base.counts[key], base.duration_s, new.counts[key], new.duration_s,
                           confidence=confidence)
    return None


@dataclass(frozen=True)
class Decision:
    verdict: Literal["regressed", "improved", "no clear change", "too few windows"]
    note: str
    interval: str
    min_effect: float | None


def fmt_amount(value: float, unit: str, *, sign: bool = True) -> str:
    """A change in its unit: `+7.4 ms`, `+0.50 pp`, `+4.0 pts`, `+1.2/s`, `+3`."""
    s = "+" if sign else ""
    if unit == "ratio":
        return f"{value * 100:{s}.2f} pp"
    if unit == "%":
        return f"{value:{s}.1f} pts"
    if unit == "ms":
        return f"{value:{s}.1f} ms"
    if unit == "/s":
        return f"{value:{s}.1f}/s"
    return f"{value:{s}.3g}" if value != int(value) else f"{value:{s},.0f}"


def _in_unit(shift: Shift, unit: str, exposure: float) -> tuple[float, float, float, float]:
    """(estimate, low, high, base level) in the figure's own unit: a rate test of a count is
    scaled back to events per run (the new run's duration), of a ratio it already is one."""
    scale = exposure if shift.method == "rate test" and unit == "" else 1.0
    return (shift.estimate * scale, shift.low * scale, shift.high * scale,
            shift.base_level * scale)


def decide(shift: Shift | None, adjusted_p: float, unit: str, better: Better, rule: Rule,
           base_value: float, new_value: float, new_duration_s: float) -> Decision:
    """The verdict of one figure under the rule in `perfdash.analyze.compare`."""
    if shift is None:
        if base_value == new_value:
            return Decision("no clear change", "", "", None)
        return Decision("too few windows", "too few windows to decide: one value per run, "
                        "nothing sampled over time", "", None)
    if not shift.decided:
        if base_value == new_value:  # nothing to decide: the figures are the same
            return Decision("no clear change", shift.reason, "", None)
        return Decision("too few windows", shift.reason, "", None)
    if shift.method == "rate test" and shift.base_n == shift.new_n == 0:
        return Decision("no clear change", "none in either run", "", None)
    estimate, low, high, level = _in_unit(shift, unit, new_duration_s)
    level = level if shift.method != "rate test" or unit != "ratio" else shift.base_level
    effect = rule.min_effect(unit, level if level else base_value)
    interval = (f"{fmt_amount(estimate, unit)}, {rule.confidence:.0%} interval "
                f"{fmt_amount(low, unit)} to {fmt_amount(high, unit)}")
    clear = shift.excludes_zero and adjusted_p < rule.alpha
    big = abs(estimate) >= effect - 1e-12
    if clear and big:
        worse = estimate > 0 if better == "lower" else estimate < 0
        return Decision("regressed" if worse else "improved", "", interval, effect)
    if not clear and shift.excludes_zero and shift.p_value < rule.alpha:
        why = (f"p={shift.p_value:.3f} alone, {adjusted_p:.2f} adjusted for every figure "
               "compared")
    elif not clear:
        why = "within the noise of the two runs"
    else:
        why = f"smaller than the minimum effect {fmt_amount(effect, unit, sign=False)}"
    return Decision("no clear change", why, interval, effect)
