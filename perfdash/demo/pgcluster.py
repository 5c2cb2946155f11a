"""A throwaway PostgreSQL cluster on 127.0.0.1 with pg_stat_statements, for `perfdash demo` and tests.

PostgreSQL refuses to run as root, so when perfdash runs as root the cluster is created and started as
the `postgres` OS user. Everything lives in one temporary directory that `stop()` removes, also when
the caller is unwinding from Ctrl-C. While it exists, a marker (perfdash.demo.stale) names its owner,
so a cluster whose perfdash was killed outright is found and removed later (`perfdash cleanup
--stale`, or the next demo).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from perfdash.demo import stale
from perfdash.net import free_port
from perfdash.secret import Secret


class ClusterError(RuntimeError):
    """The cluster could not be created or started; the message says why and what to install."""


def find_pg_bin() -> Path:
    """The newest server binaries: Debian keeps them in /usr/lib/postgresql/<major>/bin."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise ClusterError(
        "PostgreSQL server binaries (initdb) were not found; "
        "install them with `apt-get install postgresql postgresql-contrib`."
    )


class ThrowawayPostgres:
    """initdb + pg_ctl in a temp dir; `url()` gives a connection string wrapped as a Secret."""

    def __init__(self, database: str = "perfdash_demo", base_dir: Path | None = None) -> None:
        self.database = database
        self.host = "127.0.0.1"
        self.port = 0
        self.user = "postgres"
        self.password = Secret(secrets.token_urlsafe(18))
        self._base_dir = base_dir
        self.root: Path | None = None
        self._marker: Path | None = None
        self._launched = False  # `pg_ctl start` was called: a postmaster may be coming up
        self._bin = find_pg_bin()
        self._run_as: str | None = "postgres" if os.geteuid() == 0 else None

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> ThrowawayPostgres:
        if self._run_as:
            try:
                pwd.getpwnam(self._run_as)
            except KeyError:
                raise ClusterError(
                    "running as root needs the `postgres` OS user to start PostgreSQL; "
                    "install `postgresql` (it creates that user) or run perfdash as a normal user."
                ) from None
        self.root = Path(tempfile.mkdtemp(prefix=stale.CLUSTER_PREFIX, dir=self._base_dir))
        try:
            self._marker = stale.write_marker(self.root, self._bin / "pg_ctl", self._run_as)
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
            raise
        data, sock = self.root / "data", self.root / "sock"
        sock.mkdir()
        pwfile = self.root / "pw"
        pwfile.write_text(self.password.reveal() + "\n")
        os.chmod(pwfile, 0o600)
        if self._run_as:
            info = pwd.getpwnam(self._run_as)
            for path in (self.root, sock, pwfile):
                os.chown(path, info.pw_uid, info.pw_gid)
            os.chmod(self.root, 0o700)
        try:
            self._pg(
                "initdb", "-D", str(data), "-U", self.user, f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync",
            )
            pwfile.unlink()
            self.port = free_port()
            conf = data / "postgresql.conf"
            with conf.open("a") as f:
                f.write(
                    "\n# perfdash throwaway cluster\n"
                    f"port = {self.port}\n"
                    "listen_addresses = '127.0.0.1'\n"
                    f"unix_socket_directories = '{sock}'\n"
                    "shared_preload_libraries = 'pg_stat_statements'\n"
                    "pg_stat_statements.track = all\n"
                    "track_io_timing = on\n"
                    "fsync = off\n"
                    "synchronous_commit = off\n"
                    "full_page_writes = off\n"
                    "max_connections = 100\n"
                )
            self._launched = True
            self._pg("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-w",
                     "-t", "30", "start")
            self._pg("psql", "-h", str(sock), "-p", str(self.port), "-U", self.user, "-d",
                     "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c",
                     f'CREATE DATABASE "{self.database}"')
            self._pg("psql", "-h", str(sock), "-p", str(self.port), "-U", self.user, "-d",
                     self.database, "-q", "-c", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (fast mode) and delete every file of the cluster. Safe to call twice."""
        if self.root is None:
            return
        data = self.root / "data"
        # Stopped while `pg_ctl start` ran (an interrupt): the postmaster writes its pid file soon.
        deadline = time.monotonic() + (3.0 if self._launched else 0.0)
        while not (data / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(ClusterError):
                self._pg("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "-t", "20", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
        stale.remove_marker(self._marker)  # only once the cluster is gone
        self._marker = None

    def pause(self) -> None:
        """Stop the server but keep its files, so tests can take the database away and bring it back."""
        assert self.root is not None
        self._pg("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        assert self.root is not None
        self._pg("pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "server.log"),
                 "-w", "-t", "30", "start")

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- access
    def url(self, database: str | None = None) -> Secret:
        db = database or self.database
        return Secret(
            f"postgresql://{self.user}:{self.password.reveal()}@{self.host}:{self.port}/{db}"
        )

    def _pg(self, tool: str, *args: str) -> None:
        cmd = [str(self._bin / tool), *args]
        result = subprocess.run(
            cmd, capture_output=True, text=True, user=self._run_as, cwd="/", check=False,
            stdin=subprocess.DEVNULL, timeout=120,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise ClusterError(f"{tool} failed ({result.returncode}): {' | '.join(detail)}")
