"""Settings: `profiles.toml` (committed, no secrets) and `.env.performance` (never committed) read into
typed, frozen objects.

The CLI calls `load_settings`; the orchestrator, preflight and analysis only ever see the objects
below. Every problem becomes one `SettingsError` sentence that names the file, the line or key, and
the fix, because a user staring at a traceback mid-incident fixes nothing.
"""

from __future__ import annotations

import codecs
import importlib
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from dotenv.main import resolve_variables
from dotenv.parser import parse_stream

from perfdash.log_formats import FormatError, from_format_string, is_format_string
from perfdash.secret import Secret, redact_command, redact_url
from perfdash.thresholds import Threshold, make_threshold

CONFIG_NAME = "profiles.toml"
# The demo project shipped inside the package: `perfdash demo` runs it from any directory.
DEMO_PROJECT = Path(__file__).resolve().parent / "demo" / "project"
DEMO_SEED = Path(__file__).resolve().parent / "demo" / "seed.sql"
ENV_FILE_NAME = ".env.performance"

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_FULL = re.compile(r"^(\d+(?:\.\d+)?(ms|h|m|s))+$")


class SettingsError(Exception):
    """A configuration problem, already phrased as one sentence for the user."""


@dataclass(frozen=True)
class K6Stage:
    duration: str
    target: int


@dataclass(frozen=True)
class HostLimits:
    """Headroom the observed machine should keep; above these the run gets a warning."""

    cpu_warn_pct: float = 80.0
    memory_warn_pct: float = 90.0


@dataclass(frozen=True)
class HostSpec:
    """A machine measured through node_exporter: directly at `node_exporter` (its URL), or through
    the environment's Prometheus by its `instance` label. The role says which check judges it:
    "backend" (and any other role) headroom, "generator" load-generator saturation."""

    name: str
    role: str
    node_exporter: str | None = None
    instance: str | None = None


LogKind = Literal["app", "access"]


@dataclass(frozen=True)
class LogSpec:
    """One log file of an environment and what it is read for.

    An app log gives the ERROR/WARN counts, the pool lines and the live log pane; an access log the
    requests per endpoint (applog-endpoints.json). `requests`: an app log that also holds request
    lines (pino-http, a framework that logs each request), as the `app_log` shorthand always did;
    `format` and `time_unit` are the access-log preset and request-time unit (None: inferred)."""

    path: Path
    kind: LogKind
    requests: bool = False
    format: str | None = None
    time_unit: str | None = None

    @property
    def counts_requests(self) -> bool:
        return self.kind == "access" or self.requests


@dataclass(frozen=True)
class ToolTable:
    """A load tool's own table of a profile (`[profiles.P.<tool>]`) as the tool read it: settings
    keeps the script and the planned length, which the run needs of every tool, and hands the rest
    (`options`, the tool's own typed object) back to the tool that wrote it."""

    script: Path
    planned_s: float
    options: object = None
    # the table as written, kept in summary.json so `show` reads it again with the tool's reader
    raw: Mapping[str, Any] = field(default_factory=dict)


class ToolTableError(ValueError):
    """A tool's complaint about its table: the key at fault (None: the table), what and the fix."""

    def __init__(self, key: str | None, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.key, self.problem, self.fix = key, problem, fix


# (the table's contents, the project directory) -> the table read, or ToolTableError
ToolTableReader = Callable[[Mapping[str, Any], Path], ToolTable]
_TOOL_TABLES: dict[str, ToolTableReader] = {}


def register_tool_table(name: str, reader: ToolTableReader) -> None:
    """Let a load tool read and validate `[profiles.P.<name>]` itself: the tool registry calls this
    for every tool that has a table of its own, so a new tool needs no key here."""
    _TOOL_TABLES[name] = reader


def _register_tools() -> None:
    """Import the tool registry, which registers each tool's table. Named at run time because the
    tools are built on this module's types: a static import would be a cycle."""
    importlib.import_module("perfdash.tools")


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
        return float(sum(_phase_seconds(p) for p in self.artillery_phases))

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


@dataclass(frozen=True)
class Environment:
    name: str
    description: str
    kind: Literal["demo", "external"]
    base_url: str | None
    database_url: Secret | None
    api_token: Secret | None
    app_log: Path | None
    protected: bool
    health_path: str
    start_command: str | None = None
    stop_command: str | None = None
    compose_file: Path | None = None
    cleanup_after_run: bool = False
    seed_sql: Path | None = None
    seed_command: str | None = None
    seed_scale: int = 100
    # where start, stop and seed commands run (the app log is relative to it too)
    working_dir: Path | None = None
    artillery_bin: Path | None = None
    # JSON-lines app log: which keys hold the route, the status and the latency in ms
    log_fields: Mapping[str, str] = field(default_factory=dict)
    # access-log app log: which preset wrote it and the unit of its request time (None: inferred)
    access_log_format: str | None = None
    access_log_time_unit: str | None = None
    # a regular expression for the application's own "pool exhausted" lines, beside the wordings of
    # the common pools perfdash knows (perfdash.collect.pool_lines)
    pool_log_pattern: str | None = None
    # machines measured through node_exporter (backend first); empty: this machine through psutil
    hosts: tuple[HostSpec, ...] = ()
    prometheus_url: str | None = None
    # the variable the database URL is read from, named in every message that says to check it
    database_url_env: str = "PERF_DATABASE_URL"
    # `logs = [...]`: every log followed, app logs first; empty: just app_log (see followed_logs)
    logs: tuple[LogSpec, ...] = ()

    def followed_logs(self) -> tuple[LogSpec, ...]:
        """The logs a run or a watch follows: `logs`, or the one `app_log`, which may also hold the
        request lines and is read with the environment's access-log settings."""
        if self.logs:
            return self.logs
        if self.app_log is None:
            return ()
        return (LogSpec(self.app_log, "app", requests=True, format=self.access_log_format,
                        time_unit=self.access_log_time_unit),)

    def secrets(self) -> list[Secret]:
        return [s for s in (self.database_url, self.api_token) if s]

    def redacted(self) -> dict[str, Any]:
        """The environment as it may be shown or written to summary.json: commands keep their
        shape, not the secrets written into them (`env PERF_API_TOKEN=... ./start.sh`)."""
        secrets = self.secrets()

        def command(text: str | None) -> str | None:
            return redact_command(text, secrets) if text else None

        return {
            "name": self.name,
            "kind": self.kind,
            "base_url": self.base_url,
            "database_url": redact_url(self.database_url.reveal()) if self.database_url else None,
            "api_token": "***" if self.api_token else None,
            "app_log": str(self.app_log) if self.app_log else None,
            "logs": [{"path": str(log.path), "kind": log.kind, "format": log.format,
                      "time_unit": log.time_unit} for log in self.followed_logs()],
            "protected": self.protected,
            "health_path": self.health_path,
            "start_command": command(self.start_command),
            "stop_command": command(self.stop_command),
            "compose_file": str(self.compose_file) if self.compose_file else None,
            "cleanup_after_run": self.cleanup_after_run,
            "seed_sql": str(self.seed_sql) if self.seed_sql else None,
            "seed_command": command(self.seed_command),
            "seed_scale": self.seed_scale,
            "working_dir": str(self.working_dir) if self.working_dir else None,
            "artillery": str(self.artillery_bin) if self.artillery_bin else None,
            "hosts": [{"name": h.name, "role": h.role, "node_exporter": h.node_exporter,
                       "instance": h.instance} for h in self.hosts],
            "prometheus_url": redact_url(self.prometheus_url) if self.prometheus_url else None,
        }


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    config_file: Path
    results_dir: Path
    profiles: Mapping[str, Profile]
    environments: Mapping[str, Environment]

    def profile(self, name: str) -> Profile:
        if name not in self.profiles:
            raise SettingsError(
                f"{self.config_file.name} has no profile {name!r}; "
                f"choose one of: {', '.join(sorted(self.profiles))}."
            )
        return self.profiles[name]

    def environment(self, name: str) -> Environment:
        if name not in self.environments:
            raise SettingsError(
                f"{self.config_file.name} has no environment {name!r}; "
                f"choose one of: {', '.join(sorted(self.environments))}."
            )
        return self.environments[name]


# ---------------------------------------------------------------------------------------- parsing


def parse_duration(text: str) -> float:
    """k6 duration strings (`30s`, `1m30s`, `2h`, `500ms`) in seconds."""
    if not _DURATION_FULL.match(text):
        raise ValueError(text)
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * units[u] for n, u in _DURATION.findall(text))


def _phase_seconds(phase: Mapping[str, Any]) -> float:
    if "pause" in phase:
        return float(phase["pause"])
    return float(phase.get("duration", 0))


class _Reader:
    """Walks the parsed TOML, turning each mistake into a sentence that points at the line."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def where(self, table: str, key: str | None = None) -> str:
        """`profiles.toml line 12` for a key or table header, or the dotted key when not found."""
        header = re.compile(r"^\s*\[+\s*" + re.escape(table) + r"(\.[^\]]*)?\s*\]+")
        start = next((i for i, ln in enumerate(self.lines) if header.match(ln)), None)
        if start is not None and key is not None:
            key_re = re.compile(r"^\s*\"?" + re.escape(key) + r"\"?\s*=")
            for i in range(start + 1, len(self.lines)):
                if self.lines[i].lstrip().startswith("["):
                    break
                if key_re.match(self.lines[i]):
                    return f"{self.path.name} line {i + 1} ({table}.{key})"
        if start is not None:
            return f"{self.path.name} line {start + 1} ([{table}]{'.' + key if key else ''})"
        return f"{self.path.name} ({table}{'.' + key if key else ''})"

    def fail(self, table: str, key: str | None, problem: str, fix: str) -> SettingsError:
        return SettingsError(f"{self.where(table, key)}: {problem}; {fix}.")

    def table(self, data: Mapping[str, Any], table: str, key: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, Mapping):
            raise self.fail(table, key, "expected a table", f"write it as [{table}.{key}]")
        return value

    def str_(self, data: Mapping[str, Any], table: str, key: str, default: str | None = None,
             ) -> str | None:
        value = data.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.fail(table, key, f"expected a string, got {value!r}", "quote the value")
        return value

    def bool_(self, data: Mapping[str, Any], table: str, key: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(table, key, f"expected true or false, got {value!r}",
                            "write true or false without quotes")
        return value

    def number(self, data: Mapping[str, Any], table: str, key: str, default: float) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(table, key, f"expected a number, got {value!r}",
                            "write a finite number without quotes")
        return float(value)

    def known(self, data: Mapping[str, Any], table: str, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(table, key, f"unknown key {key!r}",
                                f"use one of: {', '.join(sorted(allowed))}")


_PROFILE_KEYS = {"description", "mode", "k6", "artillery", "thresholds", "host", "database",
                 "checks_min_rate", "baseline"}
_ENV_KEYS = {"description", "kind", "base_url", "base_url_env", "database_url_env", "token_env",
             "app_log", "protected", "health_path", "start_command", "stop_command",
             "compose_file", "cleanup_after_run", "seed_sql", "seed_command", "seed_scale",
             "working_dir", "artillery", "log_fields", "hosts", "prometheus_url",
             "access_log_format", "access_log_time_unit", "pool_log_pattern", "logs"}
_LOG_KEYS = {"path", "kind", "format", "time_unit"}
LOG_KINDS: tuple[LogKind, ...] = ("app", "access")
_HOST_KEYS = {"role", "node_exporter", "instance"}
_LOG_FIELD_KEYS = {"route", "status", "latency_ms"}
# What perfdash.collect.access_log can read (its FORMAT_UNITS and TIME_UNITS; a test keeps them equal).
ACCESS_LOG_FORMATS = ("combined", "common", "nginx", "gunicorn", "apache")
ACCESS_LOG_TIME_UNITS = ("us", "ms", "s")


# What a threshold can name for certain. Deliberately conservative: only what the tool could never
# evaluate is refused (custom metrics keep working).
# k6: metric names follow k6's grammar (a tag filter in braces is allowed); the stats are those of
# k6's four metric types (trend avg/min/med/max/p(N), counter count/rate, rate, gauge value).
_K6_METRIC = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*(\{.+\})?$")
_K6_STAT = re.compile(r"^(avg|min|med|max|count|rate|value|p\(\d+(\.\d+)?\))$")
# Artillery: the stats of its report's summaries and counters. Metric names are free-form (plugins
# and custom metrics emit any name), so only k6's built-in names, certainly misplaced, are refused.
_ARTILLERY_STATS = ("min", "max", "mean", "median", "count", "p50", "p75", "p90", "p95", "p99",
                    "p999")
_K6_BUILTIN = {"http_req_duration", "http_req_failed", "http_reqs", "http_req_waiting",
               "http_req_blocked", "http_req_connecting", "http_req_sending", "http_req_receiving",
               "http_req_tls_handshaking", "checks", "iterations", "iteration_duration", "vus",
               "vus_max", "data_sent", "data_received", "dropped_iterations", "ws_sessions",
               "ws_connecting", "ws_msgs_sent", "ws_msgs_received", "ws_ping", "ws_session_duration"}


def threshold_problem(tool: str, metric: str, stat: str) -> tuple[str, str] | None:
    """(problem, fix) for a threshold the tool could never evaluate, else None."""
    if tool == "k6":
        if not _K6_METRIC.match(metric):
            return (f"{metric!r} is not a k6 metric name (letters, digits and _, optionally a "
                    "{tag:value} filter)",
                    "use k6's names such as http_req_duration or checks; Artillery metrics go "
                    "under thresholds.artillery")
        if not _K6_STAT.match(stat):
            return (f"k6 has no statistic {stat!r}",
                    "use avg, min, med, max, p(N), count, rate or value, e.g. \"p(95)<500\"")
        return None
    if not metric.strip() or metric != metric.strip() or "{" in metric:
        return (f"{metric!r} is not an Artillery report metric name",
                'use the report\'s names such as "http.response_time" or "vusers.failed"')
    if metric in _K6_BUILTIN:
        return (f"{metric!r} is a k6 metric, which Artillery does not report",
                "move it to thresholds.k6, or use Artillery's names such as http.response_time")
    if stat not in _ARTILLERY_STATS:
        return (f"Artillery has no statistic {stat!r}",
                f"use one of {', '.join(_ARTILLERY_STATS)}, e.g. \"p95<800\"")
    return None


def _thresholds(r: _Reader, table: str, data: Mapping[str, Any]) -> tuple[Threshold, ...]:
    r.known(data, table, {"k6", "artillery"})
    result: list[Threshold] = []
    for tool in ("k6", "artillery"):
        sub = f"{table}.{tool}"
        for metric, exprs in r.table(data, table, tool).items():
            items = [exprs] if isinstance(exprs, str) else exprs
            if not isinstance(items, list) or not all(isinstance(e, str) for e in items):
                raise r.fail(sub, metric, "expected a list of expressions",
                             'write it like "http_req_duration" = ["p(95)<500"]')
            for expr in items:
                threshold = make_threshold(tool, metric, expr, f"{r.path.name} [{sub}]")
                if threshold is None:
                    raise r.fail(sub, metric, f"cannot read threshold {expr!r}",
                                 'write "<stat> <op> <number>", e.g. "p(95)<500" or "rate>=0.99"')
                problem = threshold_problem(tool, metric, threshold.stat)
                if problem is not None:
                    raise r.fail(sub, metric, problem[0], problem[1])
                result.append(threshold)
    return tuple(result)


def _k6_stages(r: _Reader, table: str, raw: Any) -> list[K6Stage]:
    if not isinstance(raw, list):
        raise r.fail(table, "stages", "expected a list of tables",
                     'write stages = [{ duration = "10s", target = 5 }]')
    stages: list[K6Stage] = []
    for i, stage in enumerate(raw):
        if not isinstance(stage, Mapping) or set(stage) != {"duration", "target"}:
            raise r.fail(table, "stages", f"stage {i + 1} is not {{duration, target}}",
                         'write stages = [{ duration = "10s", target = 5 }]')
        try:
            parse_duration(str(stage["duration"]))
        except ValueError:
            raise r.fail(table, "stages", f"stage {i + 1} has a bad duration {stage['duration']!r}",
                         'use k6 durations like "30s" or "1m30s"') from None
        target = stage["target"]
        if isinstance(target, bool) or not isinstance(target, int) or target < 0:
            raise r.fail(table, "stages", f"stage {i + 1} has target {target!r}",
                         "write the number of virtual users as a whole number >= 0")
        stages.append(K6Stage(str(stage["duration"]), target))
    return stages


def _artillery_phases(r: _Reader, table: str, raw: Any) -> list[Mapping[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(p, Mapping) for p in raw):
        raise r.fail(table, "phases", "expected a list of tables",
                     "write phases = [{ duration = 10, arrivalRate = 2 }]")
    for i, phase in enumerate(raw):
        for key in ("duration", "pause", "arrivalRate", "rampTo", "arrivalCount", "maxVusers"):
            if key not in phase:
                continue
            value = phase[key]
            ok = (not isinstance(value, bool) and isinstance(value, int | float)
                  and math.isfinite(value) and value >= 0
                  and (value > 0 or key not in ("duration", "pause")))
            if not ok:
                unit = "seconds " if key in ("duration", "pause") else ""
                raise r.fail(table, "phases", f"phase {i + 1} has {key} = {value!r}",
                             f"write {key} as a number of {unit}greater than 0")
    return list(raw)


def _string_table(r: _Reader, table: str, key: str, raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise r.fail(table, key, "expected a table of strings",
                     f'write {key} = {{ NAME = "value" }}')
    return dict(raw)


# A profile's name becomes part of file names in the run directory (`k6-<profile>.json`) and of the
# results directory's own name: a plain name cannot point anywhere else.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


def _profile(r: _Reader, project: Path, name: str, data: Mapping[str, Any]) -> Profile:
    if not _PLAIN_NAME.fullmatch(name):
        raise SettingsError(f"{r.where('profiles')}: the profile name {name!r} is not a plain name; "
                            "rename it using only letters, digits, '_', '-' and '.' (not first).")
    table = f"profiles.{name}"
    r.known(data, table, _PROFILE_KEYS | set(_TOOL_TABLES))
    mode = r.str_(data, table, "mode", "parallel")
    if mode not in ("parallel", "sequential"):
        raise r.fail(table, "mode", f"unknown mode {mode!r}", 'use "parallel" or "sequential"')
    k6 = r.table(data, table, "k6")
    r.known(k6, f"{table}.k6", {"script", "stages", "env", "generators", "web_dashboard",
                                "latency_source"})
    web_dashboard = r.bool_(k6, f"{table}.k6", "web_dashboard", False)
    latency_source = _latency_source(r, f"{table}.k6", k6, web_dashboard)
    generators = _generators(r, f"{table}.k6", k6.get("generators", 1))
    stages = _k6_stages(r, f"{table}.k6", k6.get("stages", []))
    k6_env = _string_table(r, f"{table}.k6", "env", k6.get("env", {}))
    art = r.table(data, table, "artillery")
    r.known(art, f"{table}.artillery", {"script", "config", "phases", "environment", "target"})
    phases = _artillery_phases(r, f"{table}.artillery", art.get("phases", []))
    k6_script = r.str_(k6, f"{table}.k6", "script")
    if isinstance(art.get("script"), list):
        # measured with Artillery 2.0.34: `run a.yml b.yml` deep-merges the files, so b's first
        # scenario replaces a's and a never runs
        raise r.fail(f"{table}.artillery", "script", "names several scenario files, which Artillery "
                     "merges into one (the later file's scenarios replace the earlier's)",
                     "name one scenario file per profile, or list the scenarios in one file")
    art_script = r.str_(art, f"{table}.artillery", "script")
    art_config = r.str_(art, f"{table}.artillery", "config")
    for tool, script, section in (("k6", k6_script, k6), ("artillery", art_script, art)):
        if script is None and section:
            raise r.fail(f"{table}.{tool}", None, f"sets {', '.join(sorted(section))} but no script",
                         f"add script = \"path\" to [{table}.{tool}] or remove the table")
    own_tables = _tool_tables(r, project, table, data)
    if k6_script is None and art_script is None and not own_tables:
        raise r.fail(table, None, "names neither a k6 nor an Artillery script",
                     "add [" + table + ".k6] script = \"k6/your-script.js\"")
    host = r.table(data, table, "host")
    r.known(host, f"{table}.host", {"cpu_warn_pct", "memory_warn_pct"})
    db = r.table(data, table, "database")
    r.known(db, f"{table}.database", {"slow_query_ms"})
    checks_min = r.number(data, table, "checks_min_rate", 0.99)
    baseline = r.table(data, table, "baseline")
    r.known(baseline, f"{table}.baseline",
            {"tolerance_pct", "fail_on_regression", "min_effect_ms", "confidence"})
    confidence = r.number(baseline, f"{table}.baseline", "confidence", 0.95)
    if not 0.5 <= confidence < 1:
        raise r.fail(f"{table}.baseline", "confidence", f"expected a level between 0.5 and 1, got "
                     f"{confidence:g}", "write e.g. confidence = 0.95")
    return Profile(
        name=name,
        description=r.str_(data, table, "description", "") or "",
        mode="sequential" if mode == "sequential" else "parallel",
        k6_script=(project / k6_script) if k6_script else None,
        artillery_script=(project / art_script) if art_script else None,
        k6_stages=tuple(stages),
        artillery_phases=tuple(dict(p) for p in phases),
        k6_env=k6_env,
        artillery_environment=r.str_(art, f"{table}.artillery", "environment"),
        artillery_target=r.str_(art, f"{table}.artillery", "target"),
        artillery_config=(project / art_config) if art_config else None,
        project_dir=project,
        thresholds=_thresholds(r, f"{table}.thresholds", r.table(data, table, "thresholds")),
        host=HostLimits(
            cpu_warn_pct=r.number(host, f"{table}.host", "cpu_warn_pct", 80.0),
            memory_warn_pct=r.number(host, f"{table}.host", "memory_warn_pct", 90.0),
        ),
        slow_query_ms=r.number(db, f"{table}.database", "slow_query_ms", 100.0),
        checks_min_rate=checks_min,
        regression_tolerance_pct=r.number(baseline, f"{table}.baseline", "tolerance_pct", 10.0),
        fail_on_regression=r.bool_(baseline, f"{table}.baseline", "fail_on_regression", False),
        regression_min_effect_ms=r.number(baseline, f"{table}.baseline", "min_effect_ms", 1.0),
        regression_confidence=confidence,
        k6_generators=generators,
        k6_web_dashboard=latency_source == "dashboard",
        k6_latency_source=latency_source,
        tool_tables=own_tables,
    )


LATENCY_SOURCES = ("mean", "dashboard", "remote-write")


def _latency_source(r: _Reader, table: str, k6: Mapping[str, Any], web_dashboard: bool) -> str:
    """`latency_source`, or what `web_dashboard` (the older key) implies without it."""
    source = r.str_(k6, table, "latency_source")
    if source is None:
        return "dashboard" if web_dashboard else "mean"
    if source not in LATENCY_SOURCES:
        raise r.fail(table, "latency_source", f"unknown source {source!r}",
                     "use " + ", ".join(f'"{s}"' for s in LATENCY_SOURCES))
    if web_dashboard and source != "dashboard":
        raise r.fail(table, "latency_source", f'"{source}" contradicts web_dashboard = true',
                     "remove web_dashboard (latency_source = \"dashboard\" is the same)")
    return source


def _tool_tables(r: _Reader, project: Path, table: str, data: Mapping[str, Any]) -> dict[str, ToolTable]:
    """The profile's tables of tools that read their own, each read by its tool."""
    out: dict[str, ToolTable] = {}
    for tool, reader in _TOOL_TABLES.items():
        if tool not in data:
            continue
        sub = f"{table}.{tool}"
        raw = r.table(data, table, tool)
        try:
            out[tool] = replace(reader(raw, project), raw=dict(raw))
        except ToolTableError as exc:
            raise r.fail(sub, exc.key, exc.problem, exc.fix) from None
    return out


def read_tool_tables(raw: Mapping[str, Any], project: Path) -> dict[str, ToolTable]:
    """Tool tables kept in a run's summary, read again by their tools; a table its tool no longer
    reads (written by another perfdash version, or a tool not installed here) is left out."""
    _register_tools()
    out: dict[str, ToolTable] = {}
    for tool, table in raw.items():
        reader = _TOOL_TABLES.get(tool)
        if reader is None or not isinstance(table, Mapping):
            continue
        try:
            out[tool] = replace(reader(table, project), raw=dict(table))
        except ToolTableError:
            continue
    return out


def _generators(r: _Reader, table: str, raw: Any) -> Generators:
    if raw == "k6-operator":
        return "k6-operator"
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 64:
        raise r.fail(table, "generators", f"expected a whole number from 1 to 64 or "
                     f"\"k6-operator\", got {raw!r}", "write e.g. generators = 2")
    return raw


def _hosts(r: _Reader, table: str, data: Mapping[str, Any], prometheus: str | None,
           ) -> tuple[HostSpec, ...]:
    """`[<env>.hosts] api-1 = { role = "backend", node_exporter = "http://api-1:9100" }`, or with
    `instance = "api-1:9100"` when the environment's Prometheus scrapes it. Backend hosts first."""
    sub = f"{table}.hosts"
    hosts: list[HostSpec] = []
    for name, raw in r.table(data, table, "hosts").items():
        if not isinstance(raw, Mapping):
            raise r.fail(sub, name, "expected a table",
                         f'write {name} = {{ role = "backend", node_exporter = "http://HOST:9100" }}')
        r.known(raw, sub, _HOST_KEYS)
        role = r.str_(raw, sub, "role", "backend") or "backend"
        url = r.str_(raw, sub, "node_exporter")
        instance = r.str_(raw, sub, "instance")
        if (url is None) == (instance is None):
            raise r.fail(sub, name, "needs exactly one of node_exporter (its URL) or instance "
                         "(its label in the environment's Prometheus)",
                         'write node_exporter = "http://HOST:9100"')
        if instance is not None and not prometheus:
            raise r.fail(sub, name, "names an instance label but the environment has no "
                         "prometheus_url", 'add prometheus_url = "http://HOST:9090" to '
                         f"[{table}]")
        if url is not None and not url.startswith(("http://", "https://")):
            raise r.fail(sub, name, f"node_exporter {url!r} is not an http(s) URL",
                         'write node_exporter = "http://HOST:9100"')
        hosts.append(HostSpec(name, role, url, instance))
    return tuple(sorted(hosts, key=lambda h: h.role != "backend"))


def _pattern(r: _Reader, table: str, data: Mapping[str, Any], key: str) -> str | None:
    """A regular expression setting, compiled once here so a typo is one sentence, not a traceback."""
    value = r.str_(data, table, key)
    if value is None:
        return None
    try:
        re.compile(value.encode())
    except re.error as exc:
        raise r.fail(table, key, f"{value!r} is not a regular expression ({exc})",
                     "fix the pattern (Python re syntax; use single quotes in TOML to keep "
                     "backslashes)") from None
    return value


def _access_log(r: _Reader, table: str, data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The access log's preset and request-time unit, each one of the values the counter knows."""
    found: list[str | None] = []
    for key, allowed in (("access_log_format", ACCESS_LOG_FORMATS),
                         ("access_log_time_unit", ACCESS_LOG_TIME_UNITS)):
        value = r.str_(data, table, key)
        if value is not None and value not in allowed and not (
                key == "access_log_format" and is_format_string(value)):
            raise r.fail(table, key, f"unknown value {value!r}",
                         "use one of " + ", ".join(f'"{a}"' for a in allowed)
                         + (", or the server's own format string" if key == "access_log_format" else ""))
        found.append(value)
    access_format, time_unit = found
    if access_format is not None and is_format_string(access_format):
        access_format, time_unit = _translated(r, table, "access_log_format", access_format, time_unit)
    if time_unit is not None and access_format in ("combined", "common"):
        raise r.fail(table, "access_log_time_unit", f'access_log_format = "{access_format}" has no '
                     "request time", 'drop access_log_time_unit, or name the format that writes the '
                     'time (e.g. access_log_format = "nginx")')
    return access_format, time_unit


def _translated(r: _Reader, table: str, key: str, text: str, time_unit: str | None,
                where: str = "") -> tuple[str, str | None]:
    """A server's own format string as (preset, unit); a time_unit set beside it must agree."""
    try:
        preset, unit = from_format_string(text)
    except FormatError as exc:
        raise r.fail(table, key, f"{where}{exc.problem}", exc.fix) from None
    if time_unit is not None and unit is not None and time_unit != unit:
        raise r.fail(table, key, f'{where}the format writes its request time in "{unit}", the '
                     f'time unit says "{time_unit}"', "drop the time unit: the format says it")
    return preset, unit or time_unit


def _logs(r: _Reader, table: str, data: Mapping[str, Any], workdir: Path,
          defaults: tuple[str | None, str | None]) -> tuple[LogSpec, ...]:
    """`logs = [{ path = "logs/app.log", kind = "app" }, { path = "logs/access.log", kind = "access",
    format = "nginx" }]`: every file checked here, so a typo is a sentence before the run, not a
    log nobody followed. App logs hold the request lines too when no access log is named."""
    raw = data.get("logs")
    if raw is None:
        return ()
    example = '{ path = "logs/app.log", kind = "app" }'
    if not isinstance(raw, list) or not raw:
        raise r.fail(table, "logs", f"expected a list of tables, got {raw!r}",
                     f"write logs = [{example}, ...]")
    if data.get("app_log") is not None:
        raise r.fail(table, "app_log", "both app_log and logs name log files",
                     f'move app_log into logs as {{ path = "{data["app_log"]}", kind = "app" }}')
    found: list[tuple[Path, str, str | None, str | None]] = []
    seen: dict[Path, int] = {}
    for n, entry in enumerate(raw, start=1):
        where = f"logs entry {n}"
        if not isinstance(entry, Mapping):
            raise r.fail(table, "logs", f"{where} is {entry!r}, not a table", f"write it as {example}")
        unknown = sorted(set(entry) - _LOG_KEYS)
        if unknown:
            raise r.fail(table, "logs", f"{where} has the unknown key {unknown[0]!r}",
                         f"use only {', '.join(sorted(_LOG_KEYS))}")
        path, kind = entry.get("path"), entry.get("kind")
        if not isinstance(path, str) or not path.strip():
            raise r.fail(table, "logs", f"{where} has no path" if path is None else
                         f"{where} has the path {path!r}, not a file name",
                         'add path = "logs/app.log" (relative to working_dir)')
        if kind not in LOG_KINDS:
            raise r.fail(table, "logs", f"{where} ({path}) has no kind" if kind is None else
                         f"{where} ({path}) has the unknown kind {kind!r}",
                         'add kind = "app" (errors, warnings, the log pane) or kind = "access" '
                         "(requests per endpoint)")
        fmt, unit = entry.get("format", defaults[0]), entry.get("time_unit", defaults[1])
        if kind == "app" and ("format" in entry or "time_unit" in entry):
            key = "format" if "format" in entry else "time_unit"
            raise r.fail(table, "logs", f"{where} ({path}) is an app log with {key} set",
                         f'drop {key}, or make it kind = "access" if the file holds request lines')
        if kind == "access" and isinstance(fmt, str) and is_format_string(fmt):
            fmt, unit = _translated(r, table, "logs", fmt, unit, f"{where} ({path}): ")
        for key, value, allowed in (("format", fmt, ACCESS_LOG_FORMATS),
                                    ("time_unit", unit, ACCESS_LOG_TIME_UNITS)):
            if value is not None and value not in allowed:
                raise r.fail(table, "logs", f"{where} ({path}) has the unknown {key} {value!r}",
                             f"use one of {', '.join(repr(a) for a in allowed)}")
        if kind == "access" and "time_unit" in entry and fmt in ("combined", "common"):
            raise r.fail(table, "logs", f'{where} ({path}) has format = "{fmt}", which has no '
                         "request time, and a time_unit", "drop time_unit, or name the format that "
                         'writes the time (e.g. format = "nginx")')
        resolved = (workdir / path).resolve()
        if resolved in seen:
            raise r.fail(table, "logs", f"{where} names {path}, as entry {seen[resolved]} does",
                         "keep one entry per file")
        seen[resolved] = n
        found.append((resolved, str(kind), fmt, unit))
    any_access = any(kind == "access" for _, kind, _, _ in found)
    specs = [LogSpec(path, "access", format=fmt, time_unit=unit) if kind == "access"
             else LogSpec(path, "app", requests=not any_access, format=defaults[0],
                          time_unit=defaults[1])
             for path, kind, fmt, unit in found]
    return tuple(sorted(specs, key=lambda spec: spec.kind != "app"))


def _environment(r: _Reader, project: Path, name: str, data: Mapping[str, Any],
                 values: Mapping[str, str | None]) -> Environment:
    table = f"environments.{name}"
    r.known(data, table, _ENV_KEYS)
    kind = r.str_(data, table, "kind", "external")
    if kind not in ("demo", "external"):
        raise r.fail(table, "kind", f"unknown kind {kind!r}", 'use "demo" or "external"')

    def var_of(key: str, default_var: str) -> str:
        return r.str_(data, table, key, default_var) or default_var

    def from_env(key: str, default_var: str) -> str | None:
        return values.get(var_of(key, default_var)) or None

    base_url = r.str_(data, table, "base_url")
    if kind == "external" and not base_url:
        base_url = from_env("base_url_env", "PERF_BASE_URL")
    db = from_env("database_url_env", "PERF_DATABASE_URL") if kind == "external" else None
    token = from_env("token_env", "PERF_API_TOKEN")
    working = r.str_(data, table, "working_dir", ".") or "."
    workdir = (project / working).resolve()
    app_log = r.str_(data, table, "app_log")
    log_fields_table = r.table(data, table, "log_fields")
    r.known(log_fields_table, f"{table}.log_fields", _LOG_FIELD_KEYS)
    log_fields = {k: r.str_(log_fields_table, f"{table}.log_fields", k) or ""
                  for k in log_fields_table}
    access_format, time_unit = _access_log(r, table, data)
    logs = _logs(r, table, data, workdir, (access_format, time_unit))
    compose = r.str_(data, table, "compose_file")
    artillery = r.str_(data, table, "artillery")
    health = r.str_(data, table, "health_path", "/health") or "/health"
    if not health.startswith("/"):
        raise r.fail(table, "health_path", f"{health!r} does not start with /",
                     'write it as a path, e.g. health_path = "/healthz"')
    seed_sql = r.str_(data, table, "seed_sql")
    seed_command = r.str_(data, table, "seed_command")
    if seed_sql and seed_command:
        raise r.fail(table, "seed_command", "both seed_sql and seed_command are set",
                     "keep one of them")
    prometheus = r.str_(data, table, "prometheus_url")
    if prometheus is not None and not prometheus.startswith(("http://", "https://")):
        raise r.fail(table, "prometheus_url", f"{prometheus!r} is not an http(s) URL",
                     'write prometheus_url = "http://HOST:9090"')
    hosts = _hosts(r, table, data, prometheus)
    scale = r.number(data, table, "seed_scale", 100)
    if scale < 0 or scale != int(scale):
        raise r.fail(table, "seed_scale", f"expected a whole number >= 0, got {scale:g}",
                     "write e.g. seed_scale = 100")
    return Environment(
        name=name,
        description=r.str_(data, table, "description", "") or "",
        kind="demo" if kind == "demo" else "external",
        base_url=base_url.rstrip("/") if base_url else None,
        database_url=Secret(db) if db else None,
        api_token=Secret(token) if token else None,
        app_log=(workdir / app_log).resolve() if app_log else next(
            (log.path for log in logs if log.kind == "app"), None),
        protected=r.bool_(data, table, "protected", False),
        health_path=health,
        start_command=r.str_(data, table, "start_command"),
        stop_command=r.str_(data, table, "stop_command"),
        compose_file=(project / compose) if compose else None,
        cleanup_after_run=r.bool_(data, table, "cleanup_after_run", False),
        seed_sql=(project / seed_sql) if seed_sql else (
            DEMO_SEED if kind == "demo" and not seed_command else None),
        seed_command=seed_command,
        seed_scale=int(scale),
        log_fields=log_fields,
        access_log_format=access_format,
        access_log_time_unit=time_unit,
        pool_log_pattern=_pattern(r, table, data, "pool_log_pattern"),
        working_dir=workdir,
        artillery_bin=(project / artillery) if artillery else None,
        hosts=hosts,
        prometheus_url=prometheus.rstrip("/") if prometheus else None,
        database_url_env=var_of("database_url_env", "PERF_DATABASE_URL"),
        logs=logs,
    )


_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=")


def _line_key(line: str) -> str:
    """`the key PERF_API_TOKEN` for a line that looks like an assignment, else `no key`."""
    m = _ASSIGNMENT.match(line)
    return f"key {m.group(1)}" if m else "no recognisable key"


def read_text_utf8(path: Path) -> str:
    """A settings file's text; a file that is not UTF-8 is a SettingsError naming the line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"{path} cannot be read ({exc.strerror}); make it a readable file."
                            ) from None
    if data.startswith(codecs.BOM_UTF8):
        # Editors on Windows add it; TOML and dotenv read it as part of the first key.
        raise SettingsError(f"{path.name} starts with a UTF-8 byte order mark (BOM), which "
                            "would be read as part of its first line; save it as UTF-8 without "
                            "BOM.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_no = data[:exc.start].count(b"\n") + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        end = data.find(b"\n", exc.start)
        line = data[start:end if end >= 0 else len(data)].decode("utf-8", "replace")
        raise SettingsError(
            f"{path.name} line {line_no} ({_line_key(line)}) is not UTF-8 text (byte "
            f"0x{data[exc.start]:02x} at column {exc.start - start + 1}); save the file as UTF-8."
        ) from None


def parse_env_text(path: Path, text: str) -> dict[str, str | None]:
    """`KEY=value` lines the way python-dotenv reads them (quotes, `export`, `${VAR}`), but every
    line it cannot read is a SettingsError naming the file, the line and the variable it would have
    set, instead of a warning without a file name and a silently missing secret."""
    import io

    bindings = list(parse_stream(io.StringIO(text)))
    for b in bindings:
        if not b.error:
            continue
        line = b.original.string.splitlines()[0] if b.original.string else ""
        m = _ASSIGNMENT.match(line)
        # The line's text is not shown: it may hold (part of) a secret.
        lost = f"so {m.group(1)} is not set" if m else "it sets no variable"
        quotes = bool(m) and (line.count('"') % 2 == 1 or line.count("'") % 2 == 1)
        hint = ("close the quote on that line" if quotes
                else "write it as NAME=value, or start it with # to make it a comment")
        raise SettingsError(f"{path.name} line {b.original.line} cannot be read ({lost}); {hint}.")
    pairs = [(b.key, b.value) for b in bindings if b.key is not None]
    return dict(resolve_variables(pairs, override=True))


def read_env_file(path: Path) -> dict[str, str | None]:
    """`.env.performance` merged under the process environment (CI injects secrets as env vars)."""
    values: dict[str, str | None] = (parse_env_text(path, read_text_utf8(path))
                                     if path.is_file() else {})
    values.update({k: v for k, v in os.environ.items() if k.startswith("PERF_")})
    return values


def load_settings(project_dir: Path, config_file: Path | None = None,
                  env_file: Path | None = None) -> Settings:
    """Read and validate everything; raises SettingsError with a sentence for the user."""
    _register_tools()
    path = config_file or project_dir / CONFIG_NAME
    if not path.is_file():
        raise SettingsError(
            f"{path} does not exist; run perfdash from the project directory that holds "
            f"{CONFIG_NAME}, or pass --config PATH."
        )
    text = read_text_utf8(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path.name} is not valid TOML: {exc}; fix the syntax there.") from None
    except RecursionError:
        raise SettingsError(f"{path.name} nests arrays or tables hundreds of levels deep, more "
                            "than TOML can be read with and far more than any setting has; fix "
                            "the file.") from None
    r = _Reader(path, text)
    r.known(data, "", {"defaults", "profiles", "environments"})
    defaults = r.table(data, "defaults", "defaults") if "defaults" in data else {}
    results = r.str_(defaults, "defaults", "results_dir", "results/perf") or "results/perf"
    env_path = env_file or project_dir / ENV_FILE_NAME
    values = read_env_file(env_path)
    profiles_raw = r.table(data, "profiles", "profiles")
    envs_raw = r.table(data, "environments", "environments")
    if not profiles_raw:
        raise SettingsError(f"{path.name} defines no profiles; add a [profiles.smoke] table.")
    if not envs_raw:
        raise SettingsError(f"{path.name} defines no environments; add [environments.local].")
    profiles = {n: _profile(r, project_dir, n, r.table(profiles_raw, "profiles", n))
                for n in profiles_raw}
    envs = {n: _environment(r, project_dir, n, r.table(envs_raw, "environments", n), values)
            for n in envs_raw}
    return Settings(
        project_dir=project_dir,
        config_file=path,
        results_dir=project_dir / results,
        profiles=profiles,
        environments=envs,
    )


def require_external_env(env: Environment, env_file: Path) -> None:
    """An external environment cannot run without a base URL: say where it should come from."""
    if env.kind == "external" and not env.base_url:
        if not env_file.is_file():
            raise SettingsError(
                f"{env_file.name} not found and PERF_BASE_URL is not set for environment "
                f"{env.name!r}; copy .env.performance.example to {env_file.name} and fill it in."
            )
        raise SettingsError(
            f"{env_file.name}: PERF_BASE_URL is missing for environment {env.name!r}; "
            "add PERF_BASE_URL=http://127.0.0.1:PORT there."
        )
