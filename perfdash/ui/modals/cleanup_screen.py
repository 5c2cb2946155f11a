"""`c`: what cleanup would remove for this run's environment. It only lists: removing seeded data
and stopping services from the dashboard arrives later, and this dialog says so.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

LATER = ("Cleanup actions arrive later: nothing is removed from here yet. "
         "Until then, `--skip-cleanup` decides what a run leaves behind.")


def cleanup_plan(environment: str, kind: str | None, finished: bool) -> list[str]:
    """What perfdash created for this run that a cleanup would remove, in plain words."""
    if kind == "demo" or (kind is None and environment == "demo"):
        state = "already stopped by the end of the run" if finished else \
            "stopped automatically when the run ends"
        return [f"the demo stack: the throwaway PostgreSQL cluster and the demo backend ({state})"]
    if not environment:
        return ["nothing yet: the run has not started"]
    return [f"nothing: perfdash has recorded no seeded data or started service for "
            f"environment {environment!r}"]


class CleanupScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    CleanupScreen {
        align: center middle;
    }
    CleanupScreen > Vertical {
        width: 80%;
        max-width: 90;
        height: auto;
        border: round $warning;
        border-title-color: $text-warning;
        background: $surface;
        padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,c,q", "close", "Close")]

    def __init__(self, items: list[str]) -> None:
        super().__init__()
        self.items = items

    def compose(self) -> ComposeResult:
        text = Text("would be cleaned:\n", style="bold")
        for item in self.items:
            text.append(f"• {item}\n", style="")
        text.append("\n" + LATER, style="italic yellow")
        with Vertical() as box:
            box.border_title = "cleanup"
            box.border_subtitle = "Esc closes"
            yield Static(text, id="cleanup-text")

    def action_close(self) -> None:
        self.dismiss(None)
