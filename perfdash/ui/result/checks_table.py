"""Every check of the verdict, one row each: status in its colour, value against threshold.

Status, value and threshold are what a reader looks for, so they always fit: the check's name
takes the width that is left and, when longer (a tagged threshold such as
`k6 http_req_duration{endpoint:statement} p(95)` in a user's project), is elided in the middle,
where the tag is, keeping the tool in front and the statistic at the end. Details (the
sequential-scan hints run to several sentences) and the full name are not squeezed into a column:
the result screen shows the highlighted row's detail whole, wrapped, right under the table.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.events import Resize
from textual.reactive import reactive
from textual.widgets import DataTable

from perfdash.analyze.checks import fmt_value
from perfdash.ui.format import STATUS_STYLE
from perfdash.ui.result.run_data import RunData

COLUMNS = ("status", "check", "value", "threshold")
NAME_MIN = 16  # below this a name says nothing: the threshold is cut instead
THRESHOLD_MIN = 12
SCROLLBAR = 2
MAX_ROWS_SHOWN = 23  # the CSS max-height less the header row: past it a scrollbar takes room


def elide_middle(text: str, width: int) -> str:
    """`text` in at most `width` cells, its middle replaced with an ellipsis; the head keeps
    a little more than the tail (the tool and metric come first)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    tail = (width - 1) // 2
    head = width - 1 - tail
    return text[:head] + "…" + (text[-tail:] if tail else "")


def elide_end(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def check_row(check: dict[str, Any]) -> tuple[Text, str, Text, str]:
    status = str(check.get("status", "?"))
    return (Text(status.upper(), style=STATUS_STYLE.get(status, "")), str(check.get("name", "?")),
            Text(fmt_value(check.get("value"), str(check.get("unit") or "")), justify="right"),
            str(check.get("threshold") or ""))


def column_widths(rows: list[tuple[Text, str, Text, str]], width: int, padding: int = 1
                  ) -> tuple[int, int, int, int]:
    """Widths of the four columns in `width` cells (each column also takes `padding` on either
    side): status and value whole, the threshold whole while the name keeps `NAME_MIN`, the name
    whatever is left."""
    status = max([len(COLUMNS[0]), *(r[0].cell_len for r in rows)])
    value = max([len(COLUMNS[2]), *(r[2].cell_len for r in rows)])
    threshold = max([len(COLUMNS[3]), *(len(r[3]) for r in rows)])
    name = max([len(COLUMNS[1]), *(len(r[1]) for r in rows)])
    room = width - 4 * 2 * padding - status - value
    if name + threshold <= room:
        return status, name, value, threshold
    threshold = max(min(threshold, room - NAME_MIN), min(threshold, THRESHOLD_MIN))
    return status, max(room - threshold, len(COLUMNS[1])), value, threshold


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
        self._widths: tuple[int, int, int, int] | None = None

    def watch_data(self, run: RunData | None) -> None:
        self.checks = [c for c in (run.summary.get("checks") if run else None) or []
                       if isinstance(c, dict)]
        self._widths = None
        self._fill()

    def on_resize(self, event: Resize) -> None:
        self._fill()

    def _fill(self) -> None:
        """The rows again when the columns' widths change (new checks, a resized terminal)."""
        rows = [check_row(c) for c in self.checks]
        width = self.size.width or 80
        if len(self.checks) > MAX_ROWS_SHOWN:
            width -= SCROLLBAR
        widths = column_widths(rows, width, self.cell_padding)
        if widths == self._widths:
            return
        self._widths = widths
        cursor = self.cursor_row
        self.clear(columns=True)
        for label, w in zip(COLUMNS, widths, strict=True):
            self.add_column(label, width=w)
        for i, (status, name, value, threshold) in enumerate(rows):
            self.add_row(status, elide_middle(name, widths[1]), value,
                         elide_end(threshold, widths[3]), key=str(i))
        if 0 < cursor < len(rows):
            self.move_cursor(row=cursor)

    def check_at(self, row: int) -> dict[str, Any] | None:
        return self.checks[row] if 0 <= row < len(self.checks) else None
