"""Hosts measured through node_exporter: two real node_exporters (instance labels api-1 and gen-1)
scraped by a real Prometheus, a third host read directly, and a host whose node_exporter is
stopped mid-run. metrics.csv, hosts.json, the events, the timeline columns, the host pane and
the host checks are all checked on what was really measured."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from perfdash.analyze.host import analyse_host
from perfdash.collect.hostsample import HostsSampled
from perfdash.collect.remote_hosts import RemoteHostsCollector, prometheus_preflight
from perfdash.events import Bus, Event, ProblemDetected
from perfdash.net import free_port
from perfdash.settings import Environment, HostSpec, Profile
from perfdash.timeline.recorder import TimelineRecorder
from perfdash.ui.live.host_pane import host_lines
from perfdash.ui.live.state import LiveState
from tests.conftest import ROOT, DemoService
from tests.prom_fixtures import PromStack, start_node_exporter, stop
from tests.test_e2e_run import run_perfdash


def _profile() -> Profile:
    return Profile("smoke", "", "parallel", Path("k6/x.js"), None, (), (), ())


def _env(hosts: tuple[HostSpec, ...], prometheus_url: str | None) -> Environment:
    return Environment("staging", "", "external", "http://127.0.0.1:1", None, None, None, False,
                       "/health", hosts=hosts, prometheus_url=prometheus_url)


def test_hosts_into_metrics_csv_events_timeline_pane_and_checks(prom_stack: PromStack,
                                                                   tmp_path: Path) -> None:
    flaky = start_node_exporter(prom_stack.flaky_port, tmp_path / "flaky.log")
    direct = start_node_exporter(free_port_holder := free_port(), tmp_path / "direct.log")
    try:
        prom_stack.wait_up(["api-1", "gen-1", "flaky-1"])
        hosts = (
            HostSpec("db-1", "database", instance="flaky-1"),
            HostSpec("api-1", "backend", instance="api-1"),
            HostSpec("gen-1", "generator", instance="gen-1"),
            HostSpec("api-2", "backend", node_exporter=f"http://127.0.0.1:{free_port_holder}"),
        )
        bus = Bus()
        seen: list[Event] = []
        bus.listen(seen.append)
        timeline = TimelineRecorder(bus, tmp_path)
        timeline.start()
        collector = RemoteHostsCollector(bus, tmp_path / "metrics.csv",
                                         sorted(hosts, key=lambda h: h.role != "backend"),
                                         prom_stack.url, interval_s=0.5)
        collector.start()
        time.sleep(3.0)
        stop(flaky)  # the database host stops answering mid-run
        time.sleep(4.0)
        collector.stop()
        timeline.stop()
    finally:
        stop(flaky)
        stop(direct)

    assert collector.error is None
    with (tmp_path / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    assert header[:2] == ["timestamp", "elapsed_s"]
    # backend hosts first, then the others in the order listed; gen-1 is the generator host
    assert [c.removesuffix(".cpu_pct") for c in header if c.endswith(".cpu_pct")] == [
        "api-1", "api-2", "db-1", "gen-1"]
    assert len(rows) >= 10
    for name in ("api-1", "gen-1"):
        assert all(r[f"{name}.up"] == "1" for r in rows)
        assert all(0 < float(r[f"{name}.mem_pct"]) < 100 for r in rows)
        assert all(r[f"{name}.load1"] != "" for r in rows)
    assert all(r["api-2.up"] == "1" for r in rows)
    assert all(r["api-2.cpu_pct"] != "" for r in rows[1:])  # a direct read needs two for a rate
    # db-1 answered, then stopped: up turns 0 and its values go empty (never zeros)
    ups = [r["db-1.up"] for r in rows]
    assert ups[0] == "1"
    assert ups[-1] == "0"
    assert all(r["db-1.cpu_pct"] == "" and r["db-1.mem_pct"] == "" for r in rows if r["db-1.up"] == "0")
    assert "runner.cpu_pct" not in header  # a generator host is listed: no local stand-in

    # (a busy test machine may add a generator-saturation problem: only outages are counted here)
    problems = [e for e in seen if isinstance(e, ProblemDetected) and e.what.startswith("host ")]
    assert [p.what.split(":")[0] for p in problems] == ["host db-1 (database) stopped answering"]
    assert "up=0" in problems[0].what or "no target" in problems[0].what

    samples = [e for e in seen if isinstance(e, HostsSampled)]
    assert [h.name for h in samples[-1].hosts] == ["api-1", "api-2", "db-1", "gen-1"]

    # the timeline's host columns follow the first backend host (api-1)
    with (tmp_path / "timeline.csv").open(newline="") as f:
        trows = list(csv.DictReader(f))
    assert any(r["cpu_pct"] and r["mem_pct"] for r in trows)

    # the host pane: one row per host, the stopped one says so
    state = LiveState(clock=time.monotonic)
    state.apply([samples[-1]])
    lines = [line.plain for line in host_lines(state.host, 80, 10)]
    assert [ln.split()[0] for ln in lines] == ["api-1", "api-2", "db-1", "gen-1"]
    assert "not answering" in lines[2]
    assert "CPU" in lines[0]
    assert "mem" in lines[0]

    checks = {c.id: c for c in analyse_host(tmp_path / "metrics.csv", _profile())}
    assert checks["host.api-1.cpu"].status in ("pass", "warn")
    assert checks["host.api-1.memory"].status == "pass"
    assert checks["host.api-2.cpu"].status in ("pass", "warn")
    assert checks["host.gen-1.saturation"].name == "Generator host gen-1 CPU (generator saturation)"
    assert checks["host.db-1.cpu"].status == "not measured"
    assert checks["host.db-1.memory"].status == "not measured"
    assert "did not answer" in (checks["host.db-1.cpu"].detail or "")
    assert "host.cpu" not in checks  # no single-machine verdict when hosts are listed


def test_runner_stands_in_as_generator_host(prom_stack: PromStack, tmp_path: Path) -> None:
    bus = Bus()
    collector = RemoteHostsCollector(bus, tmp_path / "metrics.csv",
                                     [HostSpec("api-1", "backend", instance="api-1")],
                                     prom_stack.url, interval_s=0.3)
    collector.start()
    time.sleep(1.5)
    collector.stop()
    checks = {c.id: c for c in analyse_host(tmp_path / "metrics.csv", _profile())}
    assert checks["host.runner.saturation"].status in ("pass", "warn")
    assert checks["host.api-1.cpu"].status in ("pass", "warn")


def test_preflight_prometheus_unreachable_is_one_sentence_with_the_fix() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = _env((HostSpec("api-1", "backend", instance="api-1"),), url)
    [(name, status, detail, fix)] = prometheus_preflight(env, _profile())
    assert (name, status) == ("Prometheus reachable", "fail")
    assert detail.startswith(f"Prometheus is needed for the hosts it measures, but nothing answers "
                             f"at {url}")
    assert detail.count(". ") == 0
    assert fix == f"start Prometheus at {url} or fix prometheus_url of [environments.staging]"


def test_preflight_passes_and_warns(prom_stack: PromStack) -> None:
    env = _env((HostSpec("api-1", "backend", instance="api-1"),
                HostSpec("api-2", "backend", node_exporter=f"http://127.0.0.1:{free_port()}")),
               prom_stack.url)
    results = prometheus_preflight(env, _profile())
    assert [(r[0], r[1]) for r in results] == [("Prometheus reachable", "pass"),
                                               ("host api-2 measured", "warn")]
    assert "will be not measured" in results[1][2]


def test_without_hosts_nothing_changes() -> None:
    assert prometheus_preflight(_env((), None), _profile()) == []


def test_run_stops_in_preflight_when_prometheus_is_unreachable(demo_service: DemoService,
                                                                tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    script = ROOT / "perfdash" / "demo" / "project" / "k6" / "demo-api.js"
    (tmp_path / "profiles.toml").write_text(f'''
[profiles.p.k6]
script = "{script}"
stages = [{{ duration = "2s", target = 1 }}]
[environments.staging]
kind = "external"
prometheus_url = "{url}"
[environments.staging.hosts]
api-1 = {{ role = "backend", instance = "api-1:9100" }}
''', encoding="utf-8")
    result = run_perfdash(["run", "--profile", "p", "--env", "staging", "--headless",
                           "--project", str(tmp_path)], tmp_path / "res",
                          env={"PERF_BASE_URL": demo_service.base_url,
                               "PERF_API_TOKEN": demo_service.token.reveal()})
    assert result.code == 3, result.stdout[-2000:]
    preflight = {r["name"]: r for r in result.json("preflight.json")}
    item = preflight["Prometheus reachable"]
    assert item["status"] == "fail"
    assert item["detail"].startswith("Prometheus is needed for the hosts it measures, but nothing "
                                     f"answers at {url}")
    assert item["fix"] == f"start Prometheus at {url} or fix prometheus_url of [environments.staging]"
    assert f"nothing answers at {url}" in result.stdout
    assert not (result.run_dir / "metrics.csv").exists()  # no load was started
