"""The request-line formats the access-log counter reads, and how the first request line of a JSON
log is turned into the patterns that count every later one.

Split from perfdash.collect.access_log because deciding a format (once per log, from a handful of
lines) and counting with it (every block, in C where possible) change for different reasons: a new
logger's field names land here, a faster count lands there.

- JSON lines holding a route (or path/url), a status and optionally a latency field; the field
  names come from the environment's `log_fields` (default `route`, `status`, `ms`, with common
  aliases tried when those are absent). The key order of the first request line is compiled into
  one regular expression per field;
- the common / combined access-log format (`"GET /path HTTP/1.1" 200 512`, with an optional
  request time at the end of the line: nginx `$request_time`, gunicorn `%(M)s`, Apache `%D`...);
- a plain line `... GET /path 200 1.3ms` (the demo backend's format).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from perfdash.collect.request_time_units import UNITLESS_KEYS

DEFAULT_FIELDS: Mapping[str, str] = {"route": "route", "status": "status", "latency_ms": "ms"}
# Tried when the configured name is not in the line. A dotted name is a key inside an object
# (pino-http's `"req":{"method":"GET","url":"/x"}`, `"res":{"statusCode":200}`); a line is searched
# for its last part (`"url":`), which must then be the line's only key of that name.
ALIASES: Mapping[str, tuple[str, ...]] = {
    "route": ("route", "path", "url", "endpoint", "uri", "request_path", "req.url", "request.url",
              "req.path"),
    "status": ("status", "status_code", "statusCode", "code", "res_status", "res.statusCode",
               "response.status_code", "res.status"),
    "latency_ms": ("ms", "duration_ms", "latency_ms", "response_time", "responseTime",
                   "elapsed_ms", "took_ms", "duration"),
}

# route, status, request time, its stated unit, upstream time(s) (nginx `$upstream_response_time`)
COMBINED = re.compile(
    rb'^[^\n"]*"[A-Z]+ ([^ "\n]+)[^"\n]*" (\d{3}) [^\n]*?(?:[ ](\d+(?:\.\d+)?)[ ]?(ms)?'
    rb'(?:[ ]((?:\d+\.\d+|-)(?:(?:, | : )(?:\d+\.\d+|-))*))?)?[ \t\r]*$',
    re.MULTILINE)
UPSTREAM_TIME = re.compile(rb"\d+\.\d+")
PLAIN = re.compile(
    rb"^[^\n]*?\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/[^ \n]*) (\d{3}) (\d+(?:\.\d+)?)ms\b[^\n]*$",
    re.MULTILINE)

_ABSENT = object()


@dataclass(frozen=True)
class JsonFormat:
    """The patterns that read a JSON log's request lines, and the unit of its latency field.

    `unit` None: the key does not say its unit (UNITLESS_KEYS) and the first times decide."""

    route: re.Pattern[bytes]
    status: re.Pattern[bytes]
    latency: re.Pattern[bytes] | None
    latency_key: str
    unit: str | None
    unit_source: str | None


def _field_re(raw_line: bytes, name: str, value: bytes) -> re.Pattern[bytes]:
    """`"name":VALUE` as a pure literal prefix (no `\\s*`: a literal prefix lets the regex engine
    skip to candidates at memchr speed, 2.4x faster), spaced as the first request line spaced it."""
    key = b'"' + re.escape(name.encode()) + b'"'
    spaced = raw_line.find(key + b": ") >= 0
    return re.compile(key + (b": " if spaced else b":") + value)


def _member(record: Mapping[str, Any], name: str) -> tuple[str, Any]:
    """(the key the line writes, its value) for `name`: a key of the record, else the path into its
    objects (`req.url`: the `url` of the `req` object, written `"url":`); value _ABSENT if neither."""
    if name in record:
        return name, record[name]
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return name, _ABSENT
        value = value[part]
    return name.rsplit(".", 1)[-1], value


def json_format(line: bytes, fields: Mapping[str, str], unit_setting: str | None) -> JsonFormat | None:
    """The format of a JSON log from one of its lines, or None when the line is no request line.

    `fields`: the environment's names for route, status and latency_ms; `unit_setting`: the
    `access_log_time_unit` the user set, which then holds for the JSON latency field too."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    chosen: dict[str, str] = {}
    values: dict[str, Any] = {}
    for role in ("route", "status", "latency_ms"):
        configured = fields.get(role, "")
        names = (configured, *ALIASES[role]) if configured else ALIASES[role]
        for n in names:
            key, value = _member(record, n)
            # a latency written as text ("12ms") is not read: the next alias may be a number
            if value is not _ABSENT and (role != "latency_ms" or (
                    isinstance(value, int | float) and not isinstance(value, bool))):
                chosen[role], values[role] = key, value
                break
    if "route" not in chosen or "status" not in chosen:
        return None  # not a request line: a start-up message, say
    if not isinstance(values["route"], str):
        return None
    if isinstance(values["status"], bool) or not isinstance(values["status"], int | str):
        return None
    quoted = isinstance(values["status"], str)
    route = _field_re(line, chosen["route"], rb'"([^"\n]*)"')
    status = _field_re(line, chosen["status"], rb'"(\d+)"' if quoted else rb"(\d+)")
    # The unit of the latency: the setting's; decided by the first times for a key that does not
    # say it (UNITLESS_KEYS); else ms, as `log_fields.latency_ms` is documented.
    unit: str | None = "ms"
    unit_source: str | None = None
    latency = None
    key = chosen.get("latency_ms", "")
    if key:
        if unit_setting is not None:
            unit = unit_setting
            unit_source = f"setting: the time unit of the {key!r} field"
        elif key in UNITLESS_KEYS and key != fields["latency_ms"]:
            unit = None
        else:
            unit_source = f"json: the {key!r} field is read as ms"
        # Whole milliseconds and one decimal: enough for 4% buckets, and few distinct values;
        # seconds keep four decimals (a tenth of a millisecond).
        digits = rb"(\d+(?:\.\d)?)" if unit == "ms" else rb"(\d+(?:\.\d{1,4})?)"
        latency = _field_re(line, key, digits)
    return JsonFormat(route, status, latency, key, unit, unit_source)
