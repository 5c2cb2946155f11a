"""The frame the result view's panels share: a titled border around what one run directory says.

ResultScreen.show hands every panel the same RunData; a panel turns it into one Rich renderable
(`body`), a pure function of the run, so the layout follows the content's height and a verdict
computed again repaints each panel by itself.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from perfdash.ui.result.run_data import RunData


class ResultPanel(Widget):
    """Base for the result panels: subclasses name a TITLE and render `body(run)` inside it."""

    DEFAULT_CSS = """
    ResultPanel {
        height: auto;
        border: round $primary 40%;
        border-title-color: $text-primary;
        padding: 0 1;
    }
    """

    TITLE = ""
    # layout: a panel's height is its content's, which a new run changes
    data: reactive[RunData | None] = reactive(None, layout=True)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = self.TITLE

    def render(self) -> RenderableType:
        # Blank until the screen hands over the run (it does before the first frame).
        return self.body(self.data) if self.data is not None else Text("")

    def body(self, run: RunData) -> RenderableType:
        """What the panel shows of `run`."""
        raise NotImplementedError
