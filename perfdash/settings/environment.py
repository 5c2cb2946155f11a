"""An environment as the run sees it: where the backend answers, its secrets, its logs, the
machines measured and the commands that start, stop and seed it. Built by
perfdash.settings.environment_section; `redacted` is the only form that leaves the process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from perfdash.secret import Secret, redact_command, redact_url


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
