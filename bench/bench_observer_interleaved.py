"""Observer cost at a fine grain, run by hand: one long k6 load with perfdash's observers switched on
and off in short windows, requests per window counted from the demo backend's own access log.

`bench_observer.py` compares whole runs, and this machine's speed wanders by several percent from
one run to the next, so its ratio carries an interval of about +-5%. Here both conditions share
one k6 process, one backend and the same minutes. Windows come in pairs, one on and one off in an
order drawn at random, so neither drift nor anything periodic on the machine can favour one side;
a long load gives many pairs, and the median and mean of their ratios get bootstrap intervals.

"On" is everything `perfdash run --headless` runs beside the load (Orchestrator._steps and
_run_tools): the system collector, the app-log tail, the database sampler, the backend watch and
the k6 poller (with the interval means it publishes when k6 runs without its web dashboard
output, the default) and the timeline recorder, feeding one bus with the events.ndjson recorder
and the headless console on it.
They run in this process, which otherwise sleeps; `--only` switches a subset, to find which part
costs what. Each window's first second is left out, so starting and stopping are not counted.

`--latency-source remote-write` launches k6 with its remote-write output (native histograms, 1 s
pushes) into perfdash's receiver, as `latency_source = "remote-write"` does: k6's own cost of the
output is on both sides (bench_k6_dashboard.py measures that); "on" adds the receiver's decoding
and differencing and the poller without interval means, "off" answers each push unread.

    .venv/bin/python bench/bench_observer_interleaved.py --minutes 20 --window 5
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfdash.collect.applog import AppLogTail  # noqa: E402
from perfdash.collect.database import DatabaseSampler  # noqa: E402
from perfdash.collect.health import BackendWatcher  # noqa: E402
from perfdash.collect.system import SystemCollector  # noqa: E402
from perfdash.console import HeadlessConsole  # noqa: E402
from perfdash.demo.backend import DemoBackend  # noqa: E402
from perfdash.demo.database import prepare_database  # noqa: E402
from perfdash.demo.pgcluster import ThrowawayPostgres  # noqa: E402
from perfdash.events import Bus, PhaseChanged  # noqa: E402
from perfdash.net import free_port  # noqa: E402
from perfdash.proc.supervisor import Supervisor  # noqa: E402
from perfdash.run.recording import EventRecorder  # noqa: E402
from perfdash.secret import Secret  # noqa: E402
from perfdash.timeline.recorder import TimelineRecorder  # noqa: E402
from perfdash.tools.k6.command import TREND_STATS  # noqa: E402
from perfdash.tools.k6.progress import K6Poller  # noqa: E402
from perfdash.tools.k6.remote_write import (  # noqa: E402
    RemoteWriteReceiver,
    output_args,
    remote_write_env,
)

K6 = str(Path(sys.executable).parent / "k6")
SCRIPT = ROOT / "bench" / "k6-products.js"
GUARD_S = 1.0
COMPONENTS = ("system", "applog", "database", "health", "k6", "timeline")


class SwitchedReceiver(RemoteWriteReceiver):
    """The receiver for the whole k6 run; it decodes and publishes only while a bus is attached."""

    def attach(self, bus: Bus | None) -> None:
        self._bus = bus

    def receive(self, body: bytes) -> bool:
        return super().receive(body) if self._bus is not None else True


class Observers:
    """A fresh set of perfdash's run-time observers per window, as one run would start them."""

    def __init__(self, work: Path, app_log: Path, db_url: Secret, base_url: str, k6_port: int,
                 planned_s: float, only: list[str] | None = None,
                 receiver: SwitchedReceiver | None = None) -> None:
        self._only = only
        self._receiver = receiver
        self._work = work
        self._app_log = app_log
        self._db_url = db_url
        self._base_url = base_url
        self._k6_port = k6_port
        self._planned = planned_s
        self._running: list[Any] = []
        self._poller: K6Poller | None = None
        self._trend_wait = 0.0  # on-time left before the p95 is due again
        self._devnull = open(os.devnull, "w")  # noqa: SIM115 - closed in close()
        self._round = 0

    def start(self) -> None:
        self._round += 1
        out = self._work / f"on-{self._round}"
        out.mkdir()
        bus = Bus()
        recorder = EventRecorder(out / "events.ndjson", [self._db_url])
        bus.listen(recorder)
        console = HeadlessConsole(bus, Console(file=self._devnull, highlight=False, width=160))
        console.start()
        bus.publish(PhaseChanged("load", "observer benchmark"))
        # One run's poller asks for the p95 on its CPU budget; a fresh poller per window would ask
        # at once each time, sorting every sample k6 holds (a quarter second of CPU at 2M). The
        # budget's clock runs only while observing, as it would in a run observed throughout.
        self._poller = K6Poller(bus, self._k6_port, self._planned, out / "k6-progress.ndjson",
                                interval_means=self._receiver is None)
        if self._receiver is not None:
            self._receiver.attach(bus)
        self._poller.next_trend_at = time.monotonic() + self._trend_wait
        every = {
            "system": lambda: SystemCollector(bus, out / "metrics.csv"),
            "applog": lambda: AppLogTail(bus, self._app_log),
            "database": lambda: DatabaseSampler(bus, self._db_url, out / "db-connections.csv",
                                                activity_path=out / "db-activity.ndjson"),
            "health": lambda: BackendWatcher(bus, self._base_url + "/health"),
            "k6": lambda: self._poller,
            "timeline": lambda: TimelineRecorder(bus, out),
        }
        collectors = [make() for name, make in every.items() if not self._only or name in self._only]
        for c in collectors:
            c.start()
        self._running = [*collectors, console, recorder]

    def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.attach(None)
        for c in self._running:
            c.stop() if hasattr(c, "stop") else c.close()
        self._running = []
        if self._poller is not None:
            self._trend_wait = max(0.0, self._poller.next_trend_at - time.monotonic())
            self._poller = None

    def close(self) -> None:
        self._devnull.close()


def count_requests(app_log: Path, windows: list[tuple[str, float, float]]) -> list[int]:
    """Requests of the k6 script (GET /api/products) whose log stamp falls in each window."""
    stamps: list[float] = []
    with app_log.open("rb") as f:
        for line in f:
            if b"GET /api/products" in line:
                stamps.append(datetime.fromisoformat(line[:24].decode()).timestamp())
    stamps.sort()
    import bisect

    return [bisect.bisect_left(stamps, end) - bisect.bisect_left(stamps, start + GUARD_S)
            for _, start, end in windows]


def bootstrap(values: list[float], stat: Callable[[list[float]], float],
              rounds: int = 5000) -> tuple[float, float]:
    """A 90% interval for `stat` of `values`, by resampling (seeded: same data, same interval)."""
    rng = random.Random(1)
    found = sorted(stat(rng.choices(values, k=len(values))) for _ in range(rounds))
    return found[int(0.05 * rounds)], found[int(0.95 * rounds) - 1]


def report(windows: list[tuple[str, float, float]], counts: list[int], window_s: float) -> None:
    rates = [n / (end - start - GUARD_S) for n, (_, start, end) in zip(counts, windows, strict=True)]
    pairs = [(rates[i], rates[i + 1]) if windows[i][0] == "on" else (rates[i + 1], rates[i])
             for i in range(0, len(windows) - 1, 2)]
    ratios = [on / off for on, off in pairs]
    low, high = bootstrap(ratios, statistics.median)
    mlow, mhigh = bootstrap(ratios, statistics.fmean)
    print(f"{len(ratios)} pairs of {window_s:.0f} s windows, k6 at a median "
          f"{statistics.median(rates):.0f} req/s; one window varies by "
          f"{100 * statistics.stdev(ratios) / 2 ** 0.5:.1f}% (stdev)")
    print(f"throughput on / off: median {statistics.median(ratios):.4f}, 90% interval "
          f"[{low:.4f}, {high:.4f}]; mean {statistics.fmean(ratios):.4f}, 90% interval "
          f"[{mlow:.4f}, {mhigh:.4f}] (target >= 0.99)")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--window", type=float, default=5, help="seconds per on or off window")
    parser.add_argument("--vus", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1, help="for the order within each pair")
    parser.add_argument("--only", type=lambda v: v.split(","),
                        help=f"switch only these observers, comma-separated, of {', '.join(COMPONENTS)} "
                             "(the bus, recorder and console are always switched)")
    parser.add_argument("--latency-source", choices=("mean", "remote-write"), default="mean")
    return parser.parse_args()


def main() -> None:
    args = _args()
    # `kill` runs the finally blocks too, so no k6, backend or cluster outlives the benchmark.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seconds = int(args.minutes * 60)
    supervisor = Supervisor()
    with ThrowawayPostgres(database="bench") as pg, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare_database(pg.url())
        token = Secret("bench-token")
        app_log = work / "app.log"
        backend = DemoBackend(supervisor, pg.url(), token, app_log, work)
        base = backend.start()
        port = free_port()
        env = {**os.environ, "BASE_URL": base, "K6_NO_USAGE_REPORT": "true"}
        config = work / "k6-config.json"
        config.write_text('{"thresholds": {"http_req_duration": ["p(95)<5000"]}}')
        receiver = SwitchedReceiver(None) if args.latency_source == "remote-write" else None
        if receiver is not None:
            receiver.start()
            env.update(remote_write_env(receiver.port))
        k6 = subprocess.Popen(
            [K6, "run", "--no-usage-report", "--quiet", "--config", str(config),
             "--stage", f"1s:{args.vus}", "--stage", f"{seconds + 10}s:{args.vus}",
             "--summary-trend-stats", TREND_STATS, "--address", f"127.0.0.1:{port}",
             *(output_args() if receiver else []), str(SCRIPT)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        observers = Observers(work, app_log, pg.url(), base, port, seconds, args.only, receiver)
        windows: list[tuple[str, float, float]] = []
        try:
            time.sleep(5)  # ramp and warm-up
            end = time.time() + seconds
            order = random.Random(args.seed)
            while time.time() + 2 * args.window <= end:
                # Each pair's order is drawn at random: anything periodic on the machine (a
                # checkpoint, a neighbour's cron) cannot line up with "on" windows.
                pair = ("on", "off") if order.random() < 0.5 else ("off", "on")
                for mode in pair:
                    start = time.time()
                    if mode == "on":
                        observers.start()
                    time.sleep(max(0.0, start + args.window - time.time()))
                    if mode == "on":
                        observers.stop()
                    windows.append((mode, start, time.time()))
        finally:
            observers.stop()
            observers.close()
            k6.terminate()
            k6.wait()
            if receiver is not None:
                receiver.stop()
                print(f"receiver: {receiver.samples} pushes decoded, {receiver.rejected} refused")
            backend.stop()
            supervisor.stop_all()
        counts = count_requests(app_log, windows)
    report(windows, counts, args.window)


if __name__ == "__main__":
    main()
