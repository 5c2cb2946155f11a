"""The run's one time axis: every second of the load folded into one row of `timeline.csv` and one
`TimelineTicked` on the bus, with the markers (phase changes, threshold breaches, problems, tool
exits) in `timeline-markers.ndjson`.

A bus listener folds events into the current second as they arrive (cheap: a few assignments under a
lock) and a ticker thread closes each second on the monotonic clock, writes its row (flushed, so the
file is valid after a kill: at worst its last line is half-written, and the reader skips it) and
publishes it. t_s is seconds since the recorder started (the start of the load); a row's t_s is the
start of its second.

Sources and their rules, per second:
- ToolProgressed (every load tool; k6 about 1 Hz, Artillery once per 10 s window): each field fills
  the column the tool maps it to (`tool_fields`, from each tool's `LiveSpec.columns`; a field
  `name` also fills `<tool>_<name>` when the run declares that column), on the row of the second
  it arrived. A tool's first THRESHOLDS_CROSSED is a breach marker.
- LatencySampled (k6's per-second snapshots with its web dashboard output, else an interval mean
  from its REST API every 3 s or more; any tool's): mean, p50/p95/p99 and, when present, the exact
  req/s and error rate of the interval fill `<tool>_avg_ms`, `<tool>_p50_ms`... where the timeline
  has them (they replace the progress-derived req/s and error rate). At most one sample per tool
  and row: two snapshots landing in one second (clock jitter) put the second one on the next row.
- HostsSampled (hosts measured through node_exporter): `cpu_pct`, `mem_pct` and `load1` are the
  first backend host that answered (a second when none answered keeps them empty), and every host
  the recorder was given has its own `host.<name>.*` columns (empty while it does not answer).
- SystemSampled, DatabaseSampled: the last sample of the second (the database sampler runs every 2 s,
  so every other row has empty database cells).
- LogLinesRead: lines and ERROR lines read in the second (0 when the log was quiet).
- RequestTimesRead: the access log's request times, run-wide (srv_p50_ms...) and per endpoint group
  into `server-latency.csv` (perfdash.timeline.server_latency).
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from perfdash.artifacts import TIMELINE_CSV, TIMELINE_MARKERS_NDJSON
from perfdash.collect.background import Background
from perfdash.collect.base import DISK_FIX, RunNotes
from perfdash.collect.hostsample import HostsSampled
from perfdash.collect.latency_buckets import percentile
from perfdash.events import (
    THRESHOLDS_CROSSED,
    Bus,
    DatabaseSampled,
    Event,
    LatencySampled,
    LogLinesRead,
    PhaseChanged,
    ProblemDetected,
    RequestTimesRead,
    SystemSampled,
    TimelineTicked,
    ToolExited,
    ToolProgressed,
    ToolStarted,
)
from perfdash.timeline.columns import HOST_FIELDS, NAMES, host_column, host_columns
from perfdash.timeline.server_latency import GroupLatencies

MARKERS_NDJSON = TIMELINE_MARKERS_NDJSON
HEADER = ("t_s", *NAMES)

Values = dict[str, float | None]


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}"


class TimelineRecorder(Background):
    """Listens on `bus`, writes one row per second into `run_dir`, publishes TimelineTicked.

    `start()` begins the clock (t_s 0) and the ticker; `stop()` closes the last, partial second (when
    anything was measured in it) and the files. Tests drive it without the thread: `open()`, events
    through `__call__`, then `tick()` with a fake `clock`.

    A Collector (perfdash.collect.base) that owns no column of its own: it is the consumer of
    everyone else's, started first and stopped last by the shared lifecycle."""

    name = "timeline"
    columns: tuple[str, ...] = ()

    def __init__(self, bus: Bus, run_dir: Path, *, interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, hosts: Sequence[str] = (),
                 tool_columns: Sequence[str] = (),
                 tool_fields: Mapping[str, Mapping[str, str]] | None = None) -> None:
        """`hosts`: the names of the hosts measured through node_exporter, in metrics.csv's order;
        each gets its own columns after the common ones (none: the header is exactly `HEADER`).
        `tool_columns`: the columns the run's tools declare beyond the common ones
        (`LoadTool.timeline_columns`), filled from their ToolProgressed, before the hosts'.
        `tool_fields`: per tool, the column each of its ToolProgressed fields fills
        (`perfdash.tools.progress_columns`)."""
        super().__init__("timeline-recorder")
        self._hosts = frozenset(hosts)
        own = tuple(c for c in dict.fromkeys(tool_columns) if c not in NAMES)
        self._tool_columns = frozenset(own)
        self.names: tuple[str, ...] = (*NAMES, *own, *host_columns(hosts))
        known = frozenset(self.names)
        self._fields = {tool: {f: c for f, c in fields.items() if c in known}
                        for tool, fields in (tool_fields or {}).items()}
        self._bus = bus
        self._dir = run_dir
        self._interval = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._start: float | None = None
        self._closed = False
        self._csv: TextIO | None = None
        self._markers: TextIO | None = None
        self._row = 0  # index of the second being folded
        self._values: Values = {}
        self._marks: list[tuple[str, str]] = []
        self._latency: dict[str, deque[LatencySampled]] = {}  # by tool
        self._tainted: set[str] = set()  # tools whose thresholds were crossed
        self._log_seen = False
        self._server: Counter[int] = Counter()  # the access log's request times this second
        self._groups = GroupLatencies(run_dir)  # the same per endpoint group: server-latency.csv
        self.rows = 0
        self.error: str | None = None
        bus.listen(self)

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> None:
        """Create the files and start the clock (the thread's start does this too)."""
        with self._lock:
            if self._start is not None:
                return
            self._dir.mkdir(parents=True, exist_ok=True)
            self._csv = (self._dir / TIMELINE_CSV).open("a", newline="", encoding="utf-8")
            self._markers = (self._dir / MARKERS_NDJSON).open("a", encoding="utf-8")
            if self._csv.tell() == 0:
                # through csv: a host name with a comma or a quote stays one column
                csv.writer(self._csv, lineterminator="\n").writerow(("t_s", *self.names))
                self._csv.flush()
            self._start = self._clock()

    def start(self) -> None:
        self.open()
        super().start()

    def stop(self) -> None:
        super().stop()
        with self._lock:
            if self._closed:
                return
            if self._start is not None and (self._values or self._marks or any(self._latency.values())):
                ticked = self._close_second()
            else:
                ticked = None
            self._closed = True
        if ticked is not None:
            self._bus.publish(ticked)
        for f in (self._csv, self._markers):
            if f is not None:
                f.close()
        self._groups.close()

    def finish(self, run_dir: Path, record: RunNotes) -> None:
        """Rows and markers are written as they close; a write that failed stopped both."""
        for error in (self.error, self._groups.error):
            if error:
                record.problem(error, DISK_FIX)

    def _run(self) -> None:
        assert self._start is not None
        while not self._stopping.wait(max(0.0, self._start + (self._row + 1) * self._interval
                                          - self._clock())):
            self.tick()

    # ------------------------------------------------------------------ folding
    def __call__(self, event: Event) -> None:
        if isinstance(event, TimelineTicked):
            return
        with self._lock:
            if self._start is None or self._closed:
                return
            self._fold(event)

    def _fold(self, e: Event) -> None:
        v = self._values
        if isinstance(e, SystemSampled):
            v.update(cpu_pct=e.cpu_pct, mem_pct=e.mem_pct, load1=e.load1)
        elif isinstance(e, HostsSampled):
            # hosts through node_exporter: the host columns follow the first backend host
            backend = e.first("backend")
            if backend is not None:
                v.update(cpu_pct=backend.cpu_pct, mem_pct=backend.mem_pct, load1=backend.load1)
            for h in e.hosts:
                if h.name in self._hosts:
                    for field, _, _ in HOST_FIELDS:
                        v[host_column(h.name, field)] = getattr(h, field) if h.up else None
        elif isinstance(e, LogLinesRead):
            self._log_seen = True
            v["log_lines"] = (v.get("log_lines") or 0) + len(e.lines) + e.dropped
            v["log_errors"] = (v.get("log_errors") or 0) + e.errors
        elif isinstance(e, RequestTimesRead):
            self._server.update(dict(e.buckets))
            self._groups.add(e.groups)
        elif isinstance(e, ToolProgressed):
            self._fold_tool(e)
        elif isinstance(e, LatencySampled):
            waiting = self._latency.setdefault(e.tool, deque())
            waiting.append(e)
            while len(waiting) > 2:  # a backlog means a stall: keep the newest
                waiting.popleft()
        elif isinstance(e, DatabaseSampled):
            states = e.connections_by_state
            v.update(db_active=float(states.get("active", 0)),
                     db_idle=float(states.get("idle", 0)),
                     db_idle_in_tx=float(states.get("idle in transaction", 0)
                                         + states.get("idle in transaction (aborted)", 0)),
                     db_total=float(sum(states.values())), db_max=float(e.max_connections),
                     db_lock_waits=float(e.waiting_locks))
        elif isinstance(e, PhaseChanged):
            self._mark("phase", e.phase)
        elif isinstance(e, ProblemDetected):
            self._mark("problem", e.what)
        elif isinstance(e, ToolStarted):  # the second tool of a sequential profile starts late
            self._mark("phase", f"{e.tool} started")
        elif isinstance(e, ToolExited):
            self._mark("tool_exit", f"{e.tool} exited {e.returncode}")

    def _fold_tool(self, e: ToolProgressed) -> None:
        mapped = self._fields.get(e.tool, {})
        for name, value in e.fields:
            column = mapped.get(name)
            if column is None:
                own = f"{e.tool}_{name}"
                column = own if own in self._tool_columns else None
            if column is not None and value is not None:
                self._values[column] = float(value)
        if e.get(THRESHOLDS_CROSSED) and e.tool not in self._tainted:
            self._tainted.add(e.tool)
            self._mark("breach", f"a {e.tool} threshold was crossed")

    def _mark(self, kind: str, text: str) -> None:
        assert self._start is not None
        self._marks.append((kind, text))
        if self._markers is None or self.error:
            return
        t_s = round(max(0.0, self._clock() - self._start), 3)
        try:
            self._markers.write(json.dumps({"t_s": t_s, "kind": kind, "text": text}) + "\n")
            self._markers.flush()
        except OSError as exc:
            self.error = f"timeline stopped: cannot write {MARKERS_NDJSON}: {exc.strerror}"

    # ------------------------------------------------------------------ closing a second
    def tick(self) -> TimelineTicked | None:
        """Close the current second: write its row, publish and return its TimelineTicked."""
        with self._lock:
            if self._start is None or self._closed:
                return None
            ticked = self._close_second()
        self._bus.publish(ticked)
        return ticked

    def _close_second(self) -> TimelineTicked:
        values: Values = dict.fromkeys(self.names)
        values.update(self._values)
        for waiting in self._latency.values():
            if waiting:
                self._latency_row(values, waiting.popleft())
        if values["log_lines"] is None and self._log_seen:  # a followed log that was quiet
            values.update(log_lines=0.0, log_errors=0.0)
        if self._server:
            values.update(srv_p50_ms=percentile(self._server, 50), srv_p95_ms=percentile(self._server, 95),
                          srv_p99_ms=percentile(self._server, 99))
            self._server = Counter()
        t_s = float(self._row)
        self._groups.close_second(t_s)
        self._row += 1
        self._values = {}
        marks, self._marks = tuple(self._marks), []
        self._write(t_s, values)
        return TimelineTicked(t_s, values, marks)

    def _latency_row(self, values: Values, lat: LatencySampled) -> None:
        """One interval of a tool's requests on this row, where the timeline has its columns."""
        for stat, value in (("p50_ms", lat.p50_ms), ("p95_ms", lat.p95_ms), ("p99_ms", lat.p99_ms),
                            ("avg_ms", lat.mean_ms), ("rps", lat.rps),
                            ("error_rate", lat.error_rate)):
            column = f"{lat.tool}_{stat}"
            if value is not None and column in values:
                values[column] = value

    def _write(self, t_s: float, values: Values) -> None:
        if self._csv is None or self.error:
            return
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(
            [_fmt(t_s), *(_fmt(values[name]) for name in self.names)])
        try:
            self._csv.write(buf.getvalue())
            self._csv.flush()
            self.rows += 1
        except OSError as exc:
            self.error = f"timeline stopped: cannot write {TIMELINE_CSV}: {exc.strerror}"
