"""`?`: every key and what each pane means, so nobody has to leave the dashboard to read a manual."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("s", "screenshot: SVG into the run directory, and a PNG of the same cells next to it"),
    ("o", "artifacts of the run directory with their sizes; Enter shows a file's first lines"),
    ("c", "cleanup: seeded rows, backend, compose project perfdash created; removes the checked "
          "ones after a second yes (not while a run uses them)"),
    ("/", "filter the app log (live screen); Enter keeps the filter, Esc clears it"),
    ("f", "follow the app log, or pause it to read (live screen)"),
    ("+ -", "give the app log more rows, or give them back to the charts (live screen)"),
    ("↑ ↓", "move through checks and database findings (result screen)"),
    ("+ - ← → 0", "result screen timeline: zoom in and out, move earlier or later, whole run"),
    ("?", "this help"),
    ("q", "quit; during a run, asks first, stops the tools and keeps the partial results"),
)
PANES = (
    ("timeline", "one m:ss axis for the whole run: req/s (k6, Artillery), latency p50/p95/p99 "
                 "(web_dashboard = true; else k6's mean every 3 s or more) with the p95 "
                 "threshold as a red line, errors, VUs, host CPU/memory, database "
                 "connections, log errors/s; marks: ◆ breach ▲ problem ■ tool exit │ phase"),
    ("host", "CPU and memory over the last minutes (0–100%), load average 1/5/15"),
    ("k6", "progress and time left, VUs, req/s, p95 so far, checks rate; CROSSED once k6 "
           "has seen a threshold fail"),
    ("Artillery", "10-second windows: req/s, HTTP p95/p99, Socket.IO p95, emits, errors by type"),
    ("database", "connections by state against max_connections, waiting locks"),
    ("app log", "the newest lines of the backend's log; ERROR red, WARN yellow; counts below"),
    ("result", "overall status, every check against its threshold, the whole run on one time "
               "axis (load, latency, errors, VUs, host, database, log; markers), percentiles, "
               "slow queries and sequential scans with hints and plans"),
)


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    table.add_row(Text("keys", style="bold underline"), "")
    for key, what in KEYS:
        table.add_row(key, what)
    table.add_row("", "")
    table.add_row(Text("panes", style="bold underline"), "")
    for name, what in PANES:
        table.add_row(name, what)
    return table


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 90%;
        max-width: 110;
        height: auto;
        max-height: 90%;
        border: round $primary;
        border-title-color: $text-primary;
        background: $surface;
        padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "perfdash help"
            box.border_subtitle = "Esc closes"
            yield Static(help_table(), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
