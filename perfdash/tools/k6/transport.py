"""Requests that k6 sent and got no answer to, read from its log.

k6 writes one `Request Failed` warning per request that ended without an HTTP response (refused,
reset, timed out, no such host) and none for a 4xx or 5xx answer, so counting them tells a backend
that answered every request with an error (a measured failure) from one that never answered (nothing
measured). The summary export cannot say which: both are `http_req_failed` samples.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from perfdash.artifacts import open_regular

MARK = b"Request Failed"
CHUNK_BYTES = 1 << 20
# Lines whose reason is read; past them the warnings are only counted (a refused port at full speed
# writes millions, and the first thousands already say why).
CLASSIFIED_LINES = 10_000
# `error="Get \"http://h/p\": dial tcp 127.0.0.1:9: connect: connection refused"` (logfmt) or
# `"error":"..."` (--log-format=json); the reason is the text after the error's last ": ".
_ERROR = re.compile(rb'"?error"?[=:]"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Unanswered:
    """How many requests got no answer, and the reasons of the first `CLASSIFIED_LINES` of them."""

    count: int
    reasons: Counter[str]

    def describe(self) -> str:
        """`connection refused ×20`, `request timeout ×6, connection reset by peer ×1`, or for a
        flood `connection refused ×10000 (the first 10000 of 200000 read)`."""
        top = self.reasons.most_common(3)
        shown = ", ".join(f"{why} ×{n}" for why, n in top)
        if not shown:
            return f"{self.count} without a reason"
        others = self.reasons.total() - sum(n for _, n in top)
        shown += f", {others} other" if others else ""
        read = self.reasons.total()
        return shown + (f" (the first {read} of {self.count} read)" if self.count > read else "")


def unanswered(run_dir: Path) -> Unanswered | None:
    """The requests of every k6 log in the run directory (one per generator when split) that got no
    answer; None when there is no k6 log to read."""
    logs = sorted(run_dir.glob("k6*.stderr.log"))
    count, reasons, readable = 0, Counter[str](), False
    for log in logs:
        try:
            with open_regular(log, "rb") as f:
                readable = True
                tail = b""
                while chunk := f.read(CHUNK_BYTES):
                    block = tail + chunk
                    cut = block.rfind(b"\n") + 1
                    block, tail = block[:cut], block[cut:]
                    count += _scan(block, reasons)
                count += _scan(tail, reasons)
        except OSError:
            continue
    return Unanswered(count, reasons) if readable else None


def _scan(block: bytes, reasons: Counter[str]) -> int:
    found = block.count(MARK)
    if not found or reasons.total() >= CLASSIFIED_LINES:
        return found
    for line in block.splitlines():
        if MARK not in line:
            continue
        m = _ERROR.search(line)
        why = m.group(1).decode("utf-8", "replace").rsplit(": ", 1)[-1] if m else "no reason given"
        reasons[why.strip() or "no reason given"] += 1
        if reasons.total() >= CLASSIFIED_LINES:
            break
    return found
