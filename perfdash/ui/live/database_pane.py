"""Database connections by state against max_connections: what `psql` was kept open for.

A pool that creeps toward max_connections, or piles up "idle in transaction", shows here before
requests start to queue.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from perfdash.ui.format import bar
from perfdash.ui.live.pane import Pane
from perfdash.ui.live.state import DatabaseView


def database_lines(view: DatabaseView | None, width: int, height: int) -> list[Text]:
    if view is None or not view.total:
        return []
    total = view.total[-1]
    used = total / view.max_connections if view.max_connections else 0.0
    style = "bold red" if used >= 0.9 else "yellow" if used >= 0.75 else "green"
    suffix = f" {total} of {view.max_connections}"
    usage = bar(total, view.max_connections or 1, max(4, width - len(suffix)))
    usage.append(suffix, style=style)
    states = Text()
    for i, (state, n) in enumerate(view.by_state):
        states.append(" · " if i else "")
        states.append(f"{state} ", style="bold")
        states.append(str(n), style="yellow" if state.startswith("idle in") and n else "")
    locks = Text.assemble(("waiting locks ", "bold"),
                          (str(view.waiting_locks), "bold red" if view.waiting_locks else "green"))
    return [usage, states or Text("no connections", style="dim"), locks]


class DatabasePane(Pane):
    TITLE = "database"
    WAITING = "first sample within 2 s of the start"

    view: reactive[DatabaseView | None] = reactive(None)

    def content_key(self) -> object:
        return self.view

    def lines(self, width: int, height: int) -> list[Text]:
        return database_lines(self.view, width, height)
