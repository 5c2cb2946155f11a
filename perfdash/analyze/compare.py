"""Two runs side by side: every check, and the raw latency percentiles, counters, host and database
figures of a base run against a new one, each judged regressed, improved or "no clear change".

`perfdash compare BASE NEW`, a run's `--baseline` (and so `fail_on_regression`, comparison.md and
the result view's baseline panel) call `compare_runs` and show the result with `comparison_table`
(terminal) or `comparison_markdown` (pull requests, tickets), both in `compare_report`. A raw
figure that a check already compares (k6 p(95) under a p(95) threshold, say) is listed once, as
the check.

The decision rule. Two runs of the same code differ by a quarter in their whole-run p95, so one
number per run cannot separate noise from change. Each figure is judged from what both runs
measured over time (`perfdash.analyze.stats`):

- a figure the timeline samples every window (k6 p95 each second, req/s, host CPU, ...): the
  difference of the median windows with a moving-block bootstrap interval, and a Mann-Whitney U
  test where the windows are independent (the bootstrap's own p-value where they are not);
- a count (errors, failed users, 5xx, log errors, slow queries) or an error rate: an exact test
  for the difference of two rates, over the profile's planned load or the run's requests;
- a figure with one value per run and nothing to sample (k6 p(90), max, the checks pass
  rate): "too few windows to decide" when the values differ (never a guess), "no clear change"
  when they are equal.

A change is "regressed" or "improved" only when it is statistically clear — its p-value, adjusted
over every figure judged in the comparison (Benjamini-Hochberg: two identical runs get a false
verdict anywhere with probability at most 1 − confidence), is below 1 − confidence, and the
interval excludes zero — AND at least the minimum effect: `tolerance_pct` of the base (10% by
default) and an absolute floor for its unit (`FLOORS`; `min_effect_ms` for latencies). Anything
else is "no clear change", shown with its interval; a run with too few windows says so. Against a
pooled baseline of at least three runs (`--baseline auto`), a change of a sampled figure must also
take the new run beyond every baseline run's median window: windows within a run cannot show how
much whole runs of the same code differ (another load on the machine), several runs can.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from perfdash.analyze.compare_inputs import METRICS, RunSide, as_number, load_side, pooled_side
from perfdash.analyze.compare_result import CompareError, Comparison, MetricDelta, Verdict
from perfdash.analyze.judge import Better, Decision, Rule, RunSeries, beyond_the_pool, decide, measure
from perfdash.analyze.stats import Shift, adjust
from perfdash.artifacts import METRICS_CSV, QUERY_ANALYSIS_JSON
from perfdash.check import stored_limit
from perfdash.tools import TOOLS
from perfdash.tools.base import FigureSpec

# The module's interface: compare_runs and what it returns or raises (defined in compare_result).
__all__ = ["CompareError", "Comparison", "MetricDelta", "Verdict", "baseline_runs", "compare_runs"]

# Raw figures that a check already carries under another id; shown once, as the check.
_SAME_AS_CHECK = {
    **{f.key: f.same_as_check for tool in TOOLS for f in tool.figure_specs if f.same_as_check},
    "host.cpu.p95": "host.cpu", "host.memory.peak": "host.memory",
    "db.seq_scanned_tables": "db.seq_scans"}
_SOURCES = {**{tool.name: f"{tool.label} report" for tool in TOOLS}, "host": METRICS_CSV,
            "db": QUERY_ANALYSIS_JSON, "server": "the access log"}
# What the timeline samples, by figure key and by check id: the tools' own, then the host's,
# the database's and the app log's.
_SERIES: dict[str, FigureSpec] = {
    **{k: f for tool in TOOLS for f in tool.figure_specs if f.timeline
       for k in (f.key, f.same_as_check) if k},
    **{k: FigureSpec(k, k, unit, "lower", timeline=column) for k, unit, column in (
        ("host.cpu", "%", "cpu_pct"), ("host.cpu.p95", "%", "cpu_pct"),
        ("host.memory", "%", "mem_pct"), ("host.memory.peak", "%", "mem_pct"),
        ("db.connections", "", "db_total"), ("server.p95", "ms", "srv_p95_ms"))},
}


def _check_better(check: dict[str, Any]) -> Better:
    """Higher is better where the threshold is a minimum (`rate>=0.99`) or for a checks pass rate."""
    limit = stored_limit(check)
    if limit is not None and limit.is_minimum:
        return "higher"
    if check.get("unit") == "ratio" and "checks" in str(check.get("id", "")):
        return "higher"
    return "lower"


@dataclass
class _Sides:
    """Both runs' series, and the change of each figure measured so far (judged at the end, when
    every p-value of the comparison is known)."""

    base: RunSeries
    new: RunSeries
    confidence: float
    shifts: dict[str, Shift | None] = field(default_factory=dict)


def _delta(sides: _Sides, key: str, label: str, unit: str, better: Better, base: float | None,
           new: float | None, note: str = "") -> MetricDelta:
    if base is None or new is None:
        return MetricDelta(key, label, unit, base, new, None, None, better, "not comparable", note)
    raw = key.split(":", 1)[1]
    sides.shifts[key] = measure(raw, unit, _SERIES.get(raw), sides.base, sides.new,
                                sides.confidence)
    delta = new - base
    pct = delta / abs(base) * 100 if base else None
    return MetricDelta(key, label, unit, base, new, delta, pct, better, "no clear change", note)


def _finite(value: float | None) -> float | None:
    """NaN is not JSON: a p-value that was not computed is None."""
    return value if value is not None and math.isfinite(value) else None


def _judge_all(deltas: list[MetricDelta], sides: _Sides, rule: Rule) -> list[MetricDelta]:
    """Every measured figure decided, with the p-values adjusted over all of them
    (Benjamini-Hochberg): a comparison of 20 figures must not find one "change" by chance."""
    keys = [d.key for d in deltas if sides.shifts.get(d.key) is not None]
    raw = [s.p_value if (s := sides.shifts[k]) is not None and s.decided and s.base_n + s.new_n > 0
           else math.nan for k in keys]
    adjusted = dict(zip(keys, adjust(raw), strict=True))
    out: list[MetricDelta] = []
    for d in deltas:
        if d.key not in sides.shifts or d.base is None or d.new is None:
            out.append(d)
            continue
        shift = sides.shifts[d.key]
        decision: Decision = decide(shift, adjusted.get(d.key, math.nan), d.unit, d.better, rule,
                                    d.base, d.new, sides.new.duration_s)
        note = "; ".join(x for x in (d.note, decision.note) if x)
        if shift is None:
            out.append(replace(d, verdict=decision.verdict, note=note))
            continue
        if decision.verdict in ("regressed", "improved") and shift.method == "median of windows":
            spread = beyond_the_pool(_SERIES.get(d.key.split(":", 1)[1]), sides.base, sides.new,
                                     shift.estimate)
            if spread:
                decision = replace(decision, verdict="no clear change")
                note = "; ".join(x for x in (d.note, spread) if x)
        scale = sides.new.duration_s if shift.method == "rate test" and d.unit == "" else 1.0
        finite = shift.decided and math.isfinite(shift.low)
        out.append(replace(
            d, verdict=decision.verdict, note=note, interval=decision.interval,
            estimate=shift.estimate * scale, low=shift.low * scale if finite else None,
            high=shift.high * scale if finite else None,
            p_value=_finite(adjusted.get(d.key)) if shift.decided else None, method=shift.method,
            samples=(float(shift.base_n), float(shift.new_n)), min_effect=decision.min_effect))
    return out


def _compare_checks(base: RunSide, new: RunSide, sides: _Sides) -> list[MetricDelta]:
    if base.summary is None and new.summary is None:
        return []
    b_checks = {c["id"]: c for c in (base.summary or {}).get("checks") or []
                if isinstance(c, dict) and "id" in c}
    n_checks = {c["id"]: c for c in (new.summary or {}).get("checks") or []
                if isinstance(c, dict) and "id" in c}
    out: list[MetricDelta] = []
    for cid in [*n_checks, *(k for k in b_checks if k not in n_checks)]:
        if cid.startswith("baseline."):
            continue  # an earlier comparison's own verdict is not a figure of the run
        b, n = b_checks.get(cid), n_checks.get(cid)
        c = n or b or {}
        key, label, unit, better = f"check:{cid}", str(c.get("name", cid)), str(c.get("unit") or ""), \
            _check_better(c)
        bv, nv = as_number((b or {}).get("value")), as_number((n or {}).get("value"))
        if base.summary is None or new.summary is None:
            side = "base" if base.summary is None else "new"
            why = base.summary_problem if base.summary is None else new.summary_problem
            out.append(_delta(sides, key, label, unit, better, bv, nv, f"{side}: {why}"))
        elif b is None or n is None:
            verdict: Verdict = "added" if b is None else "removed"
            out.append(MetricDelta(key, label, unit, bv, nv, None, None, better, verdict,
                                   f"only in the {'new' if b is None else 'base'} run"))
        elif bv is None or nv is None:
            side, chk = ("base", b) if bv is None else ("new", n)
            why = f"{side}: {chk.get('status')}" + (f": {chk['detail']}" if chk.get("detail") else "")
            out.append(_delta(sides, key, label, unit, better, bv, nv, why))
        elif (b.get("unit") or "") != (n.get("unit") or ""):
            out.append(_delta(sides, key, label, unit, better, None, None,
                              f"unit changed: {b.get('unit')!r} → {n.get('unit')!r}"))
        else:
            notes = [f"{b.get('status')} → {n.get('status')}"] if b.get("status") != n.get("status") else []
            if b.get("threshold") != n.get("threshold"):
                notes.append(f"threshold {b.get('threshold')} → {n.get('threshold')}")
            out.append(_delta(sides, key, label, unit, better, bv, nv, "; ".join(notes)))
    return out


def _compare_metrics(base: RunSide, new: RunSide, sides: _Sides, notes: list[str],
                     compared_checks: set[str]) -> list[MetricDelta]:
    out: list[MetricDelta] = []
    for key, label, unit, better in METRICS:
        if _SAME_AS_CHECK.get(key, key) in compared_checks:
            continue  # the check row already compares this very figure
        bv, nv = base.values.get(key), new.values.get(key)
        b_why, n_why = base.unreadable.get(key), new.unreadable.get(key)
        if bv is None and nv is None:
            if b_why and n_why:
                source = _SOURCES[key.split(".", 1)[0]]
                note = f"{source}: not available in either run (base: {b_why}; new: {n_why})"
                if note not in notes:
                    notes.append(note)
            continue  # a figure neither run has (no Socket.IO scenario, say) is no news
        if b_why or n_why:
            why = f"base: {b_why}" if b_why else f"new: {n_why}"
            out.append(_delta(sides, f"metric:{key}", label, unit, better, bv, nv, why))
        elif bv is None or nv is None:
            out.append(MetricDelta(f"metric:{key}", label, unit, bv, nv, None, None, better,
                                   "added" if bv is None else "removed",
                                   f"only in the {'new' if bv is None else 'base'} run"))
        else:
            out.append(_delta(sides, f"metric:{key}", label, unit, better, bv, nv))
    return out


def baseline_runs(base: Path | Sequence[Path]) -> list[Path]:
    """The run directories a baseline stands for: one, or the runs `--baseline auto` pooled,
    oldest first."""
    return [base] if isinstance(base, Path) else list(base)


def _profile_rule(summary: dict[str, Any] | None) -> dict[str, float]:
    """The [baseline] settings the new run was judged with, as its summary.json recorded them."""
    profile = ((summary or {}).get("configuration") or {}).get("profile") or {}
    out: dict[str, float] = {}
    for key, name in (("regression_min_effect_ms", "min_effect_ms"),
                      ("regression_confidence", "confidence")):
        value = as_number(profile.get(key)) if isinstance(profile, dict) else None
        if value is not None:
            out[name] = value
    return out


def compare_runs(base_dir: Path | Sequence[Path], new_dir: Path, *, tolerance_pct: float = 10.0,
                 min_effect_ms: float | None = None,
                 confidence: float | None = None) -> Comparison:
    """Compare a base run (or a pooled baseline of several runs) with a new run.

    `min_effect_ms` and `confidence` default to the new run's profile as its summary.json recorded
    it (`[profiles.P.baseline] min_effect_ms`, `confidence`), then to 1 ms and 95%.

    Raises `CompareError` (one sentence) when a directory does not exist, is empty or has no
    readable summary.json: without it nothing says what the run was, and "no regression" would be
    a lie. Any other unreadable artifact on one side becomes "not comparable" with the reason, so a
    broken artifact can neither hide a regression behind an improvement nor invent one. Runs of
    different profiles or environments are compared, with a warning in `warnings`.
    """
    base_dirs = baseline_runs(base_dir)
    if not base_dirs:
        raise CompareError("no baseline run to compare with; pass a results/perf/<timestamp> "
                           "directory of a finished run.")
    base_each = [load_side(d) for d in base_dirs]
    base, new = pooled_side(base_each), load_side(new_dir)
    recorded = _profile_rule(new.summary)
    rule = Rule(tolerance_pct,
                min_effect_ms if min_effect_ms is not None else recorded.get("min_effect_ms", 1.0),
                confidence if confidence is not None else recorded.get("confidence", 0.95))
    notes: list[str] = []
    for side in (base, new):
        if side.summary is None:
            notes.append(f"{side.run_id}: {side.summary_problem}; checks are not comparable")
        if side.series.why_no_timeline:
            notes.append(f"{side.run_id}: {side.series.why_no_timeline}; figures sampled over time "
                         "cannot be judged")
        elif "k6_avg_ms" in side.series.levels and "k6_p95_ms" not in side.series.levels:
            notes.append(f"{side.run_id}: k6 ran without its web dashboard output, so its "
                         "timeline has k6's mean latency but no per-second percentiles; k6 p95 "
                         "changes are judged only with web_dashboard = true in the profile's k6 "
                         "table")
    warnings: list[str] = []
    for other in base_each:
        if other.summary and new.summary:
            for what in ("profile", "environment"):
                if other.summary.get(what) != new.summary.get(what):
                    warnings.append(
                        f"the runs used different {what}s ({other.summary.get(what)} → "
                        f"{new.summary.get(what)}), so the comparison may not mean much: a "
                        f"different {'load' if what == 'profile' else 'system'} explains the "
                        "changes as well as a regression does")
    warnings = list(dict.fromkeys(warnings))
    sides = _Sides(base.series, new.series, rule.confidence)
    checks = _compare_checks(base, new, sides)
    compared = {d.key.removeprefix("check:") for d in checks if d.delta is not None}
    deltas = _judge_all(checks + _compare_metrics(base, new, sides, notes, compared), sides, rule)
    busy = next((d for d in deltas if d.key in ("check:host.cpu", "metric:host.cpu.p95")
                 and d.verdict in ("regressed", "improved")), None)
    if busy is not None:
        notes.append(f"the host's CPU differed clearly between the runs ({busy.interval}): when "
                     "something else ran on the machine in one of them, latency changes come from "
                     "the machine as much as from the code; a pooled baseline (--baseline auto) "
                     "or a quieter machine tells them apart")
    return Comparison(base.run_id, new.run_id, tolerance_pct, tuple(deltas), tuple(notes),
                      tuple(warnings), rule.confidence, rule.min_effect_ms,
                      tuple(r.run_id for r in base_each) if len(base_each) > 1 else ())
