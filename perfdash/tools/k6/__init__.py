"""k6 behind perfdash's load-tool seam: the script runs as written, its own thresholds and exit
code are part of the verdict, and progress comes from k6's REST API."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
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
from perfdash.tools.k6 import command, generators, genspec
from perfdash.tools.k6.checks import k6_checks
from perfdash.tools.k6.exitcodes import k6_exit
from perfdash.tools.k6.latency import (
    REPORT_HTML,
    DashboardFollower,
    Followers,
    dashboard_env,
    dashboard_port,
)
from perfdash.tools.k6.live import K6_LIVE
from perfdash.tools.k6.locate import find_k6
from perfdash.tools.k6.plan import inspect_script
from perfdash.tools.k6.progress import PROGRESS_FILE, K6Poller
from perfdash.tools.k6.promfollow import PromK6Follower
from perfdash.tools.k6.remote_write import (
    RemoteWriteReceiver,
    output_args,
    remote_write_env,
    remote_write_port,
)
from perfdash.tools.k6.report import read_k6_summary

# http_req_duration statistics the timeline samples: the mean always (every second with the web
# dashboard output, else every REST trend answer), the percentiles with the web dashboard output
_TIMELINE = {"avg": "k6_avg_ms", "med": "k6_p50_ms", "p(95)": "k6_p95_ms", "p(99)": "k6_p99_ms"}
_DEFAULT_EXPORT = re.compile(r"\bexport\s+default\b")
_FIGURES = (("http_req_duration", ("avg", "med", "p(90)", "p(95)", "p(99)", "max")),
            ("http_reqs", ("rate",)))


class K6Tool:
    name = "k6"
    label = "k6"
    hang_hint = "check the script's own timeouts and gracefulStop, and the backend's latency"
    figure_specs = (
        *(FigureSpec(f"k6.http_req_duration.{s}", f"k6 http_req_duration {s}", "ms", "lower",
                     timeline=_TIMELINE.get(s))
          for s in ("avg", "med", "p(90)", "p(95)", "p(99)", "max")),
        FigureSpec("k6.http_reqs.rate", "k6 http_reqs rate", "/s", "higher", timeline="k6_rps"),
        # A check only (no raw figure): its per-second samples, for compare's rate test.
        FigureSpec("k6.http_req_failed.rate", "k6 http_req_failed rate", "ratio", "lower",
                   same_as_check="k6.http_req_failed.rate", timeline="k6_error_rate",
                   timeline_weight="k6_rps"),
    )
    timeline_columns: tuple[tuple[str, str, str], ...] = ()  # the common k6_* columns
    live = K6_LIVE

    def configured(self, profile: Profile) -> bool:
        return profile.k6_script is not None

    def locate(self, env: Environment | None, project_dir: Path) -> ToolLocation:
        return find_k6()

    def plan(self, binary: Path, profile: Profile, project_dir: Path, run_dir: Path,
             target: Target) -> ToolPlan:
        """k6 evaluates the script's init code to inspect it, so it gets what `k6 run` will get."""
        assert profile.k6_script is not None
        if profile.k6_generators == "k6-operator":
            return ToolPlan(profile.k6_seconds, problem="generators = \"k6-operator\" runs the "
                            "load on Kubernetes, which a local run cannot start",
                            fix=f"apply the TestRun from `perfdash k8s-manifest --profile "
                                f"{profile.name}` and follow it through Prometheus")
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
            return replace(plan, details={},
                           problem=f"the profile's k6 stages replace the script's scenarios "
                           f"({', '.join(scenarios)}) and {profile.k6_script.name} has no "
                           "default function, so k6 would refuse to run (exit 104)",
                           fix=f"remove stages from [profiles.{profile.name}.k6] to run the "
                               "script's own scenarios")
        return replace(plan, warnings=(
            f"the profile's k6 stages replace the script's scenarios ({', '.join(scenarios)})",))

    def request(self, ctx: LaunchContext) -> LaunchRequest:
        if ctx.profile.k6_generators != 1:
            return _generators_request(ctx)
        port = free_port()
        argv = command.run_argv(ctx.binary, ctx.profile, ctx.run_dir, ctx.target.base_url, port)
        # Per-second percentiles when the profile asks: k6's web dashboard output on another free
        # loopback port, followed by perfdash.tools.k6.latency (its HTML report lands in the run
        # directory). It costs k6 CPU that grows with the run, hence opt-in.
        latency_env = (dashboard_env(free_port(), ctx.run_dir / REPORT_HTML)
                       if ctx.profile.k6_web_dashboard else {})
        # Or, at a cost that does not grow: native histograms pushed every second to the
        # receiver `progress` starts on another free loopback port (perfdash.tools.k6.remote_write)
        if ctx.profile.k6_latency_source == "remote-write":
            latency_env = remote_write_env(free_port())
            argv[-1:-1] = output_args()
        return LaunchRequest("k6", argv, ctx.project_dir, ctx.run_dir / "k6.stdout.log",
                             ctx.run_dir / "k6.stderr.log",
                             _child_env({**_token(ctx.target), **latency_env}),
                             shown=" ".join(argv), api_port=port)

    def progress(self, bus: Bus, run_dir: Path, profile: Profile, planned_s: float,
                 request: LaunchRequest) -> Background | None:
        spec = run_dir / genspec.SPEC_NAME
        if request.api_port is None and spec.is_file():
            loaded = genspec.Spec.read(spec)
            return PromK6Follower(bus, loaded.prometheus_url, loaded.testid, planned_s,
                                  run_dir / PROGRESS_FILE)
        if request.api_port is None:
            return None
        port = dashboard_port(request.env)
        latency: Background | None = None if port is None else DashboardFollower(bus, port)
        if (rw_port := remote_write_port(request.env)) is not None:
            try:
                latency = RemoteWriteReceiver(bus, rw_port)
            except OSError:
                latency = None  # the port was taken meanwhile: k6's pushes fail, the mean remains
        poller = K6Poller(bus, request.api_port, planned_s, run_dir / PROGRESS_FILE,
                          interval_means=latency is None)
        return poller if latency is None else Followers(poller, latency)

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
                "k6_config": command.config_path(run_dir),
                "k6_stdout": run_dir / "k6.stdout.log", "k6_stderr": run_dir / "k6.stderr.log",
                "k6_progress": run_dir / PROGRESS_FILE,
                "k6_dashboard": run_dir / REPORT_HTML}

    def artifact_labels(self) -> dict[str, str]:
        return {"k6_summary": "k6 summary export", "k6_config": "k6 thresholds as run",
                "k6_stdout": "k6 output", "k6_stderr": "k6 log",
                "k6_progress": "k6 live progress",
                "k6_dashboard": "k6 web dashboard report (HTML)"}


def _generators_request(ctx: LaunchContext) -> LaunchRequest:
    """N k6 processes behind one child (perfdash.tools.k6.generators), tagged with the run id."""
    import sys

    n = ctx.profile.k6_generators
    if not isinstance(n, int) or ctx.env.prometheus_url is None:
        raise ValueError("k6 generators need an int count and the environment's prometheus_url "
                         "(preflight refuses the run otherwise)")
    testid = ctx.run_dir.name
    argvs = [generators.generator_argv(ctx.binary, ctx.profile, ctx.run_dir, ctx.target.base_url,
                                       i, n, testid) for i in range(n)]
    seen = {(t.metric, t.expression) for t in ctx.profile.thresholds_for("k6")}
    thresholds = [*ctx.profile.thresholds_for("k6"),
                  *(t for t in ctx.plan.script_thresholds if (t.metric, t.expression) not in seen)]
    spec = generators.write_spec(ctx.run_dir, ctx.profile, argvs, ctx.project_dir, testid,
                                 ctx.env.prometheus_url, thresholds)
    argv = [sys.executable, "-m", "perfdash.tools.k6.launcher", str(spec)]
    secrets = [s.reveal() for s in (ctx.target.database_url, ctx.target.token) if s]
    return LaunchRequest("k6", argv, ctx.project_dir, ctx.run_dir / "k6.stdout.log",
                         ctx.run_dir / "k6.stderr.log",
                         _child_env({**_token(ctx.target), genspec.SECRETS_ENV: json.dumps(secrets)}),
                         shown=f"{n} k6 generators: " + " | ".join(" ".join(a) for a in argvs))


def _token(target: Target) -> dict[str, str]:
    return {"PERF_API_TOKEN": target.token.reveal()} if target.token else {}


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    return {"K6_NO_USAGE_REPORT": "true", **extra}
