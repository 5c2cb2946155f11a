"""Artillery behind perfdash's load-tool seam: the YAML runs as written (its phases, environments
and plugins), its `ensure` verdict and exit code are part of ours, and progress comes from the
perfdash-progress plugin shipped inside this package."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfdash.check import Check
from perfdash.collect.background import Background
from perfdash.events import Bus
from perfdash.launch import LaunchRequest
from perfdash.settings import Environment, Profile
from perfdash.tools.artillery import command
from perfdash.tools.artillery.checks import artillery_checks
from perfdash.tools.artillery.live import ARTILLERY_LIVE
from perfdash.tools.artillery.locate import find_artillery
from perfdash.tools.artillery.plan import read_plan
from perfdash.tools.artillery.progress import ArtilleryProgressTail
from perfdash.tools.artillery.report import read_artillery
from perfdash.tools.base import (
    EndpointRow,
    ExitMeaning,
    FigureSpec,
    LatencyRow,
    LaunchContext,
    Target,
    ToolLocation,
    ToolPlan,
)

# Figures the timeline samples once per Artillery report window (10 s)
_TIMELINE = {"http.response_time.p50": "art_p50_ms", "http.response_time.p95": "art_p95_ms",
             "http.response_time.p99": "art_p99_ms", "socketio.response_time.p95": "sio_p95_ms"}


class ArtilleryTool:
    name = "artillery"
    label = "Artillery"
    hang_hint = ("a Socket.IO endpoint that does not answer makes Artillery hang: check that the "
                 "backend serves /socket.io/ and that the scenario's response steps match on data")
    figure_specs = (
        *(FigureSpec(f"artillery.{m}.{s}", f"Artillery {m} {s}", "ms", "lower",
                     timeline=_TIMELINE.get(f"{m}.{s}"))
          for m in ("http.response_time", "socketio.response_time") for s in ("p50", "p95", "p99")),
        FigureSpec("artillery.errors", "Artillery errors total", "", "lower", timeline="art_errors"),
        FigureSpec("artillery.vusers.failed", "Artillery vusers.failed", "", "lower",
                   same_as_check="artillery.vusers.failed.count"),
    )
    timeline_columns: tuple[tuple[str, str, str], ...] = ()  # the common art_* and sio_* columns
    live = ARTILLERY_LIVE

    def configured(self, profile: Profile) -> bool:
        return profile.artillery_script is not None

    def locate(self, env: Environment | None, project_dir: Path) -> ToolLocation:
        return find_artillery(env, project_dir)

    def plan(self, binary: Path, profile: Profile, project_dir: Path, run_dir: Path,
             target: Target) -> ToolPlan:
        plan = read_plan(profile, target.base_url)
        plugin = command.plugin_dir() / f"artillery-plugin-{command.PLUGIN}" / "index.js"
        if plan.problem or plugin.is_file():
            return plan
        return ToolPlan(plan.planned_s, plan.script_thresholds, warnings=(
            *plan.warnings, f"perfdash's Artillery progress plugin is missing ({plugin}): the "
            "Artillery pane will stay empty until the report; reinstall perfdash"),
            details=plan.details)

    def request(self, ctx: LaunchContext) -> LaunchRequest:
        argv = command.run_argv(ctx.binary, ctx.profile, ctx.run_dir, ctx.target.base_url)
        env = command.child_env(ctx.run_dir)
        if ctx.target.token:
            env["PERF_API_TOKEN"] = ctx.target.token.reveal()
        return LaunchRequest("artillery", argv, ctx.project_dir,
                             ctx.run_dir / "artillery.stdout.log",
                             ctx.run_dir / "artillery.stderr.log", env, shown=" ".join(argv))

    def progress(self, bus: Bus, run_dir: Path, profile: Profile, planned_s: float,
                 request: LaunchRequest) -> Background | None:
        return ArtilleryProgressTail(bus, run_dir / "artillery-progress.ndjson", planned_s)

    def explain_exit(self, code: int) -> ExitMeaning:
        if code == 0:
            return ExitMeaning("finished", None)
        if code < 0:
            return ExitMeaning("error", f"Artillery was killed by signal {-code}")
        if code in (130, 143):
            return ExitMeaning("error", "Artillery was interrupted before the end of the plan "
                                        "(it writes no report then)")
        if code == 1:
            return ExitMeaning("verdict-fail", "Artillery exited 1 (an ensure check failed, or "
                                               "Artillery itself failed)")
        return ExitMeaning("error", f"Artillery exited with code {code}")

    def checks(self, run_dir: Path, profile: Profile, tool_record: Mapping[str, Any] | None,
               not_measured: str | None) -> list[Check]:
        return artillery_checks(run_dir, profile, tool_record, not_measured)

    def latency(self, run_dir: Path, profile_name: str) -> tuple[list[LatencyRow], str | None]:
        results, problem = read_artillery(run_dir, profile_name)
        return (results.latency_rows(), None) if results else ([], problem)

    def endpoints(self, run_dir: Path, profile_name: str) -> tuple[list[EndpointRow], str | None]:
        results, problem = read_artillery(run_dir, profile_name)
        return (results.endpoints(), problem) if results else ([], problem)

    def figures(self, run_dir: Path, profile_name: str) -> tuple[dict[str, float], str | None]:
        results, problem = read_artillery(run_dir, profile_name)
        if results is None or results.partial:
            return {}, problem or "Artillery did not finish its report"
        out: dict[str, float] = {}
        for name in ("http.response_time", "socketio.response_time"):
            stats = results.summary(name) or {}
            out.update({f"artillery.{name}.{s}": float(stats[s]) for s in ("p50", "p95", "p99")
                        if isinstance(stats.get(s), int | float)})
        # Artillery leaves out counters that stayed at zero: a readable report without them means 0.
        counters = results.counters
        out["artillery.errors"] = float(sum(v for k, v in counters.items()
                                            if k.startswith("errors.") and isinstance(v, int | float)))
        failed = counters.get("vusers.failed", 0)
        out["artillery.vusers.failed"] = float(failed) if isinstance(failed, int | float) else 0.0
        return out, None

    def artifacts(self, run_dir: Path, profile_name: str) -> dict[str, Path]:
        return {"artillery_report": run_dir / f"artillery-{profile_name}.json",
                "artillery_progress": run_dir / "artillery-progress.ndjson",
                "artillery_stdout": run_dir / "artillery.stdout.log",
                "artillery_stderr": run_dir / "artillery.stderr.log"}

    def artifact_labels(self) -> dict[str, str]:
        return {"artillery_report": "Artillery report",
                "artillery_progress": "Artillery live progress",
                "artillery_stdout": "Artillery output", "artillery_stderr": "Artillery log"}
