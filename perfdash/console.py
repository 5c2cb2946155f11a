"""The headless consumer of the event stream: what `perfdash run --headless` prints, in CI or a shell.

On a terminal it keeps one compact live status (rich `Live`, 2 Hz); otherwise (CI logs) it prints a
plain timestamped line every 5 s. Preflight results, tool exits and problems are printed as they
happen in both modes. The result table is a pure function of summary.json, shared with
`perfdash show`.

With hosts measured through node_exporter (`HostsSampled`, the same event the dashboard's host
pane folds), the status has one compact line per host, backend hosts first; a host that does not
answer says "not answering" instead of showing numbers it does not have.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn
from rich.table import Table
from rich.text import Text

from perfdash.analyze.checks import fmt_value
from perfdash.collect.hostsample import HostsSampled
from perfdash.diagnose.render import diagnosis_lines
from perfdash.events import (
    Bus,
    Event,
    PhaseChanged,
    PreflightChecked,
    ProblemDetected,
    RunFinished,
    RunStarted,
    Subscription,
    SystemSampled,
    ToolExited,
    ToolProgressed,
    ToolStarted,
)
from perfdash.prom.node import HostSample
from perfdash.tools import label_of, live_spec
from perfdash.tools.live import Figure, Format

STATUS_STYLE = {
    "pass": "bold green", "warn": "bold yellow", "fail": "bold red",
    "not measured": "bold magenta", "incomplete": "bold magenta", "interrupted": "bold yellow",
}
PLAIN_EVERY_S = 5.0


class HeadlessConsole:
    """Drains a subscription in its own thread; never slows the run down."""

    def __init__(self, bus: Bus, console: Console | None = None, verbose: bool = False) -> None:
        self.console = console or Console(highlight=False)
        self._sub: Subscription = bus.subscribe()
        self._verbose = verbose
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="console", daemon=True)
        self._latest: dict[type[Event], Event] = {}
        self._tool_progress: dict[str, ToolProgressed] = {}  # each tool's latest
        self._exited: set[str] = set()  # tools whose figures are final: their lines stop there
        self._plans: dict[str, str] = {}  # each started tool's plan in words (ToolStarted)
        self._run_started: RunStarted | None = None
        self._phase = "starting"
        self._last_plain = 0.0
        self._live: Live | None = None
        self._progress = Progress(TextColumn("{task.description:<10}"), BarColumn(),
                                  TaskProgressColumn(), TextColumn("{task.fields[left]}"),
                                  console=self.console)
        self._tasks: dict[str, TaskID] = {}

    def start(self) -> None:
        if self.console.is_terminal:
            self._live = Live(self._status(), console=self.console, refresh_per_second=2,
                              transient=True)
            self._live.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._handle(self._sub.drain())
        if self._live:
            self._live.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._handle(self._sub.drain(timeout=0.5))
            now = time.monotonic()
            if self._live:
                self._live.update(self._status())
            elif self._phase == "load" and now - self._last_plain >= PLAIN_EVERY_S:
                self._last_plain = now
                self._line(self._plain_status())
                for host in self._hosts():
                    self._line(f"host {host_line(host)}")

    def _line(self, text: str | Text) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        out = Text(f"{stamp} ", style="dim") + (Text(text) if isinstance(text, str) else text)
        self.console.print(out, soft_wrap=True)  # CI logs: one event, one line

    def _handle(self, events: list[Event]) -> None:
        for e in events:
            if isinstance(e, SystemSampled | HostsSampled):
                self._latest[type(e)] = e
            elif isinstance(e, ToolProgressed):
                self._tool_progress[e.tool] = e
            elif isinstance(e, RunStarted):
                self._run_started = e
                self._line(run_line(e))
            elif isinstance(e, ToolStarted):
                self._plans[e.tool] = e.plan
                self._line(f"{e.tool} started: {e.plan or 'length unknown'} planned")
            elif isinstance(e, PhaseChanged):
                self._phase = e.phase
                if e.phase not in ("done",):
                    self._line(f"== {e.phase}" + (f": {e.detail}" if e.detail else ""))
            elif isinstance(e, PreflightChecked):
                status = e.detail.split(":", 1)[0]
                mark = {"pass": ("ok  ", "green"), "warn": ("warn", "yellow"),
                        "skip": ("skip", "dim"), "fail": ("FAIL", "bold red")}[status]
                line = Text.assemble((f"[{mark[0]}] ", mark[1]), f"{e.name}: ",
                                     e.detail.split(": ", 1)[-1])
                if e.fix and status in ("fail", "warn"):
                    line.append(f" -> {e.fix}", style="italic")
                self._line(line)
            elif isinstance(e, ToolExited):
                self._exited.add(e.tool)
                self._line(f"{e.tool} exited with code {e.returncode} after {e.elapsed_s:.1f} s"
                           + (f" (stopped by {e.stopped_by})" if e.stopped_by else ""))
            elif isinstance(e, ProblemDetected):
                style = "bold red" if e.severity == "error" else "yellow"
                self._line(Text(f"{e.severity}: {e.what}" + (f" -> {e.fix}" if e.fix else ""),
                                style=style))
            elif isinstance(e, RunFinished):
                self._phase = "done"

    # ------------------------------------------------------------------ live status
    def _hosts(self) -> list[HostSample]:
        """The hosts of the latest HostsSampled, backend hosts first (the event's own order is
        kept within a role group); none without hosts configured."""
        hosts = self._latest.get(HostsSampled)
        if not isinstance(hosts, HostsSampled):
            return []
        return sorted(hosts.hosts, key=lambda h: h.role != "backend")

    def _plain_status(self) -> str:
        parts: list[str] = []
        for name, p in self._tool_progress.items():
            if name not in self._exited:
                plan = self._plans.get(name) or "plan unknown"
                length = f"/{p.planned_s:.0f}s" if p.planned_s > 0 else f"s ({plan})"
                parts.append(f"{name} {p.elapsed_s:.0f}{length} " + " ".join(
                    f"{label.lower().replace(' ', '_')}={value}" if value else label.upper()
                    for label, value in tool_figure_pairs(p)))
        sysm = self._latest.get(SystemSampled)
        if isinstance(sysm, SystemSampled):
            parts.append(f"cpu={sysm.cpu_pct:.0f}% mem={sysm.mem_pct:.0f}% "
                         f"load={sysm.load1:.2f}")
        return " | ".join(parts) or "waiting for the first samples"

    def _status(self) -> RenderableType:
        """Progress bars with time left per tool, then one line of figures each."""
        sysm = self._latest.get(SystemSampled)
        for name, p in self._tool_progress.items():
            self._bar(label_of(name), p.elapsed_s, p.planned_s, self._plans.get(name, ""))
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for name, p in self._tool_progress.items():
            table.add_row(label_of(name), Text("  ").join(
                Text(f"{label} {value}") if value else Text(label, style="bold red")
                for label, value in tool_figure_pairs(p)))
        if isinstance(sysm, SystemSampled):
            table.add_row("host", f"CPU {sysm.cpu_pct:.0f}%  memory {sysm.mem_pct:.0f}%  "
                                  f"load {sysm.load1:.2f} {sysm.load5:.2f} {sysm.load15:.2f}")
        for host in self._hosts():
            table.add_row(host.name, host_figures(host) if host.up
                          else Text(f"{host.role}  not answering", style="bold red"))
        return Group(Text(f"phase: {self._phase}", style="dim"), self._progress, table)

    def _bar(self, tool: str, elapsed: float, planned: float, plan: str = "") -> None:
        if tool not in self._tasks:
            self._tasks[tool] = self._progress.add_task(tool, total=max(planned, 1.0), left="")
        if planned <= 0:  # iterations: no time to count down, only what is planned
            self._progress.update(self._tasks[tool], completed=0,
                                  left=f"{elapsed:.0f}s, {plan or 'plan unknown'}")
            return
        left = max(0.0, planned - elapsed)
        self._progress.update(self._tasks[tool], completed=min(elapsed, planned),
                              left=f"{left:.0f}s left")


def run_line(e: RunStarted) -> str:
    """The run's first line: which run, and how much load it plans (read from the tools' own
    plans before it started); a run perfdash only watches has no plan to give."""
    length = e.plan or (f"about {e.planned_seconds:.0f} s of load" if e.planned_seconds > 0
                        else "")
    how = ", ".join(part for part in (e.mode, length) if part)
    return (f"run {e.run_id}: profile {e.profile}, environment {e.environment}"
            + (f", {how}" if how else "") + f" -> {e.run_dir}")


def _pct0(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def host_figures(h: HostSample) -> str:
    """A host that answered, in one line: role, CPU, memory, load and network (a figure the
    host did not report is a dash, never a zero)."""
    text = f"{h.role}  CPU {_pct0(h.cpu_pct)}  mem {_pct0(h.mem_pct)}"
    if h.load1 is not None:
        text += f"  load {h.load1:.2f}"
    if h.net_rx_kbps is not None and h.net_tx_kbps is not None:
        text += f"  net {h.net_rx_kbps:,.0f}/{h.net_tx_kbps:,.0f} KB/s"
    return text


def host_line(h: HostSample) -> str:
    """One host for a CI log: its name, then its figures, or "not answering" and why."""
    if not h.up:
        return f"{h.name} {h.role}  not answering" + (f" ({h.problem})" if h.problem else "")
    return f"{h.name} {host_figures(h)}"


def tool_figure_pairs(p: ToolProgressed) -> list[tuple[str, str]]:
    """A tool's figures as (label, value), as its LiveSpec lists them for its pane: what the
    console shows for every tool. A crossed flag is its words with no value; an unset one is
    left out."""
    pairs: list[tuple[str, str]] = []
    for line in live_spec(p.tool).lines:
        for f in line.figures:
            pair = _figure_pair(f, p)
            if pair is not None:
                pairs.append(pair)
    return pairs


def _figure_pair(f: Figure, p: ToolProgressed) -> tuple[str, str] | None:
    if f.counts:
        return f.label, ", ".join(f"{k}: {v}" for k, v in p.counts) or "none"
    value = p.get(f.field)
    if f.flag is not None:
        return (f.flag[0], "") if value else None
    shown = _figure_value(value, f.fmt) + (f"/{_figure_value(p.get(f.of), f.fmt)}" if f.of else "")
    return f.label or f.unit.strip(), shown


def _figure_value(value: float | None, fmt: Format) -> str:
    if fmt == "ms":
        return _ms(value)
    if fmt in ("pct", "pct2"):
        return _pct(value)
    return "–" if value is None else f"{value:.0f}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}ms"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


# ---------------------------------------------------------------------- the result view


def _short_source(source: str) -> str:
    """`profiles.toml [profiles.smoke.thresholds.k6]` reads as `profiles.toml`; the table keeps
    a script's path and perfdash's own rules as they are."""
    return source.split(" [", 1)[0] if source.startswith("profiles.toml") else source


def result_table(summary: dict[str, Any]) -> RenderableType:
    """Every check with value against threshold, then the overall status; used by run and show."""
    table = Table(title=f"perfdash run {summary.get('run_id')} — profile {summary.get('profile')}, "
                        f"environment {summary.get('environment')}", expand=False)
    checks = summary.get("checks", [])
    longest = max((len(str(c.get("name", ""))) for c in checks), default=10)
    table.add_column("status", no_wrap=True)
    # a check's name is what a reader (and a grep of a CI log) looks for: never folded
    table.add_column("check", no_wrap=True, min_width=min(longest, 50))
    table.add_column("value", justify="right")
    table.add_column("threshold")
    table.add_column("source", overflow="fold", max_width=28)
    table.add_column("detail", overflow="fold", max_width=60)
    for c in checks:
        shown = fmt_value(c.get("value"), c.get("unit", ""))
        table.add_row(Text(c["status"], style=STATUS_STYLE.get(c["status"], "")), c["name"],
                      shown, c.get("threshold") or "", _short_source(str(c.get("source") or "")),
                      c.get("detail") or "")
    status = str(summary.get("status", "?"))
    parts: list[RenderableType] = [table]
    for p in summary.get("problems", []):
        parts.append(Text(f"problem: {p['what']}" + (f" -> {p['fix']}" if p.get("fix") else ""),
                          style="yellow"))
    if isinstance(summary.get("diagnosis"), dict):
        parts.append(Text("\n".join(diagnosis_lines(summary["diagnosis"]))))
    parts.append(Text.assemble("overall status: ", (status.upper(), STATUS_STYLE.get(status, "")),
                               f"  (exit {summary.get('exit_code')})"))
    return Group(*parts)
