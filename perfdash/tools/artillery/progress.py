"""Artillery's live progress from the perfdash-progress plugin.

Artillery prints nothing machine-readable while it runs; the plugin appends one JSON line per 10 s
window, which survives a kill and is what `ArtilleryProgressTail` turns into events.

The tail's clocks (its elapsed time, how long it has heard nothing) start when it is started, which
the orchestrator does right after Artillery's process starts: in a sequential profile that is after
k6 has exited, so the k6 phase never counts as Artillery's silence.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfdash.collect.background import Background
from perfdash.events import ERROR_RATE, P50_MS, P95_MS, P99_MS, RPS, Bus, ProblemDetected, ToolProgressed
from perfdash.tools.artillery.live import (
    EMITS,
    ERRORS,
    SIO_P95_MS,
    SIO_P99_MS,
    VUSERS_COMPLETED,
    VUSERS_CREATED,
    VUSERS_FAILED,
)

# Artillery starts in about 6 s and reports every 10 s: silence past this means no plugin.
SILENT_WARNING_S = 30.0


def _summary(rec: dict[str, Any], name: str, stat: str) -> float | None:
    value = ((rec.get("summaries") or {}).get(name) or {}).get(stat)
    return float(value) if isinstance(value, int | float) else None


class ArtilleryProgressTail(Background):
    """Follows artillery-progress.ndjson and publishes one ToolProgressed per new window."""

    def __init__(self, bus: Bus, path: Path, planned_s: float, interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__("artillery-tail")
        self._bus = bus
        self._path = path
        self._planned = planned_s
        self._interval = interval_s
        self._clock = clock
        self.windows = 0
        self._totals: dict[str, float] = {}
        self._offset = 0
        self._start: float | None = None  # set by start(): Artillery's process runs from then
        self._warned = False

    def start(self) -> None:
        self._start = self._clock()
        super().start()

    def stop(self) -> None:
        super().stop()
        self._read_new()  # the last window may land just before the tool exits

    def elapsed_s(self) -> float:
        """Seconds since Artillery's process started (0 before)."""
        return 0.0 if self._start is None else self._clock() - self._start

    def check_silence(self) -> None:
        """One warning when Artillery has run past SILENT_WARNING_S without a single window;
        nothing before it started, however long the run has been going."""
        silent = self.elapsed_s()
        if self._warned or self._offset or self._start is None or silent <= SILENT_WARNING_S:
            return
        self._warned = True  # Artillery reports every 10 s after a few seconds of start-up
        self._bus.publish(ProblemDetected(
            f"no live progress from Artillery after {silent:.0f} s: its perfdash-progress "
            "plugin did not load or Artillery has not started its phases",
            "see artillery.stdout.log and artillery.stderr.log; the verdict still comes "
            "from Artillery's report at the end"))

    def poll(self) -> None:
        """New windows published, then the silence judged: what the thread does every interval."""
        self._read_new()
        self.check_silence()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            self.poll()

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
        for line in chunk[: end + 1].splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            self._publish(rec)

    def _publish(self, rec: dict[str, Any]) -> None:
        if rec.get("type") not in (None, "intermediate", "summary"):
            return  # the ensure verdict: read by the analysis, not a progress window
        counters: dict[str, float] = rec.get("counters") or {}
        if rec.get("type") == "summary":
            self._totals = dict(counters)
        else:
            self.windows += 1
            for k, v in counters.items():
                self._totals[k] = self._totals.get(k, 0) + v
        rates = rec.get("rates") or {}
        t = self._totals
        totals = sorted(((k.removeprefix("errors."), int(v)) for k, v in t.items()
                         if k.startswith("errors.")), key=lambda kv: (-kv[1], kv[0]))
        self._bus.publish(ToolProgressed(
            "artillery", self.elapsed_s(), self._planned,
            ((RPS, float(rates.get("http.request_rate", 0.0))),
             (P50_MS, _summary(rec, "http.response_time", "p50")),
             (P95_MS, _summary(rec, "http.response_time", "p95")),
             (P99_MS, _summary(rec, "http.response_time", "p99")),
             (SIO_P95_MS, _summary(rec, "socketio.response_time", "p95")),
             (SIO_P99_MS, _summary(rec, "socketio.response_time", "p99")),
             *_window_errors(rec, counters),
             (EMITS, float(t.get("socketio.emit", 0))),
             (VUSERS_CREATED, float(t.get("vusers.created", 0))),
             (VUSERS_COMPLETED, float(t.get("vusers.completed", 0))),
             (VUSERS_FAILED, float(t.get("vusers.failed", 0)))),
            counts=tuple(totals)))


def _window_errors(rec: dict[str, Any], counters: dict[str, float]
                   ) -> tuple[tuple[str, float | None], ...]:
    """The window's errors (errors.* counted in it) and their share of what it sent (HTTP requests
    and Socket.IO emits, as its errors are of both): the error track's step every 10 s. The final
    summary is the run's totals, not a window: none."""
    if rec.get("type") == "summary":
        return ()
    errors = float(sum(v for k, v in counters.items() if k.startswith("errors.")))
    requests = float(counters.get("http.requests", 0) + counters.get("socketio.emit", 0))
    rate = min(1.0, errors / requests) if requests else (1.0 if errors else None)
    return (ERRORS, errors), (ERROR_RATE, rate)
