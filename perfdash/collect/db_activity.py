"""What the database's sessions are doing, once a second: who holds the connections, what the busy
ones wait on, and for every session stuck on a lock, who blocks it and in what state.

`pg_stat_activity` alone answers "how many connections", which is the question an engineer asks
first and the one that explains least. The sample kept here is what pg_activity and pganalyze show
live: wait events of active sessions, and lock waiters with their blockers (`pg_blocking_pids`).
A blocker that is `idle in transaction` is the classic row-lock story: a transaction took a lock and
the application went off to do something else before committing. The diagnosis reads these samples
back from `db-activity.ndjson`; nothing here judges.

One query per sample reads everything (activity, blockers, ungranted locks) so a sample costs one
round trip; statement texts are shortened and stripped of literals, so no parameter value (a
password in an `ALTER ROLE`, a customer's e-mail) reaches the file.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from perfdash.artifacts import DB_ACTIVITY_NDJSON
from perfdash.collect.dbstats import MARKER
from perfdash.secret import redact_sql

ARTIFACT: Final = DB_ACTIVITY_NDJSON
QUERY_CHARS: Final = 400
# application_name of perfdash's own sessions (snapshots and EXPLAIN, this sampler); the demo
# backend's "perfdash-demo-backend" is the system under test and counts
OWN_APPS: Final = frozenset({"perfdash", "perfdash-sampler"})

ACTIVITY_SQL: Final = f"""
SELECT /* {MARKER} */ a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''),
       coalesce(host(a.client_addr), 'local'), coalesce(a.state, 'background'),
       a.wait_event_type, a.wait_event, left(a.query, 2000),
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END,
       CASE WHEN a.wait_event_type = 'Lock' THEN
         (SELECT string_agg(DISTINCT l.relation::regclass::text, ',')
            FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted AND l.relation IS NOT NULL) END
FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
"""

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w$])-?\d+(?:\.\d+)?\b")
_SPACE = re.compile(r"\s+")


def normalise_query(query: str) -> str:
    """The statement with literals as `?` and whitespace collapsed: sessions running the same
    statement with different values count as one, and no value is written down."""
    text = redact_sql(query)
    text = _STRING.sub("?", text)
    text = _NUMBER.sub("?", text)
    return _SPACE.sub(" ", text).strip()[:QUERY_CHARS]


@dataclass(frozen=True)
class Session:
    """One row of pg_stat_activity, as read."""

    pid: int
    app: str
    user: str
    client: str
    state: str
    wait_type: str | None
    wait_event: str | None
    query: str
    blocked_by: tuple[int, ...] = ()
    relations: str | None = None

    @property
    def group(self) -> str:
        """Who owns the connection: application name, role and client address."""
        return f"{self.app or '(no name)'}|{self.user}|{self.client}"

    @property
    def own(self) -> bool:
        return self.app in OWN_APPS


def session_from_row(row: Sequence[Any]) -> Session:
    pid, app, user, client, state, wtype, wevent, query, blockers, rels = row
    return Session(int(pid), str(app), str(user), str(client), str(state),
                   None if wtype is None else str(wtype), None if wevent is None else str(wevent),
                   str(query or ""), tuple(int(p) for p in blockers or ()),
                   None if rels is None else str(rels))


@dataclass
class ActivitySample:
    """One second of the database, ready for the ndjson line."""

    at: float
    apps: dict[str, dict[str, int]] = field(default_factory=dict)
    waits: dict[str, int] = field(default_factory=dict)
    lock_waits: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"at": round(self.at, 3), "apps": self.apps, "waits": self.waits,
                "lock_waits": self.lock_waits}


def summarise(at: float, sessions: Iterable[Session]) -> ActivitySample:
    """Connections per owner and state, active sessions per wait event ("CPU" when an active
    session waits on nothing), and each lock waiter with its blockers' state and statement."""
    others = [s for s in sessions if not s.own]
    by_pid = {s.pid: s for s in others}
    sample = ActivitySample(at)
    for s in others:
        states = sample.apps.setdefault(s.group, {})
        states[s.state] = states.get(s.state, 0) + 1
    waits: Counter[str] = Counter()
    for s in others:
        if s.state != "active":
            continue
        waits[f"{s.wait_type}:{s.wait_event}" if s.wait_type else "CPU"] += 1
        if s.wait_type == "Lock" and s.blocked_by:
            sample.lock_waits.append({
                "pid": s.pid, "app": s.app, "event": s.wait_event, "relation": s.relations,
                "query": normalise_query(s.query),
                "blockers": [_blocker(by_pid.get(p), p) for p in s.blocked_by[:3]],
            })
    sample.waits = dict(waits)
    return sample


def _blocker(s: Session | None, pid: int) -> dict[str, Any]:
    if s is None:  # perfdash's own session or one in another database
        return {"pid": pid, "state": "unknown", "query": "", "app": ""}
    return {"pid": pid, "state": s.state, "app": s.app,
            "wait": f"{s.wait_type}:{s.wait_event}" if s.wait_type else None,
            "query": normalise_query(s.query)}


def connections_by_state(sessions: Iterable[Session]) -> dict[str, int]:
    """Every session but perfdash's sampler, by state (what db-connections.csv has always counted)."""
    return dict(Counter(s.state for s in sessions))


def append_sample(path: Path, sample: ActivitySample) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(sample.to_json(), separators=(",", ":")) + "\n")


def app_totals(sample: Mapping[str, Any]) -> dict[str, int]:
    """Connections per owner in one sample."""
    apps = sample.get("apps")
    if not isinstance(apps, dict):
        return {}
    return {g: sum(int(n) for n in states.values() if isinstance(n, int))
            for g, states in apps.items() if isinstance(states, dict)}
