"""Preflight: every item of the pre-run checklist as a check with a one-sentence fix, run before any
load starts (and by `perfdash doctor` on its own).

A failed required check stops the run with exit 3 before k6 or Artillery sends a single request;
a warning lets the run go on but names what will end up "not measured".
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg

from perfdash.net import probe
from perfdash.run.capacity import capacity_warnings
from perfdash.secret import MIN_SECRET_CHARS, Secret, redact_command, scrub, unredactable
from perfdash.settings import Environment, Profile
from perfdash.tools import LOAD_PROBLEMS, TOOLS, tools_for
from perfdash.tools.base import Target, ToolLocation, ToolPlan

PreflightStatus = Literal["pass", "warn", "fail", "skip"]


@dataclass(frozen=True)
class PreflightResult:
    name: str
    status: PreflightStatus
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _tool(loc: ToolLocation, optional: bool = False) -> PreflightResult:
    """`optional`: a tool no profile at hand runs and perfdash installs only as an extra: missing
    is a warning then, not a failure."""
    name = f"{loc.name} runnable"
    if loc.ok:
        found = f" ({loc.how})" if loc.how else ""
        return PreflightResult(name, "pass", f"{loc.name} {loc.version or '(version unknown)'} at "
                               f"{loc.path}{found}")
    return PreflightResult(name, "warn" if optional else "fail", loc.problem or "not usable",
                           loc.fix or "")


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


HEALTH_TRIES = 3
HEALTH_RETRY_S = 1.0


def check_backend(env: Environment, base_url: str | None,
                  start_when_down: bool = False) -> PreflightResult:
    """`start_when_down`: asked ahead of a run (doctor), where a backend that is down is started
    by the run with the environment's start_command: "down" is then no failure."""
    name = "backend reachable"
    if not base_url:
        return PreflightResult(name, "fail", "no base URL is configured",
                               "set PERF_BASE_URL in .env.performance")
    url = base_url + env.health_path
    status, detail = probe(url, timeout_s=5)
    tries = 1
    # A 5xx can be one moment's (a connection pool reconnecting after an idle spell): asked again
    # a second later, twice, before the run is refused.
    while status is not None and status >= 500 and tries < HEALTH_TRIES:
        time.sleep(HEALTH_RETRY_S)
        status, detail = probe(url, timeout_s=5)
        tries += 1
    if status is None and start_when_down and env.start_command:
        shown = redact_command(env.start_command, env.secrets())
        where = f" in {env.working_dir}" if env.working_dir else ""
        return PreflightResult(name, "skip", f"down at {url}; run will start it with `{shown}`"
                               f"{where}")
    if status is None:
        return PreflightResult(name, "fail", f"nothing answers at {url} ({detail})",
                               "start the backend, or fix PERF_BASE_URL in .env.performance")
    if status >= 500:
        return PreflightResult(name, "fail", f"{url} answered {status} ({tries} times, "
                               f"{HEALTH_RETRY_S:g} s apart)",
                               "check the backend's log: it is up but unhealthy")
    if status >= 400:
        return PreflightResult(name, "warn", f"{url} answered {status}",
                               f"set health_path for environment {env.name!r} in profiles.toml")
    return PreflightResult(name, "pass", f"{url} answered {status}")


def check_logs(env: Environment) -> list[PreflightResult]:
    """The backend's logs are followed during the run: say now which cannot be (never a hang on a
    FIFO, never an error count of 0 from a file nobody could read), each named by its file when
    there are several."""
    logs = env.followed_logs()
    return [r for log in logs
            if (r := check_log(env, log.path, log.kind, several=len(logs) > 1)) is not None]


def check_log(env: Environment, path: Path, kind: str, *, several: bool) -> PreflightResult | None:
    if env.kind != "external":
        return None
    what = "app log" if kind == "app" else "access log"
    counted = "errors" if kind == "app" else "requests per endpoint"
    name = f"{what} readable" + (f" ({path.name})" if several else "")
    key = "its logs entry" if env.logs else "app_log"
    fix = f"point {key} of [environments.{env.name}] at the backend's {what} file"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return PreflightResult(name, "warn", f"{path} does not exist yet: its {counted} will be not "
                               "measured unless the backend creates it during the run", fix)
    except OSError as exc:
        return PreflightResult(name, "warn", f"cannot look at {path}: {exc.strerror}", fix)
    if not stat.S_ISREG(st.st_mode):
        kind_of = "a FIFO" if stat.S_ISFIFO(st.st_mode) else (
            "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file")
        return PreflightResult(name, "warn", f"{path} is {kind_of}, not a log file: its {counted} "
                               "will be not measured", fix)
    if not os.access(path, os.R_OK):
        return PreflightResult(name, "warn", f"{path} is not readable by this user: its {counted} "
                               "will be not measured", f"let this user read it (chmod o+r {path}), "
                               "or run perfdash as the backend's user")
    return PreflightResult(name, "pass", str(path))


def check_socketio(base_url: str | None, uses: bool) -> PreflightResult:
    """A load tool hangs on a Socket.IO endpoint that is not there: find out before it starts."""
    name = "Socket.IO endpoint"
    if not uses:
        return PreflightResult(name, "skip", "no script uses Socket.IO")
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


def check_database(url: Secret | None, var: str = "PERF_DATABASE_URL") -> list[PreflightResult]:
    """`var`: the variable the environment reads its database URL from, which the fix names."""
    if url is None:
        return [PreflightResult(
            "database reachable", "warn", f"{var} is not set: the database report "
            "will be not measured", f"set {var} in .env.performance")]
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
            f"check {var} (host, port, user, password) and that PostgreSQL is running")]


ToolPlans = dict[str, tuple[ToolLocation, ToolPlan]]


def plan_tools(profile: Profile, env: Environment, target: Target, run_dir: Path,
               project_dir: Path) -> ToolPlans:
    """Each configured tool found and its script's plan read, before the run says anything: the
    run's first line gives the real length of its load. Silent: a tool that cannot be found or
    planned is left out here and reported by preflight."""
    plans: ToolPlans = {}
    for tool in tools_for(profile):
        script = profile.script_for(tool.name)
        if script is None or not script.is_file():
            continue
        try:
            loc = tool.locate(env, project_dir)
            if loc.path is None or not loc.ok:
                continue
            plans[tool.name] = (loc, tool.plan(loc.path, profile, project_dir, run_dir, target))
        except Exception:  # preflight asks again, and says what went wrong
            continue
    return plans


def run_preflight(profile: Profile | None, env: Environment, target: Target, run_dir: Path,
                  project_dir: Path, env_file: Path,
                  on_result: Callable[[PreflightResult], None] | None = None,
                  plans: ToolPlans | None = None, known: ToolPlans | None = None,
                  replan: bool = False, start_when_down: bool = False) -> list[PreflightResult]:
    """Every checklist item; with `profile` None (doctor --env), the environment and every tool.
    Each configured tool's plan (what its script will do) is put in `plans` for the run.

    `known`: tools already found and planned (`plan_tools`) are not asked again; with `replan` their
    plans are read again (the target changed since: the demo's URL exists once its stack is up).
    `start_when_down`: checked ahead of a run (doctor), which starts a backend that is down."""
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
    short = [what for what, s in (("the database password", env.database_url),
                                  ("the API token", env.api_token)) if s and unredactable(s)]
    if short:
        add(PreflightResult("secrets redactable", "warn",
                            f"{' and '.join(short)} is shorter than {MIN_SECRET_CHARS} characters: "
                            "perfdash cannot keep it out of logs and screens reliably",
                            "use a longer password or token for load tests"))
    add(check_results_dir(run_dir))
    for problem in LOAD_PROBLEMS:  # a registered tool that did not load: the others still run
        add(PreflightResult("load tools registered", "warn", problem,
                            "reinstall perfdash, or fix or remove the plugin's perfdash.tools entry point"))
    uses_socketio = False
    for tool in (tools_for(profile) if profile is not None else list(TOOLS)):
        if profile is not None:
            files = profile.files_for(tool.name)
            missing = [f for f in files if not f.is_file()]
            ok = bool(files) and not missing
            add(PreflightResult(f"{tool.label} script present", "pass" if ok else "fail",
                                ", ".join(str(f) for f in (missing or files)) or "None",
                                "" if ok else f"fix the {tool.name} script path in "
                                f"[profiles.{profile.name}.{tool.name}] of profiles.toml"))
            if not ok:
                continue
        earlier = (known or {}).get(tool.name)
        loc = earlier[0] if earlier is not None else tool.locate(env, project_dir)
        add(_tool(loc, optional=profile is None and bool(getattr(tool, "optional", False))))
        if profile is None or loc.path is None or not loc.ok:
            continue
        plan = (earlier[1] if earlier is not None and not replan
                else tool.plan(loc.path, profile, project_dir, run_dir, target))
        if plan.problem:
            add(PreflightResult(f"{tool.label} script accepted", "fail", plan.problem, plan.fix))
        else:
            own = [t for t in plan.script_thresholds if (t.metric, t.expression) not in
                   {(p.metric, p.expression) for p in profile.thresholds_for(tool.name)}]
            add(PreflightResult(f"{tool.label} script accepted", "pass",
                                f"{plan.describe()} of load"
                                + (f"; {len(own)} threshold(s) of its own" if own else "")))
        for warning in plan.warnings:
            add(PreflightResult(f"{tool.label} script", "warn", warning))
        uses_socketio = uses_socketio or bool(plan.details.get("socketio"))
        if plans is not None:
            plans[tool.name] = (loc, plan)
    if profile is not None:
        for w in capacity_warnings(profile):
            add(PreflightResult(w.name, "warn", w.detail, w.fix))
    backend = check_backend(env, target.base_url, start_when_down)
    add(backend)
    for log_check in check_logs(env):
        add(log_check)
    if profile is not None and backend.status == "skip" and uses_socketio:
        add(PreflightResult("Socket.IO endpoint", "skip", "the backend is down; the run starts it "
                            "before it checks Socket.IO"))
    elif profile is not None:
        add(check_socketio(target.base_url, uses_socketio))
    for result in check_database(target.database_url, env.database_url_env):
        add(result)
    return results


def blocking(results: list[PreflightResult]) -> list[PreflightResult]:
    return [r for r in results if r.status == "fail"]
