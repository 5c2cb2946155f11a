"""The floor under any Textual dashboard, for bench_dashboard.py's neighbours: six bordered panes
of twelve lines each, every line rewritten once a second, no perfdash code at all. What perfdash
costs above (or below) this is what its own drawing adds."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.widgets import Static


class Floor(App[None]):
    CSS = "Grid { grid-size: 2 3; } Static { border: round green; height: 1fr; }"

    def compose(self) -> ComposeResult:
        with Grid():
            for i in range(6):
                yield Static(id=f"pane{i}")

    def on_mount(self) -> None:
        self.set_interval(1, self.tick)

    def tick(self) -> None:
        now = time.time()
        for i, pane in enumerate(self.query(Static)):
            pane.update("\n".join(f"line {j}: {now * (i + 1) * (j + 1) % 1000:10.3f} req/s"
                                  for j in range(12)))


if __name__ == "__main__":
    Floor().run()
