"""Latency percentiles from both tools side by side: k6's summary export and Artillery's report,
per endpoint where Artillery's metrics-by-endpoint plugin recorded them.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from perfdash.ui.result.panel import ResultPanel
from perfdash.ui.result.run_data import RunData

# The minimum says little about a load test; narrow screens keep the tail of the distribution.
SHOWN = ("avg", "med", "p90", "p95", "p99", "max")
NARROW = ("med", "p95", "p99", "max")
WIDE = 88
TOOL_WIDTH, STAT_WIDTH, COUNT_WIDTH = 9, 5, 6


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def latency_table(run: RunData, width: int = 120) -> RenderableType:
    """Percentiles per tool and metric; narrow widths keep the tail (p95, p99, max) and cut names."""
    if not run.latency:
        reason = "; ".join(run.latency_problems) or "no k6 or Artillery report in this run"
        return Text(f"no latency percentiles: {reason}", style="dim italic")
    wide = width >= WIDE
    stats = SHOWN if wide else NARROW
    # Every column but the metric is fixed: its cells plus one space of padding on each side.
    fixed = (TOOL_WIDTH + 2) + len(stats) * (STAT_WIDTH + 2) + ((COUNT_WIDTH + 2) if wide else 0)
    metric_width = max(12, min(40, width - fixed - 2))
    table = Table(box=None, padding=(0, 1), expand=False, header_style="bold")
    table.add_column("tool", width=TOOL_WIDTH, no_wrap=True)
    table.add_column("metric", width=metric_width, no_wrap=True)
    for label in stats:
        table.add_column(label, justify="right", no_wrap=True, width=STAT_WIDTH)
    if wide:
        table.add_column("count", justify="right", no_wrap=True, width=COUNT_WIDTH)
    for row in run.latency:
        metric = row.metric if len(row.metric) <= metric_width else \
            row.metric[: metric_width - 1] + "…"
        cells = [row.tool, metric, *(_number(row.stats.get(label)) for label in stats)]
        if wide:
            cells.append("" if row.count is None else f"{row.count:,}")
        table.add_row(*cells, style="bold" if row.metric in ("http_req_duration",
                                                            "http.response_time") else None)
    if not run.latency_problems:
        return table
    return Group(table, Text("; ".join(run.latency_problems), style="yellow"))


class LatencyTable(ResultPanel):
    BORDER_TITLE = "latency percentiles, ms"

    def body(self, run: RunData) -> RenderableType:
        return latency_table(run, self.size.width)
