"""EXPLAIN over one session for the database report (perfdash.analyze.database): a normalised
statement from pg_stat_statements planned without running it, a table's columns and indexes, and
an advised index tried on the planner with HypoPG.

Apart from the report because this is the only part that talks to the database after the run, and
every way it can fail (no URL, unreachable, a statement PostgreSQL cannot plan from its normalised
text) must end as one sentence in the report, never as an exception.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

import psycopg

from perfdash.analyze.hypo import HypoChecker, Prepared, Verdict
from perfdash.analyze.index_shapes import normalised
from perfdash.analyze.plan_hints import IndexCandidate, ScanAdvice, TableIndexes, index_kinds, preparable
from perfdash.collect.dbstats import MARKER, DbStatsError, connect
from perfdash.secret import Secret

_PARAM = re.compile(r"\$(\d+)")
_LEADING_NOISE = re.compile(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/|\()*", re.S)
_READ_QUERY = re.compile(r"(?:select|with)\b", re.I)


@dataclass
class Explainer:
    """EXPLAINs normalised statements over one session, or says why it cannot."""

    conn: psycopg.Connection[tuple[Any, ...]] | None
    unavailable: str | None
    columns: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    indexes: dict[tuple[str, str], TableIndexes] = field(default_factory=dict)
    hypo: HypoChecker | None = None

    def __post_init__(self) -> None:
        if self.conn is not None:
            self.hypo = HypoChecker(self.conn)

    def plan(self, query: str) -> tuple[list[Any] | None, str | None]:
        if self.conn is None:
            return None, self.unavailable
        if not is_read_query(query):
            return None, "not explained: only SELECT and WITH statements get a plan"
        if ";" in query:
            return None, "not explained: the statement text contains ';'"
        statement = _prepared(query)
        text, args = statement.text, statement.args
        prepared = False
        try:
            with self.conn.transaction(force_rollback=True):
                self.conn.execute(f"/* {MARKER} */ SET TRANSACTION READ ONLY")
                # The normalised text has $n placeholders; a generic plan needs no values for them.
                self.conn.execute(f"/* {MARKER} */ SET LOCAL plan_cache_mode = force_generic_plan")
                try:
                    self.conn.execute(f"PREPARE perfdash_explain AS {text}")
                except psycopg.Error as exc:
                    return None, (
                        "not explained: PostgreSQL could not plan the normalised text "
                        f"({_gist(exc)})"
                    )
                prepared = True
                row = self.conn.execute(
                    f"EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE perfdash_explain{args}"
                ).fetchone()
        except psycopg.Error as exc:
            return None, f"not explained: EXPLAIN failed ({_gist(exc)})"
        finally:
            if prepared:  # PREPARE outlives the rollback
                self._quietly("DEALLOCATE perfdash_explain")
        if row is None or not isinstance(row[0], list):
            return None, "not explained: EXPLAIN returned no plan"
        return row[0], None

    def table_columns(self, schema: str, name: str) -> tuple[list[str], TableIndexes]:
        """Column names of a table and the columns that lead its indexes, by kind (cached)."""
        key = (schema, name)
        if key not in self.columns and self.conn is not None:
            try:
                cols = self.conn.execute(
                    f"SELECT /* {MARKER} */ a.attname FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 "
                    "AND NOT a.attisdropped ORDER BY a.attnum",
                    (schema, name),
                ).fetchall()
                relabelled = self.conn.execute(
                    f"SELECT /* {MARKER} */ a.attname FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 "
                    "AND NOT a.attisdropped AND a.atttypid = 'varchar'::regtype",
                    (schema, name),
                ).fetchall()
                # Every key of every btree index, expressions included, to tell which shapes exist.
                btree = self.conn.execute(
                    f"SELECT /* {MARKER} */ array(SELECT pg_get_indexdef(i.indexrelid, k, true) "
                    "FROM generate_series(1, i.indnkeyatts) k ORDER BY k) "
                    "FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "JOIN pg_class ic ON ic.oid = i.indexrelid "
                    "JOIN pg_am am ON am.oid = ic.relam "
                    "WHERE n.nspname = %s AND c.relname = %s AND am.amname = 'btree' "
                    "AND i.indpred IS NULL",
                    (schema, name),
                ).fetchall()
                # The collation decides whether a plain btree serves LIKE 'term%': only in C/POSIX.
                lead = self.conn.execute(
                    f"SELECT /* {MARKER} */ a.attname, am.amname, opc.opcname, "
                    "CASE WHEN coll.collname = 'default' THEN (SELECT datcollate FROM pg_database "
                    "WHERE datname = current_database()) ELSE coll.collname END "
                    "FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "JOIN pg_class ic ON ic.oid = i.indexrelid "
                    "JOIN pg_am am ON am.oid = ic.relam "
                    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                    "LEFT JOIN pg_opclass opc ON opc.oid = i.indclass[0] "
                    "LEFT JOIN pg_collation coll ON coll.oid = i.indcollation[0] "
                    "WHERE n.nspname = %s AND c.relname = %s",
                    (schema, name),
                ).fetchall()
            except psycopg.Error:
                cols, lead, relabelled, btree = [], [], [], []
            self.columns[key] = [str(r[0]) for r in cols]
            self.indexes[key] = dataclasses.replace(
                index_kinds(lead),
                btree_keys=frozenset(tuple(normalised(str(k)) for k in r[0]) for r in btree),
                relabelled=frozenset(str(r[0]) for r in relabelled),
            )
        return self.columns.get(key, []), self.indexes.get(key, TableIndexes())

    def verify(self, query: str, advice: ScanAdvice) -> tuple[IndexCandidate, Verdict] | None:
        """The candidate to advise and HypoPG's verdict on it: the verified one that costs least,
        else the first (with why it is not verified)."""
        if not advice.candidates or self.hypo is None:
            return None
        verdicts = self.hypo.verify(
            _prepared(query), [c.create_index for c in advice.candidates],
        )
        pairs = list(zip(advice.candidates, verdicts, strict=True))
        verified = [p for p in pairs if p[1].verified]
        if verified:
            return min(verified, key=lambda p: p[1].cost_after or 0.0)
        return pairs[0]

    def _quietly(self, statement: str) -> None:
        if self.conn is None:
            return
        with contextlib.suppress(psycopg.Error):
            self.conn.execute(statement)


def _prepared(query: str) -> Prepared:
    """The text to PREPARE and the NULL arguments its generic plan needs.

    PREPARE works on every version; PostgreSQL 16's EXPLAIN (GENERIC_PLAN) would save it but parses
    with the same grammar, so the typed-literal rewrite is needed either way.
    """
    nparams = max((int(n) for n in _PARAM.findall(query)), default=0)
    args = f"({', '.join(['NULL'] * nparams)})" if nparams else ""
    return Prepared(preparable(query), args)


def open_explainer(url: Secret | None, timeout_s: float) -> Explainer:
    if url is None:
        return Explainer(None, "no database URL was given when the report was built")
    try:
        return Explainer(connect(url, timeout_s), None)
    except DbStatsError as exc:
        return Explainer(None, f"the database was unreachable when the report was built: {exc}")


def is_read_query(query: str) -> bool:
    return _READ_QUERY.match(_LEADING_NOISE.sub("", query, count=1)) is not None


def _gist(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
