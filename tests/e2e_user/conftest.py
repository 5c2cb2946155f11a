"""perfdash as a user meets it: a wheel installed into a fresh venv, run in a foreign project.

The foreign project (tests/foreign_project) is a Node.js service on PostgreSQL with its own k6 and
Artillery suites and its own conventions (/healthz, a JSON-lines log under var/log, npm start/stop in
service/). Nothing here imports perfdash from the repository except the shared throwaway PostgreSQL
cluster of tests/conftest.py: every perfdash command runs as the installed `perfdash` executable.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.net import free_port
from perfdash.secret import Secret

from ..conftest import make_database

# The wheel, the venv and the installed `perfdash` (fixtures registered by tests/conftest.py).
from ..installed_perfdash import OVERRIDE_ENV, REPO, _timed, run_perfdash, user_env

__all__ = ["OVERRIDE_ENV", "REPO", "run_perfdash", "user_env"]

FOREIGN = REPO / "tests" / "foreign_project"


@pytest.fixture(scope="session")
def foreign_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/foreign_project copied to a temporary directory, its service's dependencies installed."""
    copy = tmp_path_factory.mktemp("foreign") / "shopfront"
    shutil.copytree(FOREIGN, copy,
                    ignore=shutil.ignore_patterns("node_modules", "var", "results",
                                                  ".env.performance"))
    _timed("npm ci (shopfront)", ["npm", "ci", "--no-audit", "--no-fund"], cwd=copy / "service",
           env={**os.environ, "npm_config_update_notifier": "false"}, timeout=300)
    return copy


@dataclass
class Shopfront:
    base_url: str
    database_url: Secret
    copy: Path
    process: subprocess.Popen[bytes]

    @property
    def pid_file(self) -> Path:
        return self.copy / "var" / "run" / "shopfront.pid"

    @property
    def log_file(self) -> Path:
        return self.copy / "var" / "log" / "shopfront.jsonl"

    def server_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_group(proc: subprocess.Popen[bytes], deadline_s: float = 10) -> None:
    """SIGTERM the service's process group (npm, sh, node), then SIGKILL what is left."""
    pgid = proc.pid  # start_new_session: the group id is npm's pid
    for sig, wait in ((signal.SIGTERM, deadline_s), (signal.SIGKILL, 5)):
        if not _group_alive(pgid):
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        end = time.monotonic() + wait
        while time.monotonic() < end and _group_alive(pgid):
            proc.poll()  # reap npm so the group can empty
            time.sleep(0.1)
    proc.poll()


@pytest.fixture(scope="session")
def shopfront(pg_cluster: ThrowawayPostgres, foreign_copy: Path) -> Iterator[Shopfront]:
    """The foreign service on a database of its own in the session's cluster, started by `npm start`."""
    url = make_database(pg_cluster, "shop")
    port = free_port()
    service_dir = foreign_copy / "service"
    (foreign_copy / "var" / "log").mkdir(parents=True, exist_ok=True)
    (foreign_copy / "var" / "run").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": url.reveal(),
        "LOG_FILE": str(foreign_copy / "var" / "log" / "shopfront.jsonl"),
        "PID_FILE": str(foreign_copy / "var" / "run" / "shopfront.pid"),
        "npm_config_update_notifier": "false",
    }
    out = (foreign_copy / "var" / "log" / "npm-start.out").open("wb")
    proc = subprocess.Popen(["npm", "start"], cwd=service_dir, env=env, stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    service = Shopfront(base_url, url, foreign_copy, proc)
    try:
        start = time.monotonic()
        while not _healthy(base_url + "/healthz"):
            if proc.poll() is not None:
                out.flush()
                raise AssertionError(
                    "shopfront exited during start-up:\n"
                    + (foreign_copy / "var" / "log" / "npm-start.out").read_text()[-3000:])
            assert time.monotonic() - start < 60, "shopfront did not answer /healthz within 60 s"
            time.sleep(0.2)
        print(f"[e2e_user] shopfront up at {base_url} after {time.monotonic() - start:.1f} s",
              file=sys.stderr)
        yield service
    finally:
        _stop_group(proc)
        out.close()
