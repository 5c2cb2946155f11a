"""Requests per endpoint from the backend's own log, counted while the log is tailed.

The app-log tail hands every block of whole lines it reads to `EndpointCounter.feed`. The first
request lines decide the format, once:

- JSON lines holding a route (or path/url), a status and optionally a latency field; the field
  names come from the environment's `log_fields` (default `route`, `status`, `ms`, with common
  aliases tried when those are absent). The key order of the first request line is compiled into
  one regular expression;
- the common / combined access-log format (`"GET /path HTTP/1.1" 200 512`, with an optional
  response time in seconds or milliseconds at the end of the line);
- a plain line `... GET /path 200 1.3ms` (the demo backend's format).

After that a block costs one `finditer` over the whole block and a dict update per request line:
no split into lines, no JSON decoding. A log in no recognised format is given up after
`DETECT_LINES` candidate lines and costs nothing more. The counts go to `applog-endpoints.json`
at the end of the load, per route (normalised: query string dropped, ids and placeholders become
`{}`) and status class, with a latency histogram (4% buckets) for p50/p95/p99.
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

from perfdash.artifacts import write_json_atomic

ARTIFACT = "applog-endpoints.json"
DEFAULT_FIELDS: Mapping[str, str] = {"route": "route", "status": "status", "latency_ms": "ms"}
# Tried when the configured name is not in the line.
ALIASES: Mapping[str, tuple[str, ...]] = {
    "route": ("route", "path", "url", "endpoint", "uri", "request_path"),
    "status": ("status", "status_code", "statusCode", "code", "res_status"),
    "latency_ms": ("ms", "duration_ms", "latency_ms", "response_time", "responseTime",
                   "elapsed_ms", "took_ms"),
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

_QUERY = re.compile(r"[?#].*$")
_ORIGIN = re.compile(r"^[a-z][a-z0-9+.-]*://[^/]*", re.IGNORECASE)
_TEMPLATE = re.compile(r"\{\{[^}]*\}\}|\$\{[^}]*\}|\{[^}/]*\}|(?<=/):[A-Za-z_][A-Za-z0-9_]*")
_ID_SEGMENT = re.compile(
    r"(?<=/)(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,})(?=/|$)")

_COMBINED = re.compile(
    rb'^[^\n"]*"[A-Z]+ ([^ "\n]+)[^"\n]*" (\d{3}) [^\n]*?(?:[ ](\d+(?:\.\d+)?)(ms)?)?[ \t\r]*$',
    re.MULTILINE)
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


def status_class(status: int) -> str:
    return "none" if status < 100 else f"{status // 100}xx"


@dataclass
class RouteCounts:
    count: int = 0
    by_class: dict[str, int] = field(default_factory=dict)
    latency_sum_ms: float = 0.0
    latency_n: int = 0
    buckets: dict[int, int] = field(default_factory=dict)


def _field_re(raw_line: bytes, name: str, value: bytes) -> re.Pattern[bytes]:
    """`"name":VALUE` as a pure literal prefix (no `\\s*`: a literal prefix lets the regex engine
    skip to candidates at memchr speed, 2.4x faster), spaced as the first request line spaced it."""
    key = b'"' + re.escape(name.encode()) + b'"'
    spaced = raw_line.find(key + b": ") >= 0
    return re.compile(key + (b": " if spaced else b":") + value)


class EndpointCounter:
    """Counts request lines per (route, status class) from blocks of whole log lines."""

    def __init__(self, fields: Mapping[str, str] | None = None,
                 latency_bytes: int = LATENCY_BYTES) -> None:
        self._fields = {**DEFAULT_FIELDS, **(fields or {})}
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
        for role in ("route", "status", "latency_ms"):
            configured = self._fields.get(role, "")
            names = (configured, *ALIASES[role]) if configured else ALIASES[role]
            name = next((n for n in names if n in record), None)
            if name is not None:
                chosen[role] = name
        if "route" not in chosen or "status" not in chosen:
            return  # not a request line: a start-up message, say
        if not isinstance(record[chosen["route"]], str):
            return
        quoted = isinstance(record[chosen["status"]], str)
        self._route = _field_re(line, chosen["route"], rb'"([^"\n]*)"')
        self._status = _field_re(line, chosen["status"], rb'"(\d+)"' if quoted else rb"(\d+)")
        if "latency_ms" in chosen:
            # Whole milliseconds and one decimal: enough for 4% buckets, and few distinct values.
            self._latency = _field_re(line, chosen["latency_ms"], rb"(\d+(?:\.\d)?)")
        self.format = "json"

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
            self._add_latencies(Counter(zip(head, latencies, strict=True)))
        else:
            self._add_latencies(Counter(self._line_latencies(block[:cut])))

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
            self._add_latencies(Counter(self._line_latencies(block)))

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
        scale = 1000.0 if self.format == "combined" else 1.0
        lat: Counter[tuple[bytes, bytes]] = Counter()
        for f in found:
            if f[2]:
                ms = f[2] if (scale == 1.0 or f[3]) else str(float(f[2]) * scale).encode()
                lat[(f[0], ms)] += 1
        self._add_latencies(lat)

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
            cls = status_class(int(status))
            rc.by_class[cls] = rc.by_class.get(cls, 0) + n

    def _add_latencies(self, pairs: Counter[tuple[bytes, bytes]]) -> None:
        for (raw, ms_raw), n in pairs.items():
            ms = float(ms_raw)
            rc = self._counts_for(self._key(raw))
            rc.latency_sum_ms += ms * n
            rc.latency_n += n
            b = bucket_of(ms)
            rc.buckets[b] = rc.buckets.get(b, 0) + n

    # ------------------------------------------------------------------ output
    def to_json(self) -> dict[str, Any]:
        routes = {}
        for key, rc in sorted(self._routes.items()):
            routes[key] = {
                "count": rc.count, "by_class": dict(sorted(rc.by_class.items())),
                "latency_n": rc.latency_n,
                "latency_avg_ms": round(rc.latency_sum_ms / rc.latency_n, 3) if rc.latency_n else None,
                "buckets": {str(b): n for b, n in sorted(rc.buckets.items())},
            }
        return {"format": self.format, "request_lines": self.request_lines,
                "latency_not_read": self.latency_sampled,
                "bucket_base": BUCKET_BASE, "routes": routes,
                "note": self.note if self.note or self.format else (
                    "no request format recognised in the log" if self.gave_up else
                    "no request line seen")}

    def write(self, path: Path) -> None:
        write_json_atomic(path, self.to_json())


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


def count_file(path: Path, fields: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The same counts for a whole log file after the fact (tests, a replayed run)."""
    counter = EndpointCounter(fields)
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    counter.feed(data[:end] if end else data + b"\n")
    return counter.to_json()
