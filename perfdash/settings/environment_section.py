"""`[environments.E]`: the environment's keys, its secrets taken from `.env.performance` and the
process environment, its hosts and its logs, read into an `Environment`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfdash.secret import Secret
from perfdash.settings.environment import Environment, HostSpec
from perfdash.settings.locations import DEMO_SEED
from perfdash.settings.log_section import read_access_log, read_logs
from perfdash.settings.toml_reader import TomlReader

_ENV_KEYS = {"description", "kind", "base_url", "base_url_env", "database_url_env", "token_env",
             "app_log", "protected", "health_path", "start_command", "stop_command",
             "compose_file", "cleanup_after_run", "seed_sql", "seed_command", "seed_scale",
             "working_dir", "artillery", "log_fields", "hosts", "prometheus_url",
             "access_log_format", "access_log_time_unit", "pool_log_pattern", "logs"}


_HOST_KEYS = {"role", "node_exporter", "instance"}
_LOG_FIELD_KEYS = {"route", "status", "latency_ms"}


def _hosts(r: TomlReader, table: str, data: Mapping[str, Any], prometheus: str | None,
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


def _pattern(r: TomlReader, table: str, data: Mapping[str, Any], key: str) -> str | None:
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


def read_environment(r: TomlReader, project: Path, name: str, data: Mapping[str, Any],
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
    access_format, time_unit = read_access_log(r, table, data)
    logs = read_logs(r, table, data, workdir, (access_format, time_unit))
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
