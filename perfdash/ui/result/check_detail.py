"""The highlighted check in full: its detail uncut and where its threshold came from, so "why did
this warn" is answered without opening summary.json.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from perfdash.analyze.checks import fmt_value
from perfdash.ui.format import STATUS_STYLE


def detail_text(check: dict[str, Any] | None) -> Text:
    if check is None:
        return Text("no checks were recorded", style="dim italic")
    status = str(check.get("status", "?"))
    text = Text.assemble((status.upper(), STATUS_STYLE.get(status, "")), " ",
                         (str(check.get("name", "?")), "bold"), ": ",
                         fmt_value(check.get("value"), str(check.get("unit") or "")))
    if check.get("threshold"):
        text.append(f" against {check['threshold']}")
    if check.get("source"):
        text.append(f" ({check['source']})", style="dim")
    if check.get("detail"):
        text.append("\n" + str(check["detail"]))
    return text


class CheckDetail(Widget):
    DEFAULT_CSS = """
    CheckDetail {
        height: auto;
        min-height: 2;
        padding: 0 1;
        border-left: thick $primary 40%;
        color: $text-muted;
    }
    """

    check: reactive[dict[str, Any] | None] = reactive(None, layout=True)

    def render(self) -> Text:
        return detail_text(self.check)
