"""What redacting an event on the bus costs: one 100-line app-log batch published through a Bus
with and without the run's secrets installed, with and without a secret in one line.

Run by hand: `.venv/bin/python bench/bench_redaction.py [--rounds 2000]`. Prints the median and
the 10th/90th percentiles of µs per publish, and the ratio to a bus without secrets in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from perfdash.events import Bus, LogLinesRead
from perfdash.secret import Secret

LINE = ('{"ts":"2026-11-30T04:00:00Z","lvl":"info","msg":"GET /api/catalog/search 200",'
        '"route":"/api/catalog/search","status":200,"ms":4.2}')
SECRETS = [Secret("postgresql://perf:Xq@ss:w0rd%2F%23x@127.0.0.1:5432/shop"),
           Secret("tok-3f9a1c7e55d2b8a0")]


def timed(bus: Bus, event: LogLinesRead, rounds: int) -> list[float]:
    sub = bus.subscribe()
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        bus.publish(event)
        out.append((time.perf_counter() - start) * 1e6)
        sub.drain()
    return out


def describe(name: str, samples: list[float], base: float) -> str:
    q = statistics.quantiles(samples, n=10)
    med = statistics.median(samples)
    return f"{name:<38} median {med:7.1f} µs  p10 {q[0]:7.1f}  p90 {q[-1]:7.1f}  x{med / base:5.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    clean = LogLinesRead((LINE,) * 100, errors=0, warnings=0)
    dirty = LogLinesRead((LINE,) * 99 + (f"ERROR url={SECRETS[0].reveal()} Bearer tok-3f9a1c7e55d2b8a0",),
                         errors=1, warnings=0)
    plain = Bus()
    redacting = Bus()
    redacting.redact_with(list(SECRETS))
    base = statistics.median(timed(plain, clean, args.rounds))
    print(describe("no secrets installed, clean batch", timed(plain, clean, args.rounds), base))
    print(describe("secrets installed, clean batch", timed(redacting, clean, args.rounds), base))
    print(describe("secrets installed, secret in one line", timed(redacting, dirty, args.rounds), base))


if __name__ == "__main__":
    main()
