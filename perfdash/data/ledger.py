"""perfdash's ledger of the rows it created: a `perfdash` schema inside the target database itself.

`perfdash.data.seed` records every row a seed step creates here, in the same transaction as the rows;
`perfdash.data.cleanup` reads it to show what would be removed and deletes exactly those rows; the
preflight check "test data seeded" counts what is still present. Keeping the ledger next to the data
means it commits and rolls back with the data: there is never a ledger entry for a row that was not
created, nor a created row without its entry.

Keys are stored as a JSON object of the primary-key columns' text values (`{"id": "42"}`,
`{"order_id": "7", "line": "2"}`) and compared after casting back to each column's type, so any key
type round-trips exactly and lookups use the table's primary-key index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

SCHEMA: Final = "perfdash"

Conn = psycopg.Connection[TupleRow]

# Any constant works; it only has to be the same for every perfdash creating the ledger.
_LEDGER_LOCK_KEY: Final = 0x7065726C

_CREATE_TABLES: Final = """
CREATE TABLE IF NOT EXISTS perfdash.seed_runs (
    run_id       text PRIMARY KEY,
    environment  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    rows         jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS perfdash.ledger (
    run_id      text NOT NULL,
    table_name  text NOT NULL,
    pk          jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    environment text,
    PRIMARY KEY (table_name, pk)
);
CREATE INDEX IF NOT EXISTS ledger_run_id ON perfdash.ledger (run_id);
"""

# Primary-key columns in index order, with the type each text value must be cast back to.
_PK_COLUMNS: Final = """
SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_index i
JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s AND i.indisprimary
ORDER BY k.ord
"""

# What the current transaction has written so far, per table (partitions counted under their root).
# Seeding and cleanup compare it with what they meant to write; the ledger's own schema and
# temporary tables are not the target's data.
_TRANSACTION_WRITES: Final = """
SELECT coalesce(pg_partition_root(s.relid::regclass), s.relid::regclass)::oid,
       sum(s.n_tup_ins)::bigint, sum(s.n_tup_upd)::bigint, sum(s.n_tup_del)::bigint
FROM pg_stat_xact_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid
WHERE s.schemaname <> 'perfdash' AND c.relpersistence <> 't'
  AND s.n_tup_ins + s.n_tup_upd + s.n_tup_del > 0
GROUP BY 1
"""


class LedgerError(Exception):
    """The ledger cannot be created or read; the message is one sentence with the fix."""


@dataclass(frozen=True)
class KeyColumn:
    attnum: int
    name: str
    type: str  # as format_type() spells it, safe to splice into a cast


@dataclass(frozen=True)
class TableKey:
    """A table perfdash may own rows in: its OID, display name and primary-key columns."""

    oid: int
    schema: str
    table: str
    qualified: str  # `public.orders`, quoted as %I would: how the ledger and messages name it
    columns: tuple[KeyColumn, ...]

    @property
    def identifier(self) -> sql.Composable:
        return sql.Identifier(self.schema, self.table)

    def casts(self, value: sql.Composable) -> sql.Composable:
        """`((v->>'id')::integer, ...)`: fails on a key value the column could never hold."""
        return sql.SQL("({})").format(sql.SQL(", ").join(
            sql.SQL("({} ->> {})::{}").format(value, sql.Literal(c.name), sql.SQL(c.type))
            for c in self.columns
        ))

    def match(self, row: str, ledger: str = "l") -> sql.Composable:
        """`t.id = (l.pk->>'id')::integer AND ...`: a ledger entry equals a row of this table."""
        return sql.SQL(" AND ").join(
            sql.SQL("{} = ({} ->> {})::{}").format(
                sql.Identifier(row, c.name), sql.Identifier(ledger, "pk"), sql.Literal(c.name),
                sql.SQL(c.type),
            )
            for c in self.columns
        )


@dataclass(frozen=True)
class SeedRun:
    run_id: str
    environment: str
    created_at: datetime
    rows_by_table: dict[str, int]


def ledger_exists(conn: Conn) -> bool:
    row = conn.execute(
        "SELECT to_regclass('perfdash.ledger') IS NOT NULL AND to_regclass('perfdash.seed_runs') "
        "IS NOT NULL"
    ).fetchone()
    return bool(row and row[0])


def ensure_ledger(conn: Conn) -> None:
    """Create the schema and its tables when missing, inside the caller's transaction.

    Existence is checked first because PostgreSQL checks the CREATE privilege before IF NOT EXISTS:
    a role that may not create schemas can still use a ledger its DBA created once.
    """
    if ledger_exists(conn):
        _migrate(conn)
        return
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LEDGER_LOCK_KEY,))
            if not _scalar(conn, "SELECT to_regnamespace('perfdash') IS NOT NULL"):
                conn.execute("CREATE SCHEMA perfdash")
                conn.execute("COMMENT ON SCHEMA perfdash IS 'Rows perfdash created for performance "
                             "tests; perfdash cleanup deletes exactly these.'")
            conn.execute(_CREATE_TABLES)
    except psycopg.errors.InsufficientPrivilege:
        db, role = conn.execute(
            "SELECT quote_ident(current_database()), quote_ident(current_user)"
        ).fetchone() or ("?", "?")
        raise LedgerError(
            f"role {role} may not create perfdash's ledger (schema {SCHEMA}) in database {db}; "
            f"as the database owner run `GRANT CREATE ON DATABASE {db} TO {role};` "
            f"or create it once with `CREATE SCHEMA {SCHEMA} AUTHORIZATION {role};`."
        ) from None


def has_environment_column(conn: Conn) -> bool:
    """Whether the ledger records which environment seeded each row (ledgers made before that
    have no such column until perfdash next seeds into them)."""
    return bool(_scalar(conn, "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
                              "to_regclass('perfdash.ledger') AND attname = 'environment' "
                              "AND NOT attisdropped)"))


def _migrate(conn: Conn) -> None:
    """Bring an existing ledger up to date: the `environment` column (NULL for rows recorded
    before it existed: seeded by an environment perfdash no longer knows)."""
    if has_environment_column(conn):
        return
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LEDGER_LOCK_KEY,))
            conn.execute("ALTER TABLE perfdash.ledger ADD COLUMN IF NOT EXISTS environment text")
    except psycopg.errors.InsufficientPrivilege:
        role = _scalar(conn, "SELECT quote_ident(current_user)") or "?"
        raise LedgerError(
            f"perfdash's ledger needs a new column and role {role} may not add it; as the owner of "
            "perfdash.ledger run `ALTER TABLE perfdash.ledger ADD COLUMN environment text;`."
        ) from None


def _scalar(conn: Conn, query: str | sql.Composed,
            params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def table_key(conn: Conn, oid: int) -> TableKey | None:
    """The table's name and primary key, or None when it has no primary key."""
    row = conn.execute(
        "SELECT n.nspname, c.relname, format('%%I.%%I', n.nspname, c.relname) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s", (oid,)
    ).fetchone()
    if row is None:
        return None
    cols = tuple(KeyColumn(int(a), str(n), str(t))
                 for a, n, t in conn.execute(_PK_COLUMNS, (oid,)).fetchall())
    if not cols:
        return None
    return TableKey(oid, str(row[0]), str(row[1]), str(row[2]), cols)


def resolve_table(conn: Conn, name: str) -> TableKey | None:
    """A table by the name a user or the ledger wrote (`orders`, `public.orders`), or None."""
    oid = _scalar(conn, "SELECT to_regclass(%s)::oid", (name,))
    return table_key(conn, int(oid)) if oid is not None else None


def record_rows(conn: Conn, run_id: str, table: TableKey, keys: Iterable[Mapping[str, str]],
                environment: str | None = None) -> int:
    """Add keys to the ledger under `run_id` and the environment that seeded them; a key already
    there now belongs to this run (and its environment).

    Every value is cast to its column's type first, so a key that could never match (a command
    reporting "4.0" for an integer) fails here, with psycopg.errors.DataError, and not at cleanup.
    """
    payload = list(dict.fromkeys(json.dumps(dict(k), sort_keys=True) for k in keys))
    if not payload:
        return 0
    conn.execute(
        sql.SQL("SELECT count(*) FROM unnest(%s::text[]) AS k(v) WHERE {} IS NOT NULL").format(
            table.casts(sql.SQL("v::jsonb"))),
        (payload,),
    )
    cur = conn.execute(
        "INSERT INTO perfdash.ledger (run_id, table_name, pk, environment) "
        "SELECT %s, %s, k::jsonb, %s FROM unnest(%s::text[]) AS k "
        "ON CONFLICT (table_name, pk) DO UPDATE SET run_id = excluded.run_id, created_at = now(), "
        "environment = excluded.environment",
        (run_id, table.qualified, environment, payload),
    )
    return cur.rowcount


def rows_text(n: int) -> str:
    """`1 row`, `2 rows`: every message about rows reads naturally."""
    return f"{n} row" if n == 1 else f"{n} rows"


def qualified_name(conn: Conn, oid: int) -> str:
    """`public.orders` for a table OID, as the ledger and every message spell it."""
    row = conn.execute(
        "SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s", (oid,)
    ).fetchone()
    return str(row[0]) if row else f"table {oid}"


def record_run(conn: Conn, run_id: str, environment: str, rows_by_table: Mapping[str, int]) -> None:
    conn.execute(
        "INSERT INTO perfdash.seed_runs (run_id, environment, rows) VALUES (%s, %s, %s::jsonb) "
        "ON CONFLICT (run_id) DO UPDATE SET rows = excluded.rows",
        (run_id, environment, json.dumps(dict(rows_by_table))),
    )


def ledger_tables(conn: Conn, run_ids: Sequence[str] | None = None) -> dict[str, TableKey | None]:
    """Every table name the ledger mentions, resolved now (None: dropped or lost its primary key)."""
    if not ledger_exists(conn):
        return {}
    names = [r[0] for r in conn.execute(
        "SELECT DISTINCT table_name FROM perfdash.ledger "
        "WHERE %(runs)s::text[] IS NULL OR run_id = ANY(%(runs)s::text[]) ORDER BY 1",
        {"runs": list(run_ids) if run_ids is not None else None},
    ).fetchall()]
    return {str(n): resolve_table(conn, str(n)) for n in names}


def owned_counts(conn: Conn, run_ids: Sequence[str] | None = None) -> dict[str, int]:
    """Rows per table that the ledger lists and that still exist (others may have deleted some)."""
    counts: dict[str, int] = {}
    runs = list(run_ids) if run_ids is not None else None
    for name, key in ledger_tables(conn, run_ids).items():
        if key is None:
            continue
        query = sql.SQL(
            "SELECT count(*) FROM perfdash.ledger AS l WHERE l.table_name = %(t)s "
            "AND (%(runs)s::text[] IS NULL OR l.run_id = ANY(%(runs)s::text[])) "
            "AND EXISTS (SELECT 1 FROM {} AS t WHERE {})"
        ).format(key.identifier, key.match("t"))
        n = int(_scalar(conn, query, {"t": name, "runs": runs}) or 0)
        if n:
            counts[name] = n
    return counts


def list_runs(conn: Conn) -> list[SeedRun]:
    """Seed runs that still have ledger entries, oldest first, with the rows each created."""
    if not ledger_exists(conn):
        return []
    rows = conn.execute(
        "SELECT r.run_id, r.environment, r.created_at, r.rows FROM perfdash.seed_runs r "
        "WHERE EXISTS (SELECT 1 FROM perfdash.ledger l WHERE l.run_id = r.run_id) "
        "ORDER BY r.created_at, r.run_id"
    ).fetchall()
    return [SeedRun(str(r[0]), str(r[1]), r[2], {str(k): int(v) for k, v in dict(r[3]).items()})
            for r in rows]


def forget_rows(conn: Conn, run_ids: Sequence[str] | None = None,
                tables: Sequence[str] | None = None) -> int:
    """Drop ledger entries (after their rows were deleted, or to disown rows on purpose).

    A seed run without entries left is forgotten too, so `list_runs` shows only what remains.
    """
    if not ledger_exists(conn):
        return 0
    params = {"runs": list(run_ids) if run_ids is not None else None,
              "tables": list(tables) if tables is not None else None}
    cur = conn.execute(
        "DELETE FROM perfdash.ledger WHERE "
        "(%(runs)s::text[] IS NULL OR run_id = ANY(%(runs)s::text[])) AND "
        "(%(tables)s::text[] IS NULL OR table_name = ANY(%(tables)s::text[]))",
        params,
    )
    conn.execute("DELETE FROM perfdash.seed_runs r WHERE NOT EXISTS "
                 "(SELECT 1 FROM perfdash.ledger l WHERE l.run_id = r.run_id)")
    return cur.rowcount


def transaction_writes(conn: Conn) -> dict[int, tuple[int, int, int]]:
    """(inserted, updated, deleted) rows per table OID so far in this transaction.

    PostgreSQL counts every row a statement touches, also through triggers, cascades and functions,
    so comparing two snapshots tells exactly what a statement did beyond what it reported.
    """
    return {int(r[0]): (int(r[1]), int(r[2]), int(r[3]))
            for r in conn.execute(_TRANSACTION_WRITES).fetchall()}


def require_track_counts(conn: Conn) -> None:
    """`transaction_writes` is all zeros when track_counts is off: refuse rather than trust it."""
    row = conn.execute("SELECT current_setting('track_counts')").fetchone()
    if not row or row[0] != "on":
        raise LedgerError("track_counts is off in this database, so perfdash cannot check which rows "
                          "a statement touched; turn it on (ALTER SYSTEM SET track_counts = on, then "
                          "SELECT pg_reload_conf()).")
