"""`o`: the files of the run directory with their sizes; Enter opens one in the file viewer."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from perfdash.ui.format import size
from perfdash.ui.modals.file_viewer_screen import FileViewerScreen


def list_artifacts(run_dir: Path) -> list[tuple[Path, int]]:
    """Regular files of the run directory, by name; temporary files of atomic writes left out."""
    try:
        entries = sorted(run_dir.iterdir())
    except OSError:
        return []
    out = []
    for path in entries:
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            out.append((path, path.stat().st_size))
        except OSError:
            continue
    return out


class ArtifactsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ArtifactsScreen {
        align: center middle;
    }
    ArtifactsScreen > OptionList {
        width: 80%;
        max-width: 90;
        height: auto;
        max-height: 80%;
        border: round $primary;
        border-title-color: $text-primary;
        background: $surface;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,o,q", "close", "Close")]

    def __init__(self, run_dir: Path | None) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.files = list_artifacts(run_dir) if run_dir else []

    def compose(self) -> ComposeResult:
        width = max((len(p.name) for p, _ in self.files), default=10) + 2
        options = [Option(Text.assemble(p.name.ljust(width), (size(n).rjust(10), "dim")), id=str(i))
                   for i, (p, n) in enumerate(self.files)]
        if not options:
            why = "no run directory yet" if self.run_dir is None else f"{self.run_dir} is empty"
            options = [Option(Text(why, style="dim italic"), disabled=True)]
        listing = OptionList(*options, id="artifact-list")
        listing.border_title = f"artifacts: {self.run_dir}" if self.run_dir else "artifacts"
        listing.border_subtitle = "Enter shows a file · Esc closes"
        yield listing

    @on(OptionList.OptionSelected, "#artifact-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.app.push_screen(FileViewerScreen(self.files[int(event.option.id)][0]))

    def action_close(self) -> None:
        self.dismiss(None)
