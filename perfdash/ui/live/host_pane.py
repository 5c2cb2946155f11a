"""CPU and memory sparklines with the load average: the `htop` a load test used to need.

Sparklines are on a fixed 0–100 scale, so a steady 30% reads as steady, and one character per
second keeps the repainted area to a couple of short lines.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from perfdash.ui.format import labelled_spark, spark
from perfdash.ui.live.pane import Pane
from perfdash.ui.live.state import HostView

LABEL = 9  # "CPU  37% "


def _level(value: float) -> str:
    return "bold red" if value >= 90 else "yellow" if value >= 80 else "green"


def host_lines(view: HostView | None, width: int, height: int) -> list[Text]:
    if view is None or not view.cpu:
        return []
    cpu, mem = view.cpu[-1], view.mem[-1]
    backend = view.backend_cpu_pct is not None or view.backend_rss_mb is not None
    # One line of CPU history: the timeline chart above carries the run's CPU and memory.
    recent = max(view.cpu[-max(1, width - LABEL):])
    lines = [
        *labelled_spark(Text.assemble(("CPU ", "bold"), (f"{cpu:3.0f}% ", _level(cpu))),
                        view.cpu, width, 1, _level(recent), 0, 100),
        Text.assemble(("mem ", "bold"), (f"{mem:.0f}%", _level(mem)), ("  load ", "bold"),
                      " ".join(f"{v:.2f}" for v in view.load)),
        Text(f"{view.mem_used_mb / 1024:,.1f} GB used", style="dim"),
    ]
    if backend:
        cpu_text = "—" if view.backend_cpu_pct is None else f"{view.backend_cpu_pct:.0f}%"
        rss_text = "—" if view.backend_rss_mb is None else f"{view.backend_rss_mb:,.0f} MB"
        lines.append(Text.assemble(("backend ", "bold"), f"CPU {cpu_text} · RSS {rss_text}"))
    if view.cpu_per_core and height > len(lines):
        cores = Text("cores ", style="bold")
        for v in view.cpu_per_core[: max(1, (width - 6) // 2)]:
            cores.append(spark([v], 1, 0, 100) + " ", style=_level(v))
        lines.append(cores)
    if view.swap_pct and height > len(lines):
        lines.append(Text(f"swap {view.swap_pct:.0f}%", style="yellow" if view.swap_pct > 10 else ""))
    return lines


class HostPane(Pane):
    TITLE = "host"

    view: reactive[HostView | None] = reactive(None)

    def content_key(self) -> object:
        return self.view

    def lines(self, width: int, height: int) -> list[Text]:
        return host_lines(self.view, width, height)
