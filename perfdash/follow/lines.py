"""Complete lines of a file another process is appending to.

A writer killed mid-line leaves a last line without its newline; such a tail is held back until
its newline arrives and is never handed on (a recording cut short ends at its last whole line).
A line longer than a read's chunk (a log batch of escaped binary can pass 4 MB) is read on until
its newline, so a finished recording is always read whole; a line past `MAX_LINE` is no event
perfdash writes, and is skipped with a note instead of being held in memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

from perfdash.artifacts import open_regular

CHUNK = 1 << 20
MAX_LINE = 32 << 20  # bytes; perfdash's longest events (log batches) stay well below 8 MB


def _size(n: int) -> str:
    return f"{n >> 20} MB" if n >= 1 << 20 else f"{n} bytes"


class LineReader:
    """Reads what was appended since the last call, as whole lines; the file may not exist yet."""

    def __init__(self, path: Path, start: int = 0, *, max_line: int = MAX_LINE) -> None:
        """`start` must be a line boundary: where an earlier reader of the same file stopped."""
        self.path = path
        self._file: IO[Any] | None = None
        self._partial = b""
        self._skipping = False  # inside a line past `max_line`: dropped up to its newline
        self._max_line = max_line
        self._notes: list[str] = []
        self.offset = start  # bytes handed on as whole lines (or skipped), from the file's start

    def _open(self) -> IO[Any] | None:
        if self._file is None:
            try:
                self._file = open_regular(self.path, "rb")
            except (FileNotFoundError, OSError):
                return None
            if self.offset:
                self._file.seek(self.offset)
        return self._file

    def pending(self) -> int:
        """Bytes written but not read yet: how far behind the reader is."""
        f = self._open()
        if f is None:
            return 0
        try:
            return max(0, os.fstat(f.fileno()).st_size - f.tell())
        except OSError:
            return 0

    def read(self, max_bytes: int = CHUNK) -> list[str]:
        """The whole lines appended since the last read: about `max_bytes` of them, more when one
        line is longer than that (it is read to its newline, or to what is written of it so far)."""
        f = self._open()
        if f is None:
            return []
        while True:
            data = f.read(max(1, max_bytes))
            if not data:
                return []
            skipped = False
            if self._skipping:
                data = self._skip(data)
                skipped = not self._skipping
            buf = self._partial + data
            *whole, self._partial = buf.split(b"\n")
            self.offset += len(buf) - len(self._partial)
            if whole or skipped:  # a line ended: never read past it for more (serve's own
                # readers stop at the shared tail's offset, a line boundary)
                return [line.decode("utf-8", errors="replace") for line in whole if line]
            if len(self._partial) > self._max_line:
                self._note_skipped()

    def _skip(self, data: bytes) -> bytes:
        """What follows the end of a line being skipped (nothing while it goes on)."""
        end = data.find(b"\n")
        if end < 0:
            self.offset += len(data)
            return b""
        self.offset += end + 1
        self._skipping = False
        return data[end + 1:]

    def _note_skipped(self) -> None:
        start = self.offset
        self.offset += len(self._partial)
        self._partial = b""
        self._skipping = True
        self._notes.append(f"{self.path.name}: the line at byte {start} is longer than "
                           f"{_size(self._max_line)}, more than any event perfdash records, "
                           "and was skipped (the file was damaged or written by something else)")

    def take_notes(self) -> list[str]:
        """What was skipped since the last call, one sentence each (for the follower to say)."""
        notes, self._notes = self._notes, []
        return notes

    @property
    def partial(self) -> bytes:
        """The unfinished last line held back so far (never handed on)."""
        return self._partial

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
