"""An environment's logs: `app_log` with its access-log preset, or the `logs` list of app and access
logs, every file and format checked before the run so a typo is not a log nobody followed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfdash.log_formats import FormatError, from_format_string, is_format_string
from perfdash.settings.environment import LogKind, LogSpec
from perfdash.settings.toml_reader import TomlReader

_LOG_KEYS = {"path", "kind", "format", "time_unit"}
LOG_KINDS: tuple[LogKind, ...] = ("app", "access")


# What perfdash.collect.access_log can read (its FORMAT_UNITS and TIME_UNITS; a test keeps them equal).
ACCESS_LOG_FORMATS = ("combined", "common", "nginx", "gunicorn", "apache")
ACCESS_LOG_TIME_UNITS = ("us", "ms", "s")


def read_access_log(r: TomlReader, table: str, data: Mapping[str, Any]) -> tuple[str | None, str | None]:
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


def _translated(r: TomlReader, table: str, key: str, text: str, time_unit: str | None,
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


def read_logs(r: TomlReader, table: str, data: Mapping[str, Any], workdir: Path,
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
