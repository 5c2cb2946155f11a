"""Database snapshots and the query-analysis report, against the shared throwaway PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from perfdash.analyze.database import build_query_analysis
from perfdash.collect.dbstats import MARKER, DbSnapshot, DbStatsError, take_snapshot
from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.net import free_port
from perfdash.secret import Secret
from tests.conftest import make_database

SLEEP_QUERY = "SELECT pg_sleep($1)"
SLOW_SCAN = "SELECT count(*), pg_sleep($1) FROM orders WHERE customer_id = $2"


def run(url: Secret, *statements: str) -> None:
    """Run statements in one session whose table counters are visible as soon as this returns.

    A backend flushes its table counters at most once a second and an idle one may hold them for
    10 s, so the session asks for its own flush last (the flush happens before the reply).
    """
    with psycopg.connect(url.reveal(), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())
        conn.execute("SELECT pg_stat_force_next_flush()")


@dataclass(frozen=True)
class Scenario:
    url: Secret
    before: DbSnapshot
    after: DbSnapshot
    report: dict[str, Any]
    later: DbSnapshot


@pytest.fixture(scope="module")
def scenario(pg_cluster: ThrowawayPostgres) -> Scenario:
    url = make_database(pg_cluster, "dbstats")
    run(
        url,
        "CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL, "
        "status text NOT NULL, total numeric NOT NULL)",
        "INSERT INTO orders (customer_id, status, total) SELECT g % 5000, "
        "CASE WHEN g % 10 = 0 THEN 'open' ELSE 'done' END, g % 997 "
        "FROM generate_series(1, 60000) g",
        "CREATE TABLE events (id bigserial PRIMARY KEY, kind text NOT NULL, at timestamptz)",
        "INSERT INTO events (kind, at) SELECT 'k' || (g % 300), now() "
        "FROM generate_series(1, 20000) g",
        "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL)",
        "INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 200) g",
    )
    # ANALYZE in its own session: in the loading session it would overwrite n_live_tup while the
    # inserts were still unflushed, and their later flush would count every row twice.
    run(
        url,
        "ANALYZE",
        # Before the window: one long call of the same statement as the window's sleeps.
        "SELECT pg_sleep(1.0)",
    )
    before = take_snapshot(url)
    run(
        url,
        *[f"SELECT count(*), pg_sleep(0.12) FROM orders WHERE customer_id = {i}" for i in (7, 8)],
        *[f"SELECT count(*) FROM events WHERE kind = 'k{i}'" for i in range(5)],
        *[f"SELECT name FROM customers WHERE id = {i}" for i in range(1, 20)],
        "SELECT pg_sleep(0.12)",
        "SELECT pg_sleep(0.12)",
        "DO $$BEGIN PERFORM pg_sleep(0.06 + 0.06); END$$",
    )
    after = take_snapshot(url)
    report = build_query_analysis(url, before, after)
    return Scenario(url, before, after, report, take_snapshot(url))


def slow_entry(report: dict[str, Any], query: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [q for q in report["slow_queries"] if q["query"] == query]
    assert len(matches) == 1, [q["query"] for q in report["slow_queries"]]
    return matches[0]


def seq_nodes(plan: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stack = [entry["Plan"] for entry in plan]
    while stack:
        node = stack.pop()
        if node["Node Type"] == "Seq Scan":
            found.append(node)
        stack.extend(node.get("Plans", []))
    return found


def test_snapshot_reads_statements_tables_and_server(scenario: Scenario) -> None:
    snap = scenario.after
    assert snap.statements_available
    assert snap.statements_reason is None
    assert snap.server_version.startswith("15")
    assert snap.max_connections == 100
    assert snap.taken_at.endswith("+00:00")
    orders = snap.tables["public.orders"]
    assert orders.n_live_tup == 60000
    assert orders.size_bytes is not None
    assert orders.size_bytes > 1_000_000
    assert all(MARKER not in s.query for s in snap.statements.values())


def test_slow_query_counts_only_calls_inside_the_window(scenario: Scenario) -> None:
    total_calls = next(
        s.calls for s in scenario.after.statements.values() if s.query == SLEEP_QUERY
    )
    assert total_calls == 3  # one before the window, two inside
    entry = slow_entry(scenario.report, SLEEP_QUERY)
    assert entry["calls"] == 2
    # The 1 s call before the window would lift the mean above 400 ms if it were counted.
    assert 100 < entry["mean_ms"] < 300
    assert entry["total_ms"] == pytest.approx(2 * entry["mean_ms"], rel=1e-3)
    assert entry["max_ms"] is None  # the window did not beat the earlier 1 s maximum
    assert entry["plan"] is not None
    assert "reads no table" in entry["hint"]


def test_slow_query_gets_a_plan_with_the_seq_scan_and_an_index_hint(scenario: Scenario) -> None:
    entry = slow_entry(scenario.report, SLOW_SCAN)
    assert entry["calls"] == 2
    assert entry["plan_error"] is None
    scans = seq_nodes(entry["plan"])
    assert [n["Relation Name"] for n in scans] == ["orders"]
    assert "customer_id" in scans[0]["Filter"]
    assert "no index on orders.customer_id" in entry["hint"]
    assert "CREATE INDEX ON orders (customer_id)" in entry["hint"]


def test_slow_queries_are_sorted_by_total_time_and_skip_fast_ones(scenario: Scenario) -> None:
    totals = [q["total_ms"] for q in scenario.report["slow_queries"]]
    assert totals == sorted(totals, reverse=True)
    assert all(q["mean_ms"] > 100 for q in scenario.report["slow_queries"])
    assert not any("customers" in q["query"] for q in scenario.report["slow_queries"])


def test_statements_other_than_select_get_a_reason_instead_of_a_plan(scenario: Scenario) -> None:
    entry = next(q for q in scenario.report["slow_queries"] if q["query"].startswith("DO "))
    assert entry["plan"] is None
    assert "only SELECT and WITH" in entry["plan_error"]


def test_sequential_scans_name_the_filtered_column(scenario: Scenario) -> None:
    scans = {t["table"]: t for t in scenario.report["sequential_scans"]}
    assert "customers" not in scans  # 200 rows: below the size worth indexing
    orders = scans["orders"]
    assert orders["seq_scan"] >= 2
    assert orders["seq_tup_read"] >= 2 * 60000
    assert orders["n_live_tup"] == 60000
    assert "customer_id" in orders["hint"]
    # events is only scanned by fast statements; they are explained to find the column.
    events = scans["events"]
    assert events["seq_scan"] >= 5
    assert "Seq Scan on events filtered by kind" in events["hint"]
    assert "CREATE INDEX ON events (kind)" in events["hint"]
    reads = [t["seq_tup_read"] for t in scenario.report["sequential_scans"]]
    assert reads == sorted(reads, reverse=True)


def test_explaining_leaves_the_statistics_alone(scenario: Scenario) -> None:
    for queryid, stats in scenario.after.statements.items():
        assert scenario.later.statements[queryid].calls == stats.calls
    assert not any(MARKER in s.query or "perfdash_explain" in s.query
                   for s in scenario.later.statements.values())


def test_report_has_the_documented_shape_and_is_json(scenario: Scenario) -> None:
    report = json.loads(json.dumps(scenario.report))
    assert set(report) == {
        "schema_version", "window", "database", "slow_queries", "sequential_scans",
        "not_measured", "thresholds", "workload", "database_counters", "index_advice",
    }
    assert report["schema_version"] == 1
    ranked = report["workload"]["statements"]
    assert ranked
    assert all(set(s["rank"]) <= {"total", "calls", "mean"} for s in ranked)
    assert [s["total_ms"] for s in ranked if "total" in s["rank"]] == sorted(
        (s["total_ms"] for s in ranked if "total" in s["rank"]), reverse=True)
    assert report["window"] == {
        "started_at": scenario.before.taken_at, "ended_at": scenario.after.taken_at,
    }
    assert report["database"]["pg_stat_statements"] is True
    assert report["thresholds"]["slow_query_ms"] == 100
    assert report["not_measured"] == []
    assert set(report["slow_queries"][0]) == {
        "queryid", "query", "calls", "mean_ms", "max_ms", "total_ms", "rows", "plan",
        "plan_error", "hint",
    }
    assert set(report["sequential_scans"][0]) == {
        "table", "seq_scan", "seq_tup_read", "idx_scan", "n_live_tup", "size_bytes", "hint",
    }


def test_without_a_url_the_report_builds_from_snapshots(scenario: Scenario) -> None:
    report = build_query_analysis(None, scenario.before, scenario.after)
    entry = slow_entry(report, SLOW_SCAN)
    assert entry["plan"] is None
    assert "no database URL" in entry["plan_error"]
    assert [m["what"] for m in report["not_measured"]] == ["query plans"]
    assert "look for a WHERE column without an index" in report["sequential_scans"][0]["hint"]
    json.dumps(report)


def test_unreachable_database_at_analysis_time_becomes_plan_errors(scenario: Scenario) -> None:
    gone = Secret(f"postgresql://app:s3cret-pw@127.0.0.1:{free_port()}/app")
    report = build_query_analysis(gone, scenario.before, scenario.after)
    entry = slow_entry(report, SLOW_SCAN)
    assert entry["plan"] is None
    assert "unreachable" in entry["plan_error"]
    assert "s3cret-pw" not in json.dumps(report)


def test_database_without_the_extension_is_reported_not_raised(
    pg_cluster: ThrowawayPostgres,
) -> None:
    url = make_database(pg_cluster, "noext")
    run(url, "DROP EXTENSION pg_stat_statements",
        "CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 5000) g")
    before = take_snapshot(url)
    run(url, "SELECT count(*) FROM big WHERE id = 3")
    after = take_snapshot(url)
    assert not after.statements_available
    assert after.statements_reason is not None
    assert "CREATE EXTENSION pg_stat_statements" in after.statements_reason
    assert after.statements == {}
    report = build_query_analysis(url, before, after)
    assert report["database"]["pg_stat_statements"] is False
    assert report["slow_queries"] == []
    missing = {m["what"]: m["reason"] for m in report["not_measured"]}
    assert "CREATE EXTENSION pg_stat_statements" in missing["slow queries"]
    assert [t["table"] for t in report["sequential_scans"]] == ["big"]
    json.dumps(report)


@pytest.mark.slow  # starts its own PostgreSQL cluster
def test_extension_not_preloaded_is_reported_not_raised() -> None:
    # A cluster of its own: the shared one must keep the library loaded.
    with ThrowawayPostgres() as pg:
        assert pg.root is not None
        pg.pause()
        with (pg.root / "data" / "postgresql.conf").open("a") as conf:
            conf.write("shared_preload_libraries = ''\n")
        pg.resume()
        snap = take_snapshot(pg.url())
    assert not snap.statements_available
    assert snap.statements_reason is not None
    assert "shared_preload_libraries" in snap.statements_reason
    assert snap.tables == {}


def test_unreachable_database_raises_a_clear_error_without_the_password() -> None:
    url = Secret(f"postgresql://app:hunter2-very-secret@127.0.0.1:{free_port()}/app")
    with pytest.raises(DbStatsError) as caught:
        take_snapshot(url, timeout_s=2)
    message = str(caught.value)
    assert "hunter2-very-secret" not in message
    assert "PERF_DATABASE_URL" in message
    assert "running" in message
    assert caught.value.__cause__ is None


def test_malformed_url_error_hides_the_password() -> None:
    with pytest.raises(DbStatsError) as caught:
        take_snapshot(Secret("host=127.0.0.1 password=hunter2-very-secret bogus"))
    assert "hunter2-very-secret" not in str(caught.value)
    assert "PERF_DATABASE_URL" in str(caught.value)
