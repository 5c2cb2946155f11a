"""Index advice that fits the predicate, checked on the planner with HypoPG, end to end.

Against the shared throwaway PostgreSQL (which needs HypoPG installed on the server, as
scripts/install.sh does): the app's statements run with server-bound parameters between two
snapshots, so the report plans what pg_stat_statements really stores. The database has no hypopg
extension, so perfdash creates it inside its rolled-back transaction, and must leave nothing behind.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from perfdash.analyze.database import build_query_analysis
from perfdash.analyze.hypo import HypoChecker, Prepared, Verdict
from perfdash.collect.dbstats import DbSnapshot, connect, take_snapshot
from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.secret import Secret
from tests.conftest import make_database

EXPRESSION = (
    "SELECT id FROM transfers WHERE lower(memo) = lower($1) AND created_at >= $2 "
    "ORDER BY created_at DESC LIMIT $3"
)
COMPOSITE = "SELECT id FROM events WHERE account_id = $1 AND created_at >= $2 ORDER BY created_at"
CONTAINS = "SELECT id FROM notes WHERE body LIKE $1"
DAY = "SELECT id FROM events WHERE created_at::date = $1"
NARROW = (
    "SELECT id FROM payments WHERE account_id = $1 AND created_at >= $2 "
    "ORDER BY created_at DESC LIMIT $3"
)
TRIGRAM = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX ON notes USING gin (body gin_trgm_ops)"
)
ADVICE_KEYS = {
    "queryid", "statement", "table", "create_index", "kind", "verified", "cost_before",
    "cost_after", "not_verified",
}


@dataclass(frozen=True)
class Scenario:
    url: Secret
    before: DbSnapshot
    after: DbSnapshot
    report: dict[str, Any]


def _require_hypopg(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'").fetchone()
    major = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
    if row is None:
        pytest.fail(
            f"HypoPG is not installed for the test server; run scripts/install.sh "
            f"(it installs postgresql-{major[0] if major else '<major>'}-hypopg)"
        )


@pytest.fixture(scope="module")
def scenario(pg_cluster: ThrowawayPostgres) -> Scenario:
    url = make_database(pg_cluster, "advice")
    with psycopg.connect(url.reveal(), autocommit=True) as conn:
        _require_hypopg(conn)
        for statement in (
            "CREATE TABLE transfers (id bigserial PRIMARY KEY, account_id int NOT NULL, "
            "memo text NOT NULL, created_at timestamptz NOT NULL)",
            "INSERT INTO transfers (account_id, memo, created_at) SELECT g % 1000, 'Memo ' || g, "
            "now() - g * interval '1 minute' FROM generate_series(1, 60000) g",
            "CREATE TABLE events (id bigserial PRIMARY KEY, account_id int NOT NULL, "
            "created_at timestamptz NOT NULL)",
            "INSERT INTO events (account_id, created_at) SELECT g % 2000, "
            "now() - g * interval '1 second' FROM generate_series(1, 60000) g",
            "CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL)",
            "INSERT INTO notes (body) SELECT md5(g::text) FROM generate_series(1, 20000) g",
            # An index on the equality column only: each call reads all of an account's rows.
            "CREATE TABLE payments (id bigserial PRIMARY KEY, account_id int NOT NULL, "
            "created_at timestamptz NOT NULL)",
            "INSERT INTO payments (account_id, created_at) SELECT g % 50, "
            "now() - g * interval '1 second' FROM generate_series(1, 60000) g",
            "CREATE INDEX ON payments (account_id)",
        ):
            conn.execute(statement.encode())
    with psycopg.connect(url.reveal(), autocommit=True) as conn:
        conn.execute("ANALYZE")
    before = take_snapshot(url)
    # Parameters bound by the server, each statement unprepared: every call is a Seq Scan.
    with psycopg.connect(url.reveal(), autocommit=True, prepare_threshold=None) as conn:
        for i in range(3):
            conn.execute(
                "SELECT id FROM transfers WHERE lower(memo) = lower(%s) AND created_at >= %s "
                "ORDER BY created_at DESC LIMIT %s", (f"MEMO {i}", "2000-01-01", 10),
            )
            conn.execute(
                "SELECT id FROM events WHERE account_id = %s AND created_at >= %s "
                "ORDER BY created_at", (i, "2000-01-01"),
            )
            conn.execute("SELECT id FROM notes WHERE body LIKE %s", ("%abc%",))
            conn.execute("SELECT id FROM events WHERE created_at::date = %s", ("2024-01-01",))
            conn.execute(
                "SELECT id FROM payments WHERE account_id = %s AND created_at >= %s "
                "ORDER BY created_at DESC LIMIT %s", (i, "2000-01-01", 10),
            )
        conn.execute("SELECT pg_stat_force_next_flush()")
    after = take_snapshot(url)
    return Scenario(url, before, after, build_query_analysis(url, before, after, slow_ms=0))


def advice_for(report: dict[str, Any], statement: str) -> dict[str, Any]:
    found = [a for a in report["index_advice"] if a["statement"] == statement]
    assert len(found) == 1, report["index_advice"]
    entry: dict[str, Any] = found[0]
    return entry


def hint_for(report: dict[str, Any], statement: str) -> str:
    hints = [q["hint"] for q in report["slow_queries"] if q["query"] == statement]
    assert len(hints) == 1, [q["query"] for q in report["slow_queries"]]
    return str(hints[0])


def test_an_expression_predicate_gets_an_expression_index_verified(scenario: Scenario) -> None:
    advice = advice_for(scenario.report, EXPRESSION)
    assert set(advice) == ADVICE_KEYS
    assert advice["table"] == "transfers"
    assert advice["kind"] == "expression"
    assert advice["create_index"].startswith("CREATE INDEX ON transfers (lower(memo)")
    assert advice["verified"] is True
    assert advice["not_verified"] is None
    assert advice["cost_before"] > 10 * advice["cost_after"] > 0
    hint = hint_for(scenario.report, EXPRESSION)
    assert "an index on memo does not serve lower(memo) = …" in hint
    assert advice["create_index"] in hint
    assert "verified: cost " in hint
    assert "not verified" not in hint
    assert "CREATE INDEX ON transfers (created_at)" not in hint  # the advice the user got before
    scans = {t["table"]: t["hint"] for t in scenario.report["sequential_scans"]}
    assert advice["create_index"] in scans["transfers"]
    assert "verified: cost " in scans["transfers"]


def test_equality_range_and_order_get_a_composite_in_that_order(scenario: Scenario) -> None:
    advice = advice_for(scenario.report, COMPOSITE)
    assert advice["create_index"] == "CREATE INDEX ON events (account_id, created_at)"
    assert advice["kind"] == "composite"
    assert advice["verified"] is True
    assert advice["cost_before"] > advice["cost_after"]
    hint = hint_for(scenario.report, COMPOSITE)
    cost = Verdict(True, advice["cost_before"], advice["cost_after"]).text()
    assert hint.endswith(f"(CREATE INDEX ON events (account_id, created_at)); {cost}")


def test_an_index_scan_that_filters_gets_a_wider_index_once_verified(scenario: Scenario) -> None:
    plan = next(q["plan"] for q in scenario.report["slow_queries"] if q["query"] == NARROW)
    assert "payments_account_id_idx" in str(plan)  # the scan uses the narrow index and filters
    advice = advice_for(scenario.report, NARROW)
    assert advice["create_index"] == "CREATE INDEX ON payments (account_id, created_at)"
    assert advice["verified"] is True
    assert advice["cost_before"] > advice["cost_after"]
    hint = hint_for(scenario.report, NARROW)
    # A Bitmap Heap Scan or an Index Scan, as the planner prefers; both name the index they use.
    assert re.match(
        r"(?:Bitmap Heap|Index) Scan on payments using payments_account_id_idx filtered by "
        r"created_at after its index condition: no index on payments starts with "
        r"\(account_id, created_at\)", hint,
    ), hint


def test_a_verdict_reads_as_the_cost_before_and_after() -> None:
    assert Verdict(True, 9870.2, 8.43).text() == "verified: cost 9,870 → 8.4"
    assert Verdict(False, 9870.2, None, "the planner would not use it").text() == (
        "not verified: the planner would not use it"
    )


def test_a_leading_wildcard_keeps_the_trigram_advice(scenario: Scenario) -> None:
    hint = hint_for(scenario.report, CONTAINS)
    assert "LIKE on notes.body with the pattern in a parameter needs a pg_trgm index" in hint
    assert TRIGRAM in hint
    assert "CREATE INDEX ON notes (body))" not in hint
    advice = advice_for(scenario.report, CONTAINS)
    assert advice["kind"] == "trigram"
    assert advice["create_index"] == "CREATE INDEX ON notes USING gin (body gin_trgm_ops)"
    assert advice["verified"] is False
    assert "HypoPG cannot simulate GIN indexes" in advice["not_verified"]
    assert hint.endswith(f"not verified: {advice['not_verified']}")


def test_an_index_postgresql_refuses_is_not_verified_with_the_rewrite(scenario: Scenario) -> None:
    # timestamptz::date depends on the time zone, so no index can hold it.
    advice = advice_for(scenario.report, DAY)
    assert advice["create_index"] == "CREATE INDEX ON events (((created_at)::date))"
    assert advice["verified"] is False
    assert advice["cost_after"] is None
    assert "must be marked IMMUTABLE" in advice["not_verified"]
    assert "range on the bare column" in advice["not_verified"]
    assert "verified: cost" not in hint_for(scenario.report, DAY)


def test_the_analysis_leaves_nothing_in_the_database(scenario: Scenario) -> None:
    with psycopg.connect(scenario.url.reveal(), autocommit=True) as conn:
        extensions = {str(r[0]) for r in conn.execute("SELECT extname FROM pg_extension")}
        indexes = [str(r[0]) for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
        )]
    assert "hypopg" not in extensions
    assert indexes == [
        "events_pkey", "notes_pkey", "payments_account_id_idx", "payments_pkey", "transfers_pkey",
    ]


def test_a_role_that_cannot_create_hypopg_gets_not_verified_with_the_fix(
    scenario: Scenario,
) -> None:
    role, password = f"analyst_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    with psycopg.connect(scenario.url.reveal(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'".encode())
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}".encode())
    try:
        limited = Secret(make_conninfo(scenario.url.reveal(), user=role, password=password))
        report = build_query_analysis(limited, scenario.before, scenario.after, slow_ms=0)
    finally:
        with psycopg.connect(scenario.url.reveal(), autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}".encode())
            conn.execute(f"DROP ROLE {role}".encode())
    # The role reads the tables, so the statement is planned and the advice made, just unchecked.
    assert [q["plan_error"] for q in report["slow_queries"] if q["query"] == EXPRESSION] == [None]
    advice = advice_for(report, EXPRESSION)
    assert advice["create_index"].startswith("CREATE INDEX ON transfers (lower(memo)")
    assert advice["verified"] is False
    assert advice["cost_before"] is None
    assert advice["not_verified"] == (
        f"the hypopg extension is not created in this database and role {role} cannot create it "
        "(permission denied to create extension \"hypopg\"); run CREATE EXTENSION hypopg in this "
        "database as a superuser"
    )
    assert hint_for(report, EXPRESSION).endswith(f"; not verified: {advice['not_verified']}")
    assert not any(a["verified"] for a in report["index_advice"])


@pytest.fixture
def own_session(fresh_db: Secret) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    with psycopg.connect(fresh_db.reveal(), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int NOT NULL, v text NOT NULL)")
        conn.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g")
        conn.execute("ANALYZE t")
    session = connect(fresh_db, 5.0)
    try:
        yield session
    finally:
        session.close()


def _leftovers(conn: psycopg.Connection[tuple[Any, ...]]) -> tuple[int, int, bool]:
    """Hypothetical indexes and prepared statements in this session, and whether hypopg exists."""
    prepared = conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()
    installed = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'hypopg'").fetchone()
    # hypopg_list_indexes needs the extension: look inside a transaction that is rolled back.
    with conn.transaction(force_rollback=True):
        if installed is None:
            conn.execute("CREATE EXTENSION hypopg")
        hypothetical = conn.execute("SELECT count(*) FROM hypopg_list_indexes").fetchone()
    assert prepared is not None
    assert hypothetical is not None
    return int(hypothetical[0]), int(prepared[0]), installed is not None


@pytest.mark.parametrize("user_installed", [False, True])
def test_the_checking_session_keeps_no_hypothetical_index(
    own_session: psycopg.Connection[tuple[Any, ...]], user_installed: bool,
) -> None:
    _require_hypopg(own_session)
    if user_installed:
        own_session.execute("CREATE EXTENSION hypopg")
    checker = HypoChecker(own_session)
    statement = Prepared("SELECT v FROM t WHERE id = $1", "(NULL)")
    verdicts = checker.verify(statement, [
        "CREATE INDEX ON t (id)",  # used, cheaper
        "CREATE INDEX ON t (v)",  # not used
        "CREATE INDEX ON t ((now()::date))",  # rejected
        "CREATE INDEX ON t (id)",  # still checkable after a rejection
    ])
    assert [v.verified for v in verdicts] == [True, False, False, True]
    assert verdicts[1].not_verified == "the planner would not use it"
    assert verdicts[0].text().startswith("verified: cost ")
    assert _leftovers(own_session) == (0, 0, user_installed)


def test_a_server_without_hypopg_is_named_with_the_package_to_install(fresh_db: Secret) -> None:
    # The catalog that says what the server offers is what perfdash reads; hide hypopg from it.
    session = connect(fresh_db, 5.0)
    try:
        session.execute(
            "CREATE TEMP VIEW pg_available_extensions AS "
            "SELECT * FROM pg_catalog.pg_available_extensions WHERE name <> 'hypopg'"
        )
        session.execute("SET search_path = pg_temp, pg_catalog, public")
        verdicts = HypoChecker(session).verify(
            Prepared("SELECT 1", ""), ["CREATE INDEX ON x (y)"],
        )
        major = session.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
    finally:
        session.close()
    assert major is not None
    assert verdicts[0].verified is False
    assert verdicts[0].not_verified == (
        "HypoPG is not installed on the database server; install it there (Debian: apt-get install "
        f"postgresql-{major[0]}-hypopg), then run CREATE EXTENSION hypopg in this database"
    )



def test_a_check_that_fails_midway_still_cleans_up(
    own_session: psycopg.Connection[tuple[Any, ...]],
) -> None:
    _require_hypopg(own_session)
    # PREPARE succeeds, then EXECUTE lacks its parameter: the failure comes after the PREPARE.
    verdicts = HypoChecker(own_session).verify(
        Prepared("SELECT v FROM t WHERE id = $1", ""), ["CREATE INDEX ON t (id)"],
    )
    assert verdicts[0].verified is False
    assert verdicts[0].not_verified is not None
    assert verdicts[0].not_verified.startswith("the check failed (wrong number of parameters")
    assert _leftovers(own_session) == (0, 0, False)


def test_the_checks_do_not_show_up_as_the_apps_statements_later(scenario: Scenario) -> None:
    # A window that holds only an analysis: perfdash's own statements must not be reported.
    start = take_snapshot(scenario.url)
    again = build_query_analysis(scenario.url, scenario.before, scenario.after, slow_ms=0)
    assert any(a["verified"] for a in again["index_advice"])
    end = take_snapshot(scenario.url)
    report = build_query_analysis(None, start, end, slow_ms=0)
    assert [q["query"] for q in report["slow_queries"]] == []
