"""The database statistics of a run or a watch: the snapshot before the load and the
query analysis (query-analysis.json) from the difference after it, with one wording for a
database whose statistics cannot be read, whichever command took them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from perfdash.analyze.database import build_query_analysis
from perfdash.artifacts import RunPaths, write_json_atomic
from perfdash.collect.base import RunNotes
from perfdash.collect.dbstats import DbSnapshot, DbStatsError, take_snapshot
from perfdash.secret import Secret
from perfdash.settings import Environment


def snapshot(url: Secret, env: Environment, record: RunNotes,
             log: Callable[[str], None]) -> DbSnapshot | None:
    """The statistics views now; None (and the database checks not measured) when unreadable."""
    try:
        return take_snapshot(url)
    except DbStatsError as exc:
        # The statistics reader names the default variable; this environment may read another.
        why = str(exc).replace("PERF_DATABASE_URL", env.database_url_env)
        record.not_measured["database"] = why
        record.problem(f"database statistics unavailable: {why}",
                       f"check {env.database_url_env} and the database")
        log(f"database snapshot failed: {why}")
        return None


def snapshot_before(paths: RunPaths, url: Secret | None, env: Environment, record: RunNotes,
                    log: Callable[[str], None]) -> DbSnapshot | None:
    """The snapshot the load is measured against, kept as db-snapshot-start.json; without a
    database URL, the database checks are not measured and say which variable to set."""
    if not url:  # an empty variable is no URL either
        record.not_measured["database"] = f"no database URL configured ({env.database_url_env})"
        return None
    before = snapshot(url, env, record, log)
    if before is not None:
        write_json_atomic(paths.db_snapshot_start, asdict(before))
    return before


def write_query_analysis(paths: RunPaths, url: Secret, before: DbSnapshot, env: Environment,
                         record: RunNotes, log: Callable[[str], None], *, slow_ms: float) -> None:
    """query-analysis.json from `before` and a snapshot taken now."""
    after = snapshot(url, env, record, log)
    if after is not None:
        write_json_atomic(paths.query_analysis,
                          build_query_analysis(url, before, after, slow_ms=slow_ms))
