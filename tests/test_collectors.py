"""Collectors against real sources: the database sampler across a PostgreSQL stop and restart, the
system sampler writing metrics.csv at 1 Hz, and progress events consistent with the final reports.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from perfdash.collect.database import DatabaseSampler
from perfdash.collect.system import SystemCollector
from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.events import (
    Bus,
    DatabaseSampled,
    Event,
    ProblemDetected,
    Subscription,
    SystemSampled,
)


def collect(sub: Subscription, until: Callable[[list[Event]], bool], timeout: float
            ) -> list[Event]:
    """Drain a subscription until `until(all_events)` holds or the timeout passes."""
    seen: list[Event] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.extend(sub.drain(timeout=0.2))
        if until(seen):
            break
    return seen


@pytest.mark.slow  # starts its own PostgreSQL cluster
def test_database_sampler_survives_a_restart(tmp_path: Path) -> None:
    with ThrowawayPostgres(database="sampled") as pg:
        bus = Bus()
        sub = bus.subscribe()
        sampler = DatabaseSampler(bus, pg.url(), tmp_path / "db.csv", interval_s=0.3)
        holder = psycopg.connect(pg.url().reveal())  # one more connection to count
        sampler.start()
        try:
            first = collect(sub, lambda ev: any(isinstance(e, DatabaseSampled) for e in ev), 10)
            sample = next(e for e in first if isinstance(e, DatabaseSampled))
            assert sample.max_connections == 100
            assert sum(sample.connections_by_state.values()) >= 1
            holder.close()

            pg.pause()
            down = collect(sub, lambda ev: any(isinstance(e, ProblemDetected) for e in ev), 10)
            problem = next(e for e in down if isinstance(e, ProblemDetected))
            assert problem.what.startswith("database unreachable")
            assert pg.password.reveal() not in problem.what
            samples_while_down = sampler.samples

            pg.resume()
            back = collect(sub, lambda ev: any(isinstance(e, DatabaseSampled) for e in ev), 15)
            assert any(isinstance(e, ProblemDetected) and "reachable again" in e.what
                       for e in back)
            assert sampler.samples > samples_while_down
        finally:
            sampler.stop()
    rows = list(csv.DictReader((tmp_path / "db.csv").open()))
    assert len(rows) >= 2
    assert all(r["max_connections"] == "100" for r in rows)


def test_system_collector_writes_one_row_per_second(tmp_path: Path) -> None:
    bus = Bus()
    sub = bus.subscribe()
    path = tmp_path / "metrics.csv"
    collector = SystemCollector(bus, path, interval_s=0.25)
    started = time.monotonic()
    collector.start()
    time.sleep(1.5)
    collector.stop()
    elapsed = time.monotonic() - started  # a busy machine oversleeps: count against what passed
    rows = list(csv.DictReader(path.open()))
    assert len(rows) >= 4
    assert abs(len(rows) - elapsed / 0.25) <= 1.5, (len(rows), elapsed)
    assert {"cpu_pct", "mem_pct", "load1", "swap_pct", "cpu0_pct"} <= set(rows[0])
    events = [e for e in sub.drain() if isinstance(e, SystemSampled)]
    assert events, "samples were published"
    assert 0 <= events[-1].cpu_pct <= 100
    assert len(events[-1].cpu_per_core) >= 1
