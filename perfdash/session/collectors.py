"""The one collector lifecycle of `perfdash run` (perfdash.run.orchestrator) and `perfdash watch`
(perfdash.follow.observe): build every registered collector for the environment, start them after
the timeline's clock, stop them in order and let each finish its artifacts, with the same error
handling whichever command asked.

Order matters twice. The timeline starts first, so the caller's "load" phase marker is its first
and t_s 0 is the start of the load; it stops last, so its final row holds what the others
published as they stopped. Finishing comes only after every stop, so an artifact written at the
end (applog-endpoints.json) counts every line the tails read.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from perfdash.collect.base import Collector, RunNotes, Setup
from perfdash.collect.registry import entries
from perfdash.collect.remote_hosts import host_names
from perfdash.timeline.recorder import TimelineRecorder
from perfdash.tools import progress_columns

T = TypeVar("T")


class Stoppable(Protocol):
    """A follower that runs beside the collectors (a load tool's progress, a k6 spotter): it is
    stopped with them but writes nothing at the finish."""

    def stop(self) -> None: ...


class CollectorSession:
    """The collectors of one run or watch, from `start()` to `stop()`; empty until started, and
    empty again after `stop()`, so stopping twice (an interrupted run's two paths) is harmless."""

    def __init__(self) -> None:
        self._timeline: TimelineRecorder | None = None
        self._sources: list[Collector] = []
        self._followers: list[Stoppable] = []

    def start(self, setup: Setup, on_clock: Callable[[], None] | None = None) -> None:
        """Start the timeline, call `on_clock` (the caller publishes its load phase there), then
        build and start every registered collector that has something to measure here."""
        self._timeline = TimelineRecorder(setup.bus, setup.paths.root, hosts=host_names(setup),
                                          tool_columns=list(setup.tool_columns),
                                          tool_fields=progress_columns())
        self._timeline.start()
        if on_clock is not None:
            on_clock()
        for entry in entries():
            collector = entry.build(setup)
            if collector is None:
                continue
            self._sources.append(collector)  # before start(): a failed start is stopped too
            collector.start()

    def adopt(self, follower: Stoppable) -> None:
        """A follower already started elsewhere, stopped after the collectors, before the timeline."""
        self._followers.append(follower)

    @property
    def collectors(self) -> tuple[Collector, ...]:
        """The running collectors, the timeline first, in start order."""
        return (*([self._timeline] if self._timeline else []), *self._sources)

    def find(self, kind: type[T]) -> T | None:
        """The running collector of a type, for a caller that acts on it live (the run stops its
        tools when the health poller says the backend is lost)."""
        return next((c for c in self.collectors if isinstance(c, kind)), None)

    def stop(self, run_dir: Path, record: RunNotes, log: Callable[[str], None]) -> None:
        """Stop everything (sources, followers, the timeline last), then finish each collector in
        start order. A collector that fails to stop or finish is a problem of the run, logged with
        its traceback; it never costs the others their artifacts."""
        collectors = self.collectors
        timeline = [self._timeline] if self._timeline else []
        ordered: list[Stoppable] = [*self._sources, *self._followers, *timeline]
        self._timeline, self._sources, self._followers = None, [], []
        for item in ordered:
            try:
                item.stop()
            except Exception as exc:
                _failed(f"stopping {_called(item)}", exc, record, log)
        for collector in collectors:
            try:
                collector.finish(run_dir, record)
            except Exception as exc:
                _failed(f"the finish of collector {collector.name}", exc, record, log)


def _called(item: Stoppable) -> str:
    name = getattr(item, "name", None)
    return f"collector {name}" if isinstance(name, str) else type(item).__name__


def _failed(what: str, exc: Exception, record: RunNotes, log: Callable[[str], None]) -> None:
    log(f"{what} failed:\n" + traceback.format_exc())
    record.problem(f"{what} failed: {type(exc).__name__}: {exc}",
                   "see perfdash.log in the results directory")
