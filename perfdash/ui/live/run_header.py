"""The top two lines of the live screen: which run, how much load it plans, where it is, for how
long, and whether k6 has already crossed a threshold (k6 marks its run "tainted" the moment one
is crossed).

Elapsed time comes from the app's injected clock and is a whole number of seconds, so the header
repaints once a second at most.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from perfdash.ui.format import STATUS_STYLE, clock_time
from perfdash.ui.live.state import HeaderView
from perfdash.ui.strips import text_strips


def header_lines(view: HeaderView, width: int) -> list[Text]:
    left = Text.assemble(("perfdash", "bold"), " ▸ ")
    if view.run_id:
        left.append(f"run {view.run_id}", style="bold")
        left.append(f" · profile {view.profile} · env {view.environment}")
    else:
        left.append("starting…", style="italic")
    right = Text(f"elapsed {clock_time(view.elapsed_s)}", style="bold")
    # The planned load, in full when it fits, else without each tool's share, else not at all.
    room = width - left.cell_len - right.cell_len - 4
    for plan in (view.plan, view.plan.split(" (", 1)[0]):
        if plan and len(plan) + 3 <= room:
            left.append(f" · {plan}", style="dim")
            break
    gap = max(1, width - left.cell_len - right.cell_len)
    first = left + Text(" " * gap) + right

    second = Text.assemble(("phase ", "dim"), (view.phase, "bold"))
    if view.phase_detail:
        second.append(f": {view.phase_detail}")
    if view.stopping:
        second.append("  stopping…", style="bold yellow")
    if view.preflight_failed or (view.phase == "preflight" and view.preflight_ok):
        second.append("  ·  preflight ", style="dim")
        second.append(f"{view.preflight_ok} ok", style="green")
        if view.preflight_failed:
            second.append(f" {view.preflight_failed} failed", style="bold red")
    if view.tainted is not None:
        second.append("  ·  thresholds ", style="dim")
        second.append("CROSSED" if view.tainted else "ok",
                      style="bold red" if view.tainted else "green")
    if view.problems:
        second.append("  ·  ", style="dim")
        second.append(f"{view.problems} problem{'s' if view.problems > 1 else ''}",
                      style="yellow")
    if view.status:
        second.append("  ·  status ", style="dim")
        second.append(view.status.upper(), style=STATUS_STYLE.get(view.status, "bold"))
    return [first, second]


class RunHeader(Widget):
    DEFAULT_CSS = """
    RunHeader {
        height: 2;
        background: $panel;
        padding: 0 1;
    }
    """

    view: reactive[HeaderView] = reactive(HeaderView)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._strips: list[Strip] = []
        self._strips_key: tuple[object, ...] = ()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if (self.view, width) != self._strips_key:
            self._strips_key = (self.view, width)
            self._strips = text_strips(header_lines(self.view, width), width, self.app.console,
                                       self.rich_style)
        return self._strips[y] if y < len(self._strips) else Strip.blank(width, self.rich_style)

    @property
    def plain(self) -> str:
        return "\n".join(line.plain for line in header_lines(self.view, self.size.width))
