"""Real Prometheus and node_exporter for the tests, from the Debian packages (scripts/install.sh).

Session fixtures start them on free 127.0.0.1 ports with their data in a temporary directory and
stop them by PID at the end. Two node_exporters with the instance labels `api-1` and `gen-1`
stand for two hosts; a third target, `flaky-1`, has a reserved port that a test starts and stops
its own node_exporter on (a host that stops answering mid-run). Prometheus scrapes every second,
accepts remote write (k6's experimental-prometheus-rw output) and stores native histograms.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from perfdash.net import free_port
from perfdash.prom.client import PromClient, PromError

PROMETHEUS = "prometheus"
NODE_EXPORTER = "prometheus-node-exporter"
COLLECTORS = ("cpu", "meminfo", "loadavg", "netdev")


def _need(binary: str) -> str:
    """The binary's path; missing, the test fails: a skip would let CI go green without testing
    hosts and generators at all."""
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed; scripts/install.sh installs it (the tests of hosts "
                    "and generators need it).", pytrace=False)
    return path


def start_node_exporter(port: int, log: Path) -> subprocess.Popen[bytes]:
    """A node_exporter with only the collectors perfdash reads, on 127.0.0.1:port."""
    argv = [_need(NODE_EXPORTER), f"--web.listen-address=127.0.0.1:{port}",
            "--collector.disable-defaults", *(f"--collector.{c}" for c in COLLECTORS)]
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    _wait_http(f"http://127.0.0.1:{port}/metrics", proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stops one process we started, by its PID."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    from perfdash.net import probe

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        status, _ = probe(url, timeout_s=1)
        if status == 200:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


@dataclass
class PromStack:
    url: str
    client: PromClient
    node_urls: dict[str, str]  # instance label -> node_exporter URL (api-1, gen-1)
    flaky_port: int  # the `flaky-1` target: nothing listens until a test starts it
    tmp: Path

    def wait_up(self, instances: list[str], timeout_s: float = 15.0) -> None:
        """Until Prometheus has scraped every named instance successfully (up == 1)."""
        deadline = time.monotonic() + timeout_s
        want = set(instances)
        while time.monotonic() < deadline:
            try:
                up = {s.labels.get("instance"): s.value for s in self.client.query("up")}
            except PromError:
                up = {}
            if all(up.get(i) == 1.0 for i in want) and "flaky-1" in up and self._scrapes(want) >= 3:
                return
            time.sleep(0.2)
        raise RuntimeError(f"Prometheus never scraped {sorted(want)} successfully")


    def _scrapes(self, instances: set[str]) -> float:
        """The fewest scrapes of the last 15 s among the instances: rates need two or more."""
        sel = "|".join(sorted(instances))
        try:
            return self.client.value(f'min(count_over_time(up{{instance=~"{sel}"}}[15s]))') or 0
        except PromError:
            return 0


@pytest.fixture(scope="session")
def prom_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromStack]:
    prometheus = _need(PROMETHEUS)
    tmp = tmp_path_factory.mktemp("prometheus")
    nodes: list[subprocess.Popen[bytes]] = []
    proc: subprocess.Popen[bytes] | None = None
    try:
        ports = {name: free_port() for name in ("api-1", "gen-1")}
        for name, port in ports.items():
            nodes.append(start_node_exporter(port, tmp / f"node-{name}.log"))
        flaky = free_port()
        targets = [*ports.items(), ("flaky-1", flaky)]
        static = "\n".join(f'      - targets: ["127.0.0.1:{port}"]\n        labels: {{instance: "{n}"}}'
                           for n, port in targets)
        config = tmp / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
                          "scrape_configs:\n  - job_name: node\n    static_configs:\n"
                          f"{static}\n", encoding="utf-8")
        port = free_port()
        argv = [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver",
                "--enable-feature=native-histograms", "--storage.tsdb.retention.time=1d"]
        with (tmp / "prometheus.log").open("ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        _wait_http(url + "/-/ready", proc, 30.0)
        stack = PromStack(url, PromClient(url), {n: f"http://127.0.0.1:{p}" for n, p in ports.items()},
                          flaky, tmp)
        stack.wait_up(list(ports))
        yield stack
    finally:
        if proc is not None:
            stop(proc)
        for node in nodes:
            stop(node)
