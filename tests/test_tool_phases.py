"""Sequential and single-tool runs told truly (issue 24): each tool's phase is timed from its own
process start, the run declares its tools and its real planned load, and a k6 script without load
options plans one iteration, not the 10 minutes k6 allows it.

Fast tier: no k6, no Artillery. The tools the orchestrator drives here are stand-ins that start a
short Python child, so the orchestrator's sequencing is what is under test, not a tool.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from perfdash.analyze.summary import RunRecord
from perfdash.artifacts import new_run_dir
from perfdash.collect.background import Background
from perfdash.console import HeadlessConsole
from perfdash.events import (
    Bus,
    Event,
    ProblemDetected,
    RunStarted,
    ToolExited,
    ToolProgressed,
    ToolStarted,
    to_record,
)
from perfdash.follow.records import event_from_line
from perfdash.launch import LaunchRequest
from perfdash.proc.supervisor import Supervisor
from perfdash.run import before_load, tool_runs
from perfdash.run import orchestrator as orchestrator_module
from perfdash.run import preflight as preflight_module
from perfdash.run.finish import stop_collectors
from perfdash.run.load_plan import load_plan
from perfdash.run.orchestrator import Orchestrator
from perfdash.run.recording import EventRecorder, RunLog
from perfdash.run.run_context import RunContext, RunState
from perfdash.run.tool_runs import Launch
from perfdash.settings import Profile, load_settings
from perfdash.tools import tool
from perfdash.tools.artillery.progress import SILENT_WARNING_S, ArtilleryProgressTail
from perfdash.tools.base import ExitMeaning, LaunchContext, Target, ToolLocation, ToolPlan
from perfdash.tools.k6.plan import planned_load
from tests import tool_progress

from .conftest import ROOT


@dataclass
class FakeClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------ Artillery's silence clock


def _problems(events: list[Event]) -> list[ProblemDetected]:
    return [e for e in events if isinstance(e, ProblemDetected)]


def test_no_silence_problem_while_artillery_waits_for_k6(tmp_path: Path) -> None:
    clock = FakeClock()
    bus = Bus()
    sub = bus.subscribe()
    tail = ArtilleryProgressTail(bus, tmp_path / "artillery-progress.ndjson", 30.0,
                                 interval_s=3600, clock=clock)
    clock.now = 45.0  # k6's phase of a sequential profile: Artillery has not started
    tail.poll()
    assert _problems(sub.drain()) == []
    tail.start()  # Artillery's process starts now
    try:
        clock.now = 45.0 + SILENT_WARNING_S - 1
        tail.poll()
        assert _problems(sub.drain()) == [], "silent for less than the limit since its start"
        clock.now = 45.0 + SILENT_WARNING_S + 5
        tail.poll()
        tail.poll()
        problems = _problems(sub.drain())
        assert len(problems) == 1, "warned once"
        assert f"after {SILENT_WARNING_S + 5:.0f} s" in problems[0].what
    finally:
        tail.stop()


def test_artillery_elapsed_counts_from_its_own_start(tmp_path: Path) -> None:
    clock = FakeClock(100.0)
    bus = Bus()
    sub = bus.subscribe()
    path = tmp_path / "artillery-progress.ndjson"
    tail = ArtilleryProgressTail(bus, path, 30.0, interval_s=3600, clock=clock)
    clock.now = 131.0  # k6 ran for 31 s first
    tail.start()
    try:
        clock.now = 148.0
        path.write_text(json.dumps({"type": "intermediate", "counters": {"vusers.created": 4},
                                    "rates": {"http.request_rate": 2}}) + "\n")
        tail.poll()
        [progress] = [e for e in sub.drain() if isinstance(e, ToolProgressed)]
        assert progress.tool == "artillery"
        assert progress.get("vusers_created") == 4
        assert progress.elapsed_s == pytest.approx(17.0)
        assert progress.planned_s == 30.0
    finally:
        tail.stop()


# ------------------------------------------------------------------ k6's plan

# `k6 inspect --execution-requirements` of a script with no options (k6 1.1): its default scenario,
# and the 10 minutes (plus graceful stop) k6 allows it.
NO_OPTIONS = {"vus": None, "duration": None, "iterations": None, "stages": None,
              "scenarios": {"default": {"executor": "per-vu-iterations", "startTime": None,
                                        "vus": None, "iterations": None, "maxDuration": None}},
              "totalDuration": "10m30s", "maxVUs": 1}


def _profile(**changes: Any) -> Profile:
    return replace(load_settings(ROOT).profile("smoke"), **changes)


def test_a_k6_script_without_load_options_plans_one_iteration() -> None:
    seconds, iterations = planned_load(NO_OPTIONS, _profile(k6_stages=()))
    assert (seconds, iterations) == (0.0, 1)
    plan = ToolPlan(seconds, iterations=iterations, limit_s=630.0)
    assert plan.describe() == "1 iteration"


@pytest.mark.parametrize(("options", "expected"), [
    ({"scenarios": {"default": {"executor": "shared-iterations", "vus": 2, "iterations": 10}},
      "totalDuration": "10m30s"}, (0.0, 10)),
    ({"duration": "30s", "scenarios": {"default": {"executor": "constant-vus", "vus": 2,
                                                   "duration": "30s"}}}, (30.0, 0)),
    ({"scenarios": {
        "a": {"executor": "per-vu-iterations", "vus": 3, "iterations": 4, "maxDuration": "1m0s"},
        "b": {"executor": "constant-arrival-rate", "duration": "20s", "startTime": "5s"}}},
     (25.0, 12)),
    ({"scenarios": {"default": {"executor": "ramping-vus",
                                "stages": [{"duration": "10s"}, {"duration": "20s"}]}}},
     (30.0, 0)),
])
def test_k6_plans_time_and_iterations_apart(options: dict[str, Any],
                                            expected: tuple[float, int]) -> None:
    assert planned_load(options, _profile(k6_stages=())) == expected


def test_profile_stages_are_the_k6_plan() -> None:
    profile = _profile()
    assert planned_load(NO_OPTIONS, profile) == (profile.k6_seconds, 0)


def test_an_iteration_plan_is_waited_for_up_to_k6s_own_limit(tmp_path: Path) -> None:
    request = LaunchRequest("k6", [sys.executable], tmp_path, tmp_path / "o", tmp_path / "e")
    launch = Launch(tool("k6"), request, 0.0, limit_s=630.0)
    assert launch.deadline_s == 630.0
    assert Launch(tool("k6"), request, 20.0).deadline_s == 20.0


# ------------------------------------------------------------------ the run's planned load


def test_sequential_adds_the_phases_and_parallel_takes_the_longest() -> None:
    k6, art = ToolPlan(15.0), ToolPlan(30.0)
    seq = load_plan("sequential", [("k6", k6), ("Artillery", art)])
    assert seq.seconds == 45.0
    assert seq.words() == "about 45 s of load (k6 about 15 s, then Artillery about 30 s)"
    par = load_plan("parallel", [("k6", k6), ("Artillery", art)])
    assert par.seconds == 30.0
    assert par.words() == "about 30 s of load (k6 about 15 s alongside Artillery about 30 s)"


def test_one_k6_iteration_then_artillery() -> None:
    plan = load_plan("sequential", [("k6", ToolPlan(0.0, iterations=1)), ("Artillery",
                                                                          ToolPlan(30.0))])
    assert plan.words() == ("about 30 s and 1 iteration of load "
                            "(k6 1 iteration, then Artillery about 30 s)")
    assert load_plan("parallel", [("k6", ToolPlan(0.0, iterations=1))]).words() == \
        "1 iteration of load"


def test_a_plan_preflight_will_refuse_is_no_length() -> None:
    rejected = ToolPlan(0.0, problem="k6 rejects it", fix="fix it")
    plan = load_plan("sequential", [("k6", rejected), ("Artillery", ToolPlan(30.0))])
    assert plan.words() == "about 30 s of load (k6 length unknown, then Artillery about 30 s)"
    assert load_plan("parallel", [("k6", rejected)]).words() == "load length unknown"


# ------------------------------------------------------------------ the orchestrator


class _Follower(Background):
    def __init__(self, name: str, order: list[tuple[str, str]]) -> None:
        super().__init__(f"fake-{name}")
        self._name, self._order = name, order

    def start(self) -> None:
        self._order.append(("follower", self._name))
        super().start()

    def _run(self) -> None:
        self._stopping.wait()


class _StandIn:
    """A load tool that runs a short Python child: the orchestrator's side of the seam only."""

    hang_hint = "n/a"
    figure_specs = ()
    timeline_columns = ()

    def __init__(self, name: str, label: str, order: list[tuple[str, str]], plan: ToolPlan) -> None:
        self.name, self.label, self._order, self._plan = name, label, order, plan

    def configured(self, profile: Profile) -> bool:
        return True

    def locate(self, env: object, project_dir: Path) -> ToolLocation:
        return ToolLocation(self.name, Path(sys.executable), "1", None, None)

    def plan(self, binary: Path, profile: Profile, project_dir: Path, run_dir: Path,
             target: Target) -> ToolPlan:
        return self._plan

    def request(self, ctx: LaunchContext) -> LaunchRequest:
        return LaunchRequest(self.name, [sys.executable, "-c", "import time; time.sleep(0.3)"],
                             ctx.run_dir, ctx.run_dir / f"{self.name}.out",
                             ctx.run_dir / f"{self.name}.err")

    def progress(self, bus: Bus, run_dir: Path, profile: Profile, planned_s: float,
                 request: LaunchRequest) -> Background:
        return _Follower(self.name, self._order)

    def explain_exit(self, code: int) -> ExitMeaning:
        return ExitMeaning("finished", None)


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> tuple[list[_StandIn], list[tuple[str, str]]]:
    order: list[tuple[str, str]] = []
    tools = [_StandIn("k6", "k6", order, ToolPlan(15.0)),
             _StandIn("artillery", "Artillery", order, ToolPlan(30.0))]
    for module in (orchestrator_module, before_load, tool_runs, preflight_module):
        monkeypatch.setattr(module, "tools_for", lambda profile: tools)
    return tools, order


def _orchestrator(tmp_path: Path, mode: str) -> tuple[RunContext, RunState, Bus]:
    settings = replace(load_settings(ROOT), results_dir=tmp_path / "results")
    bus = Bus()
    orch = Orchestrator(settings, _profile(mode=mode), settings.environment("demo"), bus,
                        env_file=tmp_path / ".env.performance")
    paths = new_run_dir(settings.results_dir, "smoke")
    st = RunState(paths, RunRecord(started_at=datetime.now(UTC)),
                   RunLog(paths.perfdash_log, [], None), EventRecorder(paths.events, []),
                   Target("http://127.0.0.1:9", None, None))
    return orch.context(Supervisor()), st, bus


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_each_tool_and_its_follower_start_with_its_own_process(
        tmp_path: Path, stand_ins: tuple[list[_StandIn], list[tuple[str, str]]],
        mode: str) -> None:
    tools, order = stand_ins
    ctx, st, bus = _orchestrator(tmp_path, mode)
    bus.listen(lambda e: order.append((type(e).__name__, e.tool))
               if isinstance(e, ToolStarted | ToolExited) else None)
    st.plans = {t.name: (t.locate(None, tmp_path), t._plan) for t in tools}
    try:
        tool_runs.run_tools(ctx, st)
    finally:
        stop_collectors(st)
        ctx.supervisor.stop_all()
        st.recorder.close()
    if mode == "sequential":
        assert order == [("ToolStarted", "k6"), ("follower", "k6"), ("ToolExited", "k6"),
                         ("ToolStarted", "artillery"), ("follower", "artillery"),
                         ("ToolExited", "artillery")]
    else:
        assert order[:4] == [("ToolStarted", "k6"), ("follower", "k6"),
                             ("ToolStarted", "artillery"), ("follower", "artillery")]


def test_the_first_line_gives_the_real_planned_load_and_the_tools(
        tmp_path: Path, stand_ins: tuple[list[_StandIn], list[tuple[str, str]]]) -> None:
    ctx, st, bus = _orchestrator(tmp_path, "sequential")
    out = io.StringIO()
    console = HeadlessConsole(bus, Console(file=out, width=200, force_terminal=False))
    console.start()
    try:
        started = before_load.run_started(ctx, st)
        bus.publish(started)
    finally:
        console.stop()
        st.recorder.close()
    assert started.tools == ("k6", "artillery")
    assert started.mode == "sequential"
    assert started.planned_seconds == 45.0
    first = out.getvalue().splitlines()[0]
    assert ("profile smoke, environment demo, sequential, about 45 s of load "
            "(k6 about 15 s, then Artillery about 30 s)") in first
    assert "about 0 s" not in first
    # what preflight then reports reuses these plans instead of reading them again
    assert set(st.early) == {"k6", "artillery"}


def test_declared_tools_survive_the_recording() -> None:
    """attach and replay read RunStarted back from events.ndjson: its tools come back a tuple."""
    event = RunStarted("r", "/d", "p", "e", 30.0, plan="about 30 s of load", mode="parallel",
                       tools=("artillery",))
    back = event_from_line(json.dumps(to_record(event)))
    assert back == event
    old = event_from_line(json.dumps({"type": "RunStarted", "run_id": "r", "run_dir": "/d",
                                      "profile": "p", "environment": "e",
                                      "planned_seconds": 0.0, "at": 1.0}))
    assert isinstance(old, RunStarted)
    assert old.tools is None


def _k6_progress(elapsed: float, planned: float) -> ToolProgressed:
    return tool_progress.k6(vus=1, vus_max=1, iterations=0, requests=3, req_per_s=1.0, p95_ms=4.0,
                        checks_rate=None, failed_rate=0.0, tainted=False, elapsed_s=elapsed,
                        planned_s=planned)


def test_the_ci_status_line_names_k6s_iterations_and_drops_a_tool_that_ended() -> None:
    bus = Bus()
    out = io.StringIO()
    console = HeadlessConsole(bus, Console(file=out, width=200, force_terminal=False))
    bus.publish(ToolStarted("k6", 0.0, "1 iteration"))
    bus.publish(_k6_progress(3.0, 0.0))
    console._handle(console._sub.drain())
    assert console._plain_status().startswith("k6 3s (1 iteration) vus=1")
    bus.publish(ToolExited("k6", 0, 3.2))
    bus.publish(ToolStarted("artillery", 30.0, "about 30 s"))
    console._handle(console._sub.drain())
    assert "k6 3s" not in console._plain_status(), "k6's last figures are not shown as live"
    assert "artillery started: about 30 s planned" in out.getvalue()


def test_the_terminal_status_gives_k6s_iterations_not_a_countdown_from_zero() -> None:
    bus = Bus()
    console = HeadlessConsole(bus, Console(file=io.StringIO(), width=120, force_terminal=False))
    bus.publish(ToolStarted("k6", 0.0, "1 iteration"))
    bus.publish(_k6_progress(3.0, 0.0))
    console._handle(console._sub.drain())
    shown = io.StringIO()
    Console(file=shown, width=120, force_terminal=False).print(console._status())
    assert "3s, 1 iteration" in shown.getvalue()
    assert "0s left" not in shown.getvalue()
