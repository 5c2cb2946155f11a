"""Everything the result screen shows, read from a run directory's artifacts.

Like the analysis, it reads files rather than in-memory state, so the end of a live run and
`perfdash show` of an old one look the same. A missing or truncated artifact becomes a stated
problem, never an exception. No Textual here.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfdash.artifacts import open_regular, read_json
from perfdash.tools import TOOLS
from perfdash.tools.base import LatencyRow


@dataclass(frozen=True)
class HostSeries:
    elapsed: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    mem: list[float] = field(default_factory=list)
    load1: list[float] = field(default_factory=list)
    load5: list[float] = field(default_factory=list)
    problem: str | None = None


@dataclass(frozen=True)
class RunData:
    root: Path
    summary: dict[str, Any]
    summary_problem: str | None
    latency: list[LatencyRow]
    latency_problems: list[str]
    host: HostSeries
    slow_queries: list[dict[str, Any]]
    seq_scans: list[dict[str, Any]]
    query_problem: str | None
    comparison: dict[str, Any] | None = None

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


def artifact_path(root: Path, summary: dict[str, Any], key: str, default: str) -> Path:
    """Where summary.json says an artifact is (relative to the run directory), else its usual name."""
    entry = (summary.get("artifacts") or {}).get(key)
    if isinstance(entry, dict) and entry.get("path"):
        path = Path(str(entry["path"]))
        return path if path.is_absolute() else root / path
    return root / default


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def read_host_series(path: Path) -> HostSeries:
    cols: dict[str, list[float]] = {k: [] for k in ("elapsed_s", "cpu_pct", "mem_pct", "load1",
                                                     "load5")}
    try:
        with open_regular(path, newline="") as f:
            for row in csv.DictReader(f):
                try:
                    values = {k: float(row[k]) for k in cols}
                except (KeyError, TypeError, ValueError):
                    continue  # a row cut short by a kill
                for k, v in values.items():
                    cols[k].append(v)
    except FileNotFoundError:
        return HostSeries(problem=f"{path.name} is missing")
    except OSError as exc:
        return HostSeries(problem=f"{path.name} cannot be read: {exc.strerror}")
    if not cols["cpu_pct"]:
        return HostSeries(problem=f"{path.name} has no samples")
    return HostSeries(cols["elapsed_s"], cols["cpu_pct"], cols["mem_pct"], cols["load1"],
                      cols["load5"])


def load_run(root: Path, comparison: dict[str, Any] | None = None) -> RunData:
    summary, summary_problem = read_json(root / "summary.json")
    if not isinstance(summary, dict):
        summary, summary_problem = {}, summary_problem or "summary.json is not an object"
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
    host = read_host_series(artifact_path(root, summary, "metrics_csv", "metrics.csv"))
    analysis, query_problem = read_json(
        artifact_path(root, summary, "query_analysis", "query-analysis.json"))
    slow: list[dict[str, Any]] = []
    scans: list[dict[str, Any]] = []
    if isinstance(analysis, dict):
        slow = [q for q in analysis.get("slow_queries") or [] if isinstance(q, dict)]
        scans = [t for t in analysis.get("sequential_scans") or [] if isinstance(t, dict)]
        query_problem = "; ".join(
            f"{m.get('what', '?')}: {m.get('reason', '')}" if isinstance(m, dict) else str(m)
            for m in analysis.get("not_measured") or []) or None
    baseline = summary.get("baseline")
    if comparison is None and isinstance(baseline, dict):
        comparison = baseline
    return RunData(root, summary, summary_problem, latency, latency_problems, host, slow, scans,
                   query_problem, comparison)
