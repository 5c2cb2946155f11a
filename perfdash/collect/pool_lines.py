"""Connection-pool lines in the application's log, in the wording of the pools people use.

Applications often say it themselves when their pool runs dry: HikariCP's "Connection is not
available" and its housekeeping "Pool stats (… waiting=25)", SQLAlchemy's "QueuePool limit of size
5 overflow 10 reached", psycopg_pool's "couldn't get a connection after 30.00 sec" or its
`get_stats()` (`requests_waiting`), node-postgres' "timeout exceeded when trying to connect".
The app-log tail hands every block of whole lines here; the counts and the largest number of
waiters a line reported become evidence for the pool finding.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

# (library, pattern); a named group `waiting` holds the number of requests waiting when the line says
PATTERNS: Final[tuple[tuple[str, bytes], ...]] = (
    ("HikariCP", rb"HikariPool-\d+ - Connection is not available"),
    ("HikariCP", rb"HikariPool-\d+ - [^\n]*?stats \(total=\d+, active=\d+, idle=0, waiting=(?P<w1>\d+)\)"),
    ("SQLAlchemy", rb"QueuePool limit of size \d+ overflow -?\d+ reached"),
    ("psycopg_pool", rb"couldn't get a connection after [\d.]+ sec"),
    ("psycopg_pool", rb"""requests_waiting['"]?\s*[:=]\s*(?P<w2>[1-9]\d*)"""),
    ("node-postgres", rb"timeout exceeded when trying to connect"),
    ("node-postgres", rb"""waitingCount['"]?\s*[:=]\s*(?P<w3>[1-9]\d*)"""),
)
_ANY: Final = re.compile(b"|".join(b"(" + p + b")" for _, p in PATTERNS))
# A literal each pattern needs: bytes.find runs in C at memory speed, the alternation of patterns
# in Python's engine at about 64 ms per MB, so blocks without any of these skip the regex.
_NEEDLES: Final = (b"HikariPool-", b"QueuePool limit", b"couldn't get a connection",
                   b"requests_waiting", b"timeout exceeded when trying", b"waitingCount")
EXAMPLE_CHARS: Final = 240


@dataclass
class PoolLines:
    """Counts of pool-exhaustion lines per library, the most waiters one reported, one example.
    `pattern` adds the application's own wording (the environment's `pool_log_pattern`)."""

    by_library: Counter[str] = field(default_factory=Counter)
    max_waiting: int = 0
    example: str | None = None
    pattern: str | None = None

    def feed(self, block: bytes) -> None:
        if self.pattern is not None:
            own = re.compile(self.pattern.encode(), re.M)
            for m in own.finditer(block):
                self.by_library["pool_log_pattern"] += 1
                self._keep_example(block, m.start(), m.end())
        if not any(needle in block for needle in _NEEDLES):
            return
        for m in _ANY.finditer(block):
            index = next(i for i, g in enumerate(m.groups()) if g is not None)
            library = self._library_of(index)
            self.by_library[library] += 1
            for name in ("w1", "w2", "w3"):
                value = m.group(name)
                if value:
                    self.max_waiting = max(self.max_waiting, int(value))
            self._keep_example(block, m.start(), m.end())

    def _keep_example(self, block: bytes, at: int, until: int) -> None:
        if self.example is None:
            start = block.rfind(b"\n", 0, at) + 1
            end = block.find(b"\n", until)
            line = block[start:end if end >= 0 else len(block)]
            self.example = line.decode("utf-8", "replace")[:EXAMPLE_CHARS]

    @staticmethod
    def _library_of(group_index: int) -> str:
        """The library of the pattern whose outer group matched (inner named groups count too)."""
        seen = 0
        for library, pattern in PATTERNS:
            if seen == group_index:
                return library
            seen += 1 + re.compile(pattern).groups
        return "unknown"

    def to_json(self) -> dict[str, Any] | None:
        if not self.by_library:
            return None
        return {"by_library": dict(self.by_library), "lines": sum(self.by_library.values()),
                "max_waiting": self.max_waiting or None, "example": self.example}
