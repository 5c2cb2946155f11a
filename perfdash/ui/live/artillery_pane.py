"""Artillery while it runs: request rate, HTTP p95/p99, Socket.IO p95, emits and errors by type.

Artillery reports in 10-second windows, so this pane changes a few times a minute; errors are
listed by type because "xhr poll error" and "ETIMEDOUT" need different fixes.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from perfdash.ui.format import ms
from perfdash.ui.live.pane import Pane
from perfdash.ui.live.state import ArtilleryView, ToolPhase
from perfdash.ui.live.tool_phase import phase_lines, progress_line

REPORT_S = 10


def errors_line(errors: tuple[tuple[str, int], ...]) -> Text:
    if not errors:
        return Text.assemble(("errors ", "bold"), ("none", "green"))
    line = Text("errors ", style="bold")
    line.append(" · ".join(f"{name} {count:,}" for name, count in errors), style="bold red")
    return line


def artillery_lines(view: ArtilleryView | None, width: int, height: int,
                    phase: ToolPhase | None = None) -> list[Text]:
    if phase is not None and (view is None or phase.absent):
        due = REPORT_S - phase.elapsed_s % REPORT_S
        return phase_lines(phase, width, [
            Text.assemble(("running", "green"), f" · reports every {REPORT_S} s, next in ~{due} s"),
            Text("req/s, p95 and vusers follow with its first report", style="dim")])
    if view is None:
        return []
    rate = view.req_per_s[-1] if view.req_per_s else 0.0
    # Its own phase's clock moves every second; its reports only every 10 s.
    own = phase if phase is not None and phase.started else None
    lines = [
        progress_line(own.elapsed_s if own else view.elapsed_s,
                      view.planned_s or (own.planned_s if own else 0.0), view.ended, width,
                      own.plan if own else ""),
        Text.assemble(("req/s ", "bold"), f"{rate:,.0f}  ", ("p95 ", "bold"), ms(view.http_p95_ms),
                      "  ", ("p99 ", "bold"), ms(view.http_p99_ms)),
        Text.assemble(("Socket.IO p95 ", "bold"), ms(view.socketio_p95_ms), "  ",
                      (f"{view.socketio_emits:,} emits", "")),
        errors_line(view.errors),
    ]
    if height > len(lines):
        failed_style = "bold red" if view.vusers_failed else "dim"
        lines.append(Text.assemble(("vusers ", "bold"), f"{view.vusers_created:,} created · "
                                   f"{view.vusers_completed:,} done · ",
                                   (f"{view.vusers_failed:,} failed", failed_style)))
    return lines


class ArtilleryPane(Pane):
    TITLE = "Artillery"
    WAITING = "starts with the load phase"

    view: reactive[ArtilleryView | None] = reactive(None)
    phase: reactive[ToolPhase | None] = reactive(None)

    def content_key(self) -> object:
        return (self.view, self.phase)

    def lines(self, width: int, height: int) -> list[Text]:
        return artillery_lines(self.view, width, height, self.phase)
