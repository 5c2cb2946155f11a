"""The reports people and CI servers read after a run: `summary.md` for a pull request or ticket,
`junit.xml` for a CI test view and, when a threshold was breached, `incident.md`.

The orchestrator calls `write_reports` right after it writes summary.json; `perfdash show` can call
the same pure functions on an old run directory, so both give the same text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfdash.analyze.checks import fmt_value
from perfdash.analyze.endpoints import endpoints_markdown
from perfdash.analyze.findings import findings_markdown
from perfdash.artifacts import (
    INCIDENT_MD,
    METRICS_CSV,
    QUERY_ANALYSIS_JSON,
    SUMMARY_JSON,
    SUMMARY_MD,
    RunPaths,
    read_query_analysis,
    write_text_atomic,
)
from perfdash.check import NOTHING_MEASURED, stored_limit
from perfdash.diagnose.render import diagnosis_markdown
from perfdash.tools import TOOLS

HEADLINES = {"pass": "✅ PASS", "fail": "❌ FAIL", "incomplete": "⚠️ INCOMPLETE",
             "interrupted": "⏹ INTERRUPTED"}
_MARKS = {"pass": "✅ pass", "warn": "⚠️ warn", "fail": "❌ fail", "not measured": "❔ not measured"}
_ARTIFACT_LABELS = {
    **{role: label for tool in TOOLS for role, label in tool.artifact_labels().items()},
    "metrics_csv": "host metrics (1 Hz)", "query_analysis": "database report",
    "db_connections": "database connections", "db_activity": "database waits and lock waiters (1 Hz)",
    "preflight": "preflight checklist",
    "events": "event stream", "perfdash_log": "perfdash log", "backend_log": "backend log",
    "db_snapshot_start": "database snapshot at start",
    "timeline": "every series per second (timeline)", "timeline_markers": "timeline markers",
    "hosts": "hosts and their roles", "k6_generators": "k6 generators' launch plan",
}


def _label(role: str) -> str:
    """A role's label; a generator's own files (`k6_summary.gen-1`) name the generator."""
    if role in _ARTIFACT_LABELS:
        return _ARTIFACT_LABELS[role]
    kind, _, generator = role.partition(".")
    own = {"k6_summary": "k6 summary", "k6_stdout": "k6 output", "k6_stderr": "k6 errors"}
    return f"{own[kind]} of generator {generator}" if generator and kind in own else role
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PERCENTILES = (("p50", ("med",)), ("p90", ("p90",)), ("p95", ("p95",)), ("p99", ("p99",)),
                ("max", ("max",)))


@dataclass(frozen=True)
class Breach:
    """How far a failed check is from its limit, in the check's unit and relative to the limit."""

    measured: float
    limit: float
    op: str
    unit: str
    distance: float
    pct: float | None  # None when the limit is 0: any distance is infinitely many percent

    def describe(self) -> str:
        if self.op in ("<", "<="):
            how = f"{_fmt_distance(self.distance, self.unit)} over"
        elif self.op in (">", ">="):
            how = f"{_fmt_distance(self.distance, self.unit)} short"
        else:
            how = f"off by {_fmt_distance(self.distance, self.unit)}"
        if self.pct is None:
            return f"{how} (the limit is 0)"
        side = "under" if self.op in (">", ">=") else "over"
        rel = f"{self.pct:,.0f}% {side}" if self.pct >= 100 else f"{self.pct:.1f}% {side}"
        if self.op in ("<", "<=") and self.pct >= 1000:
            rel += f", {self.measured / self.limit:,.0f}× the limit"
        return f"{how} ({rel})"


def breach_of(check: dict[str, Any]) -> Breach | None:
    """The overshoot of a check, or None when its value or threshold is not a number."""
    limit = stored_limit(check)
    value = check.get("value")
    if limit is None or not isinstance(value, int | float):
        return None
    unit = str(check.get("unit") or "")
    number = limit.on_scale(unit)
    if limit.op in ("<", "<="):
        distance = value - number
    elif limit.op in (">", ">="):
        distance = number - value
    else:
        distance = abs(value - number)
    pct = abs(distance) / abs(number) * 100 if number else None
    return Breach(float(value), number, limit.op, unit, distance, pct)


def _fmt_distance(distance: float, unit: str) -> str:
    if unit == "ratio":
        return f"{distance * 100:.2f} percentage points"
    if unit == "%":
        return f"{distance:.0f} percentage points"
    return fmt_value(distance, unit)


def _fmt_limit(number: float, unit: str) -> str:
    """A limit as written, unrounded: `0.001 ms`, not `0.0 ms`."""
    if unit == "ratio":
        return f"{number * 100:g}%"
    return f"{number:g}" + {"ms": " ms", "%": "%"}.get(unit, "")


def shown_value(check: dict[str, Any]) -> str:
    value = check.get("value")
    return fmt_value(value if isinstance(value, int | float | str) else None, check.get("unit") or "")


def table_cell(text: object, limit: int = 0) -> str:
    """Table-safe text: one line, pipes escaped, optionally cut at `limit` characters."""
    flat = " ".join(str(text).split())
    if limit and len(flat) > limit:
        flat = flat[:limit - 1] + "…"
    return flat.replace("|", "\\|")


def _code(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    flat = flat if len(flat) <= limit else flat[:limit - 1] + "…"
    return f"`` {flat} ``" if "`" in flat else f"`{flat}`"


def _checks(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in summary.get("checks") or [] if isinstance(c, dict)]


def _artifact(summary: dict[str, Any], role: str, fallback: str) -> str:
    entry = (summary.get("artifacts") or {}).get(role)
    return str(entry["path"]) if isinstance(entry, dict) and entry.get("path") else fallback


def _profile_name(summary: dict[str, Any]) -> str:
    return str(summary.get("profile") or "unknown")


def _configured(summary: dict[str, Any], tool: str) -> bool:
    """Whether the profile ran this tool; an old summary without the key is taken to say yes."""
    profile = (summary.get("configuration") or {}).get("profile") or {}
    return bool(profile.get(f"{tool}_script", True))


def _link(run_dir: Path, name: str, label: str | None = None) -> str:
    text = f"[{name}]({name})" + (f" — {label}" if label else "")
    return text if (run_dir / name).exists() else f"{name} — missing"


def headline(summary: dict[str, Any]) -> str:
    status = str(summary.get("status") or "unknown")
    return (f"{HEADLINES.get(status, status.upper())} — perfdash {_profile_name(summary)} on "
            f"{summary.get('environment') or 'unknown'}")


def run_line(summary: dict[str, Any]) -> str:
    counts = summary.get("counts") or {}
    tally = ", ".join(f"{n} {s}" for s, n in counts.items())
    duration = summary.get("duration_s")
    parts = [f"run `{summary.get('run_id', '?')}`", f"started {summary.get('started_at', '?')}",
             f"{duration} s" if duration is not None else "duration unknown",
             f"exit {summary.get('exit_code', '?')}"]
    if tally:
        parts.append(f"{len(_checks(summary))} checks: {tally}")
    return " · ".join(parts)


def _check_table(checks: list[dict[str, Any]]) -> list[str]:
    lines = ["| status | check | value | threshold | source | detail |",
             "|---|---|---:|---|---|---|"]
    for c in checks:
        # Long details (every seq-scan hint) are cut here: the database section has them in full.
        lines.append("| " + " | ".join(table_cell(x) for x in (
            _MARKS.get(c.get("status", ""), c.get("status", "")), c.get("name", c.get("id", "?")),
            shown_value(c), c.get("threshold") or "—", c.get("source") or "")) +
            f" | {table_cell(c.get('detail') or '', 160)} |")
    return lines


# Checks that list every error a load tool counted; the table cuts long details, this does not.
TOOL_ERROR_CHECKS = ("artillery.errors",)


def _tool_errors(checks: list[dict[str, Any]]) -> list[str]:
    """Every error counter by name (`errors.Error: unauthorized ×10`), whatever the verdict, and a
    load tool that failed because the backend rejected all it sent, with the backend's own line:
    the words the tool used are what a reader searches the backend's log for."""
    counted = [c for c in checks if (c.get("id") in TOOL_ERROR_CHECKS and c.get("value")) or (
        str(c.get("id", "")).endswith(NOTHING_MEASURED) and c.get("status") == "fail")]
    if not counted:
        return []
    lines = ["## Errors the load tools counted", ""]
    lines += [f"- {c.get('name', c.get('id'))}: {table_cell(c.get('detail') or '')}" for c in counted]
    return [*lines, ""]


def _latency_section(summary: dict[str, Any], run_dir: Path) -> list[str]:
    rows: list[tuple[str, Mapping[str, float | None]]] = []
    notes: list[str] = []
    profile = _profile_name(summary)
    for tool in TOOLS:
        if not _configured(summary, tool.name):
            continue
        found, problem = tool.latency(run_dir, profile)
        rows += [(row.label, row.stats) for row in found]
        if problem:
            notes.append(f"{tool.label} percentiles skipped: {problem}.")
    lines = ["## Latency percentiles", ""]
    if rows:
        lines += ["| metric | p50 | p90 | p95 | p99 | max |", "|---|---:|---:|---:|---:|---:|"]
        for label, stats in rows:
            cells = []
            for _, keys in _PERCENTILES:
                v = next((stats[k] for k in keys if isinstance(stats.get(k), int | float)), None)
                cells.append(fmt_value(v, "ms"))
            lines.append(f"| {table_cell(label)} | " + " | ".join(cells) + " |")
    elif not notes:
        notes.append("No tool reported latencies.")
    return lines + (["", *notes] if notes else []) + [""]


def _database_findings(summary: dict[str, Any], run_dir: Path, heading: str) -> list[str]:
    name = _artifact(summary, "query_analysis", QUERY_ANALYSIS_JSON)
    data, problem = read_query_analysis(run_dir / name)
    lines = [f"## {heading}", ""]
    if data is None:
        return [*lines, f"Database findings skipped: {problem}.", ""]
    slow = [q for q in data.get("slow_queries") or [] if isinstance(q, dict)]
    scans = [s for s in data.get("sequential_scans") or [] if isinstance(s, dict)]
    limit = (data.get("thresholds") or {}).get("slow_query_ms", 100)
    if slow:
        lines += [f"Queries slower than {limit:g} ms on average during the run:", "",
                  "| mean | calls | total | query | hint |", "|---:|---:|---:|---|---|"]
        for q in slow:
            lines.append("| " + " | ".join(table_cell(x) for x in (
                fmt_value(q.get("mean_ms"), "ms"), fmt_value(q.get("calls")),
                fmt_value(q.get("total_ms"), "ms"), _code(str(q.get("query", ""))),
                q.get("hint") or q.get("plan_error") or "")) + " |")
        lines.append("")
    else:
        lines += [f"No query averaged more than {limit:g} ms during the run.", ""]
    if scans:
        lines += ["Tables read sequentially during the run:", "",
                  "| table | seq scans | rows read | live rows | hint |", "|---|---:|---:|---:|---|"]
        for s in scans:
            lines.append("| " + " | ".join(table_cell(x) for x in (
                s.get("table", "?"), fmt_value(s.get("seq_scan")), fmt_value(s.get("seq_tup_read")),
                fmt_value(s.get("n_live_tup")), s.get("hint") or "")) + " |")
        lines.append("")
    else:
        lines += ["No large table was read sequentially.", ""]
    lines += _workload_table(data)
    for gap in data.get("not_measured") or []:
        if isinstance(gap, dict):
            lines.append(f"- Not measured: {gap.get('what', '?')}: {gap.get('reason', '')}")
    if data.get("not_measured"):
        lines.append("")
    return lines


WORKLOAD_ROWS = 5


def _workload_table(data: dict[str, Any]) -> list[str]:
    """The statements with the most total time and the most calls, whatever their mean: a fast
    lookup run fifty times a request and a lock wait are first here, never in "slow queries"."""
    work = data.get("workload")
    ranked = [w for w in (work.get("statements") or [] if isinstance(work, dict) else [])
              if isinstance(w, dict) and isinstance(w.get("rank"), dict)]
    if not ranked:
        return []
    lines = ["Where the database's time went (all statements, merged by text):", "",
             "| rank | calls | total | mean | rows/call | share | query |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for key, label in (("total", "time"), ("calls", "calls")):
        top = sorted((w for w in ranked if isinstance(w["rank"].get(key), int)),
                     key=lambda w: w["rank"][key])[:WORKLOAD_ROWS]
        for w in top:
            share = w.get("share_of_time")
            note = f" ({w['merged']})" if w.get("merged") else ""
            kind = "" if w.get("kind", "statement") == "statement" else f" [{w.get('kind')}]"
            lines.append("| " + " | ".join(table_cell(x) for x in (
                f"#{w['rank'][key]} by {label}", fmt_value(w.get("calls")),
                fmt_value(w.get("total_ms"), "ms"), fmt_value(w.get("mean_ms"), "ms"),
                fmt_value(w.get("rows_per_call")),
                f"{share:.0%}" if isinstance(share, int | float) else "",
                _code(str(w.get("query", ""))) + kind + note)) + " |")
    return [*lines, ""]


def _tool_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    for tool, info in (summary.get("tools") or {}).items():
        if not isinstance(info, dict):
            continue
        how = f"stopped by {info['stopped_by']}" if info.get("stopped_by") else (
            f"exit {info.get('returncode')}")
        lines.append(f"- {tool}: {how} after {info.get('elapsed_s', '?')} s")
        lines += [f"  - `{' '.join(str(ln).split())[:200]}`" for ln in info.get("last_stderr") or []]
    return lines


def summary_markdown(summary: dict[str, Any], run_dir: Path) -> str:
    """The run in one page of Markdown, ready to paste into a pull request or a ticket."""
    lines = [f"# {headline(summary)}", "", run_line(summary), ""]
    if summary.get("status") == "fail":
        lines += [f"What breached and possible causes: [{INCIDENT_MD}]({INCIDENT_MD})", ""]
    if summary.get("diagnosis") is not None:
        lines += diagnosis_markdown(summary.get("diagnosis"))
    checks = _checks(summary)
    lines += ["## Checks", ""]
    lines += _check_table(checks) if checks else ["No check was evaluated."]
    lines.append("")
    lines += _tool_errors(checks)
    lines += _latency_section(summary, run_dir)
    lines += endpoints_markdown(summary.get("endpoints"))
    lines += findings_markdown(summary.get("findings"))
    lines += _database_findings(summary, run_dir, "Database findings")
    problems = [p for p in summary.get("problems") or [] if isinstance(p, dict)]
    if problems:
        lines += ["## Problems", ""]
        lines += [f"- {p.get('what', '')}" + (f" — fix: {p['fix']}" if p.get("fix") else "")
                  for p in problems]
        lines.append("")
    failed_preflight = [p for p in summary.get("preflight") or []
                        if isinstance(p, dict) and p.get("status") in ("fail", "warn")]
    if failed_preflight:
        lines += ["## Preflight", ""]
        lines += [f"- {p.get('status')}: {p.get('name')}: {p.get('detail', '')}"
                  + (f" — fix: {p['fix']}" if p.get("fix") else "") for p in failed_preflight]
        lines.append("")
    tools = _tool_lines(summary)
    if tools:
        lines += ["## Tools", "", *tools, ""]
    lines += ["## Artifacts", "", "- [summary.json](summary.json) — every check, machine-readable"]
    missing = []
    for role, entry in (summary.get("artifacts") or {}).items():
        name = entry.get("path") if isinstance(entry, dict) else None
        if not name:
            continue
        if (run_dir / name).exists():
            lines.append(f"- [{name}]({name}) — {_label(role)}")
        else:
            missing.append(str(name))
    if missing:
        lines += ["", f"Not written in this run: {', '.join(missing)}."]
    return "\n".join(lines).rstrip() + "\n"


def _xml_text(text: object) -> str:
    """XML 1.0 cannot carry control characters (a tool's colour codes, say); drop them."""
    return _XML_ILLEGAL.sub("", str(text))


def junit_xml(summary: dict[str, Any]) -> str:
    """One test suite, one test case per check, so a CI test view shows each threshold.

    A check that was not measured is an error, and an interrupted run, or an incomplete one without
    such a check, gets an error case of its own: a run that proved nothing must never show green.
    """
    checks = _checks(summary)
    suite = ET.Element("testsuite", name=f"perfdash {_profile_name(summary)}")
    props = ET.SubElement(suite, "properties")
    for key in ("run_id", "status", "environment", "profile"):
        ET.SubElement(props, "property", name=key, value=_xml_text(summary.get(key, "")))
    failures = errors = 0
    for c in checks:
        tool = str(c.get("id", "perfdash")).split(".", 1)[0]
        case = ET.SubElement(suite, "testcase", classname=f"perfdash.{tool}",
                             name=_xml_text(c.get("name", c.get("id", "?"))), time="0")
        shown = shown_value(c)
        threshold = c.get("threshold") or "no threshold"
        status, detail = c.get("status"), str(c.get("detail") or "")
        about = f"{shown} vs {threshold} ({c.get('source') or 'unknown source'})"
        if status == "fail":
            failures += 1
            failure = ET.SubElement(case, "failure", message=_xml_text(f"{shown} vs {threshold}"))
            failure.text = _xml_text("; ".join(x for x in (detail, f"threshold from {c.get('source')}")
                                               if x))
        elif status == "not measured":
            errors += 1
            ET.SubElement(case, "error", message=_xml_text(f"not measured: {detail or 'no reason'}"))
        elif status == "warn":
            out = ET.SubElement(case, "system-out")
            out.text = _xml_text(f"warning (does not fail the run): {about}" +
                                 (f"; {detail}" if detail else ""))
        else:
            ET.SubElement(case, "system-out").text = _xml_text(about)
    run_status = summary.get("status")
    if run_status == "interrupted" or (
            run_status not in ("pass", "fail")
            and not any(c.get("status") == "not measured" for c in checks)):
        errors += 1
        case = ET.SubElement(suite, "testcase", classname="perfdash.run", name="run completed", time="0")
        problems = "; ".join(str(p.get("what", "")) for p in summary.get("problems") or []
                             if isinstance(p, dict))
        ET.SubElement(case, "error", message=_xml_text(
            f"the run was {run_status}" + (f": {problems}" if problems else "")))
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    suite.set("time", str(summary.get("duration_s") or 0))
    if summary.get("started_at"):
        suite.set("timestamp", _xml_text(summary["started_at"]))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


_ALWAYS_ARTIFACTS = (("metrics_csv", METRICS_CSV), ("query_analysis", QUERY_ANALYSIS_JSON))


def _evidence(summary: dict[str, Any], run_dir: Path, tools: Iterable[str]) -> list[str]:
    roles: list[tuple[str, str]] = []
    profile = _profile_name(summary)
    wanted = set(tools)
    for tool in TOOLS:
        if tool.name in wanted:
            roles += [(role, path.name) for role, path in tool.artifacts(run_dir, profile).items()
                      if role.endswith(("_summary", "_report", "_stderr", "_stdout"))]
    # summary.md is written beside this report by `write_reports`, so it is linked unconditionally.
    lines = [f"- {_link(run_dir, SUMMARY_JSON, 'every check')}",
             f"- [{SUMMARY_MD}]({SUMMARY_MD}) — the whole run"]
    for role, fallback in (*roles, *_ALWAYS_ARTIFACTS):
        name = _artifact(summary, role, fallback)
        lines.append(f"- {_link(run_dir, name, _ARTIFACT_LABELS.get(role))}")
    return lines


def incident_markdown(summary: dict[str, Any], run_dir: Path) -> str | None:
    """A ticket for a run that breached thresholds (status "fail"); None for any other run.

    It answers what a reader of the ticket asks first: what breached and by how much, when, where,
    which files to open, and what the database was doing at the time.
    """
    if summary.get("status") != "fail":
        return None
    checks = _checks(summary)
    failed = [c for c in checks if c.get("status") == "fail"]
    profile, env = _profile_name(summary), summary.get("environment") or "unknown"
    first = failed[0] if failed else {}
    title = (f"# Performance thresholds breached on {env} ({profile}): {first.get('name', '?')} "
             f"{shown_value(first)} vs {first.get('threshold') or '?'}")
    if len(failed) > 1:
        title += f" and {len(failed) - 1} more"
    lines = [title, "", f"Run `{summary.get('run_id', '?')}` failed {len(failed)} of {len(checks)} "
             f"checks (exit {summary.get('exit_code', '?')}).", "", "## What breached", ""]
    for c in failed:
        breach = breach_of(c)
        limit = f" (limit {_fmt_limit(breach.limit, breach.unit)})" if breach else ""
        how = f": {breach.describe()}" if breach else ""
        lines.append(f"- **{c.get('name', c.get('id', '?'))}**: measured {shown_value(c)} against "
                     f"`{c.get('threshold') or 'no threshold'}`{limit}{how}.")
        extras = [x for x in (c.get("detail"), f"threshold from {c['source']}" if c.get("source") else "")
                  if x]
        if extras:
            lines.append(f"  {'; '.join(str(x) for x in extras)}.")
    env_cfg = (summary.get("configuration") or {}).get("environment") or {}
    lines += ["", "## When and where", "",
              f"- Started: {summary.get('started_at', '?')}",
              f"- Ended: {summary.get('ended_at', '?')} ({summary.get('duration_s', '?')} s)",
              f"- Environment: {env}" + (f" ({env_cfg['base_url']})" if env_cfg.get("base_url") else ""),
              f"- Profile: {profile}", f"- Run id: {summary.get('run_id', '?')}", ""]
    tools = _tool_lines(summary)
    if tools:
        lines += ["## How the tools ended", "", *tools, ""]
    if summary.get("diagnosis") is not None:
        lines += diagnosis_markdown(summary.get("diagnosis"))
    lines += findings_markdown(summary.get("findings"), "What moved together")
    lines += ["## Evidence", "",
              *_evidence(summary, run_dir, (str(c.get("id", "")).split(".", 1)[0] for c in failed)), ""]
    causes = _database_findings(summary, run_dir, "Possible causes")
    # A saturated host slows everything on it, the system under test included.
    host = [c for c in checks if str(c.get("id", "")).startswith("host.") and c.get("status") == "warn"]
    if host:
        causes[2:2] = [f"- {c.get('name', '?')}: {shown_value(c)} against `{c.get('threshold')}`"
                       + (f" ({c['detail']})" if c.get("detail") else "") for c in host] + [""]
    lines += causes
    # Database warnings are the findings above; what is left may still explain the breach.
    others = [c for c in checks if c.get("status") in ("warn", "not measured") and c not in host
              and not str(c.get("id", "")).startswith("db.")]
    if others:
        lines += ["Other checks that did not pass cleanly:", ""]
        lines += [f"- {c.get('status')}: {c.get('name', '?')} {shown_value(c)}"
                  + (f" — {table_cell(c['detail'], 300)}" if c.get("detail") else "") for c in others]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_reports(summary: dict[str, Any], run_dir: Path) -> list[Path]:
    """Write summary.md, junit.xml and, for a failed run, incident.md; return their paths."""
    paths = RunPaths(run_dir)
    reports = {paths.summary_md: summary_markdown(summary, run_dir), paths.junit_xml: junit_xml(summary)}
    incident = incident_markdown(summary, run_dir)
    if incident is not None:
        reports[paths.incident_md] = incident
    else:
        # Re-analysing a run that no longer fails must not leave an earlier incident behind.
        paths.incident_md.unlink(missing_ok=True)
    for path, text in reports.items():
        write_text_atomic(path, text)
    return list(reports)
