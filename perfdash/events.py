"""The vocabulary of a run: small immutable events, named as facts, and the bus that fans them out.

The orchestrator and the collectors publish; the headless console, the event recorder and the
dashboard subscribe. Nothing here knows about any consumer, so a test can assert on everything
a user would see without a terminal.

The bus is also the one place secrets leave events: once the orchestrator installs the run's secrets
(`Bus.redact_with`), every event is redacted in `publish`, before any listener or subscription sees
it, so every consumer (the recorder, the console, the dashboard, anything added later) gets the same
redacted event.
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from perfdash.secret import Redactor, Secret

Status = Literal["pass", "warn", "fail", "not measured"]


@dataclass(frozen=True)
class Event:
    at: float = field(default_factory=time.time, kw_only=True)


@dataclass(frozen=True)
class RunStarted(Event):
    """`planned_seconds`: the load's planned length (sequential: the tools' plans added up,
    parallel: the longest), 0 when unknown; `plan` says it in words ("about 30 s", "1 iteration").
    `tools`: the load tools the run declares, so a screen knows which panes stay empty for good;
    None in a recording made before runs declared them. `mode`: the profile's, "" when perfdash
    only watches a run started by hand."""

    run_id: str
    run_dir: str
    profile: str
    environment: str
    planned_seconds: float
    plan: str = ""
    mode: str = ""
    tools: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ToolStarted(Event):
    """A load tool's process started: its phase's clock starts here, not with the run (the second
    tool of a sequential profile starts when the first has exited). `plan` is its plan from
    preflight in words; `planned_s` 0 when only the run tells its length (iterations)."""

    tool: str
    planned_s: float
    plan: str = ""


@dataclass(frozen=True)
class PhaseChanged(Event):
    """preflight, seed, load, analysis, cleanup, done."""

    phase: str
    detail: str = ""


@dataclass(frozen=True)
class PreflightChecked(Event):
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class SystemSampled(Event):
    cpu_pct: float
    cpu_per_core: tuple[float, ...]
    mem_pct: float
    mem_used_mb: float
    swap_pct: float
    load1: float
    load5: float
    load15: float
    backend_cpu_pct: float | None = None
    backend_rss_mb: float | None = None


@dataclass(frozen=True)
class LogLinesRead(Event):
    lines: tuple[str, ...]
    errors: int
    warnings: int
    dropped: int = 0


@dataclass(frozen=True)
class RequestTimesRead(Event):
    """The request times a log's batch held (an access log, or an app log with request lines), as
    a 4% bucket histogram (bucket -> count, `perfdash.collect.latency_buckets.bucket_of`): the
    timeline's per-second server percentiles. `groups`: the same per endpoint group (the busiest
    normalised routes, the rest merged, `perfdash.collect.endpoint_groups`), for server-latency.csv."""

    buckets: tuple[tuple[int, int], ...]
    groups: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = ()


@dataclass(frozen=True)
class LatencySampled(Event):
    """One interval of a tool's requests, aggregated over that interval only (not since the start):
    `t` is the interval's end on the tool's clock (epoch seconds), `rps` its request rate,
    `error_rate` its share of failed requests, `mean_ms` its mean latency. None: not measured in
    the interval. Published by a tool's follower (k6: its web dashboard's per-second snapshots, or,
    without that output, the mean between two of its REST API's trend answers, every 3 s or
    more), folded into the timeline."""

    tool: str
    t: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    error_rate: float | None
    rps: float | None
    mean_ms: float | None = None


# The names a tool's progress fields carry when they mean these: panes, the console and the timeline
# read them whatever the tool. `ERROR_RATE` is the share failing since the tool's previous sample
# (the timeline's error track); `FAIL_RATIO` the tool's own running share; `THRESHOLDS_CROSSED` 1
# once the tool's own thresholds are crossed (a breach marker on the timeline). A tool adds any
# name of its own (its LiveSpec in perfdash.tools.live says how it is shown and recorded).
USERS, USERS_MAX, RPS, REQUESTS = "users", "users_max", "rps", "requests"
P50_MS, P95_MS, P99_MS, AVG_MS = "p50_ms", "p95_ms", "p99_ms", "avg_ms"
FAILURES, FAIL_RATIO, ERROR_RATE = "failures", "fail_ratio", "error_rate"
THRESHOLDS_CROSSED = "tainted"


@dataclass(frozen=True)
class ToolProgressed(Event):
    """A load tool's live progress, every tool alike: its figures as (name, value) pairs, and
    running counts by kind (Artillery's errors by type) for the pane to list. The timeline fills
    the columns the tool maps its fields to (`LiveSpec.columns`); the names above read the same in
    every pane."""

    tool: str
    elapsed_s: float
    planned_s: float
    fields: tuple[tuple[str, float | None], ...] = ()
    counts: tuple[tuple[str, int], ...] = ()

    def get(self, name: str) -> float | None:
        return next((v for k, v in self.fields if k == name), None)


@dataclass(frozen=True)
class DatabaseSampled(Event):
    connections_by_state: dict[str, int]
    max_connections: int
    waiting_locks: int


@dataclass(frozen=True)
class ToolExited(Event):
    tool: str
    returncode: int
    elapsed_s: float
    stopped_by: str | None = None
    last_stderr: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProblemDetected(Event):
    """Something the user should know now: what happened and how to fix it."""

    what: str
    fix: str = ""
    severity: Literal["warning", "error"] = "warning"


@dataclass(frozen=True)
class TimelineTicked(Event):
    """One second of the run on the common clock (see `perfdash.timeline.columns`): `values` maps a
    column to its value in that second (None: nothing measured), `markers` are (kind, text) pairs
    that happened in it (phase changes, threshold breaches, problems, tool exits)."""

    t_s: float
    values: Mapping[str, float | None]
    markers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RunFinished(Event):
    status: str
    exit_code: int
    summary_path: str
    checks: tuple[tuple[str, Status, str], ...] = ()


# Samples are only worth their newest value: a slow consumer gets the latest, not a backlog.
_COALESCED = (SystemSampled, ToolProgressed, DatabaseSampled)


def _sample_key(event: Event) -> tuple[type[Event], str]:
    """What a sample replaces: the newest of its type, and per tool for a tool's progress (two
    tools in parallel are two series, not one)."""
    return type(event), event.tool if isinstance(event, ToolProgressed) else ""


class Subscription:
    """A bounded inbox: samples coalesce to the newest per type, other events queue up to a limit."""

    def __init__(self, limit: int = 10_000) -> None:
        self._events: deque[Event] = deque()
        self._latest: dict[tuple[type[Event], str], Event] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._limit = limit
        self.dropped = 0

    def put(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, _COALESCED):
                key = _sample_key(event)
                if key not in self._latest:
                    self._events.append(event)
                self._latest[key] = event
            else:
                if len(self._events) >= self._limit:
                    self._events.popleft()
                    self.dropped += 1
                self._events.append(event)
        if not self._wake.is_set():  # set() takes a lock and notifies; once per drain is enough
            self._wake.set()

    def drain(self, timeout: float | None = None) -> list[Event]:
        """Everything waiting, in order, with each coalesced sample replaced by its newest value."""
        if timeout:
            self._wake.wait(timeout)
        with self._lock:
            out = [self._latest.pop(_sample_key(e), e) if isinstance(e, _COALESCED) else e
                   for e in self._events]
            self._events.clear()
            self._latest.clear()
            self._wake.clear()
        return out


E = TypeVar("E", bound=Event)
_FIELDS: dict[type[Event], tuple[str, ...]] = {}


def redact_value(value: Any, redactor: Redactor) -> Any:
    """`value` with every string in it redacted; the same object when nothing changed."""
    if isinstance(value, str):
        return redactor(value) if not redactor.clean(value) else value
    if isinstance(value, tuple):
        if len(value) > 1:  # a batch of log lines: redacted as one text, scanned once when clean
            try:
                joined = "\n".join(value)
            except TypeError:
                pass  # not all strings
            else:
                if redactor.clean(joined):
                    return value
                parts = redactor(joined).split("\n")  # no form holds a newline, no pattern spans one
                if len(parts) == len(value):
                    return tuple(parts)
        items = tuple(redact_value(v, redactor) for v in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, dict):
        pairs = [(redact_value(k, redactor), redact_value(v, redactor)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    if isinstance(value, list):
        return [redact_value(v, redactor) for v in value]
    return value


def redact_event(event: E, redactor: Redactor) -> E:
    """The event with every secret taken out of its text fields; the event itself when clean."""
    names = _FIELDS.get(type(event))
    if names is None:
        names = _FIELDS[type(event)] = tuple(f.name for f in dataclasses.fields(event)
                                             if f.name != "at")
    changes: dict[str, Any] = {}
    for name in names:
        old = getattr(event, name)
        if isinstance(old, (int, float)) or old is None:
            continue
        new = redact_value(old, redactor)
        if new is not old:
            changes[name] = new
    return dataclasses.replace(event, **changes) if changes else event


class Bus:
    """Fan-out to subscriptions and synchronous listeners; publishing never blocks on a consumer.

    With `redact_with` every event is redacted before anyone sees it (the one redaction point)."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._listeners: list[Callable[[Event], None]] = []
        self._lock = threading.Lock()
        self._redactor: Redactor | None = None

    def redact_with(self, secrets: list[Secret]) -> Redactor:
        """Redact these secrets (in every form) from every event published from now on. The list is
        read at each publish, so secrets appended to it later are redacted too."""
        self._redactor = Redactor(secrets)
        return self._redactor

    def subscribe(self, limit: int = 10_000) -> Subscription:
        sub = Subscription(limit)
        with self._lock:
            self._subs.append(sub)
        return sub

    def listen(self, fn: Callable[[Event], None]) -> None:
        """A cheap synchronous listener (the recorder); it must not block."""
        with self._lock:
            self._listeners.append(fn)

    def publish(self, event: Event) -> None:
        if self._redactor is not None:
            event = redact_event(event, self._redactor)
        with self._lock:
            subs, listeners = list(self._subs), list(self._listeners)
        for fn in listeners:
            fn(event)
        for sub in subs:
            sub.put(event)


# Recordings from before every load tool spoke through ToolProgressed hold the tools' own events
# (K6Progressed, ArtilleryProgressed). Each tool declares its former event name and how such a
# record reads now (`LiveSpec.legacy`); the tool registry registers them here, and every reader of
# events.ndjson passes a record through `current_record`, so replay, attach and serve show an old
# run as it was shown then.
FormerRecord = Callable[[Mapping[str, Any]], dict[str, Any]]
_FORMER: dict[str, FormerRecord] = {}
_FORMER_LOADED = threading.Event()


def register_former_name(name: str, convert: FormerRecord) -> None:
    """A tool's event name from before ToolProgressed, and its record's fields as today's."""
    _FORMER[name] = convert


def former_names() -> frozenset[str]:
    """The event names an old recording may hold for a tool's progress."""
    _load_former()
    return frozenset(_FORMER)


def current_record(record: dict[str, Any]) -> dict[str, Any]:
    """`record` as today's: a tool's former progress event becomes the ToolProgressed record it
    stands for (its `at` kept); any other record is returned as it is."""
    kind = record.get("type")
    if not isinstance(kind, str) or not kind.endswith("Progressed") or kind == "ToolProgressed":
        return record
    _load_former()
    convert = _FORMER.get(kind)
    if convert is None:
        return record
    return {"type": "ToolProgressed", "at": record.get("at"), **convert(record)}


def _load_former() -> None:
    """Import the tool registry, which registers the former names. Named at run time because the
    tools are built on this module: a static import would be a cycle."""
    if not _FORMER_LOADED.is_set():
        importlib.import_module("perfdash.tools")
        _FORMER_LOADED.set()


def to_record(event: Event) -> dict[str, Any]:
    """The event as one line of events.ndjson."""
    from dataclasses import asdict

    return {"type": type(event).__name__, **asdict(event)}
