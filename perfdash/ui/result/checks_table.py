"""Every check of the verdict, one row each: status in its colour, value against threshold.

Details (the sequential-scan hints run to several sentences) are not squeezed into a column: the
result screen shows the highlighted row's detail whole, wrapped, right under the table.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import DataTable

from perfdash.analyze.checks import fmt_value
from perfdash.ui.format import STATUS_STYLE
from perfdash.ui.result.run_data import RunData

COLUMNS = ("status", "check", "value", "threshold")


def check_row(check: dict[str, Any]) -> tuple[Text, str, Text, str]:
    status = str(check.get("status", "?"))
    return (Text(status.upper(), style=STATUS_STYLE.get(status, "")), str(check.get("name", "?")),
            Text(fmt_value(check.get("value"), str(check.get("unit") or "")), justify="right"),
            str(check.get("threshold") or ""))


class ChecksTable(DataTable[Any]):
    DEFAULT_CSS = """
    ChecksTable {
        height: auto;
        max-height: 24;
    }
    """

    data: reactive[RunData | None] = reactive(None)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.checks: list[dict[str, Any]] = []

    def watch_data(self, run: RunData | None) -> None:
        self.clear(columns=True)
        self.add_columns(*COLUMNS)
        self.checks = [c for c in (run.summary.get("checks") if run else None) or []
                       if isinstance(c, dict)]
        for i, check in enumerate(self.checks):
            self.add_row(*check_row(check), key=str(i))

    def check_at(self, row: int) -> dict[str, Any] | None:
        return self.checks[row] if 0 <= row < len(self.checks) else None
