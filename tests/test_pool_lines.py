"""Pool-exhaustion lines of the common pools, counted from app-log blocks."""

from __future__ import annotations

from perfdash.collect.pool_lines import PoolLines


def test_each_library_wording_is_counted() -> None:
    lines = PoolLines()
    lines.feed(b"\n".join([
        b"2026-12-04 10:00:01 WARN HikariPool-1 - Connection is not available, request timed out "
        b"after 30000ms.",
        b"2026-12-04 10:00:02 DEBUG HikariPool-1 - Pool stats (total=10, active=10, idle=0, waiting=25)",
        b"2026-12-04 10:00:02 DEBUG HikariPool-1 - Pool stats (total=10, active=3, idle=7, waiting=0)",
        b"sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out",
        b"2026-12-04 10:00:03,001 WARNING app.pool: {'pool_min': 4, 'pool_max': 4, 'requests_waiting': 7}",
        b"2026-12-04 10:00:03,001 WARNING app.pool: {'pool_min': 4, 'pool_max': 4, 'requests_waiting': 0}",
        b"psycopg_pool.PoolTimeout: couldn't get a connection after 30.00 sec",
        b'{"level":50,"msg":"timeout exceeded when trying to connect"}',
        b"GET /api/orders 200 3ms",
    ]) + b"\n")
    found = lines.to_json()
    assert found is not None
    assert found["by_library"] == {"HikariCP": 2, "SQLAlchemy": 1, "psycopg_pool": 2, "node-postgres": 1}
    assert found["max_waiting"] == 25
    assert found["example"].endswith("request timed out after 30000ms.")


def test_a_log_without_pool_lines_says_nothing() -> None:
    lines = PoolLines()
    lines.feed(b"INFO started\nGET /api 200 2ms\n")
    assert lines.to_json() is None


def test_the_applications_own_wording_is_counted_too() -> None:
    lines = PoolLines(pattern=r"db pool exhausted")
    lines.feed(b"12:00:01 WARN db pool exhausted, 7 waiting\n12:00:02 INFO ok\n"
               b"12:00:03 WARN db pool exhausted\n")
    found = lines.to_json()
    assert found is not None
    assert found["by_library"] == {"pool_log_pattern": 2}
    assert found["example"] == "12:00:01 WARN db pool exhausted, 7 waiting"
