"""Snapshots of PostgreSQL's cumulative statistics, taken when load starts and again when it ends.

The run controller calls `take_snapshot` at both ends of the load window; `perfdash.analyze.database`
diffs the two into `query-analysis.json`. Nothing here resets a counter: `pg_stat_reset()` also zeroes
`n_live_tup`, and `pg_stat_statements_reset()` wipes what others on a shared server are reading, so
the window is always the difference of two snapshots.

How fresh the counters are (measured on PostgreSQL 15.18):

- `pg_stat_statements` is written to shared memory as each statement finishes: no lag.
- `pg_stat_user_tables` counters live in each backend until it flushes them, at most once a second.
  A backend that goes idle within a second of its previous flush keeps its last counts for 10 s (the
  idle flush interval), or until it disconnects (exit flushes at once). `pg_stat_force_next_flush()`
  only flushes the backend that calls it, so it cannot pull other sessions' counts; calling it here
  just keeps this session's own reads out of the next snapshot. For complete table counts, take the
  end snapshot `IDLE_FLUSH_S` after load stops, or after the application closed its connections;
  otherwise up to the last second of load on connections that stay open is missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import psycopg
from psycopg import errors

from perfdash.secret import Secret, redact_sql, redact_url, scrub

MARKER: Final = "perfdash:dbstats"
"""Comment placed in every statement perfdash runs, so its own work is left out of the report."""

IDLE_FLUSH_S: Final = 10.0
"""Seconds after which an idle backend has certainly flushed its table counters (PostgreSQL 15)."""

_OWN_TEXTS: Final = (MARKER, "perfdash_explain")


class DbStatsError(RuntimeError):
    """The database could not be read; the message is one sentence without the password."""


@dataclass(frozen=True)
class StatementStats:
    """One normalised statement of pg_stat_statements, summed over roles and nesting levels."""

    queryid: str  # a string: queryids are signed 64-bit and JavaScript readers would round them
    query: str
    calls: int
    total_exec_time: float  # milliseconds, as pg_stat_statements reports them
    mean_exec_time: float
    max_exec_time: float
    rows: int
    shared_blks_hit: int = 0
    shared_blks_read: int = 0
    temp_blks_written: int = 0


@dataclass(frozen=True)
class TableStats:
    """Scan counters of one table from pg_stat_user_tables."""

    schema: str
    name: str
    seq_scan: int
    seq_tup_read: int
    idx_scan: int | None  # NULL in PostgreSQL when the table has no index
    n_live_tup: int
    size_bytes: int | None  # None when the size could not be read without waiting for a lock

    @property
    def display_name(self) -> str:
        """The name a reader would type: unqualified in `public`, schema-qualified elsewhere."""
        return self.name if self.schema == "public" else f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class DbSnapshot:
    """Everything the analysis needs from one moment; tables are keyed by `schema.name`."""

    taken_at: str  # UTC, ISO 8601
    database: str
    server_version: str
    max_connections: int
    statements_available: bool
    statements_reason: str | None  # why statements are missing, with the fix
    statements: Mapping[str, StatementStats]
    tables: Mapping[str, TableStats]
    hidden_statements: int = 0  # rows of other roles whose text this role may not read
    statements_reset_at: str | None = None  # pg_stat_statements_info.stats_reset
    counters: Mapping[str, int] = field(default_factory=dict)  # pg_stat_database, this database


def is_own_statement(query: str) -> bool:
    """True for statements perfdash itself ran (snapshots, EXPLAIN), which never belong in a report."""
    return any(text in query for text in _OWN_TEXTS)


def connect(url: Secret, timeout_s: float) -> psycopg.Connection[tuple[Any, ...]]:
    """A short-lived autocommit session with timeouts, shared by snapshots and EXPLAIN.

    Timeouts are SET after connecting rather than passed as `options`, which would replace any
    `options` (such as a search_path) the user put in the URL.
    """
    try:
        conn = psycopg.connect(
            url.reveal(),
            autocommit=True,
            prepare_threshold=None,
            connect_timeout=max(2, math.ceil(timeout_s)),
            application_name="perfdash",
        )
    except psycopg.ProgrammingError:
        # libpq quotes the offending part of a malformed string, which may be the password, and
        # redaction cannot be trusted on a string it cannot parse either: show neither.
        raise DbStatsError(
            "The database URL is not a valid PostgreSQL connection string; check "
            "PERF_DATABASE_URL (postgresql://user:password@host:port/database)."
        ) from None
    except psycopg.Error as exc:
        raise DbStatsError(
            f"Cannot connect to the database at {redact_url(url.reveal())} "
            f"({_first_line(exc, url)}); check PERF_DATABASE_URL and that the PostgreSQL server "
            "is running and accepts connections."
        ) from None
    try:
        ms = max(1, int(timeout_s * 1000))
        conn.execute(f"/* {MARKER} */ SET statement_timeout = {ms}")
        conn.execute(f"/* {MARKER} */ SET lock_timeout = {min(ms, 1000)}")
        # Superusers can keep perfdash's own statements out of pg_stat_statements entirely; for
        # everyone else the marker comment lets the analysis skip them.
        conn.execute(f"/* {MARKER} */ SET pg_stat_statements.track = 'none'")
    except errors.InsufficientPrivilege:
        pass
    except psycopg.Error as exc:
        conn.close()
        raise DbStatsError(
            f"The database session could not be set up ({_first_line(exc, url)}); check the role "
            "in PERF_DATABASE_URL."
        ) from None
    return conn


def take_snapshot(url: Secret, timeout_s: float = 5) -> DbSnapshot:
    """Read statement and table statistics of the URL's database; raises DbStatsError if unreachable."""
    with connect(url, timeout_s) as conn:
        try:
            if conn.info.server_version >= 150000:
                conn.execute(f"SELECT /* {MARKER} */ pg_stat_force_next_flush()")
            taken_at = datetime.now(UTC).isoformat(timespec="milliseconds")
            row = conn.execute(
                f"SELECT /* {MARKER} */ current_database(), current_setting('server_version'), "
                "current_setting('max_connections')::int"
            ).fetchone()
            assert row is not None
            tables = _read_tables(conn)
            counters = _read_counters(conn)
            available, reason, statements, hidden, reset_at = _read_statements(conn, str(row[0]))
        except psycopg.Error as exc:
            raise DbStatsError(
                f"Reading statistics from {redact_url(url.reveal())} failed "
                f"({_first_line(exc, url)}); check that the role in PERF_DATABASE_URL may read the "
                "statistics views and that the server is not overloaded."
            ) from None
    return DbSnapshot(
        taken_at=taken_at, database=str(row[0]), server_version=str(row[1]),
        max_connections=int(row[2]), statements_available=available, statements_reason=reason,
        statements=statements, tables=tables, hidden_statements=hidden,
        statements_reset_at=reset_at, counters=counters,
    )


def _read_tables(conn: psycopg.Connection[tuple[Any, ...]]) -> dict[str, TableStats]:
    base = (
        f"SELECT /* {MARKER} */ schemaname, relname, seq_scan, seq_tup_read, idx_scan, n_live_tup, "
        "{size} FROM pg_stat_user_tables"
    )
    try:
        rows = conn.execute(base.format(size="pg_total_relation_size(relid)")).fetchall()
    except (errors.LockNotAvailable, errors.QueryCanceled):
        # The size function waits for a lock that a migration may hold; counters matter more.
        rows = conn.execute(base.format(size="NULL::bigint")).fetchall()
    return {
        f"{r[0]}.{r[1]}": TableStats(
            schema=r[0], name=r[1], seq_scan=int(r[2] or 0), seq_tup_read=int(r[3] or 0),
            idx_scan=None if r[4] is None else int(r[4]), n_live_tup=int(r[5] or 0),
            size_bytes=None if r[6] is None else int(r[6]),
        )
        for r in rows
    }


DATABASE_COUNTERS: Final = (
    "xact_commit", "xact_rollback", "deadlocks", "temp_files", "temp_bytes", "conflicts",
    "sessions", "sessions_abandoned", "sessions_fatal", "sessions_killed",
)


def _read_counters(conn: psycopg.Connection[tuple[Any, ...]]) -> dict[str, int]:
    """The database-wide counters the diagnosis needs (sessions* exist from PostgreSQL 14)."""
    cur = conn.execute(
        f"SELECT /* {MARKER} */ * FROM pg_stat_database WHERE datname = current_database()")
    row = cur.fetchone()
    if row is None or cur.description is None:
        return {}
    values = dict(zip((c.name for c in cur.description), row, strict=True))
    return {k: int(values[k]) for k in DATABASE_COUNTERS if isinstance(values.get(k), int)}


def _read_statements(
    conn: psycopg.Connection[tuple[Any, ...]], database: str,
) -> tuple[bool, str | None, dict[str, StatementStats], int, str | None]:
    """Statements of this database; a missing or unloaded extension is a reason, not an error."""
    found = conn.execute(
        f"SELECT /* {MARKER} */ n.nspname FROM pg_extension e "
        "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'"
    ).fetchone()
    if found is None:
        return False, (
            f"pg_stat_statements is not installed in database {database}; run "
            "CREATE EXTENSION pg_stat_statements in it (the server also needs "
            "shared_preload_libraries = 'pg_stat_statements')."
        ), {}, 0, None
    schema = '"' + str(found[0]).replace('"', '""') + '"'
    try:
        rows = conn.execute(
            f"SELECT /* {MARKER} */ queryid, query, calls, total_exec_time, max_exec_time, rows, "
            "shared_blks_hit, shared_blks_read, temp_blks_written "
            f"FROM {schema}.pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchall()
    except errors.ObjectNotInPrerequisiteState:
        return False, (
            "pg_stat_statements is installed but the server did not load it; add "
            "shared_preload_libraries = 'pg_stat_statements' to postgresql.conf and restart "
            "PostgreSQL."
        ), {}, 0, None
    except errors.UndefinedColumn:
        return False, (
            "pg_stat_statements is older than version 1.8 (no total_exec_time); run "
            "ALTER EXTENSION pg_stat_statements UPDATE."
        ), {}, 0, None
    except errors.InsufficientPrivilege:
        return False, (
            "this role may not read pg_stat_statements; GRANT pg_read_all_stats to the role in "
            "PERF_DATABASE_URL."
        ), {}, 0, None
    return True, None, _sum_by_queryid(rows), sum(1 for r in rows if r[0] is None), _reset_at(
        conn, schema
    )


def _sum_by_queryid(rows: list[tuple[Any, ...]]) -> dict[str, StatementStats]:
    """One entry per queryid: pg_stat_statements splits a statement by role and nesting level."""
    merged: dict[str, StatementStats] = {}
    for queryid, query, calls, total, max_time, nrows, *blocks in rows:
        if queryid is None or query is None or is_own_statement(query):
            continue
        key = str(queryid)
        prev = merged.get(key, StatementStats(key, redact_sql(str(query)), 0, 0.0, 0.0, 0.0, 0))
        sum_calls = prev.calls + int(calls)
        sum_total = prev.total_exec_time + float(total)
        hit, read, temp = (int(b or 0) for b in (*blocks, 0, 0, 0)[:3])
        merged[key] = StatementStats(
            queryid=key, query=prev.query, calls=sum_calls, total_exec_time=sum_total,
            mean_exec_time=sum_total / sum_calls if sum_calls else 0.0,
            max_exec_time=max(prev.max_exec_time, float(max_time)), rows=prev.rows + int(nrows),
            shared_blks_hit=prev.shared_blks_hit + hit, shared_blks_read=prev.shared_blks_read + read,
            temp_blks_written=prev.temp_blks_written + temp,
        )
    return merged


def _reset_at(conn: psycopg.Connection[tuple[Any, ...]], schema: str) -> str | None:
    """When pg_stat_statements was last reset (extension 1.9+), to spot a reset inside the window."""
    try:
        row = conn.execute(
            f"SELECT /* {MARKER} */ stats_reset FROM {schema}.pg_stat_statements_info"
        ).fetchone()
    except psycopg.Error:
        return None
    if row is None or row[0] is None:
        return None
    stamp: datetime = row[0]
    return stamp.astimezone(UTC).isoformat(timespec="milliseconds")


def _first_line(exc: BaseException, url: Secret) -> str:
    """The gist of a driver error, with any secret removed and libpq's prefix and advice dropped."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text.removeprefix("connection failed: ").rstrip(".")
    return scrub(text, [url])
