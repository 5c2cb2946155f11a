"""The demo shop's routes and handlers: its JSON API and Socket.IO events on one connection pool.

It has one planted finding (no index behind `/api/customers/{id}/orders`) and one deliberately
slow endpoint, so a run always has something to show, and writes one log line per request, in the
format perfdash's log collector parses. perfdash.demo.server builds it and serves it.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qs

import psycopg
import socketio
from aiohttp import web
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from perfdash.demo.slowdown import Slowdown
from perfdash.secret import Secret

SLOW_REQUEST_MS: Final = 100.0
ORDERS_PER_CUSTOMER_PAGE: Final = 50
_INT4_MAX: Final = 2**31 - 1

# The planted finding: orders has no index on customer_id, so this seq-scans every order.
CUSTOMER_ORDERS_SQL: Final = (
    "SELECT id, product_id, quantity, status, created_at FROM orders "
    "WHERE customer_id = %s ORDER BY created_at DESC LIMIT 50"
)
# A management report that sleeps 150 ms in the database, so pg_stat_statements always has one
# statement with a mean above 100 ms. The CTE is materialised so the sleep runs exactly once.
SLOW_REPORT_SQL: Final = """
WITH pause AS MATERIALIZED (SELECT pg_sleep(0.15))
SELECT o.status, count(*) AS orders, sum(o.quantity)::bigint AS units,
       sum(o.quantity * p.price_cents)::bigint AS revenue_cents
FROM orders o JOIN products p ON p.id = o.product_id CROSS JOIN pause
WHERE o.created_at > now() - make_interval(days => 30)
GROUP BY o.status ORDER BY revenue_cents DESC
"""

Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _ClientError(Exception):
    """A request the client got wrong; the middleware answers `status` with `{"error": message}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_dumps: Final = functools.partial(json.dumps, default=_json_default)


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def _positive_int(value: object, name: str, upper: int = _INT4_MAX) -> int:
    # bool is an int subclass; `true` is not a quantity.
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= upper:
        raise _ClientError(400, f"{name} must be an integer between 1 and {upper}")
    return value


def _query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _ClientError(400, f"{name} must be an integer") from None
    if value < low:
        raise _ClientError(400, f"{name} must be at least {low}")
    return min(value, high)


def _path_id(request: web.Request) -> int:
    value = int(request.match_info["id"])
    if not 1 <= value <= _INT4_MAX:
        raise _ClientError(404, "not found")
    return value


class DemoShop:
    """The HTTP handlers and Socket.IO events, sharing one pool and the API token."""

    def __init__(self, pool: Pool, token: Secret, log: logging.Logger,
                 slowdowns: dict[str, Slowdown] | None = None) -> None:
        self.pool = pool
        self.token = token
        self.log = log
        self.slowdowns = slowdowns or {}
        self.sio: Any = socketio.AsyncServer(async_mode="aiohttp", json=_SocketJson)
        self.sockets: set[str] = set()

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._access_log])
        app.router.add_get("/health", self.health)
        app.router.add_get("/api/products", self.list_products)
        app.router.add_get(r"/api/products/{id:\d+}", self.get_product)
        app.router.add_get(r"/api/customers/{id:\d+}/orders", self.customer_orders)
        app.router.add_post("/api/orders", self.create_order)
        app.router.add_get("/api/reports/slow", self.slow_report)
        self.sio.attach(app)
        self.sio.on("connect", self.on_connect)
        self.sio.on("disconnect", self.on_disconnect)
        self.sio.on("echo", self.on_echo)
        self.sio.on("order:status", self.on_order_status)
        return app

    # ------------------------------------------------------------------ middleware
    @web.middleware
    async def _access_log(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Turn every failure into a JSON answer and write the one log line per request."""
        started = time.perf_counter()
        error = ""
        try:
            response = await handler(request)
        except _ClientError as exc:
            response = _json({"error": exc.message}, exc.status)
        except web.HTTPException as exc:
            response = _json({"error": (exc.reason or "error").lower()}, exc.status)
        except psycopg.OperationalError as exc:
            # Covers PoolTimeout and a server that went away mid-query; the pool reconnects.
            error = f"{type(exc).__name__}: {exc}"
            key = "status" if request.path == "/health" else "error"
            response = _json({key: "db unavailable"}, 503)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            response = _json({"error": "internal error"}, 500)
        if self.slowdowns:
            await self._slow_down(request, time.perf_counter() - started)
        # Socket.IO transports are logged as connect/disconnect; a websocket "request" lasts as
        # long as the socket, which would read as one endless slow request.
        if not request.path.startswith("/socket.io/"):
            elapsed_ms = (time.perf_counter() - started) * 1000
            # raw_path keeps percent-escapes (no newlines injected) and drops the query string.
            path = request.rel_url.raw_path
            line = f"{request.method} {path} {response.status} {elapsed_ms:.1f}ms"
            if response.status >= 500:
                self.log.error("%s%s", line, f" {error}" if error else "")
            elif elapsed_ms > SLOW_REQUEST_MS:
                self.log.warning("%s", line)
            else:
                self.log.info("%s", line)
        return response

    async def _slow_down(self, request: web.Request, elapsed_s: float) -> None:
        """The `PERFDASH_DEMO_SLOW` delay of this request's route, if it has one."""
        route = request.match_info.route.resource
        slow = self.slowdowns.get(route.canonical) if route is not None else None
        if slow is not None:
            await asyncio.sleep(slow.extra_s(elapsed_s))

    # ------------------------------------------------------------------ HTTP
    async def _fetch(self, query: str, params: tuple[object, ...] = ()) -> list[DictRow]:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchall()

    async def health(self, request: web.Request) -> web.Response:
        async with self.pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
        return _json({"status": "ok"})

    async def list_products(self, request: web.Request) -> web.Response:
        limit = _query_int(request, "limit", 20, 1, 100)
        offset = _query_int(request, "offset", 0, 0, _INT4_MAX)
        items = await self._fetch(
            "SELECT id, name, price_cents, stock FROM products ORDER BY id LIMIT %s OFFSET %s",
            (limit, offset),
        )
        return _json({"items": items, "count": len(items)})

    async def get_product(self, request: web.Request) -> web.Response:
        rows = await self._fetch(
            "SELECT id, name, price_cents, stock FROM products WHERE id = %s", (_path_id(request),)
        )
        if not rows:
            raise _ClientError(404, "not found")
        return _json(rows[0])

    async def customer_orders(self, request: web.Request) -> web.Response:
        customer_id = _path_id(request)
        items = await self._fetch(CUSTOMER_ORDERS_SQL, (customer_id,))
        return _json({"customer_id": customer_id, "items": items, "count": len(items)})

    async def create_order(self, request: web.Request) -> web.Response:
        if not self._authorized(request.headers.get("Authorization", "")):
            raise _ClientError(401, "unauthorized")
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise _ClientError(400, "body must be a JSON object") from None
        if not isinstance(body, dict):
            raise _ClientError(400, "body must be a JSON object")
        customer_id = _positive_int(body.get("customer_id"), "customer_id")
        product_id = _positive_int(body.get("product_id"), "product_id")
        quantity = _positive_int(body.get("quantity"), "quantity", upper=1000)
        try:
            rows = await self._fetch(
                "INSERT INTO orders (customer_id, product_id, quantity, status) "
                "VALUES (%s, %s, %s, 'pending') RETURNING id",
                (customer_id, product_id, quantity),
            )
        except psycopg.errors.ForeignKeyViolation:
            raise _ClientError(400, "unknown customer_id or product_id") from None
        return _json({"id": rows[0]["id"]}, 201)

    async def slow_report(self, request: web.Request) -> web.Response:
        return _json({"window_days": 30, "items": await self._fetch(SLOW_REPORT_SQL)})

    def _authorized(self, header: str) -> bool:
        scheme, _, presented = header.partition(" ")
        return scheme.lower() == "bearer" and self._token_matches(presented.strip())

    def _token_matches(self, presented: object) -> bool:
        if not isinstance(presented, str) or not presented:
            return False
        return hmac.compare_digest(presented.encode(), self.token.reveal().encode())

    # ------------------------------------------------------------------ Socket.IO
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        presented = auth.get("token") if isinstance(auth, dict) else None
        if presented is None:
            presented = parse_qs(str(environ.get("QUERY_STRING", ""))).get("token", [None])[0]
        peer = environ.get("REMOTE_ADDR", "?")
        if not self._token_matches(presented):
            self.log.warning("socket handshake rejected from %s: unauthorized", peer)
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        self.sockets.add(sid)
        self.log.info("socket connect %s from %s", sid, peer)

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        self.sockets.discard(sid)
        self.log.info("socket disconnect %s (%s)", sid, reason or "unknown")

    async def on_echo(self, sid: str, data: object = None) -> dict[str, object]:
        await self.sio.emit("echo", data, to=sid)
        return {"status": "ok", "data": data}

    async def on_order_status(self, sid: str, data: object = None) -> dict[str, object]:
        order_id = data.get("order_id") if isinstance(data, dict) else None
        if not isinstance(order_id, int) or isinstance(order_id, bool) or order_id < 1:
            return {"status": "bad request"}
        try:
            rows = await self._fetch("SELECT id, status FROM orders WHERE id = %s", (order_id,))
        except psycopg.Error as exc:
            self.log.error("socket order:status failed: %s: %s", type(exc).__name__, exc)
            return {"status": "error"}
        if not rows:
            return {"status": "not found"}
        return {"status": "ok", "order": {"id": rows[0]["id"], "status": rows[0]["status"]}}


class _SocketJson:
    """The `json` module python-socketio should use, so acks may carry dates and numerics."""

    @staticmethod
    def dumps(obj: object, **kwargs: Any) -> str:
        return json.dumps(obj, default=_json_default, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        return json.loads(text, **kwargs)

