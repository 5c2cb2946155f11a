"""The small pieces every report of a run is built from: one check's shown value, a table-safe
cell, a link to an artifact (or "missing"), an artifact's label, the headline and the run line.

Shared by summary.md (perfdash.analyze.reports), incident.md (perfdash.analyze.incident), junit.xml
(perfdash.analyze.junit) and the CI step summary, so a check reads the same wherever it is shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfdash.analyze.checks import fmt_value
from perfdash.tools import TOOLS

HEADLINES = {"pass": "✅ PASS", "fail": "❌ FAIL", "incomplete": "⚠️ INCOMPLETE",
             "interrupted": "⏹ INTERRUPTED"}
ARTIFACT_LABELS = {
    **{role: label for tool in TOOLS for role, label in tool.artifact_labels().items()},
    "metrics_csv": "host metrics (1 Hz)", "query_analysis": "database report",
    "db_connections": "database connections", "db_activity": "database waits and lock waiters (1 Hz)",
    "preflight": "preflight checklist",
    "events": "event stream", "perfdash_log": "perfdash log", "backend_log": "backend log",
    "db_snapshot_start": "database snapshot at start",
    "timeline": "every series per second (timeline)", "timeline_markers": "timeline markers",
    "hosts": "hosts and their roles", "k6_generators": "k6 generators' launch plan",
    "server_latency": "server request time per second per endpoint group",
}


def artifact_label(role: str) -> str:
    """A role's label; a generator's own files (`k6_summary.gen-1`) name the generator."""
    if role in ARTIFACT_LABELS:
        return ARTIFACT_LABELS[role]
    kind, _, generator = role.partition(".")
    own = {"k6_summary": "k6 summary", "k6_stdout": "k6 output", "k6_stderr": "k6 errors"}
    return f"{own[kind]} of generator {generator}" if generator and kind in own else role


def shown_value(check: dict[str, Any]) -> str:
    value = check.get("value")
    return fmt_value(value if isinstance(value, int | float | str) else None, check.get("unit") or "")


def table_cell(text: object, limit: int = 0) -> str:
    """Table-safe text: one line, pipes escaped, optionally cut at `limit` characters."""
    flat = " ".join(str(text).split())
    if limit and len(flat) > limit:
        flat = flat[:limit - 1] + "…"
    return flat.replace("|", "\\|")


def code(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    flat = flat if len(flat) <= limit else flat[:limit - 1] + "…"
    return f"`` {flat} ``" if "`" in flat else f"`{flat}`"


def checks_of(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in summary.get("checks") or [] if isinstance(c, dict)]


def artifact_name(summary: dict[str, Any], role: str, fallback: str) -> str:
    entry = (summary.get("artifacts") or {}).get(role)
    return str(entry["path"]) if isinstance(entry, dict) and entry.get("path") else fallback


def profile_name(summary: dict[str, Any]) -> str:
    return str(summary.get("profile") or "unknown")


def configured(summary: dict[str, Any], tool: str) -> bool:
    """Whether the profile ran this tool; an old summary without the key is taken to say yes."""
    profile = (summary.get("configuration") or {}).get("profile") or {}
    return bool(profile.get(f"{tool}_script", True))


def link(run_dir: Path, name: str, label: str | None = None) -> str:
    text = f"[{name}]({name})" + (f" — {label}" if label else "")
    return text if (run_dir / name).exists() else f"{name} — missing"


def headline(summary: dict[str, Any]) -> str:
    status = str(summary.get("status") or "unknown")
    return (f"{HEADLINES.get(status, status.upper())} — perfdash {profile_name(summary)} on "
            f"{summary.get('environment') or 'unknown'}")


def run_line(summary: dict[str, Any]) -> str:
    counts = summary.get("counts") or {}
    tally = ", ".join(f"{n} {s}" for s, n in counts.items())
    duration = summary.get("duration_s")
    parts = [f"run `{summary.get('run_id', '?')}`", f"started {summary.get('started_at', '?')}",
             f"{duration} s" if duration is not None else "duration unknown",
             f"exit {summary.get('exit_code', '?')}"]
    if tally:
        parts.append(f"{len(checks_of(summary))} checks: {tally}")
    return " · ".join(parts)


def tool_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    for tool, info in (summary.get("tools") or {}).items():
        if not isinstance(info, dict):
            continue
        how = f"stopped by {info['stopped_by']}" if info.get("stopped_by") else (
            f"exit {info.get('returncode')}")
        lines.append(f"- {tool}: {how} after {info.get('elapsed_s', '?')} s")
        lines += [f"  - `{' '.join(str(ln).split())[:200]}`" for ln in info.get("last_stderr") or []]
    return lines
