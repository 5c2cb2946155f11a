"""The runs of a results directory over time: each run's verdict and key figures, and the change
points of each figure (`perfdash.analyze.changepoints`), for `perfdash history` and for
`--baseline auto` (the runs since the last change point are the baseline).

Every figure names its tool: k6's p95 and Artillery's p95 are different measurements (k6 per second,
Artillery per 10 s window, of different requests), so they are two series, never one column that
holds whichever tool ran. A run's key figure is read from its timeline where it has one — the median
of its per-second k6 p95, of Artillery's windows, its median req/s per tool, its k6 error rate over
all its requests, its median host CPU — because the median window is far steadier from run to run
than a whole-run p95, which a few slow seconds move. A run without a timeline falls back to its
summary's checks. Only finished runs (pass or fail) have figures: an interrupted or incomplete
run's numbers describe part of a run and would look like a change.

Runs of another profile or environment are another load or another system: change points, the
last change and the `auto` pool are found per (profile, environment), never across them.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfdash.analyze.changepoints import MAX_PVALUE, ChangePoint, change_points
from perfdash.analyze.host_groups import with_backend_host_columns
from perfdash.artifacts import SummaryError, load_summary
from perfdash.artifacts.timeline import Timeline, read_timeline

FINISHED = ("pass", "fail")


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    better: str  # "lower" or "higher"


FIGURES: tuple[Figure, ...] = (
    Figure("k6_p95", "k6 p95", "ms", "lower"),
    Figure("artillery_p95", "Artillery p95", "ms", "lower"),
    Figure("k6_rps", "k6 req/s", "/s", "higher"),
    Figure("artillery_rps", "Artillery req/s", "/s", "higher"),
    Figure("k6_error_rate", "k6 error rate", "ratio", "lower"),
    Figure("cpu", "host CPU", "%", "lower"),
)

# The runs of one profile in one environment: the only runs that make one series.
Group = tuple[str, str]


@dataclass(frozen=True)
class RunEntry:
    path: Path
    run_id: str
    profile: str
    environment: str
    status: str
    values: dict[str, float] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def group(self) -> Group:
        return (self.profile, self.environment)


@dataclass(frozen=True)
class History:
    runs: tuple[RunEntry, ...]
    # per figure key: the change points, `index` counted in `runs`
    changes: dict[str, tuple[ChangePoint, ...]]

    def groups(self) -> list[Group]:
        """The (profile, environment) pairs of the runs, in the order they first ran."""
        return list(dict.fromkeys(r.group for r in self.runs))

    def last_change(self, group: Group) -> int | None:
        """The index of the first run after the newest change point of any figure of `group`'s
        runs: another profile's change says nothing about this one."""
        found = [c.index for points in self.changes.values() for c in points
                 if self.runs[c.index].group == group]
        return max(found) if found else None

    def since_last_change(self, group: Group) -> list[RunEntry]:
        """The finished runs of `group` from the first run after its newest change point on (all
        of them when there is none)."""
        start = self.last_change(group) or 0
        return [r for r in self.runs[start:] if r.finished and r.group == group]


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _timeline_figures(timeline: Timeline) -> dict[str, float]:
    s = timeline.series
    out: dict[str, float | None] = {
        "k6_p95": _median(s.get("k6_p95_ms") or []),
        "artillery_p95": _median(s.get("art_p95_ms") or []),
        "k6_rps": _median(s.get("k6_rps") or []),
        "artillery_rps": _median(s.get("art_rps") or []),
        "cpu": _median(s.get("cpu_pct") or []),
    }
    pairs = [(e, r) for e, r in zip(s.get("k6_error_rate") or [], s.get("k6_rps") or [], strict=False)
             if e is not None and r is not None]
    requests = sum(r for _, r in pairs)
    if requests:
        out["k6_error_rate"] = sum(e * r for e, r in pairs) / requests
    return {k: v for k, v in out.items() if v is not None}


def _summary_figures(summary: dict[str, Any]) -> dict[str, float]:
    checks = {c.get("id"): c.get("value") for c in summary.get("checks") or [] if isinstance(c, dict)}
    out: dict[str, float] = {}
    for key, check in (("k6_p95", "k6.http_req_duration.p(95)"),
                       ("artillery_p95", "artillery.http.response_time.p95"),
                       ("k6_error_rate", "k6.http_req_failed.rate"), ("cpu", "host.cpu")):
        value = checks.get(check)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = float(value)
    return out


def read_run(run_dir: Path) -> RunEntry | None:
    """One run's entry, or None when the directory holds no readable summary."""
    try:
        summary = load_summary(run_dir).data
    except SummaryError:
        return None
    status = str(summary.get("status") or "?")
    values: dict[str, float] = {}
    if status in FINISHED:
        values = _summary_figures(summary)
        timeline, _ = read_timeline(run_dir)
        if timeline is not None and len(timeline):
            values.update(_timeline_figures(with_backend_host_columns(timeline, run_dir)))
    return RunEntry(run_dir, str(summary.get("run_id") or run_dir.name),
                    str(summary.get("profile") or "?"), str(summary.get("environment") or "?"),
                    status, values)


def list_runs(results_dir: Path, *, profile: str | None = None, environment: str | None = None,
              exclude: Path | None = None) -> list[RunEntry]:
    """The runs in `results_dir`, oldest first (run directories are named by their UTC start)."""
    if not results_dir.is_dir():
        return []
    runs = []
    for path in sorted(p for p in results_dir.iterdir() if p.is_dir()):
        if exclude is not None and path.resolve() == exclude.resolve():
            continue
        entry = read_run(path)
        if entry is None or (profile and entry.profile != profile) or \
                (environment and entry.environment != environment):
            continue
        runs.append(entry)
    return runs


def history(runs: Sequence[RunEntry], *, max_pvalue: float = MAX_PVALUE,
            min_magnitude: float = 0.10) -> History:
    """The change points of every key figure, over the runs of each profile and environment that
    measured it: runs of another load or another system are never one series."""
    changes: dict[str, list[ChangePoint]] = {f.key: [] for f in FIGURES}
    groups: dict[Group, list[int]] = {}
    for i, r in enumerate(runs):
        groups.setdefault(r.group, []).append(i)
    for members in groups.values():
        for figure in FIGURES:
            indexed = [(i, runs[i].values[figure.key]) for i in members
                       if runs[i].finished and figure.key in runs[i].values]
            found = change_points([v for _, v in indexed], max_pvalue=max_pvalue,
                                  min_magnitude=min_magnitude)
            # back to indices among all runs: the first run after the change that measured it
            changes[figure.key] += [ChangePoint(indexed[c.index][0], c.p_value, c.before, c.after)
                                    for c in found]
    return History(tuple(runs), {k: tuple(sorted(v, key=lambda c: c.index))
                                 for k, v in changes.items()})


def sparkline(values: Sequence[float | None]) -> str:
    """One character per run, ▁ to █ between the series' minimum and maximum; a space for none."""
    bars = "▁▂▃▄▅▆▇█"
    present = [v for v in values if v is not None]
    if not present:
        return " " * len(values)
    low, high = min(present), max(present)
    span = high - low
    return "".join(" " if v is None else bars[0 if not span else
                                             min(7, int((v - low) / span * 8))] for v in values)
