"""The HTTP side of `run --serve`: server-sent events from the run's recording, and its result files.

Runs its own asyncio loop in a daemon thread of the run's process. Each `/events` client gets its
own reader of events.ndjson from the start (catch-up), then the lines as they are appended, so the
run never waits for a client and a client that cannot keep up only falls behind itself (the
attacher then skips to the newest samples). Streams that have caught up share one reader of the
file (`tail.SharedTail`), so twenty of them cost one read a poll, not twenty. When the run is
over (`close`), every stream gets the rest of the recording and an `end` event; the server waits
a few seconds for clients to fetch the result files and leave.

Routes, all behind the bearer token: `GET /events` (text/event-stream, one `data:` line per
recorded event, `event: end` last), `GET /files` (the result files, JSON) and `GET /files/NAME`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import re
import stat
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from perfdash.artifacts import RunPaths
from perfdash.events import Bus, Event, RunStarted
from perfdash.follow.lines import CHUNK, LineReader
from perfdash.secret import Secret
from perfdash.serve.tail import SharedTail, Subscription, sse
from perfdash.serve.token import Bind, ServeError

POLL_S = 0.5  # how often the shared tail looks for new lines
PING_EVERY_S = 5.0
FILE_CHUNK = 256 * 1024
# What an attacher needs for the result view; every one of them is written without secrets (the
# run's logs are not served). events.ndjson itself goes through /events.
SERVED = re.compile(r"^(?!events\.ndjson$)[A-Za-z0-9][A-Za-z0-9._-]*\.(json|csv|ndjson|md)$")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class EventServer:
    """Serves one run; `attach_to(bus)` learns its directory from the run's RunStarted."""

    def __init__(self, bind: Bind, token: Secret, run_dir: Path | None = None) -> None:
        self.bind = bind
        self._token = token.reveal().encode()
        self._run_dir = run_dir
        self._closing = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._serve, name="serve", daemon=True)
        self._shared: SharedTail | None = None
        self._tail_task: asyncio.Task[None] | None = None
        self.streams = 0  # /events clients connected now
        self.clients_served = 0
        self.refused = 0

    # ------------------------------------------------------------------ lifecycle
    def attach_to(self, bus: Bus) -> None:
        def learn(event: Event) -> None:
            if isinstance(event, RunStarted) and self._run_dir is None:
                self._run_dir = Path(event.run_dir)
        bus.listen(learn)

    def start(self) -> None:
        """Listens before returning; a port in use is a ServeError with the fix."""
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise ServeError(f"cannot listen on {self.bind.host}:{self.bind.port}: "
                             f"{getattr(self._error, 'strerror', None) or self._error}; "
                             "pick another port with --serve HOST:PORT") from None

    def close(self, grace_s: float = 8.0) -> None:
        """The recording is complete: streams send what is left and `end`; clients get up to
        `grace_s` to fetch the result files and go, then the server stops."""
        self._closing.set()
        deadline = time.monotonic() + grace_s
        while self.streams and time.monotonic() < deadline:
            time.sleep(0.05)
        loop = self._loop
        if loop is not None and self._runner is not None and loop.is_running():
            if self._tail_task is not None:
                loop.call_soon_threadsafe(self._tail_task.cancel)
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(5)
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(5)

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/events", self._events)
        app.router.add_get("/files", self._files)
        app.router.add_get("/files/{name}", self._file)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.bind.host, self.bind.port).start()

    # ------------------------------------------------------------------ requests
    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Before routing: without the right token nothing else is looked at, not even the path."""
        header = request.headers.get("Authorization", "")
        given = header[7:].encode() if header.startswith("Bearer ") else b""
        if not hmac.compare_digest(given, self._token):
            self.refused += 1
            return web.Response(status=401, text="401: Unauthorized\n",
                                headers={"WWW-Authenticate": 'Bearer realm="perfdash"'})
        return await handler(request)

    async def _wait_run_dir(self) -> Path:
        while self._run_dir is None:
            await asyncio.sleep(POLL_S)
        return self._run_dir

    async def _events(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-store"})
        await resp.prepare(request)
        self.streams += 1
        self.clients_served += 1
        try:
            await self._stream(request, resp, await self._wait_run_dir())
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client left: nothing of the run changes
        finally:
            self.streams -= 1
        return resp

    def _tail(self, run_dir: Path) -> SharedTail:
        """The run's one shared reader, started with the first stream."""
        if self._shared is None:
            self._shared = SharedTail(RunPaths(run_dir).events)
            self._tail_task = asyncio.get_running_loop().create_task(self._follow(self._shared))
        return self._shared

    async def _follow(self, tail: SharedTail) -> None:
        try:
            while True:
                closing = self._closing.is_set()  # before the read: the last read sees it all
                if tail.poll():
                    await asyncio.sleep(0)  # catching up: a chunk at a time, streams in between
                    continue
                if closing:
                    tail.finish()
                    return
                await asyncio.sleep(POLL_S)
        finally:
            tail.close()

    async def _stream(self, request: web.Request, resp: web.StreamResponse, run_dir: Path) -> None:
        """Catches up from the file on its own, then takes the shared tail's batches; let go by
        the tail for falling behind, it goes back to the file where it stopped."""
        tail = self._tail(run_dir)
        own: LineReader | None = LineReader(RunPaths(run_dir).events)
        sub: Subscription | None = None
        try:
            while True:
                if own is not None:
                    gap = tail.offset - own.offset  # never read past the tail: no line twice
                    lines = own.read(min(gap, CHUNK)) if gap > 0 else []
                    if not lines and gap <= 0:
                        own.close()
                        own, sub = None, tail.subscribe()
                        continue
                    events = sse(lines)
                else:
                    assert sub is not None
                    events = sub.take()
                    if sub.dropped:
                        own, sub = LineReader(RunPaths(run_dir).events, sub.offset), None
                if events:
                    await resp.write(events)
                    continue
                if sub is None:
                    await asyncio.sleep(0)
                    continue
                if tail.complete:
                    await resp.write(b"event: end\n\n")
                    await self._until_client_leaves(request)
                    return
                try:
                    await asyncio.wait_for(sub.ready.wait(), PING_EVERY_S)
                except TimeoutError:
                    await resp.write(b": ping\n\n")  # a dead client shows up as a failed write
        finally:
            if own is not None:
                own.close()
            if sub is not None:
                tail.unsubscribe(sub)

    @staticmethod
    async def _until_client_leaves(request: web.Request, timeout_s: float = 6.0) -> None:
        """After `end` the client fetches the result files; the stream stays open until it goes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            await asyncio.sleep(0.05)

    def _listing(self) -> dict[str, os.stat_result]:
        """The result files and their identity: plain files of the run directory itself, never a
        symlink, nor a hard link (a second name of a file that may live anywhere on the disk)."""
        if self._run_dir is None:
            return {}
        out: dict[str, os.stat_result] = {}
        try:
            for path in self._run_dir.iterdir():
                if not SERVED.match(path.name):
                    continue
                st = path.lstat()
                if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
                    out[path.name] = st
        except OSError:
            return {}
        return out

    def _served_files(self) -> dict[str, int]:
        return {name: st.st_size for name, st in self._listing().items()}

    async def _files(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=json.dumps(self._served_files()),
                            content_type="application/json")

    async def _file(self, request: web.Request) -> web.StreamResponse:
        """One result file, opened without following a symlink and sent only when the opened
        file is the one the listing saw: a name swapped for a symlink or a hard link between the
        listing and the open is refused, not followed."""
        name = request.match_info["name"]
        listed = self._listing().get(name)
        if listed is None or self._run_dir is None:
            return web.Response(status=404, text="no such result file\n")
        try:
            fd = os.open(self._run_dir / name,
                         os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return web.Response(status=404, text="no such result file\n")
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not (stat.S_ISREG(st.st_mode) and st.st_nlink == 1
                    and (st.st_dev, st.st_ino) == (listed.st_dev, listed.st_ino)):
                return web.Response(status=404, text="no such result file\n")
            resp = web.StreamResponse(headers={"Content-Type": _content_type(name)})
            await resp.prepare(request)
            while chunk := await asyncio.to_thread(f.read, FILE_CHUNK):
                await resp.write(chunk)
            await resp.write_eof()
            return resp


def _content_type(name: str) -> str:
    return {"json": "application/json", "csv": "text/csv", "md": "text/markdown",
            "ndjson": "application/x-ndjson"}.get(name.rsplit(".", 1)[-1], "application/octet-stream")
