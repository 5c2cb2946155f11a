"""Index advice that fits the filter, and plans for normalised texts PostgreSQL cannot parse as is.

Against the shared throwaway PostgreSQL: statements run through real sessions between two snapshots,
so the report sees what pg_stat_statements really stores (`ILIKE $1`, `interval $1`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from perfdash.analyze.database import build_query_analysis
from perfdash.analyze.plan_hints import TableIndexes, preparable, scan_hint
from perfdash.collect.dbstats import take_snapshot
from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.secret import Secret
from tests.conftest import make_database

SEARCH = "SELECT id, name FROM products WHERE name ILIKE $1 ORDER BY id LIMIT $2"
TRIGRAM = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX ON products USING gin (name gin_trgm_ops)"
)


def run(url: Secret, *statements: str) -> None:
    """Run statements in one session and flush its table counters before returning."""
    with psycopg.connect(url.reveal(), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())
        conn.execute("SELECT pg_stat_force_next_flush()")


@dataclass(frozen=True)
class Scenario:
    url: Secret
    report: dict[str, Any]


@pytest.fixture(scope="module")
def scenario(pg_cluster: ThrowawayPostgres) -> Scenario:
    url = make_database(pg_cluster, "hints")
    run(
        url,
        "CREATE TABLE products (id bigserial PRIMARY KEY, name text NOT NULL)",
        # One name in 500 holds 'blue': rare enough that the app's search reads the whole table.
        "INSERT INTO products (name) SELECT 'product ' || md5(g::text) || "
        "CASE WHEN g % 500 = 0 THEN ' blue' ELSE ' red' END FROM generate_series(1, 20000) g",
        "CREATE TABLE labels (id bigserial PRIMARY KEY, name text NOT NULL)",
        "INSERT INTO labels (name) SELECT md5(g::text) FROM generate_series(1, 5000) g",
        "CREATE TABLE visits (id bigserial PRIMARY KEY, at timestamptz NOT NULL)",
        "INSERT INTO visits (at) SELECT now() - g * interval '1 day' FROM generate_series(1, 50) g",
        # pg_stat_statements normalises constants, so a literal pattern reaches a plan only
        # from inside a view (or function) the statement reads.
        "CREATE VIEW labels_by_prefix AS SELECT id FROM labels WHERE name LIKE 'ab%'",
        "CREATE VIEW labels_containing AS SELECT id FROM labels WHERE name LIKE '%ab%'",
        "CREATE TABLE stock (id int NOT NULL, qty int NOT NULL)",
        "INSERT INTO stock SELECT g, g % 7 FROM generate_series(1, 3000) g",
    )
    run(url, "ANALYZE")  # its own session, as in test_dbstats
    before = take_snapshot(url)
    with psycopg.connect(url.reveal(), autocommit=True) as conn:
        for _ in range(30):  # the app's search: parameters bound by the server, not inlined
            conn.execute(
                "SELECT id, name FROM products WHERE name ILIKE %s ORDER BY id LIMIT %s",
                ("%blue%", 20),
            )
        conn.execute("SELECT pg_stat_force_next_flush()")
    run(
        url,
        "SELECT count(*), pg_sleep(0.12) FROM labels_by_prefix",
        "SELECT count(*), pg_sleep(0.12) FROM labels_containing",
        "SELECT count(*) FROM visits WHERE at > now() - interval '30 days' "
        "AND at < timestamp with time zone '2999-01-01' AND at > now() - interval '1000' day "
        "AND pg_sleep(0.12) IS NOT NULL",
        # `$2 IS NOT NULL` leaves the parameter without a type: PREPARE cannot plan it.
        "SELECT pg_sleep(0.12) WHERE 'x' IS NOT NULL",
        # Fast, but the only statement that scans stock, and just as unplannable.
        "SELECT count(*) FROM stock WHERE qty = 3 AND 'x' IS NOT NULL",
    )
    after = take_snapshot(url)
    return Scenario(url, build_query_analysis(url, before, after, slow_ms=50))


def slow_entry(report: dict[str, Any], needle: str) -> dict[str, Any]:
    matches = [q for q in report["slow_queries"] if needle in q["query"]]
    assert len(matches) == 1, [q["query"] for q in report["slow_queries"]]
    entry: dict[str, Any] = matches[0]
    return entry


def test_ilike_search_gets_trigram_advice_not_a_btree(scenario: Scenario) -> None:
    scans = {t["table"]: t for t in scenario.report["sequential_scans"]}
    hint = scans["products"]["hint"]
    # psycopg prepares the statement after 5 runs and the server soon switches to a generic plan
    # that walks the primary key for the ORDER BY: only the first runs scan sequentially.
    assert scans["products"]["seq_scan"] >= 5
    assert "filtered by name" in hint
    assert "ILIKE on products.name needs a pg_trgm index" in hint
    assert TRIGRAM in hint
    assert "CREATE INDEX ON products (name)" not in hint
    assert not any(q["query"] == SEARCH for q in scenario.report["slow_queries"])  # it is fast


def test_the_trigram_advice_is_runnable_and_serves_the_search(scenario: Scenario) -> None:
    with psycopg.connect(scenario.url.reveal(), autocommit=True) as conn:
        for statement in TRIGRAM.split("; "):
            conn.execute(statement.encode())
        conn.execute("ANALYZE products")
        row = conn.execute(
            "EXPLAIN (FORMAT JSON) SELECT id, name FROM products WHERE name ILIKE '%blue%'"
        ).fetchone()
    assert row is not None
    assert "products_name_idx" in str(row[0])


def test_a_literal_prefix_pattern_gets_a_text_pattern_ops_btree(scenario: Scenario) -> None:
    entry = slow_entry(scenario.report, "labels_by_prefix")
    assert entry["plan_error"] is None
    assert "CREATE INDEX ON labels (name text_pattern_ops)" in entry["hint"]
    assert "gin_trgm_ops" not in entry["hint"]


def test_a_literal_leading_wildcard_gets_trigram_advice(scenario: Scenario) -> None:
    entry = slow_entry(scenario.report, "labels_containing")
    assert "LIKE with a leading wildcard on labels.name needs a pg_trgm index" in entry["hint"]
    assert "USING gin (name gin_trgm_ops)" in entry["hint"]
    assert "CREATE INDEX ON labels (name)" not in entry["hint"]


def test_typed_literals_normalised_to_parameters_still_get_a_plan(scenario: Scenario) -> None:
    entry = slow_entry(scenario.report, "FROM visits")
    assert "interval $" in entry["query"]  # what pg_stat_statements stored
    assert "timestamp with time zone $" in entry["query"]
    assert "day AND" in entry["query"]  # interval '1000' day: $n::interval day
    assert entry["plan_error"] is None
    assert entry["plan"] is not None
    assert "visits" in str(entry["plan"])


def test_a_statement_that_cannot_be_planned_says_why_in_one_sentence(scenario: Scenario) -> None:
    entry = slow_entry(scenario.report, "WHERE $2 IS NOT NULL")
    assert entry["query"].startswith("SELECT pg_sleep($1) WHERE $2")
    assert entry["plan"] is None
    reason = entry["plan_error"]
    assert reason == (
        "not explained: PostgreSQL could not plan the normalised text "
        "(could not determine data type of parameter $2)"
    )
    assert reason in entry["hint"]  # summary.md shows the hint only


def test_a_table_whose_statements_cannot_be_planned_says_why(scenario: Scenario) -> None:
    scans = {t["table"]: t for t in scenario.report["sequential_scans"]}
    assert scans["stock"]["hint"] == (
        "stock was read sequentially 1 times (3000 rows); look for a WHERE column without an "
        "index (a statement that reads it got no plan: PostgreSQL could not plan the normalised "
        "text (could not determine data type of parameter $2))"
    )


def test_preparable_turns_typed_literal_parameters_into_casts() -> None:
    assert preparable("SELECT now() - interval $1, date $2, time $3, timestamp $4") == (
        "SELECT now() - $1::interval, $2::date, $3::time, $4::timestamp"
    )
    assert preparable("SELECT timestamptz $1, TIMESTAMP(3) WITH TIME ZONE $2, interval $3 day") == (
        "SELECT $1::timestamptz, $2::TIMESTAMP(3) WITH TIME ZONE, $3::interval day"
    )
    unchanged = "SELECT t.date $1, x::date $2, now() AT TIME ZONE $3, $4::interval"
    assert preparable(unchanged) == unchanged


def _seq_scan(filter_text: str) -> dict[str, Any]:
    return {"Node Type": "Seq Scan", "Relation Name": "products", "Alias": "products",
            "Filter": filter_text, "Plan Rows": 100}


@pytest.mark.parametrize(("filter_text", "expected", "absent"), [
    ("(products.name ~~ $1)", "for prefix-only searches a btree with text_pattern_ops is enough "
     "(CREATE INDEX ON products (name text_pattern_ops))", "CREATE INDEX ON products (name))"),
    ("(products.name ~~ $1)", TRIGRAM, "CREATE INDEX ON products (name))"),
    ("(products.name ~~* '%blue%'::text)", TRIGRAM, "(name text_pattern_ops)"),
    ("((products.name)::text ~~ 'blue%'::text)", "(CREATE INDEX ON products (name text_pattern_ops))",
     "gin_trgm_ops"),
    ("(products.name ~* $1)", "a regular expression on products.name", "CREATE INDEX ON products (name)"),
    ("(products.name !~~ $1)", "no index on products.name (CREATE INDEX ON products (name))", "gin"),
    ("(products.name = $1)", "no index on products.name (CREATE INDEX ON products (name))", "gin"),
])
def test_scan_hint_fits_the_operator(filter_text: str, expected: str, absent: str) -> None:
    hint = scan_hint(_seq_scan(filter_text), "public", "products", ["id", "name"], TableIndexes())
    assert hint is not None
    assert expected in hint
    assert absent not in hint


def test_an_existing_index_of_the_right_kind_is_not_advised_again() -> None:
    node = _seq_scan("(products.name ~~* $1)")
    btree = TableIndexes(leading=frozenset({"name"}))
    assert TRIGRAM in (scan_hint(node, "public", "products", ["name"], btree) or "")
    trigram = TableIndexes(leading=frozenset({"name"}), trigram=frozenset({"name"}))
    hint = scan_hint(node, "public", "products", ["name"], trigram)
    assert hint is not None
    assert "although an index on it exists" in hint
    assert "CREATE" not in hint
