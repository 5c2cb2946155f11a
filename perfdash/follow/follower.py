"""A run's recording turned back into events on a bus, caught up fast and then followed.

The same `Bus` the live dashboard and the headless console read during a run, so an attacher shows
exactly what the run's own screen shows. Read-only: a follower only reads what the run wrote.
When a batch is long or more is already waiting (catching up, or a follower that fell behind),
samples are only worth their newest value: all but the newest of each kind of sample and of the
log batches are skipped before they are even parsed, while what has history (the timeline's
seconds, phases, problems, tool exits, the verdict) is always kept.

The headless console reads a bus subscription that holds a bounded number of events (samples
coalesce there to the newest of each kind; anything else queues, and the oldest is dropped past the
bound). A catch-up publishes a whole recording at once, so a follower for the console publishes
only what the console shows (`HEADLESS_SHOWS`): the run's history that matters (its start, phases,
preflight, tool exits, problems, verdict), which stays a few dozen events however long the run,
and the samples compacted as above. What fills a long recording (the timeline's seconds, log
batches, per-host samples every second) never reaches that subscription, so a catch-up of a run of
any length drops nothing that matters.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from perfdash.events import Bus, PhaseChanged, ProblemDetected, RunFinished, RunStarted, former_names
from perfdash.follow.records import event_from_line, record_type, sample_key
from perfdash.follow.source import Source

# Old recordings name tools' progress by their own event types (perfdash.events.current_record).
SAMPLE_TYPES = frozenset({"SystemSampled", "ToolProgressed", "DatabaseSampled", "LatencySampled",
                          "HostsSampled", *former_names()})
KEEP_LOG_BATCHES = 3  # a screenful of the app log when skipping ahead
STOPPED = "the run stopped without finishing"
# A run records a handful of lines a second; a batch this long is a catch-up (or a lag).
CATCH_UP_LINES = 200
# What the headless console never shows (perfdash.console): an attacher with --headless skips them.
HEADLESS_IGNORES = frozenset({"LogLinesRead", "TimelineTicked", "LatencySampled",
                              "DatabaseSampled"})
# What the headless console shows (perfdash.console.HeadlessConsole): all an attacher with
# --headless publishes. The samples among them are compacted on a backlog and coalesce in the
# console's subscription; the rest is the run's history, a few dozen events in any run.
HEADLESS_SHOWS = frozenset({"RunStarted", "PhaseChanged", "PreflightChecked", "ToolExited",
                            "ProblemDetected", "RunFinished", "SystemSampled", "ToolProgressed",
                            "HostsSampled", *former_names()})


@dataclass(frozen=True)
class FollowOutcome:
    """How following ended: the run `finished` (with its verdict), `stopped` without finishing
    (killed, or the connection to it was lost), or the follower `detached` on its own."""

    how: Literal["finished", "stopped", "detached"]
    message: str
    exit_code: int | None = None
    summary_path: str | None = None


def compact(lines: list[str]) -> tuple[list[str], int]:
    """The lines worth publishing of a backlog: the newest of each sample type and the last few log
    batches, everything else in order. Returns them and how many were skipped."""
    last: dict[str, int] = {}
    logs: list[int] = []
    for i, line in enumerate(lines):
        kind = record_type(line)
        if kind in SAMPLE_TYPES:
            last[sample_key(line) or kind] = i
        elif kind == "LogLinesRead":
            logs.append(i)
    if not last and len(logs) <= KEEP_LOG_BATCHES:
        return lines, 0
    dropped = set(logs[:-KEEP_LOG_BATCHES] if len(logs) > KEEP_LOG_BATCHES else [])
    newest = set(last.values())
    kept = [line for i, line in enumerate(lines)
            if i not in dropped and (i in newest or record_type(line) not in SAMPLE_TYPES)]
    return kept, len(lines) - len(kept)


class Follower:
    """Publishes a source's events on a bus until the run ends, the source ends, or `stop()`."""

    def __init__(self, source: Source, bus: Bus, *, poll_s: float = 1.0,
                 ignore: frozenset[str] = frozenset(),
                 only: frozenset[str] | None = None) -> None:
        self.source = source
        # Event types nobody here shows (the headless console: the log lines, the timeline's
        # seconds) are passed over by their type, never parsed: most of a recording's bytes.
        # `only`: publish these types and nothing else (the headless console's HEADLESS_SHOWS).
        self._ignore = ignore
        self._only = only
        self.bus = bus
        self._poll_s = poll_s
        self._stopped = threading.Event()
        self.run_id: str | None = None
        self.finished: RunFinished | None = None
        self.published = 0
        self.skipped = 0
        self.outcome: FollowOutcome | None = None
        self.complete = False  # the run's last event ("done" after its verdict) was read

    def stop(self) -> None:
        """Detach: stop reading (the run itself is never touched)."""
        self._stopped.set()
        self.source.close()

    def run(self) -> FollowOutcome:
        """Follow until the end; returns how it ended (also kept as `outcome`)."""
        reason = ""
        while not self._stopped.is_set():
            batch = self.source.next_batch(self._poll_s)
            lines = batch.lines
            if lines and (batch.behind or len(lines) > CATCH_UP_LINES):
                lines, skipped = compact(lines)
                self.skipped += skipped
            self._publish(lines)
            for note in batch.notes:
                self.bus.publish(ProblemDetected(note, severity="warning"))
            if self.complete:  # the recording's last event: no need to wait for the lock
                break
            if batch.ended:
                reason = batch.reason
                break
        self.source.close()
        self.outcome = self._conclude(reason)
        return self.outcome

    def _publish(self, lines: list[str]) -> None:
        for line in lines:
            if self._ignore or self._only is not None:
                kind = record_type(line)
                if kind in self._ignore or (self._only is not None and kind not in self._only):
                    continue
            event = event_from_line(line)
            if event is None:
                continue
            if isinstance(event, RunStarted):
                self.run_id = event.run_id
            elif isinstance(event, RunFinished):
                self.finished = event
            elif isinstance(event, PhaseChanged) and event.phase == "done" and self.finished:
                self.complete = True
            self.bus.publish(event)
            self.published += 1

    def _conclude(self, reason: str) -> FollowOutcome:
        if self.finished is not None:
            f = self.finished
            return FollowOutcome("finished", f"the run finished: {f.status} (exit {f.exit_code})",
                                 f.exit_code, f.summary_path)
        if self._stopped.is_set() or reason == "detached":
            return FollowOutcome("detached", "detached; the run goes on")
        if self.run_id is None and self.published == 0:
            message = f"{self.source.where} has no recorded run to follow ({reason or 'empty'})"
            self.bus.publish(ProblemDetected(message, severity="error"))  # the screen says it too
            return FollowOutcome("stopped", message)
        message = STOPPED + (f": {reason}" if reason else "")
        fix = f"its partial results are in {self.source.where}"
        self.bus.publish(PhaseChanged("stopped", STOPPED))
        self.bus.publish(ProblemDetected(message, fix, severity="error"))
        return FollowOutcome("stopped", f"{message}; {fix}")
