"""k6 as a supervised child: the command line a profile implies, and live progress from its REST API.

Stages go on the command line (`--stage`, which outranks a script's own options), thresholds in a
`--config` file, so any k6 script works without edits. Progress is polled from `--address` on a free
loopback port about once a second: cumulative values, so req/s comes from count deltas.
"""

from __future__ import annotations

import json
import time
import urllib.error
from pathlib import Path
from typing import Any

from perfdash.artifacts import RunPaths, write_json_atomic
from perfdash.collect.background import Background
from perfdash.events import Bus, K6Progressed
from perfdash.net import OPENER, free_port
from perfdash.run.supervisor import LaunchRequest
from perfdash.secret import Secret
from perfdash.settings import Profile

TREND_STATS = "avg,min,med,max,p(90),p(95),p(99)"
_COUNTERS = ("http_reqs", "iterations", "checks", "http_req_failed")
_TRENDS = ("http_req_duration",)
TREND_EVERY = 3  # polls between p95 refreshes: each one sorts every duration sample so far


def k6_request(k6: Path, profile: Profile, paths: RunPaths, base_url: str,
               token: Secret | None, api_port: int, project_dir: Path) -> LaunchRequest:
    assert profile.k6_script is not None
    thresholds: dict[str, list[str]] = {}
    for t in profile.thresholds_for("k6"):
        thresholds.setdefault(t.metric, []).append(t.expression)
    write_json_atomic(paths.k6_config, {"thresholds": thresholds})
    argv = [
        str(k6), "run", "--no-usage-report", "--no-color", "--quiet",
        "--config", str(paths.k6_config),
        *[a for s in profile.k6_stages for a in ("--stage", f"{s.duration}:{s.target}")],
        "--summary-export", str(paths.k6_summary),
        "--summary-trend-stats", TREND_STATS,
        "--address", f"127.0.0.1:{api_port}",
        str(profile.k6_script),
    ]
    env = {"BASE_URL": base_url, "K6_NO_USAGE_REPORT": "true"}
    if token:
        env["PERF_API_TOKEN"] = token.reveal()
    return LaunchRequest("k6", argv, project_dir, paths.k6_stdout, paths.k6_stderr, env,
                         shown=" ".join(argv))


def k6_exit_meaning(code: int) -> str | None:
    """None when k6 finished its plan (0, or 99: thresholds crossed, judged by analysis)."""
    return {
        0: None, 99: None,
        103: "k6 was stopped through its REST API before the end of the plan",
        105: "k6 was interrupted before the end of the plan",
        104: "the k6 script aborted the test (test.abort())",
        107: "the k6 script threw an exception",
        108: "k6 could not read or set up the script",
    }.get(code, f"k6 exited with code {code}" if code >= 0 else f"k6 was killed by signal {-code}")


class K6Poller(Background):
    """Polls k6's REST API; records each poll to k6-progress.ndjson and publishes K6Progressed."""

    def __init__(self, bus: Bus, port: int, planned_s: float, record: Path,
                 interval_s: float = 1.0) -> None:
        super().__init__("k6-poller")
        self._bus = bus
        self._base = f"http://127.0.0.1:{port}"
        self._planned = planned_s
        self._record = record
        self._interval = interval_s
        self.last: K6Progressed | None = None

    @staticmethod
    def free_port() -> int:
        return free_port()

    def _get(self, path: str) -> Any:
        with OPENER.open(self._base + path, timeout=2) as resp:
            return json.load(resp)

    def _metrics(self, with_trend: bool) -> dict[str, Any]:
        """Only the metrics the progress needs, one request each: `/v1/metrics` would compute
        percentiles of every trend k6 keeps (eight or more sorts of every sample so far) on each
        poll, which at thousands of requests per second costs k6 measurable throughput."""
        found: dict[str, Any] = {}
        for name in (*_COUNTERS, *(_TRENDS if with_trend else ())):
            try:
                found[name] = self._get(f"/v1/metrics/{name}")["data"]["attributes"]
            except urllib.error.HTTPError:
                continue  # not emitted yet (no request, no check so far)
        return found

    def _run(self) -> None:
        start = time.monotonic()
        prev: tuple[float, int] | None = None
        p95: float | None = None
        polls = 0
        with self._record.open("a", encoding="utf-8") as out:
            while not self._stopping.wait(self._interval):
                try:
                    status = self._get("/v1/status")["data"]["attributes"]
                    metrics = self._metrics(with_trend=polls % TREND_EVERY == 0)
                except (OSError, urllib.error.URLError, ValueError, KeyError):
                    continue  # not up yet, or already gone
                polls += 1
                now = time.monotonic()
                p95 = _sample(metrics, "http_req_duration", "p(95)") or p95
                count = int(_sample(metrics, "http_reqs", "count") or 0)
                rate = 0.0 if prev is None else (count - prev[1]) / max(now - prev[0], 1e-6)
                prev = (now, count)
                event = K6Progressed(
                    vus=int(status.get("vus", 0)), vus_max=int(status.get("vus-max", 0)),
                    iterations=int(_sample(metrics, "iterations", "count") or 0),
                    requests=count, req_per_s=rate, p95_ms=p95,
                    checks_rate=_sample(metrics, "checks", "rate"),
                    failed_rate=_sample(metrics, "http_req_failed", "rate"),
                    tainted=bool(status.get("tainted", False)),
                    elapsed_s=now - start, planned_s=self._planned,
                )
                self.last = event
                out.write(json.dumps({"at": event.at, "status": status,
                                      "requests": count, "req_per_s": round(rate, 2),
                                      "p95_ms": event.p95_ms, "checks_rate": event.checks_rate,
                                      "failed_rate": event.failed_rate}) + "\n")
                out.flush()
                self._bus.publish(event)


def _sample(metrics: dict[str, Any], name: str, key: str) -> float | None:
    value = (metrics.get(name) or {}).get("sample", {}).get(key)
    return float(value) if isinstance(value, int | float) else None
