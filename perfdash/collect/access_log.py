"""Requests per endpoint from the backend's own log, counted while the log is tailed.

The app-log tail hands every block of whole lines it reads to `EndpointCounter.feed`. The first
request lines decide the format, once (JSON with its field names, the common/combined access-log
format, or the demo backend's plain lines: perfdash.collect.access_log_formats).

After that a block costs one `finditer` over the whole block and a dict update per request line:
no split into lines, no JSON decoding. A log in no recognised format is given up after
`DETECT_LINES` candidate lines and costs nothing more. The counts go to `applog-endpoints.json`
at the end of the load, per route (normalised: query string dropped, ids and placeholders become
`{}`, perfdash.collect.route_names) and status class, with a latency histogram (4% buckets,
perfdash.collect.latency_buckets) for p50/p95/p99.

An access log's request time has no unit on the line; the setting or the first times decide it,
and the artifact says which unit was assumed and why (perfdash.collect.request_time_units).

Behind a reverse proxy the access log is the proxy's. nginx can write `$upstream_response_time`
after `$request_time` (`... "k6/1.1.0" 0.182 0.012`: both in seconds; `-` when nginx answered
without asking the backend; `0.010, 0.004` when it tried two upstreams): the difference is time
spent in the proxy (a `limit_req` queue, buffering to a slow client, connecting upstream), and a
`-` with a 5xx is the proxy's own refusal, not the backend's. Both are kept per route.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfdash.artifacts import APPLOG_ENDPOINTS_JSON, write_json_atomic
from perfdash.collect.access_log_formats import COMBINED, DEFAULT_FIELDS, PLAIN, UPSTREAM_TIME, json_format
from perfdash.collect.endpoint_groups import OTHER, Groups, IntervalTimes
from perfdash.collect.latency_buckets import BUCKET_BASE, bucket_of
from perfdash.collect.request_time_units import (
    FORMAT_UNITS,
    TIME_UNITS,
    UNIT_SAMPLE,
    guess_json_unit,
    infer_time_unit,
)
from perfdash.collect.route_counts import TOO_MANY_REQUESTS, RouteCounts, route_json, status_class
from perfdash.collect.route_names import normalise_route

ARTIFACT = APPLOG_ENDPOINTS_JSON
# Latencies are read from at most this much of one batch (about 2,000 JSON lines, 8k lines/s at
# 4 batches a second); beyond it they are a sample, the counts stay exact.
LATENCY_BYTES = 256 * 1024
DETECT_LINES = 200  # candidate lines looked at before a log counts as "no request format"
MAX_ROUTES = 500  # distinct normalised routes kept; the rest are counted under OTHER
_CACHE_MAX = 20_000
UNIT_SETTING = "setting: access_log_time_unit"


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
            self.time_unit_source = UNIT_SETTING
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
        # every route's request times since the last drain: the timeline's per-second server
        # percentiles (srv_p50_ms...) and their per-group rows (server-latency.csv)
        self._interval = IntervalTimes()
        # a JSON log's latency field, its unit (None until the first times decide) and why
        self._json_latency_key = ""
        self._json_unit: str | None = "ms"
        self._json_unit_source: str | None = None

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
            elif COMBINED.match(line):
                self.format, self._line = "combined", COMBINED
            elif PLAIN.match(line):
                self.format, self._line = "plain", PLAIN
            if not self.recognised and self._seen >= DETECT_LINES:
                self.gave_up = True

    def _detect_json(self, line: bytes) -> None:
        setting = self.time_unit if self.time_unit_source == UNIT_SETTING else None
        found = json_format(line, self._fields, setting)
        if found is None:
            return
        self._route, self._status, self._latency = found.route, found.status, found.latency
        self._json_latency_key, self._json_unit, self._json_unit_source = (
            found.latency_key, found.unit, found.unit_source)
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
            key = self._key(raw)
            rc = self._counts_for(key)
            rc.latency_sum_ms += ms * n
            rc.latency_n += n
            b = bucket_of(ms)
            rc.buckets[b] = rc.buckets.get(b, 0) + n
            self._interval.add(key, b, n)

    def drain_interval(self) -> dict[int, int]:
        """The request times counted since the last call, as a bucket histogram, and start anew."""
        return self.drain_times()[0]

    def drain_times(self) -> tuple[dict[int, int], Groups]:
        """The same, with the histograms of the busiest endpoint groups (perfdash.collect.endpoint_groups)."""
        return self._interval.drain({key: rc.count for key, rc in self._routes.items()})

    def _add_upstream(self, lines: Counter[tuple[bytes, bytes, bytes, bytes]]) -> None:
        """nginx's request and upstream times, both decimal seconds (nginx writes no other unit).

        Several upstream tries (`0.010, 0.004`) add up: the proxy waited for each. A `-` alone
        means the proxy answered without the backend."""
        for (raw, status, request_s, upstream_s), n in lines.items():
            rc = self._counts_for(self._key(raw))
            tries = UPSTREAM_TIME.findall(upstream_s)
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
        routes = {key: route_json(rc) for key, rc in sorted(self._routes.items())}
        upstream = any(r.upstream_n or r.proxy_answered for r in self._routes.values())
        return {"format": self.format, "request_lines": self.request_lines, "upstream_times": upstream,
                "latency_not_read": self.latency_sampled, **self._unit_fields(),
                "bucket_base": BUCKET_BASE, "routes": routes,
                "note": self.note if self.note or self.format else (
                    "no request format recognised in the log" if self.gave_up else
                    "no request line seen")}

    def write(self, path: Path) -> None:
        write_json_atomic(path, self.to_json())


def count_file(path: Path, fields: Mapping[str, str] | None = None, *, log_format: str | None = None,
               time_unit: str | None = None) -> dict[str, Any]:
    """The same counts for a whole log file after the fact (tests, a replayed run)."""
    counter = EndpointCounter(fields, log_format=log_format, time_unit=time_unit)
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    counter.feed(data[:end] if end else data + b"\n")
    return counter.to_json()
