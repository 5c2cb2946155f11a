"""What the steps of one run share, so each step is a function of the module that owns its part of
the run instead of a method of one large class: `RunContext`, fixed when the run begins, and
`RunState`, which the steps fill in as the run goes. Built by perfdash.run.orchestrator.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfdash.analyze.summary import RunRecord
from perfdash.artifacts import RunPaths
from perfdash.collect.dbstats import DbSnapshot
from perfdash.collect.health import BackendWatcher
from perfdash.events import Bus, PhaseChanged
from perfdash.proc.supervisor import Supervisor
from perfdash.run.preflight import ToolPlans
from perfdash.run.recording import EventRecorder, RunLog
from perfdash.run.signals import Interrupted
from perfdash.secret import Secret
from perfdash.session.collectors import CollectorSession
from perfdash.settings import Environment, Profile, Settings
from perfdash.tools.base import Target

if TYPE_CHECKING:
    from perfdash.analyze.baseline import Baseline
    from perfdash.demo.stack import DemoStack
    from perfdash.run.backend_start import StartedBackend


@dataclass(frozen=True)
class RunOutcome:
    status: str
    exit_code: int
    paths: RunPaths
    summary: dict[str, Any]


@dataclass(frozen=True)
class RunContext:
    """The run as it was asked for, and what it runs with: the supervisor of its children and the
    secrets its text is redacted of. `secrets` is the very list the bus and the logs redact with:
    the demo appends its token and database URL to it once it made them."""

    settings: Settings
    profile: Profile
    env: Environment
    bus: Bus
    supervisor: Supervisor
    secrets: list[Secret]
    stop_requested: threading.Event
    env_file: Path
    skip_cleanup: bool = False
    baseline: Baseline | None = None

    def phase(self, phase: str, detail: str = "") -> None:
        if self.stop_requested.is_set() and phase not in ("cleanup", "done"):
            raise Interrupted("stop requested")  # the dashboard asked before the load began
        self.bus.publish(PhaseChanged(phase, detail))


@dataclass
class RunState:
    """What one run accumulates; passed between the steps so each stays small."""

    paths: RunPaths
    record: RunRecord
    log: RunLog
    recorder: EventRecorder
    target: Target
    stack: DemoStack | None = None
    backend: StartedBackend | None = None  # an external backend this run started
    before: DbSnapshot | None = None
    session: CollectorSession = field(default_factory=CollectorSession)
    watcher: BackendWatcher | None = None
    plans: ToolPlans = field(default_factory=dict)
    # The tools found and planned before RunStarted, and the target they were planned against.
    early: ToolPlans = field(default_factory=dict)
    early_target: Target | None = None
