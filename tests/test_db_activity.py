"""The database sampler's activity samples: waits by event, connections per owner, and lock waiters
with their blockers, on hand-made sessions and on a real lock held by an idle transaction."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from perfdash.artifacts import read_samples
from perfdash.collect.database import DatabaseSampler
from perfdash.collect.db_activity import (
    Session,
    app_totals,
    normalise_query,
    summarise,
)
from perfdash.events import Bus
from perfdash.secret import Secret


def _s(pid: int, state: str, wait: tuple[str, str] | None = None, *, app: str = "api",
       query: str = "SELECT 1", blocked_by: tuple[int, ...] = ()) -> Session:
    return Session(pid, app, "shop", "127.0.0.1", state, wait[0] if wait else None,
                   wait[1] if wait else None, query, blocked_by, "accounts" if blocked_by else None)


def test_a_lock_waiter_names_its_idle_in_transaction_blocker() -> None:
    sessions = [
        _s(1, "idle in transaction", app="api", query="SELECT * FROM accounts WHERE id = 1 FOR UPDATE"),
        _s(2, "active", ("Lock", "transactionid"), query="SELECT * FROM accounts WHERE id = 1 FOR UPDATE",
           blocked_by=(1,)),
        _s(3, "active", ("Lock", "tuple"), query="SELECT * FROM accounts WHERE id = 1 FOR UPDATE",
           blocked_by=(2,)),
        _s(4, "active", ("Client", "ClientRead")),
        _s(5, "active"),
        _s(6, "idle", app="perfdash"),
    ]
    sample = summarise(10.0, sessions)
    assert sample.waits == {"Lock:transactionid": 1, "Lock:tuple": 1, "Client:ClientRead": 1, "CPU": 1}
    assert app_totals(sample.to_json()) == {"api|shop|127.0.0.1": 5}  # perfdash's own left out
    first = sample.lock_waits[0]
    assert first["query"] == "SELECT * FROM accounts WHERE id = ? FOR UPDATE"
    assert first["relation"] == "accounts"
    assert first["blockers"][0]["state"] == "idle in transaction"
    assert sample.lock_waits[1]["blockers"][0]["state"] == "active"


def test_statement_texts_lose_their_values() -> None:
    text = normalise_query(
        "ALTER ROLE app PASSWORD 'hunter2'; SELECT * FROM t WHERE mail = 'a@b.c' AND n > 42")
    assert "hunter2" not in text
    assert "a@b.c" not in text
    assert "42" not in text
    assert text.endswith("n > ?")


@pytest.mark.e2e
def test_the_sampler_records_a_real_lock_wait(fresh_db: Secret, tmp_path: Path) -> None:
    url = fresh_db.reveal()
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int)")
        setup.execute("INSERT INTO accounts VALUES (1, 100)")
    holder = psycopg.connect(url, application_name="lab-api")
    holder.execute("SELECT * FROM accounts WHERE id = 1 FOR UPDATE")  # now idle in transaction
    waiter = psycopg.connect(url, application_name="lab-api", autocommit=True)
    blocked = threading.Thread(
        target=lambda: waiter.execute("SELECT * FROM accounts WHERE id = 1 FOR UPDATE"), daemon=True)
    blocked.start()
    activity = tmp_path / "db-activity.ndjson"
    sampler = DatabaseSampler(Bus(), fresh_db, tmp_path / "db.csv", interval_s=0.2,
                              activity_path=activity)
    sampler.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(s["lock_waits"] for s in read_samples(activity)):
            time.sleep(0.2)
    finally:
        sampler.stop()
        holder.rollback()
        blocked.join(5)
        holder.close()
        waiter.close()
    samples = read_samples(activity)
    waits = [w for s in samples for w in s["lock_waits"]]
    assert waits, f"no lock waiter sampled in {len(samples)} samples"
    assert waits[0]["query"] == "SELECT * FROM accounts WHERE id = ? FOR UPDATE"
    assert waits[0]["blockers"][0]["state"] == "idle in transaction"
    assert waits[0]["app"] == "lab-api"
    assert any("Lock:" in k for s in samples for k in s["waits"])
    assert max(app_totals(s).get(next(iter(app_totals(s)), ""), 0) for s in samples) >= 2


def test_a_sample_is_read_back_typed_and_only_with_what_its_readers_can_use(tmp_path: Path) -> None:
    """Counts that are not integers and lock waiters that are not objects are left out where the
    file is read, and a sample without apps, waits or lock waiters reads as having none; a line
    without its time is no sample."""
    path = tmp_path / "db-activity.ndjson"
    path.write_text(
        '{"at": 5, "apps": {"api": {"active": 3, "idle": "x"}},'
        ' "waits": {"Lock:tuple": 2, "IO:DataFileRead": 1.5},'
        ' "lock_waits": [{"query": "SELECT 1", "app": "api"}, "garbage"]}\n'
        '{"at": 6.5}\n'
        '{"apps": {"api": {"active": 1}}}\n'
        '{"at": 7, "waits": {"Lock:tu')
    samples = read_samples(path)
    assert samples == [
        {"at": 5.0, "apps": {"api": {"active": 3}}, "waits": {"Lock:tuple": 2},
         "lock_waits": [{"query": "SELECT 1", "app": "api"}]},
        {"at": 6.5, "apps": {}, "waits": {}, "lock_waits": []},
    ]
    assert isinstance(samples[0]["at"], float)
