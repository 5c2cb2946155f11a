"""incident.md: a ticket for a run that breached its thresholds, written beside summary.md.

Apart from the summary because it answers other questions first (what breached and by how much,
when, which files to open, what may have caused it) and exists only for a failed run.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from perfdash.analyze.breach import breach_of, fmt_limit
from perfdash.analyze.database_section import database_findings
from perfdash.analyze.findings import findings_markdown
from perfdash.analyze.report_cells import (
    ARTIFACT_LABELS,
    artifact_name,
    checks_of,
    link,
    profile_name,
    shown_value,
    table_cell,
    tool_lines,
)
from perfdash.artifacts import METRICS_CSV, QUERY_ANALYSIS_JSON, SUMMARY_JSON, SUMMARY_MD
from perfdash.diagnose.render import diagnosis_markdown
from perfdash.tools import TOOLS

_ALWAYS_ARTIFACTS = (("metrics_csv", METRICS_CSV), ("query_analysis", QUERY_ANALYSIS_JSON))


def _evidence(summary: dict[str, Any], run_dir: Path, tools: Iterable[str]) -> list[str]:
    roles: list[tuple[str, str]] = []
    profile = profile_name(summary)
    wanted = set(tools)
    for tool in TOOLS:
        if tool.name in wanted:
            roles += [(role, path.name) for role, path in tool.artifacts(run_dir, profile).items()
                      if role.endswith(("_summary", "_report", "_stderr", "_stdout"))]
    # summary.md is written beside this report by `write_reports`, so it is linked unconditionally.
    lines = [f"- {link(run_dir, SUMMARY_JSON, 'every check')}",
             f"- [{SUMMARY_MD}]({SUMMARY_MD}) — the whole run"]
    for role, fallback in (*roles, *_ALWAYS_ARTIFACTS):
        name = artifact_name(summary, role, fallback)
        lines.append(f"- {link(run_dir, name, ARTIFACT_LABELS.get(role))}")
    return lines


def incident_markdown(summary: dict[str, Any], run_dir: Path) -> str | None:
    """A ticket for a run that breached thresholds (status "fail"); None for any other run.

    It answers what a reader of the ticket asks first: what breached and by how much, when, where,
    which files to open, and what the database was doing at the time.
    """
    if summary.get("status") != "fail":
        return None
    checks = checks_of(summary)
    failed = [c for c in checks if c.get("status") == "fail"]
    profile, env = profile_name(summary), summary.get("environment") or "unknown"
    first = failed[0] if failed else {}
    title = (f"# Performance thresholds breached on {env} ({profile}): {first.get('name', '?')} "
             f"{shown_value(first)} vs {first.get('threshold') or '?'}")
    if len(failed) > 1:
        title += f" and {len(failed) - 1} more"
    lines = [title, "", f"Run `{summary.get('run_id', '?')}` failed {len(failed)} of {len(checks)} "
             f"checks (exit {summary.get('exit_code', '?')}).", "", "## What breached", ""]
    for c in failed:
        breach = breach_of(c)
        limit = f" (limit {fmt_limit(breach.limit, breach.unit)})" if breach else ""
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
    tools = tool_lines(summary)
    if tools:
        lines += ["## How the tools ended", "", *tools, ""]
    if summary.get("diagnosis") is not None:
        lines += diagnosis_markdown(summary.get("diagnosis"))
    lines += findings_markdown(summary.get("findings"), "What moved together")
    lines += ["## Evidence", "",
              *_evidence(summary, run_dir, (str(c.get("id", "")).split(".", 1)[0] for c in failed)), ""]
    causes = database_findings(summary, run_dir, "Possible causes")
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
