"""The floor under any Textual dashboard, for bench_dashboard.py's neighbours: six bordered panes
of twelve lines each, every line rewritten once a second, no perfdash code at all. What perfdash
costs above (or below) this is what its own drawing adds.

    textual_floor.py           each pane's text replaced with `Static.update` (a layout pass)
    textual_floor.py --lean    the same without the layout pass (`layout=False`): the least any
                               Textual app pays to repaint six panes a second
    textual_floor.py --idle    the six panes drawn once and never again: Textual doing nothing
"""

from __future__ import annotations

import sys
import time

from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.widgets import Static


class Floor(App[None]):
    CSS = "Grid { grid-size: 2 3; } Static { border: round green; height: 1fr; }"

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def compose(self) -> ComposeResult:
        with Grid():
            for i in range(6):
                yield Static(id=f"pane{i}")

    def on_mount(self) -> None:
        self.tick()
        if self.mode != "--idle":
            self.set_interval(1, self.tick)

    def tick(self) -> None:
        now = time.time()
        for i, pane in enumerate(self.query(Static)):
            pane.update("\n".join(f"line {j}: {now * (i + 1) * (j + 1) % 1000:10.3f} req/s"
                                  for j in range(12)), layout=self.mode != "--lean")


if __name__ == "__main__":
    Floor(sys.argv[1] if len(sys.argv) > 1 else "").run()
