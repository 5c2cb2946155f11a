"""The demo backend end to end: seeding, every HTTP endpoint, Socket.IO, the log file, an outage of
the database and shutdown, against the session's real PostgreSQL cluster.

One backend serves the whole module; tests that stop or break a backend start their own.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
import socketio

from perfdash.demo.backend import DemoBackend
from perfdash.demo.database import prepare_database
from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.demo.shop import CUSTOMER_ORDERS_SQL
from perfdash.proc.supervisor import Supervisor
from perfdash.secret import Secret
from tests.conftest import make_database

pytestmark = pytest.mark.e2e

TOKEN = Secret(f"demo-token-{secrets.token_hex(12)}")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO |WARN |ERROR) \S.*$"
)


@dataclass(frozen=True)
class Demo:
    backend: DemoBackend
    url: str
    database_url: Secret
    counts: dict[str, int]
    log_file: Path


def call(
    url: str, method: str = "GET", body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """(status, decoded JSON) of one request, also for 4xx/5xx answers."""
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def bearer(token: Secret = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token.reveal()}", "Content-Type": "application/json"}


def query(url: Secret, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url.reveal(), autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def orders_seq_scans(url: Secret) -> int:
    rows = query(url, "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'orders'")
    return int(rows[0][0])


@pytest.fixture(scope="module")
def demo(pg_cluster: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    database_url = make_database(pg_cluster, "demo")
    started = time.monotonic()
    counts = prepare_database(database_url)
    print(f"seeded {counts} in {time.monotonic() - started:.2f}s")
    out = tmp_path_factory.mktemp("demo-backend")
    supervisor = Supervisor()
    log_file = out / "logs" / "backend.log"
    backend = DemoBackend(supervisor, database_url, TOKEN, log_file, out)
    try:
        url = backend.start()
        yield Demo(backend, url, database_url, counts, log_file)
    finally:
        backend.stop()
        supervisor.stop_all()


# ---------------------------------------------------------------------- database
def test_seeded_counts(demo: Demo) -> None:
    assert demo.counts["customers"] == 20_000
    assert demo.counts["products"] == 2_000
    assert demo.counts["orders"] >= 100_000


def test_prepare_database_is_idempotent(pg_cluster: ThrowawayPostgres) -> None:
    url = make_database(pg_cluster, "seed")
    first = prepare_database(url, customers=300, products=40, orders=3_000)
    assert first == {"customers": 300, "products": 40, "orders": 3_000}
    max_ids = query(url, "SELECT (SELECT max(id) FROM customers), (SELECT max(id) FROM orders)")
    assert prepare_database(url, customers=300, products=40, orders=3_000) == first
    assert query(url, "SELECT (SELECT max(id) FROM customers), (SELECT max(id) FROM orders)") == (
        max_ids
    )
    # Asking for more tops up rather than reseeding.
    assert prepare_database(url, customers=300, products=40, orders=3_500)["orders"] == 3_500


def test_customer_orders_query_is_a_seq_scan(demo: Demo) -> None:
    indexes = query(
        demo.database_url,
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'orders' AND indexdef LIKE %s",
        ("%customer_id%",),
    )
    assert indexes == []
    explain = query(demo.database_url, "EXPLAIN " + CUSTOMER_ORDERS_SQL, (42,))
    plan = "\n".join(row[0] for row in explain)
    assert "Seq Scan on orders" in plan
    assert "Index" not in plan


# ---------------------------------------------------------------------- HTTP
def test_health_and_products(demo: Demo) -> None:
    assert call(f"{demo.url}/health") == (200, {"status": "ok"})
    status, page = call(f"{demo.url}/api/products?limit=5&offset=10")
    assert status == 200
    assert page["count"] == 5
    assert [item["id"] for item in page["items"]] == [11, 12, 13, 14, 15]
    assert set(page["items"][0]) == {"id", "name", "price_cents", "stock"}
    assert call(f"{demo.url}/api/products")[1]["count"] == 20
    assert call(f"{demo.url}/api/products?limit=abc")[0] == 400
    status, product = call(f"{demo.url}/api/products/7")
    assert (status, product["id"]) == (200, 7)
    assert call(f"{demo.url}/api/products/9999999") == (404, {"error": "not found"})
    assert call(f"{demo.url}/api/products/99999999999") == (404, {"error": "not found"})
    assert call(f"{demo.url}/no/such/path") == (404, {"error": "not found"})


def test_create_order_needs_the_token(demo: Demo) -> None:
    order = {"customer_id": 17, "product_id": 3, "quantity": 2}
    no_token = {"Content-Type": "application/json"}
    assert call(f"{demo.url}/api/orders", "POST", order, no_token) == (
        401, {"error": "unauthorized"}
    )
    wrong = bearer(Secret("not-the-token"))
    assert call(f"{demo.url}/api/orders", "POST", order, wrong)[0] == 401
    status, created = call(f"{demo.url}/api/orders", "POST", order, bearer())
    assert status == 201
    assert isinstance(created["id"], int)
    for bad in (b"not json", [1, 2], {"customer_id": 17, "product_id": 3},
                {**order, "quantity": 0}, {**order, "quantity": True},
                {**order, "customer_id": 10_000_000}):
        assert call(f"{demo.url}/api/orders", "POST", bad, bearer())[0] == 400, bad
    # The new order is the customer's most recent one.
    status, orders = call(f"{demo.url}/api/customers/17/orders")
    assert status == 200
    assert orders["items"][0]["id"] == created["id"]
    assert orders["items"][0]["status"] == "pending"


def test_customer_orders_endpoint_seq_scans_orders(demo: Demo) -> None:
    before = orders_seq_scans(demo.database_url)
    status, orders = call(f"{demo.url}/api/customers/123/orders")
    assert status == 200
    assert orders["customer_id"] == 123
    assert 0 < orders["count"] == len(orders["items"]) <= 50
    dates = [item["created_at"] for item in orders["items"]]
    assert dates == sorted(dates, reverse=True)
    # Backends flush their table statistics about once a second when idle.
    deadline = time.monotonic() + 5
    while orders_seq_scans(demo.database_url) <= before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert orders_seq_scans(demo.database_url) > before


def test_slow_report_shows_in_pg_stat_statements(demo: Demo) -> None:
    started = time.monotonic()
    status, report = call(f"{demo.url}/api/reports/slow")
    elapsed = time.monotonic() - started
    assert status == 200
    assert elapsed >= 0.15
    assert {row["status"] for row in report["items"]} <= {
        "pending", "paid", "shipped", "delivered", "cancelled"
    }
    slow = query(
        demo.database_url,
        "SELECT query, mean_exec_time FROM pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND mean_exec_time > 100",
    )
    assert any("pg_sleep" in text for text, _ in slow), slow


# ---------------------------------------------------------------------- Socket.IO
async def test_socketio_echo_and_order_status(demo: Demo) -> None:
    client = socketio.AsyncClient()
    echoed: asyncio.Queue[object] = asyncio.Queue()

    async def on_echo(data: object) -> None:
        await echoed.put(data)

    client.on("echo", on_echo)
    await client.connect(demo.url, auth={"token": TOKEN.reveal()}, wait_timeout=5)
    try:
        payload = {"hello": "world", "n": [1, 2, 3]}
        ack = await client.call("echo", payload, timeout=5)
        assert ack == {"status": "ok", "data": payload}
        assert await asyncio.wait_for(echoed.get(), 5) == payload

        ack = await client.call("order:status", {"order_id": 1}, timeout=5)
        assert ack["status"] == "ok"
        assert ack["order"]["id"] == 1
        assert ack["order"]["status"] in {"pending", "paid", "shipped", "delivered", "cancelled"}
        ack = await client.call("order:status", {"order_id": 10**12}, timeout=5)
        assert ack == {"status": "not found"}
    finally:
        await client.disconnect()


async def test_socketio_token_in_query_string(demo: Demo) -> None:
    client = socketio.AsyncClient()
    await client.connect(f"{demo.url}?token={TOKEN.reveal()}", wait_timeout=5)
    try:
        assert await client.call("echo", "hi", timeout=5) == {"status": "ok", "data": "hi"}
    finally:
        await client.disconnect()


@pytest.mark.parametrize("auth", [None, {"token": "wrong"}])
async def test_socketio_rejects_handshake_without_token(demo: Demo, auth: object) -> None:
    client = socketio.AsyncClient()
    errors: list[object] = []
    client.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(demo.url, auth=auth, wait_timeout=5)
    assert errors
    assert "unauthorized" in str(errors[0])


# ---------------------------------------------------------------------- log file
def test_log_file_has_request_lines_and_no_secrets(
    demo: Demo, pg_cluster: ThrowawayPostgres
) -> None:
    call(f"{demo.url}/api/products?limit=2&token={TOKEN.reveal()}")
    call(f"{demo.url}/api/reports/slow")
    call(f"{demo.url}/api/orders", "POST", {"customer_id": 1}, bearer())
    text = demo.log_file.read_text()
    lines = text.splitlines()
    assert [line for line in lines if not LOG_LINE.match(line)] == []
    assert any(re.search(r" INFO  listening on http://127\.0\.0\.1:\d+$", line) for line in lines)
    assert any(re.search(r" INFO  GET /api/products 200 \d+\.\dms$", line) for line in lines)
    assert any(re.search(r" WARN  GET /api/reports/slow 200 \d+\.\dms$", line) for line in lines)
    assert any(" INFO  POST /api/orders 400 " in line for line in lines)
    assert TOKEN.reveal() not in text
    assert pg_cluster.password.reveal() not in text
    for name in ("demo-backend.stdout", "demo-backend.stderr"):
        assert TOKEN.reveal() not in (demo.log_file.parent.parent / name).read_text()


async def test_log_file_records_sockets(demo: Demo) -> None:
    client = socketio.AsyncClient()
    await client.connect(demo.url, auth={"token": TOKEN.reveal()}, wait_timeout=5)
    await client.disconnect()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await socketio.AsyncClient().connect(demo.url, wait_timeout=5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = demo.log_file.read_text()
        if " socket disconnect " in text:
            break
        await asyncio.sleep(0.1)
    assert re.search(r" INFO  socket connect \S+ from 127\.0\.0\.1", text)
    assert " INFO  socket disconnect " in text
    assert " WARN  socket handshake rejected from 127.0.0.1: unauthorized" in text
    assert TOKEN.reveal() not in text


# ---------------------------------------------------------------------- failures and shutdown
def test_health_reports_an_outage_and_recovers(demo: Demo, pg_cluster: ThrowawayPostgres) -> None:
    pg_cluster.pause()
    try:
        assert call(f"{demo.url}/health") == (503, {"status": "db unavailable"})
    finally:
        pg_cluster.resume()
    deadline = time.monotonic() + 15
    while call(f"{demo.url}/health")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert call(f"{demo.url}/health") == (200, {"status": "ok"})
    assert call(f"{demo.url}/api/products/1")[0] == 200
    assert re.search(r" ERROR GET /health 503 \d+\.\dms PoolTimeout", demo.log_file.read_text())


def test_stop_leaves_no_process(demo: Demo, tmp_path: Path) -> None:
    supervisor = Supervisor()
    backend = DemoBackend(supervisor, demo.database_url, TOKEN, tmp_path / "b.log", tmp_path)
    try:
        url = backend.start()
        assert url == backend.base_url
        assert call(f"{url}/health")[0] == 200
        pid = backend.pid
        outcome = backend.stop()
    finally:
        supervisor.stop_all()
    assert outcome is not None
    assert outcome.returncode == 0
    assert outcome.stopped_by == "SIGINT"
    assert not psutil.pid_exists(pid)
    assert (tmp_path / "b.log").read_text().rstrip().endswith("INFO  stopped")


def test_start_failure_names_the_log_file(demo: Demo, tmp_path: Path) -> None:
    supervisor = Supervisor()
    backend = DemoBackend(supervisor, demo.database_url, Secret(""), tmp_path / "b.log", tmp_path)
    try:
        with pytest.raises(RuntimeError, match=r"exited with code 2.*b\.log"):
            backend.start(timeout=20)
    finally:
        supervisor.stop_all()


def test_start_times_out_without_a_database(demo: Demo, tmp_path: Path) -> None:
    closed = Secret("postgresql://postgres:pw@127.0.0.1:1/none?connect_timeout=1")
    supervisor = Supervisor()
    backend = DemoBackend(supervisor, closed, TOKEN, tmp_path / "b.log", tmp_path)
    try:
        with pytest.raises(RuntimeError, match=r"not healthy within 1\.5s .*b\.log"):
            backend.start(timeout=1.5)
        assert backend.child.poll() is not None
    finally:
        supervisor.stop_all()
