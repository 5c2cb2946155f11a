"""What passing a child's output through the run's redactor costs perfdash: a chatty child (a backend
logging to stdout) writes N lines as fast as it can, started by the supervisor with its output going
straight to the file and through the redactor; perfdash's own CPU (the copying threads) and the
child's throughput are measured, per kind of line.

Run by hand: `.venv/bin/python bench/bench_child_output.py [--lines 400000] [--rounds 3]`. Prints
the median of the rounds: wall time, perfdash CPU, lines/s, and CPU seconds per million lines.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from perfdash.launch import LaunchRequest
from perfdash.proc.redacted_copy import Redact
from perfdash.proc.supervisor import Supervisor
from perfdash.secret import Redactor, Secret

SECRETS = [Secret("postgresql://perf:Xq@ss:w0rd%2F%23x@127.0.0.1:5432/shop"),
           Secret("tok-3f9a1c7e55d2b8a0")]
LINES = {
    "plain": "INFO GET /api/customers/42/orders 200 12.3ms request_id=abcdef0123456789",
    # an e-mail and a URL in every line: the URL-password pattern's pre-check must reject them
    "urls+mail": "INFO GET /api/customers/42 200 3.1ms user=alice@example.com ref=http://shop.local/x",
    # a `password` in every line that assigns nothing
    "password route": "INFO POST /account/password_reset 204 8.0ms user=alice@example.com",
    # a secret in every line: everything is redacted
    "secret": "DEBUG connecting to postgresql://perf:Xq@ss:w0rd%2F%23x@127.0.0.1:5432/shop",
}


def one(line: str, lines: int, redact: Redact | None) -> tuple[float, float]:
    child = f"import sys\nw = sys.stdout.write\nfor _ in range({lines}):\n    w({line + chr(10)!r})\n"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.monotonic()
        c = Supervisor(redact=redact).start(LaunchRequest(
            "chatty", [sys.executable, "-c", child], out, out / "o.log", out / "e.log"))
        c.wait(600)
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=400_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for kind, line in LINES.items():
        for name, redact in (("direct", None), ("redacted", Redactor(list(SECRETS)))):
            runs = [one(line, args.lines, redact) for _ in range(args.rounds)]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            print(f"{kind:15s} {name:9s} wall {wall:5.2f} s  perfdash CPU {cpu:5.2f} s  "
                  f"{args.lines / wall:>9,.0f} lines/s  {cpu / args.lines * 1e6:5.2f} CPU s "
                  "per million lines")


if __name__ == "__main__":
    main()
