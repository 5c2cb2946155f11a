"""Cleanup after a performance test: remove what perfdash created, and nothing anyone else did.

This replaces the guide's three hand-run steps (delete test data, `npm run stop`, `docker-compose
down`). `perfdash cleanup`, the dashboard's cleanup dialog and the orchestrator (for environments with
`cleanup_after_run`) first call `plan_cleanup`, which only looks, so that the user sees every action
with its exact effect or the reason it cannot run; then `execute` carries out the chosen actions, and
only with `confirmed=True`.

Order matters and is fixed: seeded data first (the database may be one of the compose services),
then the backend, then `docker compose down`. Every failure comes back as an `ActionResult` with
ok=False and one sentence; nothing here raises except a missing confirmation.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Final, Literal, Protocol

import psutil
import psycopg
from psycopg import sql

from perfdash.data.ledger import (
    Conn,
    LedgerError,
    TableKey,
    forget_rows,
    has_environment_column,
    ledger_exists,
    ledger_tables,
    owned_counts,
    qualified_name,
    require_track_counts,
    rows_text,
    transaction_writes,
)
from perfdash.proc.command import run_process
from perfdash.secret import Secret, scrub
from perfdash.settings import Environment

SEEDED_DATA: Final = "seeded-data"
BACKEND: Final = "backend"
COMPOSE: Final = "compose"

COMMAND_TIMEOUT_S: Final = 60.0
_DOCKER_PROBE_S: Final = 10.0
_LOCK_TIMEOUT: Final = "10s"


class CleanupError(Exception):
    """Cleanup was asked for in a way perfdash refuses; the message says how to ask properly."""


class CleanupNotConfirmed(CleanupError):
    """`execute` without `confirmed=True`: nothing is removed unless the user said yes."""


class StoppableProcess(Protocol):
    """A backend perfdash started: a supervisor `Child` or a `DemoBackend` (pid == process group)."""

    @property
    def pid(self) -> int: ...

    def stop(self, deadline_s: float = 5.0) -> object: ...


@dataclass(frozen=True)
class RemoveSeededData:
    """Delete the rows the ledger lists (`rows_by_table` in deletion order, children first)."""

    environment: str
    rows_by_table: Mapping[str, int]
    run_ids: tuple[str, ...]
    protected: bool
    url: Secret | None = field(default=None, repr=False, compare=False)
    available: bool = True
    reason: str = ""
    # Rows in the ledger without a recorded environment (recorded before perfdash kept it), kept
    # unless cleanup was asked to include them: they may belong to another environment.
    unattributed: Mapping[str, int] = field(default_factory=dict)
    name: ClassVar[str] = SEEDED_DATA

    def describe(self) -> str:
        kept = ""
        if self.unattributed:
            listed = ", ".join(f"{n} from {t}" for t, n in self.unattributed.items())
            kept = (f"; keeping {listed} whose seeding environment is unknown (pass "
                    "--include-unattributed to delete those too)")
        if not self.rows_by_table:
            return "delete the rows perfdash seeded" + kept
        parts = [f"{rows_text(n)} from {t}" if i == 0 else f"{n} from {t}"
                 for i, (t, n) in enumerate(self.rows_by_table.items())]
        return "delete " + ", ".join(parts) + " (seeded by perfdash)" + kept


@dataclass(frozen=True)
class StopBackend:
    """Stop the backend: the process perfdash started, or the environment's stop_command."""

    how: Literal["stop_command", "pid"]
    detail: str
    process: StoppableProcess | None = field(default=None, repr=False, compare=False)
    cwd: Path | None = None
    timeout_s: float = COMMAND_TIMEOUT_S
    secrets: tuple[Secret, ...] = field(default=(), repr=False, compare=False)
    available: bool = True
    reason: str = ""
    name: ClassVar[str] = BACKEND

    def describe(self) -> str:
        if self.how == "pid":
            return (f"stop the backend perfdash started ({self.detail}): INT, then TERM, then KILL "
                    "to its process group")
        return f"run the stop command `{self.detail}`"


@dataclass(frozen=True)
class ComposeDown:
    """`docker compose -f FILE down`: containers and networks go, volumes are kept."""

    compose_file: Path
    project: str
    argv: tuple[str, ...]
    timeout_s: float = COMMAND_TIMEOUT_S
    available: bool = True
    reason: str = ""
    name: ClassVar[str] = COMPOSE

    @property
    def shown(self) -> str:
        return " ".join(self.argv)

    def describe(self) -> str:
        return (f"run `{self.shown}`: stop and remove the containers and networks of compose "
                f"project '{self.project}' (volumes are kept)")


CleanupAction = RemoveSeededData | StopBackend | ComposeDown


@dataclass(frozen=True)
class CleanupPlan:
    environment: str
    actions: tuple[CleanupAction, ...]

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.actions]

    def action(self, name: str) -> CleanupAction | None:
        return next((a for a in self.actions if a.name == name), None)

    def available(self) -> set[str]:
        """The names a "clean up everything possible" button would select."""
        return {a.name for a in self.actions if a.available}

    def describe(self) -> list[str]:
        """One line per action, as the CLI prints it before asking."""
        return [a.describe() if a.available else f"{a.describe()} -- not possible: {a.reason}"
                for a in self.actions]


@dataclass(frozen=True)
class ActionResult:
    name: str
    ok: bool
    detail: str


# -------------------------------------------------------------------------------------- planning


def plan_cleanup(env: Environment, url: Secret | None, *, backend: StoppableProcess | None = None,
                 cwd: Path | None = None, timeout_s: float = COMMAND_TIMEOUT_S,
                 include_unattributed: bool = False) -> CleanupPlan:
    """What cleanup would do in this environment, looking only: no row, process or container is touched.

    `url` is the database to clean (the environment's, or the demo cluster's); `backend` the process
    perfdash started, if any; `cwd` where the stop command runs (the project directory).

    Only rows the ledger attributes to `env` are planned for deletion: rows another environment
    seeded into the same database are never touched. Rows recorded before the ledger kept the
    environment (NULL) are listed and kept, unless `include_unattributed`; even then a row whose
    seed run (perfdash.seed_runs) names another environment is kept.
    """
    actions: list[CleanupAction] = []
    data = _plan_data(env, url, include_unattributed)
    if data is not None:
        actions.append(data)
    stop = _plan_backend(env, backend, env.working_dir or cwd or Path.cwd(), timeout_s, url)
    if stop is not None:
        actions.append(stop)
    if env.compose_file is not None:
        actions.append(_plan_compose(env, env.compose_file, timeout_s))
    return CleanupPlan(env.name, tuple(actions))


def _plan_data(env: Environment, url: Secret | None,
               include_unattributed: bool = False) -> RemoveSeededData | None:
    has_seed = env.seed_sql is not None or bool(env.seed_command)
    if url is None:
        if not has_seed:
            return None
        return RemoveSeededData(env.name, {}, (), env.protected, None, False,
                                f"environment {env.name!r} has no database URL, so perfdash cannot "
                                "read its ledger; set PERF_DATABASE_URL in .env.performance")
    try:
        with psycopg.connect(url.reveal(), connect_timeout=10, autocommit=True) as conn:
            run_ids, loose = _ledger_runs(conn, env.name, include_unattributed)
            counts = owned_counts(conn, run_ids)
            order = _deletion_order(conn, {n: k for n, k in ledger_tables(conn, run_ids).items()
                                           if k is not None and n in counts})
            unattributed = owned_counts(conn, loose) if loose else {}
    except (psycopg.Error, LedgerError) as exc:
        return RemoveSeededData(env.name, {}, (), env.protected, url, False,
                                f"cannot read perfdash's ledger: {_message(exc, [url])}")
    rows = {name: counts[name] for name in order}
    if env.protected:
        return RemoveSeededData(env.name, rows, tuple(run_ids), True, url, False,
                                f"environment {env.name!r} is protected: perfdash never deletes "
                                "data there", unattributed)
    if not rows and not has_seed and not unattributed:
        return None
    if not rows:
        return RemoveSeededData(env.name, {}, tuple(run_ids), False, url, False,
                                f"nothing to delete: no rows seeded by perfdash in environment "
                                f"{env.name!r} remain in this database", unattributed)
    return RemoveSeededData(env.name, rows, tuple(run_ids), False, url,
                            unattributed=unattributed)


def _ledger_runs(conn: Conn, environment: str,
                 include_unattributed: bool = False) -> tuple[list[str], list[str]]:
    """(seed runs whose rows cleanup of `environment` may delete, seed runs left unattributed).

    A run counts as `environment`'s only when every ledger row of it names that environment; rows
    without an environment (a ledger from before perfdash recorded it) are unattributed, and join
    the first list only with `include_unattributed` and when perfdash.seed_runs does not name
    another environment for their run.
    """
    if not ledger_exists(conn):
        return [], []
    if not has_environment_column(conn):
        rows = conn.execute("SELECT DISTINCT run_id, NULL::text FROM perfdash.ledger").fetchall()
    else:
        rows = conn.execute(
            "SELECT run_id, CASE WHEN bool_and(environment IS NULL) THEN NULL "
            "WHEN bool_and(environment IS NOT DISTINCT FROM %s) THEN %s ELSE '' END "
            "FROM perfdash.ledger GROUP BY run_id", (environment, environment)).fetchall()
    seeded_by = {str(r[0]): str(r[1]) for r in
                 conn.execute("SELECT run_id, environment FROM perfdash.seed_runs").fetchall()}
    mine: list[str] = []
    loose: list[str] = []
    for run_id, env in sorted((str(r[0]), r[1]) for r in rows):
        if env == environment:
            mine.append(run_id)
        elif env is None:
            other = seeded_by.get(run_id, environment) != environment
            (mine if include_unattributed and not other else loose).append(run_id)
    return mine, loose


def _deletion_order(conn: Conn, tables: Mapping[str, TableKey]) -> list[str]:
    """Tables so that each comes before every table it references (children first).

    Only foreign keys among these tables matter: a reference to a table perfdash does not delete
    from cannot be broken. A cycle (rare, needs deferrable constraints) is broken by name.
    """
    by_oid = {k.oid: n for n, k in tables.items()}
    edges = conn.execute(
        "SELECT conrelid::oid, confrelid::oid FROM pg_constraint WHERE contype = 'f' "
        "AND conrelid = ANY(%(t)s) AND confrelid = ANY(%(t)s) AND conrelid <> confrelid",
        {"t": list(by_oid)},
    ).fetchall()
    referenced_by: dict[str, set[str]] = {n: set() for n in tables}
    for child, parent in edges:
        referenced_by[by_oid[int(parent)]].add(by_oid[int(child)])
    order: list[str] = []
    remaining = set(tables)
    while remaining:
        ready = sorted(n for n in remaining if not referenced_by[n] & remaining) or sorted(remaining)
        order.append(ready[0])
        remaining.discard(ready[0])
    return order


def _plan_backend(env: Environment, backend: StoppableProcess | None, cwd: Path, timeout_s: float,
                  url: Secret | None) -> StopBackend | None:
    secrets = tuple(env.secrets()) + ((url,) if url else ())
    if backend is not None:
        try:
            pid = backend.pid
        except RuntimeError:
            return StopBackend("pid", "not started", backend, cwd, timeout_s, secrets, False,
                               "the backend was never started, so there is nothing to stop")
        if not _group_members(pid):
            return StopBackend("pid", f"pid {pid}", backend, cwd, timeout_s, secrets, False,
                               f"the backend (pid {pid}) has already exited")
        return StopBackend("pid", f"pid {pid}", backend, cwd, timeout_s, secrets)
    if not env.stop_command:
        return None
    # The shell reports a missing program itself; guessing here would trip over builtins like `cd`.
    return StopBackend("stop_command", env.stop_command, None, cwd, timeout_s, secrets)


def compose_project(compose_file: Path) -> str:
    """The project name `docker compose -f FILE` uses: COMPOSE_PROJECT_NAME, `name:`, or the folder."""
    name = os.environ.get("COMPOSE_PROJECT_NAME", "")
    if not name:
        try:
            found = re.search(r"^name:\s*['\"]?([^'\"\s#]+)", compose_file.read_text(errors="replace"),
                              re.M)
        except OSError:
            found = None
        name = found.group(1) if found else compose_file.resolve().parent.name
    return re.sub(r"^[^a-z0-9]+", "", re.sub(r"[^a-z0-9_-]", "", name.lower()))


def _plan_compose(env: Environment, compose_file: Path, timeout_s: float) -> ComposeDown:
    project = compose_project(compose_file)
    argv = ("docker", "compose", "-f", str(compose_file), "down")

    def unavailable(reason: str, args: tuple[str, ...] = argv) -> ComposeDown:
        return ComposeDown(compose_file, project, args, timeout_s, False, reason)

    shown = " ".join(argv)
    if not compose_file.is_file():
        return unavailable(f"{compose_file} does not exist: cannot run `{shown}`; fix compose_file "
                           f"of [environments.{env.name}] in profiles.toml")
    docker, legacy = shutil.which("docker"), shutil.which("docker-compose")
    if docker is None and legacy is None:
        return unavailable(f"docker is not installed: cannot run `{shown}`")
    if docker is not None:
        engine = _probe([docker, "info", "--format", "{{.ServerVersion}}"], compose_file.parent)
        if engine is not None:
            return unavailable(f"the docker engine is not running ({engine}): cannot run `{shown}`; "
                               "start Docker, then run cleanup again")
        if _probe([docker, "compose", "version"], compose_file.parent) is None:
            return ComposeDown(compose_file, project, argv, timeout_s)
    if legacy is not None:
        return ComposeDown(compose_file, project,
                           ("docker-compose", "-f", str(compose_file), "down"), timeout_s)
    return unavailable(f"docker compose is not installed (no compose plugin, no docker-compose): "
                       f"cannot run `{shown}`; install the docker-compose-plugin package")


def _probe(argv: Sequence[str], cwd: Path) -> str | None:
    """None when the command succeeds, else the gist of why (its first stderr line)."""
    result = run_process("docker-probe", argv, cwd=cwd, env={}, timeout_s=_DOCKER_PROBE_S)
    if result.returncode == 0:
        return None
    if result.timed_out:
        return f"`{' '.join(argv[1:3])}` did not answer within {_DOCKER_PROBE_S:g} s"
    gist = result.error or result.stderr_tail.split(" | ")[0] or f"exit code {result.returncode}"
    return gist.removesuffix(" Is the docker daemon running?").rstrip(". ")


def _message(exc: BaseException, secrets: list[Secret]) -> str:
    if isinstance(exc, psycopg.Error) and exc.diag and exc.diag.message_primary:
        text = exc.diag.message_primary
    else:
        text = str(exc) or type(exc).__name__
    return scrub(text.strip().splitlines()[0], secrets).rstrip(".")


# ------------------------------------------------------------------------------------- execution


class _Refused(Exception):
    """Data removal stopped inside its transaction; the message is the user's sentence."""


def execute(plan: CleanupPlan, selected: set[str], *, confirmed: bool,
            progress: Callable[[str, str], None] | None = None) -> list[ActionResult]:
    """Carry out the selected actions of `plan`, in the plan's order, one result per action.

    Raises CleanupNotConfirmed unless `confirmed` is True: the caller must have shown
    `plan.describe()` and got a yes. `progress(action_name, text)` hears what is being done.
    """
    if not confirmed:
        raise CleanupNotConfirmed(
            "cleanup deletes data and stops services, so it needs a confirmation: show the plan and "
            "ask (perfdash cleanup asks, or takes --yes); nothing was removed."
        )
    say = progress or (lambda _name, _text: None)
    results = [ActionResult(name, False, f"there is no action {name!r} in this plan; choose from "
                            f"{', '.join(plan.names) or 'nothing'}")
               for name in sorted(selected - set(plan.names))]
    for action in plan.actions:
        if action.name not in selected:
            continue
        say(action.name, action.describe())
        try:
            if isinstance(action, RemoveSeededData):
                result = _remove_data(action, say)
            elif isinstance(action, StopBackend):
                result = _stop_backend(action)
            else:
                result = _compose_down(action)
        except Exception as exc:  # a sentence, never a traceback, whatever went wrong
            secrets = ([action.url] if isinstance(action, RemoveSeededData) and action.url else
                       list(action.secrets) if isinstance(action, StopBackend) else [])
            result = ActionResult(action.name, False,
                                  f"{action.name} failed unexpectedly: {_message(exc, secrets)}")
        say(action.name, result.detail)
        results.append(result)
    return results


def _remove_data(action: RemoveSeededData, say: Callable[[str, str], None]) -> ActionResult:
    def fail(text: str) -> ActionResult:
        return ActionResult(action.name, False, text)

    if action.protected:
        return fail(f"environment {action.environment!r} is protected: perfdash never deletes data "
                    "there; nothing was deleted")
    if not action.available or action.url is None:
        return fail(action.reason or "no database URL to clean")
    url = action.url
    try:
        with psycopg.connect(url.reveal(), connect_timeout=10) as conn:
            deleted = _delete_owned(conn, action, say)
    except _Refused as exc:
        return fail(str(exc))
    except psycopg.errors.ForeignKeyViolation as exc:
        return fail(_blocked_by_reference(exc))
    except psycopg.errors.LockNotAvailable:
        return fail(f"another session held a lock on a table to clean for over {_LOCK_TIMEOUT}; "
                    "nothing was deleted; run cleanup again when the load has stopped")
    except (psycopg.Error, LedgerError) as exc:
        return fail(f"deleting the seeded rows failed: {_message(exc, [url])}; nothing was deleted")
    if not any(deleted.values()):
        return ActionResult(action.name, True, "no seeded rows were left to delete; perfdash's "
                            "ledger entries for them are cleared")
    parts = [f"{rows_text(n)} from {t}" if i == 0 else f"{n} from {t}"
             for i, (t, n) in enumerate(deleted.items())]
    return ActionResult(action.name, True, "deleted " + ", ".join(parts) + " (seeded by perfdash)")


def _delete_owned(conn: Conn, action: RemoveSeededData,
                  say: Callable[[str, str], None]) -> dict[str, int]:
    """Delete the ledger's rows children first, check nothing else changed, forget them: one commit."""
    runs = list(action.run_ids)
    deleted: dict[str, int] = {}
    with conn.transaction():
        require_track_counts(conn)
        conn.execute("SELECT set_config('lock_timeout', %s, true)", (_LOCK_TIMEOUT,))
        # Deferrable references between seeded tables are then checked once, at commit.
        conn.execute("SET CONSTRAINTS ALL DEFERRED")
        present = {n: k for n, k in ledger_tables(conn, runs).items() if k is not None}
        before = transaction_writes(conn)
        for name in _deletion_order(conn, present):
            key = present[name]
            say(action.name, f"deleting seeded rows from {name}")
            cur = conn.execute(
                sql.SQL("DELETE FROM {} AS t USING perfdash.ledger AS l WHERE l.table_name = %s "
                        "AND l.run_id = ANY(%s) AND {}").format(key.identifier, key.match("t")),
                (name, runs),
            )
            deleted[name] = cur.rowcount
        ours = {present[n].oid: c for n, c in deleted.items()}
        _check_only_ours(conn, before, transaction_writes(conn), ours)
        forget_rows(conn, runs)
    return deleted


def _check_only_ours(conn: Conn, before: Mapping[int, tuple[int, int, int]],
                     after: Mapping[int, tuple[int, int, int]], ours: Mapping[int, int]) -> None:
    """Refuse when the deletes reached rows not in the ledger (cascades, SET NULL, triggers).

    Rows a trigger inserts (an audit log) are allowed: they destroy nothing of anyone's.
    """
    harm: list[str] = []
    for oid, counts in after.items():
        _, upd, dele = (a - b for a, b in zip(counts, before.get(oid, (0, 0, 0)), strict=True))
        name = qualified_name(conn, oid)
        if dele > ours.get(oid, 0):
            harm.append(f"delete {rows_text(dele - ours.get(oid, 0))} of {name}")
        if upd:
            harm.append(f"change {rows_text(upd)} of {name}")
    if harm:
        raise _Refused(
            f"deleting the seeded rows would also {' and '.join(harm)} that perfdash did not create "
            "(through an ON DELETE CASCADE or SET NULL foreign key, or a trigger); nothing was "
            "deleted; remove those rows' references to the seeded rows first, or keep the data"
        )


def _blocked_by_reference(exc: psycopg.errors.ForeignKeyViolation) -> str:
    diag = exc.diag
    table = ".".join(p for p in (diag.schema_name, diag.table_name) if p) or "another table"
    detail = (diag.message_detail or "").rstrip(".")
    return (f"rows in {table} that perfdash did not create still refer to seeded rows (constraint "
            f"{diag.constraint_name or '?'}{': ' + detail if detail else ''}); nothing was deleted; "
            "delete or re-point those rows, then run cleanup again")


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group: what "no orphans left" is checked against."""
    members: list[int] = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def _stop_backend(action: StopBackend) -> ActionResult:
    # The process check is repeated now: a backend that exited since planning is simply done.
    if action.how == "pid" and action.process is not None:
        try:
            return _stop_process(action.process)
        except RuntimeError as exc:  # a DemoBackend that was never started
            return ActionResult(action.name, False, f"cannot stop the backend: {exc}")
    if not action.available:
        return ActionResult(action.name, False, action.reason)
    command = action.detail
    result = run_process("stop-command", ["/bin/sh", "-c", command], cwd=action.cwd or Path.cwd(),
                         env={}, timeout_s=action.timeout_s, shown=command)
    if result.error:
        return ActionResult(action.name, False, f"cannot run `{command}`: {result.error}")
    if result.timed_out:
        return ActionResult(action.name, False, f"`{command}` did not finish within "
                            f"{action.timeout_s:g} s and was stopped; the backend may still run")
    if result.returncode != 0:
        tail = scrub(result.stderr_tail, list(action.secrets))
        return ActionResult(action.name, False, f"`{command}` exited with code {result.returncode}"
                            f"{': ' + tail if tail else ''}; the backend may still run")
    return ActionResult(action.name, True, f"ran `{command}` (exit 0 after {result.elapsed_s:.1f} s)")


def _stop_process(process: StoppableProcess) -> ActionResult:
    pid = process.pid
    if not _group_members(pid):
        return ActionResult(BACKEND, True, f"the backend (pid {pid}) had already exited")
    process.stop(5.0)
    deadline = time.monotonic() + 2.0
    while (left := _group_members(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    if left:
        # A member that left the leader's wait behind (a forked worker): it must not outlive us.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        time.sleep(0.2)
        if survivors := _group_members(pid):
            return ActionResult(BACKEND, False, f"the backend (pid {pid}) stopped but processes "
                                f"{', '.join(map(str, survivors))} of its group survived SIGKILL")
    return ActionResult(BACKEND, True, f"stopped the backend (pid {pid}) and its whole process group")


def _compose_down(action: ComposeDown) -> ActionResult:
    if not action.available:
        return ActionResult(action.name, False, action.reason)
    result = run_process("compose-down", action.argv, cwd=action.compose_file.parent, env={},
                         timeout_s=action.timeout_s, shown=action.shown)
    if result.error:
        return ActionResult(action.name, False, f"cannot run `{action.shown}`: {result.error}")
    if result.timed_out:
        return ActionResult(action.name, False, f"`{action.shown}` did not finish within "
                            f"{action.timeout_s:g} s and was stopped")
    if result.returncode != 0:
        if "Cannot connect to the Docker daemon" in result.stderr_tail:
            return ActionResult(action.name, False, f"the docker engine is not running: cannot run "
                                f"`{action.shown}`; start Docker, then run cleanup again")
        return ActionResult(action.name, False, f"`{action.shown}` exited with code "
                            f"{result.returncode}: {result.stderr_tail or 'no error output'}")
    return ActionResult(action.name, True, f"ran `{action.shown}`: compose project "
                        f"'{action.project}' is down")
