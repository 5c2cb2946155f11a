"""A profile as the run sees it: which tools run, their load shape and the thresholds that judge
them. Built by perfdash.settings.profile_section; read by the tools, the run and the analysis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from perfdash.settings.tool_tables import ToolTable
from perfdash.thresholds import Threshold

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_FULL = re.compile(r"^(\d+(?:\.\d+)?(ms|h|m|s))+$")


@dataclass(frozen=True)
class K6Stage:
    duration: str
    target: int


@dataclass(frozen=True)
class HostLimits:
    """Headroom the observed machine should keep; above these the run gets a warning."""

    cpu_warn_pct: float = 80.0
    memory_warn_pct: float = 90.0


# k6 run as one process (1), as N local processes with execution segments, or by k6-operator.
Generators = int | Literal["k6-operator"]


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    mode: Literal["parallel", "sequential"]
    k6_script: Path | None
    artillery_script: Path | None
    k6_stages: tuple[K6Stage, ...]
    artillery_phases: tuple[Mapping[str, Any], ...]
    thresholds: tuple[Threshold, ...]
    host: HostLimits = field(default_factory=HostLimits)
    slow_query_ms: float = 100.0
    checks_min_rate: float = 0.99
    regression_tolerance_pct: float = 10.0  # the smallest change that matters, % of the base
    fail_on_regression: bool = False
    regression_min_effect_ms: float = 1.0  # ... and in ms, for latencies
    regression_confidence: float = 0.95  # how sure a verdict must be (interval level, 1 - alpha)
    # `-e KEY=value` for k6; Artillery's `-e <environment>` and `--target` override
    k6_env: Mapping[str, str] = field(default_factory=dict)
    artillery_environment: str | None = None
    artillery_target: str | None = None
    # Artillery's split form (`artillery run --config common.yml scenarios/x.yml`): the file with the
    # `config` section; `artillery_script` is then the scenario file
    artillery_config: Path | None = None
    project_dir: Path | None = None  # the directory of profiles.toml: scripts are named from it
    k6_generators: Generators = 1
    # k6's web dashboard output: per-second p50/p95/p99 and its HTML report, at a CPU cost to k6
    # that grows with the run (perfdash.tools.k6.latency); off: the REST API's interval means
    k6_web_dashboard: bool = False
    # Where the timeline's k6 latency comes from (LATENCY_SOURCES): "dashboard" is the web dashboard
    # output above; "remote-write" k6's native histograms pushed to perfdash every second
    # (perfdash.tools.k6.remote_write): per-second percentiles at a flat cost
    k6_latency_source: str = "mean"
    # The tables of tools that read their own (`register_tool_table`), by tool name
    tool_tables: Mapping[str, ToolTable] = field(default_factory=dict)

    @property
    def k6_seconds(self) -> float:
        return sum(parse_duration(s.duration) for s in self.k6_stages)

    @property
    def artillery_seconds(self) -> float:
        return float(sum(phase_seconds(p) for p in self.artillery_phases))

    @property
    def planned_seconds(self) -> float:
        others = [t.planned_s for t in self.tool_tables.values()]
        if self.mode == "sequential":
            return self.k6_seconds + self.artillery_seconds + sum(others)
        return max(self.k6_seconds, self.artillery_seconds, *others)

    def thresholds_for(self, tool: str) -> tuple[Threshold, ...]:
        return tuple(t for t in self.thresholds if t.tool == tool)

    def script_for(self, tool: str) -> Path | None:
        own = self.tool_tables.get(tool)
        if own is not None:
            return own.script
        return {"k6": self.k6_script, "artillery": self.artillery_script}.get(tool)

    def files_for(self, tool: str) -> tuple[Path, ...]:
        """Every file the tool reads from the project: the script, and Artillery's config file
        first when the profile splits it from the scenarios."""
        config = (self.artillery_config,) if tool == "artillery" and self.artillery_config else ()
        script = self.script_for(tool)
        return (*config, *((script,) if script else ()))


def parse_duration(text: str) -> float:
    """k6 duration strings (`30s`, `1m30s`, `2h`, `500ms`) in seconds."""
    if not _DURATION_FULL.match(text):
        raise ValueError(text)
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * units[u] for n, u in _DURATION.findall(text))


def phase_seconds(phase: Mapping[str, Any]) -> float:
    if "pause" in phase:
        return float(phase["pause"])
    return float(phase.get("duration", 0))
