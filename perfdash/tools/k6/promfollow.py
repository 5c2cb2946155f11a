"""Live progress of k6 generators from Prometheus: the sum over every generator of the run
(`testid`), whether they are local processes or k6-operator pods.

Once a second: VUs, iterations, requests and failed requests summed; the p95 so far from the
merged native histograms; and, for the timeline, the last few seconds' percentiles and rate
(`increase` over a short window of the merged histograms). Cumulative values only move when the
generators push (every second), so req/s comes from count deltas as with k6's own API.

Following a run perfdash did not start (`perfdash attach --prometheus`, a k6-operator TestRun),
the follower is given `quiet_s`: it publishes nothing until the run's series appear (a run not yet
started is not a run at 0 VUs), and it calls `on_end` once their newest sample has not moved for
`quiet_s` seconds. Remote write leaves no end marker, so silence is the only sign a run ended; it
is measured on this machine's clock from the last time the newest sample moved, never by comparing
Prometheus' timestamps with the local time, so a skewed clock on either side changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from perfdash.collect.background import Background
from perfdash.events import (
    FAIL_RATIO,
    P95_MS,
    REQUESTS,
    RPS,
    USERS,
    Bus,
    LatencySampled,
    PhaseChanged,
    ProblemDetected,
    ToolProgressed,
)
from perfdash.prom.client import PromClient, PromError, label_matcher
from perfdash.secret import redact_url
from perfdash.tools.k6.progress import interval_error_rate, k6_progress

WINDOW = "5s"  # the timeline's per-second percentiles: a few pushes of every generator


class PromK6Follower(Background):
    """Publishes k6's ToolProgressed (and the timeline's LatencySampled) for one run's series."""

    def __init__(self, bus: Bus, prometheus_url: str, testid: str, planned_s: float,
                 record: Path | None, interval_s: float = 1.0, *, quiet_s: float | None = None,
                 on_end: Callable[[], None] | None = None) -> None:
        super().__init__("k6-prometheus-follower")
        self._bus = bus
        self._client = PromClient(prometheus_url, timeout_s=2)
        self.testid = testid
        self._sel = label_matcher(testid=testid)
        self._failed = label_matcher(testid=testid, expected_response="false")
        self._planned = planned_s
        self._record = record
        self._interval = interval_s
        self.last: ToolProgressed | None = None
        self.error: str | None = None
        self._quiet_s = quiet_s
        self._on_end = on_end
        self.seen = False  # the run's series appeared (only tracked with quiet_s)
        self.ended = False  # ... and then stayed still for quiet_s
        self._newest: float | None = None
        self._moved_at = 0.0

    def newest_sample(self) -> float | None:
        """Prometheus' timestamp of the run's newest VU sample (k6 samples VUs every second
        while it runs, whatever the load); None while the run has no series."""
        return self._value(f"max(timestamp(k6_vus{self._sel}))")

    def _still_going(self) -> bool:
        """With quiet_s: whether to publish now; notes the run's start and end (see above)."""
        if self._quiet_s is None:
            return True
        newest = self.newest_sample()
        now = time.monotonic()
        if newest is None:
            return False
        if newest != self._newest:
            if self._newest is None:
                self.seen = True
                self._bus.publish(PhaseChanged("load", f"k6 testid={self.testid} seen in "
                                                       "Prometheus"))
            self._newest, self._moved_at = newest, now
            return True
        if now - self._moved_at >= self._quiet_s:
            self.ended = True
            self._bus.publish(PhaseChanged("load", f"k6 testid={self.testid}: no new samples "
                                                   f"for {self._quiet_s:.0f} s; the run ended"))
            if self._on_end is not None:
                self._on_end()
        return True

    def _value(self, expr: str) -> float | None:
        return self._client.value(expr)

    def poll(self, elapsed_s: float, prev: tuple[float, float] | None,
             failed_prev: tuple[int, float] | None = None,
             ) -> tuple[ToolProgressed, LatencySampled | None]:
        """One sample; `prev` (when, requests) for the rate, `failed_prev` (requests, failed) at
        the previous sample for the interval error rate."""
        sel, hist = self._sel, f"k6_http_req_duration_seconds{self._sel}"
        requests = self._value(f"sum(k6_http_reqs_total{sel})") or 0.0
        failed = self._value(f"sum(k6_http_reqs_total{self._failed})") or 0.0
        p95 = self._value(f"histogram_quantile(0.95, sum({hist}))")
        now = time.monotonic()
        rate = 0.0 if prev is None else (requests - prev[1]) / max(now - prev[0], 1e-6)
        failed_rate = failed / requests if requests else None
        event = k6_progress(
            elapsed_s, self._planned, vus=self._value(f"sum(k6_vus{sel})") or 0,
            vus_max=self._value(f"sum(k6_vus_max{sel})") or 0,
            iterations=int(self._value(f"sum(k6_iterations_total{sel})") or 0),
            requests=int(requests), rps=max(0.0, rate),
            p95_ms=None if p95 is None else p95 * 1000, checks_rate=None,
            failed_rate=failed_rate,
            error_rate=interval_error_rate(failed_prev, int(requests), failed_rate), tainted=False)
        recent = f"sum(increase({hist}[{WINDOW}]))"
        q = {p: self._value(f"histogram_quantile({p}, {recent})") for p in (0.5, 0.95, 0.99)}
        latency = None
        if q[0.5] is not None:
            latency = LatencySampled("k6", time.time(), q[0.5] * 1000,
                                     None if q[0.95] is None else q[0.95] * 1000,
                                     None if q[0.99] is None else q[0.99] * 1000, None, None)
        return event, latency

    def _run(self) -> None:
        # A run followed from its start (quiet_s None) counts from now; one seen through
        # Prometheus from when its series appear.
        start = time.monotonic() if self._quiet_s is None else None
        prev: tuple[float, float] | None = None
        failed_prev: tuple[int, float] | None = None
        out = self._record.open("a", encoding="utf-8") if self._record else None
        try:
            while not self.ended and not self._stopping.wait(self._interval):
                try:
                    going = self._still_going()
                    if self._quiet_s is not None:
                        self.error = None  # it answered: the next outage is said again
                    if not going:
                        continue
                    start = time.monotonic() if start is None else start
                    event, latency = self.poll(time.monotonic() - start, prev, failed_prev)
                except PromError as exc:
                    if self._quiet_s is not None and self.error is None:
                        # Nobody else watches this Prometheus here: say so once per outage
                        # (the run's end cannot be seen either until it answers again).
                        self._bus.publish(ProblemDetected(
                            f"k6 testid={self.testid}: {redact_url(str(exc))}",
                            "the run goes on without us seeing it; progress resumes when "
                            "Prometheus answers again"))
                    self.error = str(exc)
                    continue
                self.error = None
                requests = event.get(REQUESTS) or 0.0
                prev = (time.monotonic(), requests)
                failed = event.get(FAIL_RATIO)
                if failed is not None:
                    failed_prev = (int(requests), failed * requests)
                self._publish(event, latency, out)
        finally:
            if out is not None:
                out.close()

    def _publish(self, event: ToolProgressed, latency: LatencySampled | None,
                 out: IO[str] | None) -> None:
        self.last = event
        self._bus.publish(event)
        if latency is not None:
            self._bus.publish(latency)
        if out is not None:
            out.write(json.dumps({"at": event.at, "vus": event.get(USERS),
                                  "requests": event.get(REQUESTS),
                                  "req_per_s": round(event.get(RPS) or 0.0, 2),
                                  "p95_ms": event.get(P95_MS),
                                  "failed_rate": event.get(FAIL_RATIO)}) + "\n")
            out.flush()
