"""Seed an environment's test data so that perfdash knows, row by row, what it created.

The orchestrator calls `seed` before the load when the environment names `seed_sql` or
`seed_command`; preflight calls `seeded_rows` for its "test data seeded" check; `perfdash cleanup`
later deletes exactly the rows recorded here (`perfdash.data.cleanup`).

Ownership protocol
------------------
perfdash owns a row when, and only when, its primary key is in the ledger (`perfdash.ledger`, in the
target database). Keys get there in one of two ways.

`seed_sql = "path/to/seed.sql"`: perfdash runs the file itself.
  * The file is split into statements (quotes, dollar quotes and comments respected) and they run
    one by one in ONE transaction: either everything, ledger entries included, is committed, or
    nothing is.
  * `:scale` or `%(scale)s` anywhere outside a literal becomes a bound integer parameter with the
    scale (`seed_scale`, or the scale asked for); cast it where the type matters (`:scale::int`).
  * Every statement that inserts rows must be an `INSERT ... RETURNING <primary key>` of one table:
    perfdash records the returned keys under that table. The table and columns come from the server's
    description of the result (not from reading the SQL text), so quoted, schema-qualified or
    search_path names all work; RETURNING must give exactly the table's primary-key columns, in any
    order (a composite key is stored as a JSON object of its columns).
  * After each statement perfdash compares what it returned with what PostgreSQL counted for this
    transaction (pg_stat_xact_user_tables). A statement is refused, and nothing is committed, when it
    inserts without RETURNING the primary key, inserts into a second table (a trigger or a
    data-modifying WITH), inserts through anything but INSERT (a function, COPY, DO), returns a
    different number of keys than it inserted, updates or deletes existing rows, or truncates or drops
    a table: a seed only adds rows, and perfdash must know every one of them.
  * Statements that write no rows (SET, SELECT, CREATE TEMP TABLE ...) run unchecked. Since
    everything is one transaction, a statement finds the rows earlier statements created with
    `WHERE t.xmin = pg_current_xact_id()::xid` (perfdash/demo/seed.sql does).

`seed_command = "..."`: perfdash runs a shell command (in its own process group, with a timeout) with
`PERF_DATABASE_URL`, `PERF_SEED_SCALE` and `PERF_RUN_ID` in its environment. The command writes one
JSON line per row it created to stdout: `{"table": "public.orders", "pk": 42}`; a composite key is a
list in key order or an object by column (`"pk": {"order_id": 7, "line": 2}`). Stdout lines that do
not start with `{` are taken as log output. perfdash cannot roll back what the command committed, so it
records every valid line it got, also when the command fails, and then reports the failure.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psycopg
from psycopg.pq.abc import PGresult

from perfdash.data.ledger import (
    Conn,
    LedgerError,
    TableKey,
    ensure_ledger,
    owned_counts,
    qualified_name,
    record_rows,
    record_run,
    require_track_counts,
    resolve_table,
    rows_text,
    table_key,
    transaction_writes,
)
from perfdash.data.sqlfile import Statement, split_statements
from perfdash.proc.command import run_process
from perfdash.secret import Secret, scrub
from perfdash.settings import Environment

SEED_TIMEOUT_S: Final = 600.0

_REFUSED_TAGS: Final = ("TRUNCATE", "DROP TABLE")
# A file's own BEGIN or COMMIT would end the one transaction that makes a refusal undo everything.
_TRANSACTION_CONTROL: Final = frozenset({"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT",
                                         "SAVEPOINT", "RELEASE"})



class SeedError(Exception):
    """Seeding was refused or failed; one sentence that says what was (not) kept and the fix."""


@dataclass(frozen=True)
class SeedResult:
    rows_by_table: dict[str, int]
    elapsed_s: float
    run_id: str = ""
    scale: int = 0


# ---------------------------------------------------------------------------------- seed_sql


def _returned_columns(conn: Conn, result: PGresult) -> list[tuple[int | None, str | None]]:
    """For each result column, the (root) table and column it comes from, or (None, None)."""
    out: list[tuple[int | None, str | None]] = []
    for i in range(result.nfields):
        table, col = int(result.ftable(i)), int(result.ftablecol(i))
        row = conn.execute(
            "SELECT coalesce(pg_partition_root(a.attrelid::regclass), a.attrelid::regclass)::oid, "
            "a.attname FROM pg_attribute a WHERE a.attrelid = %s AND a.attnum = %s AND %s > 0",
            (table, col, col),
        ).fetchone()
        out.append((int(row[0]), str(row[1])) if row else (None, None))
    return out


def _run_statement(conn: Conn, run_id: str, stmt: Statement, scale: int, where: str,
                   rows: dict[str, int], environment: str) -> None:
    first_word = stmt.text.split(None, 1)[0].rstrip(";").upper()
    if first_word in _TRANSACTION_CONTROL:
        raise SeedError(f"{where} controls the transaction itself; perfdash runs the whole file as "
                        f"one transaction, so remove the {first_word}; nothing was committed.")
    before = transaction_writes(conn)
    cur = conn.cursor()
    try:
        if stmt.uses_scale:
            cur.execute(stmt.query, {"scale": scale}, binary=False)
        else:
            cur.execute(stmt.query, binary=False)
    except psycopg.Error as exc:
        raise SeedError(f"{where} failed: {_pg_message(exc)}; nothing was committed.") from None
    tag = cur.statusmessage or ""
    if tag.startswith(_REFUSED_TAGS):
        raise SeedError(f"{where} is a {tag}; a seed only adds rows, so perfdash "
                        "refuses it and nothing was committed.")
    after = transaction_writes(conn)
    delta = {oid: tuple(a - b for a, b in zip(counts, before.get(oid, (0, 0, 0)), strict=True))
             for oid, counts in after.items()}
    for oid, (_, upd, dele) in delta.items():
        if upd or dele:
            raise SeedError(
                f"{where} changed existing rows of {qualified_name(conn, oid)} ({upd} updated, "
                f"{dele} deleted); a seed only adds rows, since cleanup could not undo a change, so nothing "
                "was committed."
            )
    inserted = {oid: ins for oid, (ins, _, _) in delta.items() if ins}
    if not inserted:
        return
    names = ", ".join(f"{rows_text(n)} into {qualified_name(conn, o)}" for o, n in inserted.items())
    if len(inserted) > 1:
        raise SeedError(f"{where} inserted {names} (through a trigger or a data-modifying WITH); "
                        "insert into one table per statement with RETURNING its primary key, so "
                        "perfdash knows every row it owns; nothing was committed.")
    oid, count = next(iter(inserted.items()))
    key = table_key(conn, oid)
    if key is None:
        raise SeedError(f"{where} inserted {names}, which has no primary key, so perfdash could not "
                        "tell its rows apart later; add a primary key; nothing was committed.")
    pk = ", ".join(c.name for c in key.columns)
    if not tag.startswith("INSERT"):
        raise SeedError(f"{where} inserted {names} through a {tag.split(' ')[0] or 'statement'}; "
                        f"write it as INSERT ... RETURNING {pk}; nothing was committed.")
    result = cur.pgresult
    if cur.description is None or result is None:
        raise SeedError(f"{where} inserted {names} without RETURNING its primary key, so perfdash "
                        f"would not know which rows it owns; end it with RETURNING {pk}; nothing "
                        "was committed.")
    returned = _returned_columns(conn, result)
    position = {name: i for i, (table, name) in enumerate(returned) if table == oid}
    if len(returned) != len(key.columns) or set(position) != {c.name for c in key.columns}:
        shown = ", ".join(d.name for d in cur.description)
        raise SeedError(f"{where} returns ({shown}) rather than exactly the primary key of "
                        f"{key.qualified}; write RETURNING {pk}; nothing was committed.")
    if result.ntuples != count:
        raise SeedError(f"{where} returned {result.ntuples} keys but inserted {rows_text(count)} into "
                        f"{key.qualified}; nothing was committed.")
    keys = [{c.name: bytes(result.get_value(r, position[c.name]) or b"").decode()
             for c in key.columns} for r in range(result.ntuples)]
    record_rows(conn, run_id, key, keys, environment)
    rows[key.qualified] = rows.get(key.qualified, 0) + count


def _seed_sql(url: Secret, run_id: str, env: Environment, path: Path, scale: int,
              timeout_s: float) -> dict[str, int]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"cannot read seed_sql {path} ({exc.strerror}); fix seed_sql of "
                        f"[environments.{env.name}] in profiles.toml.") from None
    statements = split_statements(text)
    if not statements:
        raise SeedError(f"{path} holds no SQL statements; add INSERT ... RETURNING statements or "
                        f"remove seed_sql from [environments.{env.name}].")
    rows: dict[str, int] = {}
    try:
        with _connect(url) as conn, conn.transaction():
            require_track_counts(conn)
            conn.execute("SELECT set_config('statement_timeout', %s, true)",
                         (f"{int(timeout_s * 1000)}ms",))
            ensure_ledger(conn)
            for number, stmt in enumerate(statements, 1):
                where = f"{path.name} statement {number} (line {stmt.line}: {stmt.preview})"
                _run_statement(conn, run_id, stmt, scale, where, rows, env.name)
            record_run(conn, run_id, env.name, rows)
    except psycopg.Error as exc:
        raise SeedError(f"seeding from {path.name} failed: {scrub(_pg_message(exc), [url])}; "
                        "nothing was committed.") from None
    return rows


# ------------------------------------------------------------------------------ seed_command


def _pk_text(value: object) -> str | None:
    """A JSON key value as PostgreSQL text; None for values no key column can hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def _key_of(key: TableKey, pk: object) -> dict[str, str] | None:
    names = [c.name for c in key.columns]
    if isinstance(pk, dict):
        values = pk if set(pk) == set(names) else None
    elif isinstance(pk, list):
        values = dict(zip(names, pk, strict=True)) if len(pk) == len(names) else None
    else:
        values = {names[0]: pk} if len(names) == 1 else None
    if values is None:
        return None
    texts = {name: _pk_text(values[name]) for name in names}
    return None if any(v is None for v in texts.values()) else {k: str(v) for k, v in texts.items()}


def _record_reported(conn: Conn, run_id: str, stdout: str, environment: str) -> list[str]:
    """Record every valid `{"table", "pk"}` line; return a description of each line that was not."""
    tables: dict[str, TableKey | None] = {}
    keys: dict[str, tuple[TableKey, list[dict[str, str]]]] = {}
    bad: list[str] = []
    for number, raw in enumerate(stdout.splitlines(), 1):
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad.append(f"line {number} is not valid JSON")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("table"), str) \
                or "pk" not in record:
            bad.append(f'line {number} is not {{"table": ..., "pk": ...}}')
            continue
        name = record["table"]
        if name not in tables:
            tables[name] = resolve_table(conn, name)
        key = tables[name]
        if key is None:
            bad.append(f"line {number}: table {name} does not exist or has no primary key")
            continue
        pk = _key_of(key, record["pk"])
        if pk is None:
            columns = ", ".join(c.name for c in key.columns)
            bad.append(f"line {number}: pk {json.dumps(record['pk'])} does not match the primary "
                       f"key ({columns}) of {key.qualified}")
            continue
        keys.setdefault(key.qualified, (key, []))[1].append(pk)
    for key, found in keys.values():
        try:
            with conn.transaction():
                record_rows(conn, run_id, key, found, environment)
        except psycopg.errors.DataError:
            # One key the column cannot hold: keep every other one, name the ones that failed.
            for pk in found:
                try:
                    with conn.transaction():
                        record_rows(conn, run_id, key, [pk], environment)
                except psycopg.errors.DataError as exc:
                    bad.append(f"pk {json.dumps(pk)} does not fit the primary key of "
                               f"{key.qualified}: {_pg_message(exc)}")
    return bad


def _seed_command(url: Secret, run_id: str, env: Environment, command: str, scale: int, cwd: Path,
                  out_dir: Path | None, timeout_s: float) -> dict[str, int]:
    # The ledger first: a ledger this role cannot write must stop us before the command creates rows
    # nobody could clean up.
    try:
        with _connect(url) as conn, conn.transaction():
            ensure_ledger(conn)
    except psycopg.Error as exc:
        raise SeedError(f"cannot prepare perfdash's ledger: {scrub(_pg_message(exc), [url])}; "
                        "nothing was seeded.") from None
    result = run_process(
        "seed-command", ["/bin/sh", "-c", command], cwd=cwd, timeout_s=timeout_s, out_dir=out_dir,
        env={"PERF_DATABASE_URL": url.reveal(), "PERF_SEED_SCALE": str(scale), "PERF_RUN_ID": run_id},
        shown=command, secrets=[url],
    )
    try:
        with _connect(url) as conn, conn.transaction():
            ensure_ledger(conn)
            bad = _record_reported(conn, run_id, result.stdout, env.name)
            rows = owned_counts(conn, [run_id])
            record_run(conn, run_id, env.name, rows)
    except (psycopg.Error, LedgerError, SeedError) as exc:
        message = scrub(_pg_message(exc) if isinstance(exc, psycopg.Error) else str(exc), [url])
        raise SeedError(f"seed command `{command}` ran (exit code {result.returncode}) but perfdash "
                        f"could not record the rows it reported: {message.rstrip('.')}; they are "
                        "not in the ledger, so cleanup will not remove them.") from None
    kept = (f"the ledger holds the {rows_text(sum(rows.values()))} it reported, so `perfdash "
            f"cleanup --env {env.name}` can remove them")
    secrets = [url]
    if result.error:
        raise SeedError(f"cannot start seed command `{command}`: {result.error}; fix seed_command of "
                        f"[environments.{env.name}] in profiles.toml.")
    if result.timed_out:
        raise SeedError(f"seed command `{command}` did not finish within {timeout_s:g} s and was "
                        f"stopped; {kept}.")
    if result.returncode != 0:
        tail = f" ({scrub(result.stderr_tail, secrets)})" if result.stderr_tail else ""
        raise SeedError(f"seed command `{command}` exited with code {result.returncode}{tail}; "
                        f"{kept}.")
    if bad:
        raise SeedError(f"seed command `{command}` printed {len(bad)} records perfdash could not "
                        f"use ({'; '.join(bad[:3])}); {kept}; print one line "
                        '{"table": "schema.table", "pk": <key>} per row it creates.')
    if not rows and scale > 0:
        raise SeedError(f"seed command `{command}` reported no rows on stdout, so perfdash could not "
                        'clean them up; print one line {"table": "schema.table", "pk": <key>} per '
                        "row it creates.")
    return rows


# ------------------------------------------------------------------------------------- public


def _connect(url: Secret) -> Conn:
    try:
        return psycopg.connect(url.reveal(), connect_timeout=10)
    except psycopg.Error as exc:
        raise SeedError(f"cannot connect to the database: {scrub(_pg_message(exc), [url])}; check "
                        "the database URL and that PostgreSQL is running.") from None


def _pg_message(exc: psycopg.Error) -> str:
    primary = exc.diag.message_primary if exc.diag else None
    return (primary or str(exc) or type(exc).__name__).strip().splitlines()[0]


def seed(url: Secret, run_id: str, env: Environment, *, scale: int | None = None,
         cwd: Path | None = None, out_dir: Path | None = None,
         timeout_s: float = SEED_TIMEOUT_S) -> SeedResult:
    """Create the environment's test data and record every row of it in the ledger.

    For `seed_sql`, every statement that inserts must be `INSERT ... RETURNING <primary key>` of one
    table, `:scale` is the scale, and the file runs as one transaction; for `seed_command`, the
    command prints `{"table": ..., "pk": ...}` per row it creates (the module docstring has the full
    protocol). `scale` overrides the environment's `seed_scale`; `cwd` is where `seed_command` runs (the
    project directory); `out_dir` keeps the command's stdout and stderr (the run directory). Raises
    SeedError with one sentence; for `seed_sql` that always means nothing was committed.
    """
    n = env.seed_scale if scale is None else scale
    if n < 0:
        raise SeedError(f"the seed scale must be 0 or more, not {n}.")
    started = time.monotonic()
    try:
        if env.seed_sql is not None:
            rows = _seed_sql(url, run_id, env, env.seed_sql, n, timeout_s)
        elif env.seed_command:
            where = env.working_dir or cwd or Path.cwd()
            rows = _seed_command(url, run_id, env, env.seed_command, n, where, out_dir,
                                 timeout_s)
        else:
            raise SeedError(f"environment {env.name!r} names no seed step; set seed_sql or "
                            f"seed_command in [environments.{env.name}] of profiles.toml.")
    except LedgerError as exc:
        raise SeedError(f"{str(exc).rstrip('.')}; nothing was seeded.") from None
    return SeedResult(rows, time.monotonic() - started, run_id, n)


def seeded_rows(url: Secret) -> dict[str, int]:
    """Rows perfdash seeded that are still present, per table; {} when nothing was ever seeded.

    Read-only: it never creates the ledger, so preflight can call it on any database.
    """
    try:
        with psycopg.connect(url.reveal(), connect_timeout=10, autocommit=True) as conn:
            return owned_counts(conn)
    except psycopg.Error as exc:
        raise LedgerError(f"cannot read perfdash's ledger: {scrub(_pg_message(exc), [url])}; check "
                          "the database URL and that this role may read schema perfdash.") from None
