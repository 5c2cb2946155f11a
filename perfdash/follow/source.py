"""Where a follower's lines come from: the `Source` seam, and the local one (a run directory).

A source hands on whole recorded lines in batches and says when nothing more will come. The local
source reads `events.ndjson` as the run appends it and asks the run's lock (perfdash.run.liveness)
at most once a second whether the run is still there, so a killed run is noticed within about a
second of its last write instead of being waited for forever. The HTTP source (perfdash.serve)
fits the same seam.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from perfdash.follow.lines import LineReader
from perfdash.run.liveness import holder_pid, run_alive

# More than this many bytes already waiting after a read: the follower is catching up (or lagging)
# and keeps only the newest samples of what is waiting.
BEHIND_BYTES = 64 * 1024
EVENTS_FILE = "events.ndjson"


@dataclass(frozen=True)
class Batch:
    """Whole lines of the recording; `behind`: more was already waiting when these were read;
    `ended`: nothing more will come, with `reason` saying why when the source knows."""

    lines: list[str] = field(default_factory=list)
    behind: bool = False
    ended: bool = False
    reason: str = ""


class Source(Protocol):
    """A run's recording as it grows, wherever it is."""

    @property
    def where(self) -> str: ...

    def next_batch(self, timeout: float) -> Batch: ...

    def close(self) -> None: ...


class LocalSource:
    """A run directory on this machine, followed through its events.ndjson and its lock."""

    def __init__(self, run_dir: Path, *, poll_s: float = 0.2, alive_every_s: float = 1.0) -> None:
        self.run_dir = run_dir
        self._reader = LineReader(run_dir / EVENTS_FILE)
        self._poll_s = poll_s
        self._alive_every_s = alive_every_s
        self._next_alive_check = 0.0
        self._closed = threading.Event()

    @property
    def where(self) -> str:
        return str(self.run_dir)

    @property
    def reader(self) -> LineReader:
        return self._reader

    def next_batch(self, timeout: float) -> Batch:
        deadline = time.monotonic() + timeout
        while not self._closed.is_set():
            lines = self._reader.read()
            if lines:
                return Batch(lines, behind=self._reader.pending() > BEHIND_BYTES)
            now = time.monotonic()
            if now >= self._next_alive_check:
                self._next_alive_check = now + self._alive_every_s
                if run_alive(self.run_dir) is not True:
                    last = self._reader.read()  # what it wrote between the read and the check
                    if last:
                        return Batch(last)
                    pid = holder_pid(self.run_dir)
                    return Batch(ended=True, reason=(f"its process{f' (pid {pid})' if pid else ''}"
                                                     " is gone"))
            if now >= deadline:
                return Batch()
            self._closed.wait(min(self._poll_s, max(0.0, deadline - now)))
        return Batch(ended=True, reason="detached")

    def close(self) -> None:
        self._closed.set()
        self._reader.close()
