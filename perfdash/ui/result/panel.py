"""The frame the result view's panels share: a titled border around what one run directory says.

ResultScreen.show hands every panel the same RunData; a panel turns it into one Rich renderable
(`body`), a pure function of the run, so the layout follows the content's height and a verdict
computed again repaints each panel by itself. A panel a reader moves through (the query panel's
table) composes its own widgets instead and fills them when `data` changes.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.app import RenderResult
from textual.reactive import reactive
from textual.widget import Widget

from perfdash.ui.result.run_data import RunData


class ResultPanel(Widget):
    """Base for the result panels: subclasses name their BORDER_TITLE and render `body(run)`."""

    DEFAULT_CSS = """
    ResultPanel {
        height: auto;
        border: round $primary 40%;
        border-title-color: $text-primary;
        padding: 0 1;
    }
    """

    # layout: a panel's height is its content's, which a new run changes
    data: reactive[RunData | None] = reactive(None, layout=True)

    def render(self) -> RenderResult:
        if self.is_container:  # a panel of its own widgets (the query panel's table): they draw it
            return super().render()
        # Blank until the screen hands over the run (it does before the first frame).
        return self.body(self.data) if self.data is not None else Text("")

    def body(self, run: RunData) -> RenderableType:
        """What the panel shows of `run`."""
        raise NotImplementedError
