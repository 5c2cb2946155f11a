"""A child's output on its way to its log file (`k6.stderr.log`, `backend.stdout.log`, ...), passed
through the run's redactor: a k6 `setup()` that prints the connection string, or a backend that
logs its settings, must not leave a password in the results directory, which `serve` hands out.

The supervisor starts one `RedactedCopy` per output stream of a child it starts with a redactor.
Whole lines are redacted at once (no secret form and no redaction pattern spans a newline), so a
secret split across two reads of the pipe is still found; a line with no end in sight is written
once it reaches `MAX_PENDING`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import IO, Protocol

MAX_PENDING = 1 << 20  # bytes of one unfinished line held back before they are written anyway
_CHUNK = 1 << 16


class Redact(Protocol):
    """What `perfdash.secret.Redactor` offers: a fast "nothing to do" test and the redaction."""

    def clean(self, text: str) -> bool: ...

    def __call__(self, text: str) -> str: ...


def redact_bytes(data: bytes, redact: Redact) -> bytes:
    """`data` with every secret taken out; bytes that are not UTF-8 pass through unchanged."""
    text = data.decode("utf-8", "surrogateescape")
    if redact.clean(text):
        return data
    return redact(text).encode("utf-8", "surrogateescape")


class RedactedCopy(threading.Thread):
    """Copies a pipe into a file, whole lines at a time through `redact`, until the pipe closes
    (the child and everything that inherited its output have exited); then closes both."""

    def __init__(self, source: IO[bytes], target: IO[bytes], redact: Redact,
                 on_error: Callable[[str], None] | None = None) -> None:
        super().__init__(name=f"redacted-copy:{getattr(target, 'name', '?')}", daemon=True)
        self._source = source
        self._target = target
        self._redact = redact
        self._on_error = on_error

    def run(self) -> None:
        pending = b""
        try:
            while chunk := self._read():
                pending += chunk
                cut = pending.rfind(b"\n") + 1
                if cut == 0:
                    if len(pending) < MAX_PENDING:
                        continue
                    cut = len(pending)
                self._write(pending[:cut])
                pending = pending[cut:]
            if pending:
                self._write(pending)
        except (OSError, ValueError) as exc:  # a full disk: keep draining, so the child never blocks
            if self._on_error is not None:
                self._on_error(f"cannot write {getattr(self._target, 'name', 'a child log')}: {exc}")
            with contextlib.suppress(OSError, ValueError):
                while self._read():
                    pass
        finally:
            for stream in (self._source, self._target):
                with contextlib.suppress(OSError):
                    stream.close()

    def _read(self) -> bytes:
        read1 = getattr(self._source, "read1", None)
        return bytes(read1(_CHUNK) if read1 is not None else self._source.read(_CHUNK))

    def _write(self, data: bytes) -> None:
        self._target.write(redact_bytes(data, self._redact))
        self._target.flush()  # live readers (the follower, attach, serve) see each line as it comes
