"""The Prometheus client and the node_exporter readings against real processes."""

from __future__ import annotations

import pytest

from perfdash.net import free_port
from perfdash.prom.client import PromClient, PromError
from perfdash.prom.node import NodeExporterHost, PromHosts
from tests.prom_fixtures import PromStack


def test_prometheus_answers_and_scrapes_both_hosts(prom_stack: PromStack) -> None:
    assert prom_stack.client.ready() is None
    up = {s.labels["instance"]: s.value for s in prom_stack.client.query("up")}
    assert up["api-1"] == 1.0
    assert up["gen-1"] == 1.0
    assert up["flaky-1"] == 0.0  # nothing listens there until a test starts it


def test_unreachable_prometheus_is_one_sentence() -> None:
    client = PromClient(f"http://127.0.0.1:{free_port()}", timeout_s=1)
    problem = client.ready()
    assert problem is not None
    assert problem.startswith("nothing answers at http://127.0.0.1:")
    with pytest.raises(PromError, match="nothing answers"):
        client.query("up")


def test_bad_query_names_the_error(prom_stack: PromStack) -> None:
    with pytest.raises(PromError, match="answered 400"):
        prom_stack.client.query("sum(")


def test_hosts_through_prometheus(prom_stack: PromStack) -> None:
    hosts = PromHosts(prom_stack.client, [("api-1", "backend", "api-1"),
                                          ("gen-1", "generator", "gen-1"),
                                          ("flaky-1", "database", "flaky-1"),
                                          ("nowhere", "backend", "nowhere:9100")])
    # irate needs two scrapes of the CPU counters: at most a couple of seconds after start-up
    samples = hosts.sample()
    by = {s.name: s for s in samples}
    for name in ("api-1", "gen-1"):
        s = by[name]
        assert s.up, s.problem
        assert s.mem_pct is not None
        assert 0 < s.mem_pct < 100
        assert s.mem_used_mb is not None
        assert s.mem_used_mb > 0
        assert s.load1 is not None
        assert s.load1 >= 0
        assert s.cpu_pct is not None
        assert 0 <= s.cpu_pct <= 100
        assert s.net_rx_kbps is not None
        assert s.net_rx_kbps >= 0
    assert not by["flaky-1"].up
    assert by["flaky-1"].cpu_pct is None
    assert "up=0" in (by["flaky-1"].problem or "")
    assert not by["nowhere"].up
    assert "no target with instance='nowhere:9100'" in (by["nowhere"].problem or "")


def test_hosts_through_unreachable_prometheus_are_down() -> None:
    hosts = PromHosts(PromClient(f"http://127.0.0.1:{free_port()}", timeout_s=1),
                      [("api-1", "backend", "api-1")])
    [s] = hosts.sample()
    assert not s.up
    assert s.cpu_pct is None
    assert "nothing answers" in (s.problem or "")


def test_node_exporter_read_directly(prom_stack: PromStack) -> None:
    host = NodeExporterHost("api-1", "backend", prom_stack.node_urls["api-1"])
    first = host.sample()
    assert first.up
    assert first.cpu_pct is None  # a rate needs two reads
    assert first.mem_pct is not None
    assert 0 < first.mem_pct < 100
    import time
    time.sleep(0.5)
    second = host.sample()
    assert second.cpu_pct is not None
    assert 0 <= second.cpu_pct <= 100
    assert second.net_tx_kbps is not None
    assert second.net_tx_kbps >= 0
    gone = NodeExporterHost("x", "backend", f"http://127.0.0.1:{free_port()}")
    down = gone.sample()
    assert not down.up
    assert down.mem_pct is None
    assert "does not answer" in (down.problem or "")


def test_an_idle_host_reads_zero_cpu_not_a_rounding_error_below_it() -> None:
    """All of the interval idle: `1 - idle/total` comes out a hair under zero in floating point."""
    from perfdash.prom.exposition import NodeCounters

    reads = iter([(0.1, 0.2), (0.2, 0.3)])  # idle and total both grow by "0.1"

    class Scripted(NodeExporterHost):
        def read(self) -> NodeCounters:
            idle, total = next(reads)
            return NodeCounters(idle, total, 8e9, 4e9, (0.0, 0.0, 0.0), 0.0, 0.0)

    assert 1 - (0.2 - 0.1) / (0.3 - 0.2) < 0  # the rounding the host must absorb
    host = Scripted("api-1", "backend", "http://127.0.0.1:9/")
    host.sample()
    assert host.sample().cpu_pct == 0.0
