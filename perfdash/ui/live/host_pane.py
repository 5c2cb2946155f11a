"""CPU and memory sparklines with the load average: the `htop` a load test used to need.

Sparklines are on a fixed 0–100 scale, so a steady 30% reads as steady, and one character per
second keeps the repainted area to a couple of short lines.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from perfdash.prom.node import HostSample
from perfdash.ui.format import labelled_spark, spark
from perfdash.ui.live.pane import Pane
from perfdash.ui.live.state import HostView

LABEL = 9  # "CPU  37% "


def _level(value: float) -> str:
    return "bold red" if value >= 90 else "yellow" if value >= 80 else "green"


def _pct(value: float | None) -> Text:
    return Text("  —", style="dim") if value is None else Text(f"{value:3.0f}%", style=_level(value))


def hosts_lines(hosts: tuple[HostSample, ...], width: int, height: int) -> list[Text]:
    """One row per host measured through node_exporter, backend first; a host that does not
    answer says so instead of showing numbers it does not have."""
    name_w = min(12, max(len(h.name) for h in hosts))
    lines: list[Text] = []
    for h in hosts[: max(1, height)]:
        row = Text.assemble((f"{h.name[:name_w]:<{name_w}} ", "bold"),
                            (f"{h.role[:4]:<4} ", "dim"))
        if not h.up:
            row.append("not answering", style="bold red")
            lines.append(row)
            continue
        row.append("CPU ")
        row.append_text(_pct(h.cpu_pct))
        row.append(" mem ")
        row.append_text(_pct(h.mem_pct))
        if h.load1 is not None:
            row.append(f" load {h.load1:.2f}")
        if h.net_rx_kbps is not None and h.net_tx_kbps is not None and width > len(row) + 18:
            row.append(f" net {h.net_rx_kbps:,.0f}/{h.net_tx_kbps:,.0f} KB/s", style="dim")
        lines.append(row)
    return lines


def host_lines(view: HostView | None, width: int, height: int) -> list[Text]:
    if view is not None and view.hosts:
        return hosts_lines(view.hosts, width, height)
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
