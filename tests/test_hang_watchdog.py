"""A tool far past its planned duration is hanging (Artillery on a Socket.IO endpoint that never
answers): the orchestrator stops it, says why and how to fix it, and marks it not measured.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from perfdash.analyze.summary import RunRecord
from perfdash.events import Bus, ProblemDetected
from perfdash.launch import LaunchRequest
from perfdash.proc.supervisor import Supervisor
from perfdash.run.orchestrator import Orchestrator
from perfdash.run.recording import RunLog
from perfdash.run.tool_runs import Launch, stop_if_hung
from perfdash.settings import load_settings
from perfdash.tools import tool

from .conftest import ROOT


def test_a_tool_far_past_its_plan_is_stopped_and_explained(tmp_path: Path) -> None:
    settings = load_settings(ROOT)
    bus = Bus()
    sub = bus.subscribe()
    orch = Orchestrator(settings, settings.profile("smoke"), settings.environment("demo"), bus,
                        env_file=tmp_path / ".env.performance")
    supervisor = Supervisor()
    child = supervisor.start(LaunchRequest(
        "artillery", [sys.executable, "-c", "import time; time.sleep(120)"], tmp_path,
        tmp_path / "a.out", tmp_path / "a.err"))
    record = RunRecord(started_at=datetime.now(UTC))
    log = RunLog(tmp_path / "perfdash.log", [], None)
    # Planned to end long ago: past the grace period already.
    launch = Launch(tool("artillery"), child.request, planned_s=-120.0)
    try:
        stop_if_hung(orch.context(supervisor), child, launch, record, log)
        assert child.poll() is not None, "the hung tool was stopped"
        assert record.not_measured["artillery"].startswith("artillery was still running")
        assert record.problems[0]["fix"] == tool("artillery").hang_hint
        problems = [e for e in sub.drain() if isinstance(e, ProblemDetected)]
        assert problems
        assert problems[0].severity == "error"
    finally:
        supervisor.stop_all()


def test_a_tool_within_its_plan_is_left_alone(tmp_path: Path) -> None:
    settings = load_settings(ROOT)
    orch = Orchestrator(settings, settings.profile("smoke"), settings.environment("demo"), Bus(),
                        env_file=tmp_path / ".env.performance")
    supervisor = Supervisor()
    child = supervisor.start(LaunchRequest(
        "k6", [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path,
        tmp_path / "k.out", tmp_path / "k.err"))
    record = RunRecord(started_at=datetime.now(UTC))
    try:
        stop_if_hung(orch.context(supervisor), child, Launch(tool("k6"), child.request, 20.0),
                     record, RunLog(tmp_path / "perfdash.log", [], None))
        assert child.poll() is None
        assert record.problems == []
    finally:
        supervisor.stop_all()
