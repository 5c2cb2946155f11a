"""Hand-run benchmark of the app-log hot path per log format: the level count (`count_levels`) and the
request count (`EndpointCounter.feed`) on 1 MB blocks of a plain-text log, a pino log with pino-http
request lines, a bunyan log, a structlog log and a python-json-logger log. Not part of the test suite:
`.venv/bin/python bench/bench_log_formats.py [--repo DIR]` (DIR: another checkout to compare with).

The tail hands each batch to both functions once, so their sum per MB is the tail's parsing cost.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

BLOCK_BYTES = 1 << 20
ROUTES = ("/api/products/{i}", "/api/orders", "/api/users/{i}/cart", "/health")


def plain(i: int) -> str:
    level = "ERROR" if i % 50 == 0 else "WARN " if i % 20 == 0 else "INFO "
    return f"2026-12-04T23:25:37.{i % 1000:03d}Z {level} GET /api/products/{i} 200 3.2ms t=1764890737.123456"


def pino(i: int) -> str:
    level = 50 if i % 50 == 0 else 40 if i % 20 == 0 else 30
    route = ROUTES[i % 4].format(i=i)
    if i % 3:
        return (f'{{"level":{level},"time":{1764890737000 + i},"pid":4242,"hostname":"api-1",'
                f'"req":{{"id":{i},"method":"GET","url":"{route}","query":{{}},"params":{{}},'
                f'"headers":{{"host":"127.0.0.1:4000","user-agent":"k6/0.54.0"}},'
                f'"remoteAddress":"127.0.0.1","remotePort":{50000 + i % 9000}}},'
                f'"res":{{"statusCode":{500 if level == 50 else 200},"headers":{{}}}},'
                f'"responseTime":{i % 97 + 0.5},"msg":"request completed"}}')
    return (f'{{"level":{level},"time":{1764890737000 + i},"pid":4242,"hostname":"api-1",'
            f'"msg":"cache refreshed for tenant {i}"}}')


def bunyan(i: int) -> str:
    level = 50 if i % 50 == 0 else 40 if i % 20 == 0 else 30
    return (f'{{"name":"orders","hostname":"orders-7d9f8c6b5-x2kq9.internal","pid":17,"level":{level},'
            f'"msg":"order {i} processed","time":"2026-12-04T23:25:37.123Z","v":0}}')


def structlog(i: int) -> str:
    level = "error" if i % 50 == 0 else "warning" if i % 20 == 0 else "info"
    return (f'{{"event": "request finished", "path": "{ROUTES[i % 4].format(i=i)}", "status_code": 200, '
            f'"duration": {i % 97 + 0.5}, "level": "{level}", "timestamp": "2026-12-04T23:25:37.123Z"}}')


def python_json(i: int) -> str:
    level = "ERROR" if i % 50 == 0 else "WARNING" if i % 20 == 0 else "INFO"
    return (f'{{"asctime": "2026-12-04 23:25:37,123", "name": "app.views", "levelname": "{level}", '
            f'"message": "rendered page {i}"}}')


FORMATS: dict[str, Callable[[int], str]] = {"plain": plain, "pino+pino-http": pino, "bunyan": bunyan,
                                            "structlog": structlog, "python-json-logger": python_json}


def block_of(line: Callable[[int], str]) -> bytes:
    out: list[str] = []
    size = i = 0
    while size < BLOCK_BYTES:
        text = line(i) + "\n"
        out.append(text)
        size += len(text)
        i += 1
    return "".join(out).encode()


def best_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times) if repeat < 5 else statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    sys.path.insert(0, str(args.repo))
    applog = importlib.import_module("perfdash.collect.applog")
    access_log = importlib.import_module("perfdash.collect.access_log")
    print(f"{args.repo}: median of {args.repeat}, ms per MB")
    print(f"{'format':<20} {'lines':>6} {'errors':>6} {'warns':>6} {'levels ms':>9} {'requests':>8} "
          f"{'feed ms':>8}")
    for name, line in FORMATS.items():
        block = block_of(line)
        errors, warnings = applog.count_levels(block)
        levels_ms = best_ms(lambda b=block: applog.count_levels(b), args.repeat)
        warm = access_log.EndpointCounter()
        warm.feed(block)  # detection once; then the steady state a tail sees
        feed_ms = best_ms(lambda b=block, c=warm: c.feed(b), args.repeat)
        lines = block.count(b"\n")
        print(f"{name:<20} {lines:>6} {errors:>6} {warnings:>6} {levels_ms:>9.2f} "
              f"{warm.request_lines // (args.repeat + 1):>8} {feed_ms:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
