"""A load tool without a pane of its own (any tool but k6 and Artillery): its phase, then the
figures every tool's progress may carry (users, req/s, p95, the share failing, failures so far),
read from its ToolProgressed by their common names, so a new tool shows up without UI code.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from perfdash.events import FAIL_RATIO, FAILURES, P95_MS, USERS
from perfdash.ui.format import ms, pct
from perfdash.ui.live.pane import Pane
from perfdash.ui.live.state import ToolPhase, ToolView
from perfdash.ui.live.tool_phase import label as tool_label
from perfdash.ui.live.tool_phase import phase_lines, progress_line


def generic_lines(name: str, view: ToolView | None, width: int, height: int,
                  phase: ToolPhase | None = None) -> list[Text]:
    if phase is not None and (view is None or phase.absent):
        return phase_lines(phase, width, [Text(f"waiting for {tool_label(name)}'s first sample",
                                               style="dim")])
    if view is None:
        return []
    planned = view.planned_s or (phase.planned_s if phase is not None else 0.0)
    own = phase if phase is not None and phase.started else None
    rate = view.req_per_s[-1] if view.req_per_s else 0.0
    users, failures, failing = view.get(USERS), view.get(FAILURES), view.get(FAIL_RATIO)
    return [
        progress_line(own.elapsed_s if own else view.elapsed_s, planned, view.ended, width,
                      own.plan if own else ""),
        Text.assemble(("users ", "bold"), f"{users:,.0f}  " if users is not None else "–  ",
                      ("req/s ", "bold"), f"{rate:,.0f}  ", ("p95 ", "bold"), ms(view.get(P95_MS))),
        Text.assemble(("failing ", "bold"), (pct(failing, 2), "bold red" if failing else ""), "  ",
                      ("failures ", "bold"),
                      (f"{failures:,.0f}" if failures is not None else "–",
                       "bold red" if failures else "")),
    ][:max(1, height)]


class ToolPane(Pane):
    """One per tool without a bespoke pane; its title is the tool's label."""

    view: reactive[ToolView | None] = reactive(None)
    phase: reactive[ToolPhase | None] = reactive(None)

    def __init__(self, tool_name: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tool_name = tool_name
        self.border_title = tool_label(tool_name)
        self.WAITING = f"waiting for {tool_label(tool_name)}…"

    def content_key(self) -> object:
        return (self.view, self.phase)

    def lines(self, width: int, height: int) -> list[Text]:
        return generic_lines(self.tool_name, self.view, width, height, self.phase)
