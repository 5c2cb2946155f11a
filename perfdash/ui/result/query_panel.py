"""Slow queries and sequentially scanned tables from query-analysis.json, each with its hint; the
highlighted row's hint and query plan are shown in full below the table.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from perfdash.ui.result.panel import ResultPanel
from perfdash.ui.result.run_data import RunData

QUERY_CUT = 60
WORKLOAD_ROWS = 3  # of each ranking: by total time, by calls


def _one_line(sql: str) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= QUERY_CUT else flat[: QUERY_CUT - 1] + "…"


def _node_label(node: dict[str, Any]) -> Text:
    label = Text(str(node.get("Node Type", "?")), style="bold")
    if node.get("Node Type") == "Seq Scan":
        label.stylize("bold yellow")
    if node.get("Relation Name"):
        label.append(f" on {node['Relation Name']}")
        if node.get("Alias") and node["Alias"] != node["Relation Name"]:
            label.append(f" {node['Alias']}")
    if node.get("Index Name"):
        label.append(f" using {node['Index Name']}")
    label.append(f"  rows≈{node.get('Plan Rows', '?')} cost {node.get('Total Cost', '?')}",
                 style="dim")
    for key in ("Filter", "Index Cond", "Hash Cond", "Join Filter", "Sort Key", "Group Key"):
        if node.get(key):
            value = node[key]
            label.append(f"\n{key}: {', '.join(value) if isinstance(value, list) else value}",
                         style="italic")
    return label


def plan_tree(plan: Any) -> RenderableType:
    """EXPLAIN (FORMAT JSON) output as a tree of plan nodes, Seq Scans marked."""
    root = plan[0].get("Plan") if isinstance(plan, list) and plan and isinstance(plan[0], dict) \
        else None
    if not isinstance(root, dict):
        return Text("no plan recorded", style="dim italic")

    def add(tree: Tree, node: dict[str, Any]) -> None:
        branch = tree.add(_node_label(node))
        for child in node.get("Plans") or []:
            if isinstance(child, dict):
                add(branch, child)

    tree = Tree(Text("plan", style="bold"), guide_style="dim")
    add(tree, root)
    return tree


def _ms(value: object) -> str:
    return f"{value:.0f} ms" if isinstance(value, int | float) else "unknown"


def workload_rows(workload: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The top statements by total time and by calls, whatever their mean; utility statements
    (BEGIN, SET…) and foreign-key checks are left to query-analysis.json."""
    own = [w for w in workload if w.get("kind", "statement") == "statement"]
    rows: list[tuple[str, dict[str, Any]]] = []
    for key, label in (("total", "by time"), ("calls", "by calls")):
        ranked = sorted((w for w in own if isinstance((w.get("rank") or {}).get(key), int)),
                        key=lambda w: w["rank"][key])
        rows += [(f"{label} #{w['rank'][key]}", w) for w in ranked[:WORKLOAD_ROWS]]
    return rows


def row_detail(kind: str, item: dict[str, Any]) -> RenderableType:
    if kind.startswith("by "):
        share = item.get("share_of_time")
        return Group(Text.assemble(
            (f"statement {kind}", "bold"),
            f": {item.get('calls', 0):,} calls, total {_ms(item.get('total_ms'))}, mean "
            f"{item.get('mean_ms', 0):,.3f} ms, {item.get('rows', 0):,} rows"
            + (f", {share:.0%} of all statement time" if isinstance(share, int | float) else "")
            + (f" ({item['merged']})" if item.get("merged") else "") + "\n",
            (str(item.get("query", "")), "cyan")))
    if kind == "query":
        head = Text.assemble(("slow query", "bold"),
                             f": {item.get('calls', '?')} calls, mean {_ms(item.get('mean_ms'))},"
                             # max_ms is null when the run did not beat the all-time maximum
                             f" max {_ms(item.get('max_ms'))}\n", (str(item.get("query", "")), "cyan"))
        parts: list[RenderableType] = [head]
        if item.get("hint"):
            parts.append(Text("hint: " + str(item["hint"]), style="yellow"))
        if item.get("plan_error"):
            parts.append(Text(f"no plan: {item['plan_error']}", style="dim"))
        parts.append(plan_tree(item.get("plan")))
        return Group(*parts)
    return Group(Text.assemble(("sequential scans", "bold"), f" of {item.get('table')}: "
                               f"{item.get('seq_scan', 0):,} scans, "
                               f"{item.get('seq_tup_read', 0):,} rows read, "
                               f"{item.get('n_live_tup', 0):,} rows in the table"),
                 Text("hint: " + str(item.get("hint") or "none"), style="yellow"))


class QueryPanel(ResultPanel):
    # a container of its own widgets (from the start: layout), the table running to the border and
    # the detail under it keeping the panels' padding
    DEFAULT_CSS = """
    QueryPanel {
        layout: vertical;
        padding: 0;
    }
    QueryPanel > DataTable {
        height: auto;
        max-height: 12;
    }
    QueryPanel > #query-detail {
        height: auto;
        padding: 0 1;
    }
    """

    BORDER_TITLE = "database: slow queries, sequential scans, workload"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[tuple[str, dict[str, Any]]] = []

    def compose(self) -> ComposeResult:
        yield DataTable(id="query-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="query-detail")

    def watch_data(self, run: RunData | None) -> None:
        if run is None or not self.is_mounted:
            return
        tables = self.query(DataTable)
        if not tables:  # mounted, its children not yet: fill it once they are
            self.call_after_refresh(self.watch_data, run)
            return
        table = tables.first()
        table.clear(columns=True)
        table.add_columns("kind", "what", "calls/scans", "mean ms/rows", "hint")
        self.rows = [("query", q) for q in run.slow_queries] + [("scan", t) for t in run.seq_scans]
        self.rows += workload_rows(run.workload)
        for i, (kind, item) in enumerate(self.rows):
            if kind.startswith("by "):
                cells = (Text(kind, style="cyan"), _one_line(str(item.get("query", ""))),
                         f"{item.get('calls', 0):,}", f"{item.get('mean_ms', 0):,.2f}")
            elif kind == "query":
                cells = (Text("slow query", style="yellow"), _one_line(str(item.get("query", ""))),
                         f"{item.get('calls', 0):,}", f"{item.get('mean_ms', 0):,.0f}")
            else:
                cells = (Text("seq scan", style="yellow"), str(item.get("table", "?")),
                         f"{item.get('seq_scan', 0):,}", f"{item.get('seq_tup_read', 0):,}")
            table.add_row(*cells, _one_line(str(item.get("hint") or "")), key=str(i))
        detail = self.query_one("#query-detail", Static)
        if not self.rows:
            detail.update(Text(run.query_problem or "no slow queries and no sequential scans of "
                               "large tables in the run window", style="dim italic"))
        else:
            self.show_row(0)

    def show_row(self, index: int) -> None:
        if 0 <= index < len(self.rows):
            self.query_one("#query-detail", Static).update(row_detail(*self.rows[index]))

    @on(DataTable.RowHighlighted, "#query-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_row(event.cursor_row)
