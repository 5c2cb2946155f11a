"""The reports people and CI servers read after a run: `summary.md` for a pull request or ticket,
`junit.xml` for a CI test view and, when a threshold was breached, `incident.md`.

The orchestrator calls `write_reports` right after it writes summary.json; `perfdash show` can call
the same pure functions on an old run directory, so both give the same text.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfdash.analyze.checks import fmt_value
from perfdash.analyze.database_section import database_findings
from perfdash.analyze.endpoints import endpoints_markdown
from perfdash.analyze.findings import findings_markdown
from perfdash.analyze.incident import incident_markdown
from perfdash.analyze.junit import junit_xml
from perfdash.analyze.report_cells import (
    artifact_label,
    checks_of,
    configured,
    headline,
    profile_name,
    run_line,
    shown_value,
    table_cell,
    tool_lines,
)
from perfdash.artifacts import INCIDENT_MD, RunPaths, write_text_atomic
from perfdash.check import NOTHING_MEASURED
from perfdash.diagnose.render import diagnosis_markdown
from perfdash.tools import TOOLS

# The reports a run writes; junit.xml and incident.md have their own modules.
__all__ = ["incident_markdown", "junit_xml", "summary_markdown", "write_reports"]

_MARKS = {"pass": "✅ pass", "warn": "⚠️ warn", "fail": "❌ fail", "not measured": "❔ not measured"}
_PERCENTILES = (("p50", ("med",)), ("p90", ("p90",)), ("p95", ("p95",)), ("p99", ("p99",)),
                ("max", ("max",)))


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
    profile = profile_name(summary)
    for tool in TOOLS:
        if not configured(summary, tool.name):
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


def summary_markdown(summary: dict[str, Any], run_dir: Path) -> str:
    """The run in one page of Markdown, ready to paste into a pull request or a ticket."""
    lines = [f"# {headline(summary)}", "", run_line(summary), ""]
    if summary.get("status") == "fail":
        lines += [f"What breached and possible causes: [{INCIDENT_MD}]({INCIDENT_MD})", ""]
    if summary.get("diagnosis") is not None:
        lines += diagnosis_markdown(summary.get("diagnosis"))
    checks = checks_of(summary)
    lines += ["## Checks", ""]
    lines += _check_table(checks) if checks else ["No check was evaluated."]
    lines.append("")
    lines += _tool_errors(checks)
    lines += _latency_section(summary, run_dir)
    lines += endpoints_markdown(summary.get("endpoints"))
    lines += findings_markdown(summary.get("findings"))
    lines += database_findings(summary, run_dir, "Database findings")
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
    tools = tool_lines(summary)
    if tools:
        lines += ["## Tools", "", *tools, ""]
    lines += ["## Artifacts", "", "- [summary.json](summary.json) — every check, machine-readable"]
    missing = []
    for role, entry in (summary.get("artifacts") or {}).items():
        name = entry.get("path") if isinstance(entry, dict) else None
        if not name:
            continue
        if (run_dir / name).exists():
            lines.append(f"- [{name}]({name}) — {artifact_label(role)}")
        else:
            missing.append(str(name))
    if missing:
        lines += ["", f"Not written in this run: {', '.join(missing)}."]
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
