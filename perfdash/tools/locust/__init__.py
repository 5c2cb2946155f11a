"""Locust behind perfdash's load-tool seam: the locustfile runs headless as written, with users,
spawn rate and run time from `[profiles.P.locust]` (read by `table.read_table`, which the settings
call through their tool-table hook); progress comes from its CSV stats history, the verdict from its
CSV statistics against the profile's limits, and endpoints are its request names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfdash.check import Check
from perfdash.collect.background import Background
from perfdash.events import Bus
from perfdash.launch import LaunchRequest
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
from perfdash.tools.live import DEFAULT_SPEC
from perfdash.tools.locust import command
from perfdash.tools.locust.checks import locust_checks, options_of
from perfdash.tools.locust.locate import find_locust
from perfdash.tools.locust.progress import LocustHistoryTail
from perfdash.tools.locust.report import read_locust
from perfdash.tools.locust.table import read_table


class LocustTool:
    name = "locust"
    label = "Locust"
    hang_hint = ("Locust stops its users at the end of run_time: a task blocked on a request "
                 "without a timeout keeps it running; check the locustfile's timeouts")
    figure_specs = (
        *(FigureSpec(f"locust.response_time.{s}", f"Locust response time {s}", "ms", "lower",
                     timeline=f"locust_{s}_ms" if s in ("p50", "p95") else None)
          for s in ("avg", "p50", "p95", "p99")),
        FigureSpec("locust.rps", "Locust requests per second", "/s", "higher", timeline="locust_rps"),
        FigureSpec("locust.fail_ratio", "Locust failed requests", "ratio", "lower",
                   same_as_check="locust.fail_ratio", timeline="locust_fail_ratio",
                   timeline_weight="locust_rps"),
    )
    timeline_columns = (
        ("locust_users", "", "Locust users running"),
        ("locust_rps", "/s", "Locust requests per second (its current rate)"),
        ("locust_p50_ms", "ms", "Locust response time median (its recent window)"),
        ("locust_p95_ms", "ms", "Locust response time p95 (its recent window)"),
        ("locust_fail_ratio", "ratio", "share of Locust requests failing (its current rate)"),
    )
    live = DEFAULT_SPEC  # users, req/s, p95 and failures: the figures every tool may carry
    read_table = staticmethod(read_table)
    # an extra (`perfdash[locust]`): `doctor` without a profile warns when it is missing
    optional = True

    def configured(self, profile: Profile) -> bool:
        return options_of(profile) is not None

    def locate(self, env: Environment | None, project_dir: Path) -> ToolLocation:
        return find_locust(env, project_dir)

    def plan(self, binary: Path, profile: Profile, project_dir: Path, run_dir: Path,
             target: Target) -> ToolPlan:
        options = options_of(profile)
        assert options is not None
        if not options.locustfile.is_file():
            return ToolPlan(options.run_time_s, problem=f"the locustfile {options.locustfile} does "
                            "not exist", fix=f"fix locustfile in [profiles.{profile.name}.locust]")
        # No host yet is no problem of the plan: the demo's URL exists once its stack is up, and
        # preflight checks the environment's base_url.
        warnings = () if options.host or target.base_url else (
            f"Locust has no host yet: set host in [profiles.{profile.name}.locust] or the "
            "environment's base_url",)
        return ToolPlan(options.run_time_s, warnings=warnings,
                        details={"users": options.users, "spawn_rate": options.spawn_rate})

    def request(self, ctx: LaunchContext) -> LaunchRequest:
        options = options_of(ctx.profile)
        assert options is not None
        try:
            helper: Path | None = command.write_flush_helper(ctx.run_dir)
        except OSError:
            helper = None  # progress then moves every 5 s, with Locust's own flush
        argv = command.run_argv(ctx.binary, options, ctx.run_dir, ctx.profile.name,
                                ctx.target.base_url, helper)
        env = command.child_env()
        if ctx.target.token:
            env["PERF_API_TOKEN"] = ctx.target.token.reveal()
        return LaunchRequest("locust", argv, ctx.project_dir, ctx.run_dir / "locust.stdout.log",
                             ctx.run_dir / "locust.stderr.log", env, shown=" ".join(argv))

    def progress(self, bus: Bus, run_dir: Path, profile: Profile, planned_s: float,
                 request: LaunchRequest) -> Background | None:
        history = Path(f"{command.csv_prefix(run_dir, profile.name)}_stats_history.csv")
        return LocustHistoryTail(bus, history, planned_s)

    def explain_exit(self, code: int) -> ExitMeaning:
        # measured with Locust 2.47.0: 0 ran its plan (also when stopped by SIGTERM, which the
        # run's record says), 3 ran it with failed requests (--exit-code-on-error), 1 the
        # locustfile did not load (missing, a syntax error), 2 a bad command-line option
        if code in (0, command.FAILED_REQUESTS_EXIT):
            return ExitMeaning("finished", None)
        if code < 0:
            return ExitMeaning("error", f"Locust was killed by signal {-code}")
        if code == 1:
            return ExitMeaning("error", "Locust exited 1: the locustfile could not be loaded or "
                                        "Locust itself failed")
        if code == 2:
            return ExitMeaning("error", "Locust exited 2: it refused its command line (a bad "
                                        "option or value)")
        return ExitMeaning("error", f"Locust exited with code {code}")

    def checks(self, run_dir: Path, profile: Profile, tool_record: Mapping[str, Any] | None,
               not_measured: str | None) -> list[Check]:
        return locust_checks(run_dir, profile, tool_record, not_measured)

    def latency(self, run_dir: Path, profile_name: str) -> tuple[list[LatencyRow], str | None]:
        results, problem = read_locust(run_dir, profile_name)
        return (results.latency_rows(), problem) if results else ([], problem)

    def endpoints(self, run_dir: Path, profile_name: str) -> tuple[list[EndpointRow], str | None]:
        results, problem = read_locust(run_dir, profile_name)
        if results is None or results.partial:
            return [], problem
        return results.endpoints(), None

    def figures(self, run_dir: Path, profile_name: str) -> tuple[dict[str, float], str | None]:
        results, problem = read_locust(run_dir, profile_name)
        if results is None or results.partial:
            return {}, problem or "Locust did not write its final statistics"
        t = results.total
        found = {"locust.response_time.avg": t.avg_ms, "locust.response_time.p50": t.pct("50%"),
                 "locust.response_time.p95": t.pct("95%"), "locust.response_time.p99": t.pct("99%"),
                 "locust.rps": t.rps, "locust.fail_ratio": t.fail_ratio}
        return {k: float(v) for k, v in found.items() if v is not None}, None

    def artifacts(self, run_dir: Path, profile_name: str) -> dict[str, Path]:
        prefix = command.csv_prefix(run_dir, profile_name)
        return {"locust_report": Path(f"{prefix}_stats.csv"),
                "locust_history": Path(f"{prefix}_stats_history.csv"),
                "locust_failures": Path(f"{prefix}_failures.csv"),
                "locust_stdout": run_dir / "locust.stdout.log",
                "locust_stderr": run_dir / "locust.stderr.log"}

    def artifact_labels(self) -> dict[str, str]:
        return {"locust_report": "Locust statistics", "locust_history": "Locust live history",
                "locust_failures": "Locust failures", "locust_stdout": "Locust output",
                "locust_stderr": "Locust log"}
