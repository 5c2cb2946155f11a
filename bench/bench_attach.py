"""What attachers cost a run, run by hand: one long `perfdash demo --serve` load (k6 with no think
time, so the machine is saturated and any CPU the attachers take shows up as lost requests), with N
`perfdash attach --headless` processes following it in some windows and none in others.

Windows come in pairs, one with attachers and one without, in an order drawn at random (as in
bench_observer_interleaved.py), and requests per window are counted from the demo backend's own
access log. The attachers are started at the beginning of an "on" window and stopped at its end;
the first `--guard` seconds of every window are left out, so what is measured is N attachers
following the run, not N Python processes starting. The CPU the run's own process (and so its
HTTP server) used in each window is reported beside it.

    .venv/bin/python bench/bench_attach.py --seconds 240 --window 15 --attachers 20
    .venv/bin/python bench/bench_attach.py --mode local ...   # attach by directory, not HTTP
    .venv/bin/python bench/bench_attach.py --mode curl ...    # 20 streams read by curl (remote
                                                              # attachers: their CPU is elsewhere)
    .venv/bin/python bench/bench_attach.py --server-cost      # the server's own CPU, no load
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROFILE = """
[profiles.attachbench]
description = "throughput probe for bench_attach.py"
[profiles.attachbench.k6]
script = "bench/k6-products.js"
stages = [{ duration = "1s", target = %(vus)d }, { duration = "%(seconds)ds", target = %(vus)d }]
[profiles.attachbench.thresholds.k6]
"http_req_duration" = ["p(95)<5000"]
"""
TOKEN = "bench-attach-token-" + "x" * 24


def bootstrap(values: list[float], rounds: int = 5000) -> tuple[float, float]:
    rng = random.Random(1)
    found = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(rounds))
    return found[int(0.05 * rounds)], found[int(0.95 * rounds) - 1]


def count(app_log: Path, windows: list[tuple[str, float, float]]) -> list[int]:
    stamps: list[float] = []
    with app_log.open("rb") as f:
        for line in f:
            if b"GET /api/products" in line:
                stamps.append(datetime.fromisoformat(line[:24].decode()).timestamp())
    stamps.sort()
    return [bisect.bisect_left(stamps, end) - bisect.bisect_left(stamps, start)
            for _, start, end in windows]


def command(mode: str, target: str) -> list[str]:
    """One attacher: perfdash itself (by URL or directory), or curl reading the stream and
    throwing it away (an attacher whose own CPU is spent on another machine)."""
    if mode == "curl":
        return ["curl", "-sN", "-o", "/dev/null", "-H", f"Authorization: Bearer {TOKEN}",
                f"{target}/events"]
    return [str(BIN / "perfdash"), "attach", "--headless", target]


def cpu_of(procs: list[subprocess.Popen[bytes]]) -> float:
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += sum(psutil.Process(p.pid).cpu_times()[:2])
    return total


def measure(args: argparse.Namespace, run: subprocess.Popen[bytes], run_dir: Path, env: dict[str, str],
            target: str, work: Path) -> tuple[list[tuple[str, float, float]], dict[str, list[float]]]:
    """The paired windows: attachers started at an "on" window's start, stopped at its end."""
    proc = psutil.Process(run.pid)
    windows: list[tuple[str, float, float]] = []
    cpu: dict[str, list[float]] = {"on": [], "off": [], "attachers": []}
    end = time.time() + args.seconds
    order = random.Random(args.seed)
    while time.time() + 2 * args.window <= end:
        pair = ("on", "off") if order.random() < 0.5 else ("off", "on")
        for mode in pair:
            start = time.time()
            attachers = [subprocess.Popen(
                command(args.mode, target), env=env, cwd=work,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for _ in range(args.attachers if mode == "on" else 0)]
            try:
                time.sleep(args.guard)
                before = sum(proc.cpu_times()[:2])
                theirs = cpu_of(attachers)
                measured_from = time.time()
                time.sleep(max(0.0, start + args.window - time.time()))
                took = time.time() - measured_from
                cpu[mode].append((sum(proc.cpu_times()[:2]) - before) / took)
                if attachers:
                    cpu["attachers"].append((cpu_of(attachers) - theirs) / took)
                windows.append((mode, measured_from, time.time()))
            finally:
                for a in attachers:
                    a.terminate()
                for a in attachers:
                    a.wait(10)
    return windows, cpu


def measure_steady(args: argparse.Namespace, run: subprocess.Popen[bytes], env: dict[str, str],
                   target: str, work: Path
                   ) -> tuple[list[tuple[str, float, float]], dict[str, list[float]]]:
    """The same pairs with the attachers started once and settled: "on" windows let them run
    (SIGCONT), "off" windows freeze them (SIGSTOP) after the guard, so what is measured is
    attachers following a run, and never a process starting or catching up on the whole
    recording. Each "on" window begins with the few seconds of lines the frozen attachers
    missed (left out with --guard).
    An attacher gives up on a stream silent for 20 s, and the server pings every 5 s, so the
    attachers run through the guard of every window, "off" ones too, and are frozen only for its
    measured part: keep `--window` minus `--guard` under 15 s."""
    proc = psutil.Process(run.pid)
    attachers = [subprocess.Popen(command(args.mode, target), env=env, cwd=work,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(args.attachers)]
    windows: list[tuple[str, float, float]] = []
    cpu: dict[str, list[float]] = {"on": [], "off": [], "attachers": []}
    try:
        time.sleep(30)  # started and caught up
        gone = [a.returncode for a in attachers if a.poll() is not None]
        if gone:
            print(f"{len(gone)} attachers ended early (exit codes {sorted(set(gone))})")
        end = time.time() + args.seconds
        order = random.Random(args.seed)
        while time.time() + 2 * args.window <= end:
            pair = ("on", "off") if order.random() < 0.5 else ("off", "on")
            for mode in pair:
                start = time.time()
                for a in attachers:  # every window starts with them running: none is frozen
                    a.send_signal(signal.SIGCONT)  # past its read timeout by two "off" in a row
                time.sleep(args.guard)
                if mode == "off":
                    for a in attachers:
                        a.send_signal(signal.SIGSTOP)
                before, theirs = sum(proc.cpu_times()[:2]), cpu_of(attachers)
                measured_from = time.time()
                time.sleep(max(0.0, start + args.window - time.time()))
                took = time.time() - measured_from
                cpu[mode].append((sum(proc.cpu_times()[:2]) - before) / took)
                if mode == "on":
                    cpu["attachers"].append((cpu_of(attachers) - theirs) / took)
                windows.append((mode, measured_from, time.time()))
        ended = sum(a.poll() is not None for a in attachers)
        if ended:  # a frozen attacher whose stream went quiet past its read timeout gives up
            print(f"{ended} of {len(attachers)} attachers ended during the windows: their "
                  "figures are not a measurement; use shorter windows")
    finally:
        for a in attachers:
            a.send_signal(signal.SIGCONT)
            a.terminate()
        for a in attachers:
            a.wait(10)
    return windows, cpu


def report(args: argparse.Namespace, windows: list[tuple[str, float, float]], counts: list[int],
           cpu: dict[str, list[float]]) -> None:
    rates = [n / (e - s) for n, (_, s, e) in zip(counts, windows, strict=True)]
    pairs = [(rates[i], rates[i + 1]) if windows[i][0] == "on" else (rates[i + 1], rates[i])
             for i in range(0, len(windows) - 1, 2)]
    ratios = [on / off for on, off in pairs]
    low, high = bootstrap(ratios)
    print(json.dumps({"pairs": len(ratios), "ratios": [round(r, 4) for r in ratios]}))
    print(f"{len(ratios)} pairs of {args.window:.0f} s windows ({args.guard:.0f} s left out at "
          f"each start), {args.attachers} {args.mode} attachers in the 'on' windows; k6 at a "
          f"median {statistics.median(rates):.0f} req/s")
    print(f"throughput on / off: median {statistics.median(ratios):.4f}, 90% interval "
          f"[{low:.4f}, {high:.4f}] (target >= 0.99)")
    print(f"the run's own process: {100 * statistics.median(cpu['on']):.1f}% of a core with "
          f"attachers, {100 * statistics.median(cpu['off']):.1f}% without (medians); the "
          f"attachers themselves: {100 * statistics.median(cpu['attachers']):.1f}% of a core "
          "in all (median)")


def server_cost(clients: int, seconds: float) -> None:
    """What serving costs the run's process alone: the HTTP server in this process, a recording
    growing like a busy run's (4 app-log batches of 40 lines and 3 samples a second), `clients`
    curl streams reading it (their own CPU is not counted: remote attachers spend it elsewhere)."""
    import threading

    from perfdash.net import free_port
    from perfdash.secret import Secret
    from perfdash.serve.server import EventServer
    from perfdash.serve.token import parse_bind

    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "events.ndjson"
        events.write_text("")
        bind = parse_bind(f"127.0.0.1:{free_port()}")
        server = EventServer(bind, Secret(TOKEN), Path(tmp))
        server.start()
        stop = threading.Event()
        batch = json.dumps({"type": "LogLinesRead", "at": 1.0, "errors": 0, "warnings": 0,
                            "lines": ["GET /api/products?limit=20 200 1.2ms " * 3] * 40})

        def write() -> None:
            with events.open("a") as f:
                while not stop.wait(1.0):
                    f.write((batch + "\n") * 4 + '{"type": "SystemSampled", "at": 1.0}\n' * 3)
                    f.flush()

        threading.Thread(target=write, daemon=True).start()
        curls = [subprocess.Popen(command("curl", bind.url)) for _ in range(clients)]
        time.sleep(3)
        cpu, wall = time.process_time(), time.time()
        time.sleep(seconds)
        share = (time.process_time() - cpu) / (time.time() - wall)
        stop.set()
        for c in curls:
            c.terminate()
            c.wait()
        server.close(grace_s=1)
    print(f"serving {clients} streams: {100 * share:.2f}% of a core in the run's process "
          f"(over {seconds:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=240, help="length of the measured load")
    parser.add_argument("--window", type=float, default=15)
    parser.add_argument("--guard", type=float, default=6, help="seconds left out at each start")
    parser.add_argument("--attachers", type=int, default=20)
    parser.add_argument("--vus", type=int, default=8)
    parser.add_argument("--mode", choices=["http", "local", "curl"], default="http")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steady", action="store_true",
                        help="start the attachers once; freeze them in the 'off' windows")
    parser.add_argument("--server-cost", action="store_true",
                        help="only measure what the HTTP server costs its process, no load")
    args = parser.parse_args()
    if args.server_cost:
        for clients in (0, args.attachers):
            server_cost(clients, 20)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "profiles.toml"
        config.write_text((ROOT / "profiles.toml").read_text()
                          + PROFILE % {"vus": args.vus, "seconds": args.seconds + 60})
        port = 20000 + os.getpid() % 20000
        env = {**os.environ, "PERFDASH_SERVE_TOKEN": TOKEN, "XDG_CACHE_HOME": str(work / "cache")}
        results = work / "results"
        run = subprocess.Popen(
            [str(BIN / "perfdash"), "demo", "--headless", "--profile", "attachbench", "--config",
             str(config), "--project", str(ROOT), "--results-dir", str(results), "--serve",
             f"127.0.0.1:{port}"], cwd=work, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            while not results.exists() or not any(results.iterdir()):
                time.sleep(0.2)
            run_dir = next(results.iterdir())
            while '"phase": "load"' not in (run_dir / "events.ndjson").read_text():
                time.sleep(0.2)
            time.sleep(5)  # ramp and warm-up
            target = f"http://127.0.0.1:{port}" if args.mode != "local" else str(run_dir)
            windows, cpu = (measure_steady(args, run, env, target, work) if args.steady
                            else measure(args, run, run_dir, env, target, work))
            run.send_signal(signal.SIGINT)  # the measured part is over: stop the load
            run.wait(120)
            counts = count(run_dir / "app.log", windows)
        finally:
            if run.poll() is None:
                run.kill()
    report(args, windows, counts, cpu)


if __name__ == "__main__":
    main()
