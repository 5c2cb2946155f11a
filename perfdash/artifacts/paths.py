"""Every file name of a run's results directory, in one place: `RunPaths` gives each its role.

Writers (the orchestrator, the collectors, the session) and readers (the loaders beside this
module) find files only through these names; tests/test_artifact_doors.py fails when a module
outside perfdash.artifacts spells one of them itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from perfdash.artifacts.errors import ArtifactError

SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
INCIDENT_MD = "incident.md"
JUNIT_XML = "junit.xml"
COMPARISON_MD = "comparison.md"
METRICS_CSV = "metrics.csv"
HOSTS_JSON = "hosts.json"
DB_CONNECTIONS_CSV = "db-connections.csv"
DB_ACTIVITY_NDJSON = "db-activity.ndjson"
QUERY_ANALYSIS_JSON = "query-analysis.json"
DB_SNAPSHOT_START_JSON = "db-snapshot-start.json"
PREFLIGHT_JSON = "preflight.json"
EVENTS_NDJSON = "events.ndjson"
PERFDASH_LOG = "perfdash.log"
BACKEND_STDOUT_LOG = "backend.stdout.log"
BACKEND_STDERR_LOG = "backend.stderr.log"
APP_LOG = "app.log"
APPLOG_ENDPOINTS_JSON = "applog-endpoints.json"
TIMELINE_CSV = "timeline.csv"
TIMELINE_MARKERS_NDJSON = "timeline-markers.ndjson"
SERVER_LATENCY_CSV = "server-latency.csv"


@dataclass(frozen=True)
class RunPaths:
    """Every artifact of a run, by role (the load tools' own files are named by each tool's
    `artifacts`). `profile` is only needed by those who name the tools' files."""

    root: Path
    profile: str = ""

    @property
    def run_id(self) -> str:
        return self.root.name

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY_JSON

    @property
    def summary_md(self) -> Path:
        return self.root / SUMMARY_MD

    @property
    def incident_md(self) -> Path:
        return self.root / INCIDENT_MD

    @property
    def junit_xml(self) -> Path:
        return self.root / JUNIT_XML

    @property
    def comparison_md(self) -> Path:
        return self.root / COMPARISON_MD

    @property
    def metrics_csv(self) -> Path:
        return self.root / METRICS_CSV

    @property
    def hosts_json(self) -> Path:
        """The hosts measured through node_exporter, with roles (only when hosts were listed)."""
        return self.root / HOSTS_JSON

    @property
    def db_connections(self) -> Path:
        return self.root / DB_CONNECTIONS_CSV

    @property
    def db_activity(self) -> Path:
        """Once-a-second samples of what the database's sessions wait on (the diagnosis reads it)."""
        return self.root / DB_ACTIVITY_NDJSON

    @property
    def query_analysis(self) -> Path:
        return self.root / QUERY_ANALYSIS_JSON

    @property
    def db_snapshot_start(self) -> Path:
        return self.root / DB_SNAPSHOT_START_JSON

    @property
    def preflight(self) -> Path:
        return self.root / PREFLIGHT_JSON

    @property
    def events(self) -> Path:
        return self.root / EVENTS_NDJSON

    @property
    def perfdash_log(self) -> Path:
        return self.root / PERFDASH_LOG

    @property
    def backend_stdout(self) -> Path:
        return self.root / BACKEND_STDOUT_LOG

    @property
    def backend_stderr(self) -> Path:
        return self.root / BACKEND_STDERR_LOG

    @property
    def app_log(self) -> Path:
        """The demo backend's log (a real backend's logs stay where the environment names them)."""
        return self.root / APP_LOG

    @property
    def applog_endpoints(self) -> Path:
        """Requests per route counted from the backend's access log."""
        return self.root / APPLOG_ENDPOINTS_JSON

    @property
    def timeline_csv(self) -> Path:
        return self.root / TIMELINE_CSV

    @property
    def timeline_markers(self) -> Path:
        return self.root / TIMELINE_MARKERS_NDJSON

    @property
    def server_latency(self) -> Path:
        """The backend's request time per second per endpoint group (perfdash.timeline.server_latency):
        written only when a log gave request times."""
        return self.root / SERVER_LATENCY_CSV


def run_paths(run: RunPaths | Path) -> RunPaths:
    """Readers take either a run directory or its RunPaths."""
    return run if isinstance(run, RunPaths) else RunPaths(run)


def artifact_names() -> frozenset[str]:
    """The file name of every role in RunPaths (what the door test looks for)."""
    probe = RunPaths(Path("run"))
    return frozenset(getattr(probe, name).name for name, member in vars(RunPaths).items()
                     if isinstance(member, property) and isinstance(getattr(probe, name), Path))


def new_run_dir(results_dir: Path, profile: str, now: datetime | None = None) -> RunPaths:
    """`results/perf/<UTC timestamp>/`, made unique with a suffix when two runs start together."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            root = results_dir / (stamp if n == 0 else f"{stamp}-{n}")
            try:
                root.mkdir()
            except FileExistsError:
                continue
            return RunPaths(root, profile)
    except OSError as exc:
        raise ArtifactError(
            f"cannot create the results directory {results_dir}: {exc.strerror}; "
            "make it writable or set [defaults] results_dir in profiles.toml."
        ) from None
    raise ArtifactError(f"too many runs started in the same second under {results_dir}")


