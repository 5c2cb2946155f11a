"""The demo shop backend that perfdash load-tests, as a process: a JSON API and Socket.IO on PostgreSQL.

`DemoBackend` (perfdash/demo/backend.py) runs it as
`python -m perfdash.demo.server --host H --port N --log-file PATH`, with the database URL in
`PERF_DATABASE_URL` and the API token in `PERF_API_TOKEN` (never on the command line, never
logged). This module owns the process: its arguments, its log file, the connection pool and the
signals that stop it; the routes and handlers are perfdash.demo.shop, and `PERFDASH_DEMO_SLOW`
(endpoints slowed by a known amount) is perfdash.demo.slowdown.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from aiohttp import web
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from perfdash.demo.shop import DemoShop, Pool
from perfdash.demo.slowdown import SLOW_ENV, Slowdown, parse_slowdowns
from perfdash.secret import Secret, scrub

LOGGER_NAME: Final = "perfdash.demo.server"


class LineFormatter(logging.Formatter):
    """`2026-11-25T14:50:00.123Z INFO  GET /api/products 200 3.2ms`, secrets scrubbed, one line."""

    _LEVELS: Final = {"WARNING": "WARN", "CRITICAL": "ERROR"}

    def __init__(self, secrets: list[Secret]) -> None:
        super().__init__()
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        level = self._LEVELS.get(record.levelname, record.levelname)
        message = scrub(record.getMessage(), self._secrets).replace("\n", " | ")
        return f"{stamp[:-3]}Z {level:<5} {message}"


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    log_file: Path
    database_url: Secret
    token: Secret
    slowdowns: dict[str, Slowdown] | None = None


def make_logger(config: ServerConfig) -> logging.Logger:
    """A private logger writing only to the log file, scrubbing the token and the DB password."""
    secrets = [config.token, config.database_url]
    password = conninfo_to_dict(config.database_url.reveal()).get("password")
    if password:
        secrets.append(Secret(str(password)))
    config.log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(config.log_file, encoding="utf-8")
    handler.setFormatter(LineFormatter(secrets))
    log = logging.getLogger(LOGGER_NAME)
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


async def serve(config: ServerConfig) -> None:
    """Serve until SIGINT or SIGTERM, then disconnect sockets, stop HTTP and close the pool."""
    log = make_logger(config)
    pool: Pool = AsyncConnectionPool(
        config.database_url.reveal(),
        min_size=2,
        max_size=10,
        open=False,
        timeout=5.0,
        name="demo-backend",
        # Checking on checkout drops connections a database restart has broken, so /health
        # recovers on the first request after the database is back.
        check=AsyncConnectionPool.check_connection,
        kwargs={"autocommit": True, "application_name": "perfdash-demo-backend"},
    )
    # Not waiting: the server comes up (and /health says 503) even while the database is down.
    await pool.open(wait=False)
    shop = DemoShop(pool, config.token, log, config.slowdowns)
    if config.slowdowns:
        log.warning("%s: slowed on purpose: %s", SLOW_ENV,
                    ", ".join(f"{r} +{s.factor * 100:g}% +{s.fixed_ms:g}ms"
                              for r, s in config.slowdowns.items()))
    # Engine.IO's websocket handlers outlive a server-side disconnect and aiohttp waits for them
    # twice (to finish, then after cancelling), so a short timeout keeps a stop well inside the
    # supervisor's SIGINT window even with sockets open.
    runner = web.AppRunner(shop.build_app(), access_log=None, shutdown_timeout=0.5)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port)
        try:
            await site.start()
        except OSError as exc:
            log.error("cannot listen on %s:%d: %s", config.host, config.port, exc)
            raise
        host, port = _bound_address(runner, config)
        log.info("listening on http://%s:%d", host, port)
        await stop.wait()
        log.info("shutting down")
        for sid in list(shop.sockets):
            await shop.sio.disconnect(sid)
        await shop.sio.shutdown()
    finally:
        await runner.cleanup()
        await pool.close(timeout=2.0)
        log.info("stopped")
        for handler in log.handlers:
            handler.close()


def _bound_address(runner: web.AppRunner, config: ServerConfig) -> tuple[str, int]:
    """The address actually bound, so `--port 0` logs the port the kernel chose."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return str(address[0]), int(address[1])
    return config.host, config.port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m perfdash.demo.server",
        description="Demo shop backend; reads PERF_DATABASE_URL and PERF_API_TOKEN from the env.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--log-file", type=Path, required=True)
    args = parser.parse_args(argv)
    url = os.environ.pop("PERF_DATABASE_URL", "")
    token = os.environ.pop("PERF_API_TOKEN", "")
    if not url or not token:
        print("PERF_DATABASE_URL and PERF_API_TOKEN must both be set", file=sys.stderr)
        return 2
    try:
        slowdowns = parse_slowdowns(os.environ.get(SLOW_ENV, ""))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    config = ServerConfig(args.host, args.port, args.log_file, Secret(url), Secret(token), slowdowns)
    try:
        asyncio.run(serve(config))
    except OSError as exc:
        print(f"cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
