"""A collector is its module plus one registry line (issue 25): a collector registered here, and
nowhere else, is started, stopped and finished by `perfdash run` and by `perfdash watch` alike,
through the one lifecycle both share (perfdash.session.collectors).

Fast tier: the run drives stand-in load tools (a short Python child, as in test_tool_phases)
against a loopback HTTP server; the watch follows nothing but the host.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from perfdash.analyze.summary import RunRecord
from perfdash.artifacts import RunPaths, new_run_dir
from perfdash.collect import registry
from perfdash.collect.base import Collector, RunNotes, Setup
from perfdash.collect.database import DatabaseSampler
from perfdash.collect.health import BackendWatcher
from perfdash.collect.log_set import LogSet
from perfdash.collect.remote_hosts import RemoteHostsCollector
from perfdash.collect.system import SystemCollector
from perfdash.events import Bus, Event, PhaseChanged
from perfdash.follow.observe import Observer
from perfdash.net import free_port
from perfdash.run import before_load, tool_runs
from perfdash.run import orchestrator as orchestrator_module
from perfdash.run import preflight as preflight_module
from perfdash.run.orchestrator import Orchestrator
from perfdash.secret import Secret
from perfdash.session.collectors import CollectorSession
from perfdash.settings import HostSpec, LogSpec, load_settings
from perfdash.timeline.columns import NAMES, host_columns
from perfdash.timeline.recorder import TimelineRecorder
from perfdash.tools.base import ToolPlan

from .conftest import ROOT
from .test_tool_phases import _StandIn

ARTIFACT = "tally.json"


class Tally:
    """The smallest collector there is: notes the events it sees while it runs and writes them
    at the end."""

    name = "tally"
    columns: tuple[str, ...] = ()

    def __init__(self, setup: Setup, calls: list[str]) -> None:
        self._calls = calls
        self._running = False
        self.seen: list[str] = []
        setup.bus.listen(self._seen)

    def _seen(self, event: Event) -> None:
        if self._running:
            self.seen.append(type(event).__name__)

    def start(self) -> None:
        self._calls.append("start")
        self._running = True

    def stop(self) -> None:
        self._calls.append("stop")
        self._running = False

    def finish(self, run_dir: Path, record: RunNotes) -> None:
        self._calls.append("finish")
        (run_dir / ARTIFACT).write_text(json.dumps({"seen": self.seen}))
        record.not_measured["tally"] = "written by the tally collector"


@pytest.fixture
def tally() -> Iterator[list[str]]:
    """The one registry line of the Tally collector; taken out again after the test."""
    calls: list[str] = []
    unregister = registry.register("tally", lambda setup: Tally(setup, calls))
    try:
        yield calls
    finally:
        unregister()
    assert "tally" not in {e.name for e in registry.entries()}


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def backend() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


RUN_CONFIG = """
[profiles.tiny]
description = "a stand-in tool for a second"
[profiles.tiny.k6]
script = "{script}"

[environments.plain]
kind = "external"
base_url = "{url}"
"""


def test_a_registered_collector_runs_through_a_whole_run(
        tally: list[str], backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "script.js"
    script.write_text("export default function () {}\n")
    config = tmp_path / "profiles.toml"
    config.write_text(RUN_CONFIG.format(script=script, url=backend))
    settings = replace(load_settings(tmp_path, config), results_dir=tmp_path / "results")
    stand_in = _StandIn("k6", "k6", [], ToolPlan(0.3))
    for module in (orchestrator_module, before_load, tool_runs, preflight_module):
        monkeypatch.setattr(module, "tools_for", lambda profile: [stand_in])
    monkeypatch.delenv("PERF_DATABASE_URL", raising=False)
    orch = Orchestrator(settings, settings.profile("tiny"), settings.environment("plain"), Bus(),
                        env_file=tmp_path / ".env.performance")
    outcome = orch.run()
    assert tally == ["start", "stop", "finish"], outcome.summary["problems"]
    seen = json.loads((outcome.paths.root / ARTIFACT).read_text())["seen"]
    # running over the whole load: started after its phase began, stopped before the analysis
    assert "ToolStarted" in seen
    assert "ToolExited" in seen
    assert "PhaseChanged" not in seen
    assert outcome.summary["run"]["not_measured"]["tally"] == "written by the tally collector"
    # the built-in collectors went through the same lifecycle
    assert outcome.summary["health"]["polls"] >= 1
    assert (outcome.paths.root / "metrics.csv").is_file()
    assert (outcome.paths.root / "timeline.csv").is_file()


def test_a_registered_collector_runs_through_a_whole_watch(tally: list[str], tmp_path: Path) -> None:
    settings = replace(load_settings(ROOT), results_dir=tmp_path / "results")
    env = replace(settings.environment("local"), database_url=None)
    bus = Bus()
    observer = Observer(settings, env, bus, k6_api=f"127.0.0.1:{free_port()}")
    bus.listen(lambda e: observer.request_stop()
               if isinstance(e, PhaseChanged) and e.phase == "load" else None)
    outcome = observer.run(seconds=10)
    assert tally == ["start", "stop", "finish"]
    seen = json.loads((outcome.paths.root / ARTIFACT).read_text())["seen"]
    assert "PhaseChanged" not in seen, "started after the load phase, stopped before the analysis"
    assert outcome.summary["run"]["not_measured"]["tally"] == "written by the tally collector"
    assert (outcome.paths.root / "timeline.csv").is_file()


def _setup(tmp_path: Path, **changes: object) -> tuple[Setup, RunPaths]:
    settings = load_settings(ROOT)
    paths = new_run_dir(tmp_path / "results", "x")
    setup = Setup(Bus(), paths, settings.environment("local"), "http://127.0.0.1:9", None)
    return replace(setup, **changes), paths  # type: ignore[arg-type]


def test_each_built_in_is_built_only_where_it_has_something_to_measure(tmp_path: Path) -> None:
    def built(setup: Setup) -> list[str]:
        return sorted(type(c).__name__ for e in registry.entries()
                      if (c := e.build(setup)) is not None)

    bare, _ = _setup(tmp_path)
    assert built(bare) == ["SystemCollector"]
    assert built(replace(bare, measure_host=False)) == []
    full = replace(bare, database_url=Secret("postgresql://u:p@127.0.0.1:9/db"),
                   logs=(LogSpec(tmp_path / "app.log", "app"),), health_url="http://127.0.0.1:9/")
    assert built(full) == ["BackendWatcher", "DatabaseSampler", "LogSet", "SystemCollector"]
    hosts = replace(bare, env=replace(bare.env, hosts=(
        HostSpec("api-1", "backend", node_exporter="127.0.0.1:9"),)))
    assert built(hosts) == ["RemoteHostsCollector"]


def test_the_columns_a_collector_owns_are_timeline_columns_and_owned_once(tmp_path: Path) -> None:
    setup, paths = _setup(tmp_path)
    url = Secret("postgresql://u:p@127.0.0.1:9/db")
    owners: list[Collector] = [SystemCollector(setup.bus, paths.metrics_csv), LogSet(setup.bus, ()),
              DatabaseSampler(setup.bus, url, paths.db_connections),
              BackendWatcher(setup.bus, "http://127.0.0.1:9/")]
    owned = [c for o in owners for c in o.columns]
    assert len(owned) == len(set(owned)), "no column has two owners"
    assert set(owned) <= set(NAMES)
    remote = RemoteHostsCollector(setup.bus, paths.metrics_csv, (
        HostSpec("api-1", "backend", node_exporter="127.0.0.1:9"),), None)
    assert remote.columns == ("cpu_pct", "mem_pct", "load1", *host_columns(["api-1", "runner"]))


def test_a_name_is_registered_once(tally: list[str]) -> None:
    with pytest.raises(ValueError, match="registered already"):
        registry.register("tally", lambda setup: None)


class _Broken(Tally):
    name = "broken"

    def stop(self) -> None:
        raise RuntimeError("stuck")

    def finish(self, run_dir: Path, record: RunNotes) -> None:
        raise OSError(28, "No space left on device")


def test_a_collector_that_fails_costs_the_others_nothing(tmp_path: Path) -> None:
    setup, paths = _setup(tmp_path, measure_host=False)
    calls: list[str] = []
    unregister = registry.register("broken", lambda s: _Broken(s, calls))
    unregister_tally = registry.register("tally", lambda s: Tally(s, calls))
    record = RunRecord(started_at=datetime.now(UTC))
    logged: list[str] = []
    session = CollectorSession()
    try:
        session.start(setup)
        assert isinstance(session.find(TimelineRecorder), TimelineRecorder)
        session.stop(paths.root, record, logged.append)
    finally:
        unregister()
        unregister_tally()
    assert calls == ["start", "start", "stop", "finish"], "the tally stopped and finished anyway"
    assert (paths.root / ARTIFACT).is_file()
    whats = [p["what"] for p in record.problems]
    assert "stopping collector broken failed: RuntimeError: stuck" in whats
    assert any(w.startswith("the finish of collector broken failed: OSError") for w in whats)
    assert any("Traceback" in line for line in logged)
    session.stop(paths.root, record, logged.append)  # a second stop finds nothing to do
    assert calls.count("finish") == 1


def test_an_endpoints_file_that_cannot_be_written_is_a_problem_for_run_and_watch(
        tmp_path: Path) -> None:
    """The copy of this handling that watch lacked: now one, in LogSet.finish."""
    log = tmp_path / "access.log"
    log.write_text("")
    logs = LogSet(Bus(), [LogSpec(log, "access")], batch_interval_s=0.05)
    logs.start()
    logs.stop()
    record = RunRecord(started_at=datetime.now(UTC))
    logs.finish(tmp_path / "missing-dir", record)
    assert record.app_log is not None
    assert record.app_log["lines"] == 0
    assert [p["what"] for p in record.problems] == [
        "cannot write applog-endpoints.json: No such file or directory"]

