"""The newest screenful of the app log, coloured by level, optionally filtered or paused.

It draws only as many lines as fit, however many arrived: at 20,000 lines/s the tailer already
drops all but the newest lines of each batch, and this view paints one screenful per drain.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from perfdash.collect.log_levels import JSON_LEVEL_TEXT
from perfdash.ui.live.state import LogBuffer

# A level word further into the line than this is message text ("GET /errors 200"), not the level.
LEVEL_HEAD = 48
_ERROR_WORDS = ("ERROR", "FATAL", "CRITICAL")


def level_style(line: str) -> str:
    if line.startswith("[") and (end := line.find("] ", 0, LEVEL_HEAD)) > 0:
        line = line[end + 2:]  # the file's name, when the pane follows several app logs
    head = line[:LEVEL_HEAD].upper()
    if any(word in head for word in _ERROR_WORDS):
        return "bold red"
    if "WARN" in head:
        return "yellow"
    if (json := JSON_LEVEL_TEXT.search(line)) is not None:  # pino's 50, structlog's "error"
        return "yellow" if json.group(2) or not (json.group(1) or json.group(3)) else "bold red"
    return ""


def newest(lines: Iterable[str], count: int, needle: str = "") -> list[str]:
    """The last `count` lines containing `needle` (case-insensitive), oldest first."""
    out: list[str] = []
    for line in reversed(list(lines)):
        if len(out) >= count:
            break
        if not needle or needle in line.lower():
            out.append(line)
    out.reverse()
    return out


class LogView(Widget):
    """Draws line by line (Textual's line API) from strips built once per change: the log is the
    largest area on the screen, and this skips the text layout a rendered `Text` would go through."""

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
    }
    """

    version: reactive[int] = reactive(0)
    filter_text: reactive[str] = reactive("")
    follow: reactive[bool] = reactive(True)
    absent: reactive[bool] = reactive(False)

    def __init__(self, buffer: LogBuffer, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.buffer = buffer
        self._frozen: tuple[str, ...] = ()
        self.frozen_at = 0
        self._strips: list[Strip] = []
        self._strips_key: tuple[object, ...] = ()

    def watch_follow(self, follow: bool) -> None:
        if not follow:
            self._frozen = tuple(self.buffer.lines)
            self.frozen_at = self.buffer.received

    def shown_lines(self, height: int) -> list[str]:
        source = self.buffer.lines if self.follow else self._frozen
        return newest(source, height, self.filter_text.lower())

    def styled_lines(self, height: int) -> list[tuple[str, str]]:
        """What the view shows: (line, style) from the top, at most `height` of them."""
        if not self.buffer.batches:
            if self.absent:
                return [("no app log configured", "bold"),
                        ("name the backend's log file as app_log of the environment in "
                         "profiles.toml (or in its logs, kind = \"app\") to follow it here", "dim")]
            return [("waiting for the app log…", "dim italic")]
        shown = self.shown_lines(max(1, height))
        if not shown:
            return [(f"no line matches '{self.filter_text}'", "dim italic")]
        return [(line, level_style(line)) for line in shown]

    def text(self) -> Text:
        """The view as one Rich Text, for tests and screen readers."""
        out = Text(end="")
        for i, (line, style) in enumerate(self.styled_lines(self.size.height)):
            out.append(("\n" if i else "") + line, style=style)
        return out

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        key = (self.version, self.filter_text, self.follow, self.absent, width, height)
        if key != self._strips_key:
            self._strips_key = key
            base = self.rich_style
            self._strips = [
                Strip([Segment(line.replace("\t", "    "), base + _style(style))]
                      ).crop_extend(0, width, base)
                for line, style in self.styled_lines(height)]
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.rich_style)


@lru_cache(maxsize=16)
def _style(name: str) -> Style:
    return Style.parse(name) if name else Style()
