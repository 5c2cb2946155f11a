"""The seam every load tool implements: find the binary, read the script's own plan, build the
command, follow live progress, explain an exit code, turn the report into checks and latency rows,
and name its artifacts.

The orchestrator, preflight, analysis, reports, compare and the result view talk to a tool only
through `LoadTool`, so a third tool is one new package plus a line in `perfdash.tools`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from perfdash.check import Check
from perfdash.collect.background import Background
from perfdash.events import Bus
from perfdash.launch import LaunchRequest
from perfdash.secret import Secret
from perfdash.settings import Environment, Profile
from perfdash.thresholds import Threshold
from perfdash.tools.live import LiveSpec


@dataclass(frozen=True)
class ToolLocation:
    """Where a tool's binary was found (and how), or why it could not be used and how to fix it."""

    name: str
    path: Path | None
    version: str | None
    problem: str | None
    fix: str | None
    how: str = ""  # "PERFDASH_ARTILLERY", "the environment's artillery setting", "PATH", ...

    @property
    def ok(self) -> bool:
        return self.path is not None and self.problem is None


@dataclass(frozen=True)
class ToolPlan:
    """What the script will do before it runs: how long, which thresholds of its own it declares,
    and anything a user should hear about before the load (a warning, or a reason it cannot run)."""

    planned_s: float
    script_thresholds: tuple[Threshold, ...] = ()
    problem: str | None = None  # the script cannot run as configured: preflight fails
    fix: str = ""
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    # Iterations whose length only the run tells (k6's iteration executors, a script without load
    # options runs one): counted here rather than guessed into `planned_s`.
    iterations: int = 0
    # The longest the tool lets itself run (k6's maxDuration and graceful stops), where it is
    # longer than the plan: the hang watchdog waits for it, the screens never show it as the plan.
    limit_s: float = 0.0

    def describe(self) -> str:
        """The plan in a few words, as preflight, the console and the panes say it."""
        return describe_load(self.planned_s, self.iterations)


def describe_load(seconds: float, iterations: int) -> str:
    """`about 30 s`, `1 iteration`, `about 25 s and 12 iterations`, or `length unknown`."""
    parts = [f"about {seconds:.0f} s"] if seconds > 0 else []
    if iterations:
        parts.append(f"{iterations} iteration{'s' if iterations != 1 else ''}")
    return " and ".join(parts) or "length unknown"


ExitKind = Literal["finished", "verdict-fail", "error"]


@dataclass(frozen=True)
class ExitMeaning:
    """A tool's exit code in words. `finished`: it ran its plan and passed; `verdict-fail`: it ran
    its plan and its own thresholds or checks failed; `error`: it did not finish its plan."""

    kind: ExitKind
    text: str | None


# The statistics a latency row may carry, in milliseconds, under these names for every tool.
LATENCY_STATS = ("avg", "min", "med", "p90", "p95", "p99", "max")


@dataclass(frozen=True)
class LatencyRow:
    """One line of the latency table: a tool's metric with its percentiles in milliseconds."""

    tool: str
    metric: str
    stats: Mapping[str, float | None]
    count: int | None = None

    @property
    def label(self) -> str:
        return f"{self.tool} {self.metric}"


@dataclass(frozen=True)
class EndpointRow:
    """One endpoint (or Socket.IO event) as one tool measured it, before any join.

    `name` is what the tool calls it (a k6 tag value, an Artillery URL template); `url` is a URL
    or template when the tool knows one; `tag` says where a k6 row came from (name, endpoint,
    group, url). Latencies in ms; None when the tool did not export it.
    """

    tool: str
    name: str
    kind: Literal["http", "socketio"] = "http"
    url: str | None = None
    tag: str | None = None
    requests: int | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    errors: int | None = None  # requests without an answer or counted failed by the tool
    status_5xx: int | None = None
    codes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FigureSpec:
    """A headline figure `compare` puts side by side: key, label, unit, which way is better, and
    the id of a check that already carries it (then it is shown once, as the check)."""

    key: str
    label: str
    unit: str
    better: Literal["lower", "higher"]
    same_as_check: str | None = None
    # The timeline.csv column that samples this figure once per window, so a comparison can tell a
    # change from the noise within a run; for a ratio, `timeline_weight` is the column with each
    # window's requests per second, which turns the ratio into counts for a rate test.
    timeline: str | None = None
    timeline_weight: str | None = None


@dataclass(frozen=True)
class Target:
    """What this run talks to, after the demo stack (if any) is up."""

    base_url: str | None
    database_url: Secret | None
    token: Secret | None


@dataclass(frozen=True)
class LaunchContext:
    """Everything a tool needs to build its command for one run."""

    binary: Path
    profile: Profile
    env: Environment
    run_dir: Path
    project_dir: Path
    target: Target
    plan: ToolPlan


class LoadTool(Protocol):
    """One load-testing tool behind perfdash's seam."""

    name: str  # "k6": the key in profiles.toml and in summary.json's tools
    label: str  # "k6", "Artillery": how the UI and the reports name it
    hang_hint: str  # what to check when it runs far past its plan
    figure_specs: tuple[FigureSpec, ...]  # what `figures` returns, for compare
    # The timeline.csv columns this tool fills beyond the common ones (perfdash.timeline.columns),
    # as (column, unit, what it is); a column `<name>_<field>` takes the field `<field>` of the
    # tool's ToolProgressed. k6's and Artillery's columns are among the common ones.
    timeline_columns: tuple[tuple[str, str, str], ...]
    # How its ToolProgressed is shown live and which timeline columns its fields fill
    # (perfdash.tools.live; DEFAULT_SPEC for a tool with nothing of its own to show).
    live: LiveSpec

    def configured(self, profile: Profile) -> bool: ...

    def locate(self, env: Environment | None, project_dir: Path) -> ToolLocation: ...

    def plan(self, binary: Path, profile: Profile, project_dir: Path, run_dir: Path,
             target: Target) -> ToolPlan: ...

    def request(self, ctx: LaunchContext) -> LaunchRequest: ...

    def progress(self, bus: Bus, run_dir: Path, profile: Profile, planned_s: float,
                 request: LaunchRequest) -> Background | None: ...

    def explain_exit(self, code: int) -> ExitMeaning: ...

    def checks(self, run_dir: Path, profile: Profile, tool_record: Mapping[str, Any] | None,
               not_measured: str | None) -> list[Check]: ...

    def latency(self, run_dir: Path, profile_name: str) -> tuple[list[LatencyRow], str | None]:
        ...

    def figures(self, run_dir: Path, profile_name: str) -> tuple[dict[str, float], str | None]:
        ...

    def artifacts(self, run_dir: Path, profile_name: str) -> dict[str, Path]: ...

    def endpoints(self, run_dir: Path, profile_name: str) -> tuple[list[EndpointRow], str | None]:
        ...

    def artifact_labels(self) -> dict[str, str]: ...


def script_source(script: Path | None, project_dir: Path | None, fallback: str) -> str:
    """A script as a check's source: relative to the project (the directory of profiles.toml), as
    `load/k6/shop-flows.js` reads in a report, whatever directory `show` runs in; else in full."""
    if script is None:
        return fallback
    try:
        return str(script.resolve().relative_to((project_dir or Path.cwd()).resolve()))
    except (ValueError, OSError):
        return str(script)


def version_of(argv: list[str]) -> tuple[str | None, str | None]:
    """(first line of the tool's version output, None) or (None, why it did not run)."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    if out.returncode != 0:
        text = (out.stderr or out.stdout).strip()
        return None, text.splitlines()[-1] if text else f"exit {out.returncode}"
    return (out.stdout.strip().splitlines() or [""])[0], None
