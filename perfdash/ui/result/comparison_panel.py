"""Where baseline deltas will go: `perfdash compare` does not exist yet, so this panel says so.

The result screen passes an optional `comparison` mapping through; until compare defines its
shape, any mapping given is listed as it is, and no delta is computed here.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

PLACEHOLDER = ("not available yet: baseline comparison (what got better or worse against an "
               "earlier run) arrives with `perfdash compare`")


def comparison_text(comparison: dict[str, Any] | None) -> Text:
    if not comparison:
        return Text(PLACEHOLDER, style="dim italic")
    text = Text()
    for i, (key, value) in enumerate(comparison.items()):
        text.append(("\n" if i else "") + f"{key}: ", style="bold")
        text.append(str(value))
    return text


class ComparisonPanel(Widget):
    DEFAULT_CSS = """
    ComparisonPanel {
        height: auto;
        border: dashed $primary 40%;
        border-title-color: $text-muted;
        padding: 0 1;
    }
    """

    comparison: reactive[dict[str, Any] | None] = reactive(None, layout=True)

    def on_mount(self) -> None:
        self.border_title = "baseline comparison"

    def render(self) -> Text:
        return comparison_text(self.comparison)
