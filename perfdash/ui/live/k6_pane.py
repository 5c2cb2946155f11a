"""k6 while it runs: progress with time left, VUs, request rate, p95 so far and the checks rate.

Time left comes from k6's own elapsed and planned seconds (its REST API), not from a wall clock,
so the bar agrees with k6 and a replayed run shows what the live one showed.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from perfdash.ui.format import bar, ms, pct
from perfdash.ui.live.pane import Pane
from perfdash.ui.live.state import K6View, ToolEnd


def ended_text(end: ToolEnd) -> Text:
    style = "green" if end.returncode == 0 else "bold red"
    how = f" (stopped by {end.stopped_by})" if end.stopped_by else ""
    return Text(f"exit {end.returncode} after {end.elapsed_s:.1f} s{how}", style=style)


def progress_line(elapsed: float, planned: float, end: ToolEnd | None, width: int) -> Text:
    if end is not None:
        suffix = ended_text(end)
    elif planned <= 0:  # a k6 run perfdash only watches (perfdash watch): its plan is unknown
        suffix = Text(f"{elapsed:.0f} s, plan unknown")
    else:
        left = max(0.0, planned - elapsed)
        suffix = Text(f"{elapsed:.0f}/{planned:.0f} s · {left:.0f} s left")
    line = bar(elapsed if end is None else planned, planned, max(4, width - len(suffix) - 1))
    line.append(" ")
    line.append_text(suffix)
    return line


def k6_lines(view: K6View | None, width: int, height: int) -> list[Text]:
    if view is None:
        return []
    rate = view.req_per_s[-1] if view.req_per_s else 0.0
    thresholds = (Text("thresholds CROSSED", style="bold red") if view.tainted
                  else Text("thresholds ok", style="green"))
    checks_style = ("green" if view.checks_rate is None or view.checks_rate >= 0.99 else "bold red")
    failed = view.failed_rate or 0.0
    # The numbers only: req/s, latency and errors over time are on the timeline chart above.
    return [
        progress_line(view.elapsed_s, view.planned_s, view.ended, width),
        Text.assemble(("VUs ", "bold"), f"{view.vus}/{view.vus_max}  ", ("req/s ", "bold"),
                      f"{rate:,.0f}  ", ("p95 ", "bold"), ms(view.p95_ms)),
        Text.assemble(("checks ", "bold"), (pct(view.checks_rate), checks_style), "  ",
                      ("failed ", "bold"),
                      (pct(view.failed_rate, 2), "bold red" if failed > 0.01 else "")),
        Text.assemble(thresholds, (f"  {view.requests:,} requests", "dim")),
    ][:max(1, height)]


class K6Pane(Pane):
    TITLE = "k6"

    view: reactive[K6View | None] = reactive(None)

    def content_key(self) -> object:
        return self.view

    def lines(self, width: int, height: int) -> list[Text]:
        return k6_lines(self.view, width, height)
