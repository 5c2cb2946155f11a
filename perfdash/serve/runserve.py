"""`perfdash run --serve HOST:PORT`: what the CLI wraps a run in. Cheap to import: the HTTP
server (aiohttp) is only imported when a run is actually served."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from perfdash.events import Bus
from perfdash.serve.token import TOKEN_ENV, ServeError, parse_bind, serve_token

if TYPE_CHECKING:
    from perfdash.serve.server import EventServer


def serve_run(spec: str, bus: Bus, env_file: Path | None,
              say: Callable[[str], None]) -> EventServer:
    """Starts serving the run that will be published on `bus`; raises ServeError. The token is
    said once, here, when it was generated (never logged, never recorded)."""
    from perfdash.serve.server import EventServer

    bind = parse_bind(spec)
    token = serve_token(env_file)
    server = EventServer(bind, token.secret)
    server.attach_to(bus)
    server.start()
    where = "loopback only" if bind.loopback else "reachable from other machines"
    if token.generated:
        say(f"serving this run's events on {bind.url} ({where}); token, shown only now: "
            f"{token.secret.reveal()}\n  follow it with: {TOKEN_ENV}=<token> perfdash attach "
            f"{bind.url}")
    else:
        say(f"serving this run's events on {bind.url} ({where}); clients need the token in "
            f"{TOKEN_ENV}")
    return server


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def serving(spec: str | None, bus: Bus, env_file: Path | None,
            error: Callable[[str], None]) -> Iterator[bool]:
    """Serves the run for the duration of the block when `spec` is given. Yields False when it
    cannot (after `error` said why); at the end every client gets the rest and `end`."""
    if not spec:
        yield True
        return
    try:
        server = serve_run(spec, bus, env_file, _stderr)
    except ServeError as exc:
        error(str(exc))
        yield False
        return
    try:
        yield True
    finally:
        server.close()


def add_serve_flag(parser: object) -> None:
    """`--serve HOST:PORT` on `run` and `demo`."""
    add = getattr(parser, "add_argument", None)
    if add is None:
        return
    add("--serve", metavar="HOST:PORT", default=None,
        help="serve the run's event stream on HOST:PORT for `perfdash attach http://HOST:PORT` "
             "(a bare PORT means 127.0.0.1; clients need the token printed at the start, or "
             f"{TOKEN_ENV} from the shell or .env.performance)")
