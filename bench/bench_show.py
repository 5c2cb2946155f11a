"""`perfdash show` of a synthetic 24-hour soak run, run by hand: target <= 2 s and <= 200 MB.

Builds a run directory from the committed smoke fixture scaled to a day: 86,400 rows of metrics.csv
and of timeline.csv (with phase, breach, problem and tool-exit markers), an Artillery report with
8,640 ten-second windows, 43,200 database samples, and the k6 report and query analysis as a real
run writes them. Then, each in a fresh process, times:

- headless: `perfdash show DIR` without a terminal (re-analysis and the printed verdict);
- screen: `perfdash show DIR` on a 160x48 pseudo-terminal, as a user runs it: the result view
  opens on the stored verdict (first frame: banner, checks, latency, problems), then draws the
  timeline charts once the day's timeline is read and computes the verdict again from the
  artifacts behind it. The first frame, the charts and the exit after `q` are timed.

Each is timed twice: at the first look at the run (no parsed timeline in the cache, as at
the end of the live run) and again (the parsed timeline cached by the first look, as `perfdash show`
of a finished soak). It reports the median wall time and the peak RSS of each (`--runs`, 5 by
default), and the machine's load average before and after.

    .venv/bin/python bench/bench_show.py [--runs 5] [--only screen|headless] [--keep DIR] [--code DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import fcntl
import json
import math
import os
import pty
import random
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "smoke-pass"
# The checkout's perfdash, not whichever one the interpreter's environment has installed: run in the
# checkout (`-m` and `-c` put the working directory first on the path) with it on PYTHONPATH.
PERFDASH = [sys.executable, "-m", "perfdash"]
CODE = [ROOT]  # the checkout timed (--code)
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                 os.environ.get("PYTHONPATH")]))}
DAY = 86_400


def build(run_dir: Path) -> None:
    shutil.copytree(FIXTURE, run_dir)
    start = datetime(2026, 11, 24, tzinfo=UTC)
    rng = random.Random(7)
    with (run_dir / "metrics.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "elapsed_s", "cpu_pct", "mem_pct", "mem_used_mb", "swap_pct",
                    "load1", "load5", "load15", "backend_cpu_pct", "backend_rss_mb",
                    "cpu0_pct", "cpu1_pct"])
        for i in range(DAY):
            cpu = 40 + 20 * rng.random()
            w.writerow([(start + timedelta(seconds=i)).isoformat(timespec="milliseconds"),
                        f"{i:.2f}", f"{cpu:.1f}", f"{30 + rng.random():.1f}", "7000", "0.0",
                        "1.20", "1.10", "1.00", "35.0", "120.0", f"{cpu:.1f}", f"{cpu:.1f}"])
    with (run_dir / "db-connections.csv").open("w") as f:
        f.write("timestamp,total,active,idle,idle_in_transaction,other,max_connections,"
                "waiting_locks\n")
        for i in range(DAY // 2):
            f.write(f"{(start + timedelta(seconds=2 * i)).isoformat()},12,3,9,0,0,100,0\n")
    report = json.loads((run_dir / "artillery-smoke.json").read_text())
    window = report["intermediate"][0]
    report["intermediate"] = []
    for i in range(DAY // 10):
        w = copy.deepcopy(window)
        w["period"] = int((start + timedelta(seconds=10 * i)).timestamp() * 1000)
        report["intermediate"].append(w)
    (run_dir / "artillery-smoke.json").write_text(json.dumps(report))
    write_timeline(run_dir, rng)
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["started_at"] = start.isoformat()
    summary["ended_at"] = (start + timedelta(seconds=DAY)).isoformat()
    (run_dir / "summary.json").write_text(json.dumps(summary))


def write_timeline(run_dir: Path, rng: random.Random) -> None:
    """timeline.csv of a day at one row a second, shaped like a soak: a 10-minute ramp, a steady
    plateau with a slow daily swing, an afternoon latency incident, Artillery's columns filled every
    10th second, and markers for phases, the breach, a problem and the tool exits."""
    sys.path.insert(0, str(ROOT))
    from perfdash.timeline.columns import NAMES

    with (run_dir / "timeline.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", *NAMES])
        for i in range(DAY):
            ramp = min(1.0, i / 600)
            swing = 1 + 0.3 * math.sin(2 * math.pi * i / DAY)
            incident = 50 <= i / 1000 < 52
            vus = round(50 * ramp)
            rps = vus * 4 * swing * (0.9 + 0.2 * rng.random())
            p50 = 12 + 3 * rng.random() + (80 if incident else 0)
            art = i % 10 == 0
            row: dict[str, object] = {
                "k6_vus": vus, "k6_rps": f"{rps:.1f}", "k6_avg_ms": f"{p50 * 1.3:.1f}",
                "k6_p50_ms": f"{p50:.1f}",
                "k6_p95_ms": f"{p50 * 2.2:.1f}", "k6_p99_ms": f"{p50 * 3.5:.1f}",
                "k6_error_rate": f"{(0.04 if incident else 0.001) * rng.random():.4f}",
                "art_rps": f"{rps / 4:.1f}" if art else "",
                "art_p50_ms": f"{p50 * 1.1:.1f}" if art else "",
                "art_p95_ms": f"{p50 * 2.4:.1f}" if art else "",
                "art_p99_ms": f"{p50 * 3.8:.1f}" if art else "",
                "art_errors": (3 if incident else 0) if art else "",
                "sio_p95_ms": f"{4 + rng.random():.1f}" if art else "",
                "cpu_pct": f"{(40 + 20 * rng.random()) * swing * ramp:.1f}",
                "mem_pct": f"{30 + 10 * i / DAY + rng.random():.1f}",
                "load1": f"{1.2 * swing + 0.3 * rng.random():.2f}",
                "db_active": 3 + (5 if incident else 0), "db_idle": 9, "db_idle_in_tx": 0,
                "db_total": 12 + (5 if incident else 0), "db_max": 100, "db_lock_waits": 0,
                "log_lines": 40 + rng.randrange(20),
                "log_errors": rng.randrange(4) if incident else int(rng.random() < 0.001),
            }
            # columns this run did not measure (the access log's) stay empty, as recorded
            w.writerow([i, *(row.get(name, "") for name in NAMES)])
    markers = [(0, "phase", "load"), (50_000, "breach", "k6 http_req_duration p(95) crossed"),
               (50_500, "problem", "app log: 200 ERROR lines in a minute"),
               (DAY - 1, "tool_exit", "k6 exited with code 99"),
               (DAY - 1, "tool_exit", "artillery exited with code 0"), (DAY, "phase", "analysis")]
    with (run_dir / "timeline-markers.ndjson").open("w") as f:
        for t_s, kind, text in markers:
            f.write(json.dumps({"t_s": t_s, "kind": kind, "text": text}) + "\n")


def time_headless(run_dir: Path) -> tuple[float, float]:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", "import resource, sys\n"
                          "from perfdash.cli import main\n"
                          "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
                          "print('rss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)",
                          "show", str(run_dir)], capture_output=True, text=True, check=False,
                         env=ENV, cwd=CODE[0])
    wall = time.perf_counter() - t
    assert "overall status" in out.stdout, out.stderr
    return wall, float(out.stdout.rsplit("rss ", 1)[1])


LATER: dict[str, list[float]] = {"charts drawn": [], "quit after q": []}


def time_screen(run_dir: Path) -> tuple[float, float]:
    """`perfdash show DIR` on a 160x48 pseudo-terminal, as a user runs it: the time until the
    first frame reaches the terminal (the run id in the banner), then until the timeline charts
    are drawn (their window in the panel's title) and, after `q`, until the process has exited;
    peak RSS from the kernel (VmHWM) just before `q`."""
    run_id = json.loads((run_dir / "summary.json").read_text())["run_id"].encode()
    t = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
        os.chdir(CODE[0])
        os.execve(PERFDASH[0], [*PERFDASH, "show", str(run_dir)], {**ENV, "TERM": "xterm-256color"})
    seen = b""
    first = charts = None
    deadline = t + 60
    while charts is None and time.perf_counter() < deadline:
        if select.select([fd], [], [], 0.05)[0]:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
        if first is None and run_id in seen:
            first = time.perf_counter() - t
        if first is not None and b"timeline 0:00" in seen:
            charts = time.perf_counter() - t
    status = Path(f"/proc/{pid}/status").read_text()
    rss = float(status.split("VmHWM:")[1].split()[0]) / 1024
    time.sleep(0.3)
    quit_at = time.perf_counter()
    os.write(fd, b"q")
    while True:  # drain until the child has gone, or its output would block its exit
        if select.select([fd], [], [], 0.05)[0]:
            try:
                if not os.read(fd, 65536):
                    break
            except OSError:
                break
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    os.close(fd)
    assert first is not None, "the result view never appeared"
    assert charts is not None, "the result view never drew its charts"
    LATER["charts drawn"].append(charts)
    LATER["quit after q"].append(time.perf_counter() - quit_at)
    return first, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("screen", "headless"))
    parser.add_argument("--keep", type=Path, help="build the run directory here and keep it")
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="time the perfdash checkout here (default: this one), e.g. a worktree "
                             "of an earlier commit for before and after figures")
    args = parser.parse_args()
    CODE[0] = args.code.resolve()
    ENV["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CODE[0]), os.environ.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.keep or Path(tmp) / "20261124T000000Z"
        if not (run_dir / "timeline.csv").exists():
            build(run_dir)
        sizes = {p.name: p.stat().st_size for p in run_dir.iterdir()}
        print("artifacts:", ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(sizes.items())
                                      if v > 100_000))
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        cache = Path(tmp) / "cache"  # the parsed timeline's cache (perfdash.artifacts.timeline_cache)
        ENV["XDG_CACHE_HOME"] = str(cache)
        modes = (("headless, first look", time_headless, True),
                 ("headless, again (timeline cached)", time_headless, False),
                 ("screen 160x48, first look", time_screen, True),
                 ("screen 160x48, again (timeline cached)", time_screen, False))
        for name, measure, cold in modes:
            if args.only and not name.startswith(args.only):
                continue
            if not cold:
                measure(run_dir)  # a first look, which leaves the cache
            for times in LATER.values():
                times.clear()
            runs = []
            for _ in range(args.runs):
                if cold:
                    shutil.rmtree(cache, ignore_errors=True)
                runs.append(measure(run_dir))
            walls = [w for w, _ in runs]
            print(f"perfdash show, {name}: median {statistics.median(walls):.2f} s "
                  f"(all {', '.join(f'{w:.2f}' for w in walls)}), "
                  f"peak RSS {max(r for _, r in runs):.0f} MB (targets: <= 2 s, <= 200 MB)")
            if name.startswith("screen"):
                for what, times in LATER.items():
                    print(f"  then {what}: median {statistics.median(times):.2f} s "
                          f"(all {', '.join(f'{w:.2f}' for w in times)})")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

if __name__ == "__main__":
    main()
