"""One reader of the run's recording for every event stream that has caught up with it.

With a reader per stream, twenty attachers meant twenty reads of events.ndjson and twenty wake-ups
every poll, all in the run's own process. Here a stream reads the file itself only while it
catches up; once it has reached what the shared tail has read, it subscribes and is handed each
new batch the tail reads, already encoded as events once for all of them. A subscriber that lets
too many batches pile up (a client that cannot keep up) is let go and goes back to the file from
its own offset: a slow client holds at most `max_queued` batches in memory and never slows the
others.
"""

from __future__ import annotations

import asyncio
from collections import deque
from pathlib import Path

from perfdash.follow.lines import LineReader

MAX_QUEUED = 64  # batches: about half a minute of a live run at two reads a second


def sse(lines: list[str]) -> bytes:
    """Lines as server-sent events, one `data:` record each."""
    return "".join(f"data: {line}\n\n" for line in lines).encode()


class Subscription:
    """What the tail has handed one stream and the stream has not sent yet."""

    def __init__(self, offset: int) -> None:
        self.offset = offset  # bytes of the recording this stream has taken, whole lines only
        self.batches: deque[tuple[bytes, int]] = deque()
        self.ready = asyncio.Event()
        self.dropped = False  # let go for falling behind: read the file from `offset` instead

    def take(self) -> bytes:
        """Every batch handed over so far as events, in order; `offset` moves past them."""
        taken: list[bytes] = []
        while self.batches:
            batch, end = self.batches.popleft()
            taken.append(batch)
            self.offset = end
        self.ready.clear()
        return b"".join(taken)


class SharedTail:
    """Reads the recording once per poll for all its subscribers (asyncio: one thread, no locks)."""

    def __init__(self, path: Path, max_queued: int = MAX_QUEUED) -> None:
        self.path = path
        self._reader = LineReader(path)
        self._subs: set[Subscription] = set()
        self._max_queued = max_queued
        self.complete = False  # the recording is finished and every line of it handed over

    @property
    def offset(self) -> int:
        """Bytes read so far, always at a line boundary."""
        return self._reader.offset

    def subscribe(self) -> Subscription:
        sub = Subscription(self.offset)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def poll(self) -> bool:
        """Reads one chunk of what was appended and hands it on; True if there were lines."""
        lines = self._reader.read()
        if not lines:
            return False
        events = sse(lines)  # encoded once for every subscriber
        for sub in list(self._subs):
            if len(sub.batches) >= self._max_queued:
                self._subs.discard(sub)
                sub.dropped = True
            else:
                sub.batches.append((events, self._reader.offset))
            sub.ready.set()
        return True

    def finish(self) -> None:
        """The run is over and everything is read: subscribers send what they hold and `end`."""
        self.complete = True
        for sub in self._subs:
            sub.ready.set()

    def close(self) -> None:
        self._reader.close()
