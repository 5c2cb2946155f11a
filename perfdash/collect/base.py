"""The seam every collector sits behind: what it is built from (`Setup`), what it must do
(`Collector`), and the part of the run's record it may write into (`RunNotes`).

The shared lifecycle (perfdash.session.collectors) is the only caller: `perfdash run` and
`perfdash watch` both build their collectors through it from the registry
(perfdash.collect.registry), so neither knows a collector by its type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from perfdash.artifacts import RunPaths
from perfdash.events import Bus
from perfdash.secret import Secret
from perfdash.settings import Environment, LogSpec

# The one fix for an artifact that could not be written, whichever collector writes it.
DISK_FIX = "free disk space or fix permissions"


@dataclass(frozen=True)
class Setup:
    """Everything a collector may be built from, resolved once by the lifecycle's caller: a run
    knows its demo stack and its health route, a watch knows neither, and the factories stay
    blind to which of the two is asking."""

    bus: Bus
    paths: RunPaths
    env: Environment
    base_url: str | None
    database_url: Secret | None
    # The logs to follow: the demo backend's own log in the run directory, or the environment's.
    logs: tuple[LogSpec, ...] = ()
    logs_from_start: bool = False  # a log written only by this run is read from its first line
    # The backend's pid when the caller knows it (the demo); else the listener on the base URL.
    backend_pid: Callable[[], int | None] | None = None
    measure_host: bool = True
    # The health route to poll: only a run polls, since only a run stops when the backend dies.
    health_url: str | None = None
    # The timeline columns the run's load tools declare (`LoadTool.timeline_columns`).
    tool_columns: tuple[str, ...] = ()


class RunNotes(Protocol):
    """What a collector may write into the run's record when it finishes (RunRecord has it);
    a protocol, so collect/ stays below the analysis that owns the record."""

    not_measured: dict[str, str]
    app_log: dict[str, Any] | None
    health: dict[str, Any] | None

    def problem(self, what: str, fix: str = "") -> None: ...


class Collector(Protocol):
    """One source of measurements beside the load.

    `start()` begins measuring (a thread, usually: perfdash.collect.background), `stop()` returns
    once nothing more will be written or published, and `finish()`, called after every collector
    has stopped, writes the artifacts it kept in memory and its part of the record. `columns`
    names the timeline.csv columns its events fill, so a screen or a test can tell who owns a
    series; `name` is what its errors are called by."""

    @property
    def name(self) -> str: ...

    @property
    def columns(self) -> tuple[str, ...]: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def finish(self, run_dir: Path, record: RunNotes) -> None: ...


# A registry line: builds the collector for this run or watch, or None when it has nothing to
# measure here (no database URL, no log, a watch with no health route...).
Factory = Callable[[Setup], Collector | None]
