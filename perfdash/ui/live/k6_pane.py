"""k6 while it runs: progress with time left, VUs, request rate, p95 so far and the checks rate.

Time left comes from k6's own elapsed and planned seconds (its REST API), not from a wall clock,
so the bar agrees with k6 and a replayed run shows what the live one showed. Before its first
sample the pane says why there is none yet (`perfdash.ui.live.tool_phase`): k6 is not part of the
profile, or has just started.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from perfdash.ui.format import ms, pct
from perfdash.ui.live.pane import Pane
from perfdash.ui.live.state import K6View, ToolPhase
from perfdash.ui.live.tool_phase import phase_lines, progress_line


def k6_lines(view: K6View | None, width: int, height: int,
             phase: ToolPhase | None = None) -> list[Text]:
    if phase is not None and (view is None or phase.absent):
        return phase_lines(phase, width, [Text("waiting for k6's first sample", style="dim")])
    if view is None:
        return []
    planned = view.planned_s or (phase.planned_s if phase is not None else 0.0)
    rate = view.req_per_s[-1] if view.req_per_s else 0.0
    thresholds = (Text("thresholds CROSSED", style="bold red") if view.tainted
                  else Text("thresholds ok", style="green"))
    checks_style = ("green" if view.checks_rate is None or view.checks_rate >= 0.99 else "bold red")
    failed = view.failed_rate or 0.0
    # The numbers only: req/s, latency and errors over time are on the timeline chart above.
    return [
        progress_line(view.elapsed_s, planned, view.ended, width,
                      phase.plan if phase is not None else ""),
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
    phase: reactive[ToolPhase | None] = reactive(None)

    def content_key(self) -> object:
        return (self.view, self.phase)

    def lines(self, width: int, height: int) -> list[Text]:
        return k6_lines(self.view, width, height, self.phase)
