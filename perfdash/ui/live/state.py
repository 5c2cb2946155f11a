"""What the live screen knows, folded from the event stream into one small frozen view per pane.

The drain timer feeds each batch of events to `LiveState.apply`; panes receive their view through a
reactive, and frozen views compare by value, so a pane whose numbers did not change is not repainted.
No Textual here: a test can fold a recorded run and assert on the views directly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from perfdash.collect.hostsample import HostsSampled
from perfdash.events import (
    RPS,
    THRESHOLDS_CROSSED,
    DatabaseSampled,
    Event,
    LogLinesRead,
    PhaseChanged,
    PreflightChecked,
    ProblemDetected,
    RunFinished,
    RunStarted,
    SystemSampled,
    TimelineTicked,
    ToolExited,
    ToolProgressed,
    ToolStarted,
)
from perfdash.prom.node import HostSample
from perfdash.tools import live_limits
from perfdash.ui.live.phase_view import ToolPhase, recorded_phase
from perfdash.ui.live.timeline_data import TimelineData

# Samples kept per sparkline: wider than any pane at 200 columns, small enough to copy every second.
HISTORY = 120
# Log lines kept: more than the tallest screenful, so a filter still finds something to show.
LOG_KEEP = 400
# How long the load may run without a single log batch before the pane says there is no app log.
LOG_GRACE_S = 5.0


@dataclass(frozen=True)
class HeaderView:
    run_id: str = ""
    profile: str = ""
    environment: str = ""
    plan: str = ""  # the planned load in words, from RunStarted
    phase: str = "starting"
    phase_detail: str = ""
    elapsed_s: int = 0
    tainted: bool | None = None
    preflight_ok: int = 0
    preflight_failed: int = 0
    problems: int = 0
    status: str | None = None
    stopping: bool = False


@dataclass(frozen=True)
class HostView:
    cpu: tuple[float, ...] = ()
    mem: tuple[float, ...] = ()
    cpu_per_core: tuple[float, ...] = ()
    mem_used_mb: float = 0.0
    swap_pct: float = 0.0
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    backend_cpu_pct: float | None = None
    backend_rss_mb: float | None = None
    hosts: tuple[HostSample, ...] = ()  # measured through node_exporter, backend first


@dataclass(frozen=True)
class ToolEnd:
    returncode: int
    elapsed_s: float
    stopped_by: str | None


@dataclass(frozen=True)
class ToolView:
    """A load tool's latest ToolProgressed: its figures as the tool named them, its counts by kind,
    the recent req/s, and its phase's clock (its pane shows them as its LiveSpec says)."""

    tool: str
    fields: tuple[tuple[str, float | None], ...] = ()
    counts: tuple[tuple[str, int], ...] = ()
    req_per_s: tuple[float, ...] = ()
    elapsed_s: float = 0.0
    planned_s: float = 0.0
    ended: ToolEnd | None = None

    def get(self, name: str) -> float | None:
        return next((v for k, v in self.fields if k == name), None)


@dataclass(frozen=True)
class DatabaseView:
    by_state: tuple[tuple[str, int], ...] = ()
    max_connections: int = 0
    waiting_locks: int = 0
    total: tuple[int, ...] = ()


@dataclass
class LogBuffer:
    """The newest log lines and running counts; `version` moves whenever something arrived."""

    lines: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_KEEP))
    received: int = 0
    dropped: int = 0
    errors: int = 0
    warnings: int = 0
    batches: int = 0
    version: int = 0

    def add(self, batch: LogLinesRead) -> None:
        self.lines.extend(batch.lines)
        self.received += len(batch.lines)
        self.dropped += batch.dropped
        self.errors += batch.errors
        self.warnings += batch.warnings
        self.batches += 1
        self.version += 1


def _push(history: tuple[float, ...], value: float) -> tuple[float, ...]:
    return (*history[-(HISTORY - 1):], value)


@dataclass
class LiveState:
    """Folds events into views; `clock` is the dashboard's injected clock (elapsed, log grace).

    A run carried out by this process is timed on `clock` from the moment its RunStarted
    arrives. A run followed from its recording (`perfdash attach`, a replay) may have started
    long before the screen opened, so with `recorded_pace` set its times are the recording's own
    (every event carries `at`): elapsed is the newest recorded moment minus the run's start, and
    between events it moves on `clock` at `recorded_pace` recorded seconds per clock second (1 when
    attached, the replay speed in a replay). Only differences of the recording's own timestamps
    and of the local clock are used, so a run recorded on a machine whose clock is off (attached
    over HTTP) still shows the right elapsed time.
    """

    clock: Callable[[], float]
    header: HeaderView = field(default_factory=HeaderView)
    host: HostView | None = None
    tools: dict[str, ToolView] = field(default_factory=dict)  # by tool, as they report
    database: DatabaseView | None = None
    log: LogBuffer = field(default_factory=LogBuffer)
    run_dir: str | None = None
    finished: RunFinished | None = None
    problems: list[ProblemDetected] = field(default_factory=list)
    failed_preflight: list[PreflightChecked] = field(default_factory=list)
    phase_changed: bool = False
    timeline: TimelineData = field(default_factory=TimelineData)
    # Where the run's files are read from (the tools' p95 limit files): a replayed or shown
    # run's own directory, else the run directory RunStarted names.
    files_dir: Path | None = None
    planned_s: float = 0.0
    sequential: bool = False
    _started_at: float | None = None
    _load_started_at: float | None = None
    _ended_at: float | None = None
    # None: the run is timed on `clock`; a number: on the recording (see the class docstring).
    recorded_pace: float | None = None
    _recorded_at: float | None = None  # the newest recorded moment seen
    _recorded_clock: float = 0.0  # `clock` when it was seen
    _recorded_shown: float = 0.0  # the newest recorded "now" handed out: it never goes back
    # The tools the run declares (RunStarted.tools) and its mode; None and "": a recording from
    # before runs declared them, where a tool is judged by `_named` (perfdash.ui.live.phase_view).
    _tools: tuple[str, ...] | None = None
    _mode: str = ""
    # Per tool: when its process started (on the elapsed scale), its planned seconds and plan;
    # and when it exited.
    _tool_starts: dict[str, tuple[float, float, str]] = field(default_factory=dict)
    _tool_ends: dict[str, float] = field(default_factory=dict)
    # Recordings without declared tools: every tool of a profile is checked in preflight before
    # the load ("Artillery script present"), so a load with no word of a tool before it has
    # none; its reports only add certainty.
    _named: set[str] = field(default_factory=set)

    def apply(self, events: Iterable[Event]) -> list[Event]:
        """Fold a batch in; returns the events the screen should announce (problems, failures)."""
        notable: list[Event] = []
        h = self.header
        phase = (h.run_id, h.phase)
        for e in events:
            if self.recorded_pace is not None:
                self._recorded(e)
            if isinstance(e, SystemSampled | HostsSampled):
                self._system(e)
            elif isinstance(e, ToolProgressed):
                self._tool(e)
                crossed = e.get(THRESHOLDS_CROSSED)
                if crossed is not None:
                    h = replace(h, tainted=bool(crossed) or bool(h.tainted))
            elif isinstance(e, DatabaseSampled):
                self._database(e)
            elif isinstance(e, LogLinesRead):
                self.log.add(e)
            elif isinstance(e, TimelineTicked):
                self.timeline.read_limit(self.files_dir or (Path(self.run_dir) if self.run_dir
                                                            else None), live_limits(self._tools))
                self.timeline.add(e.t_s, e.values, e.markers)
            elif isinstance(e, RunStarted):
                self.run_dir = e.run_dir
                self.planned_s = e.planned_seconds
                self._tools, self._mode = e.tools, e.mode
                self.sequential = e.mode == "sequential"
                # The axis starts with the load; tools often end a second or two late.
                self.timeline.horizon_s = e.planned_seconds + 5
                self._started_at = self._stamp(e)
                h = replace(h, run_id=e.run_id, profile=e.profile, environment=e.environment,
                            plan=e.plan)
            elif isinstance(e, ToolStarted):
                self._tool_starts[e.tool] = (self._stamp(e), e.planned_s, e.plan)
            elif isinstance(e, PhaseChanged):
                h = self._phase(e, h)
            elif isinstance(e, PreflightChecked):
                h = self._preflight(e, h)
                if not e.ok:
                    notable.append(e)
            elif isinstance(e, ToolExited):
                self._tool_exited(e)
                notable.append(e)
            elif isinstance(e, ProblemDetected):
                self.problems.append(e)
                h = replace(h, problems=h.problems + 1)
                notable.append(e)
            elif isinstance(e, RunFinished):
                self.finished = e
                self._ended_at = self._stamp(e)
                h = replace(h, status=e.status)
                notable.append(e)
        self.header = replace(h, elapsed_s=self.elapsed_s())
        self.phase_changed = (h.run_id, h.phase) != phase
        return notable

    def _preflight(self, e: PreflightChecked, h: HeaderView) -> HeaderView:
        self._named.add(e.name.lower().split(" ", 1)[0])
        if e.ok:
            return replace(h, preflight_ok=h.preflight_ok + 1)
        self.failed_preflight.append(e)
        return replace(h, preflight_failed=h.preflight_failed + 1)

    def _recorded(self, e: Event) -> None:
        if self._recorded_at is None or e.at > self._recorded_at:
            self._recorded_at, self._recorded_clock = e.at, self.clock()

    def _phase(self, e: PhaseChanged, h: HeaderView) -> HeaderView:
        if e.phase == "load" and self._load_started_at is None:
            self._load_started_at = self._stamp(e)
            self.sequential = self.sequential or e.detail.startswith("sequential")
        if e.phase == "stopped" and self._ended_at is None:
            self._ended_at = self._stamp(e)  # a followed run that died: its time stops
        return replace(h, phase=e.phase, phase_detail=e.detail)

    def _stamp(self, e: Event) -> float:
        """When an event happened, on the scale elapsed time is measured on."""
        return e.at if self.recorded_pace is not None else self.clock()

    def now(self) -> float:
        """The present on that scale: `clock`, or the recording's newest moment carried forward
        on `clock` since it arrived (never going back when a batch arrives a little late)."""
        if self.recorded_pace is None or self._recorded_at is None:
            return self.clock()
        now = self._recorded_at + (self.clock() - self._recorded_clock) * self.recorded_pace
        self._recorded_shown = max(self._recorded_shown, now)
        return self._recorded_shown

    def elapsed_s(self) -> int:
        if self._started_at is None:
            return 0
        end = self._ended_at if self._ended_at is not None else self.now()
        return max(0, int(end - self._started_at))

    def tick(self) -> None:
        """Called on every drain, events or not: elapsed time moves on its own."""
        elapsed = self.elapsed_s()
        if elapsed != self.header.elapsed_s:
            self.header = replace(self.header, elapsed_s=elapsed)

    def stopping(self) -> None:
        self.header = replace(self.header, stopping=True)

    def tool_phase(self, tool: str) -> ToolPhase | None:
        """The pane's word on `tool` besides its samples; None when it has nothing to add (before
        the load, or a tool perfdash only watches, whose samples say it all)."""
        if self._tools is None:
            return self._recorded_tool_phase(tool)
        if tool not in self._tools:
            return ToolPhase(tool, absent=True, in_profile=bool(self._mode))
        started = self._tool_starts.get(tool)
        if started is not None:
            at, planned, plan = started
            end = self._tool_ends.get(tool, self._ended_at)
            end = end if end is not None else self.now()
            return ToolPhase(tool, started=True, elapsed_s=max(0, int(end - at)),
                             planned_s=planned, plan=plan)
        if self._load_started_at is None or not self._mode:
            return None
        earlier = self._tools[:self._tools.index(tool)]
        if self.sequential and earlier and earlier[-1] not in self._tool_ends:
            return ToolPhase(tool, after=earlier[-1])
        return ToolPhase(tool)

    def _recorded_tool_phase(self, tool: str) -> ToolPhase | None:
        """A recording from before runs declared their tools (perfdash.ui.live.phase_view)."""
        if tool in self.tools or self._load_started_at is None:
            return None
        end = self._ended_at if self._ended_at is not None else self.now()
        return recorded_phase(tool, tool in self._named, self._load_started_at, end,
                              self.sequential, self._tool_ends, self.planned_s)

    def log_absent(self) -> bool:
        """True once the load has run for a while without one log batch: no app log is configured."""
        if self.log.batches or self._load_started_at is None:
            return False
        return self.now() - self._load_started_at >= LOG_GRACE_S or self.finished is not None

    # ------------------------------------------------------------------ per event type
    def _system(self, e: SystemSampled | HostsSampled) -> None:
        if isinstance(e, HostsSampled):
            self._hosts(e)
            return
        old = self.host or HostView()
        self.host = HostView(_push(old.cpu, e.cpu_pct), _push(old.mem, e.mem_pct), e.cpu_per_core,
                             e.mem_used_mb, e.swap_pct, (e.load1, e.load5, e.load15),
                             e.backend_cpu_pct, e.backend_rss_mb)

    def _hosts(self, e: HostsSampled) -> None:
        old = self.host or HostView()
        backend = e.first("backend")
        if backend is None or backend.cpu_pct is None or backend.mem_pct is None:
            self.host = replace(old, hosts=e.hosts)
            return
        self.host = replace(old, cpu=_push(old.cpu, backend.cpu_pct),
                            mem=_push(old.mem, backend.mem_pct), hosts=e.hosts)

    def _tool(self, e: ToolProgressed) -> None:
        old = self.tools.get(e.tool) or ToolView(e.tool)
        self._named.add(e.tool)
        self.tools[e.tool] = ToolView(e.tool, e.fields, e.counts,
                                      _push(old.req_per_s, e.get(RPS) or 0.0), e.elapsed_s,
                                      e.planned_s, old.ended)

    def _database(self, e: DatabaseSampled) -> None:
        old = self.database or DatabaseView()
        by_state = tuple(sorted(e.connections_by_state.items(), key=lambda kv: (-kv[1], kv[0])))
        total = sum(e.connections_by_state.values())
        self.database = DatabaseView(by_state, e.max_connections, e.waiting_locks,
                                     (*old.total[-(HISTORY - 1):], total))

    def _tool_exited(self, e: ToolExited) -> None:
        self._tool_ends[e.tool] = self._stamp(e)
        self._named.add(e.tool)
        end = ToolEnd(e.returncode, e.elapsed_s, e.stopped_by)
        self.tools[e.tool] = replace(self.tools.get(e.tool) or ToolView(e.tool), ended=end)

    def reported_tools(self) -> tuple[str, ...]:
        """The tools the run declares or that reported, in the run's order."""
        return tuple(dict.fromkeys((*(self._tools or ()), *self.tools)))
