"""What sampling the database once a second costs, run by hand: the sampler's own CPU in perfdash's
process and the CPU of the PostgreSQL backend that answers it, against a cluster with a realistic
crowd (idle pool connections, busy sessions, an idle-in-transaction holder and lock waiters).

Each window runs the sampler for `--seconds`; the figures are medians over `--windows`, in % of
one core. The target is 0.5% for both sides together.

    .venv/bin/python bench/bench_db_sampler.py --seconds 30 --windows 3 --sessions 40
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import multiprocessing.synchronize
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfdash.collect.database import DatabaseSampler  # noqa: E402
from perfdash.demo.pgcluster import ThrowawayPostgres  # noqa: E402
from perfdash.events import Bus  # noqa: E402


def crowd(url: str, sessions: int, stop: multiprocessing.synchronize.Event) -> None:
    """Idle pool connections, a few busy ones, one holder idle in transaction and two waiters, in a
    process of their own so their CPU is not counted as the sampler's."""
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS hot (id int PRIMARY KEY, n int)")
        c.execute("INSERT INTO hot VALUES (1, 0) ON CONFLICT DO NOTHING")
    conns: list[psycopg.Connection[object]] = [
        psycopg.connect(url, autocommit=True, application_name="bench-app") for _ in range(sessions)]
    holder = psycopg.connect(url, application_name="bench-app")
    holder.execute("SELECT * FROM hot WHERE id = 1 FOR UPDATE")
    conns.append(holder)

    def busy(conn: psycopg.Connection[object]) -> None:
        while not stop.is_set():
            conn.execute("SELECT pg_sleep(0.2)")

    def waiter(conn: psycopg.Connection[object]) -> None:
        with contextlib.suppress(psycopg.Error):
            conn.execute("SELECT * FROM hot WHERE id = 1 FOR UPDATE")

    for conn in conns[:4]:
        threading.Thread(target=busy, args=(conn,), daemon=True).start()
    for conn in conns[4:6]:
        threading.Thread(target=waiter, args=(conn,), daemon=True).start()
    stop.wait()
    holder.rollback()  # the holder lets the waiters through
    time.sleep(0.5)
    for conn in conns:
        conn.close()


def window(url_secret: object, seconds: float, tmp: Path) -> tuple[float, float]:
    me = psutil.Process()
    sampler = DatabaseSampler(Bus(), url_secret, tmp / "db.csv",  # type: ignore[arg-type]
                              activity_path=tmp / "db-activity.ndjson")
    sampler.start()
    time.sleep(2)  # connected and past the first sample
    with psycopg.connect(url_secret.reveal(), autocommit=True) as c:  # type: ignore[attr-defined]
        row = c.execute("SELECT pid FROM pg_stat_activity "
                        "WHERE application_name = 'perfdash-sampler'").fetchone()
    backend = psutil.Process(int(row[0])) if row else None
    ours0 = sum(me.cpu_times()[:2])
    theirs0 = sum(backend.cpu_times()[:2]) if backend else 0.0
    t0 = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    ours = (sum(me.cpu_times()[:2]) - ours0) / elapsed * 100
    theirs = ((sum(backend.cpu_times()[:2]) - theirs0) / elapsed * 100) if backend else float("nan")
    sampler.stop()
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=40)
    args = parser.parse_args()
    stop = multiprocessing.Event()
    with ThrowawayPostgres(database="bench") as pg, tempfile.TemporaryDirectory() as tmp:
        child = multiprocessing.Process(target=crowd, args=(pg.url().reveal(), args.sessions, stop))
        child.start()
        time.sleep(3)
        figures = [window(pg.url(), args.seconds, Path(tmp)) for _ in range(args.windows)]
        stop.set()
        child.join(10)
        samples = sum(1 for _ in (Path(tmp) / "db-activity.ndjson").open())
    ours = statistics.median(f[0] for f in figures)
    theirs = statistics.median(f[1] for f in figures)
    print(f"{args.sessions + 1} sessions, {args.windows} windows of {args.seconds:.0f} s, "
          f"{samples} samples written")
    print(f"sampler in perfdash's process: {ours:.3f}% of a core (windows: "
          + ", ".join(f"{f[0]:.3f}" for f in figures) + ")")
    print(f"PostgreSQL backend serving it: {theirs:.3f}% of a core (windows: "
          + ", ".join(f"{f[1]:.3f}" for f in figures) + ")")
    print(f"together: {ours + theirs:.3f}% of a core (target <= 0.5)")


if __name__ == "__main__":
    main()
