"""The first lines of one artifact, read-only: enough to see what a log or report says without
leaving the dashboard. Large files are not read past `MAX_LINES`.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

MAX_LINES = 300
MAX_LINE_CHARS = 500


def first_lines(path: Path, limit: int = MAX_LINES) -> tuple[list[str], bool]:
    """(lines, cut): at most `limit` lines, each at most MAX_LINE_CHARS; binary bytes replaced."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            lines = [line.rstrip("\n")[:MAX_LINE_CHARS] for line in islice(f, limit + 1)]
    except OSError as exc:
        return [f"cannot read {path.name}: {exc.strerror}"], False
    return lines[:limit], len(lines) > limit


class FileViewerScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    FileViewerScreen {
        align: center middle;
    }
    FileViewerScreen > VerticalScroll {
        width: 95%;
        height: 90%;
        border: round $primary;
        border-title-color: $text-primary;
        background: $surface;
        padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.lines, self.cut = first_lines(path)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = self.path.name
            box.border_subtitle = (f"first {MAX_LINES} lines · " if self.cut else "") + "Esc closes"
            body = "\n".join(self.lines) if self.lines else "(empty file)"
            yield Static(Text(body, no_wrap=True), id="file-text")

    def action_close(self) -> None:
        self.dismiss(None)
