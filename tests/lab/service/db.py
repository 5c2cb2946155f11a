"""The lab's database: schema and seed at start, the indexes the pathologies remove, the pool."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # no stubs; the lab is not part of perfdash

from .config import Config

log = logging.getLogger("lab.schema")
HERE = Path(__file__).resolve().parent
APPLICATION_NAME = "lab-api"
POOL_MAX_SMALL = 4  # the `pool` pathology: fewer connections than the routes hold at once
POOL_MAX = 20
POOL_MIN = 2
# The index each pathology leaves out; the clean service has it.
INDEXES = {
    "expr": ("transfers_lower_memo_idx", "CREATE INDEX IF NOT EXISTS transfers_lower_memo_idx "
                                         "ON transfers (lower(memo))"),
    "composite": ("events_account_created_idx", "CREATE INDEX IF NOT EXISTS events_account_created_idx "
                                                "ON events (account_id, created_at)"),
}
# Two services starting on one database at once take turns.
_PREPARE_LOCK = 4_200_042


async def prepare(cfg: Config) -> None:
    """Schema, seed (once) and indexes; runs on one connection before the pool opens."""
    conn = await asyncpg.connect(cfg.db_url, server_settings={"application_name": "lab-setup"})
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _PREPARE_LOCK)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        except asyncpg.PostgresError as exc:
            log.warning("pg_stat_statements is not available (%s); the lab's ground truth needs it", exc)
        await conn.execute((HERE / "schema.sql").read_text())
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM accounts)"):
            async with conn.transaction():
                await conn.execute((HERE / "seed.sql").read_text())
            log.info("seeded an empty database")
        for pathology, (index, create) in INDEXES.items():
            if cfg.has(pathology):
                await conn.execute(f"DROP INDEX IF EXISTS {index}")
            else:
                await conn.execute(create)
        await conn.execute("ANALYZE accounts, transfers, orders, order_items, events")
        await conn.execute("SELECT pg_advisory_unlock($1)", _PREPARE_LOCK)
    finally:
        await conn.close()


async def open_pool(cfg: Config) -> asyncpg.Pool:
    max_size = POOL_MAX_SMALL if cfg.has("pool") else POOL_MAX
    pool = await asyncpg.create_pool(cfg.db_url, min_size=POOL_MIN, max_size=max_size,
                                     server_settings={"application_name": APPLICATION_NAME})
    assert pool is not None
    return pool
