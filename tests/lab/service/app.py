"""The lab API's routes. Each planted problem lives on its own route, so all of them run side by side.

Healthy: `GET /health`, `GET /api/accounts/{id}`. Planted (on when named in LAB_PATHOLOGIES):
- lock      `POST /api/transfers`: the shared house account row is locked FOR UPDATE, then a slow
            call outside the database runs while the transaction stays open.
- pool      the pool holds 4 connections instead of 20.
- nplus1    `GET /api/orders/{id}`: one query lists 50 item ids, then one query per item.
- expr      `GET /api/transfers/search`: `lower(memo) = lower($1)` with no index on lower(memo).
- composite `GET /api/accounts/{id}/events`: account_id + created_at with no index on both.
- flaky     `GET /api/quote`: the pricing upstream fails on about 20% of requests (502).
- cpu       `GET /api/report`: ~25 ms (LAB_REPORT_CPU_MS) of pure-Python work on the event loop per request.
The catalogue (LAB_PATHOLOGIES=catalogue):
- deadlock  `POST /api/swap`: moves money between two accounts, updating them in the order given, so
            two opposite swaps deadlock (clean: in id order).
- spill     `GET /api/leaderboard`: page 500 of a GROUP BY over all events with work_mem at 64 kB,
            so its sort spills to disk (clean: the server's work_mem).
- churn     `GET /api/ping-db`: a new database connection per request (clean: the pool).
- leak      `GET /api/profile`: keeps 400 kB per request in a process-wide list (clean: nothing kept).
- throttle  `GET /api/suggest`: a 5-a-second rate limit answering 429 beyond it (clean: no limit).
- slowdep   `GET /api/rates`: asks a slow exchange-rate service (300 ms) on every request (clean:
            its answer is cached for 10 s).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs; the lab is not part of perfdash
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from . import db
from .config import Config

pool_log = logging.getLogger("lab.pool")
quote_log = logging.getLogger("lab.quote")
log = logging.getLogger("lab.app")

HOUSE_ACCOUNT = 1  # every transfer pays its fee to this one account: the shared hot row
FEE_CENTS = 25
FRAUD_CHECK_S = 0.05  # the slow call to a fraud-scoring service
ITEMS_PER_ORDER = 50
FLAKY_SHARE = 0.2
# CPU per report request: the lab's "cpu" test instance raises it (LAB_REPORT_CPU_MS=100) and its
# profile adds report users, so the event loop nears one core; beside the other problems it stays
# small enough not to hide them.
REPORT_CPU_S = float(os.environ.get("LAB_REPORT_CPU_MS", "25")) / 1000
REPORT_CACHE_S = 10.0
POOL_WAIT_WARN_S = 0.05
SWAP_STEP_S = 0.02  # between the two updates of a swap: room for the opposite swap to lock
LEAK_BYTES = 400_000
SUGGEST_PER_S = 5.0
RATES_SERVICE_S = 0.3
RATES_CACHE_S = 10.0


@dataclass
class State:
    cfg: Config
    pool: asyncpg.Pool
    rng: random.Random = field(default_factory=random.Random)
    last_pool_warning: float = 0.0
    report: dict[str, Any] | None = None
    report_at: float = 0.0
    kept: list[bytes] = field(default_factory=list)  # the leak
    bucket: float = SUGGEST_PER_S
    bucket_at: float = 0.0
    rates: dict[str, float] | None = None
    rates_at: float = 0.0


class TransferIn(BaseModel):
    from_account: int
    amount_cents: int
    memo: str


def _state(request: Request) -> State:
    state: State = request.app.state.lab
    return state


@asynccontextmanager
async def connection(state: State) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection. A long wait that began with every connection open and busy (the pool
    exhausted, not merely opening one more) is logged, at most once a second."""
    pool = state.pool
    exhausted = pool.get_idle_size() == 0 and pool.get_size() >= pool.get_max_size()
    start = time.perf_counter()
    async with pool.acquire() as conn:
        waited = time.perf_counter() - start
        now = time.monotonic()
        if exhausted and waited >= POOL_WAIT_WARN_S and now - state.last_pool_warning >= 1.0:
            state.last_pool_warning = now
            pool_log.warning("waited %.0f ms for a database connection: all %d in use (pool max_size=%d)",
                             waited * 1000, pool.get_size(), pool.get_max_size())
        yield conn


def _aware(when: datetime | None, default_days: int) -> datetime:
    if when is None:
        return datetime.now(UTC) - timedelta(days=default_days)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def crunch(seconds: float) -> int:
    """Pure-Python arithmetic for `seconds` of this thread's CPU time: the report's aggregation."""
    end = time.thread_time() + seconds
    acc = 0
    while time.thread_time() < end:
        for j in range(2000):
            acc = (acc * 31 + j) % 1_000_003
    return acc


def create_app(cfg: Config) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.prepare(cfg)
        pool = await db.open_pool(cfg)
        app.state.lab = State(cfg, pool)
        log.info("lab-api ready: pathologies=%s pool max_size=%d", cfg.label, pool.get_max_size())
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="lab-api", lifespan=lifespan)

    @app.get("/health")
    async def health(request: Request) -> dict[str, str]:
        return {"status": "ok", "pathologies": _state(request).cfg.label}

    @app.get("/api/accounts/{account_id}")
    async def account(request: Request, account_id: int) -> dict[str, Any]:
        async with connection(_state(request)) as conn:
            row = await conn.fetchrow(
                "SELECT id, owner, balance_cents, created_at FROM accounts WHERE id = $1", account_id)
        if row is None:
            raise HTTPException(404, f"no account {account_id}")
        return dict(row)

    @app.get("/api/accounts/{account_id}/events")
    async def account_events(request: Request, account_id: int,
                             since: datetime | None = None) -> dict[str, Any]:
        async with connection(_state(request)) as conn:
            rows = await conn.fetch(
                "SELECT id, kind, detail, created_at FROM events "
                "WHERE account_id = $1 AND created_at >= $2 ORDER BY created_at",
                account_id, _aware(since, 30))
        return {"account_id": account_id, "events": [dict(r) for r in rows]}

    @app.post("/api/transfers", status_code=201)
    async def create_transfer(request: Request, body: TransferIn) -> dict[str, Any]:
        state = _state(request)
        if body.from_account == HOUSE_ACCOUNT or body.amount_cents <= 0:
            raise HTTPException(422, "transfers come from a customer account and move a positive amount")
        if state.cfg.has("lock"):
            return await _transfer_holding_the_house_row(state, body)
        return await _transfer_checked_first(state, body)

    @app.get("/api/transfers/search")
    async def search_transfers(request: Request, memo: str, since: datetime | None = None,
                               limit: int = 20) -> dict[str, Any]:
        async with connection(_state(request)) as conn:
            rows = await conn.fetch(
                "SELECT id, from_account, amount_cents, memo, created_at FROM transfers "
                "WHERE lower(memo) = lower($1) AND created_at >= $2 ORDER BY created_at DESC LIMIT $3",
                memo, _aware(since, 60), min(max(limit, 1), 100))
        return {"memo": memo, "transfers": [dict(r) for r in rows]}

    @app.get("/api/orders/{order_id}")
    async def order(request: Request, order_id: int) -> dict[str, Any]:
        state = _state(request)
        async with connection(state) as conn:
            head = await conn.fetchrow(
                "SELECT id, account_id, status, created_at FROM orders WHERE id = $1", order_id)
            if head is None:
                raise HTTPException(404, f"no order {order_id}")
            ids = [r["id"] for r in await conn.fetch(
                "SELECT id FROM order_items WHERE order_id = $1 ORDER BY id", order_id)]
            if state.cfg.has("nplus1"):
                items = [await conn.fetchrow(
                    "SELECT id, sku, qty, price_cents FROM order_items WHERE id = $1", item_id)
                    for item_id in ids]
            else:
                items = list(await conn.fetch(
                    "SELECT id, sku, qty, price_cents FROM order_items WHERE id = ANY($1::bigint[]) "
                    "ORDER BY id", ids))
        lines = [dict(i) for i in items if i is not None]
        return {**dict(head), "items": lines,
                "total_cents": sum(i["qty"] * i["price_cents"] for i in lines)}

    @app.get("/api/quote")
    async def quote(request: Request) -> Any:
        state = _state(request)
        await asyncio.sleep(0.005)  # the pricing upstream's answer
        if state.cfg.has("flaky") and state.rng.random() < FLAKY_SHARE:
            quote_log.warning("pricing upstream failed: connection reset by peer")
            return JSONResponse({"error": "pricing upstream unavailable"}, status_code=502)
        return {"pair": "EUR/USD", "rate": round(1.08 + state.rng.random() / 100, 5)}

    @app.get("/api/report")
    async def report(request: Request) -> dict[str, Any]:
        state = _state(request)
        if state.cfg.has("cpu"):
            return {"checksum": crunch(REPORT_CPU_S), "cached": False}
        now = time.monotonic()
        if state.report is None or now - state.report_at >= REPORT_CACHE_S:
            state.report = {"checksum": await asyncio.to_thread(crunch, REPORT_CPU_S)}
            state.report_at = now
        return {**state.report, "cached": True}

    @app.post("/api/swap")
    async def swap(request: Request, first: int, second: int, cents: int = 1) -> Any:
        state = _state(request)
        planted = state.cfg.has("deadlock")
        # planted: the order given, with a pause between the two updates; clean: both in one
        # statement (the two users' swaps of one pair still queue on its rows, for microseconds)
        if not planted:  # clean: one statement, so no lock is held across a round trip
            async with connection(state) as conn:
                await conn.execute(
                    "UPDATE accounts SET balance_cents = balance_cents + CASE id WHEN $1 THEN -$3::bigint "
                    "ELSE $3::bigint END WHERE id IN ($1, $2)", first, second, cents)
            return {"swapped": [first, second], "cents": cents}
        order = (first, second)
        try:
            async with connection(state) as conn, conn.transaction():
                await _quick_deadlock_detection(conn)
                for n, account_id in enumerate(order):
                    delta = -cents if account_id == first else cents
                    await conn.execute(
                        "UPDATE accounts SET balance_cents = balance_cents + $2 WHERE id = $1",
                        account_id, delta)
                    if n == 0:
                        await asyncio.sleep(SWAP_STEP_S)
        except asyncpg.exceptions.DeadlockDetectedError:
            log.error("swap %d -> %d: deadlock detected, transaction aborted", first, second)
            return JSONResponse({"error": "deadlock, try again"}, status_code=500)
        return {"swapped": [first, second], "cents": cents}

    @app.get("/api/leaderboard")
    async def leaderboard(request: Request) -> dict[str, Any]:
        state = _state(request)
        async with connection(state) as conn, conn.transaction():
            if state.cfg.has("spill"):
                await conn.execute("SET LOCAL work_mem = '64kB'")
            # page 500 of the leaderboard: the sort keeps 5,010 rows, ~200 kB
            rows = await conn.fetch(
                "SELECT account_id, count(*) AS n, max(created_at) AS last FROM events "
                "GROUP BY account_id ORDER BY n DESC, account_id LIMIT 10 OFFSET $1", 5000)
        return {"page": 500, "rows": [dict(r) for r in rows]}

    @app.get("/api/ping-db")
    async def ping_db(request: Request) -> dict[str, Any]:
        state = _state(request)
        if state.cfg.has("churn"):
            conn = await asyncpg.connect(state.cfg.db_url,
                                         server_settings={"application_name": db.APPLICATION_NAME})
            try:
                value = await conn.fetchval("SELECT count(*) FROM accounts WHERE id <= $1", 10)
            finally:
                await conn.close()
        else:
            async with connection(state) as pooled:
                value = await pooled.fetchval("SELECT count(*) FROM accounts WHERE id <= $1", 10)
        return {"ok": True, "accounts": value}

    @app.get("/api/profile")
    async def profile(request: Request) -> dict[str, Any]:
        state = _state(request)
        page = os.urandom(LEAK_BYTES)  # the rendered profile, say
        if state.cfg.has("leak"):
            state.kept.append(page)  # "cached" forever
        return {"bytes": len(page), "kept": len(state.kept)}

    @app.get("/api/suggest")
    async def suggest(request: Request, q: str = "a") -> Any:
        state = _state(request)
        if state.cfg.has("throttle"):
            now = time.monotonic()
            state.bucket = min(SUGGEST_PER_S, state.bucket + (now - state.bucket_at) * SUGGEST_PER_S)
            state.bucket_at = now
            if state.bucket < 1.0:
                return JSONResponse({"error": "slow down"}, status_code=429,
                                    headers={"Retry-After": "1"})
            state.bucket -= 1.0
        return {"q": q, "suggestions": [q + s for s in ("bc", "de", "fg")]}

    @app.get("/api/rates")
    async def rates(request: Request) -> dict[str, Any]:
        state = _state(request)
        now = time.monotonic()
        if state.cfg.has("slowdep") or state.rates is None or now - state.rates_at >= RATES_CACHE_S:
            await asyncio.sleep(RATES_SERVICE_S)  # the exchange-rate service's answer
            state.rates, state.rates_at = {"EUR/USD": 1.08, "GBP/USD": 1.27}, now
        return {"rates": state.rates}

    return app


async def _quick_deadlock_detection(conn: asyncpg.Connection) -> None:
    """A deadlock found in 50 ms, not the default second: the swap's cost is the abort, not a long
    wait (a superuser setting; without the right, the server's default stays)."""
    try:
        async with conn.transaction():  # a savepoint: a refused SET leaves the swap's transaction usable
            await conn.execute("SET LOCAL deadlock_timeout = '50ms'")
    except asyncpg.exceptions.InsufficientPrivilegeError:
        pass


async def _transfer_holding_the_house_row(state: State, body: TransferIn) -> dict[str, Any]:
    """The planted lock: the house row stays locked across the fraud check."""
    async with connection(state) as conn, conn.transaction():
        await conn.fetchrow("SELECT id, balance_cents FROM accounts WHERE id = $1 FOR UPDATE",
                            HOUSE_ACCOUNT)
        await asyncio.sleep(FRAUD_CHECK_S)
        await conn.execute("UPDATE accounts SET balance_cents = balance_cents + $2 WHERE id = $1",
                           HOUSE_ACCOUNT, FEE_CENTS)
        row = await conn.fetchrow(
            "INSERT INTO transfers (from_account, amount_cents, fee_cents, memo) "
            "VALUES ($1, $2, $3, $4) RETURNING id, created_at",
            body.from_account, body.amount_cents, FEE_CENTS, body.memo)
    assert row is not None
    return dict(row)


async def _transfer_checked_first(state: State, body: TransferIn) -> dict[str, Any]:
    """Clean: the fraud check runs before the transaction; no shared row is locked (the house's
    fees are summed from transfers.fee_cents when needed)."""
    await asyncio.sleep(FRAUD_CHECK_S)
    async with connection(state) as conn, conn.transaction():
        await conn.execute("UPDATE accounts SET balance_cents = balance_cents - $2 WHERE id = $1",
                           body.from_account, body.amount_cents + FEE_CENTS)
        row = await conn.fetchrow(
            "INSERT INTO transfers (from_account, amount_cents, fee_cents, memo) "
            "VALUES ($1, $2, $3, $4) RETURNING id, created_at",
            body.from_account, body.amount_cents, FEE_CENTS, body.memo)
    assert row is not None
    return dict(row)
