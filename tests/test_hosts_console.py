"""The headless console with hosts measured through node_exporter: one compact line per host,
backend hosts first, and "not answering" for a host whose node_exporter stopped. Real Prometheus
and node_exporters feed a real collector; the console and the live screen's state consume the
same bus, and must show the same hosts in the same order with the same up/down state."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from rich.console import Console

import perfdash.console
from perfdash.collect.hostsample import HostsSampled
from perfdash.collect.remote_hosts import RemoteHostsCollector
from perfdash.console import HeadlessConsole, host_line
from perfdash.events import Bus, Event, PhaseChanged
from perfdash.net import free_port
from perfdash.prom.node import HostSample
from perfdash.settings import HostSpec
from perfdash.ui.live.host_pane import host_lines
from perfdash.ui.live.state import LiveState
from tests.prom_fixtures import PromStack, start_node_exporter, stop


def test_console_and_host_pane_show_every_host_backend_first(
        prom_stack: PromStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(perfdash.console, "PLAIN_EVERY_S", 0.4)
    port = free_port()
    direct = start_node_exporter(port, tmp_path / "api-2.log")
    hosts = (HostSpec("api-1", "backend", instance="api-1"),
             HostSpec("api-2", "backend", node_exporter=f"http://127.0.0.1:{port}"),
             HostSpec("gen-1", "generator", instance="gen-1"))
    bus = Bus()
    out = io.StringIO()
    console = HeadlessConsole(bus, Console(file=out, force_terminal=False, width=200))
    state = LiveState(clock=time.monotonic)
    events: list[Event] = []
    bus.listen(events.append)
    collector = RemoteHostsCollector(bus, tmp_path / "metrics.csv", hosts, prom_stack.url,
                                     interval_s=0.4)
    try:
        console.start()
        bus.publish(PhaseChanged("load", "parallel"))
        collector.start()
        time.sleep(1.6)
        up_lines = out.getvalue().splitlines()
        stop(direct)  # api-2 stops answering
        time.sleep(1.6)
    finally:
        collector.stop()
        console.stop()
        stop(direct)
    state.apply(events)
    last = next(e for e in reversed(events) if isinstance(e, HostsSampled))

    # plain (CI) mode: one line per host, backend first, while every host answered
    before = [ln for ln in up_lines if "host api-" in ln or "host gen-" in ln]
    assert len(before) >= 3, out.getvalue()
    block = [ln.split(" host ", 1)[1] for ln in before[-3:]]
    assert [b.split(" ", 1)[0] for b in block] == ["api-1", "api-2", "gen-1"], block
    assert all("CPU " in b and "mem " in b for b in block), block
    assert block[0].startswith("api-1 backend  CPU ")
    assert block[2].startswith("gen-1 generator  CPU ")
    # after api-2's node_exporter stopped: it says so, the others keep their figures
    after = [ln.split(" host ", 1)[1] for ln in out.getvalue().splitlines()
             if " host api-2 " in ln]
    assert "not answering" in after[-1], after
    assert "does not answer" in after[-1]
    assert any("host api-2 (backend) stopped answering" in ln
               for ln in out.getvalue().splitlines()), "the problem is printed as it happens"

    # the live screen folded the same events: same hosts, same order, same up/down state
    assert state.host is not None
    assert [(h.name, h.up) for h in state.host.hosts] == [(h.name, h.up) for h in last.hosts]
    assert [(h.name, h.up) for h in last.hosts] == [("api-1", True), ("api-2", False),
                                                    ("gen-1", True)]
    pane = [line.plain for line in host_lines(state.host, 80, 10)]
    assert [p.split()[0] for p in pane] == ["api-1", "api-2", "gen-1"]
    assert "not answering" in pane[1]
    assert "CPU" in pane[0]
    assert [host_line(h).split()[0] for h in last.hosts] == ["api-1", "api-2", "gen-1"]

    # terminal mode: the same hosts as rows of the live status
    rendered = io.StringIO()
    Console(file=rendered, width=160).print(console._status())
    text = rendered.getvalue()
    assert text.index("api-1") < text.index("api-2") < text.index("gen-1")
    assert "backend  not answering" in text


def test_host_line_never_shows_zero_for_a_missing_figure() -> None:
    h = HostSample("db-1", "database", True, cpu_pct=None, mem_pct=41.6)
    assert host_line(h) == "db-1 database  CPU —  mem 42%"
    down = HostSample("db-1", "database", False, problem="connection refused")
    assert host_line(down) == "db-1 database  not answering (connection refused)"
