"""The database section of summary.md and the "possible causes" of incident.md: slow queries,
sequentially read tables and where the database's time went, from query-analysis.json.

One writer for both reports, so a reader of the ticket sees the same findings as the summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfdash.analyze.checks import fmt_value
from perfdash.analyze.report_cells import artifact_name, code, table_cell
from perfdash.artifacts import QUERY_ANALYSIS_JSON, read_query_analysis


def database_findings(summary: dict[str, Any], run_dir: Path, heading: str) -> list[str]:
    name = artifact_name(summary, "query_analysis", QUERY_ANALYSIS_JSON)
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
                fmt_value(q.get("total_ms"), "ms"), code(str(q.get("query", ""))),
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
    lines += workload_table(data)
    for gap in data.get("not_measured") or []:
        if isinstance(gap, dict):
            lines.append(f"- Not measured: {gap.get('what', '?')}: {gap.get('reason', '')}")
    if data.get("not_measured"):
        lines.append("")
    return lines


WORKLOAD_ROWS = 5


def workload_table(data: dict[str, Any]) -> list[str]:
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
                code(str(w.get("query", ""))) + kind + note)) + " |")
    return [*lines, ""]
