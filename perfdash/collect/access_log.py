"""Requests per endpoint from the backend's own log, counted while the log is tailed.

The app-log tail hands every block of whole lines it reads to `EndpointCounter.feed`. The first
request lines decide the format, once:

- JSON lines holding a route (or path/url), a status and optionally a latency field; the field
  names come from the environment's `log_fields` (default `route`, `status`, `ms`, with common
  aliases tried when those are absent). The key order of the first request line is compiled into
  one regular expression;
- the common / combined access-log format (`"GET /path HTTP/1.1" 200 512`, with an optional
  request time at the end of the line: nginx `$request_time`, gunicorn `%(M)s`, Apache `%D`...);
- a plain line `... GET /path 200 1.3ms` (the demo backend's format).

After that a block costs one `finditer` over the whole block and a dict update per request line:
no split into lines, no JSON decoding. A log in no recognised format is given up after
`DETECT_LINES` candidate lines and costs nothing more. The counts go to `applog-endpoints.json`
at the end of the load, per route (normalised: query string dropped, ids and placeholders become
`{}`) and status class, with a latency histogram (4% buckets) for p50/p95/p99.

An access log's request time has no unit on the line: nginx writes decimal seconds (`0.031`),
gunicorn's `%(M)s` integer milliseconds, its `%(D)s` and Apache's `%D` integer microseconds. The
environment's `access_log_time_unit` or `access_log_format` settles it; without them the first
`UNIT_SAMPLE` times decide (a fraction means seconds, integers milliseconds unless typically above
100,000, then microseconds) and the artifact says which unit was assumed and why, because a wrong
guess is a 1000x error that looks like a slow backend.

Behind a reverse proxy the access log is the proxy's. nginx can write `$upstream_response_time`
after `$request_time` (`... "k6/1.1.0" 0.182 0.012`: both in seconds; `-` when nginx answered
without asking the backend; `0.010, 0.004` when it tried two upstreams): the difference is time
spent in the proxy (a `limit_req` queue, buffering to a slow client, connecting upstream), and a
`-` with a 5xx is the proxy's own refusal, not the backend's. Both are kept per route.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfdash.artifacts import APPLOG_ENDPOINTS_JSON, write_json_atomic

ARTIFACT = APPLOG_ENDPOINTS_JSON
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
# Latencies are read from at most this much of one batch (about 2,000 JSON lines, 8k lines/s at
# 4 batches a second); beyond it they are a sample, the counts stay exact.
LATENCY_BYTES = 256 * 1024
DETECT_LINES = 200  # candidate lines looked at before a log counts as "no request format"
MAX_ROUTES = 500  # distinct normalised routes kept; the rest are counted under OTHER
OTHER = "(other routes)"
BUCKET_BASE = 1.04
_LOG_BASE = math.log(BUCKET_BASE)
_CACHE_MAX = 20_000

# Milliseconds per unit of an access log's request time.
TIME_UNITS: Mapping[str, float] = {"us": 0.001, "ms": 1.0, "s": 1000.0}
# The unit each access-log preset writes its request time in; None: the preset has no request time.
# gunicorn's `%(L)s` (decimal seconds) is told from its `%(M)s` by the fraction.
FORMAT_UNITS: Mapping[str, str | None] = {"combined": None, "common": None, "nginx": "s",
                                          "gunicorn": "ms", "apache": "us"}
UNIT_SAMPLE = 100  # request times looked at before an unset unit is inferred
MICROSECONDS_ABOVE = 100_000  # a typical integer time above this is microseconds, not ms
SUSPECT_RATIO = 10.0  # the server's mean time above this many times the clients' is a unit mistake

_QUERY = re.compile(r"[?#].*$")
_ORIGIN = re.compile(r"^[a-z][a-z0-9+.-]*://[^/]*", re.IGNORECASE)
_TEMPLATE = re.compile(r"\{\{[^}]*\}\}|\$\{[^}]*\}|\{[^}/]*\}|(?<=/):[A-Za-z_][A-Za-z0-9_]*")
_ID_SEGMENT = re.compile(
    r"(?<=/)(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,})(?=/|$)")

# route, status, request time, its stated unit, upstream time(s) (nginx `$upstream_response_time`)
_COMBINED = re.compile(
    rb'^[^\n"]*"[A-Z]+ ([^ "\n]+)[^"\n]*" (\d{3}) [^\n]*?(?:[ ](\d+(?:\.\d+)?)[ ]?(ms)?'
    rb'(?:[ ]((?:\d+\.\d+|-)(?:(?:, | : )(?:\d+\.\d+|-))*))?)?[ \t\r]*$',
    re.MULTILINE)
_UPSTREAM_TIME = re.compile(rb"\d+\.\d+")
_PLAIN = re.compile(
    rb"^[^\n]*?\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/[^ \n]*) (\d{3}) (\d+(?:\.\d+)?)ms\b[^\n]*$",
    re.MULTILINE)


def normalise_route(raw: str) -> str:
    """One key for the same endpoint named by a log, k6 or Artillery.

    Origin and query string dropped; `{{ var }}`, `${expr}`, `{var}` and `:var` placeholders and
    path segments that are ids (digits, UUIDs, long hex) become `{}`; trailing slash dropped.
    """
    path = _QUERY.sub("", _ORIGIN.sub("", raw.strip()))
    path = _TEMPLATE.sub("{}", path)
    path = _ID_SEGMENT.sub("{}", path)
    if len(path) > 1:
        path = path.rstrip("/")
    return path or "/"


def bucket_of(ms: float) -> int:
    return int(math.log(ms) / _LOG_BASE) + 1 if ms >= 1.0 else 0 if ms <= 0 else -1


def bucket_value(b: int) -> float:
    """The upper edge of a bucket, in ms (the value a percentile reports)."""
    return 0.0 if b == 0 else 1.0 if b == -1 else float(BUCKET_BASE ** b)


TOO_MANY_REQUESTS = 429


def status_class(status: int) -> str:
    return "none" if status < 100 else f"{status // 100}xx"


@dataclass
class RouteCounts:
    count: int = 0
    by_class: dict[str, int] = field(default_factory=dict)
    throttled: int = 0  # 429 Too Many Requests: the server protecting itself, not failing
    latency_sum_ms: float = 0.0
    latency_n: int = 0
    buckets: dict[int, int] = field(default_factory=dict)
    # behind a reverse proxy: requests with an upstream time, their upstream and proxy time (request
    # time minus upstream time), and what the proxy answered itself (`-`) by status class
    upstream_n: int = 0
    upstream_sum_ms: float = 0.0
    proxy_sum_ms: float = 0.0
    upstream_buckets: dict[int, int] = field(default_factory=dict)
    proxy_answered: dict[str, int] = field(default_factory=dict)


def _field_re(raw_line: bytes, name: str, value: bytes) -> re.Pattern[bytes]:
    """`"name":VALUE` as a pure literal prefix (no `\\s*`: a literal prefix lets the regex engine
    skip to candidates at memchr speed, 2.4x faster), spaced as the first request line spaced it."""
    key = b'"' + re.escape(name.encode()) + b'"'
    spaced = raw_line.find(key + b": ") >= 0
    return re.compile(key + (b": " if spaced else b":") + value)


_ABSENT = object()
# JSON latency keys that do not say their unit: milliseconds or seconds, told apart by the times.
UNITLESS_KEYS = frozenset({"duration"})


def guess_json_unit(key: str, times: list[tuple[bytes, int]]) -> tuple[str, str]:
    """(unit, why) for a JSON latency whose key does not name its unit, from (raw time, count) pairs.

    A request typically under a millisecond is rarer than one under a second, so a typical time
    below 1 is seconds (structlog's and many middlewares' `duration`), else milliseconds."""
    values = sorted((float(raw), n) for raw, n in times)
    half, seen, median = sum(n for _, n in values) / 2, 0, 0.0
    for value, n in values:
        seen += n
        if seen >= half:
            median = value
            break
    if median < 1:
        return "s", (f"inferred: the {key!r} field, typically {median:g}, is read as seconds; if it is "
                     'ms set time_unit = "ms" for this log')
    return "ms", (f"inferred: the {key!r} field, typically {median:g}, is read as ms; if it is seconds "
                  'set time_unit = "s" for this log')


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


class EndpointCounter:
    """Counts request lines per (route, status class) from blocks of whole log lines."""

    def __init__(self, fields: Mapping[str, str] | None = None,
                 latency_bytes: int = LATENCY_BYTES, *, log_format: str | None = None,
                 time_unit: str | None = None) -> None:
        if log_format is not None and log_format not in FORMAT_UNITS:
            raise ValueError(f"unknown access log format {log_format!r}: use one of "
                             f"{', '.join(FORMAT_UNITS)}")
        if time_unit is not None and time_unit not in TIME_UNITS:
            raise ValueError(f"unknown request time unit {time_unit!r}: use one of {', '.join(TIME_UNITS)}")
        self._fields = {**DEFAULT_FIELDS, **(fields or {})}
        self._log_format = log_format
        # The access log's request time: its unit once known, and why; times wait in _pending until then.
        self.time_unit: str | None = time_unit
        self.time_unit_source: str | None = None
        self._fraction_unit: str | None = None  # gunicorn: a time with a fraction is %(L)s, seconds
        if time_unit is not None:
            self.time_unit_source = "setting: access_log_time_unit"
        elif log_format is not None and FORMAT_UNITS[log_format] is not None:
            self.time_unit = FORMAT_UNITS[log_format]
            self.time_unit_source = f"setting: access_log_format = {log_format}"
            self._fraction_unit = "s" if log_format == "gunicorn" else None
        self._no_time = log_format is not None and FORMAT_UNITS[log_format] is None and time_unit is None
        self._pending: Counter[tuple[bytes, bytes]] = Counter()
        self._pending_n = 0
        self.format: str | None = None  # "json", "combined", "plain" once recognised
        self.gave_up = False
        self._seen = 0
        self._route: re.Pattern[bytes] | None = None
        self._status: re.Pattern[bytes] | None = None
        self._latency: re.Pattern[bytes] | None = None
        self._line: re.Pattern[bytes] | None = None  # combined / plain: one pattern per line
        self._latency_bytes = latency_bytes
        self._routes: dict[str, RouteCounts] = {}
        self._cache: dict[bytes, str] = {}
        self.request_lines = 0
        self.latency_sampled = 0  # request lines whose latency was not read (budget)
        self.note: str | None = None
        # every route's request times since the last `drain_interval`: the timeline's per-second
        # server percentiles (srv_p50_ms...)
        self._interval: Counter[int] = Counter()

    @property
    def recognised(self) -> bool:
        return self._route is not None or self._line is not None

    # ------------------------------------------------------------------ detection
    def _detect(self, block: bytes) -> None:
        for raw in block.split(b"\n"):
            if self.recognised or self.gave_up:
                return
            line = raw.strip()
            if not line:
                continue
            self._seen += 1
            if line.startswith(b"{"):
                self._detect_json(line)
            elif _COMBINED.match(line):
                self.format, self._line = "combined", _COMBINED
            elif _PLAIN.match(line):
                self.format, self._line = "plain", _PLAIN
            if not self.recognised and self._seen >= DETECT_LINES:
                self.gave_up = True

    def _detect_json(self, line: bytes) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            return
        if not isinstance(record, dict):
            return
        chosen: dict[str, str] = {}
        values: dict[str, Any] = {}
        for role in ("route", "status", "latency_ms"):
            configured = self._fields.get(role, "")
            names = (configured, *ALIASES[role]) if configured else ALIASES[role]
            for n in names:
                key, value = _member(record, n)
                # a latency written as text ("12ms") is not read: the next alias may be a number
                if value is not _ABSENT and (role != "latency_ms" or (
                        isinstance(value, int | float) and not isinstance(value, bool))):
                    chosen[role], values[role] = key, value
                    break
        if "route" not in chosen or "status" not in chosen:
            return  # not a request line: a start-up message, say
        if not isinstance(values["route"], str):
            return
        if isinstance(values["status"], bool) or not isinstance(values["status"], int | str):
            return
        quoted = isinstance(values["status"], str)
        self._route = _field_re(line, chosen["route"], rb'"([^"\n]*)"')
        self._status = _field_re(line, chosen["status"], rb'"(\d+)"' if quoted else rb"(\d+)")
        # The unit of the latency: the setting's; decided by the first times for a key that does not
        # say it (UNITLESS_KEYS); else ms, as `log_fields.latency_ms` is documented.
        self._json_unit: str | None = "ms"
        self._json_unit_source: str | None = None
        self._json_latency_key = key = chosen.get("latency_ms", "")
        if key:
            if self.time_unit_source == "setting: access_log_time_unit":
                self._json_unit = self.time_unit
                self._json_unit_source = f"setting: the time unit of the {key!r} field"
            elif key in UNITLESS_KEYS and key != self._fields["latency_ms"]:
                self._json_unit = None
            else:
                self._json_unit_source = f"json: the {key!r} field is read as ms"
            # Whole milliseconds and one decimal: enough for 4% buckets, and few distinct values;
            # seconds keep four decimals (a tenth of a millisecond).
            digits = rb"(\d+(?:\.\d)?)" if self._json_unit == "ms" else rb"(\d+(?:\.\d{1,4})?)"
            self._latency = _field_re(line, key, digits)
        self.format = "json"

    def _add_json_latencies(self, pairs: Counter[tuple[bytes, bytes]]) -> None:
        if not pairs:
            return
        if self._json_unit is None:
            self._json_unit, self._json_unit_source = guess_json_unit(
                self._json_latency_key, [(raw, n) for (_, raw), n in pairs.items()])
        self._add_latencies(pairs, TIME_UNITS[self._json_unit])

    def _json_unit_fields(self) -> dict[str, str | None]:
        if self._latency is None:
            return {"time_unit": "ms", "time_unit_source": "json: no latency field in the request lines"}
        return {"time_unit": self._json_unit or "ms",
                "time_unit_source": self._json_unit_source or "json: no request time read"}

    # ------------------------------------------------------------------ counting
    def feed(self, block: bytes) -> None:
        """Count the request lines of `block` (whole lines, ending with a newline)."""
        if self.gave_up:
            return
        if not self.recognised:
            self._detect(block)
            if not self.recognised:
                return
        if self._line is not None:
            self._feed_lines(block)
        else:
            self._feed_json(block)

    def _feed_json(self, block: bytes) -> None:
        """Three literal-prefixed findall passes over the block, counted in C (Counter over zip).

        The lists line up when every line with a route has a status (and a latency): checked by
        their lengths, else that block goes line by line."""
        assert self._route is not None
        assert self._status is not None
        routes = self._route.findall(block)
        statuses = self._status.findall(block)
        if len(routes) != len(statuses):
            self._feed_json_lines(block)
            return
        self._add_counts(Counter(zip(routes, statuses, strict=True)))
        self.request_lines += len(routes)
        if self._latency is None:
            return
        cut = len(block)
        head = routes
        if cut > self._latency_bytes:  # a flood: latencies from the first part of the batch only
            cut = block.find(b"\n", self._latency_bytes) + 1 or len(block)
            head = self._route.findall(block, 0, cut)
            self.latency_sampled += len(routes) - len(head)
        latencies = self._latency.findall(block, 0, cut)
        if len(latencies) == len(head):
            self._add_json_latencies(Counter(zip(head, latencies, strict=True)))
        else:
            self._add_json_latencies(Counter(self._line_latencies(block[:cut])))

    def _feed_json_lines(self, block: bytes) -> None:
        assert self._route is not None
        assert self._status is not None
        pairs: Counter[tuple[bytes, bytes]] = Counter()
        for line in block.split(b"\n"):
            r = self._route.search(line)
            st = self._status.search(line) if r else None
            if r and st:
                pairs[(r.group(1), st.group(1))] += 1
        self._add_counts(pairs)
        self.request_lines += sum(pairs.values())
        if self._latency is not None:
            self._add_json_latencies(Counter(self._line_latencies(block)))

    def _line_latencies(self, block: bytes) -> list[tuple[bytes, bytes]]:
        assert self._route is not None
        assert self._latency is not None
        found = []
        for line in block.split(b"\n"):
            r = self._route.search(line)
            ms = self._latency.search(line) if r else None
            if r and ms:
                found.append((r.group(1), ms.group(1)))
        return found

    def _feed_lines(self, block: bytes) -> None:
        assert self._line is not None
        found = self._line.findall(block)
        self.request_lines += len(found)
        self._add_counts(Counter((f[0], f[1]) for f in found))
        if self.format == "plain":  # the demo backend writes `1.3ms`
            self._add_latencies(Counter((f[0], f[2]) for f in found if f[2]))
            return
        if self._no_time:
            return
        stated: Counter[tuple[bytes, bytes]] = Counter()  # `31ms`: the line names its unit
        times: Counter[tuple[bytes, bytes]] = Counter()
        upstream: Counter[tuple[bytes, bytes, bytes, bytes]] = Counter()
        for f in found:
            if f[2]:
                (stated if f[3] else times)[(f[0], f[2])] += 1
                if f[4]:
                    upstream[(f[0], f[1], f[2], f[4])] += 1
        if upstream:
            self._add_upstream(upstream)
        self._add_latencies(stated)
        if not times:
            return
        if self.time_unit is None:
            self._pending.update(times)
            self._pending_n += sum(times.values())
            if self._pending_n >= UNIT_SAMPLE:
                self._settle_unit()
            return
        self._add_times(times)

    def _add_times(self, times: Counter[tuple[bytes, bytes]]) -> None:
        """Request times in the settled unit; gunicorn's decimal `%(L)s` in seconds."""
        assert self.time_unit is not None
        if self._fraction_unit is None:
            self._add_latencies(times, TIME_UNITS[self.time_unit])
            return
        whole = Counter({k: n for k, n in times.items() if b"." not in k[1]})
        self._add_latencies(whole, TIME_UNITS[self.time_unit])
        self._add_latencies(times - whole, TIME_UNITS[self._fraction_unit])

    def _settle_unit(self) -> None:
        """Infer the unit from the times seen so far and count them in it."""
        if self.time_unit is None:
            if not self._pending:
                return
            self.time_unit, self.time_unit_source = infer_time_unit(
                [(raw, n) for (_, raw), n in self._pending.items()])
        pending, self._pending, self._pending_n = self._pending, Counter(), 0
        if pending:
            self._add_times(pending)

    def _key(self, raw: bytes) -> str:
        key = self._cache.get(raw)
        if key is None:
            key = normalise_route(raw.decode("utf-8", "replace"))
            if key not in self._routes and len(self._routes) >= MAX_ROUTES:
                key = OTHER
            if len(self._cache) < _CACHE_MAX:
                self._cache[raw] = key
        return key

    def _counts_for(self, key: str) -> RouteCounts:
        rc = self._routes.get(key)
        if rc is None:
            rc = self._routes[key] = RouteCounts()
        return rc

    def _add_counts(self, pairs: Counter[tuple[bytes, bytes]]) -> None:
        for (raw, status), n in pairs.items():
            rc = self._counts_for(self._key(raw))
            rc.count += n
            code = int(status)
            cls = status_class(code)
            rc.by_class[cls] = rc.by_class.get(cls, 0) + n
            if code == TOO_MANY_REQUESTS:
                rc.throttled += n

    def _add_latencies(self, pairs: Counter[tuple[bytes, bytes]], ms_per_unit: float = 1.0) -> None:
        for (raw, ms_raw), n in pairs.items():
            ms = float(ms_raw) * ms_per_unit
            rc = self._counts_for(self._key(raw))
            rc.latency_sum_ms += ms * n
            rc.latency_n += n
            b = bucket_of(ms)
            rc.buckets[b] = rc.buckets.get(b, 0) + n
            self._interval[b] += n

    def drain_interval(self) -> dict[int, int]:
        """The request times counted since the last call, as a bucket histogram, and start anew."""
        got, self._interval = dict(self._interval), Counter()
        return got

    def _add_upstream(self, lines: Counter[tuple[bytes, bytes, bytes, bytes]]) -> None:
        """nginx's request and upstream times, both decimal seconds (nginx writes no other unit).

        Several upstream tries (`0.010, 0.004`) add up: the proxy waited for each. A `-` alone
        means the proxy answered without the backend."""
        for (raw, status, request_s, upstream_s), n in lines.items():
            rc = self._counts_for(self._key(raw))
            tries = _UPSTREAM_TIME.findall(upstream_s)
            if not tries:
                cls = status_class(int(status))
                rc.proxy_answered[cls] = rc.proxy_answered.get(cls, 0) + n
                continue
            up_ms = sum(float(t) for t in tries) * 1000.0
            rc.upstream_n += n
            rc.upstream_sum_ms += up_ms * n
            rc.proxy_sum_ms += max(0.0, float(request_s) * 1000.0 - up_ms) * n
            b = bucket_of(up_ms)
            rc.upstream_buckets[b] = rc.upstream_buckets.get(b, 0) + n

    # ------------------------------------------------------------------ output
    def _unit_fields(self) -> dict[str, str | None]:
        """The unit the latencies were read in, and why: the one guess in this artifact."""
        if self.format == "json":
            return self._json_unit_fields()
        if self.format == "plain":
            return {"time_unit": "ms", "time_unit_source": "the log writes ms after each time"}
        if self._no_time:
            return {"time_unit": None, "time_unit_source":
                    f"setting: access_log_format = {self._log_format} has no request time"}
        return {"time_unit": self.time_unit,
                "time_unit_source": self.time_unit_source or "no request time at the end of the lines"}

    def to_json(self) -> dict[str, Any]:
        self._settle_unit()
        routes = {}
        for key, rc in sorted(self._routes.items()):
            routes[key] = {
                "count": rc.count, "by_class": dict(sorted(rc.by_class.items())),
                "status_429": rc.throttled,
                "latency_n": rc.latency_n,
                "latency_avg_ms": round(rc.latency_sum_ms / rc.latency_n, 3) if rc.latency_n else None,
                "buckets": {str(b): n for b, n in sorted(rc.buckets.items())},
            }
            if rc.upstream_n or rc.proxy_answered:
                routes[key].update(_upstream_json(rc))
        upstream = any(r.upstream_n or r.proxy_answered for r in self._routes.values())
        return {"format": self.format, "request_lines": self.request_lines, "upstream_times": upstream,
                "latency_not_read": self.latency_sampled, **self._unit_fields(),
                "bucket_base": BUCKET_BASE, "routes": routes,
                "note": self.note if self.note or self.format else (
                    "no request format recognised in the log" if self.gave_up else
                    "no request line seen")}

    def write(self, path: Path) -> None:
        write_json_atomic(path, self.to_json())


def _upstream_json(rc: RouteCounts) -> dict[str, Any]:
    n = rc.upstream_n
    return {"upstream_n": n,
            "upstream_avg_ms": round(rc.upstream_sum_ms / n, 3) if n else None,
            "proxy_avg_ms": round(rc.proxy_sum_ms / n, 3) if n else None,
            "upstream_buckets": {str(b): c for b, c in sorted(rc.upstream_buckets.items())},
            "proxy_answered": dict(sorted(rc.proxy_answered.items()))}


def percentile(buckets: Mapping[int, int], q: float) -> float | None:
    """The q-th percentile (0..100) of a bucket histogram, as the bucket's upper edge in ms."""
    total = sum(buckets.values())
    if not total:
        return None
    rank = max(1, math.ceil(total * q / 100))
    seen = 0
    for b in sorted(buckets):
        seen += buckets[b]
        if seen >= rank:
            return round(bucket_value(b), 3)
    return None


def count_file(path: Path, fields: Mapping[str, str] | None = None, *, log_format: str | None = None,
               time_unit: str | None = None) -> dict[str, Any]:
    """The same counts for a whole log file after the fact (tests, a replayed run)."""
    counter = EndpointCounter(fields, log_format=log_format, time_unit=time_unit)
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    counter.feed(data[:end] if end else data + b"\n")
    return counter.to_json()


def infer_time_unit(times: list[tuple[bytes, int]]) -> tuple[str, str]:
    """(unit, why) for request times written without a unit, from (raw time, count) pairs.

    A fraction means seconds (nginx's `0.031`, gunicorn's `%(L)s`). Integers are never taken for
    seconds: they are milliseconds (gunicorn's `%(M)s`) unless the typical one is above
    MICROSECONDS_ABOVE, a request of minutes in ms but a tenth of a second in µs (`%(D)s`, `%D`)."""
    if any(b"." in raw for raw, _ in times):
        return "s", "inferred: request times with a fraction are seconds"
    values = sorted((int(raw), n) for raw, n in times)
    half, seen, median = sum(n for _, n in values) / 2, 0, 0
    for value, n in values:
        seen += n
        if seen >= half:
            median = value
            break
    if median > MICROSECONDS_ABOVE:
        return "us", f"inferred: integer request times, typically {median:,}, are microseconds"
    if median == 0:
        return "ms", ("inferred: integer request times, mostly 0, read as ms; if they are whole "
                      "seconds set access_log_time_unit = \"s\"")
    return "ms", f"inferred: integer request times, typically {median:,}, are milliseconds"


def unit_suspect(server_ms: float | None, client_ms: float | None,
                 assumed_unit: str | None = None) -> str | None:
    """A one-sentence warning when the access log's mean request time is more than SUSPECT_RATIO
    times the clients' mean latency for the same requests, else None.

    The server's time is part of the client's, so a log that says otherwise was read in the wrong
    unit: the ratio, rounded to a power of 1000, says by how much, and `assumed_unit` (the unit it
    was read in, "s" when unknown) which unit to set instead."""
    if server_ms is None or client_ms is None or client_ms <= 0 or server_ms <= SUSPECT_RATIO * client_ms:
        return None
    ratio = server_ms / client_ms
    # 178x and up counts as 1000x: a server spends 20-100% of the client's time on a request.
    steps = int(math.log10(ratio) / 3 + 0.25)
    units = list(TIME_UNITS)  # smallest first
    at = units.index(assumed_unit if assumed_unit is not None and assumed_unit in TIME_UNITS else "s")
    if steps < 1 or at - steps < 0:
        return (f"the access log's request time ({server_ms:,.1f} ms) is {ratio:,.0f}x the clients' "
                f"latency ({client_ms:,.1f} ms): check access_log_time_unit and access_log_format.")
    return (f"the access log's request time looks {1000 ** steps}x too large ({server_ms:,.1f} ms "
            f"against the clients' {client_ms:,.1f} ms): set access_log_time_unit = "
            f"\"{units[at - steps]}\".")
