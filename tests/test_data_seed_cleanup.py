"""Seeding records exactly the rows perfdash creates, and cleanup removes exactly those, on the
session's real PostgreSQL cluster, with real child processes and the real docker CLI (no engine).
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest

from perfdash.data import ledger
from perfdash.data.cleanup import (
    BACKEND,
    COMPOSE,
    SEEDED_DATA,
    CleanupNotConfirmed,
    RemoveSeededData,
    execute,
    plan_cleanup,
)
from perfdash.data.seed import SeedError, seed, seeded_rows
from perfdash.data.sqlfile import split_statements
from perfdash.demo.backend import DemoBackend
from perfdash.demo.database import prepare_database
from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.launch import LaunchRequest
from perfdash.proc.supervisor import Supervisor
from perfdash.secret import Secret
from perfdash.settings import Environment
from tests.conftest import ROOT, make_database

DEMO_SEED = ROOT / "perfdash" / "demo" / "seed.sql"
BASE_CUSTOMERS, BASE_ORDERS = 300, 600


def _env(name: str = "local", *, protected: bool = False, seed_sql: Path | None = DEMO_SEED,
         seed_command: str | None = None, stop_command: str | None = None,
         compose_file: Path | None = None, scale: int = 20) -> Environment:
    return Environment(
        name=name, description="", kind="external", base_url="http://127.0.0.1:9", database_url=None,
        api_token=None, app_log=None, protected=protected, health_path="/health",
        stop_command=stop_command, compose_file=compose_file,
        seed_sql=None if seed_command else seed_sql, seed_command=seed_command, seed_scale=scale,
    )


def _q(url: Secret, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url.reveal(), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def _count(url: Secret, table: str, where: str = "true") -> int:
    return int(_q(url, f"SELECT count(*) FROM {table} WHERE {where}")[0][0])


def _ledger_keys(url: Secret, table: str) -> set[int]:
    return {int(r[0]) for r in _q(url, "SELECT pk->>'id' FROM perfdash.ledger WHERE table_name = %s",
                                  (table,))}


@pytest.fixture
def shop(pg_cluster: ThrowawayPostgres) -> Secret:
    url = make_database(pg_cluster, "seed")
    prepare_database(url, customers=BASE_CUSTOMERS, products=40, orders=BASE_ORDERS)
    return url


@pytest.fixture
def seeded(shop: Secret) -> Secret:
    result = seed(shop, "run-1", _env())
    assert result.rows_by_table == {"public.customers": 20, "public.orders": 60}
    return shop


# ----------------------------------------------------------------------------------- seeding


def test_demo_seed_records_exactly_the_rows_it_inserted(shop: Secret) -> None:
    result = seed(shop, "run-1", _env(), scale=25)

    assert result.rows_by_table == {"public.customers": 25, "public.orders": 75}
    perf_customers = {int(r[0]) for r in _q(shop, "SELECT id FROM customers WHERE email LIKE "
                                                  "'perf+%%@example.test'")}
    assert _ledger_keys(shop, "public.customers") == perf_customers
    perf_orders = {int(r[0]) for r in _q(shop, "SELECT o.id FROM orders o JOIN customers c ON "
                                               "c.id = o.customer_id WHERE c.email LIKE 'perf+%%'")}
    assert _ledger_keys(shop, "public.orders") == perf_orders
    assert _count(shop, "customers") == BASE_CUSTOMERS + 25
    assert seeded_rows(shop) == {"public.customers": 25, "public.orders": 75}
    with psycopg.connect(shop.reveal()) as conn:
        runs = ledger.list_runs(conn)
    assert [(r.run_id, r.environment, r.rows_by_table) for r in runs] == [
        ("run-1", "local", {"public.customers": 25, "public.orders": 75})]

    # A second run seeds its own customers and orders only for them, not again for run-1's.
    seed(shop, "run-2", _env(), scale=5)
    assert seeded_rows(shop) == {"public.customers": 30, "public.orders": 90}


def test_seeded_rows_is_empty_before_any_seed_and_does_not_create_the_ledger(shop: Secret) -> None:
    assert seeded_rows(shop) == {}
    assert _q(shop, "SELECT to_regnamespace('perfdash')") == [(None,)]


def test_statement_splitter_keeps_literals_and_binds_scale_only_in_code() -> None:
    text = textwrap.dedent("""\
        -- a comment; with :scale and a semicolon
        INSERT INTO t (a, b) SELECT g::int, 'it''s; 50%% :scale' FROM generate_series(1, :scale) g
        RETURNING id;
        CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
        SELECT E'\\'; %(scale)s' , /* nested /* ; */ */ %(scale)s::int;
        ;
    """)
    stmts = split_statements(text)
    assert [s.line for s in stmts] == [2, 4, 5]
    assert stmts[0].uses_scale
    assert stmts[0].query.startswith("INSERT INTO t (a, b) SELECT g::int, 'it''s; 50%%%% :scale' "
                                     "FROM generate_series(1, %(scale)s) g")
    assert not stmts[1].uses_scale
    assert "$body$ SELECT 1; $body$" in stmts[1].query
    assert stmts[2].query.endswith("*/ %(scale)s::int")
    assert "E'\\'; %%(scale)s'" in stmts[2].query


def test_insert_without_returning_is_refused_and_nothing_is_committed(
        shop: Secret, tmp_path: Path) -> None:
    bad = tmp_path / "seed.sql"
    bad.write_text(textwrap.dedent("""\
        INSERT INTO customers (name, email) VALUES ('Perf a', 'perf+a@example.test') RETURNING id;
        INSERT INTO customers (name, email)
        SELECT 'Perf ' || g, 'perf+' || g || '@example.test' FROM generate_series(1, :scale) g;
    """))
    with pytest.raises(SeedError) as err:
        seed(shop, "run-bad", _env(seed_sql=bad))
    message = str(err.value)
    assert "seed.sql statement 2 (line 2" in message
    assert "inserted 20 rows into public.customers without RETURNING its primary key" in message
    assert "RETURNING id" in message
    assert "nothing was committed" in message
    assert _count(shop, "customers") == BASE_CUSTOMERS
    assert _q(shop, "SELECT to_regnamespace('perfdash')") == [(None,)]


@pytest.mark.parametrize(("statement", "expected"), [
    ("INSERT INTO customers (name, email) VALUES ('x', 'y') RETURNING id, email",
     "returns (id, email) rather than exactly the primary key of public.customers"),
    ("UPDATE customers SET name = name WHERE id = 1",
     "changed existing rows of public.customers (1 updated, 0 deleted)"),
    ("WITH c AS (INSERT INTO customers (name, email) VALUES ('x', 'y') RETURNING id) "
     "INSERT INTO orders (customer_id, product_id, quantity, status) SELECT id, 1, 1, 'x' FROM c "
     "RETURNING id",
     "inserted 1 row into public.customers, 1 row into public.orders"),
    ("INSERT INTO customers (name, email) VALUES ('x', 'y') RETURNING id;\nCOMMIT",
     "controls the transaction itself; perfdash runs the whole file as one transaction, so remove "
     "the COMMIT"),
])
def test_statements_perfdash_could_not_account_for_are_refused(
        shop: Secret, tmp_path: Path, statement: str, expected: str) -> None:
    path = tmp_path / "seed.sql"
    path.write_text(statement + ";\n")
    with pytest.raises(SeedError, match="nothing was committed") as err:
        seed(shop, "run-bad", _env(seed_sql=path))
    assert expected in str(err.value)
    assert _count(shop, "customers") == BASE_CUSTOMERS
    assert _count(shop, "orders") == BASE_ORDERS


def test_composite_keys_are_recorded_by_column_and_cleaned_up(shop: Secret, tmp_path: Path) -> None:
    _q(shop, 'CREATE TABLE "Line Items" (order_id bigint, line int, note text, '
             "PRIMARY KEY (order_id, line))")
    _q(shop, "INSERT INTO \"Line Items\" VALUES (1, 1, 'someone else')")
    path = tmp_path / "seed.sql"
    path.write_text('INSERT INTO "Line Items" SELECT 1, g + 1, \'perf\' '
                    "FROM generate_series(1, :scale) g RETURNING line, order_id;\n")
    assert seed(shop, "run-c", _env(seed_sql=path), scale=3).rows_by_table == {
        'public."Line Items"': 3}
    keys = _q(shop, "SELECT pk FROM perfdash.ledger ORDER BY pk->>'line'")
    assert [k[0] for k in keys] == [{"order_id": "1", "line": str(n)} for n in (2, 3, 4)]

    plan = plan_cleanup(_env(), shop)
    [result] = execute(plan, {SEEDED_DATA}, confirmed=True)
    assert result.ok, result.detail
    assert _q(shop, 'SELECT order_id, line, note FROM "Line Items"') == [(1, 1, "someone else")]


def test_seed_command_reports_its_rows_on_stdout(shop: Secret, tmp_path: Path) -> None:
    script = tmp_path / "seeder.py"
    script.write_text(textwrap.dedent("""\
        import json, os, sys
        import psycopg
        n = int(os.environ["PERF_SEED_SCALE"])
        print("seeding", n, "customers for", os.environ["PERF_RUN_ID"])
        with psycopg.connect(os.environ["PERF_DATABASE_URL"]) as conn:
            for i in range(n):
                (cid,) = conn.execute(
                    "INSERT INTO customers (name, email) VALUES (%s, %s) RETURNING id",
                    (f"Cmd {i}", f"perf+cmd{i}@example.test")).fetchone()
                print(json.dumps({"table": "customers", "pk": cid}))
                (oid,) = conn.execute(
                    "INSERT INTO orders (customer_id, product_id, quantity, status) "
                    "VALUES (%s, 1, 1, 'pending') RETURNING id", (cid,)).fetchone()
                print(json.dumps({"table": "public.orders", "pk": {"id": oid}}))
        print("done", file=sys.stderr)
    """))
    env = _env(seed_command=f"{sys.executable} {script}", scale=4)
    result = seed(shop, "run-cmd", env, cwd=tmp_path, out_dir=tmp_path)

    assert result.rows_by_table == {"public.customers": 4, "public.orders": 4}
    assert "seeding 4 customers for run-cmd" in (tmp_path / "seed-command.stdout.log").read_text()
    assert _ledger_keys(shop, "public.customers") == {
        int(r[0]) for r in _q(shop, "SELECT id FROM customers WHERE email LIKE 'perf+cmd%%'")}

    [done] = execute(plan_cleanup(env, shop), {SEEDED_DATA}, confirmed=True)
    assert done.detail == "deleted 4 rows from public.orders, 4 from public.customers (seeded by perfdash)"
    assert _count(shop, "customers") == BASE_CUSTOMERS


def test_failing_seed_command_keeps_what_it_reported_and_says_so(shop: Secret, tmp_path: Path) -> None:
    script = tmp_path / "half.py"
    script.write_text(textwrap.dedent("""\
        import json, os, sys, psycopg
        with psycopg.connect(os.environ["PERF_DATABASE_URL"]) as conn:
            (cid,) = conn.execute("INSERT INTO customers (name, email) VALUES ('h', 'perf+h@x') "
                                  "RETURNING id").fetchone()
        print(json.dumps({"table": "customers", "pk": cid}))
        print(json.dumps({"table": "customers", "pk": "not-a-number"}))
        print("{not json")
        sys.exit("out of disk")
    """))
    with pytest.raises(SeedError) as err:
        seed(shop, "run-half", _env(seed_command=f"{sys.executable} {script}"), cwd=tmp_path)
    assert "exited with code 1 (out of disk)" in str(err.value)
    assert "the ledger holds the 1 row it reported" in str(err.value)
    assert seeded_rows(shop) == {"public.customers": 1}


def test_seed_command_records_that_do_not_fit_are_named(shop: Secret, tmp_path: Path) -> None:
    script = tmp_path / "odd.py"
    script.write_text('print(\'{"table": "customers", "pk": 1}\')\n'
                      'print(\'{"table": "customers", "pk": "x1"}\')\n'
                      'print(\'{"table": "nowhere", "pk": 1}\')\n')
    with pytest.raises(SeedError) as err:
        seed(shop, "run-odd", _env(seed_command=f"{sys.executable} {script}"), cwd=tmp_path)
    message = str(err.value)
    assert message.startswith(f"seed command `{sys.executable} {script}` printed 2 records perfdash "
                              "could not use (line 3: table nowhere does not exist or has no primary "
                              'key; pk {"id": "x1"} does not fit the primary key of public.customers: '
                              "invalid input syntax for type integer")
    assert "the ledger holds the 1 row it reported" in message
    assert seeded_rows(shop) == {"public.customers": 1}


# ----------------------------------------------------------------------------------- cleanup


def test_cleanup_plan_describes_then_removes_only_seeded_rows(seeded: Secret) -> None:
    url = seeded
    perf_customer = int(_q(url, "SELECT min(id) FROM customers WHERE email LIKE 'perf+%%'")[0][0])
    # Someone else adds rows to the same tables meanwhile, none referring to perfdash's rows.
    _q(url, "INSERT INTO customers (name, email) VALUES ('Someone', 'someone@example.test')")
    _q(url, "INSERT INTO orders (customer_id, product_id, quantity, status) VALUES (1, 1, 1, 'paid')")

    plan = plan_cleanup(_env(), url)
    data = plan.action(SEEDED_DATA)
    assert isinstance(data, RemoveSeededData)
    assert data.available
    assert data.describe() == ("delete 60 rows from public.orders, 20 from public.customers "
                               "(seeded by perfdash)")
    assert plan.names == [SEEDED_DATA]

    heard: list[tuple[str, str]] = []
    [result] = execute(plan, {SEEDED_DATA}, confirmed=True,
                       progress=lambda name, text: heard.append((name, text)))
    assert result.ok, result.detail
    assert result.detail == data.describe().replace("delete", "deleted", 1)
    assert heard[0] == (SEEDED_DATA, data.describe())
    assert _count(url, "customers", "email LIKE 'perf+%%'") == 0
    assert _count(url, "customers", f"id = {perf_customer}") == 0
    assert _count(url, "customers") == BASE_CUSTOMERS + 1
    assert _count(url, "orders") == BASE_ORDERS + 1
    assert seeded_rows(url) == {}
    assert _q(url, "SELECT count(*) FROM perfdash.ledger") == [(0,)]

    again = plan_cleanup(_env(), url).action(SEEDED_DATA)
    assert again is not None
    assert not again.available
    assert again.reason.startswith("nothing to delete")


def test_a_foreign_row_referencing_a_seeded_row_blocks_the_whole_cleanup(seeded: Secret) -> None:
    url = seeded
    perf_customer = int(_q(url, "SELECT max(id) FROM customers WHERE email LIKE 'perf+%%'")[0][0])
    _q(url, "INSERT INTO orders (customer_id, product_id, quantity, status) "
            "VALUES (%s, 1, 1, 'paid')", (perf_customer,))

    [result] = execute(plan_cleanup(_env(), url), {SEEDED_DATA}, confirmed=True)

    assert not result.ok
    assert result.detail.startswith("rows in public.orders that perfdash did not create still "
                                    "refer to seeded rows (constraint orders_customer_id_fkey")
    assert f"Key (id)=({perf_customer}) is still referenced" in result.detail
    assert "nothing was deleted" in result.detail
    assert seeded_rows(url) == {"public.customers": 20, "public.orders": 60}
    assert _count(url, "orders") == BASE_ORDERS + 61


def test_cleanup_refuses_to_cascade_into_rows_perfdash_did_not_create(seeded: Secret) -> None:
    url = seeded
    _q(url, "CREATE TABLE reviews (id serial PRIMARY KEY, "
            "customer_id int REFERENCES customers (id) ON DELETE CASCADE, body text)")
    _q(url, "INSERT INTO reviews (customer_id, body) SELECT min(id), 'great' FROM customers "
            "WHERE email LIKE 'perf+%%'")

    [result] = execute(plan_cleanup(_env(), url), {SEEDED_DATA}, confirmed=True)

    assert not result.ok
    assert "would also delete 1 row of public.reviews that perfdash did not create" in result.detail
    assert _count(url, "reviews") == 1
    assert seeded_rows(url) == {"public.customers": 20, "public.orders": 60}


def test_protected_environment_is_never_cleaned(seeded: Secret) -> None:
    env = _env("staging", protected=True)
    _q(seeded, "UPDATE perfdash.ledger SET environment = 'staging'")  # staging's own rows
    plan = plan_cleanup(env, seeded)
    data = plan.action(SEEDED_DATA)
    assert isinstance(data, RemoveSeededData)
    assert not data.available
    assert data.reason == "environment 'staging' is protected: perfdash never deletes data there"
    assert data.rows_by_table == {"public.orders": 60, "public.customers": 20}

    [result] = execute(plan, {SEEDED_DATA}, confirmed=True)
    assert not result.ok
    assert "is protected: perfdash never deletes data there" in result.detail
    # Even an action built by hand as available is refused.
    forged = RemoveSeededData("staging", data.rows_by_table, data.run_ids, True, seeded)
    [again] = execute(type(plan)("staging", (forged,)), {SEEDED_DATA}, confirmed=True)
    assert not again.ok
    assert seeded_rows(seeded) == {"public.customers": 20, "public.orders": 60}


def test_nothing_is_deleted_without_confirmation(seeded: Secret) -> None:
    plan = plan_cleanup(_env(), seeded)
    with pytest.raises(CleanupNotConfirmed, match="needs a confirmation"):
        execute(plan, {SEEDED_DATA}, confirmed=False)
    assert seeded_rows(seeded) == {"public.customers": 20, "public.orders": 60}


def test_ledger_needs_create_rights_and_says_how_to_grant_them(
        pg_cluster: ThrowawayPostgres, shop: Secret) -> None:
    dbname = str(_q(shop, "SELECT current_database()")[0][0])
    role = f"seeder_{dbname[-8:]}"
    _q(shop, f"CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'")
    _q(shop, f"GRANT SELECT, INSERT ON customers, orders TO {role}")
    _q(shop, f"GRANT SELECT ON products TO {role}")
    _q(shop, f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
    limited = Secret(psycopg.conninfo.make_conninfo(shop.reveal(), user=role,
                                                    password=f"pw-{role}"))
    with pytest.raises(SeedError) as err:
        seed(limited, "run-x", _env())
    assert str(err.value) == (
        f"role {role} may not create perfdash's ledger (schema perfdash) in database {dbname}; as "
        f"the database owner run `GRANT CREATE ON DATABASE {dbname} TO {role};` or create it once "
        f"with `CREATE SCHEMA perfdash AUTHORIZATION {role};`; nothing was seeded.")
    assert _count(shop, "customers") == BASE_CUSTOMERS

    _q(shop, f"CREATE SCHEMA perfdash AUTHORIZATION {role}")
    assert seed(limited, "run-x", _env()).rows_by_table == {"public.customers": 20,
                                                            "public.orders": 60}


# ------------------------------------------------------------------------ backend and compose


FORKING_SERVER = """
import os, signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
worker = os.fork()
print("ready", os.getpid(), worker, flush=True)
time.sleep(600)
"""


def _live_members(pgid: int) -> list[int]:
    out = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                out.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return out


def test_stop_backend_stops_the_started_process_group_without_orphans(tmp_path: Path) -> None:
    supervisor = Supervisor()
    child = supervisor.start(LaunchRequest("backend", [sys.executable, "-c", FORKING_SERVER],
                                           tmp_path, tmp_path / "out", tmp_path / "err"))
    try:
        deadline = time.monotonic() + 10
        while b"ready" not in (tmp_path / "out").read_bytes():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert len(_live_members(child.pid)) == 2

        plan = plan_cleanup(_env(seed_sql=None), None, backend=child)
        assert plan.names == [BACKEND]
        stop = plan.action(BACKEND)
        assert stop is not None
        assert stop.available
        assert stop.describe() == (f"stop the backend perfdash started (pid {child.pid}): INT, then "
                                   "TERM, then KILL to its process group")
        [result] = execute(plan, {BACKEND}, confirmed=True)
        assert result.ok, result.detail
        assert _live_members(child.pid) == []
        assert child.poll() is not None
    finally:
        supervisor.stop_all()


def test_stop_backend_stops_the_real_demo_backend(shop: Secret, tmp_path: Path) -> None:
    supervisor = Supervisor()
    backend = DemoBackend(supervisor, shop, Secret("t-" + os.urandom(8).hex()), tmp_path / "app.log",
                          tmp_path)
    try:
        backend.start()
        plan = plan_cleanup(_env(), shop, backend=backend)
        assert plan.names == [SEEDED_DATA, BACKEND]
        assert plan.available() == {BACKEND}  # nothing seeded yet
        [result] = execute(plan, {BACKEND}, confirmed=True)
        assert result.ok, result.detail
        assert _live_members(backend.pid) == []
        # Asked again, the backend is simply already gone.
        [again] = execute(plan_cleanup(_env(), None, backend=backend), {BACKEND}, confirmed=True)
        assert (again.ok, again.detail) == (True, f"the backend (pid {backend.pid}) had already exited")
    finally:
        supervisor.stop_all()


def test_stop_command_runs_with_a_timeout_in_its_own_group(tmp_path: Path) -> None:
    supervisor = Supervisor()
    target = supervisor.start(LaunchRequest("app", ["sleep", "600"], tmp_path, tmp_path / "o",
                                            tmp_path / "e"))
    try:
        env = _env(seed_sql=None, stop_command=f"kill {target.pid}")
        [ok] = execute(plan_cleanup(env, None, cwd=tmp_path), {BACKEND}, confirmed=True)
        assert ok.ok
        assert ok.detail.startswith(f"ran `kill {target.pid}` (exit 0")
        assert target.wait(5).returncode < 0

        hung = plan_cleanup(_env(seed_sql=None, stop_command="sleep 60.5 & sleep 60.5"), None,
                            cwd=tmp_path, timeout_s=0.5)
        started = time.monotonic()
        [late] = execute(hung, {BACKEND}, confirmed=True)
        assert not late.ok
        assert late.detail == ("`sleep 60.5 & sleep 60.5` did not finish within 0.5 s and was "
                               "stopped; the backend may still run")
        assert time.monotonic() - started < 10
        # A killed process can still show for a moment on its way out (state D while it exits).
        deadline = time.monotonic() + 5
        while (left := [p for p in psutil.process_iter(["cmdline", "status"])
                        if p.info["cmdline"] == ["sleep", "60.5"]
                        and p.info["status"] != psutil.STATUS_ZOMBIE]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left
    finally:
        supervisor.stop_all()


def test_compose_down_without_docker_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compose = tmp_path / "My Stack" / "docker-compose.yml"
    compose.parent.mkdir()
    compose.write_text("services:\n  db:\n    image: postgres:16\n")
    env = _env(seed_sql=None, compose_file=compose)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)

    plan = plan_cleanup(env, None)
    down = plan.action(COMPOSE)
    assert down is not None
    assert not down.available
    assert down.reason == f"docker is not installed: cannot run `docker compose -f {compose} down`"
    assert down.describe().endswith("of compose project 'mystack' (volumes are kept)")
    [result] = execute(plan, {COMPOSE}, confirmed=True)
    assert (result.ok, result.detail) == (False, down.reason)


@pytest.mark.slow  # starts its own docker CLI
@pytest.mark.skipif(not any((Path(d) / "docker").exists()
                            for d in os.environ.get("PATH", "").split(os.pathsep)),
                    reason="the docker CLI is not installed here")
def test_compose_down_with_docker_but_no_engine_says_so(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("name: perfstack\nservices:\n  db:\n    image: postgres:16\n")
    plan = plan_cleanup(_env(seed_sql=None, compose_file=compose), None)
    down = plan.action(COMPOSE)
    assert down is not None
    if down.available:
        pytest.skip("a docker engine is running here")
    assert down.reason.startswith("the docker engine is not running (Cannot connect to the Docker "
                                  "daemon")
    assert down.reason.endswith(f"cannot run `docker compose -f {compose} down`; start Docker, then "
                                "run cleanup again")
    unknown, result = execute(plan, {COMPOSE, "nonsense"}, confirmed=True)
    assert (unknown.name, unknown.ok) == ("nonsense", False)
    assert (result.name, result.ok, result.detail) == (COMPOSE, False, down.reason)
