"""What the analysis found beyond the checks: summary.json's `findings` (each with its evidence and
fix) and its per-endpoint table (`endpoints`), both written by perfdash.analyze for newer runs; an
older run without them says so in one dim line.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from perfdash.ui.format import STATUS_STYLE
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
    """One row per endpoint, columns in the order the analysis wrote them."""
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


def findings_renderable(summary: dict[str, Any]) -> RenderableType:
    findings = summary.get("findings") or []
    endpoints = [r for r in summary.get("endpoints") or [] if isinstance(r, dict)]
    if not findings and not endpoints:
        return Text(ABSENT, style="dim italic")
    parts: list[RenderableType] = [_finding(f) for f in findings]
    if endpoints:
        parts.append(endpoints_table(endpoints))
        if len(endpoints) > ENDPOINT_ROWS:
            parts.append(Text(f"… {len(endpoints) - ENDPOINT_ROWS} more endpoints in summary.json",
                              style="dim"))
    return Group(*parts)


class FindingsPanel(Widget):
    DEFAULT_CSS = """
    FindingsPanel {
        height: auto;
        border: round $primary 40%;
        border-title-color: $text-primary;
        padding: 0 1;
    }
    """

    data: reactive[RunData | None] = reactive(None, layout=True)

    def on_mount(self) -> None:
        self.border_title = "findings and endpoints"

    def render(self) -> RenderableType:
        return findings_renderable(self.data.summary) if self.data else Text("")
