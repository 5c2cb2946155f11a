"""The seeded rows: which of them cleanup may delete (the ledger's, for this environment only), in
which order (children first), and deleting exactly those in one transaction that refuses when the
deletes would reach anyone else's rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

import psycopg
from psycopg import sql

from perfdash.data.cleanup_actions import ActionResult, RemoveSeededData, failure_message
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
from perfdash.secret import Secret
from perfdash.settings import Environment

_LOCK_TIMEOUT: Final = "10s"


def plan_seeded_data(env: Environment, url: Secret | None,
               include_unattributed: bool = False) -> RemoveSeededData | None:
    has_seed = env.seed_sql is not None or bool(env.seed_command)
    if url is None:
        if not has_seed:
            return None
        return RemoveSeededData(env.name, {}, (), env.protected, None, False,
                                f"environment {env.name!r} has no database URL, so perfdash cannot "
                                f"read its ledger; set {env.database_url_env} in .env.performance")
    try:
        with psycopg.connect(url.reveal(), connect_timeout=10, autocommit=True) as conn:
            run_ids, loose = _ledger_runs(conn, env.name, include_unattributed)
            counts = owned_counts(conn, run_ids)
            order = _deletion_order(conn, {n: k for n, k in ledger_tables(conn, run_ids).items()
                                           if k is not None and n in counts})
            unattributed = owned_counts(conn, loose) if loose else {}
    except (psycopg.Error, LedgerError) as exc:
        return RemoveSeededData(env.name, {}, (), env.protected, url, False,
                                f"cannot read perfdash's ledger: {failure_message(exc, [url])}")
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


class _Refused(Exception):
    """Data removal stopped inside its transaction; the message is the user's sentence."""


def remove_seeded_data(action: RemoveSeededData, say: Callable[[str, str], None]) -> ActionResult:
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
        return fail(f"deleting the seeded rows failed: {failure_message(exc, [url])}; nothing was deleted")
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
