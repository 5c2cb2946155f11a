"""One run from start to verdict: results directory, demo stack, preflight, database snapshot, k6 and
Artillery under supervision with the collectors alongside, the database report, the summary.

The CLI calls `run_suite` for headless runs and the dashboard calls it from a worker; both only
consume the events it publishes. Whatever happens (a tool crash, Ctrl-C, SIGTERM) the `finally`
path stops every child, writes the summary of what was measured and stops the demo stack.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfdash.analyze.baseline import Baseline, regression_check
from perfdash.analyze.checks import Check
from perfdash.analyze.compare import CompareError, compare_runs
from perfdash.analyze.compare_report import comparison_markdown
from perfdash.analyze.reports import write_reports
from perfdash.analyze.summary import RunRecord, build_summary
from perfdash.artifacts import (
    ArtifactError,
    RunPaths,
    new_run_dir,
    tail_lines,
    write_json_atomic,
    write_text_atomic,
)
from perfdash.collect.base import Setup
from perfdash.collect.dbstats import DbSnapshot
from perfdash.collect.health import BackendWatcher
from perfdash.collect.remote_hosts import prometheus_preflight
from perfdash.events import (
    Bus,
    PhaseChanged,
    PreflightChecked,
    ProblemDetected,
    RunFinished,
    RunStarted,
    ToolExited,
    ToolStarted,
    redact_value,
)
from perfdash.launch import LaunchRequest
from perfdash.proc.supervisor import Child, Supervisor
from perfdash.run import signals
from perfdash.run.datasteps import cleanup_step, seed_step
from perfdash.run.liveness import RunLock
from perfdash.run.load_plan import LoadPlan, load_plan
from perfdash.run.preflight import PreflightResult, ToolPlans, blocking, plan_tools, run_preflight
from perfdash.run.recording import EventRecorder, RunLog
from perfdash.run.signals import Interrupted
from perfdash.secret import Redactor, Secret, scrub
from perfdash.session import database as db_stats
from perfdash.session.collectors import CollectorSession
from perfdash.settings import Environment, LogSpec, Profile, Settings
from perfdash.tools import TOOL_NAMES, tools_for
from perfdash.tools.base import LaunchContext, LoadTool, Target, ToolPlan

if TYPE_CHECKING:
    from perfdash.demo.stack import DemoStack
    from perfdash.run.backend_start import StartedBackend


@dataclass(frozen=True)
class _Launch:
    """One tool to start: the tool, its command, how long it should take."""

    tool: LoadTool
    request: LaunchRequest
    planned_s: float
    limit_s: float = 0.0  # the tool's own longest (k6's maxDuration): later is a hang

    @property
    def hang_hint(self) -> str:
        return self.tool.hang_hint

    @property
    def grace_s(self) -> float:
        # k6 waits up to 30 s for iterations to finish (gracefulStop); Artillery ends its last
        # window and its pending Socket.IO steps. Past this, the tool is stuck.
        return max(60.0, self.planned_s * 0.5)

    @property
    def deadline_s(self) -> float:
        """How long the tool may run before its grace starts: its plan, or its own limit when it
        runs iterations whose length only the run tells."""
        return max(self.planned_s, self.limit_s) if self.limit_s else self.planned_s


@dataclass(frozen=True)
class RunOutcome:
    status: str
    exit_code: int
    paths: RunPaths
    summary: dict[str, Any]


@dataclass
class _RunState:
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
        st = _RunState(paths, RunRecord(started_at=datetime.now(UTC)), log, recorder,
                       Target(self.env.base_url, self.env.database_url, self.env.api_token))
        # Every problem shown live (saturation, the backend watch, a silent plugin...) is part of
        # the summary too, not only of the screen that happened to be open.
        self.bus.listen(lambda e: st.record.problem(e.what, e.fix)
                        if isinstance(e, ProblemDetected) else None)
        # Child output reaches its log files through the bus's own redactor: the same secrets, the
        # same forms, for the files `serve` hands out as for the events.
        self.supervisor = Supervisor(log, redact=redactor)
        previous = self._install_sigterm()
        try:
            self._steps(st)
            signals.shield()  # inside the try: a signal up to here is caught below
        except (KeyboardInterrupt, Interrupted) as exc:
            signals.shield()  # from here on a signal is noted, never aborts the cleanup
            st.record.interrupted = True
            why = _why(exc)
            log(f"interrupted by {why}: stopping the tools")
            self.bus.publish(ProblemDetected(f"run interrupted ({why})",
                                             "partial results are kept in " + str(paths.root)))
            self._stop_children(st.record)
            self._stop_collectors(st)
            self._query_analysis(st)
        except Exception as exc:  # a defect or an unwritable disk: keep what was measured
            signals.shield()
            st.record.could_not_run = True
            st.record.problem(f"perfdash stopped unexpectedly: {type(exc).__name__}: {exc}",
                              f"see {paths.perfdash_log.name} in the results directory")
            log("unexpected error:\n" + traceback.format_exc())
            self._stop_children(st.record)
            self._stop_collectors(st)
        finally:
            # A backend this run started outlives the tools: it is stopped after the cleanup,
            # whose seeded rows may live in a database its stop command takes down.
            self.supervisor.stop_all(5.0, keep=[st.backend.child] if st.backend else [])
            try:
                outcome = self._finish(st)
            finally:
                self.supervisor.stop_all(5.0)  # whatever the finish could not stop
            if signals.ignored():
                log("received while stopping (not aborting the cleanup): "
                    + ", ".join(signals.ignored()))
            # From the dashboard's worker thread the CLI owns the signals instead (a no-op there).
            signals.restore(previous)
            alive.release()  # after the recording's last line: attachers see the end, then this
        return outcome

    def _steps(self, st: _RunState) -> None:
        self.bus.publish(self._run_started(st))
        st.log(f"run {st.paths.run_id}: profile {self.profile.name}, environment {self.env.name}")
        if self.env.kind == "demo" and not self._start_demo(st):
            return
        if self.env.kind == "external" and not self._start_backend(st):
            return
        if not self._preflight(st):
            return
        if not self._seed(st):
            return
        st.before = db_stats.snapshot_before(st.paths, st.target.database_url, self.env, st.record,
                                             st.log)

        def load_begins() -> None:
            # The run's one time axis: t_s 0 is the start of the load, so the load's phase marker
            # is the timeline's first.
            self._phase("load", f"{self.profile.mode}, {self._load_plan(st.plans).words()}")
            st.record.load_started = True

        st.session.start(self._collector_setup(st), on_clock=load_begins)
        st.watcher = st.session.find(BackendWatcher)
        self._run_tools(st)
        self._stop_collectors(st)
        self._phase("analysis")
        self._query_analysis(st)

    def _collector_setup(self, st: _RunState) -> Setup:
        """What the collectors are built from: the demo backend writes its one log into the run's
        directory from the run's start and knows its pid; a user's backend is found by its port."""
        assert st.target.base_url is not None
        stack = st.stack
        logs = (LogSpec(st.paths.app_log, "app", requests=True,
                        format=self.env.access_log_format, time_unit=self.env.access_log_time_unit),
                ) if stack is not None else self.env.followed_logs()
        return Setup(self.bus, st.paths, self.env, st.target.base_url, st.target.database_url,
                     logs=logs, logs_from_start=stack is not None,
                     backend_pid=(lambda: stack.backend_pid) if stack is not None else None,
                     health_url=st.target.base_url + self.env.health_path,
                     tool_columns=tuple(c for t in tools_for(self.profile) for c, _, _ in t.timeline_columns))

    def _run_started(self, st: _RunState) -> RunStarted:
        """The run's first word, with its real planned load: the tools' plans are read first
        (preflight reuses them), and the tools it declares, so no screen guesses which will come."""
        st.early = plan_tools(self.profile, self.env, st.target, st.paths.root,
                              self.settings.project_dir)
        st.early_target = st.target
        plan = self._load_plan(st.early)
        return RunStarted(st.paths.run_id, str(st.paths.root), self.profile.name, self.env.name,
                          plan.seconds, plan=plan.words(), mode=self.profile.mode,
                          tools=tuple(t.name for t in tools_for(self.profile)))

    def _start_demo(self, st: _RunState) -> bool:
        from perfdash.demo.stack import DemoStack

        self._phase("stack", "starting PostgreSQL and the demo backend")
        assert self.supervisor is not None
        st.stack = DemoStack(self.supervisor, st.paths.app_log, st.paths.root, st.log)
        self._secrets.append(st.stack.token)
        try:
            st.stack.start()
        except Exception as exc:  # the demo could not come up: say why, keep the artifacts
            st.record.could_not_run = True
            st.record.problem(f"the demo stack could not start: {exc}",
                              "run `perfdash doctor` to see what is missing")
            return False
        assert st.stack.database_url is not None
        self._secrets.append(st.stack.database_url)
        st.target = Target(st.stack.base_url, st.stack.database_url, st.stack.token)
        return True

    def _start_backend(self, st: _RunState) -> bool:
        """The environment's start_command when its backend does not answer yet; what it starts
        is kept in `st.backend` before it is waited for, so the finish stops it either way."""
        from perfdash.run.backend_start import (
            BackendStartError,
            start_backend_if_down,
            wait_until_healthy,
        )

        if not self.env.start_command or not st.target.base_url:
            return True
        assert self.supervisor is not None
        self._phase("stack", "starting the backend")
        try:
            st.backend = start_backend_if_down(self.env, st.target.base_url, self.supervisor,
                                               st.paths.root, st.log)
            if st.backend is not None:
                wait_until_healthy(st.backend, st.log)
        except BackendStartError as exc:
            st.record.could_not_run = True
            st.record.problem(f"the backend could not start: {exc}",
                              f"fix start_command of [environments.{self.env.name}]")
            return False
        return True

    def _stop_backend(self, st: _RunState) -> None:
        """Stop the backend this run started, if it did; what stays up is one of its problems."""
        from perfdash.run.backend_stop import stop_started_backend

        if st.backend is None:
            return
        try:
            for problem in stop_started_backend(st.backend, st.log):
                st.record.problem(problem.what, problem.fix)
        except Exception as exc:  # stopping must never cost the run its summary
            st.log("stopping the backend failed:\n" + traceback.format_exc())
            st.record.problem(f"the backend perfdash started could not be stopped: "
                              f"{type(exc).__name__}: {exc}",
                              f"see {st.paths.perfdash_log.name}; stop it yourself")

    def _seed(self, st: _RunState) -> bool:
        """The environment's seed step before the load; a failed seed ends the run (exit 3)."""
        if self.env.seed_sql or self.env.seed_command:
            self._phase("seed", f"scale {self.env.seed_scale}")
        result = seed_step(self.env, st.target.database_url, st.paths, self.settings.project_dir,
                           st.log)
        self._publish_preflight(result)
        st.record.preflight.append(result.to_json())
        write_json_atomic(st.paths.preflight, st.record.preflight)
        if result.status == "fail":
            st.record.could_not_run = True
            st.record.problem(f"seed: {result.detail}", result.fix)
            return False
        return True

    def _preflight(self, st: _RunState) -> bool:
        self._phase("preflight")
        results = run_preflight(self.profile, self.env, st.target, st.paths.root,
                                self.settings.project_dir, self.env_file,
                                on_result=self._publish_preflight, plans=st.plans,
                                known=st.early, replan=st.target is not st.early_target)
        for name, status, detail, fix in prometheus_preflight(self.env, self.profile):
            result = PreflightResult(name, "fail" if status == "fail" else
                                     "warn" if status == "warn" else "pass", detail, fix)
            self._publish_preflight(result)
            results.append(result)
        st.record.preflight = [r.to_json() for r in results]
        write_json_atomic(st.paths.preflight, st.record.preflight)
        failed = blocking(results)
        for r in failed:
            st.record.problem(f"preflight: {r.name}: {r.detail}", r.fix)
        st.record.could_not_run = bool(failed)
        return not failed

    # ------------------------------------------------------------------------------ pieces
    def _phase(self, phase: str, detail: str = "") -> None:
        if self._stop_requested.is_set() and phase not in ("cleanup", "done"):
            raise Interrupted("stop requested")  # the dashboard asked before the load began
        self.bus.publish(PhaseChanged(phase, detail))

    def _publish_preflight(self, r: PreflightResult) -> None:
        self.bus.publish(PreflightChecked(r.name, r.status != "fail", f"{r.status}: {r.detail}",
                                          r.fix))

    def _install_sigterm(self) -> signals.Previous:
        """perfdash's signal policy (perfdash.run.signals): SIGINT, SIGTERM, SIGHUP stop the run."""
        return signals.install()

    def _load_plan(self, plans: ToolPlans) -> LoadPlan:
        return load_plan(self.profile.mode, [
            (tool.label, plans[tool.name][1] if tool.name in plans else None)
            for tool in tools_for(self.profile)])

    def _run_tools(self, st: _RunState) -> None:
        target, paths, supervisor = st.target, st.paths, self.supervisor
        assert target.base_url is not None
        assert supervisor is not None
        launches: list[tuple[_Launch, ToolPlan]] = []
        for tool in tools_for(self.profile):
            loc, plan = st.plans[tool.name]
            assert loc.path is not None
            request = tool.request(LaunchContext(loc.path, self.profile, self.env, paths.root,
                                                 self.settings.project_dir, target, plan))
            st.record.tools[tool.name] = _plan_record(plan)
            launches.append((_Launch(tool, request, plan.planned_s, plan.limit_s), plan))

        def start(launch: _Launch, plan: ToolPlan) -> tuple[Child, _Launch]:
            """The tool's process, then its follower: both clocks of its phase (its elapsed time
            and how long it may stay silent) start with the process, not with the run."""
            child = supervisor.start(launch.request)
            self.bus.publish(ToolStarted(launch.tool.name, plan.planned_s, plan.describe()))
            follower = launch.tool.progress(self.bus, paths.root, self.profile, plan.planned_s,
                                            launch.request)
            if follower is not None:
                follower.start()
                st.session.adopt(follower)
            return child, launch

        if self.profile.mode == "parallel":
            self._wait([start(launch, plan) for launch, plan in launches], st)
        else:
            for launch, plan in launches:
                self._wait([start(launch, plan)], st)
                if st.record.could_not_run:
                    break

    def _wait(self, running: list[tuple[Child, _Launch]], st: _RunState) -> None:
        record, log = st.record, st.log
        pending = list(running)
        while pending:
            if self._stop_requested.is_set():
                raise Interrupted("stop requested")
            if (lost := signals.raised()) is not None:
                raise Interrupted(lost)  # raised where it was printed and dropped (an at-fork hook)
            if st.watcher is not None and st.watcher.lost:
                # Requests against a dead backend measure nothing: stop and say why.
                record.could_not_run = True
                record.problem(st.watcher.lost,
                               "check the backend's log and its database, then run again")
                log(st.watcher.lost)
                self._stop_children(record)
                return
            for item in list(pending):
                child, launch = item
                code = child.poll()
                if code is None:
                    self._stop_if_hung(child, launch, record, log)
                    continue
                pending.remove(item)
                self._tool_exited(child, code, launch.tool, record, log)
            time.sleep(0.2)

    def _stop_if_hung(self, child: Child, launch: _Launch, record: RunRecord, log: RunLog) -> None:
        """A tool far past its plan is hanging: stop it (its report is lost) and explain."""
        overdue = time.monotonic() - child.started - launch.deadline_s
        if overdue <= launch.grace_s:
            return
        name = child.request.name
        what = (f"{name} was still running {overdue:.0f} s after its planned "
                f"{launch.deadline_s:.0f} s and was stopped")
        log(what)
        record.problem(what, launch.hang_hint)
        self.bus.publish(ProblemDetected(what, launch.hang_hint, severity="error"))
        child.stop(5.0, log)
        record.not_measured[name] = what

    def _tool_exited(self, child: Child, code: int, tool: LoadTool, record: RunRecord,
                     log: RunLog) -> None:
        outcome = child.outcome(code)
        name = child.request.name
        meaning = tool.explain_exit(code)
        stderr = [scrub(ln, self._secrets) for ln in tail_lines(child.request.stderr)]
        telling = _telling_lines(child.request.stdout, child.request.stderr, self._secrets)
        record.tools[name] = {
            **record.tools.get(name, {}),
            "returncode": code, "elapsed_s": round(outcome.elapsed_s, 1),
            "stopped_by": outcome.stopped_by, "last_stderr": stderr, "last_output": telling,
            "meaning": meaning.text, "stdout": child.request.stdout.name,
            "stderr": child.request.stderr.name,
        }
        log(f"{name} exited with {code} after {outcome.elapsed_s:.1f} s")
        self.bus.publish(ToolExited(name, code, outcome.elapsed_s, outcome.stopped_by,
                                    tuple(stderr)))
        if meaning.kind == "finished" or meaning.text is None:
            return
        quoted = " | ".join(telling[-3:]) or "(nothing telling in its output)"
        files = f"{child.request.stdout.name} and {child.request.stderr.name}"
        if meaning.kind == "verdict-fail":
            record.problem(f"{meaning.text}: {quoted}", f"read {files} in the results directory")
            self.bus.publish(ProblemDetected(f"{meaning.text}: {quoted}", f"see {files}"))
            return
        record.not_measured.setdefault(name, meaning.text)
        record.problem(f"{meaning.text}; last lines of its output: {quoted}",
                       f"read {files} in the results directory")
        self.bus.publish(ProblemDetected(meaning.text, f"see {files}", severity="error"))

    def _stop_children(self, record: RunRecord) -> None:
        assert self.supervisor is not None
        for child in self.supervisor.running():
            if child.request.name not in TOOL_NAMES:
                continue  # the demo backend stops with the stack, after the analysis
            outcome = child.stop(5.0)
            record.tools[child.request.name] = {
                **record.tools.get(child.request.name, {}),
                "returncode": outcome.returncode, "elapsed_s": round(outcome.elapsed_s, 1),
                "stopped_by": outcome.stopped_by,
                "last_stderr": [scrub(ln, self._secrets)
                                for ln in tail_lines(child.request.stderr)],
            }
            record.not_measured.setdefault(child.request.name, "stopped before the end")

    def _stop_collectors(self, st: _RunState) -> None:
        st.session.stop(st.paths.root, st.record, st.log)

    def _query_analysis(self, st: _RunState) -> None:
        if st.before is None or st.target.database_url is None:
            return
        # Table counters reach the statistics views when a connection flushes them: at most once a
        # second while busy, within 10 s once idle, at once on close. The demo backend is ours and
        # done by now, so closing its pool makes the counts exact; a user's backend keeps its pool,
        # and the last second of its load may be missing from the sequential-scan deltas.
        if st.stack is not None and st.stack.backend is not None:
            st.stack.stop_backend()
        time.sleep(1.0)
        db_stats.write_query_analysis(st.paths, st.target.database_url, st.before, self.env,
                                      st.record, st.log, slow_ms=self.profile.slow_query_ms)

    def _write_summary(self, st: _RunState, extra: list[Check] | None = None) -> dict[str, Any]:
        summary = build_summary(st.paths, self.profile, self.env, st.record, extra)
        if self.env.kind == "external" and self.env.app_log:
            summary["artifacts"]["backend_log"] = {"path": str(self.env.app_log),
                                                   "exists": self.env.app_log.exists()}
        if self.env.kind == "external" and len(self.env.followed_logs()) > 1:
            summary["artifacts"]["backend_logs"] = [
                {"path": str(log.path), "kind": log.kind, "exists": log.path.exists()}
                for log in self.env.followed_logs()]
        # The summary goes through the same redactor as the events: it is served to attachers,
        # and the configuration, the problems and the tools' last lines all hold text from outside.
        summary = dict(redact_value(summary, Redactor(self._secrets)))
        try:
            write_json_atomic(st.paths.summary, summary)
        except OSError as exc:
            raise ArtifactError(f"cannot write {st.paths.summary}: {exc.strerror}; "
                                "free disk space or fix permissions") from None
        return summary

    def _compare_with_baseline(self, st: _RunState, summary: dict[str, Any]) -> dict[str, Any]:
        """Compare with the baseline (which reads this run's summary), then add the verdict.

        The load has run by now, so nothing here may cost the run its reports or its RunFinished.
        A comparison that fails is a problem, and its check is "not measured": the run asked to be
        judged against its baseline, so it cannot pass without that judgement."""
        assert self.baseline is not None
        try:
            comparison = compare_runs(self.baseline.runs, st.paths.root,
                                      tolerance_pct=self.profile.regression_tolerance_pct)
            check = regression_check(comparison, self.profile, self.baseline)
        except CompareError as exc:
            return self._baseline_not_measured(st, str(exc))
        except Exception as exc:  # a defect in the comparison must not take the run's reports with it
            st.log("the comparison with the baseline failed:\n" + traceback.format_exc())
            return self._baseline_not_measured(
                st, f"the comparison failed ({type(exc).__name__}: {exc}); see "
                    f"{st.paths.perfdash_log.name} and run `perfdash compare` on the two directories")
        summary = self._write_summary(st, [check])
        summary["baseline"] = redact_value({"run_dir": str(self.baseline.newest),
                                            "runs": [str(r) for r in self.baseline.runs],
                                            **comparison.to_json()}, Redactor(self._secrets))
        write_json_atomic(st.paths.summary, summary)
        write_text_atomic(st.paths.comparison_md,
                          scrub(comparison_markdown(comparison), self._secrets))
        return summary

    def _baseline_not_measured(self, st: _RunState, why: str) -> dict[str, Any]:
        assert self.baseline is not None
        st.record.problem(f"cannot compare with the baseline: {why}")
        check = Check.not_measured("baseline.regressions",
                                   f"Regressions against {self.baseline.describe}",
                                   f"cannot compare with the baseline: {why}",
                                   source=f"profile {self.profile.name} [baseline]")
        return self._write_summary(st, [check])

    def _finish(self, st: _RunState) -> RunOutcome:
        paths, record, log = st.paths, st.record, st.log
        self._stop_collectors(st)
        self._phase("cleanup")
        if record.load_started and not self.skip_cleanup:
            for problem in cleanup_step(self.env, st.target.database_url,
                                        self.settings.project_dir, log,
                                        stop_backend=st.backend is None):
                record.problem(problem, f"run `perfdash cleanup --env {self.env.name}`")
        self._stop_backend(st)
        if st.stack is not None:
            try:
                st.stack.stop()
            except Exception as exc:
                record.problem(f"the demo stack did not stop cleanly: {exc}")
        record.ended_at = datetime.now(UTC)
        summary = self._write_summary(st)
        if self.baseline is not None and record.load_started and not record.interrupted:
            summary = self._compare_with_baseline(st, summary)
        try:
            write_reports(summary, paths.root)
        except OSError as exc:
            record.problem(f"cannot write summary.md/junit.xml: {exc.strerror}")
        failing = tuple((c["name"], c["status"], c["detail"]) for c in summary["checks"]
                        if c["status"] in ("fail", "not measured"))
        self.bus.publish(RunFinished(summary["status"], summary["exit_code"], str(paths.summary),
                                     failing))
        self._phase("done", summary["status"])
        st.recorder.close()
        log(f"status {summary['status']} (exit {summary['exit_code']}); summary {paths.summary}")
        return RunOutcome(summary["status"], summary["exit_code"], paths, summary)




def _why(exc: BaseException) -> str:
    """What stopped the run, in the words of the log and the problem line."""
    name = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
    return {"SIGINT": "Ctrl-C (SIGINT)", "SIGHUP": "SIGHUP (the terminal closed)",
            "stop requested": "a stop request"}.get(name, name)


def _plan_record(plan: ToolPlan) -> dict[str, Any]:
    """What the tool's script declared before the run, kept so `show` can judge it again."""
    return {"planned_s": round(plan.planned_s, 1),
            "script_thresholds": [t.to_json() for t in plan.script_thresholds],
            "ensure": list(plan.details.get("ensure") or [])}


_TELLING = ("fail", "error", "crossed", "exception", "abort", "invalid", "refused", "not found")


def _telling_lines(stdout: Path, stderr: Path, secrets: list[Secret]) -> list[str]:
    """The lines of a tool's output that say why it ended as it did (k6 logs its reasons to
    stderr; Artillery prints a failed ensure check on stdout), else the last lines of stderr."""
    found: list[str] = []
    for path in (stdout, stderr):
        for line in tail_lines(path, 200):
            low = line.lower()
            if any(word in low for word in _TELLING):
                found.append(scrub(line.strip(), secrets))
    if not found:
        found = [scrub(ln.strip(), secrets) for ln in tail_lines(stderr)]
    return found[-5:]
