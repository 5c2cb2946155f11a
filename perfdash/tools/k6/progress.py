"""k6's live progress from its REST API.

Progress is polled from `--address` on a free loopback port about once a second: cumulative values,
so req/s comes from count deltas. The poll runs on the machine under test, so it asks only for what
it shows, on one kept-alive connection.

Without k6's web dashboard output (`perfdash.tools.k6.latency`), the timeline's k6 latency is the
mean of the requests between two trend answers: k6's cumulative average times its request count
is the sum of every duration so far, so two answers give the interval's exact mean for the price
of the p95 request already made. The request count is asked again right after the trend, so both
cover the same requests (a few ms apart instead of the whole poll).
"""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Any

from perfdash.collect.background import Background
from perfdash.events import (
    ERROR_RATE,
    FAIL_RATIO,
    P95_MS,
    REQUESTS,
    RPS,
    THRESHOLDS_CROSSED,
    USERS,
    USERS_MAX,
    Bus,
    LatencySampled,
    ToolProgressed,
)
from perfdash.net import free_port
from perfdash.tools.k6.live import CHECKS_RATE, ITERATIONS

# Each poll of k6's REST API (or each Prometheus query of a followed run), one JSON line.
PROGRESS_FILE = "k6-progress.ndjson"

TREND_STATS = "avg,min,med,max,p(90),p(95),p(99)"
_COUNTERS = ("http_reqs", "iterations", "checks", "http_req_failed")
_TREND = "http_req_duration"
# k6 1.x keeps every duration sample and sorts them all to answer a trend request, so the cost
# grows with the run (measured here: about 1 ms at 6k samples, 12 ms at 100k; a soak gathers
# millions). The p95 is refreshed at most this often, and never so often that k6 spends more than
# TREND_BUDGET of a core on it: the time the last answer took sets the wait before the next.
TREND_MIN_INTERVAL_S = 3.0
TREND_BUDGET = 0.005


def next_trend_after(cost_s: float) -> float:
    """Seconds to wait before asking k6 for the p95 again, given what the last request cost."""
    return max(TREND_MIN_INTERVAL_S, cost_s / TREND_BUDGET)


def interval_mean(prev: tuple[int, float] | None, count: int, avg_ms: float) -> float | None:
    """The mean duration of the requests between two trend answers, each (request count, k6's
    cumulative average); None when no request ended in between."""
    if prev is None or count <= prev[0]:
        return None
    mean = (avg_ms * count - prev[1] * prev[0]) / (count - prev[0])
    return max(0.0, mean)  # rounding of k6's average must not draw a negative latency


class K6Poller(Background):
    """Polls k6's REST API; records each poll to k6-progress.ndjson and publishes ToolProgressed."""

    def __init__(self, bus: Bus, port: int, planned_s: float, record: Path,
                 interval_s: float = 1.0, interval_means: bool = False) -> None:
        super().__init__("k6-poller")
        self._bus = bus
        self._port = port
        self._planned = planned_s
        self._record = record
        self._interval = interval_s
        self._means = interval_means  # publish LatencySampled means (no dashboard output)
        self._trend_prev: tuple[int, float] | None = None
        self._conn: http.client.HTTPConnection | None = None
        self.last: ToolProgressed | None = None
        self.trend_requests = 0
        self.next_trend_at = 0.0  # time.monotonic() of the next p95 request; 0: the first poll

    @staticmethod
    def free_port() -> int:
        return free_port()

    def stop(self) -> None:
        super().stop()
        self._disconnect()

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _get(self, path: str) -> Any:
        """One request on a kept-alive connection: a new connection per request costs both k6 and
        us more than the request itself. None when k6 does not know the metric yet."""
        if self._conn is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=2)
        self._conn.request("GET", path)
        resp = self._conn.getresponse()
        body = resp.read()
        if resp.status == 404:
            return None  # not emitted yet (no request, no check so far)
        if resp.status != 200:
            raise ValueError(f"k6 answered {resp.status} to {path}")
        return json.loads(body)["data"]["attributes"]

    def _metrics(self, names: tuple[str, ...]) -> dict[str, Any]:
        """Only the metrics the progress needs, one request each: `/v1/metrics` would compute
        percentiles of every trend k6 keeps (eight or more sorts of every sample so far)."""
        found = {name: self._get(f"/v1/metrics/{name}") for name in names}
        return {name: value for name, value in found.items() if value is not None}

    def _run(self) -> None:
        start = time.monotonic()
        prev: tuple[float, int] | None = None
        failed_prev: tuple[int, float] | None = None  # (requests, failed requests) so far
        p95: float | None = None
        with self._record.open("a", encoding="utf-8") as out:
            while not self._stopping.wait(self._interval):
                try:
                    status = self._get("/v1/status") or {}
                    metrics = self._metrics(_COUNTERS)
                    now = time.monotonic()
                    if now >= self.next_trend_at:
                        metrics.update(self._metrics((_TREND,)))
                        self.trend_requests += 1
                        self.next_trend_at = now + next_trend_after(time.monotonic() - now)
                        if self._means:
                            self._publish_mean(metrics)
                except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError):
                    self._disconnect()
                    continue  # not up yet, or already gone
                now = time.monotonic()
                p95 = _sample(metrics, _TREND, "p(95)") or p95
                count = int(_sample(metrics, "http_reqs", "count") or 0)
                rate = 0.0 if prev is None else (count - prev[1]) / max(now - prev[0], 1e-6)
                failed_rate = _sample(metrics, "http_req_failed", "rate")
                checks = _sample(metrics, "checks", "rate")
                event = k6_progress(
                    now - start, self._planned, vus=status.get("vus", 0),
                    vus_max=status.get("vus-max", 0),
                    iterations=_sample(metrics, "iterations", "count") or 0, requests=count,
                    rps=rate, p95_ms=p95, checks_rate=checks, failed_rate=failed_rate,
                    error_rate=interval_error_rate(failed_prev, count, failed_rate),
                    tainted=bool(status.get("tainted", False)))
                prev = (now, count)
                if failed_rate is not None:
                    failed_prev = (count, failed_rate * count)
                self.last = event
                out.write(json.dumps({"at": event.at, "status": status,
                                      "requests": count, "req_per_s": round(rate, 2),
                                      "p95_ms": p95, "checks_rate": checks,
                                      "failed_rate": failed_rate}) + "\n")
                out.flush()
                self._bus.publish(event)


    def _publish_mean(self, metrics: dict[str, Any]) -> None:
        avg = _sample(metrics, _TREND, "avg")
        counted = self._get("/v1/metrics/http_reqs")
        count = _sample({"http_reqs": counted}, "http_reqs", "count")
        if avg is None or count is None:
            return
        mean = interval_mean(self._trend_prev, int(count), avg)
        self._trend_prev = (int(count), avg)
        if mean is not None:
            self._bus.publish(LatencySampled("k6", time.time(), None, None, None, None, None,
                                             mean_ms=mean))


def interval_error_rate(prev: tuple[int, float] | None, requests: int,
                        failed_rate: float | None) -> float | None:
    """The share of the requests since the previous sample that failed, from k6's cumulative
    http_req_failed rate and request count (`prev`: requests and failed requests then); None
    when no request ended in between or k6 has no rate yet."""
    if prev is None or failed_rate is None or requests <= prev[0]:
        return None
    failed = failed_rate * requests
    return min(1.0, max(0.0, (failed - prev[1]) / (requests - prev[0])))


def k6_progress(elapsed_s: float, planned_s: float, *, vus: float, vus_max: float,
                iterations: float, requests: float, rps: float, p95_ms: float | None,
                checks_rate: float | None, failed_rate: float | None, error_rate: float | None,
                tainted: bool) -> ToolProgressed:
    """k6's figures as its ToolProgressed (see perfdash.tools.k6.live for how they are shown)."""
    return ToolProgressed("k6", elapsed_s, planned_s, (
        (USERS, float(vus)), (USERS_MAX, float(vus_max)), (ITERATIONS, float(iterations)),
        (REQUESTS, float(requests)), (RPS, rps), (P95_MS, p95_ms), (CHECKS_RATE, checks_rate),
        (FAIL_RATIO, failed_rate), (ERROR_RATE, error_rate),
        (THRESHOLDS_CROSSED, 1.0 if tainted else 0.0)))


def _sample(metrics: dict[str, Any], name: str, key: str) -> float | None:
    value = (metrics.get(name) or {}).get("sample", {}).get(key)
    return float(value) if isinstance(value, int | float) else None
