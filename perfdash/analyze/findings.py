"""Findings: what moved together, each with the series and times it rests on. A rule fires only on
evidence in the timeline or the joined endpoints; with no evidence there is no finding.

Rules:
- `latency-jump-cpu`: a latency jump (median of the 5 s after at least twice the median of the
  10 s before, and at least 20 ms higher) while host CPU was >= 90% around it.
- `latency-jump-db-pool`: a latency jump while database connections reached max_connections
  (db_total >= db_max) or idle-in-transaction connections piled up (>= 5) around it.
- `endpoint-errors-across-sources`: an endpoint with errors (or 5xx) in two or more sources, or in
  one source with requests seen by another: the counts side by side.
- `log-errors-with-jump`: an app-log ERROR burst (>= 5 a second, and >= 3x the run's median)
  within 5 s of a latency jump or an error-rate jump (k6_error_rate rising by >= 5 points).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any, Protocol

LATENCY_SERIES = ("k6_p95_ms", "art_p95_ms")
BEFORE_S, AFTER_S, NEAR_S = 10.0, 5.0, 5.0
JUMP_FACTOR, JUMP_MIN_MS = 2.0, 20.0
CPU_SATURATED_PCT = 90.0
IDLE_IN_TX_PILE = 5
LOG_BURST_MIN, LOG_BURST_FACTOR = 5.0, 3.0
ERROR_RATE_JUMP = 0.05


class TimelineLike(Protocol):
    t: list[float]
    series: dict[str, list[float | None]]


@dataclass(frozen=True)
class Finding:
    rule: str
    text: str
    at_s: float | None
    series: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "text": self.text, "at_s": self.at_s, "series": list(self.series)}


def clock(t: float) -> str:
    return f"{int(t) // 60}:{int(t) % 60:02d}"


def _values(tl: TimelineLike, name: str, t0: float, t1: float) -> list[float]:
    """The values of one series in [t0, t1): the time column is sorted, so a slice, not a scan
    (a 24-hour soak has 86,400 rows and every rule looks around every second)."""
    col = tl.series.get(name) or []
    lo, hi = bisect_left(tl.t, t0), bisect_left(tl.t, t1)
    return [v for v in col[lo:hi] if v is not None]


@dataclass(frozen=True)
class Jump:
    series: str
    at_s: float
    before: float
    after: float


def latency_jumps(tl: TimelineLike) -> list[Jump]:
    """The first second each latency series jumps (then the next jump only 10 s later)."""
    jumps = []
    names: tuple[str, ...] = LATENCY_SERIES
    if not any(v is not None for v in tl.series.get("k6_p95_ms") or []):
        names = (*names, "k6_avg_ms")  # no web dashboard output: the REST API's interval means
    for name in names:
        col = tl.series.get(name) or []
        last = float("-inf")
        for t, v in zip(tl.t, col, strict=False):
            if v is None or t - last < BEFORE_S:
                continue
            before = _values(tl, name, t - BEFORE_S, t)
            after = _values(tl, name, t, t + AFTER_S)
            if len(before) < 3 or not after:
                continue
            b, a = median(before), median(after)
            # the second itself and the seconds after it both stand above what came before
            if min(a, v) >= JUMP_FACTOR * b and min(a, v) - b >= JUMP_MIN_MS:
                jumps.append(Jump(name, t, b, a))
                last = t
    return jumps


def _error_rate_jumps(tl: TimelineLike) -> list[Jump]:
    out = []
    col = tl.series.get("k6_error_rate") or []
    last = float("-inf")
    for t, v in zip(tl.t, col, strict=False):
        if v is None or t - last < BEFORE_S:
            continue
        before = _values(tl, "k6_error_rate", t - BEFORE_S, t)
        after = _values(tl, "k6_error_rate", t, t + AFTER_S)
        if (len(before) >= 3 and after
                and min(median(after), v) - median(before) >= ERROR_RATE_JUMP):
            out.append(Jump("k6_error_rate", t, median(before), median(after)))
            last = t
    return out


def _ms(v: float) -> str:
    return f"{v:,.0f} ms" if v >= 10 else f"{v:.1f} ms"


def _label(series: str) -> str:
    return {"k6_p95_ms": "k6 p95", "art_p95_ms": "Artillery p95",
            "k6_avg_ms": "k6 mean latency"}.get(series, series)


def rule_latency_cpu(tl: TimelineLike, jumps: list[Jump] | None = None) -> list[Finding]:
    out = []
    for j in (latency_jumps(tl) if jumps is None else jumps):
        cpu = _values(tl, "cpu_pct", j.at_s - NEAR_S, j.at_s + AFTER_S)
        if cpu and max(cpu) >= CPU_SATURATED_PCT:
            out.append(Finding(
                "latency-jump-cpu",
                f"{_label(j.series)} rose from {_ms(j.before)} to {_ms(j.after)} at {clock(j.at_s)}, "
                f"while host CPU was at {max(cpu):.0f}%: the load generator shares the machine, "
                "so part of that latency may be the client's own",
                j.at_s, (j.series, "cpu_pct")))
    return out


def rule_latency_db(tl: TimelineLike, jumps: list[Jump] | None = None) -> list[Finding]:
    out = []
    for j in (latency_jumps(tl) if jumps is None else jumps):
        t0, t1 = j.at_s - NEAR_S, j.at_s + AFTER_S
        totals = tl.series.get("db_total") or []
        maxes = tl.series.get("db_max") or []
        at_max = [t for t, n, m in zip(tl.t, totals, maxes, strict=False)
                  if t0 <= t < t1 and n is not None and m is not None and m > 0 and n >= m]
        idle_tx = _values(tl, "db_idle_in_tx", t0, t1)
        if at_max:
            out.append(Finding(
                "latency-jump-db-pool",
                f"Database connections hit max_connections at {clock(at_max[0])} and "
                f"{_label(j.series)} went from {_ms(j.before)} to {_ms(j.after)} "
                f"({j.after / j.before:.1f}×) at {clock(j.at_s)}",
                min(at_max[0], j.at_s), (j.series, "db_total", "db_max")))
        elif idle_tx and max(idle_tx) >= IDLE_IN_TX_PILE:
            out.append(Finding(
                "latency-jump-db-pool",
                f"{max(idle_tx):.0f} connections sat idle in transaction around {clock(j.at_s)}, "
                f"when {_label(j.series)} went from {_ms(j.before)} to {_ms(j.after)}: "
                "requests may be waiting for a connection",
                j.at_s, (j.series, "db_idle_in_tx")))
    return out


def rule_endpoint_errors(endpoints: Mapping[str, Any] | None) -> list[Finding]:
    out = []
    for e in (endpoints or {}).get("rows") or []:
        sources: Mapping[str, Mapping[str, Any]] = e.get("sources") or {}
        with_errors = {s: v for s, v in sources.items()
                       if (v.get("errors") or 0) > 0 or (v.get("status_5xx") or 0) > 0}
        if not with_errors or len(sources) < 2:
            continue
        parts = []
        for s, v in sources.items():
            name = {"k6": "k6", "artillery": "Artillery", "log": "the log"}[s]
            five, errs = v.get("status_5xx"), v.get("errors")
            if s == "log":
                parts.append(f"{errs or 0} in {name} ({five or 0} 5xx, {(errs or 0) - (five or 0)} "
                             "without a status)")
            elif errs is not None or five is not None:
                parts.append(f"{errs or 0} in {name}" + (f" ({five} 5xx)" if five else ""))
        out.append(Finding(
            "endpoint-errors-across-sources",
            f"Errors on {e['endpoint']}: " + ", ".join(parts),
            None, tuple(f"endpoints.{e['endpoint']}.{s}" for s in sources)))
    return out


def rule_log_burst(tl: TimelineLike, jumps: list[Jump] | None = None) -> list[Finding]:
    col = tl.series.get("log_errors") or []
    measured = [v for v in col if v is not None]
    if not measured:
        return []
    base = median(measured)
    bursts = [t for t, v in zip(tl.t, col, strict=False) if v is not None
              and v >= LOG_BURST_MIN and v >= LOG_BURST_FACTOR * max(base, 1.0)]
    if not bursts:
        return []
    out = []
    for j in [*(latency_jumps(tl) if jumps is None else jumps), *_error_rate_jumps(tl)]:
        near = [t for t in bursts if abs(t - j.at_s) <= NEAR_S]
        if not near:
            continue
        peak = max(v for t, v in zip(tl.t, col, strict=False) if t in near and v is not None)
        what = (f"the k6 error rate went from {j.before:.0%} to {j.after:.0%}"
                if j.series == "k6_error_rate" else
                f"{_label(j.series)} went from {_ms(j.before)} to {_ms(j.after)}")
        out.append(Finding(
            "log-errors-with-jump",
            f"The app log had a burst of ERROR lines ({peak:.0f}/s at {clock(near[0])}) as "
            f"{what} at {clock(j.at_s)}",
            min(near[0], j.at_s), ("log_errors", j.series)))
    return out


def findings(timeline: TimelineLike | None, endpoints: Mapping[str, Any] | None) -> list[Finding]:
    found: list[Finding] = []
    if timeline is not None and timeline.t:
        jumps = latency_jumps(timeline)  # the costly scan, once for every rule that needs it
        found += (rule_latency_cpu(timeline, jumps) + rule_latency_db(timeline, jumps)
                  + rule_log_burst(timeline, jumps))
    found += rule_endpoint_errors(endpoints)
    return found


def findings_markdown(items: Sequence[Mapping[str, Any]] | None, heading: str = "Findings") -> list[str]:
    if not items:
        return []
    lines = [f"## {heading}", ""]
    for f in items:
        series = ", ".join(f"`{s}`" for s in f.get("series") or [])
        lines.append(f"- {f.get('text')} (from {series})")
    return [*lines, ""]
