"""One run from start to verdict: results directory, demo stack, preflight, database snapshot, k6 and
Artillery under supervision with the collectors alongside, the database report, the summary.

The CLI calls `Orchestrator.run` for headless runs and the dashboard calls it from a worker; both only
consume the events it publishes. Whatever happens (a tool crash, Ctrl-C, SIGTERM) the `finally`
path stops every child, writes the summary of what was measured and stops the demo stack.

This module holds the order of the steps and the run's error and signal policy; each step lives in
the module of its part of the run: before_load (RunStarted, preflight, seed), backend_lifecycle
(the demo stack, start_command and its stop), tool_runs (the load tools), finish (collectors,
database report, cleanup) and verdict (summary, baseline, reports).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from perfdash.analyze.baseline import Baseline
from perfdash.analyze.summary import RunRecord
from perfdash.artifacts import new_run_dir
from perfdash.collect.base import Setup
from perfdash.collect.health import BackendWatcher
from perfdash.events import Bus, ProblemDetected
from perfdash.proc.supervisor import Supervisor
from perfdash.run import signals
from perfdash.run.backend_lifecycle import start_backend, start_demo
from perfdash.run.before_load import planned_load, preflight, run_started, seed
from perfdash.run.finish import finish, query_analysis, stop_collectors
from perfdash.run.liveness import RunLock
from perfdash.run.recording import EventRecorder, RunLog
from perfdash.run.run_context import RunContext, RunOutcome, RunState
from perfdash.run.signals import Interrupted
from perfdash.run.tool_runs import run_tools, stop_children
from perfdash.secret import Secret
from perfdash.session import database as db_stats
from perfdash.settings import Environment, LogSpec, Profile, Settings
from perfdash.tools import tools_for
from perfdash.tools.base import Target

__all__ = ["Orchestrator", "RunOutcome"]


class Orchestrator:
    """Runs one profile against one environment; `run()` returns when everything has stopped."""

    def __init__(self, settings: Settings, profile: Profile, env: Environment, bus: Bus, *,
                 env_file: Path, skip_cleanup: bool = False, baseline: Baseline | None = None,
                 verbose: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.profile = profile
        self.env = env
        self.bus = bus
        self.env_file = env_file
        self.skip_cleanup = skip_cleanup
        self.baseline = baseline
        self._verbose = verbose
        self.supervisor: Supervisor | None = None
        self._stop_requested = threading.Event()
        self._secrets: list[Secret] = []

    @property
    def secrets(self) -> tuple[Secret, ...]:
        """The secrets of the run so far, the demo's token and database URL included once it made
        them: what the run's text is redacted of, for whoever writes it somewhere after the run."""
        return tuple(self._secrets)

    def request_stop(self) -> None:
        """Ask a run driven from another thread (the dashboard) to stop as if interrupted."""
        self._stop_requested.set()

    def context(self, supervisor: Supervisor) -> RunContext:
        """What every step of a run shares, around the run's supervisor and its list of secrets."""
        return RunContext(self.settings, self.profile, self.env, self.bus, supervisor,
                          self._secrets, self._stop_requested, self.env_file,
                          skip_cleanup=self.skip_cleanup, baseline=self.baseline)

    # ------------------------------------------------------------------------------ the run
    def run(self) -> RunOutcome:
        paths = new_run_dir(self.settings.results_dir, self.profile.name)
        alive = RunLock(paths.root)  # `perfdash attach` tells a running run from a dead one by it
        secrets = self._secrets = self.env.secrets()
        # The one redaction point: every event is redacted on the bus before anyone sees it; the
        # demo's token and URL are appended to this list later and redacted from then on.
        redactor = self.bus.redact_with(secrets)
        log = RunLog(paths.perfdash_log, secrets, self._verbose)
        recorder = EventRecorder(paths.events, secrets)
        self.bus.listen(recorder)
        st = RunState(paths, RunRecord(started_at=datetime.now(UTC)), log, recorder,
                      Target(self.env.base_url, self.env.database_url, self.env.api_token))
        # Every problem shown live (saturation, the backend watch, a silent plugin...) is part of
        # the summary too, not only of the screen that happened to be open.
        self.bus.listen(lambda e: st.record.problem(e.what, e.fix)
                        if isinstance(e, ProblemDetected) else None)
        # Child output reaches its log files through the bus's own redactor: the same secrets, the
        # same forms, for the files `serve` hands out as for the events.
        self.supervisor = Supervisor(log, redact=redactor)
        ctx = self.context(self.supervisor)
        previous = self._install_sigterm()
        try:
            _steps(ctx, st)
            signals.shield()  # inside the try: a signal up to here is caught below
        except (KeyboardInterrupt, Interrupted) as exc:
            signals.shield()  # from here on a signal is noted, never aborts the cleanup
            st.record.interrupted = True
            why = _why(exc)
            log(f"interrupted by {why}: stopping the tools")
            self.bus.publish(ProblemDetected(f"run interrupted ({why})",
                                             "partial results are kept in " + str(paths.root)))
            stop_children(ctx, st.record)
            stop_collectors(st)
            query_analysis(ctx, st)
        except Exception as exc:  # a defect or an unwritable disk: keep what was measured
            signals.shield()
            st.record.could_not_run = True
            st.record.problem(f"perfdash stopped unexpectedly: {type(exc).__name__}: {exc}",
                              f"see {paths.perfdash_log.name} in the results directory")
            log("unexpected error:\n" + traceback.format_exc())
            stop_children(ctx, st.record)
            stop_collectors(st)
        finally:
            # A backend this run started outlives the tools: it is stopped after the cleanup,
            # whose seeded rows may live in a database its stop command takes down.
            self.supervisor.stop_all(5.0, keep=[st.backend.child] if st.backend else [])
            try:
                outcome = finish(ctx, st)
            finally:
                self.supervisor.stop_all(5.0)  # whatever the finish could not stop
            if signals.ignored():
                log("received while stopping (not aborting the cleanup): "
                    + ", ".join(signals.ignored()))
            # From the dashboard's worker thread the CLI owns the signals instead (a no-op there).
            signals.restore(previous)
            alive.release()  # after the recording's last line: attachers see the end, then this
        return outcome

    def _install_sigterm(self) -> signals.Previous:
        """perfdash's signal policy (perfdash.run.signals): SIGINT, SIGTERM, SIGHUP stop the run."""
        return signals.install()


def _steps(ctx: RunContext, st: RunState) -> None:
    ctx.bus.publish(run_started(ctx, st))
    st.log(f"run {st.paths.run_id}: profile {ctx.profile.name}, environment {ctx.env.name}")
    if ctx.env.kind == "demo" and not start_demo(ctx, st):
        return
    if ctx.env.kind == "external" and not start_backend(ctx, st):
        return
    if not preflight(ctx, st):
        return
    if not seed(ctx, st):
        return
    st.before = db_stats.snapshot_before(st.paths, st.target.database_url, ctx.env, st.record,
                                         st.log)

    def load_begins() -> None:
        # The run's one time axis: t_s 0 is the start of the load, so the load's phase marker
        # is the timeline's first.
        ctx.phase("load", f"{ctx.profile.mode}, {planned_load(ctx, st.plans).words()}")
        st.record.load_started = True

    st.session.start(_collector_setup(ctx, st), on_clock=load_begins)
    st.watcher = st.session.find(BackendWatcher)
    run_tools(ctx, st)
    stop_collectors(st)
    ctx.phase("analysis")
    query_analysis(ctx, st)


def _collector_setup(ctx: RunContext, st: RunState) -> Setup:
    """What the collectors are built from: the demo backend writes its one log into the run's
    directory from the run's start and knows its pid; a user's backend is found by its port."""
    assert st.target.base_url is not None
    stack = st.stack
    logs = (LogSpec(st.paths.app_log, "app", requests=True,
                    format=ctx.env.access_log_format, time_unit=ctx.env.access_log_time_unit),
            ) if stack is not None else ctx.env.followed_logs()
    return Setup(ctx.bus, st.paths, ctx.env, st.target.base_url, st.target.database_url,
                 logs=logs, logs_from_start=stack is not None,
                 backend_pid=(lambda: stack.backend_pid) if stack is not None else None,
                 health_url=st.target.base_url + ctx.env.health_path,
                 tool_columns=tuple(c for t in tools_for(ctx.profile) for c, _, _ in t.timeline_columns))


def _why(exc: BaseException) -> str:
    """What stopped the run, in the words of the log and the problem line."""
    name = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
    return {"SIGINT": "Ctrl-C (SIGINT)", "SIGHUP": "SIGHUP (the terminal closed)",
            "stop requested": "a stop request"}.get(name, name)
