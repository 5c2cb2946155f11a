"""Quitting during a run stops k6 and Artillery, so it asks first; the answer says what happens."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class QuitScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    QuitScreen {
        align: center middle;
    }
    QuitScreen > Vertical {
        width: 64;
        height: auto;
        border: round $error;
        background: $surface;
        padding: 0 1;
    }
    QuitScreen Horizontal {
        height: auto;
        align: center middle;
    }
    QuitScreen Button {
        margin: 1 2 0 2;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Stop and quit"),
        Binding("n,escape", "answer(False)", "Keep running"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "stop the run?"
            yield Static("The run is still going. Quitting stops k6 and Artillery, writes the "
                         "summary of what was measured (status: interrupted) and keeps every "
                         "partial artifact in the run directory.")
            with Horizontal():
                yield Button("Stop and quit (y)", variant="error", id="yes")
                yield Button("Keep running (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, stop: bool) -> None:
        self.dismiss(stop)
