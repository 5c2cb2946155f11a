"""The tailed app log with its counts, a filter (`/`) and follow/pause (`f`): `tail -f logs/app.log`
without the terminal it used to take.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import Input

from perfdash.ui.live.log_view import LogView
from perfdash.ui.live.state import LogBuffer


class LogPane(Vertical):
    # The border and its counts belong to the view, not to this container: the counts change
    # with every batch, and a container's border repaints the whole region under it.
    DEFAULT_CSS = """
    LogPane > LogView {
        border: round $primary 40%;
        border-title-color: $text-primary;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        padding: 0 1;
    }
    LogPane > #log-filter {
        display: none;
        height: 1;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    LogPane.-filtering > #log-filter {
        display: block;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close_filter", "Clear filter", show=False)]

    def __init__(self, buffer: LogBuffer, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.buffer = buffer
        self._subtitle_key: tuple[object, ...] = ()

    def compose(self) -> ComposeResult:
        field = Input(placeholder="filter: Enter keeps it, Esc clears it", id="log-filter")
        field.cursor_blink = False  # a blink is a repaint twice a second, and screenshots differ
        yield field
        view = LogView(self.buffer, id="log-view")
        view.border_title = "app log"
        yield view

    @property
    def border_subtitle_text(self) -> str:
        """The counts under the log (markup), for tests."""
        return str(self.view.border_subtitle or "")

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def update_from(self, absent: bool) -> None:
        """Called by the drain: repaint the lines and the counts only if something arrived."""
        view = self.view
        view.absent = absent
        view.version = self.buffer.version
        self._update_subtitle()

    def _update_subtitle(self) -> None:
        b, view = self.buffer, self.view
        key = (b.received, b.dropped, b.errors, b.warnings, view.follow, view.filter_text)
        if key == self._subtitle_key:
            return
        self._subtitle_key = key
        parts = [f"{b.received:,} lines"]
        if b.errors:
            parts.append(f"[b red]{b.errors:,} errors[/]")
        if b.warnings:
            parts.append(f"[yellow]{b.warnings:,} warnings[/]")
        if b.dropped:
            parts.append(f"{b.dropped:,} dropped")
        if view.filter_text:
            parts.append(f"filter '{escape(view.filter_text)}'")
        if view.follow:
            parts.append("following")
        else:
            parts.append(f"[b yellow]PAUSED[/] +{b.received - view.frozen_at:,} new")
        view.border_subtitle = " · ".join(parts)

    # ------------------------------------------------------------------ keys
    def open_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one("#log-filter", Input).focus()

    def toggle_follow(self) -> None:
        self.view.follow = not self.view.follow
        self._update_subtitle()

    def action_close_filter(self) -> None:
        field = self.query_one("#log-filter", Input)
        field.value = ""
        self._close()

    def _close(self) -> None:
        self.remove_class("-filtering")
        self.screen.set_focus(None)

    @on(Input.Changed, "#log-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.view.filter_text = event.value
        self._update_subtitle()

    @on(Input.Submitted, "#log-filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        self._close()
