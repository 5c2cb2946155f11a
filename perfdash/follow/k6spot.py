"""A k6 run perfdash did not start, seen through k6's REST API (`k6 run` serves it on
127.0.0.1:6565 unless told `--address`).

While nothing answers, one `GET /v1/status` a second; once k6 answers, the same poller a perfdash
run uses (perfdash.tools.k6.progress) follows it, and when its answers stop for a few seconds the
run is taken as ended and the spotter goes back to waiting for the next one.
"""

from __future__ import annotations

import http.client
import time
from pathlib import Path

from perfdash.collect.background import Background
from perfdash.events import Bus, PhaseChanged
from perfdash.tools.k6.progress import K6Poller

GONE_AFTER_S = 3.5
DEFAULT_K6_API = "127.0.0.1:6565"


class _RemotePoller(K6Poller):
    """K6Poller on any host:port (it asks 127.0.0.1 by default, where perfdash starts k6)."""

    def __init__(self, bus: Bus, host: str, port: int, record: Path) -> None:
        super().__init__(bus, port, 0.0, record)
        self._host = host

    def _get(self, path: str) -> object:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=2)
        return super()._get(path)


def parse_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `:PORT` (loopback) as a pair; ValueError with the expected form."""
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"--k6-api {text!r}: write HOST:PORT, e.g. 127.0.0.1:6565")
    return host.strip("[]") or "127.0.0.1", int(port)


class K6Spotter(Background):
    """Publishes k6's ToolProgressed for every k6 run that shows up at the address while it watches."""

    def __init__(self, bus: Bus, address: str, record: Path, interval_s: float = 1.0) -> None:
        super().__init__("k6-spotter")
        self._bus = bus
        self.address = address
        self._host, self._port = parse_address(address)
        self._record = record
        self._interval = interval_s
        self.poller: _RemotePoller | None = None
        self.runs_seen = 0

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=1)
        try:
            conn.request("GET", "/v1/status")
            resp = conn.getresponse()
            resp.read()
            return resp.status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def _run(self) -> None:
        seen_at = 0.0
        while not self._stopping.wait(self._interval):
            poller = self.poller
            if poller is None:
                if self._answers():
                    self.runs_seen += 1
                    seen_at = time.monotonic()
                    self._bus.publish(PhaseChanged("load", f"k6 seen at {self.address}"))
                    self.poller = _RemotePoller(self._bus, self._host, self._port, self._record)
                    self.poller.start()
                continue
            last = poller.last
            latest = last.at if last is not None else None
            quiet = (time.time() - latest) if latest is not None else time.monotonic() - seen_at
            if quiet > GONE_AFTER_S:
                poller.stop()
                self.poller = None
                self._bus.publish(PhaseChanged("load", f"k6 at {self.address} ended; waiting "
                                                       "for the next"))

    def stop(self) -> None:
        super().stop()
        if self.poller is not None:
            self.poller.stop()
            self.poller = None
