"""`perfdash attach http://HOST:PORT`: the served event stream as a follower's source.

The stream is read in a daemon thread with its own asyncio loop and handed to the follower in
batches (the same seam as a local run directory). The run's files live on the other machine, so
the attacher keeps a mirror directory: the files the tools read the live chart's p95 line from as
soon as the load starts (k6's `k6-config.json`, perfdash.tools.live.LiveLimit) and the result
files the moment the verdict arrives, before the stream is let go; RunStarted and RunFinished are
rewritten to name the mirror, so the result view opens there like on the machine that ran it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import re
import threading
from pathlib import Path
from typing import IO, Any

import aiohttp

from perfdash.artifacts import EVENTS_NDJSON, SUMMARY_JSON
from perfdash.follow.records import record_type
from perfdash.follow.source import Batch
from perfdash.secret import Secret
from perfdash.serve.token import TOKEN_ENV
from perfdash.tools import live_limits

BEHIND_LINES = 500
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_END = object()


class AttachRefused(Exception):
    """The server answered but will not serve this client (401) or is not a perfdash server."""


class HttpSource:
    """A served run, read over HTTP into `mirror_root/<run id>/`."""

    def __init__(self, url: str, token: Secret | None, mirror_root: Path) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._mirror_root = mirror_root
        self.mirror: Path | None = None
        self._recording: IO[str] | None = None
        self._queue: queue.Queue[Any] = queue.Queue()
        self._closed = threading.Event()
        self.refused: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._thread_main, name="attach-http", daemon=True)
        self._thread.start()

    @property
    def where(self) -> str:
        return str(self.mirror) if self.mirror is not None else self.url

    # ------------------------------------------------------------------ the follower's side
    def next_batch(self, timeout: float) -> Batch:
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return Batch()
        lines: list[str] = []
        item = first
        while True:
            if isinstance(item, tuple):  # (_END, reason)
                return Batch(lines, ended=True, reason=item[1])
            lines.append(item)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return Batch(lines, behind=self._queue.qsize() > BEHIND_LINES)
            if len(lines) >= 5000:
                self._queue.put(item)  # keep order: hand it over with the next batch
                return Batch(lines, behind=True)

    def close(self) -> None:
        self._closed.set()
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)

    # ------------------------------------------------------------------ the stream
    def _thread_main(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            self._task = loop.create_task(self._main())
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            self._queue.put((_END, "detached"))
        finally:
            loop.close()
            if self._recording is not None:
                self._recording.close()

    async def _main(self) -> None:
        headers = {"Authorization": f"Bearer {self._token.reveal()}"} if self._token else {}
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=20)
        try:
            async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session, \
                    session.get(f"{self.url}/events") as resp:
                if resp.status == 401:
                    self.refused = (f"{self.url} refused this attacher (401): set {TOKEN_ENV} "
                                    "to the token `perfdash run --serve` printed (in the shell "
                                    "or .env.performance)")
                    self._queue.put((_END, self.refused))
                    return
                if resp.status != 200 or "text/event-stream" not in resp.content_type:
                    self.refused = (f"{self.url} answered {resp.status} {resp.content_type}: "
                                    "not a perfdash run served with --serve")
                    self._queue.put((_END, self.refused))
                    return
                reason = await self._read(session, resp)
        except aiohttp.ClientConnectorError as exc:
            reason = f"cannot reach {self.url} ({exc.strerror or exc})"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = f"the connection to {self.url} was lost ({type(exc).__name__})"
        self._queue.put((_END, reason))

    async def _read(self, session: aiohttp.ClientSession, resp: aiohttp.ClientResponse) -> str:
        """Lines until `end` (""), or why the stream stopped before it."""
        pending = b""
        async for chunk in resp.content.iter_any():  # no line-length limit: a log batch is long
            pending += chunk
            *whole, pending = pending.split(b"\n")
            for raw in whole:
                if await self._line(session, raw.decode("utf-8", errors="replace").rstrip("\r")):
                    return ""
            if self._recording is not None:
                self._recording.flush()  # once per chunk received, not per line
        return f"the connection to {self.url} closed"

    async def _line(self, session: aiohttp.ClientSession, line: str) -> bool:
        """One line of the stream; True at `end`."""
        if line == "event: end":
            return True
        if not line.startswith("data: "):
            return False  # blank separators and `: ping`
        data = line[6:]
        kind = record_type(data)
        if kind == "RunStarted":
            data = self._relocate(data, "run_dir", None)
        elif kind == "PhaseChanged" and '"phase": "load"' in data:
            await self._fetch(session, [limit.file for limit in live_limits()])
        elif kind == "RunFinished":
            await self._fetch(session, None)
            data = self._relocate(data, "summary_path", SUMMARY_JSON)
        self._record(data)
        if kind == "RunFinished" and self._recording is not None:
            # the follower may end the process as soon as it reads this: the mirror's recording
            # must hold it (and the lines of its chunk before it) by then, not at the chunk's end
            self._recording.flush()
        self._queue.put(data)
        return False

    def _record(self, line: str) -> None:
        """The mirror keeps the recording too, so `perfdash show --replay` works on it."""
        if self.mirror is None:
            return
        try:
            if self._recording is None:
                self._recording = (self.mirror / EVENTS_NDJSON).open("w", encoding="utf-8")
            self._recording.write(line + "\n")
        except OSError:
            pass

    def _relocate(self, line: str, key: str, name: str | None) -> str:
        """The record with `key` naming the local mirror instead of the other machine's path."""
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return line
        if key == "run_dir":
            run_id = str(record.get("run_id") or "run")
            safe = run_id if _SAFE_NAME.match(run_id) else "run"
            self.mirror = self._mirror_root / safe
            self.mirror.mkdir(parents=True, exist_ok=True)
        if self.mirror is None:
            return line
        record[key] = str(self.mirror / name) if name else str(self.mirror)
        return json.dumps(record)

    async def _fetch(self, session: aiohttp.ClientSession, names: list[str] | None) -> None:
        """Copies result files into the mirror (all that are served when `names` is None)."""
        if self.mirror is None:
            return
        try:
            if names is None:
                async with session.get(f"{self.url}/files") as resp:
                    listed = await resp.json() if resp.status == 200 else {}
                names = [n for n in listed if isinstance(n, str) and _SAFE_NAME.match(n)]
            for name in names:
                async with session.get(f"{self.url}/files/{name}") as resp:
                    if resp.status != 200:
                        continue
                    body = await resp.read()
                tmp = self.mirror / f".{name}.part"
                tmp.write_bytes(body)
                tmp.replace(self.mirror / name)
        except (aiohttp.ClientError, OSError, ValueError):
            return  # the result view says what is missing
