"""Everything the result screen shows, read from a run directory's artifacts.

Like the analysis, it reads files rather than in-memory state, so the end of a live run and
`perfdash show` of an old one look the same. A missing or truncated artifact becomes a stated
problem, never an exception. No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from perfdash.artifacts import (
    METRICS_CSV,
    QUERY_ANALYSIS_JSON,
    TIMELINE_CSV,
    MetricsError,
    RunPaths,
    SummaryError,
    artifact_path,
    load_metrics,
    load_summary,
    read_query_analysis,
)
from perfdash.artifacts.timeline import Timeline, read_timeline
from perfdash.tools import TOOLS
from perfdash.tools.base import LatencyRow

# Columns of metrics.csv that stand in for the timeline's host columns in runs from before it.
_HOST = {"cpu_pct": "cpu_pct", "mem_pct": "mem_pct", "load1": "load1"}


@dataclass(frozen=True)
class RunData:
    root: Path
    summary: dict[str, Any]
    summary_problem: str | None
    latency: list[LatencyRow]
    latency_problems: list[str]
    timeline: Timeline | None
    timeline_problem: str | None
    slow_queries: list[dict[str, Any]]
    seq_scans: list[dict[str, Any]]
    query_problem: str | None
    comparison: dict[str, Any] | None = None
    workload: list[dict[str, Any]] = field(default_factory=list)  # query-analysis.json `workload`

    @property
    def status(self) -> str:
        return str(self.summary.get("status") or "incomplete")

    @property
    def run_id(self) -> str:
        return str(self.summary.get("run_id") or self.root.name)

    @property
    def environment_kind(self) -> str | None:
        env = (self.summary.get("configuration") or {}).get("environment") or {}
        kind = env.get("kind") if isinstance(env, dict) else None
        return str(kind) if kind else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def read_host_timeline(path: Path) -> tuple[Timeline | None, str | None]:
    """A runs from before timeline.csv: its host columns, from metrics.csv, on the same axis."""
    t: list[float] = []
    series: dict[str, list[float | None]] = {k: [] for k in _HOST}
    try:
        table = load_metrics(path.parent, path)
    except MetricsError as exc:
        return None, f"neither {TIMELINE_CSV} nor {path.name} is there" if exc.missing else exc.reason
    for values in table.complete("elapsed_s", *_HOST.values()):  # a row with a gap is left out
        t.append(values[0])
        for k, v in zip(_HOST, values[1:], strict=True):
            series[k].append(v)
    if not t:
        return None, f"{path.name} has no samples"
    return Timeline(t, series), None


@lru_cache(maxsize=4)
def _timeline_cached(root: Path, metrics: Path, _stamp: tuple[int, int]
                     ) -> tuple[Timeline | None, str | None]:
    timeline, problem = read_timeline(root)
    if timeline is None and not RunPaths(root).timeline_csv.exists():
        return read_host_timeline(metrics)
    return timeline, problem


def run_timeline(root: Path, summary: dict[str, Any]) -> tuple[Timeline | None, str | None]:
    """The run on its one time axis: timeline.csv, else (older runs) the host from metrics.csv.
    Read once per file version: the live run's end, `show` and a second look share it."""
    metrics = artifact_path(root, summary, "metrics_csv", METRICS_CSV)
    try:
        st = RunPaths(root).timeline_csv.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = (0, 0)
    return _timeline_cached(root, metrics, stamp)


# A timeline.csv larger than this (about seven hours of rows) is read after the first frame, so a
# day-long soak's verdict appears at once and its charts follow.
LARGE_TIMELINE_BYTES = 2_000_000
READING_TIMELINE = "reading the timeline"


def timeline_is_large(root: Path) -> bool:
    try:
        return RunPaths(root).timeline_csv.stat().st_size > LARGE_TIMELINE_BYTES
    except OSError:
        return False


def load_run(root: Path, comparison: dict[str, Any] | None = None, *,
             timeline: bool = True) -> RunData:
    """The run directory's data for the result screen; with `timeline=False` the timeline is left
    for later (`run_timeline`) and its problem says it is being read."""
    summary: dict[str, Any] = {}
    summary_problem: str | None = None
    try:
        summary = load_summary(root, any_version=True).data  # shown as stored, if not computed again
    except SummaryError as exc:
        summary_problem = exc.reason
    profile = str(summary.get("profile") or "")
    latency: list[LatencyRow] = []
    latency_problems: list[str] = []
    for tool in TOOLS:
        report = next(iter(tool.artifacts(root, profile).values()))
        if not report.exists():
            continue  # the profile did not run this tool, or it never wrote its report
        rows, problem = tool.latency(root, profile)
        latency += rows
        if problem:
            latency_problems.append(f"{tool.label}: {problem}")
    timeline_data: Timeline | None = None
    timeline_problem: str | None = READING_TIMELINE
    if timeline:
        timeline_data, timeline_problem = run_timeline(root, summary)
    analysis, query_problem = read_query_analysis(
        artifact_path(root, summary, "query_analysis", QUERY_ANALYSIS_JSON))
    slow: list[dict[str, Any]] = []
    scans: list[dict[str, Any]] = []
    workload: list[dict[str, Any]] = []
    if isinstance(analysis, dict):
        ranked = analysis.get("workload")
        if isinstance(ranked, dict):
            workload = [w for w in ranked.get("statements") or [] if isinstance(w, dict)]
        slow = [q for q in analysis.get("slow_queries") or [] if isinstance(q, dict)]
        scans = [t for t in analysis.get("sequential_scans") or [] if isinstance(t, dict)]
        query_problem = "; ".join(
            f"{m.get('what', '?')}: {m.get('reason', '')}" if isinstance(m, dict) else str(m)
            for m in analysis.get("not_measured") or []) or None
    baseline = summary.get("baseline")
    if comparison is None and isinstance(baseline, dict):
        comparison = baseline
    return RunData(root, summary, summary_problem, latency, latency_problems, timeline_data,
                   timeline_problem, slow, scans, query_problem, comparison, workload)
