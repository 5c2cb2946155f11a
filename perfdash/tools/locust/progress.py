"""Locust's live progress: `<prefix>_stats_history.csv`, to which headless Locust appends one
aggregated row a second (users, current req/s and failures/s, its recent-window percentiles and
the running totals). The tail publishes one ToolProgressed per new row; the timeline's `locust_*`
columns and the generic pane read it.

The clock starts when the tail is started, right after Locust's process (see the Artillery tail for
why that matters in a sequential profile).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from pathlib import Path

from perfdash.collect.background import Background
from perfdash.events import (
    FAIL_RATIO,
    FAILURES,
    P50_MS,
    P95_MS,
    RPS,
    USERS,
    Bus,
    ProblemDetected,
    ToolProgressed,
)
from perfdash.tools.locust.report import AGGREGATED, _float

# Headless Locust starts in about 2 s and writes a row a second: silence past this means trouble.
SILENT_WARNING_S = 20.0


class LocustHistoryTail(Background):
    def __init__(self, bus: Bus, path: Path, planned_s: float, interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__("locust-tail")
        self._bus = bus
        self._path = path
        self._planned = planned_s
        self._interval = interval_s
        self._clock = clock
        self._offset = 0
        self._header: list[str] | None = None
        self._start: float | None = None
        self._warned = False
        self.rows = 0

    def start(self) -> None:
        self._start = self._clock()
        super().start()

    def stop(self) -> None:
        super().stop()
        self._read_new()  # Locust writes its last row as it stops

    def elapsed_s(self) -> float:
        return 0.0 if self._start is None else self._clock() - self._start

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            self.poll()

    def poll(self) -> None:
        """New rows published, then the silence judged: what the thread does every interval."""
        self._read_new()
        silent = self.elapsed_s()
        if self.rows or self._warned or self._start is None or silent <= SILENT_WARNING_S:
            return
        self._warned = True
        self._bus.publish(ProblemDetected(
            f"no live progress from Locust after {silent:.0f} s: it has not started its users or "
            "cannot write its statistics", "see locust.stderr.log; the verdict still comes from "
            "Locust's statistics at the end"))

    def _read_new(self) -> None:
        try:
            with self._path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except OSError:
            return
        end = chunk.rfind(b"\n")
        if end < 0:
            return
        self._offset += end + 1
        for line in chunk[: end + 1].decode("utf-8", "replace").splitlines():
            cells = next(csv.reader(io.StringIO(line)), [])
            if self._header is None:
                self._header = cells
                continue
            if len(cells) == len(self._header):
                self._publish(dict(zip(self._header, cells, strict=True)))

    def _publish(self, rec: dict[str, str]) -> None:
        if rec.get("Name") != AGGREGATED:
            return
        self.rows += 1
        rps = _float(rec.get("Requests/s"))
        failing = _float(rec.get("Failures/s"))
        ratio = failing / rps if rps and failing is not None else (0.0 if rps is not None else None)
        self._bus.publish(ToolProgressed(
            "locust", self.elapsed_s(), self._planned,
            ((USERS, _float(rec.get("User Count"))), (RPS, rps), (P50_MS, _float(rec.get("50%"))),
             (P95_MS, _float(rec.get("95%"))), (FAIL_RATIO, ratio),
             (FAILURES, _float(rec.get("Total Failure Count"))),
             ("requests", _float(rec.get("Total Request Count"))))))
