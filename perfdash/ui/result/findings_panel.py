"""What the analysis found beyond the checks: summary.json's `findings` (each with its evidence and
fix) and its per-endpoint figures (`endpoints`), both written by perfdash.analyze for newer runs; an
older run without them says so in one dim line.

`endpoints` is `{"rows": [{"endpoint", "kind", "sources": {"k6"|"artillery"|"log": {...}}}],
"missing": {source: why}}` (perfdash.analyze.endpoints.read_endpoints); runs written before that
shape kept a plain list of flat rows, still shown as they are.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from perfdash.analyze.endpoints import endpoint_lines
from perfdash.analyze.server_groups import worst_seconds_line
from perfdash.ui.format import STATUS_STYLE
from perfdash.ui.result.panel import ResultPanel
from perfdash.ui.result.run_data import RunData

ABSENT = "no findings or per-endpoint figures in this run's summary.json"
SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "cyan", **STATUS_STYLE}
ENDPOINT_ROWS = 12


def _finding(item: Any) -> Text:
    if not isinstance(item, dict):
        return Text("• " + str(item))
    severity = str(item.get("severity") or item.get("status") or "")
    text = Text("• ")
    if severity:
        text.append(severity.upper() + " ", style=SEVERITY_STYLE.get(severity, "bold"))
    text.append(str(item.get("title") or item.get("what") or item.get("text") or item))
    for key in ("evidence", "detail"):
        if item.get(key):
            text.append(f"\n  {item[key]}", style="dim")
    if item.get("fix"):
        text.append(f"\n  → {item['fix']}", style="italic")
    return text


def endpoints_table(rows: list[dict[str, Any]]) -> Table:
    """An old run's flat rows, one per endpoint, columns in the order the analysis wrote them."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    table = Table(box=None, padding=(0, 1), header_style="bold")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right", no_wrap=i > 0,
                         overflow="ellipsis")
    for row in rows[:ENDPOINT_ROWS]:
        table.add_row(*("" if row.get(c) is None else
                        f"{row[c]:,.1f}" if isinstance(row[c], float) else str(row[c])
                        for c in columns))
    return table


def joined_table(rows: list[dict[str, Any]]) -> Table:
    """The joined rows, a line per endpoint and source: the client's latency above the server's.

    The unit goes in the title, not in every cell, so a narrow pane keeps the endpoint's whole name
    (folded, never cut: `/api/catalog/search` and `/api/catalog/{}` must stay apart)."""
    lines = endpoint_lines({"rows": rows[:ENDPOINT_ROWS]})
    table = Table(box=None, padding=(0, 1), header_style="bold", title="per endpoint, latencies in ms",
                  title_justify="left", title_style="dim")
    for i, head in enumerate(lines[0]):
        table.add_column(head, justify="left" if i < 2 else "right", no_wrap=i > 0,
                         overflow="fold" if i == 0 else "ellipsis")
    for line in lines[1:]:
        table.add_row(*(cell.removesuffix(" ms") for cell in line))
    return table


def _joined_rows(endpoints: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows endpoint_lines can read; a damaged row is left out rather than failing the view."""
    return [r for r in endpoints.get("rows") or [] if isinstance(r, dict) and "endpoint" in r
            and isinstance(r.get("sources"), dict)
            and all(isinstance(s, dict) for s in r["sources"].values())]


def endpoint_parts(endpoints: Any) -> list[RenderableType]:
    """The endpoint table, how many more there are, and why a source has no figures."""
    missing: dict[str, Any] = {}
    if isinstance(endpoints, list):  # runs from before the joined shape
        flat = [r for r in endpoints if isinstance(r, dict)]
        table, count = (endpoints_table(flat) if flat else None), len(flat)
    elif isinstance(endpoints, dict):
        joined = _joined_rows(endpoints)
        table, count = (joined_table(joined) if joined else None), len(joined)
        if isinstance(endpoints.get("missing"), dict):
            missing = endpoints["missing"]
    else:
        return []
    if table is None:
        return []
    parts: list[RenderableType] = [table]
    if count > ENDPOINT_ROWS:
        parts.append(Text(f"… {count - ENDPOINT_ROWS} more endpoints in summary.json", style="dim"))
    parts += [Text(f"{source}: {why}", style="dim") for source, why in missing.items()]
    if isinstance(endpoints, dict) and (worst := worst_seconds_line(endpoints)):
        parts.append(Text(worst, style="dim"))
    return parts


def findings_renderable(summary: dict[str, Any]) -> RenderableType:
    findings = summary.get("findings") or []
    endpoints = endpoint_parts(summary.get("endpoints"))
    if not findings and not endpoints:
        return Text(ABSENT, style="dim italic")
    return Group(*[_finding(f) for f in findings], *endpoints)


class FindingsPanel(ResultPanel):
    BORDER_TITLE = "findings and endpoints"

    def body(self, run: RunData) -> RenderableType:
        return findings_renderable(run.summary)
