"""Two runs side by side: every check, and the raw latency percentiles, counters, host and database
figures of a base run against a new one, each judged regressed, improved or unchanged.

`perfdash compare BASE NEW` and a run's `--baseline` call `compare_runs` and show the result with
`comparison_table` (terminal) or `comparison_markdown` (pull requests, tickets). A raw figure that a
check already compares (k6 p(95) under a p(95) threshold, say) is listed once, as the check.

The noise rule: a change counts only when it is larger than `tolerance_pct` of the base value AND at
least an absolute floor for its unit (`FLOORS`: 1 ms for latencies, 1 for counts, 0.001 for ratios,
2 points for CPU/memory %, 1/s for throughput). So 0.2 ms → 0.3 ms is not a 50% regression, and when
the base is 0 (no errors) the floor alone decides: 0 → 1 failed user is a regression. A pass rate
(a ratio where higher is better) is judged on its failing share, 1 − rate: 99.9% → 99.0% is ten times
as many failures, not a 0.9% change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

from perfdash.analyze.checks import fmt_value
from perfdash.analyze.host import percentile, read_metrics
from perfdash.analyze.reports import parse_threshold
from perfdash.artifacts import read_json
from perfdash.tools import TOOLS
from perfdash.tools.base import LoadTool

Better = Literal["lower", "higher"]
Verdict = Literal["regressed", "improved", "unchanged", "not comparable", "added", "removed"]

FLOORS: dict[str, float] = {"ms": 1.0, "": 1.0, "ratio": 0.001, "%": 2.0, "/s": 1.0}

# Raw figures compared besides the checks: (key, label, unit, which direction is better).
METRICS: tuple[tuple[str, str, str, Better], ...] = (
    *((f.key, f.label, f.unit, f.better) for tool in TOOLS for f in tool.figure_specs),
    ("host.cpu.p95", "Host CPU p95", "%", "lower"),
    ("host.memory.peak", "Host memory peak", "%", "lower"),
    ("db.slow_queries", "Database slow queries", "", "lower"),
    ("db.seq_scanned_tables", "Database seq-scanned tables", "", "lower"),
)
# Raw figures that a check already carries under another id; shown once, as the check.
_SAME_AS_CHECK = {
    **{f.key: f.same_as_check for tool in TOOLS for f in tool.figure_specs if f.same_as_check},
    "host.cpu.p95": "host.cpu", "host.memory.peak": "host.memory",
    "db.seq_scanned_tables": "db.seq_scans"}
_SOURCES = {**{tool.name: f"{tool.label} report" for tool in TOOLS}, "host": "metrics.csv",
            "db": "query-analysis.json"}


class CompareError(Exception):
    """A run directory that cannot be compared at all; the message names it and says why."""


@dataclass(frozen=True)
class MetricDelta:
    """One figure in both runs. `pct` is None when the base is 0 or either side is missing."""

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


@dataclass(frozen=True)
class Comparison:
    base_run: str
    new_run: str
    tolerance_pct: float
    deltas: tuple[MetricDelta, ...]
    notes: tuple[str, ...] = field(default=())
    # The two runs are not like for like (another profile or environment): say so before any verdict.
    warnings: tuple[str, ...] = field(default=())

    @property
    def regressions(self) -> tuple[MetricDelta, ...]:
        return tuple(d for d in self.deltas if d.verdict == "regressed")

    @property
    def improvements(self) -> tuple[MetricDelta, ...]:
        return tuple(d for d in self.deltas if d.verdict == "improved")

    def to_json(self) -> dict[str, Any]:
        return {"base_run": self.base_run, "new_run": self.new_run,
                "tolerance_pct": self.tolerance_pct, "floors": FLOORS,
                "regressions": len(self.regressions), "improvements": len(self.improvements),
                "warnings": list(self.warnings), "notes": list(self.notes),
                "deltas": [asdict(d) for d in self.deltas]}


def judge(base: float, new: float, unit: str, better: Better,
          tolerance_pct: float) -> tuple[float, float | None, Verdict]:
    """(delta, % change of the value, verdict) under the noise rule in the module docstring."""
    delta = new - base
    pct = delta / abs(base) * 100 if base else None
    judged = pct
    if unit == "ratio" and better == "higher":
        failing = 1 - base
        judged = -delta / failing * 100 if failing > 0 else None
    floor = FLOORS.get(unit, 0.0)
    # The epsilon keeps 0.2 → 1.2 ms (a float delta of 0.99999…) at the 1 ms floor.
    if delta == 0 or abs(delta) < floor - 1e-9 or (judged is not None and abs(judged) <= tolerance_pct):
        return delta, pct, "unchanged"
    worse = delta > 0 if better == "lower" else delta < 0
    return delta, pct, "regressed" if worse else "improved"


@dataclass
class _Run:
    """What one side offers: its summary (or why not), raw figures, and why some are unreadable."""

    run_id: str
    summary: dict[str, Any] | None
    summary_problem: str
    values: dict[str, float]
    unreadable: dict[str, str]


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
    summary: dict[str, Any] | None = data
    run = _Run(str(summary.get("run_id") or run_dir.name) if summary else run_dir.name, summary,
               problem or "summary.json is not a summary", {}, {})
    readers: list[tuple[str, Callable[[Path, dict[str, Any] | None], _Reading]]] = [
        (tool.name, _tool_reader(tool)) for tool in TOOLS]
    for source, reader in (*readers, ("host", _host), ("db", _db)):
        values, reason = reader(run_dir, summary)
        if reason is not None:
            run.unreadable.update({k: reason for k, *_ in METRICS if k.startswith(source + ".")})
        for key, value in values.items():
            if isinstance(value, str):
                run.unreadable[key] = value
            else:
                run.values[key] = value
    return run


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
    series = read_metrics(_artifact(run_dir, summary, "metrics_csv", "metrics.csv"))
    if series.error:
        return {}, series.error
    return {"host.cpu.p95": round(percentile(series.cpu, 95), 1),
            "host.memory.peak": max(series.mem)}, None


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


def _delta(key: str, label: str, unit: str, better: Better, base: float | None, new: float | None,
           tolerance_pct: float, note: str = "") -> MetricDelta:
    if base is None or new is None:
        return MetricDelta(key, label, unit, base, new, None, None, better, "not comparable", note)
    delta, pct, verdict = judge(base, new, unit, better, tolerance_pct)
    return MetricDelta(key, label, unit, base, new, delta, pct, better, verdict, note)


def _compare_checks(base: _Run, new: _Run, tolerance_pct: float) -> list[MetricDelta]:
    if base.summary is None and new.summary is None:
        return []
    b_checks = {c["id"]: c for c in (base.summary or {}).get("checks") or []
                if isinstance(c, dict) and "id" in c}
    n_checks = {c["id"]: c for c in (new.summary or {}).get("checks") or []
                if isinstance(c, dict) and "id" in c}
    out: list[MetricDelta] = []
    for cid in [*n_checks, *(k for k in b_checks if k not in n_checks)]:
        b, n = b_checks.get(cid), n_checks.get(cid)
        c = n or b or {}
        key, label, unit, better = f"check:{cid}", str(c.get("name", cid)), str(c.get("unit") or ""), \
            _check_better(c)
        bv, nv = _number((b or {}).get("value")), _number((n or {}).get("value"))
        if base.summary is None or new.summary is None:
            side = "base" if base.summary is None else "new"
            why = base.summary_problem if base.summary is None else new.summary_problem
            out.append(_delta(key, label, unit, better, bv, nv, tolerance_pct, f"{side}: {why}"))
        elif b is None or n is None:
            verdict: Verdict = "added" if b is None else "removed"
            out.append(MetricDelta(key, label, unit, bv, nv, None, None, better, verdict,
                                   f"only in the {'new' if b is None else 'base'} run"))
        elif bv is None or nv is None:
            side, chk = ("base", b) if bv is None else ("new", n)
            why = f"{side}: {chk.get('status')}" + (f": {chk['detail']}" if chk.get("detail") else "")
            out.append(_delta(key, label, unit, better, bv, nv, tolerance_pct, why))
        elif (b.get("unit") or "") != (n.get("unit") or ""):
            out.append(_delta(key, label, unit, better, None, None, tolerance_pct,
                              f"unit changed: {b.get('unit')!r} → {n.get('unit')!r}"))
        else:
            notes = [f"{b.get('status')} → {n.get('status')}"] if b.get("status") != n.get("status") else []
            if b.get("threshold") != n.get("threshold"):
                notes.append(f"threshold {b.get('threshold')} → {n.get('threshold')}")
            out.append(_delta(key, label, unit, better, bv, nv, tolerance_pct, "; ".join(notes)))
    return out


def _compare_metrics(base: _Run, new: _Run, tolerance_pct: float, notes: list[str],
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
            out.append(_delta(f"metric:{key}", label, unit, better, bv, nv, tolerance_pct, why))
        elif bv is None or nv is None:
            out.append(MetricDelta(f"metric:{key}", label, unit, bv, nv, None, None, better,
                                   "added" if bv is None else "removed",
                                   f"only in the {'new' if bv is None else 'base'} run"))
        else:
            out.append(_delta(f"metric:{key}", label, unit, better, bv, nv, tolerance_pct))
    return out


def compare_runs(base_dir: Path, new_dir: Path, *, tolerance_pct: float = 10.0) -> Comparison:
    """Compare two run directories.

    Raises `CompareError` (one sentence) when a directory does not exist, is empty or has no
    readable summary.json: without it nothing says what the run was, and "no regression" would be
    a lie. Any other unreadable artifact on one side becomes "not comparable" with the reason, so a
    broken artifact can neither hide a regression behind an improvement nor invent one. Runs of
    different profiles or environments are compared, with a warning in `warnings`.
    """
    base, new = _load(base_dir), _load(new_dir)
    notes: list[str] = []
    for side in (base, new):
        if side.summary is None:
            notes.append(f"{side.run_id}: {side.summary_problem}; checks are not comparable")
    warnings: list[str] = []
    if base.summary and new.summary:
        for what in ("profile", "environment"):
            if base.summary.get(what) != new.summary.get(what):
                warnings.append(
                    f"the runs used different {what}s ({base.summary.get(what)} → "
                    f"{new.summary.get(what)}), so the comparison may not mean much: a different "
                    f"{'load' if what == 'profile' else 'system'} explains the changes as well as "
                    "a regression does")
    checks = _compare_checks(base, new, tolerance_pct)
    compared = {d.key.removeprefix("check:") for d in checks if d.delta is not None}
    deltas = checks + _compare_metrics(base, new, tolerance_pct, notes, compared)
    return Comparison(base.run_id, new.run_id, tolerance_pct, tuple(deltas), tuple(notes),
                      tuple(warnings))


def fmt_figure(value: float | None, unit: str) -> str:
    if value is not None and unit == "/s":
        return f"{value:.1f}/s"
    return fmt_value(value, unit)


def fmt_change(d: MetricDelta) -> tuple[str, str]:
    """(absolute change, % change) as shown: `+12.3 ms`, `+0.50 pp`, `+4 pts`, `+24.0%`."""
    if d.delta is None:
        return "—", "—"
    if d.delta == 0:
        change = "0"
    elif d.unit == "ratio":
        change = f"{d.delta * 100:+.2f} pp"
    elif d.unit == "%":
        change = f"{d.delta:+.1f} pts"
    elif d.unit in ("ms", "/s"):
        change = f"{d.delta:+.1f} {d.unit}".replace(" /s", "/s")
    else:
        change = f"{d.delta:+,.0f}" if d.delta == int(d.delta) else f"{d.delta:+.3g}"
    return change, "—" if d.pct is None else f"{d.pct:+.1f}%"


_STYLES: dict[Verdict, str] = {"regressed": "bold red", "improved": "green", "unchanged": "",
                               "not comparable": "yellow", "added": "cyan", "removed": "cyan"}


def comparison_table(c: Comparison) -> Table:
    """The comparison for a terminal: regressions red, improvements green."""
    table = Table(title=f"{c.base_run} → {c.new_run}  (tolerance ±{c.tolerance_pct:g}%)",
                  caption="\n".join([_tally(c), *(f"warning: {w}" for w in c.warnings)]),
                  title_justify="left", caption_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("verdict", "left"), ("metric", "left"), ("base", "right"), ("new", "right"),
        ("change", "right"), ("%", "right"), ("note", "left"))
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for d in c.deltas:
        change, pct = fmt_change(d)
        # Text, not markup: labels and notes contain square brackets ("[profiles.smoke]").
        table.add_row(*(Text(x) for x in (d.verdict, d.label, fmt_figure(d.base, d.unit),
                                          fmt_figure(d.new, d.unit), change, pct, d.note)),
                      style=_STYLES[d.verdict])
    return table


def _tally(c: Comparison) -> str:
    counts = {v: sum(d.verdict == v for d in c.deltas) for v in _STYLES}
    return ", ".join(f"{n} {v}" for v, n in counts.items() if n) or "nothing to compare"


_MARKS: dict[Verdict, str] = {"regressed": "🔴 regressed", "improved": "🟢 improved",
                              "unchanged": "unchanged", "not comparable": "❔ not comparable",
                              "added": "➕ added", "removed": "➖ removed"}


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def comparison_markdown(c: Comparison) -> str:
    """The comparison for a pull request or ticket, regressions listed before the full table."""
    n = len(c.regressions)
    lines = [f"# perfdash compare: `{c.base_run}` → `{c.new_run}`", "",
             f"**{n} regression{'s' if n != 1 else ''}** beyond ±{c.tolerance_pct:g}% "
             f"(and the absolute floors: 1 ms, 1 count, 0.001 ratio, 2 points of CPU/memory, 1/s); "
             f"{_tally(c)}.", ""]
    for d in c.regressions:
        change, pct = fmt_change(d)
        lines.append(f"- **{_md(d.label)}**: {fmt_figure(d.base, d.unit)} → "
                     f"{fmt_figure(d.new, d.unit)} ({change}, {pct}; {d.better} is better)")
    if c.regressions:
        lines.append("")
    lines += [f"- **Warning**: {_md(w)}" for w in c.warnings]
    lines += [f"- Note: {_md(note)}" for note in c.notes]
    if c.notes or c.warnings:
        lines.append("")
    lines += ["| verdict | metric | base | new | change | % | note |",
              "|---|---|---:|---:|---:|---:|---|"]
    for d in c.deltas:
        change, pct = fmt_change(d)
        lines.append("| " + " | ".join(_md(x) for x in (
            _MARKS[d.verdict], d.label, fmt_figure(d.base, d.unit), fmt_figure(d.new, d.unit),
            change, pct, d.note)) + " |")
    return "\n".join(lines) + "\n"
