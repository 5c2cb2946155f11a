"""Whether the planner would use an advised index, asked of PostgreSQL through HypoPG.

Advice read off a plan is a guess: an index may be too unselective to win, or rejected outright
(`date_trunc('day', timestamptz)` is not immutable, so no index can hold it). HypoPG's
`hypopg_create_index` adds an index to the planner's view of the table for this session only; the
generic plan of the statement is compared before and after, and the advice says "verified" only
when the plan uses the index and its cost drops.

Nothing may be left behind in the user's database. Every check runs in a transaction that is always
rolled back, hypothetical indexes are dropped (`hypopg_reset`) before it ends because they live in
the session's memory rather than in the catalog, and the prepared statement is deallocated. When the
server has HypoPG but the database does not, `CREATE EXTENSION hypopg` is tried inside that same
transaction, so the rollback removes it again (the transaction turns read-only right after it);
HypoPG is not a trusted extension, so this succeeds only for a superuser. Any other role gets
"not verified" with the reason and the fix, never a guess.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg import sql

from perfdash.collect.dbstats import MARKER

# Access methods HypoPG 1.3 can simulate; GIN and GiST (pg_trgm) are not among them.
_SIMULATED: Final = ("btree", "brin", "hash", "bloom")
# Contains "perfdash_explain", which pg_stat_statements readers skip as perfdash's own statement.
_STATEMENT: Final = "perfdash_explain_hypo"


@dataclass(frozen=True)
class Verdict:
    """What HypoPG said about one advised index."""

    verified: bool
    cost_before: float | None = None
    cost_after: float | None = None
    not_verified: str | None = None  # why not, and how to make it verifiable

    def text(self) -> str:
        if self.verified and self.cost_before is not None and self.cost_after is not None:
            return f"verified: cost {_cost(self.cost_before)} → {_cost(self.cost_after)}"
        return f"not verified: {self.not_verified or 'no check was made'}"


@dataclass(frozen=True)
class Prepared:
    """A normalised statement ready for PREPARE, and the EXECUTE arguments its generic plan needs."""

    text: str
    args: str  # `(NULL, NULL)`, or empty when it has no parameters


class HypoChecker:
    """Checks advised indexes over one perfdash session; finds out once whether HypoPG can run."""

    def __init__(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        self.conn = conn
        self._checked = False
        self._schema: str | None = None  # where the extension lives when the user created it
        self._create = False  # perfdash must create it inside each rolled-back transaction
        self._unavailable: str | None = None
        self._role = "this role"

    def verify(self, statement: Prepared, indexes: list[str]) -> list[Verdict]:
        """One verdict per CREATE INDEX statement, in order; never raises for a database error."""
        if not indexes:
            return []
        reason = self._availability()
        if reason is not None:
            return [Verdict(False, not_verified=reason) for _ in indexes]
        verdicts: list[Verdict] = []
        prepared = False
        try:
            with self.conn.transaction(force_rollback=True):
                schema = self._schema
                if self._create:
                    schema = self._create_extension()
                    if schema is None:
                        return [Verdict(False, not_verified=self._unavailable) for _ in indexes]
                self.conn.execute(f"/* {MARKER} */ SET TRANSACTION READ ONLY")
                self.conn.execute(f"/* {MARKER} */ SET LOCAL plan_cache_mode = force_generic_plan")
                prepared = True
                before, _ = self._generic_plan(statement)
                for index in indexes:
                    verdicts.append(self._one(statement, index, before, schema or "public"))
        except psycopg.Error as exc:
            reason = f"the check failed ({_gist(exc)}); run EXPLAIN with the index built on a copy"
            verdicts += [Verdict(False, not_verified=reason)] * (len(indexes) - len(verdicts))
        finally:
            if prepared:  # PREPARE outlives the rollback
                with contextlib.suppress(psycopg.Error):
                    self._deallocate()
        return verdicts

    def _one(self, statement: Prepared, index: str, before: float, schema: str) -> Verdict:
        method = _access_method(index)
        if method not in _SIMULATED:
            return Verdict(False, cost_before=before, not_verified=(
                f"HypoPG cannot simulate {method.upper()} indexes (only btree, brin and hash); build "
                "the index on a copy of the table and compare EXPLAIN"
            ))
        name = None
        try:
            with self.conn.transaction():  # a savepoint: a rejected index aborts only itself
                row = self.conn.execute(
                    sql.SQL("SELECT /* {} */ indexname FROM {}.hypopg_create_index(%s)").format(
                        sql.SQL(MARKER), sql.Identifier(schema),
                    ),
                    (index,),
                ).fetchone()
                name = None if row is None else str(row[0])
                after, used = self._generic_plan(statement, name)
        except psycopg.Error as exc:
            self._deallocate()  # PREPARE is not undone by the savepoint's rollback
            reason = f"PostgreSQL rejects this index ({_gist(exc)})"
            if "IMMUTABLE" in str(exc):  # timestamptz::date, date_trunc on timestamptz: time zone
                reason += (
                    "; the expression depends on a setting such as the time zone, so write the "
                    "condition as a range on the bare column (col >= $1 AND col < $2), which a "
                    "plain index on it serves"
                )
            return Verdict(False, cost_before=before, not_verified=reason)
        finally:
            # Hypothetical indexes live in session memory, not in the rolled-back catalog.
            self.conn.execute(
                sql.SQL("SELECT /* {} */ {}.hypopg_reset()").format(
                    sql.SQL(MARKER), sql.Identifier(schema),
                )
            )
        if not used:
            return Verdict(False, before, after, "the planner would not use it")
        if after >= before:
            return Verdict(False, before, after, (
                f"the planner would use it, but the cost would not drop ({_cost(before)} → "
                f"{_cost(after)})"
            ))
        return Verdict(True, before, after)

    def _generic_plan(self, statement: Prepared, index_name: str | None = None) -> tuple[float, bool]:
        """Total cost of the statement's generic plan, and whether it reads the named index.

        Prepared afresh each time: a cached generic plan would not see a new hypothetical index.
        """
        self.conn.execute(f"PREPARE {_STATEMENT} AS {statement.text}")
        row = self.conn.execute(
            f"EXPLAIN (FORMAT JSON) EXECUTE {_STATEMENT}{statement.args}"
        ).fetchone()
        self.conn.execute(f"DEALLOCATE {_STATEMENT}")
        if row is None or not isinstance(row[0], list) or not row[0]:
            raise psycopg.DataError("EXPLAIN returned no plan")
        top = row[0][0]["Plan"]
        used = index_name is not None and any(
            node.get("Index Name") == index_name for node in _nodes(top)
        )
        return float(top["Total Cost"]), used

    def _availability(self) -> str | None:
        """Why no check can run in this database, or None (cached for the session)."""
        if self._checked:
            return self._unavailable
        self._checked = True
        try:
            row = self.conn.execute(
                f"SELECT /* {MARKER} */ n.nspname FROM pg_extension e "
                "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'hypopg'"
            ).fetchone()
            if row is not None:
                self._schema = str(row[0])
                return None
            available = self.conn.execute(
                f"SELECT /* {MARKER} */ 1 FROM pg_available_extensions WHERE name = 'hypopg'"
            ).fetchone()
            facts = self.conn.execute(
                f"SELECT /* {MARKER} */ current_setting('server_version_num')::int / 10000, "
                "current_user"
            ).fetchone()
        except psycopg.Error as exc:
            self._unavailable = f"could not look for the hypopg extension ({_gist(exc)})"
            return self._unavailable
        major, role = facts if facts is not None else ("<major>", "this role")
        if available is None:
            self._unavailable = (
                "HypoPG is not installed on the database server; install it there "
                f"(Debian: apt-get install postgresql-{major}-hypopg), then run CREATE EXTENSION "
                "hypopg in this database"
            )
        else:  # tried in the rolled-back transaction: only that tells whether this role may
            self._create = True
            self._role = str(role)
        return self._unavailable

    def _create_extension(self) -> str | None:
        """Create HypoPG inside the caller's rolled-back transaction; its schema, or None."""
        try:
            with self.conn.transaction():
                self.conn.execute(f"/* {MARKER} */ CREATE EXTENSION hypopg")
            row = self.conn.execute(
                f"SELECT /* {MARKER} */ n.nspname FROM pg_extension e "
                "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'hypopg'"
            ).fetchone()
        except psycopg.Error as exc:
            self._create = False
            self._unavailable = (
                f"the hypopg extension is not created in this database and role {self._role} "
                f"cannot create it ({_gist(exc)}); run CREATE EXTENSION hypopg in this database "
                "as a superuser"
            )
            return None
        return None if row is None else str(row[0])

    def _deallocate(self) -> None:
        """Drop the prepared statement if it exists; safe inside a transaction that must go on."""
        row = self.conn.execute(
            f"SELECT /* {MARKER} */ 1 FROM pg_prepared_statements WHERE name = %s", (_STATEMENT,)
        ).fetchone()
        if row is not None:
            self.conn.execute(f"DEALLOCATE {_STATEMENT}")


def _access_method(index: str) -> str:
    words = index.split()
    upper = [w.upper() for w in words]
    return words[upper.index("USING") + 1].lower() if "USING" in upper else "btree"


def _nodes(top: dict[str, Any]) -> list[dict[str, Any]]:
    nodes, stack = [], [top]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    return nodes


def _cost(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _gist(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
