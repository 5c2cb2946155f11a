"""k6's per-second latency percentiles at a flat cost: its Prometheus remote-write output, received
by perfdash itself (`latency_source = "remote-write"` in a profile's k6 table).

k6's web dashboard output recomputes the whole run's percentiles every second, so its cost grows
with the run. The remote-write output (`-o experimental-prometheus-rw`) with
`K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM=true` keeps one native histogram per trend and tag set
instead (k6 1.1: schema 3, buckets 9% wide, cumulative since the start) and pushes every series
every `K6_PROMETHEUS_RW_PUSH_INTERVAL`: the work per request is a bucket increment, whatever the
run's length. No Prometheus process is needed: this module is the remote-write endpoint, a
loopback HTTP server that decodes each push (perfdash.tools.k6.rwdecode), subtracts the previous
push of each series and publishes the second's p50/p95/p99, mean, request rate and error rate as
a LatencySampled (perfdash.tools.k6.nativehist).

Series summed: `k6_http_req_duration_seconds` (every tag set, as k6's own `http_req_duration`),
`k6_http_reqs_total` (the rate) and its `expected_response="false"` part (the error rate, as
`http_req_failed` counts it with k6's default response callback).
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterable, Mapping

from perfdash.collect.background import Background
from perfdash.events import Bus, LatencySampled
from perfdash.tools.k6.nativehist import Buckets, difference
from perfdash.tools.k6.rwdecode import DecodeError, NativeHistogram, Series, decode_write_request

OUTPUT = "experimental-prometheus-rw"
PUSH_INTERVAL = "1s"
PATH = "/api/v1/write"
_DURATION = "k6_http_req_duration_seconds"
_REQS = "k6_http_reqs_total"
_MAX_BODY = 64 * 1024 * 1024  # a push of a run with very many tag sets; more is not k6


def remote_write_env(port: int) -> dict[str, str]:
    """The environment that points k6's remote-write output at the receiver on `port`."""
    return {"K6_PROMETHEUS_RW_SERVER_URL": f"http://127.0.0.1:{port}{PATH}",
            "K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM": "true",
            "K6_PROMETHEUS_RW_PUSH_INTERVAL": PUSH_INTERVAL}


def output_args() -> list[str]:
    return ["-o", OUTPUT]


def remote_write_port(env: Mapping[str, str]) -> int | None:
    """The receiver's port in a launch environment built with `remote_write_env`, if any."""
    prefix = "http://127.0.0.1:"
    url = env.get("K6_PROMETHEUS_RW_SERVER_URL", "")
    if env.get("K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM") != "true" or not url.startswith(prefix):
        return None
    try:
        return int(url.removeprefix(prefix).split("/", 1)[0])
    except ValueError:
        return None


def _key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


class PushDiffer:
    """Turns successive pushes into per-interval LatencySampled, series by series."""

    def __init__(self, tool: str = "k6") -> None:
        self._tool = tool
        self._hist: dict[tuple[tuple[str, str], ...], NativeHistogram] = {}
        self._reqs: dict[tuple[tuple[str, str], ...], float] = {}
        self._last_t: float | None = None
        self.last_count = 0  # durations in the last interval fed
        self.last_schema: int | None = None

    def feed(self, series: Iterable[Series]) -> LatencySampled | None:
        merged: Buckets | None = None
        reqs = failed = 0.0
        stamp: int | None = None
        seen_duration = seen_reqs = False
        for s in series:
            name = s.labels.get("__name__")
            if name == _DURATION and s.histograms:
                seen_duration = True
                key = _key(s.labels)
                now = s.histograms[-1]
                interval = difference(now, self._hist.get(key))
                self._hist[key] = now
                stamp = max(stamp or 0, now.timestamp_ms)
                if merged is None:
                    merged = interval
                else:
                    merged.add(interval)
            elif name == _REQS and s.samples:
                seen_reqs = True
                key = _key(s.labels)
                ts, value = s.samples[-1]
                before = self._reqs.get(key, 0.0)
                delta = value - before if value >= before else value  # a reset counts from zero
                self._reqs[key] = value
                reqs += delta
                if s.labels.get("expected_response") == "false":
                    failed += delta
                stamp = max(stamp or 0, ts)
        if stamp is None or not (seen_duration or seen_reqs):
            return None
        self.last_count = int(merged.count) if merged is not None else 0
        self.last_schema = merged.schema if merged is not None else None
        t = stamp / 1000
        dt = t - self._last_t if self._last_t is not None else None
        self._last_t = t

        def ms(q: float) -> float | None:
            value = merged.quantile(q) if merged is not None else None
            return value * 1000 if value is not None else None

        mean = (merged.sum / merged.count * 1000 if merged is not None and merged.count > 0
                else None)
        return LatencySampled(self._tool, t, ms(0.5), ms(0.95), ms(0.99),
                              failed / reqs if reqs > 0 else (0.0 if seen_reqs else None),
                              reqs / dt if dt else None, mean)


class RemoteWriteReceiver(Background):
    """A loopback remote-write endpoint for one k6 process; publishes a LatencySampled per push.

    Binds at construction (port 0: any free port, read back from `port`), so k6 can be pointed at
    it before it serves; k6 retries nothing, so a push that arrives before `start` waits in the
    listen queue instead of failing."""

    def __init__(self, bus: Bus | None, port: int = 0, keep: bool = False) -> None:
        super().__init__("k6-remote-write")
        self._bus = bus
        self.differ = PushDiffer()
        self.samples = 0
        self.rejected = 0
        # keep=True: every interval, its number of durations and the schemas seen (to check them)
        self.kept: list[LatencySampled] | None = [] if keep else None
        self.interval_counts: list[int] = []
        self.schemas: set[int] = set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if self.path != PATH or not 0 < length <= _MAX_BODY:
                    self.rfile.read(min(length, _MAX_BODY))
                    self._answer(404 if self.path != PATH else 400)
                    return
                body = self.rfile.read(length)
                self._answer(204 if receiver.receive(body) else 400)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # k6 pushes every second; nothing here is worth a line

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])

    def receive(self, body: bytes) -> bool:
        """Decodes one push and publishes its interval; False when the body is not remote-write."""
        try:
            series = decode_write_request(body)
        except DecodeError:
            self.rejected += 1
            return False
        with self._lock:  # pushes are sequential from k6, but never interleave two diffs
            sample = self.differ.feed(series)
            if sample is None:
                return True
            self.samples += 1
            if self.kept is not None:
                self.kept.append(sample)
                self.interval_counts.append(self.differ.last_count)
                if self.differ.last_schema is not None:
                    self.schemas.add(self.differ.last_schema)
        if self._bus is not None:
            self._bus.publish(sample)
        return True

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        super().stop()

    def _run(self) -> None:
        with contextlib.suppress(OSError):
            self._server.serve_forever(poll_interval=0.5)
