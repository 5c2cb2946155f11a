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
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from perfdash.analyze.host import percentile, read_metrics
from perfdash.analyze.host_groups import backend_series, with_backend_host_columns
from perfdash.analyze.judge import (
    FLOORS,
    Better,
    Decision,
    Rule,
    RunSeries,
    beyond_the_pool,
    decide,
    measure,
    pool,
)
from perfdash.analyze.reports import parse_threshold
from perfdash.analyze.stats import Shift, adjust
from perfdash.analyze.summary_shape import shape_problem
from perfdash.artifacts import read_json
from perfdash.collect.access_log import ARTIFACT as APPLOG_ENDPOINTS
from perfdash.collect.latency_buckets import percentile as access_percentile
from perfdash.collect.report_files import read_applog_endpoints
from perfdash.timeline.reader import read_timeline
from perfdash.tools import TOOLS
from perfdash.tools.base import FigureSpec, LoadTool

Verdict = Literal["regressed", "improved", "no clear change", "too few windows", "not comparable",
                  "added", "removed"]
JUDGED: tuple[Verdict, ...] = ("regressed", "improved", "no clear change")


# Raw figures compared besides the checks: (key, label, unit, which direction is better).
METRICS: tuple[tuple[str, str, str, Better], ...] = (
    *((f.key, f.label, f.unit, f.better) for tool in TOOLS for f in tool.figure_specs
      if f.same_as_check != f.key),
    ("host.cpu.p95", "Host CPU p95", "%", "lower"),
    ("host.memory.peak", "Host memory peak", "%", "lower"),
    ("server.p95", "Server request time p95 (access log)", "ms", "lower"),
    ("db.slow_queries", "Database slow queries", "", "lower"),
    ("db.seq_scanned_tables", "Database seq-scanned tables", "", "lower"),
)
# Raw figures that a check already carries under another id; shown once, as the check.
_SAME_AS_CHECK = {
    **{f.key: f.same_as_check for tool in TOOLS for f in tool.figure_specs if f.same_as_check},
    "host.cpu.p95": "host.cpu", "host.memory.peak": "host.memory",
    "db.seq_scanned_tables": "db.seq_scans"}
_SOURCES = {**{tool.name: f"{tool.label} report" for tool in TOOLS}, "host": "metrics.csv",
            "db": "query-analysis.json", "server": "the access log"}
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


class CompareError(Exception):
    """A run directory that cannot be compared at all; the message names it and says why."""


@dataclass(frozen=True)
class MetricDelta:
    """One figure in both runs. `base`, `new`, `delta` and `pct` are the runs' own figures (`pct`
    None when the base is 0 or either side is missing); `estimate`, `low` and `high` are the
    change the verdict rests on (the shift of the median window, or of a count) with its interval,
    `interval` that in words, `p_value` its test (adjusted over the comparison)."""

    key: str
    label: str
    unit: str
    base: float | None
    new: float | None
    delta: float | None
    pct: float | None
    better: Better
    verdict: Verdict
    note: str = ""
    interval: str = ""
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    p_value: float | None = None
    method: str = ""  # "median of windows", "rate test", or "" (one value per run)
    samples: tuple[float, float] | None = None  # windows (or events) in base and new
    min_effect: float | None = None


@dataclass(frozen=True)
class Comparison:
    base_run: str
    new_run: str
    tolerance_pct: float
    deltas: tuple[MetricDelta, ...]
    notes: tuple[str, ...] = field(default=())
    # The two runs are not like for like (another profile or environment): say so before any verdict.
    warnings: tuple[str, ...] = field(default=())
    confidence: float = 0.95
    min_effect_ms: float = 1.0
    base_runs: tuple[str, ...] = field(default=())  # a pooled baseline: every run in it

    @property
    def undecided(self) -> tuple[MetricDelta, ...]:
        return tuple(d for d in self.deltas if d.verdict == "too few windows")

    @property
    def judged(self) -> tuple[MetricDelta, ...]:
        return tuple(d for d in self.deltas if d.verdict in JUDGED)

    @property
    def rule(self) -> str:
        """The decision rule in a few words, for titles and reports."""
        return (f"{self.confidence:.0%} confidence, minimum effect {self.tolerance_pct:g}% and "
                f"{self.min_effect_ms:g} ms")

    @property
    def regressions(self) -> tuple[MetricDelta, ...]:
        return tuple(d for d in self.deltas if d.verdict == "regressed")

    @property
    def improvements(self) -> tuple[MetricDelta, ...]:
        return tuple(d for d in self.deltas if d.verdict == "improved")

    def to_json(self) -> dict[str, Any]:
        return {"base_run": self.base_run, "new_run": self.new_run,
                "base_runs": list(self.base_runs or (self.base_run,)),
                "tolerance_pct": self.tolerance_pct, "floors": {**FLOORS, "ms": self.min_effect_ms},
                "confidence": self.confidence, "min_effect_ms": self.min_effect_ms,
                "regressions": len(self.regressions), "improvements": len(self.improvements),
                "undecided": len(self.undecided), "judged": len(self.judged),
                "warnings": list(self.warnings), "notes": list(self.notes),
                "deltas": [asdict(d) for d in self.deltas]}


@dataclass
class _Run:
    """What one side offers: its summary (or why not), raw figures, and why some are unreadable."""

    run_id: str
    summary: dict[str, Any] | None
    summary_problem: str
    values: dict[str, float]
    unreadable: dict[str, str]
    series: RunSeries = field(default_factory=RunSeries)


def _load(run_dir: Path) -> _Run:
    if not run_dir.is_dir():
        raise CompareError(f"{run_dir} is not a run directory; pass two results/perf/<timestamp> "
                           "directories of finished runs.")
    data, problem = read_json(run_dir / "summary.json")
    if not isinstance(data, dict):
        why = problem or "summary.json is not a JSON object"
        if problem and problem.endswith(" is missing") and not any(run_dir.iterdir()):
            why = "the directory is empty"
        raise CompareError(f"{run_dir} cannot be compared: {why}; pass two results/perf/<timestamp> "
                           "directories of finished runs.")
    version = data.get("schema_version", 1)
    if isinstance(version, bool) or version != 1:
        raise CompareError(f"{run_dir} cannot be compared: its summary.json has schema_version "
                           f"{version!r}, which this perfdash cannot read; compare it with the "
                           "perfdash version that wrote it.")
    if (shape := shape_problem(data)) is not None:
        raise CompareError(f"{run_dir} cannot be compared: {shape}.")
    summary: dict[str, Any] | None = data
    run = _Run(str(summary.get("run_id") or run_dir.name) if summary else run_dir.name, summary,
               problem or "summary.json is not a summary", {}, {})
    readers: list[tuple[str, Callable[[Path, dict[str, Any] | None], _Reading]]] = [
        (tool.name, _tool_reader(tool)) for tool in TOOLS]
    for source, reader in (*readers, ("host", _host), ("db", _db), ("server", _server)):
        values, reason = reader(run_dir, summary)
        if reason is not None:
            run.unreadable.update({k: reason for k, *_ in METRICS if k.startswith(source + ".")})
        for key, value in values.items():
            if isinstance(value, str):
                run.unreadable[key] = value
            else:
                run.values[key] = value
    counts = dict(run.values)
    for c in data.get("checks") or []:
        number = _number(c.get("value")) if isinstance(c, dict) else None
        if number is not None:
            counts[str(c["id"])] = number
    timeline, no_timeline = read_timeline(run_dir)
    if timeline is not None:
        timeline = with_backend_host_columns(timeline, run_dir)
    run.series = RunSeries.of(timeline, no_timeline, _exposure_s(data), counts)
    return run


def _exposure_s(summary: dict[str, Any]) -> float:
    """The seconds a count is counted over: the profile's planned load (the same for every run of
    it, where a run's own duration also holds its start-up and wind-down, which vary with the
    machine), else the run's duration; 0 lets the timeline's length decide."""
    profile = ((summary.get("configuration") or {}).get("profile") or {})
    planned = _number(profile.get("planned_seconds")) if isinstance(profile, dict) else None
    return planned or _number(summary.get("duration_s")) or 0.0


def _pooled(runs: Sequence[_Run]) -> _Run:
    """A baseline of several runs: the newest one's summary and checks, each figure the median of
    the runs' values (checks too), and their windows and counts pooled for the tests."""
    import statistics

    newest = runs[-1]
    if len(runs) == 1:
        return newest
    values = {k: statistics.median(r.values[k] for r in runs if k in r.values)
              for k in {k for r in runs for k in r.values}}
    summary = dict(newest.summary or {})
    checks = []
    for c in summary.get("checks") or []:
        found = [_number(x.get("value")) for r in runs for x in (r.summary or {}).get("checks") or []
                 if isinstance(x, dict) and isinstance(c, dict) and x.get("id") == c.get("id")]
        numbers = [v for v in found if v is not None]
        checks.append({**c, "value": statistics.median(numbers)} if numbers and isinstance(c, dict)
                      else c)
    summary["checks"] = checks
    return _Run(f"{runs[0].run_id}…{newest.run_id} ({len(runs)} runs)", summary,
                newest.summary_problem, values, dict(newest.unreadable),
                pool([r.series for r in runs]))


def _artifact(run_dir: Path, summary: dict[str, Any] | None, role: str, pattern: str) -> Path:
    """The file the summary names for a role; without a summary, the one file matching `pattern`."""
    entry = ((summary or {}).get("artifacts") or {}).get(role)
    if isinstance(entry, dict) and entry.get("path"):
        return run_dir / str(entry["path"])
    if summary and summary.get("profile"):
        return run_dir / pattern.replace("*", str(summary["profile"]))
    found = sorted(run_dir.glob(pattern))
    return found[0] if len(found) == 1 else run_dir / pattern.replace("*", "<profile>")


# (figures, or for a figure the reason it is missing; the reason none can be read at all).
_Reading = tuple[dict[str, float | str], str | None]


def _tool_reader(tool: LoadTool) -> Callable[[Path, dict[str, Any] | None], _Reading]:
    """A load tool's headline figures, read by the tool's own artifact reader."""

    def read(run_dir: Path, summary: dict[str, Any] | None) -> _Reading:
        ran = (summary or {}).get("tools")
        if isinstance(ran, dict) and ran and tool.name not in ran:
            return {}, None  # not part of this run: nothing to read, nothing to say
        profile = str((summary or {}).get("profile") or "")
        if not profile:
            found = sorted(p.name for p in run_dir.glob(f"{tool.name}-*.json")
                           if p.name != f"{tool.name}-config.json")
            profile = (found[0].removeprefix(f"{tool.name}-").removesuffix(".json")
                       if len(found) == 1 else "<profile>")
        figures, problem = tool.figures(run_dir, profile)
        return dict(figures), (problem if not figures else None)

    return read


def _host(run_dir: Path, summary: dict[str, Any] | None) -> _Reading:
    metrics = _artifact(run_dir, summary, "metrics_csv", "metrics.csv")
    cpu, mem = backend_series(metrics, "cpu_pct"), backend_series(metrics, "mem_pct")
    if cpu is not None and mem is not None:  # the run measured hosts: the busiest backend host
        if not cpu or not mem:
            return {}, f"no backend host answered in {metrics.name}"
        return {"host.cpu.p95": round(percentile(cpu, 95), 1), "host.memory.peak": max(mem)}, None
    series = read_metrics(metrics)
    if series.error:
        return {}, series.error
    return {"host.cpu.p95": round(percentile(series.cpu, 95), 1),
            "host.memory.peak": max(series.mem)}, None


def _server(run_dir: Path, summary: dict[str, Any] | None) -> _Reading:
    """The backend's own p95 over every route of its access log: a run without k6's
    per-second percentiles still has one judged by windows (timeline `srv_p95_ms`)."""
    if not (run_dir / APPLOG_ENDPOINTS).exists():
        return {}, None  # no access log followed: nothing to say
    data, problem = read_applog_endpoints(run_dir)
    if data is None:
        return {}, problem
    pooled: Counter[int] = Counter()
    for route in (data.get("routes") or {}).values():
        pooled.update({int(b): int(n) for b, n in (route.get("buckets") or {}).items()})
    p95 = access_percentile(pooled, 95)
    return ({"server.p95": p95}, None) if p95 is not None else ({}, "no request time in the access log")


def _db(run_dir: Path, summary: dict[str, Any] | None) -> _Reading:
    path = _artifact(run_dir, summary, "query_analysis", "query-analysis.json")
    data, problem = read_json(path)
    if not isinstance(data, dict):
        return {}, problem or f"{path.name} is not a database report"
    out: dict[str, float | str] = {
        "db.seq_scanned_tables": float(len(data.get("sequential_scans") or []))}
    slow = data.get("slow_queries")
    if (data.get("database") or {}).get("pg_stat_statements") and isinstance(slow, list):
        out["db.slow_queries"] = float(len(slow))
    else:
        gaps = [g.get("reason") for g in data.get("not_measured") or [] if isinstance(g, dict)]
        out["db.slow_queries"] = next((str(g) for g in gaps if g), "pg_stat_statements was not available")
    return out, None


def _check_better(check: dict[str, Any]) -> Better:
    """Higher is better where the threshold is a minimum (`rate>=0.99`) or for a checks pass rate."""
    limit = parse_threshold(check.get("threshold"))
    if limit is not None and limit.op in (">", ">="):
        return "higher"
    if check.get("unit") == "ratio" and "checks" in str(check.get("id", "")):
        return "higher"
    return "lower"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


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


def _compare_checks(base: _Run, new: _Run, sides: _Sides) -> list[MetricDelta]:
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
        bv, nv = _number((b or {}).get("value")), _number((n or {}).get("value"))
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


def _compare_metrics(base: _Run, new: _Run, sides: _Sides, notes: list[str],
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
        value = _number(profile.get(key)) if isinstance(profile, dict) else None
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
    base_each = [_load(d) for d in base_dirs]
    base, new = _pooled(base_each), _load(new_dir)
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
