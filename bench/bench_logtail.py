"""Hand-run benchmark of the app-log tail: lag from write to event, and CPU against `tail -F` following
the same file in the same run. Not part of the test suite: `.venv/bin/python bench/bench_logtail.py`.

A writer process appends timestamped lines at a steady rate; this process runs `AppLogTail` onto a Bus
with a consumer draining it, so its CPU is the tailer's (plus a consumer and a sampler that idle).
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from perfdash.collect.applog import AppLogTail
from perfdash.events import Bus, LogLinesRead, Subscription

LEVELS = ("INFO ",) * 17 + ("WARN ", "ERROR", "INFO ")


def write(path: Path, rate: int, seconds: float, lines_per_write: int) -> None:
    """The writer process: like a backend logging each request, one `write` per `lines_per_write`."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    start = time.monotonic()
    n = 0
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate)
        while n < due:
            k = min(lines_per_write, due - n)
            now = time.time()
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            os.write(fd, "".join(
                f"{stamp}.{int(now % 1 * 1000):03d}Z {LEVELS[i % 20]} GET /api/products/{i} 200 3.2ms "
                f"t={now:.6f}\n" for i in range(n, n + k)).encode())
            n += k
        time.sleep(0.001)
    os.close(fd)
    print(n)


@dataclass
class Consumer:
    """Drains the bus like the console would, measuring the age of each event's newest line."""

    sub: Subscription
    lags: list[float] = field(default_factory=list)
    lines: int = 0
    events: int = 0
    widest: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.done.is_set():
            for event in self.sub.drain(0.5):
                if isinstance(event, LogLinesRead) and event.lines:
                    now = time.time()
                    self.lags.append(now - float(event.lines[-1].rsplit("t=", 1)[1]))
                    self.lines += len(event.lines) + event.dropped
                    self.events += 1
                    self.widest = max(self.widest, len(event.lines))


class ProfiledTail(AppLogTail):
    """cProfile only sees the thread it runs in, so the reader thread's body runs under it."""

    profile = cProfile.Profile()

    def _run(self) -> None:
        self.profile.runcall(super()._run)


def cpu_s(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


@dataclass
class Measured:
    written: int
    wall_s: float
    tail: AppLogTail
    consumer: Consumer
    samples: list[tuple[float, float, float]]  # (monotonic, CPU s of this process, CPU s of tail -F)


def measure(args: argparse.Namespace) -> Measured:
    """One run: `tail -F` and the tailer follow the same file while the writer process floods it."""
    with tempfile.TemporaryDirectory(prefix="bench-logtail-") as tmp:
        log = Path(tmp) / "app.log"
        log.touch()
        baseline = subprocess.Popen(["tail", "-F", "-n", "0", str(log)], stdout=subprocess.DEVNULL)
        bus = Bus()
        consumer = Consumer(bus.subscribe())
        tail = (ProfiledTail if args.profile else AppLogTail)(
            bus, log, batch_interval_s=args.batch_interval, keep_lines=args.keep_lines)
        tail.start()
        drain = threading.Thread(target=consumer.run, daemon=True)
        drain.start()
        time.sleep(0.5)

        # Our own CPU clock is exact; another process's comes in 10 ms ticks from /proc.
        tail_f = psutil.Process(baseline.pid)
        writer = subprocess.Popen(
            [sys.executable, __file__, "--writer", str(log), "--seconds", str(args.seconds),
             "--rate", str(args.rate), "--lines-per-write", str(args.lines_per_write)],
            stdout=subprocess.PIPE, text=True)
        samples: list[tuple[float, float, float]] = []
        began = time.monotonic()
        while writer.poll() is None:
            samples.append((time.monotonic(), time.process_time(), cpu_s(tail_f)))
            time.sleep(1.0)
        samples.append((time.monotonic(), time.process_time(), cpu_s(tail_f)))
        wall = time.monotonic() - began
        written = int(writer.communicate()[0])
        deadline = time.monotonic() + 5
        while tail.lines_total < written and time.monotonic() < deadline:
            time.sleep(0.05)
        tail.stop()
        consumer.done.set()
        drain.join()
        baseline.terminate()
        baseline.wait()
    return Measured(written, wall, tail, consumer, samples)


def report(args: argparse.Namespace, m: Measured) -> int:
    pairs = list(itertools.pairwise(m.samples))
    ours = statistics.median(100 * (b[1] - a[1]) / (b[0] - a[0]) for a, b in pairs)
    theirs = statistics.median(100 * (b[2] - a[2]) / (b[0] - a[0]) for a, b in pairs)
    span = m.samples[-1][0] - m.samples[0][0]
    ours_mean = 100 * (m.samples[-1][1] - m.samples[0][1]) / span
    theirs_mean = 100 * (m.samples[-1][2] - m.samples[0][2]) / span
    lags = m.consumer.lags
    lag_p50, lag_p99 = percentile(lags, 50), percentile(lags, 99)
    tail = m.tail
    print(f"writer: {m.written} lines in {m.wall_s:.1f} s ({m.written / args.seconds:.0f}/s, "
          f"{args.lines_per_write} line(s) per write)")
    print(f"tailer: {tail.lines_total} lines, {tail.errors_total} errors, {tail.warnings_total} warnings, "
          f"{tail.bytes_read / 1e6:.1f} MB; {m.consumer.events} events of at most {m.consumer.widest} "
          f"lines, {m.consumer.lines} lines accounted for")
    print(f"lag, newest line of each event: p50 {lag_p50 * 1000:.0f} ms, p99 {lag_p99 * 1000:.0f} ms, "
          f"max {max(lags) * 1000:.0f} ms")
    print(f"CPU, % of one core, median of {len(pairs)} one-second samples: tailer process {ours:.2f} "
          f"(mean {ours_mean:.2f}), tail -F {theirs:.2f} (mean {theirs_mean:.2f}), "
          f"ratio {ours / max(theirs, 0.01):.1f}x")
    lag_ok, cpu_ok, complete = lag_p99 <= 1.0, ours <= 5.0, tail.lines_total == m.written
    print(f"targets: lag p99 <= 1 s {'met' if lag_ok else 'MISSED'}; tailer <= 5% of a core "
          f"{'met' if cpu_ok else 'MISSED'}; every line counted: {'yes' if complete else 'NO'}")
    if isinstance(tail, ProfiledTail):
        pstats.Stats(tail.profile).sort_stats("cumulative").print_stats(25)
    return 0 if lag_ok and cpu_ok and complete else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=20_000, help="lines per second")
    parser.add_argument("--lines-per-write", type=int, default=1,
                        help="1 is a backend flushing each log record, as Python's logging does")
    parser.add_argument("--batch-interval", type=float, default=0.25)
    parser.add_argument("--keep-lines", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="cProfile the tailer's reader thread")
    parser.add_argument("--writer", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        write(args.writer, args.rate, args.seconds, args.lines_per_write)
        return 0
    return report(args, measure(args))


if __name__ == "__main__":
    sys.exit(main())
