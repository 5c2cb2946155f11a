"""Artillery while it runs: request rate, HTTP p95/p99, Socket.IO p95, emits and errors by type.

Artillery reports in 10-second windows, so this pane changes a few times a minute; errors are
listed by type because "xhr poll error" and "ETIMEDOUT" need different fixes.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from perfdash.ui.format import ms
from perfdash.ui.live.k6_pane import progress_line
from perfdash.ui.live.pane import Pane
from perfdash.ui.live.state import ArtilleryStarted, ArtilleryView

REPORT_S = 10


def errors_line(errors: tuple[tuple[str, int], ...]) -> Text:
    if not errors:
        return Text.assemble(("errors ", "bold"), ("none", "green"))
    line = Text("errors ", style="bold")
    line.append(" · ".join(f"{name} {count:,}" for name, count in errors), style="bold red")
    return line


def started_lines(started: ArtilleryStarted, width: int) -> list[Text]:
    """Before the first report: how long Artillery has run and when its report is due (or that
    there is no Artillery in this run at all)."""
    if started.absent:
        return [Text("not part of this run", style="dim"),
                Text("the profile has no Artillery scenario, or the run was not started by "
                     "perfdash", style="dim")]
    if started.after_k6:
        return [Text("starts when k6 has finished (sequential profile)", style="dim")]
    due = REPORT_S - started.elapsed_s % REPORT_S
    return [progress_line(started.elapsed_s, started.planned_s, None, width),
            Text.assemble(("running", "green"), f" · reports every {REPORT_S} s, next in ~{due} s"),
            Text("req/s, p95 and vusers follow with its first report", style="dim")]


def artillery_lines(view: ArtilleryView | None, width: int, height: int,
                    started: ArtilleryStarted | None = None) -> list[Text]:
    if view is None:
        return started_lines(started, width) if started is not None else []
    rate = view.req_per_s[-1] if view.req_per_s else 0.0
    lines = [
        progress_line(view.elapsed_s, view.planned_s, view.ended, width),
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
    started: reactive[ArtilleryStarted | None] = reactive(None)

    def content_key(self) -> object:
        return (self.view, self.started)

    def lines(self, width: int, height: int) -> list[Text]:
        return artillery_lines(self.view, width, height, self.started)
