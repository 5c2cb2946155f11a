"""Hosts measured through node_exporter, once a second, into `metrics.csv` and onto the bus.

Used instead of the psutil sampler when the environment lists hosts: the machine under test is
elsewhere, so psutil here would measure the wrong one. `metrics.csv` then has `timestamp`,
`elapsed_s` and one column group per host (`<host>.cpu_pct`, `.mem_pct`, `.mem_used_mb`, `.load1`,
`.load5`, `.load15`, `.net_rx_kbps`, `.net_tx_kbps`, `.up`); `hosts.json` beside it names each
host's role and source, so the analysis reads the roles from the run's own artifacts.

When no listed host has the role "generator", this machine (which runs k6 and Artillery) is added
as host `runner`, measured through psutil, so generator saturation is still judged.

A host that stops answering keeps its row with `up` 0 and empty values, and is a problem event
(once per outage); the analysis turns it into "not measured", never into a pass.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import psutil

from perfdash.artifacts import RunPaths, write_json_atomic
from perfdash.collect.backend_process import BackendByPort
from perfdash.collect.background import Background
from perfdash.collect.base import DISK_FIX, RunNotes, Setup
from perfdash.collect.hostsample import HostsSampled
from perfdash.collect.system import SATURATION_PCT, SystemCollector
from perfdash.events import Bus, ProblemDetected
from perfdash.prom.client import PromClient
from perfdash.prom.node import HostSample, NodeExporterHost, PromHosts
from perfdash.prom.preflight import Result, check_node_exporters, check_prometheus
from perfdash.settings import Environment, HostSpec, Profile

FIELDS = ("cpu_pct", "mem_pct", "mem_used_mb", "load1", "load5", "load15", "net_rx_kbps",
          "net_tx_kbps", "up")
RUNNER = "runner"


class _Source(Protocol):
    def sample(self) -> list[HostSample]: ...


class _Direct:
    def __init__(self, host: NodeExporterHost) -> None:
        self.host = host

    def sample(self) -> list[HostSample]:
        return [self.host.sample()]


class LocalHost:
    """This machine through psutil, as the generators' host when none is listed."""

    def __init__(self, name: str = RUNNER) -> None:
        self.name = name
        psutil.cpu_percent(None)  # prime: the first call measures nothing
        self._prev: tuple[float, int, int] | None = None

    def sample(self) -> list[HostSample]:
        mem = psutil.virtual_memory()
        load = psutil.getloadavg()
        net = psutil.net_io_counters()
        now = time.monotonic()
        rx = tx = None
        if self._prev is not None:
            dt = max(now - self._prev[0], 1e-3)
            rx = max(0, net.bytes_recv - self._prev[1]) / dt / 1024
            tx = max(0, net.bytes_sent - self._prev[2]) / dt / 1024
        self._prev = (now, net.bytes_recv, net.bytes_sent)
        used = mem.total - mem.available
        return [HostSample(self.name, "generator", True, psutil.cpu_percent(None), mem.percent,
                           used / 1_048_576, load[0], load[1], load[2], rx, tx)]


def column_names(hosts: Sequence[tuple[str, str]]) -> list[str]:
    return ["timestamp", "elapsed_s", *(f"{name}.{f}" for name, _ in hosts for f in FIELDS)]


def host_roles(hosts: Sequence[HostSpec]) -> list[tuple[str, str]]:
    """(name, role) in column order: the listed hosts (backend first), then `runner` if needed."""
    roles = [(h.name, h.role) for h in hosts]
    if not any(role == "generator" for _, role in roles):
        roles.append((RUNNER, "generator"))
    return roles


def _sources(hosts: Sequence[HostSpec], prometheus_url: str | None) -> list[_Source]:
    sources: list[_Source] = []
    via_prom = [(h.name, h.role, h.instance) for h in hosts if h.instance is not None]
    if via_prom:
        assert prometheus_url is not None
        sources.append(PromHosts(PromClient(prometheus_url, timeout_s=2), via_prom))
    sources += [_Direct(NodeExporterHost(h.name, h.role, h.node_exporter)) for h in hosts
                if h.node_exporter is not None]
    if not any(h.role == "generator" for h in hosts):
        sources.append(LocalHost())
    return sources


def host_sampler(setup: Setup) -> SystemCollector | RemoteHostsCollector | None:
    """The registry's factory for metrics.csv: node_exporter when the environment lists its hosts
    (the machines under test are elsewhere, so psutil here would measure the wrong one), else
    psutil on this machine, with the backend's process when it can be found."""
    if not setup.measure_host:
        return None
    env = setup.env
    if env.hosts:
        return RemoteHostsCollector(setup.bus, setup.paths.metrics_csv, env.hosts,
                                    env.prometheus_url)
    return SystemCollector(setup.bus, setup.paths.metrics_csv,
                           backend_pid=setup.backend_pid or BackendByPort(setup.base_url or ""))


def host_names(setup: Setup) -> list[str]:
    """The hosts that get their own timeline columns, in metrics.csv's order (none with psutil)."""
    if not setup.measure_host or not setup.env.hosts:
        return []
    return [name for name, _ in host_roles(setup.env.hosts)]


def _cell(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


class RemoteHostsCollector(Background):
    """A daemon thread sampling every host at `interval_s`; `stop()` joins it and closes the CSV."""

    name = "hosts"

    def __init__(self, bus: Bus, csv_path: Path, hosts: Sequence[HostSpec],
                 prometheus_url: str | None, interval_s: float = 1.0) -> None:
        super().__init__("hosts-collector")
        self._bus = bus
        self._path = csv_path
        self._hosts = tuple(hosts)
        self._prom = prometheus_url
        self._interval = interval_s
        self._order = host_roles(hosts)
        # the host columns spelled as perfdash.timeline.columns.host_columns does (a test holds
        # them equal): collect/ sits below the timeline and may not import it
        self.columns: tuple[str, ...] = ("cpu_pct", "mem_pct", "load1", *(
            f"host.{name}.{f}" for name, _ in self._order for f in ("cpu_pct", "mem_pct", "load1")))
        self._down: set[str] = set()
        self._saturated: set[str] = set()
        self.rows = 0
        self.error: str | None = None
        self.lost: dict[str, str] = {}  # host -> the first problem seen (for the summary)

    def finish(self, run_dir: Path, record: RunNotes) -> None:
        """Like the psutil sampler: metrics.csv is written as it goes; a stop says why."""
        if self.error:
            record.not_measured["metrics"] = self.error
            record.problem(self.error, DISK_FIX)

    def _run(self) -> None:
        try:
            self._loop()
        except OSError as exc:
            self.error = f"hosts collector stopped: cannot write {self._path.name}: {exc.strerror}"
            self._bus.publish(ProblemDetected(self.error, "free disk space or fix permissions",
                                              severity="error"))

    def _loop(self) -> None:
        sources = _sources(self._hosts, self._prom)
        write_json_atomic(RunPaths(self._path.parent).hosts_json, {"hosts": [
            {"name": n, "role": r, "source": _source_text(n, self._hosts, self._prom)}
            for n, r in self._order]})
        start = time.monotonic()
        with self._path.open("a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if f.tell() == 0:
                writer.writerow(column_names(self._order))
                f.flush()
            tick = 0
            while not self._stopping.wait(max(0.0, start + (tick + 1) * self._interval
                                          - time.monotonic())):
                tick += 1
                found = {s.name: s for src in sources for s in src.sample()}
                ordered = tuple(found.get(n) or HostSample(n, r, False, problem="no sample")
                                for n, r in self._order)
                event = HostsSampled(ordered)
                row = [datetime.fromtimestamp(event.at, UTC).isoformat(timespec="milliseconds"),
                       f"{time.monotonic() - start:.2f}"]
                for h in ordered:
                    row += [_cell(h.cpu_pct), _cell(h.mem_pct), _cell(h.mem_used_mb, 0),
                            _cell(h.load1, 2), _cell(h.load5, 2), _cell(h.load15, 2),
                            _cell(h.net_rx_kbps), _cell(h.net_tx_kbps), "1" if h.up else "0"]
                writer.writerow(row)
                f.flush()
                self.rows += 1
                self._bus.publish(event)
                self._watch(ordered)

    def _watch(self, hosts: Sequence[HostSample]) -> None:
        """One problem per outage: when a host stops answering, and a note when it is back."""
        for h in hosts:
            if not h.up and h.name not in self._down:
                self._down.add(h.name)
                what = f"host {h.name} ({h.role}) stopped answering: {h.problem}"
                self.lost.setdefault(h.name, what)
                self._bus.publish(ProblemDetected(
                    what, "check the host and its node_exporter; its checks end not measured",
                    severity="error"))
            elif h.up and h.name in self._down:
                self._down.discard(h.name)
            self._check_saturation(h)

    def _check_saturation(self, h: HostSample) -> None:
        """Above 80% CPU on a generator host, k6 and Artillery inflate the latencies they report."""
        if h.role != "generator" or h.cpu_pct is None:
            return
        if h.cpu_pct > SATURATION_PCT and h.name not in self._saturated:
            self._saturated.add(h.name)
            self._bus.publish(ProblemDetected(
                f"generator host {h.name} CPU at {h.cpu_pct:.0f}%: the load tools' latencies are "
                f"inflated above {SATURATION_PCT:.0f}%",
                "add k6 generators on other machines or lower the profile's load"))
        elif h.cpu_pct < SATURATION_PCT - 10:
            self._saturated.discard(h.name)


def _source_text(name: str, hosts: Sequence[HostSpec], prometheus_url: str | None) -> str:
    spec = next((h for h in hosts if h.name == name), None)
    if spec is None:
        return "this machine (psutil)"
    if spec.node_exporter:
        return f"node_exporter {spec.node_exporter}"
    return f"Prometheus {prometheus_url} instance {spec.instance}"


def prometheus_preflight(env: Environment, profile: Profile) -> list[Result]:
    """Preflight items for what this run measures through Prometheus and node_exporter: nothing
    when the environment lists no hosts and the profile runs k6 as one process."""
    needs: list[str] = []
    if any(h.instance for h in env.hosts):
        needs.append("the hosts it measures")
    if profile.k6_script is not None and profile.k6_generators != 1:
        needs.append("merging the k6 generators' results")
    results: list[Result] = []
    if needs:
        if env.prometheus_url is None:
            results.append(("Prometheus reachable", "fail",
                            f"Prometheus is needed for {' and '.join(needs)}, but environment "
                            f"{env.name!r} names none",
                            f'add prometheus_url = "http://HOST:9090" to [environments.{env.name}]'))
        else:
            results.append(check_prometheus(env.prometheus_url, env.name, " and ".join(needs)))
    results += check_node_exporters([(h.name, h.node_exporter) for h in env.hosts
                                     if h.node_exporter is not None], env.name)
    return results
