"""The database's workload during the load: statements ranked by total time, by calls and by mean,
whatever their mean (PgHero's and pganalyze's first page).

A report that lists only statements slower than 100 ms misses the two commonest problems: a
one-row lookup run fifty times per request (fast each time, first by calls) and a `SELECT … FOR
UPDATE` that waits on a row lock (first by total time, its mean only what the wait made it).

pg_stat_statements splits one statement into several queryids when the driver typed its parameters
differently (an id sent as int2 once and int4 the next), so rows with the same normalised text are
merged here, and the entry says how many queryids it holds. Transaction control, `SET` and friends,
the housekeeping a driver runs when a pooled connection is released (asyncpg's `CLOSE ALL`,
`SELECT pg_advisory_unlock_all()`, `UNLISTEN *`, `RESET ALL`) and the foreign-key checks
PostgreSQL runs for itself are kept (their time is real) but marked with
a `kind`, so no rule blames them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

TOP: Final = 25  # entries of each ranking kept in query-analysis.json (the N+1 rule needs the list query too)
_SPACE = re.compile(r"\s+")
_UTILITY = re.compile(
    r"^\s*(?:begin|commit|rollback|end|abort|start\s+transaction|savepoint|release|set|reset|show|"
    r"discard|deallocate|prepare\s+transaction|listen|unlisten|notify|vacuum|analyze|checkpoint|"
    r"close)\b|^\s*select\s+pg_advisory_unlock_all\s*\(\s*\)\s*;?\s*$",
    re.I,
)
_FK_CHECK = re.compile(
    r"^\s*select\s+(?:1|\$\d+)\s+from\s+only\s+.*\bfor\s+(?:key\s+)?share\s+of\b", re.I | re.S)


class StatementLike(Protocol):
    """One statement's window figures (`perfdash.analyze.database.WindowStatement`)."""

    @property
    def calls(self) -> int: ...
    @property
    def total_ms(self) -> float: ...
    @property
    def rows(self) -> int: ...
    @property
    def shared_blks_hit(self) -> int: ...
    @property
    def shared_blks_read(self) -> int: ...
    @property
    def temp_blks_written(self) -> int: ...
    @property
    def queryid(self) -> str: ...
    @property
    def query(self) -> str: ...


def kind_of(query: str) -> str:
    """`utility` (transaction control, SET…), `fk-check` (PostgreSQL's own), or `statement`."""
    if _FK_CHECK.match(query):
        return "fk-check"
    if _UTILITY.match(query):
        return "utility"
    return "statement"


@dataclass
class Merged:
    """Statements that share one normalised text, summed."""

    query: str
    queryids: list[str] = field(default_factory=list)
    calls: int = 0
    total_ms: float = 0.0
    rows: int = 0
    hit: int = 0
    read: int = 0
    temp: int = 0

    def add(self, s: StatementLike) -> None:
        self.queryids.append(s.queryid)
        self.calls += s.calls
        self.total_ms += s.total_ms
        self.rows += s.rows
        self.hit += s.shared_blks_hit
        self.read += s.shared_blks_read
        self.temp += s.temp_blks_written

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


def merge(statements: Iterable[StatementLike]) -> list[Merged]:
    groups: dict[str, Merged] = {}
    for s in statements:
        key = _SPACE.sub(" ", s.query).strip()
        groups.setdefault(key, Merged(query=s.query)).add(s)
    return list(groups.values())


def workload(statements: Iterable[StatementLike]) -> dict[str, Any]:
    """The `workload` section of query-analysis.json: the union of the top entries of each ranking,
    each with its ranks, so a reader can sort any way without a second list."""
    merged = merge(statements)
    total_ms = sum(m.total_ms for m in merged)
    ranks: dict[int, dict[str, int]] = {}
    orders = {
        "total": sorted(merged, key=lambda m: m.total_ms, reverse=True),
        "calls": sorted(merged, key=lambda m: m.calls, reverse=True),
        "mean": sorted(merged, key=lambda m: m.mean_ms, reverse=True),
    }
    for name, order in orders.items():
        for rank, m in enumerate(order[:TOP], start=1):
            ranks.setdefault(id(m), {})[name] = rank
    chosen = [m for m in orders["total"] if id(m) in ranks]
    chosen += [m for m in orders["calls"] + orders["mean"] if id(m) in ranks and m not in chosen]
    return {
        "total_ms": round(total_ms, 3),
        "calls": sum(m.calls for m in merged),
        "statements": [_entry(m, ranks[id(m)], total_ms) for m in chosen],
    }


def _entry(m: Merged, ranks: dict[str, int], total_ms: float) -> dict[str, Any]:
    return {
        "query": m.query,
        "queryids": m.queryids,
        "merged": (f"{len(m.queryids)} queryids, parameters typed differently"
                   if len(m.queryids) > 1 else None),
        "kind": kind_of(m.query),
        "calls": m.calls,
        "total_ms": round(m.total_ms, 3),
        "mean_ms": round(m.mean_ms, 4),
        "rows": m.rows,
        "rows_per_call": round(m.rows / m.calls, 3) if m.calls else None,
        "share_of_time": round(m.total_ms / total_ms, 4) if total_ms else None,
        "shared_blks_hit": m.hit,
        "shared_blks_read": m.read,
        "temp_blks_written": m.temp,
        "rank": ranks,
    }
