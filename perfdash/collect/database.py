"""Database sampler: connections by state against max_connections, waits and lock waiters, once a
second, replacing the `psql` window an engineer keeps open during a run.

Each sample is one round trip (`perfdash.collect.db_activity.ACTIVITY_SQL`): connections go to
`db-connections.csv` as before, and what the sessions wait on, who owns the connections and who
blocks whom go to `db-activity.ndjson` for the diagnosis.

Built by the collector registry for a run or a watch whenever there is a database URL. The
database may go away and come back mid-run (a restart, a failover): the sampler says so once with
a problem event, keeps trying quietly, and says so again when it is back.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from perfdash.collect.background import Background
from perfdash.collect.base import RunNotes, Setup
from perfdash.collect.db_activity import (
    ACTIVITY_SQL,
    append_sample,
    connections_by_state,
    session_from_row,
    summarise,
)
from perfdash.collect.dbstats import MARKER
from perfdash.events import Bus, DatabaseSampled, ProblemDetected
from perfdash.secret import Secret, scrub


def database_sampler(setup: Setup) -> DatabaseSampler | None:
    """The registry's factory: a sampler whenever the run or watch has a database URL."""
    if not setup.database_url:
        return None
    return DatabaseSampler(setup.bus, setup.database_url, setup.paths.db_connections,
                           activity_path=setup.paths.db_activity)


class DatabaseSampler(Background):
    name = "database"
    columns: tuple[str, ...] = ("db_active", "db_idle", "db_idle_in_tx", "db_total", "db_max",
                                "db_lock_waits")

    def __init__(self, bus: Bus, url: Secret, csv_path: Path, interval_s: float = 1.0,
                 activity_path: Path | None = None) -> None:
        super().__init__("db-sampler")
        self._bus = bus
        self._csv = csv_path
        self._activity = activity_path
        self._url = url
        self._interval = interval_s
        self._conn: psycopg.Connection[Any] | None = None
        self.samples = 0
        self.peak_connections = 0
        self.max_connections = 0
        self.down_since_sample: int | None = None

    def stop(self) -> None:
        super().stop()
        self._close()

    def finish(self, run_dir: Path, record: RunNotes) -> None:
        """Both files are appended sample by sample: nothing is left to write."""

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def _run(self) -> None:
        while True:
            try:
                self._sample()
            except psycopg.Error as exc:
                self._close()
                if self.down_since_sample is None:
                    self.down_since_sample = self.samples
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else "error"
                    self._bus.publish(ProblemDetected(
                        f"database unreachable: {scrub(first, [self._url])}",
                        "check that PostgreSQL is running; sampling resumes when it is back",
                        severity="error"))
            if self._stopping.wait(self._interval):
                return

    def _sample(self) -> None:
        if self._conn is None:
            self._conn = psycopg.connect(self._url.reveal(), autocommit=True, connect_timeout=3,
                                         application_name="perfdash-sampler")
            row = self._conn.execute(
                f"SELECT /* {MARKER} */ current_setting('max_connections')::int").fetchone()
            self.max_connections = int(row[0]) if row else 0
        sessions = [session_from_row(r) for r in self._conn.execute(ACTIVITY_SQL).fetchall()]
        states = connections_by_state(sessions)
        activity = summarise(time.time(), sessions)
        waiting = len(activity.lock_waits)
        if self._activity is not None:
            try:
                append_sample(self._activity, activity)
            except OSError:
                self._activity = None  # a full disk stops this file, never the sampler
        if self.down_since_sample is not None:
            self.down_since_sample = None
            self._bus.publish(ProblemDetected("database reachable again"))
        self.samples += 1
        self.peak_connections = max(self.peak_connections, sum(states.values()))
        event = DatabaseSampled(states, self.max_connections, waiting)
        self._record(event)
        self._bus.publish(event)

    def _record(self, event: DatabaseSampled) -> None:
        """db-connections.csv: one row per sample, so the analysis reads peaks from a file."""
        new = not self._csv.exists()
        with self._csv.open("a", encoding="utf-8") as f:
            if new:
                f.write("timestamp,total,active,idle,idle_in_transaction,other,max_connections,"
                        "waiting_locks\n")
            s = event.connections_by_state
            known = s.get("active", 0) + s.get("idle", 0) + s.get("idle in transaction", 0)
            total = sum(s.values())
            stamp = datetime.fromtimestamp(event.at, UTC).isoformat(timespec="milliseconds")
            f.write(f"{stamp},{total},{s.get('active', 0)},{s.get('idle', 0)},"
                    f"{s.get('idle in transaction', 0)},{total - known},{event.max_connections},"
                    f"{event.waiting_locks}\n")
