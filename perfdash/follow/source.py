"""Where a follower's lines come from: the `Source` seam, and the local one (a run directory).

A source hands on whole recorded lines in batches and says when nothing more will come. The local
source reads `events.ndjson` as the run appends it and asks the run's lock (perfdash.run.liveness)
at most once a second whether the run is still there, so a killed run is noticed within about a
second of its last write instead of being waited for forever. The HTTP source (perfdash.serve)
fits the same seam.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from perfdash.artifacts import RunPaths
from perfdash.follow.lines import LineReader
from perfdash.follow.records import record_type
from perfdash.run.liveness import LOCK_FILE, foreign_holder, holder_pid, run_alive

# More than this many bytes already waiting after a read: the follower is catching up (or lagging)
# and keeps only the newest samples of what is waiting.
BEHIND_BYTES = 64 * 1024
# Nothing recorded this long after attaching: say what is being waited for.
QUIET_NOTE_S = 5.0
# Checks in a row that find the lock held by something other than perfdash before believing it
# (a run writes its PID a moment after taking the lock).
FOREIGN_CHECKS = 2


@dataclass(frozen=True)
class Batch:
    """Whole lines of the recording; `behind`: more was already waiting when these were read;
    `ended`: nothing more will come, with `reason` saying why when the source knows."""

    lines: list[str] = field(default_factory=list)
    behind: bool = False
    ended: bool = False
    reason: str = ""
    notes: list[str] = field(default_factory=list)  # what the source skipped, one sentence each


class Source(Protocol):
    """A run's recording as it grows, wherever it is."""

    @property
    def where(self) -> str: ...

    def next_batch(self, timeout: float) -> Batch: ...

    def close(self) -> None: ...


class LocalSource:
    """A run directory on this machine, followed through its events.ndjson and its lock.

    The recording names the directory it was written in; a copied or moved run is followed where
    it is now, so the paths in RunStarted and RunFinished are rewritten to this directory (as the
    HTTP source rewrites them to its mirror), and the verdict is read from this copy's summary.
    """

    def __init__(self, run_dir: Path, *, poll_s: float = 0.2, alive_every_s: float = 1.0) -> None:
        self.run_dir = run_dir
        self._reader = LineReader(RunPaths(run_dir).events)
        self._poll_s = poll_s
        self._alive_every_s = alive_every_s
        self._next_alive_check = 0.0
        self._closed = threading.Event()
        self._foreign = 0  # alive checks in a row that found the lock held by something else
        self._quiet_since = time.monotonic()
        self._quiet_said = False  # a line arrived, or the wait was already said

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
            notes = self._reader.take_notes()
            if lines or notes:
                self._quiet_said = True
                return Batch(self._relocated(lines), behind=self._reader.pending() > BEHIND_BYTES,
                             notes=notes)
            now = time.monotonic()
            if now >= self._next_alive_check:
                self._next_alive_check = now + self._alive_every_s
                ended = self._ended()
                if ended is not None:
                    return ended
            if not self._quiet_said and now - self._quiet_since >= QUIET_NOTE_S:
                self._quiet_said = True
                pid = holder_pid(self.run_dir)
                return Batch(notes=[f"nothing recorded in {self.run_dir} yet: waiting for the run "
                                    f"holding its lock{f' (pid {pid})' if pid else ''} to start "
                                    "(q or Ctrl-C detaches)"])
            if now >= deadline:
                return Batch()
            self._closed.wait(min(self._poll_s, max(0.0, deadline - now)))
        return Batch(ended=True, reason="detached")

    def _ended(self) -> Batch | None:
        """The last batch when the run is over (its lock free, or held by something that is not
        perfdash), else None."""
        alive = run_alive(self.run_dir)
        foreign = foreign_holder(self.run_dir) if alive is True else None
        self._foreign = self._foreign + 1 if foreign is not None else 0
        if alive is True and self._foreign < FOREIGN_CHECKS:
            return None
        last = self._reader.read()  # what it wrote between the read and the check
        notes = self._reader.take_notes()
        if last or notes:
            return Batch(self._relocated(last), notes=notes)
        if foreign is not None:
            return Batch(ended=True, reason=f"its {LOCK_FILE} is held by {foreign}, not by a "
                                            "perfdash run")
        pid = holder_pid(self.run_dir)
        return Batch(ended=True, reason=f"its process{f' (pid {pid})' if pid else ''} is gone")

    def _relocated(self, lines: list[str]) -> list[str]:
        """The lines with the run's own paths pointing into this directory (see the class)."""
        out = lines
        for i, line in enumerate(lines):
            kind = record_type(line)
            if kind not in ("RunStarted", "RunFinished"):
                continue
            key, value = (("run_dir", self.run_dir) if kind == "RunStarted"
                          else ("summary_path", RunPaths(self.run_dir).summary))
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and key in record and record[key] != str(value):
                if out is lines:
                    out = list(lines)
                out[i] = json.dumps({**record, key: str(value)})
        return out

    def close(self) -> None:
        self._closed.set()
        self._reader.close()
