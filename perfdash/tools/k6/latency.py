"""k6's latency per second, from its built-in web dashboard output (`web_dashboard = true`).

Opt-in because of what it costs k6: the output keeps its own copy of every sample and, every
period, computes the percentiles of everything since the start as well, so k6's CPU per request
grows with the run (`bench/bench_observer.py`: +8% over 30 s runs, and rising over longer ones).
Without it, `perfdash.tools.k6.progress` gives the interval's mean from k6's REST API, and
`latency_source = "remote-write"` (perfdash.tools.k6.remote_write) per-second percentiles from
native histograms, at a cost that does not grow.

k6's REST API only knows cumulative trends. With `K6_WEB_DASHBOARD=true` k6 aggregates every sample
itself, per period (`K6_WEB_DASHBOARD_PERIOD=1s`) and since the start, and streams both as
server-sent events on `/events`: a `metric` event names metrics as they first appear, a `snapshot`
event holds one array per metric (the metrics in name order) with that period's aggregates (a trend:
avg, max, med, min, p(90), p(95), p(99); a counter: count, rate; a rate: rate; a gauge: value).
The follower reads `http_req_duration`, `http_reqs` and `http_req_failed` from each snapshot and
publishes a `LatencySampled`.

The server binds to loopback only (`K6_WEB_DASHBOARD_HOST=127.0.0.1`, a free port). At its end k6
waits for every client of `/events` to leave before it exits, so the follower leaves on the `stop`
event and never comes back. The same output exports its HTML report into the run directory.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfdash.collect.background import Background
from perfdash.events import Bus, LatencySampled

PERIOD = "1s"
REPORT_HTML = "k6-dashboard.html"
_TREND = ("avg", "max", "med", "min", "p(90)", "p(95)", "p(99)")
_READ_TIMEOUT_S = 5.0  # snapshots come every second; this long without one, reconnect


def dashboard_env(port: int, report: Path | None) -> dict[str, str]:
    """The environment that turns k6's web dashboard on, on loopback, without a browser."""
    env = {"K6_WEB_DASHBOARD": "true", "K6_WEB_DASHBOARD_HOST": "127.0.0.1",
           "K6_WEB_DASHBOARD_PORT": str(port), "K6_WEB_DASHBOARD_PERIOD": PERIOD,
           "K6_WEB_DASHBOARD_OPEN": "false"}
    if report is not None:
        env["K6_WEB_DASHBOARD_EXPORT"] = str(report)
    return env


def dashboard_port(env: Mapping[str, str]) -> int | None:
    """The dashboard's port in a launch environment built with `dashboard_env`, if any."""
    if env.get("K6_WEB_DASHBOARD") != "true":
        return None
    try:
        return int(env.get("K6_WEB_DASHBOARD_PORT", ""))
    except ValueError:
        return None


class SnapshotDecoder:
    """Turns the dashboard's event stream into LatencySampled, event by event."""

    def __init__(self, tool: str = "k6") -> None:
        self._tool = tool
        self._names: set[str] = set()
        self._order: list[str] = []
        self._trend: tuple[str, ...] = _TREND
        self.stopped = False
        self.skipped = 0  # snapshots that did not match the metrics announced

    def feed(self, event: str, data: str) -> LatencySampled | None:
        if event == "metric":
            with contextlib.suppress(ValueError, AttributeError):
                self._names.update(json.loads(data).keys())
                self._order = sorted(self._names)
        elif event == "param":
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                trend = json.loads(data).get("aggregates", {}).get("trend")
                if isinstance(trend, list) and trend:
                    self._trend = tuple(str(x) for x in trend)
        elif event == "stop":
            self.stopped = True
        elif event == "snapshot":
            return self._snapshot(data)
        return None

    def _snapshot(self, data: str) -> LatencySampled | None:
        try:
            arrays = json.loads(data)
        except ValueError:
            self.skipped += 1
            return None
        if not isinstance(arrays, list) or len(arrays) != len(self._order):
            self.skipped += 1
            return None
        by_name: dict[str, Any] = dict(zip(self._order, arrays, strict=True))

        def stat(name: str, index: int) -> float | None:
            values = by_name.get(name)
            if not isinstance(values, list) or len(values) <= index:
                return None
            value = values[index]
            return float(value) if isinstance(value, int | float) else None

        def trend(key: str) -> float | None:
            return stat("http_req_duration", self._trend.index(key)) if key in self._trend else None

        stamp = stat("time", 0)
        rps = stat("http_reqs", 1)
        if rps is None and "http_reqs" in by_name:
            rps = 0.0  # the metric is known, nothing ended in this period
        return LatencySampled(self._tool, stamp / 1000 if stamp else time.time(),
                              trend("med"), trend("p(95)"), trend("p(99)"),
                              stat("http_req_failed", 0), rps, trend("avg"))


class DashboardFollower(Background):
    """Follows k6's `/events` on a loopback port and publishes LatencySampled per snapshot."""

    def __init__(self, bus: Bus, port: int, retry_s: float = 0.25) -> None:
        super().__init__("k6-latency")
        self._bus = bus
        self._port = port
        self._retry = retry_s
        self._conn: http.client.HTTPConnection | None = None
        self.decoder = SnapshotDecoder()
        self.samples = 0

    def stop(self) -> None:
        self._stopping.set()
        conn = self._conn
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read
        super().stop()

    def _run(self) -> None:
        while not self._stopping.is_set() and not self.decoder.stopped:
            try:
                self._follow()
            except (OSError, http.client.HTTPException):
                pass  # not up yet, or gone
            finally:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
            if not self.decoder.stopped:
                self._stopping.wait(self._retry)

    def _follow(self) -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=_READ_TIMEOUT_S)
        self._conn.request("GET", "/events", headers={"Accept": "text/event-stream"})
        resp = self._conn.getresponse()
        if resp.status != 200:
            raise http.client.HTTPException(f"k6's dashboard answered {resp.status}")
        event, data = "message", []
        while not self._stopping.is_set():
            raw = resp.readline()
            if not raw:
                return  # k6 closed the stream
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line:
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "event":
                    event = value
                elif name == "data":
                    data.append(value)
                continue
            sample = self.decoder.feed(event, "\n".join(data))
            event, data = "message", []
            if sample is not None:
                self.samples += 1
                self._bus.publish(sample)
            if self.decoder.stopped:
                return  # k6 waits for its clients to leave before it exits


class Followers(Background):
    """Several followers started and stopped as one (what `K6Tool.progress` returns)."""

    def __init__(self, *members: Background) -> None:
        super().__init__("k6-followers")
        self.members = members

    def start(self) -> None:
        for m in self.members:
            m.start()

    def stop(self) -> None:
        for m in self.members:
            m.stop()

    def _run(self) -> None:  # pragma: no cover - each member runs its own thread
        pass
