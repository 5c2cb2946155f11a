"""The few node_exporter series perfdash needs, read from its own `/metrics` page.

A host named only by its node_exporter URL (no Prometheus in between) is scraped directly. Only
plain `name{labels} value` lines of the families below are read; everything else on the page
(comments, other families, exemplars) is skipped, so a full exposition-format parser would be
dead weight here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

WANTED = ("node_cpu_seconds_total", "node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes",
          "node_load1", "node_load5", "node_load15", "node_network_receive_bytes_total",
          "node_network_transmit_bytes_total")
_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class NodeCounters:
    """One scrape: cumulative CPU seconds (idle, all), memory, load and network byte counters."""

    cpu_idle_s: float
    cpu_total_s: float
    mem_total: float
    mem_available: float
    load: tuple[float, float, float]
    net_rx_bytes: float
    net_tx_bytes: float


def parse_node_metrics(lines: Iterable[str]) -> NodeCounters:
    """Sums the wanted families over their labels (every CPU and mode, every device but lo)."""
    idle = total = rx = tx = 0.0
    single: dict[str, float] = {}
    for line in lines:
        if not line.startswith("node_"):
            continue
        m = _LINE.match(line)
        if not m or m.group(1) not in WANTED:
            continue
        try:
            value = float(m.group(4))
        except ValueError:
            continue
        if not math.isfinite(value):
            continue
        name = m.group(1)
        labels = dict(_LABEL.findall(m.group(3) or ""))
        if name == "node_cpu_seconds_total":
            total += value
            if labels.get("mode") == "idle":
                idle += value
        elif name.startswith("node_network_"):
            if labels.get("device") == "lo":
                continue
            if "receive" in name:
                rx += value
            else:
                tx += value
        else:
            single[name] = value
    return NodeCounters(idle, total, single.get("node_memory_MemTotal_bytes", math.nan),
                        single.get("node_memory_MemAvailable_bytes", math.nan),
                        (single.get("node_load1", math.nan), single.get("node_load5", math.nan),
                         single.get("node_load15", math.nan)), rx, tx)
