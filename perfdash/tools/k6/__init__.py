"""k6 behind perfdash's load-tool seam: the script runs as written, its own thresholds and exit
code are part of the verdict, and progress comes from k6's REST API."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfdash.check import Check
from perfdash.collect.background import Background
from perfdash.events import Bus
from perfdash.launch import LaunchRequest
from perfdash.net import free_port
from perfdash.settings import Environment, Profile
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
from perfdash.tools.k6 import command
from perfdash.tools.k6.checks import k6_checks
from perfdash.tools.k6.exitcodes import k6_exit
from perfdash.tools.k6.latency import (
    REPORT_HTML,
    DashboardFollower,
    Followers,
    dashboard_env,
    dashboard_port,
)
from perfdash.tools.k6.locate import find_k6
from perfdash.tools.k6.plan import inspect_script
from perfdash.tools.k6.progress import K6Poller
from perfdash.tools.k6.report import read_k6_summary

_DEFAULT_EXPORT = re.compile(r"\bexport\s+default\b")
_FIGURES = (("http_req_duration", ("avg", "med", "p(90)", "p(95)", "p(99)", "max")),
            ("http_reqs", ("rate",)))


class K6Tool:
    name = "k6"
    label = "k6"
    hang_hint = "check the script's own timeouts and gracefulStop, and the backend's latency"
    figure_specs = (
        *(FigureSpec(f"k6.http_req_duration.{s}", f"k6 http_req_duration {s}", "ms", "lower")
          for s in ("avg", "med", "p(90)", "p(95)", "p(99)", "max")),
        FigureSpec("k6.http_reqs.rate", "k6 http_reqs rate", "/s", "higher"),
    )

    def configured(self, profile: Profile) -> bool:
        return profile.k6_script is not None

    def locate(self, env: Environment | None, project_dir: Path) -> ToolLocation:
        return find_k6()

    def plan(self, binary: Path, profile: Profile, project_dir: Path, run_dir: Path,
             target: Target) -> ToolPlan:
        """k6 evaluates the script's init code to inspect it, so it gets what `k6 run` will get."""
        assert profile.k6_script is not None
        cfg = command.write_config(profile, run_dir)
        plan = inspect_script(binary, profile, ["--config", str(cfg)], _child_env(_token(target)),
                              project_dir, command.env_args(profile, target.base_url))
        if plan.problem or not profile.k6_stages:
            return plan
        # k6 names the plan of a script without options "default"; only real scenarios matter
        scenarios = sorted(set((plan.details.get("options") or {}).get("scenarios") or {})
                           - {"default"})
        if not scenarios:
            return plan
        try:
            text = profile.k6_script.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        if not _DEFAULT_EXPORT.search(text):
            return ToolPlan(plan.planned_s, plan.script_thresholds,
                            problem=f"the profile's k6 stages replace the script's scenarios "
                            f"({', '.join(scenarios)}) and {profile.k6_script.name} has no "
                            "default function, so k6 would refuse to run (exit 104)",
                            fix=f"remove stages from [profiles.{profile.name}.k6] to run the "
                                "script's own scenarios")
        return ToolPlan(plan.planned_s, plan.script_thresholds, warnings=(
            f"the profile's k6 stages replace the script's scenarios ({', '.join(scenarios)})",),
            details=plan.details)

    def request(self, ctx: LaunchContext) -> LaunchRequest:
        port = free_port()
        argv = command.run_argv(ctx.binary, ctx.profile, ctx.run_dir, ctx.target.base_url, port)
        # Per-second latency: k6's web dashboard output on another free loopback port, followed
        # by perfdash.tools.k6.latency (its HTML report lands in the run directory).
        dashboard = dashboard_env(free_port(), ctx.run_dir / REPORT_HTML)
        return LaunchRequest("k6", argv, ctx.project_dir, ctx.run_dir / "k6.stdout.log",
                             ctx.run_dir / "k6.stderr.log",
                             _child_env({**_token(ctx.target), **dashboard}),
                             shown=" ".join(argv), api_port=port)

    def progress(self, bus: Bus, run_dir: Path, profile: Profile, planned_s: float,
                 request: LaunchRequest) -> Background | None:
        if request.api_port is None:
            return None
        poller = K6Poller(bus, request.api_port, planned_s, run_dir / "k6-progress.ndjson")
        port = dashboard_port(request.env)
        return poller if port is None else Followers(poller, DashboardFollower(bus, port))

    def explain_exit(self, code: int) -> ExitMeaning:
        return k6_exit(code)

    def checks(self, run_dir: Path, profile: Profile, tool_record: Mapping[str, Any] | None,
               not_measured: str | None) -> list[Check]:
        return k6_checks(run_dir, profile, tool_record, not_measured)

    def latency(self, run_dir: Path, profile_name: str) -> tuple[list[LatencyRow], str | None]:
        summary, problem = read_k6_summary(run_dir / f"k6-{profile_name}.json")
        return (summary.latency_rows(), None) if summary else ([], problem)

    def endpoints(self, run_dir: Path, profile_name: str) -> tuple[list[EndpointRow], str | None]:
        summary, problem = read_k6_summary(run_dir / f"k6-{profile_name}.json")
        return (summary.endpoints(), None) if summary else ([], problem)

    def figures(self, run_dir: Path, profile_name: str) -> tuple[dict[str, float], str | None]:
        summary, problem = read_k6_summary(run_dir / f"k6-{profile_name}.json")
        if summary is None:
            return {}, problem
        return {f"k6.{m}.{s}": v for m, stats in _FIGURES for s in stats
                if (v := summary.value(m, s)) is not None}, None

    def artifacts(self, run_dir: Path, profile_name: str) -> dict[str, Path]:
        return {"k6_summary": run_dir / f"k6-{profile_name}.json",
                "k6_config": run_dir / "k6-config.json",
                "k6_stdout": run_dir / "k6.stdout.log", "k6_stderr": run_dir / "k6.stderr.log",
                "k6_progress": run_dir / "k6-progress.ndjson",
                "k6_dashboard": run_dir / REPORT_HTML}

    def artifact_labels(self) -> dict[str, str]:
        return {"k6_summary": "k6 summary export", "k6_config": "k6 thresholds as run",
                "k6_stdout": "k6 output", "k6_stderr": "k6 log",
                "k6_progress": "k6 live progress",
                "k6_dashboard": "k6 web dashboard report (HTML)"}


def _token(target: Target) -> dict[str, str]:
    return {"PERF_API_TOKEN": target.token.reveal()} if target.token else {}


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    return {"K6_NO_USAGE_REPORT": "true", **extra}
