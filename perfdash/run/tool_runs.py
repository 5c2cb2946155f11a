"""The load itself: each load tool of the profile started with its progress follower, all at once
(parallel) or one after the other (sequential), then watched until it exits. A tool far past its
plan is stopped as hung, a dead backend stops them all, and every exit is explained in the run's
record and on the bus. Called by perfdash.run.orchestrator; `stop_children` also by its
interrupted and failed paths.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfdash.analyze.summary import RunRecord
from perfdash.artifacts import tail_lines
from perfdash.events import ProblemDetected, ToolExited, ToolStarted
from perfdash.launch import LaunchRequest
from perfdash.proc.supervisor import Child
from perfdash.run import signals
from perfdash.run.recording import RunLog
from perfdash.run.run_context import RunContext, RunState
from perfdash.run.signals import Interrupted
from perfdash.secret import Secret, scrub
from perfdash.tools import TOOL_NAMES, tools_for
from perfdash.tools.base import LaunchContext, LoadTool, ToolPlan


@dataclass(frozen=True)
class Launch:
    """One tool to start: the tool, its command, how long it should take."""

    tool: LoadTool
    request: LaunchRequest
    planned_s: float
    limit_s: float = 0.0  # the tool's own longest (k6's maxDuration): later is a hang

    @property
    def hang_hint(self) -> str:
        return self.tool.hang_hint

    @property
    def grace_s(self) -> float:
        # k6 waits up to 30 s for iterations to finish (gracefulStop); Artillery ends its last
        # window and its pending Socket.IO steps. Past this, the tool is stuck.
        return max(60.0, self.planned_s * 0.5)

    @property
    def deadline_s(self) -> float:
        """How long the tool may run before its grace starts: its plan, or its own limit when it
        runs iterations whose length only the run tells."""
        return max(self.planned_s, self.limit_s) if self.limit_s else self.planned_s


def run_tools(ctx: RunContext, st: RunState) -> None:
    target, paths, supervisor = st.target, st.paths, ctx.supervisor
    assert target.base_url is not None
    launches: list[tuple[Launch, ToolPlan]] = []
    for tool in tools_for(ctx.profile):
        loc, plan = st.plans[tool.name]
        assert loc.path is not None
        request = tool.request(LaunchContext(loc.path, ctx.profile, ctx.env, paths.root,
                                             ctx.settings.project_dir, target, plan))
        st.record.tools[tool.name] = _plan_record(plan)
        launches.append((Launch(tool, request, plan.planned_s, plan.limit_s), plan))

    def start(launch: Launch, plan: ToolPlan) -> tuple[Child, Launch]:
        """The tool's process, then its follower: both clocks of its phase (its elapsed time
        and how long it may stay silent) start with the process, not with the run."""
        child = supervisor.start(launch.request)
        ctx.bus.publish(ToolStarted(launch.tool.name, plan.planned_s, plan.describe()))
        follower = launch.tool.progress(ctx.bus, paths.root, ctx.profile, plan.planned_s,
                                        launch.request)
        if follower is not None:
            follower.start()
            st.session.adopt(follower)
        return child, launch

    if ctx.profile.mode == "parallel":
        _wait(ctx, [start(launch, plan) for launch, plan in launches], st)
    else:
        for launch, plan in launches:
            _wait(ctx, [start(launch, plan)], st)
            if st.record.could_not_run:
                break


def _wait(ctx: RunContext, running: list[tuple[Child, Launch]], st: RunState) -> None:
    record, log = st.record, st.log
    pending = list(running)
    while pending:
        if ctx.stop_requested.is_set():
            raise Interrupted("stop requested")
        if (lost := signals.raised()) is not None:
            raise Interrupted(lost)  # raised where it was printed and dropped (an at-fork hook)
        if st.watcher is not None and st.watcher.lost:
            # Requests against a dead backend measure nothing: stop and say why.
            record.could_not_run = True
            record.problem(st.watcher.lost,
                           "check the backend's log and its database, then run again")
            log(st.watcher.lost)
            stop_children(ctx, record)
            return
        for item in list(pending):
            child, launch = item
            code = child.poll()
            if code is None:
                stop_if_hung(ctx, child, launch, record, log)
                continue
            pending.remove(item)
            _tool_exited(ctx, child, code, launch.tool, record, log)
        time.sleep(0.2)


def stop_if_hung(ctx: RunContext, child: Child, launch: Launch, record: RunRecord,
                 log: RunLog) -> None:
    """A tool far past its plan is hanging: stop it (its report is lost) and explain."""
    overdue = time.monotonic() - child.started - launch.deadline_s
    if overdue <= launch.grace_s:
        return
    name = child.request.name
    what = (f"{name} was still running {overdue:.0f} s after its planned "
            f"{launch.deadline_s:.0f} s and was stopped")
    log(what)
    record.problem(what, launch.hang_hint)
    ctx.bus.publish(ProblemDetected(what, launch.hang_hint, severity="error"))
    child.stop(5.0, log)
    record.not_measured[name] = what


def _tool_exited(ctx: RunContext, child: Child, code: int, tool: LoadTool, record: RunRecord,
                 log: RunLog) -> None:
    outcome = child.outcome(code)
    name = child.request.name
    meaning = tool.explain_exit(code)
    stderr = [scrub(ln, ctx.secrets) for ln in tail_lines(child.request.stderr)]
    telling = _telling_lines(child.request.stdout, child.request.stderr, ctx.secrets)
    record.tools[name] = {
        **record.tools.get(name, {}),
        "returncode": code, "elapsed_s": round(outcome.elapsed_s, 1),
        "stopped_by": outcome.stopped_by, "last_stderr": stderr, "last_output": telling,
        "meaning": meaning.text, "stdout": child.request.stdout.name,
        "stderr": child.request.stderr.name,
    }
    log(f"{name} exited with {code} after {outcome.elapsed_s:.1f} s")
    ctx.bus.publish(ToolExited(name, code, outcome.elapsed_s, outcome.stopped_by,
                               tuple(stderr)))
    if meaning.kind == "finished" or meaning.text is None:
        return
    quoted = " | ".join(telling[-3:]) or "(nothing telling in its output)"
    files = f"{child.request.stdout.name} and {child.request.stderr.name}"
    if meaning.kind == "verdict-fail":
        record.problem(f"{meaning.text}: {quoted}", f"read {files} in the results directory")
        ctx.bus.publish(ProblemDetected(f"{meaning.text}: {quoted}", f"see {files}"))
        return
    record.not_measured.setdefault(name, meaning.text)
    record.problem(f"{meaning.text}; last lines of its output: {quoted}",
                   f"read {files} in the results directory")
    ctx.bus.publish(ProblemDetected(meaning.text, f"see {files}", severity="error"))


def stop_children(ctx: RunContext, record: RunRecord) -> None:
    for child in ctx.supervisor.running():
        if child.request.name not in TOOL_NAMES:
            continue  # the demo backend stops with the stack, after the analysis
        outcome = child.stop(5.0)
        record.tools[child.request.name] = {
            **record.tools.get(child.request.name, {}),
            "returncode": outcome.returncode, "elapsed_s": round(outcome.elapsed_s, 1),
            "stopped_by": outcome.stopped_by,
            "last_stderr": [scrub(ln, ctx.secrets)
                            for ln in tail_lines(child.request.stderr)],
        }
        record.not_measured.setdefault(child.request.name, "stopped before the end")


def _plan_record(plan: ToolPlan) -> dict[str, Any]:
    """What the tool's script declared before the run, kept so `show` can judge it again."""
    return {"planned_s": round(plan.planned_s, 1),
            "script_thresholds": [t.to_json() for t in plan.script_thresholds],
            "ensure": list(plan.details.get("ensure") or [])}


_TELLING = ("fail", "error", "crossed", "exception", "abort", "invalid", "refused", "not found")


def _telling_lines(stdout: Path, stderr: Path, secrets: list[Secret]) -> list[str]:
    """The lines of a tool's output that say why it ended as it did (k6 logs its reasons to
    stderr; Artillery prints a failed ensure check on stdout), else the last lines of stderr."""
    found: list[str] = []
    for path in (stdout, stderr):
        for line in tail_lines(path, 200):
            low = line.lower()
            if any(word in low for word in _TELLING):
                found.append(scrub(line.strip(), secrets))
    if not found:
        found = [scrub(ln.strip(), secrets) for ln in tail_lines(stderr)]
    return found[-5:]
