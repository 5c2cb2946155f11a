"""The demo environment as one unit: throwaway PostgreSQL, seeded schema, demo backend.

The orchestrator starts it for environments of kind "demo" and stops it in its `finally`, so a
Ctrl-C or a crash leaves no server and no cluster behind; a SIGKILL leaves the cluster, which the
next start removes (perfdash.demo.stale).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from perfdash.demo.backend import DemoBackend
from perfdash.demo.database import prepare_database
from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.demo.stale import cleanup_stale
from perfdash.proc.supervisor import Supervisor
from perfdash.secret import Secret


class DemoStack:
    def __init__(self, supervisor: Supervisor, app_log: Path, output_dir: Path,
                 log: Callable[[str], None] = lambda _m: None) -> None:
        self._supervisor = supervisor
        self._app_log = app_log
        self._output_dir = output_dir
        self._log = log
        self.cluster: ThrowawayPostgres | None = None
        self.backend: DemoBackend | None = None
        self.token = Secret(secrets.token_urlsafe(24))
        self.seeded: dict[str, int] = {}

    @property
    def base_url(self) -> str | None:
        return self.backend.base_url if self.backend else None

    @property
    def database_url(self) -> Secret | None:
        return self.cluster.url() if self.cluster else None

    @property
    def backend_pid(self) -> int | None:
        return self.backend.pid if self.backend else None

    def start(self) -> None:
        # A perfdash killed outright (SIGKILL) could not stop its cluster: remove it now.
        cleanup_stale(lambda line: self._log(f"stale demo cluster: {line}"))
        self.cluster = ThrowawayPostgres()
        self.cluster.start()
        self._log(f"throwaway PostgreSQL on 127.0.0.1:{self.cluster.port} in {self.cluster.root}")
        self.seeded = prepare_database(self.cluster.url())
        self._log("seeded " + ", ".join(f"{t}={n}" for t, n in self.seeded.items()))
        self.backend = DemoBackend(self._supervisor, self.cluster.url(), self.token,
                                   self._app_log, self._output_dir)
        url = self.backend.start()
        self._log(f"demo backend at {url} (pid {self.backend.pid})")

    def stop_backend(self) -> None:
        if self.backend is not None:
            try:
                self.backend.stop()
            finally:
                self.backend = None

    def stop(self) -> None:
        try:
            self.stop_backend()
        finally:
            self._stop_cluster()

    def _stop_cluster(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None
