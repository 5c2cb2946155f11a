"""Preflight: every item of the pre-run checklist as a check with a one-sentence fix, run before any
load starts (and by `perfdash doctor` on its own).

A failed required check stops the run with exit 3 before k6 or Artillery sends a single request;
a warning lets the run go on but names what will end up "not measured".
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg

from perfdash.net import probe
from perfdash.run.tools import ToolLocation, find_artillery, find_k6
from perfdash.secret import Secret, scrub
from perfdash.settings import Environment, Profile

PreflightStatus = Literal["pass", "warn", "fail", "skip"]


@dataclass(frozen=True)
class PreflightResult:
    name: str
    status: PreflightStatus
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Target:
    """What this run talks to, after the demo stack (if any) is up."""

    base_url: str | None
    database_url: Secret | None
    token: Secret | None


def _tool(loc: ToolLocation) -> PreflightResult:
    name = f"{loc.name} runnable"
    if loc.ok:
        return PreflightResult(name, "pass", f"{loc.name} {loc.version} at {loc.path}")
    return PreflightResult(name, "fail", loc.problem or "not usable", loc.fix or "")


def check_results_dir(run_dir: Path) -> PreflightResult:
    try:
        with tempfile.NamedTemporaryFile(dir=run_dir, prefix=".probe") as f:
            f.write(b"x" * 4096)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        return PreflightResult("results directory writable", "fail",
                               f"cannot write in {run_dir}: {exc.strerror}",
                               "free disk space or fix the permissions of the results directory")
    return PreflightResult("results directory writable", "pass", str(run_dir))


def check_backend(env: Environment, base_url: str | None) -> PreflightResult:
    name = "backend reachable"
    if not base_url:
        return PreflightResult(name, "fail", "no base URL is configured",
                               "set PERF_BASE_URL in .env.performance")
    url = base_url + env.health_path
    status, detail = probe(url, timeout_s=5)
    if status is None:
        return PreflightResult(name, "fail", f"nothing answers at {url} ({detail})",
                               "start the backend, or fix PERF_BASE_URL in .env.performance")
    if status >= 500:
        return PreflightResult(name, "fail", f"{url} answered {status}",
                               "check the backend's log: it is up but unhealthy")
    if status >= 400:
        return PreflightResult(name, "warn", f"{url} answered {status}",
                               f"set health_path for environment {env.name!r} in profiles.toml")
    return PreflightResult(name, "pass", f"{url} answered {status}")


def check_socketio(base_url: str | None, script: Path | None) -> PreflightResult:
    """Artillery hangs on a Socket.IO endpoint that is not there: find out before it starts."""
    name = "Socket.IO endpoint"
    try:
        uses = script is not None and "socketio" in script.read_text(encoding="utf-8")
    except OSError:
        uses = False
    if not uses:
        return PreflightResult(name, "skip", "the Artillery scenario uses no Socket.IO")
    if not base_url:
        return PreflightResult(name, "fail", "no base URL is configured",
                               "set PERF_BASE_URL in .env.performance")
    url = f"{base_url}/socket.io/?EIO=4&transport=polling"
    status, detail = probe(url, timeout_s=5)
    if status == 200 and detail.startswith("0"):
        return PreflightResult(name, "pass", f"Engine.IO handshake answered at {base_url}")
    return PreflightResult(
        name, "fail", f"no Socket.IO server at {url} ({status or detail})",
        "check that the backend serves Socket.IO at /socket.io/ (Artillery would hang on it)")


def check_database(url: Secret | None) -> list[PreflightResult]:
    if url is None:
        return [PreflightResult(
            "database reachable", "warn", "PERF_DATABASE_URL is not set: the database report "
            "will be not measured", "set PERF_DATABASE_URL in .env.performance")]
    try:
        with psycopg.connect(url.reveal(), connect_timeout=5, autocommit=True) as conn:
            conn.execute("SELECT count(*) FROM pg_stat_user_tables").fetchone()
            results = [PreflightResult("database reachable", "pass",
                                       "connected; pg_stat_user_tables readable")]
            try:
                conn.execute("SELECT 1 FROM pg_stat_statements LIMIT 1").fetchone()
                results.append(PreflightResult("pg_stat_statements", "pass", "readable"))
            except psycopg.Error as exc:
                results.append(PreflightResult(
                    "pg_stat_statements", "warn",
                    scrub(str(exc).splitlines()[0], [url]) + ": slow queries will be not measured",
                    "add pg_stat_statements to shared_preload_libraries and run "
                    "CREATE EXTENSION pg_stat_statements"))
            return results
    except psycopg.Error as exc:
        first = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                      [url])
        return [PreflightResult(
            "database reachable", "fail", f"cannot connect: {first}",
            "check PERF_DATABASE_URL (host, port, user, password) and that PostgreSQL is running")]


def run_preflight(profile: Profile, env: Environment, target: Target, run_dir: Path,
                  project_dir: Path, env_file: Path,
                  on_result: Callable[[PreflightResult], None] | None = None,
                  ) -> list[PreflightResult]:
    results: list[PreflightResult] = []

    def add(result: PreflightResult) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    if env.kind == "external":
        configured = env_file.is_file()
        add(PreflightResult(
            ".env.performance configured", "pass" if configured else "warn",
            f"{env_file.name} read" if configured else
            f"{env_file.name} not found; using variables from the shell",
            "" if configured else "copy .env.performance.example to .env.performance"))
    else:
        add(PreflightResult(".env.performance configured", "skip",
                            "the demo environment generates its own URLs and credentials"))
    add(check_results_dir(run_dir))
    for script, label in ((profile.k6_script, "k6 script"),
                          (profile.artillery_script, "Artillery scenario")):
        if script is not None:
            ok = script.is_file()
            add(PreflightResult(f"{label} present", "pass" if ok else "fail", str(script),
                                "" if ok else f"fix the {label} path in profiles.toml"))
    if profile.k6_script:
        add(_tool(find_k6()))
    if profile.artillery_script:
        add(_tool(find_artillery(project_dir)))
    add(check_backend(env, target.base_url))
    if profile.artillery_script:
        add(check_socketio(target.base_url, profile.artillery_script))
    for result in check_database(target.database_url):
        add(result)
    return results


def blocking(results: list[PreflightResult]) -> list[PreflightResult]:
    return [r for r in results if r.status == "fail"]
