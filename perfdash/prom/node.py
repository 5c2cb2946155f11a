"""One sample of a host's CPU, memory, load and network, measured by node_exporter: either through
a Prometheus that scrapes it (`PromHosts`, several hosts in a few queries) or by reading the
node_exporter's own page (`NodeExporterHost`).

A host that does not answer gives a sample with `up=False` and no values, never zeros: a missing
measurement must stay visibly missing all the way to the checks.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from perfdash.net import OPENER
from perfdash.prom.client import PromClient, PromError
from perfdash.prom.exposition import NodeCounters, parse_node_metrics

# node_exporter's CPU counters move in scrape steps: irate over a window of a few scrapes follows
# the last second or two without dropping to nothing between scrapes.
RATE_WINDOW = "15s"


_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


def re2_escape(text: str) -> str:
    """A literal for a PromQL regex matcher (RE2): Python's re.escape also escapes `-`, which RE2
    rejects."""
    return _RE2_SPECIAL.sub(r"\\\1", text)


@dataclass(frozen=True)
class HostSample:
    name: str
    role: str
    up: bool
    cpu_pct: float | None = None
    mem_pct: float | None = None
    mem_used_mb: float | None = None
    load1: float | None = None
    load5: float | None = None
    load15: float | None = None
    net_rx_kbps: float | None = None  # kilobytes per second, every device but lo
    net_tx_kbps: float | None = None
    problem: str | None = None  # why it is not up


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _percent(value: float | None) -> float | None:
    """A share of busy time, clamped to 0..100: `1 - idle/total` on an idle host comes out as -3e-10."""
    finite = _finite(value)
    return None if finite is None else min(100.0, max(0.0, finite))


def _memory(total: float | None, available: float | None) -> tuple[float | None, float | None]:
    if total is None or available is None or not total > 0:
        return None, None
    used = total - available
    return _finite(100.0 * used / total), _finite(used / 1_048_576)


class PromHosts:
    """Hosts by their `instance` label in a Prometheus that scrapes their node_exporters."""

    def __init__(self, client: PromClient, hosts: Sequence[tuple[str, str, str]]) -> None:
        """hosts: (name, role, instance label)."""
        self.client = client
        self.hosts = tuple(hosts)
        self._re = json.dumps("|".join(re2_escape(instance) for _, _, instance in hosts))

    def _by_instance(self, expr: str) -> dict[str, float]:
        return {s.labels.get("instance", ""): s.value for s in self.client.query(expr)
                if s.value is not None and math.isfinite(s.value)}

    def sample(self) -> list[HostSample]:
        sel = f"instance=~{self._re}"
        try:
            # several jobs may scrape one instance: it counts as up when any of them reaches it,
            # and as measured only when node_exporter's own series are there (below)
            up = self._by_instance(f"max by (instance) (up{{{sel}}})")
            cpu = self._by_instance(
                f'100 * (1 - avg by (instance) (irate(node_cpu_seconds_total{{mode="idle",{sel}}}'
                f"[{RATE_WINDOW}])))")
            gauges: dict[tuple[str, str], float] = {}
            for s in self.client.query(
                    '{__name__=~"node_memory_MemTotal_bytes|node_memory_MemAvailable_bytes|'
                    f'node_load1|node_load5|node_load15",{sel}}}'):
                if s.value is not None:
                    gauges[(s.labels.get("instance", ""), s.labels.get("__name__", ""))] = s.value
            net = {d: self._by_instance(
                f'sum by (instance) (irate(node_network_{d}_bytes_total{{device!="lo",{sel}}}'
                f"[{RATE_WINDOW}]))") for d in ("receive", "transmit")}
        except PromError as exc:
            return [HostSample(name, role, False, problem=str(exc)) for name, role, _ in self.hosts]
        out: list[HostSample] = []
        for name, role, inst in self.hosts:
            if up.get(inst) != 1.0:
                why = ("its node_exporter does not answer Prometheus's scrape (up=0)"
                       if inst in up else f"Prometheus has no target with instance={inst!r}")
                out.append(HostSample(name, role, False, problem=why))
                continue
            if (inst, "node_memory_MemTotal_bytes") not in gauges:
                out.append(HostSample(name, role, False, problem=(
                    f"Prometheus has no node_exporter series for instance={inst!r}")))
                continue
            mem_pct, used = _memory(gauges.get((inst, "node_memory_MemTotal_bytes")),
                                    gauges.get((inst, "node_memory_MemAvailable_bytes")))
            rx, tx = net["receive"].get(inst), net["transmit"].get(inst)
            out.append(HostSample(
                name, role, True, _percent(cpu.get(inst)), mem_pct, used,
                gauges.get((inst, "node_load1")), gauges.get((inst, "node_load5")),
                gauges.get((inst, "node_load15")),
                None if rx is None else rx / 1024, None if tx is None else tx / 1024))
        return out


class NodeExporterHost:
    """One node_exporter read directly: rates come from the difference between two reads."""

    def __init__(self, name: str, role: str, url: str, timeout_s: float = 2.0) -> None:
        self.name = name
        self.role = role
        base = url.rstrip("/")
        self.url = base if base.endswith("/metrics") else base + "/metrics"
        self.timeout_s = timeout_s
        self._prev: tuple[float, NodeCounters] | None = None

    def read(self) -> NodeCounters:
        with OPENER.open(self.url, timeout=self.timeout_s) as resp:
            text = resp.read().decode("utf-8", "replace")
        return parse_node_metrics(text.splitlines())

    def sample(self) -> HostSample:
        try:
            now, counters = time.monotonic(), self.read()
        except (OSError, ValueError) as exc:
            self._prev = None
            reason = getattr(exc, "reason", exc)
            return HostSample(self.name, self.role, False,
                              problem=f"its node_exporter at {self.url} does not answer ({reason})")
        prev, self._prev = self._prev, (now, counters)
        cpu = rx = tx = None
        if prev is not None:
            p = prev[1]
            busy_total = counters.cpu_total_s - p.cpu_total_s
            if busy_total > 0:
                cpu = 100.0 * (1 - (counters.cpu_idle_s - p.cpu_idle_s) / busy_total)
            dt = max(now - prev[0], 1e-3)
            rx = max(0.0, counters.net_rx_bytes - p.net_rx_bytes) / dt / 1024
            tx = max(0.0, counters.net_tx_bytes - p.net_tx_bytes) / dt / 1024
        mem_pct, used = _memory(counters.mem_total, counters.mem_available)
        load = counters.load
        return HostSample(self.name, self.role, True, _percent(cpu), mem_pct, used,
                          _finite(load[0]), _finite(load[1]), _finite(load[2]), rx, tx)
