"""Hand-run benchmark of what the verdicts at the edges read: the app-log tail's cost per 1 MB block
while it keeps its first ERROR/WARN lines (one line in 50 ERROR, one in 20 WARN), and the scan of a
k6 log of 200,000 `Request Failed` lines that tells "no answer" from "answered with an error".
Not part of the test suite: `.venv/bin/python bench/bench_verdict_reads.py`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from perfdash.collect.applog import AppLogTail
from perfdash.events import Bus
from perfdash.tools.k6.transport import unanswered


def block() -> bytes:
    lines = []
    for i in range(12000):
        level = "ERROR" if i % 50 == 0 else "WARNING" if i % 20 == 0 else "INFO"
        lines.append(f"2026-12-04 10:00:00,{i % 1000:03d} {level} GET /api/products?offset={i} 200 3.1ms")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    data = block()
    per_block = []
    for _ in range(5):
        tail = AppLogTail(Bus(), Path("/nonexistent"), keep_lines=200)
        start = time.perf_counter()
        for _ in range(100):
            tail._add_lines(data)
        per_block.append((time.perf_counter() - start) / 100 * 1000)
    first = []
    for _ in range(20):
        tail = AppLogTail(Bus(), Path("/nonexistent"), keep_lines=200)
        start = time.perf_counter()
        tail._add_lines(data)
        first.append((time.perf_counter() - start) * 1000)
    print(f"app log, {len(data) / 1e6:.2f} MB blocks: {statistics.median(per_block):.2f} ms per block "
          f"(median of 5 x 100), the first block {statistics.median(first):.2f} ms (median of 20)")
    line = ('time="2026-12-04T23:27:25Z" level=warning msg="Request Failed" error="Get \\"http://127.0.0.1:9'
            '/api/products\\": dial tcp 127.0.0.1:9: connect: connection refused"\n')
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "k6.stderr.log").write_text(line * 200_000)
        took = []
        for _ in range(5):
            start = time.perf_counter()
            found = unanswered(Path(tmp))
            took.append(time.perf_counter() - start)
        size = (Path(tmp) / "k6.stderr.log").stat().st_size / 1e6
    assert found is not None
    print(f"k6 log, {size:.0f} MB: {statistics.median(took):.3f} s (median of 5): {found.describe()}")


if __name__ == "__main__":
    main()
