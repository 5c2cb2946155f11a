"""The frame every live pane shares: a titled border around a few lines of text.

A pane repaints only its own region, and only when its view reactive changes; the live screen's
stylesheet gives each pane a fixed height, so new data never triggers a layout pass.
"""

from __future__ import annotations

from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from perfdash.ui.strips import text_strips


class Pane(Widget):
    """Base for the live panes: subclasses render `lines(width, height)` below their title."""

    DEFAULT_CSS = """
    Pane {
        border: round $primary 40%;
        border-title-color: $text-primary;
        border-title-style: bold;
        padding: 0 1;
        height: 6;
    }
    """

    TITLE = ""
    WAITING = "waiting for the first samples…"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = self.TITLE
        self._strips: list[Strip] = []
        self._strips_key: tuple[object, ...] = ()

    def shown(self) -> list[Text]:
        width, height = self.size.width, self.size.height
        lines = self.lines(width, height) if width > 0 and height > 0 else []
        return (lines or [Text(self.WAITING, style="dim italic")])[:height]

    def render_line(self, y: int) -> Strip:
        # Textual asks line by line after a refresh; the strips are built once per view and size.
        width = self.size.width
        key = (self.content_key(), width, self.size.height)
        if key != self._strips_key:
            self._strips_key = key
            self._strips = text_strips(self.shown(), width, self.app.console, self.rich_style)
        return self._strips[y] if y < len(self._strips) else Strip.blank(width, self.rich_style)

    def content_key(self) -> object:
        """What the content depends on besides the size: the pane's view."""
        raise NotImplementedError

    def lines(self, width: int, height: int) -> list[Text]:
        """The pane's content, most important line first; lines past the height are left out."""
        raise NotImplementedError

    @property
    def plain(self) -> str:
        """What the pane shows, as plain text (for tests and screen readers)."""
        return "\n".join(line.plain for line in self.shown())
