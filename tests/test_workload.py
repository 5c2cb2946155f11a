"""The database workload of a run: same-text statements merged, every ranking kept, utility
statements marked so no rule blames them."""

from __future__ import annotations

from dataclasses import dataclass

from perfdash.analyze.workload import kind_of, workload


@dataclass(frozen=True)
class Stmt:
    queryid: str
    query: str
    calls: int
    total_ms: float
    rows: int
    shared_blks_hit: int = 0
    shared_blks_read: int = 0
    temp_blks_written: int = 0


LOOKUP = "SELECT id, sku FROM items WHERE id = $1"


def test_same_text_statements_are_merged_and_say_so() -> None:
    w = workload([
        Stmt("1", LOOKUP, 30_000, 900.0, 30_000),
        Stmt("2", "SELECT id, sku\n  FROM items WHERE id = $1", 6_600, 200.0, 6_600),
        Stmt("3", "SELECT * FROM accounts WHERE id = $1 FOR UPDATE", 1_000, 50_000.0, 1_000),
        Stmt("4", "COMMIT", 2_000, 40.0, 0),
    ])
    first = w["statements"][0]
    assert first["query"].endswith("FOR UPDATE")
    assert first["rank"] == {"total": 1, "calls": 3, "mean": 1}
    lookup = next(s for s in w["statements"] if s["query"] == LOOKUP)
    assert lookup["calls"] == 36_600
    assert lookup["queryids"] == ["1", "2"]
    assert lookup["merged"] == "2 queryids, parameters typed differently"
    assert lookup["rank"]["calls"] == 1
    assert w["calls"] == 39_600


def test_utility_and_foreign_key_checks_are_marked() -> None:
    assert kind_of("BEGIN") == "utility"
    assert kind_of("  set application_name = $1") == "utility"
    assert kind_of('SELECT 1 FROM ONLY "public"."accounts" x WHERE "id" OPERATOR(pg_catalog.=) $1 '
                   "FOR KEY SHARE OF x") == "fk-check"
    assert kind_of('SELECT $2 FROM ONLY "public"."customers" x WHERE "id" OPERATOR(pg_catalog.=) $1 '
                   "FOR KEY SHARE OF x") == "fk-check"  # as pg_stat_statements normalises it
    assert kind_of("CLOSE ALL") == "utility"  # asyncpg's reset of a released connection
    assert kind_of("SELECT pg_advisory_unlock_all()") == "utility"
    assert kind_of("SELECT * FROM settings") == "statement"
    assert kind_of("SELECT pg_advisory_unlock_all() , id FROM t") == "statement"
    assert kind_of("UPDATE accounts SET balance = balance + $1") == "statement"
