"""The lab's two logs, in the formats a backend behind nginx usually leaves behind.

`app.log`: Python logging, `2026-12-04 20:31:02,123 WARNING lab.pool: ...`.
`access.log`: nginx "combined" followed by `$request_time` in seconds, written by an ASGI middleware
around the whole app, so the time is the server's own (queueing for the pool and a blocked event
loop included, the client's network excluded).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

APP_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
access = logging.getLogger("lab.access")


def setup(log_dir: Path) -> None:
    """app.log takes every logger (uvicorn's included); access.log takes only the request lines."""
    log_dir.mkdir(parents=True, exist_ok=True)
    app_handler = logging.FileHandler(log_dir / "app.log")
    app_handler.setFormatter(logging.Formatter(APP_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [app_handler]
    root.setLevel(logging.INFO)
    access_handler = logging.FileHandler(log_dir / "access.log")
    access_handler.setFormatter(logging.Formatter("%(message)s"))
    access.handlers[:] = [access_handler]
    access.setLevel(logging.INFO)
    access.propagate = False


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1")).replace('"', "\\x22")
    return "-"


def combined_line(scope: Scope, status: int, size: int, seconds: float, now: float) -> str:
    client = scope.get("client")
    addr = client[0] if client else "-"
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))
    target = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        target += "?" + query
    request = f'{scope["method"]} {target} HTTP/{scope.get("http_version", "1.1")}'
    return (f'{addr} - - [{stamp}] "{request}" {status} {size} "{_header(scope, b"referer")}" '
            f'"{_header(scope, b"user-agent")}" {seconds:.3f}')


class AccessLog:
    """One combined-format line per HTTP request, written when the response has been sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, size = 500, 0

        async def counting_send(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            access.info(combined_line(scope, status, size, time.perf_counter() - start, time.time()))
