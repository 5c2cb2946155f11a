"""`perfdash watch`: the cockpit for a suite perfdash did not start.

The same collectors a run uses (host, app log, database connections), built, stopped and finished
by the same lifecycle (perfdash.session.collectors), the timeline and the event recording, plus
any k6 run visible through its REST API, until asked to stop. What was watched is
then written as a run directory like any other (metrics.csv, db-connections.csv, timeline,
events.ndjson, query-analysis.json, summary.json), with the summary marked `"observed"`: its
verdict covers what perfdash could see (host headroom, database, app log), never the load tool's
own thresholds, which only the process that ran it knows. `show` and `compare` read it as a run.

`perfdash attach --prometheus URL --run-id ID` is the same observer with Prometheus as the k6
source: k6 generators perfdash did not start (a k6-operator TestRun, or processes on other
machines) are followed by their `testid` exactly as a split run of perfdash's own is
(perfdash.tools.k6.promfollow), the observation ends by itself once their series stop, and their
merged result is written as `k6-observed.json` (perfdash.tools.k6.merged), which the result view,
`show` and `compare` read like any k6 summary.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from perfdash.analyze.reports import write_reports
from perfdash.analyze.summary import RunRecord, build_summary
from perfdash.artifacts import RunPaths, new_run_dir, write_json_atomic
from perfdash.collect.base import Setup
from perfdash.collect.dbstats import DbSnapshot
from perfdash.events import Bus, PhaseChanged, ProblemDetected, RunFinished, RunStarted
from perfdash.follow.k6spot import K6Spotter
from perfdash.run.liveness import RunLock
from perfdash.run.recording import EventRecorder, RunLog
from perfdash.run.signals import Interrupted
from perfdash.secret import redact_url
from perfdash.session import database as db_stats
from perfdash.session.collectors import CollectorSession
from perfdash.settings import Environment, Profile, Settings
from perfdash.tools.k6.progress import PROGRESS_FILE
from perfdash.tools.k6.promfollow import PromK6Follower

OBSERVED = "observed"
# Remote write has no end marker: a run whose series have not moved for this long has ended.
QUIET_S = 10.0


@dataclass(frozen=True)
class PromTarget:
    """A k6 run seen only through Prometheus: its address, the run's testid, and how long its
    series must stay still before the run counts as ended."""

    url: str
    testid: str
    quiet_s: float = QUIET_S
    interval_s: float = 1.0


@dataclass(frozen=True)
class ObserveOutcome:
    exit_code: int
    paths: RunPaths
    summary: dict[str, Any]


def observed_profile(settings: Settings, env: Environment) -> Profile:
    """No load tool of perfdash's own: only what is judged from outside (host, database, log)."""
    return Profile(name=OBSERVED, description=f"watched {env.name}; the suite ran on its own",
                   mode="parallel", k6_script=None, artillery_script=None, k6_stages=(),
                   artillery_phases=(), thresholds=(), project_dir=settings.project_dir)


class Observer:
    """Watches an environment until `request_stop()`; `run()` returns the observed run."""

    def __init__(self, settings: Settings, env: Environment, bus: Bus, *,
                 k6_api: str = "127.0.0.1:6565", prometheus: PromTarget | None = None,
                 measure_host: bool = True) -> None:
        self.settings = settings
        self.env = env
        self.bus = bus
        self.k6_api = k6_api
        self.prometheus = prometheus
        # This machine's CPU and memory mean something beside a suite running here (watch); not
        # beside a TestRun on a cluster, unless an environment says this is where it runs.
        self.measure_host = measure_host
        self.merged: dict[str, Any] | None = None
        self._stop = threading.Event()
        self.paths: RunPaths | None = None

    def request_stop(self) -> None:
        self._stop.set()

    def run(self, seconds: float | None = None) -> ObserveOutcome:
        paths = self.paths = new_run_dir(self.settings.results_dir, OBSERVED)
        alive = RunLock(paths.root)  # attachable like a run
        secrets = self.env.secrets()
        self.bus.redact_with(secrets)
        log = RunLog(paths.perfdash_log, secrets, None)
        recorder = EventRecorder(paths.events, secrets)
        self.bus.listen(recorder)
        record = RunRecord(started_at=datetime.now(UTC), load_started=True)
        self.bus.listen(lambda e: record.problem(e.what, e.fix)
                        if isinstance(e, ProblemDetected) else None)
        profile = observed_profile(self.settings, self.env)
        # What it follows is a k6 run started by hand: k6 is the one tool in it, its plan unknown.
        self.bus.publish(RunStarted(paths.run_id, str(paths.root), OBSERVED, self.env.name, 0.0,
                                    tools=("k6",)))
        log(f"watching environment {self.env.name} ({self._k6_where()})")
        url = self.env.database_url
        before = db_stats.snapshot_before(paths, url, self.env, record, log)
        if not self.measure_host:
            record.not_measured["metrics"] = ("the k6 run was followed through Prometheus; no "
                                              "host of it was named (attach --env E)")
        session = CollectorSession()
        # The same collectors as a run's, but no health poll: a watch stops nothing when the
        # backend goes away, it only records what it saw.
        setup = Setup(self.bus, paths, self.env, self.env.base_url, url,
                      logs=self.env.followed_logs(), measure_host=self.measure_host)
        spotter = self._k6_source(paths)
        try:
            session.start(setup, on_clock=lambda: self.bus.publish(PhaseChanged(
                "load", f"watching {self.env.name}" if self.prometheus is None
                else f"waiting for k6 {self._k6_where()}")))
            spotter.start()
            session.adopt(spotter)
            self._stop.wait(seconds)
        except (KeyboardInterrupt, Interrupted):
            pass  # Ctrl-C ends a watch: what was watched is written as usual
        finally:
            session.stop(paths.root, record, log)
            outcome = self._finish(paths, profile, record, spotter, before, log)
            recorder.close()
            alive.release()
        return outcome

    def _k6_where(self) -> str:
        if self.prometheus is None:
            return f"k6 REST API at {self.k6_api}"
        return f"testid={self.prometheus.testid} in Prometheus at {redact_url(self.prometheus.url)}"

    def _k6_source(self, paths: RunPaths) -> K6Spotter | PromK6Follower:
        record = paths.root / PROGRESS_FILE
        p = self.prometheus
        if p is None:
            return K6Spotter(self.bus, self.k6_api, record)
        return PromK6Follower(self.bus, p.url, p.testid, 0.0, record, p.interval_s,
                              quiet_s=p.quiet_s, on_end=self.request_stop)

    def _merge(self, paths: RunPaths, record: RunRecord, started: float) -> dict[str, Any]:
        """The followed run's merged result as k6-observed.json; what the summary says of it."""
        import time

        from perfdash.tools.k6.merged import MergeError, merge_observed

        assert self.prometheus is not None
        p = self.prometheus
        seen: dict[str, Any] = {"prometheus_url": redact_url(p.url), "testid": p.testid}
        try:
            self.merged = merge_observed(p.url, p.testid, (), started, time.time())
        except MergeError as exc:
            why = redact_url(str(exc))  # a Prometheus URL may carry a password
            record.not_measured["k6"] = why
            record.problem(f"k6 testid={p.testid}: {why}",
                           "check --run-id and that the generators write to this Prometheus")
            return {**seen, "merged": None}
        target = paths.root / f"k6-{OBSERVED}.json"
        write_json_atomic(target, self.merged)
        metrics = self.merged["metrics"]
        return {**seen, "merged": target.name,
                "requests": metrics.get("http_reqs", {}).get("count"),
                "p95_ms": metrics.get("http_req_duration", {}).get("p(95)"),
                "generators": self.merged["merged"]["generators"]}

    def _finish(self, paths: RunPaths, profile: Profile, record: RunRecord,
                spotter: K6Spotter | PromK6Follower, before: DbSnapshot | None,
                log: RunLog) -> ObserveOutcome:
        self.bus.publish(PhaseChanged("analysis"))
        # The verdict covers what perfdash watched, as `show` computes it again from the files;
        # the merged k6 result is reported beside it (k6-observed.json), never judged here.
        merged: dict[str, Any] | None = None
        if self.prometheus is not None:
            merged = self._merge(paths, record, record.started_at.timestamp())
        url = self.env.database_url
        if before is not None and url is not None:
            db_stats.write_query_analysis(paths, url, before, self.env, record, log,
                                          slow_ms=profile.slow_query_ms)
        record.ended_at = datetime.now(UTC)
        summary = build_summary(paths, profile, self.env, record)
        if merged is not None:
            summary[OBSERVED] = {"prometheus": merged, "k6_runs_seen": int(
                isinstance(spotter, PromK6Follower) and spotter.seen),
                "note": "followed through Prometheus, not run by perfdash: the merged result "
                        "is in k6-observed.json; no load-tool thresholds were judged"}
        else:
            assert isinstance(spotter, K6Spotter)
            summary[OBSERVED] = {"k6_api": self.k6_api, "k6_runs_seen": spotter.runs_seen,
                                 "note": "watched, not run by perfdash: no load-tool verdict"}
        write_json_atomic(paths.summary, summary)
        write_reports(summary, paths.root)
        self.bus.publish(RunFinished(summary["status"], summary["exit_code"], str(paths.summary)))
        self.bus.publish(PhaseChanged("done", summary["status"]))
        log(f"observed {paths.run_id}: status {summary['status']}")
        return ObserveOutcome(summary["exit_code"], paths, summary)
