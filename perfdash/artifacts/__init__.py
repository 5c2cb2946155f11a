"""A run's results directory: every file name (`paths`), how files are written (`write`), the one
door through which they are opened (`files`), and one reader per artifact that anything reads back
(`summary`, `query_analysis`, `metrics`, `timeline`, `hosts`, `applog_endpoints`, `db_activity`,
`db_connections`, `events`).

Each reader loads its file with the one check of its shape and raises its own subclass of
`ArtifactError` whose message is one sentence. tests/test_artifact_doors.py keeps the names here:
a module elsewhere that spells an artifact's file name fails it.
"""

from __future__ import annotations

from perfdash.artifacts.applog_endpoints import (
    AppLogEndpointsError,
    load_applog_endpoints,
    read_applog_endpoints,
)
from perfdash.artifacts.db_activity import ActivitySample, load_db_activity, read_samples
from perfdash.artifacts.db_connections import DbConnectionsError, load_db_connections
from perfdash.artifacts.errors import ArtifactError, NotRegularFileError, UnreadableArtifact
from perfdash.artifacts.events import EventsError, events_file, load_event_records
from perfdash.artifacts.files import (
    open_regular,
    read_json,
    read_json_member,
    read_regular_text,
    tail_lines,
)
from perfdash.artifacts.hosts import HostsError, host_roles, load_hosts
from perfdash.artifacts.metrics import MetricsError, MetricsTable, load_metrics
from perfdash.artifacts.paths import (
    APP_LOG,
    APPLOG_ENDPOINTS_JSON,
    BACKEND_STDERR_LOG,
    BACKEND_STDOUT_LOG,
    COMPARISON_MD,
    DB_ACTIVITY_NDJSON,
    DB_CONNECTIONS_CSV,
    EVENTS_NDJSON,
    HOSTS_JSON,
    INCIDENT_MD,
    JUNIT_XML,
    METRICS_CSV,
    QUERY_ANALYSIS_JSON,
    SERVER_LATENCY_CSV,
    SUMMARY_JSON,
    SUMMARY_MD,
    TIMELINE_CSV,
    TIMELINE_MARKERS_NDJSON,
    RunPaths,
    artifact_names,
    new_run_dir,
    run_paths,
)
from perfdash.artifacts.query_analysis import QueryAnalysisError, load_query_analysis, read_query_analysis
from perfdash.artifacts.summary import (
    SCHEMA_VERSION,
    Summary,
    SummaryError,
    artifact_path,
    load_summary,
    load_summary_file,
    schema_problem,
)
from perfdash.artifacts.timeline import Marker, Timeline, TimelineError, load_timeline, read_timeline
from perfdash.artifacts.write import write_json_atomic, write_text_atomic

__all__ = [
    "APPLOG_ENDPOINTS_JSON",
    "APP_LOG",
    "BACKEND_STDERR_LOG",
    "BACKEND_STDOUT_LOG",
    "COMPARISON_MD",
    "DB_ACTIVITY_NDJSON",
    "DB_CONNECTIONS_CSV",
    "EVENTS_NDJSON",
    "HOSTS_JSON",
    "INCIDENT_MD",
    "JUNIT_XML",
    "METRICS_CSV",
    "QUERY_ANALYSIS_JSON",
    "SCHEMA_VERSION",
    "SERVER_LATENCY_CSV",
    "SUMMARY_JSON",
    "SUMMARY_MD",
    "TIMELINE_CSV",
    "TIMELINE_MARKERS_NDJSON",
    "ActivitySample",
    "AppLogEndpointsError",
    "ArtifactError",
    "DbConnectionsError",
    "EventsError",
    "HostsError",
    "Marker",
    "MetricsError",
    "MetricsTable",
    "NotRegularFileError",
    "QueryAnalysisError",
    "RunPaths",
    "Summary",
    "SummaryError",
    "Timeline",
    "TimelineError",
    "UnreadableArtifact",
    "artifact_names",
    "artifact_path",
    "events_file",
    "host_roles",
    "load_applog_endpoints",
    "load_db_activity",
    "load_db_connections",
    "load_event_records",
    "load_hosts",
    "load_metrics",
    "load_query_analysis",
    "load_summary",
    "load_summary_file",
    "load_timeline",
    "new_run_dir",
    "open_regular",
    "read_applog_endpoints",
    "read_json",
    "read_json_member",
    "read_query_analysis",
    "read_regular_text",
    "read_samples",
    "read_timeline",
    "run_paths",
    "schema_problem",
    "tail_lines",
    "write_json_atomic",
    "write_text_atomic",
]
