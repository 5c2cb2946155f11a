"""Complete lines of a file another process is appending to.

A writer killed mid-line leaves a last line without its newline; such a tail is held back until
its newline arrives and is never handed on (a recording cut short ends at its last whole line).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

from perfdash.artifacts import open_regular

CHUNK = 1 << 20


class LineReader:
    """Reads what was appended since the last call, as whole lines; the file may not exist yet."""

    def __init__(self, path: Path, start: int = 0) -> None:
        """`start` must be a line boundary: where an earlier reader of the same file stopped."""
        self.path = path
        self._file: IO[Any] | None = None
        self._partial = b""
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
        """The whole lines appended since the last read (at most about `max_bytes` of them)."""
        f = self._open()
        if f is None:
            return []
        data = f.read(max_bytes)
        if not data:
            return []
        buf = self._partial + data
        *whole, self._partial = buf.split(b"\n")
        self.offset += len(buf) - len(self._partial)
        return [line.decode("utf-8", errors="replace") for line in whole if line]

    @property
    def partial(self) -> bytes:
        """The unfinished last line held back so far (never handed on)."""
        return self._partial

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
