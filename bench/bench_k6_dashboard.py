"""What each source of k6's latency costs k6 as a run goes on, run by hand.

The web dashboard output (`latency_source = "dashboard"`) keeps its own copy of every sample and,
every period, also formats everything since the start, percentiles included, so its cost should
grow with the run; the remote-write output with native histograms (`latency_source =
"remote-write"`) only increments a bucket per sample. This measures them: the same saturating load
(8 VUs, no think time, the demo backend and a throwaway PostgreSQL) for `--seconds`, once per mode
in `--modes`, and every `--window` seconds k6's CPU per request (psutil) and its request rate
(k6's REST API, one counter).

Modes: `plain` (k6 alone), `dash` (the web dashboard output as perfdash launches it, 1 s period),
`dash10s` (any other period: `dash` followed by a k6 duration), `rw` (the remote-write output
into perfdash.tools.k6.remote_write's receiver in this process, 1 s pushes; this process's own
CPU is reported too, it is the receiver's), `json` and `csv` (every raw sample, `--out json=` or
`--out csv=` into a named pipe this process reads and discards, what perfdash would have to read
to compute exact percentiles itself). `rwexact` is `rw` plus `--out json=` to a file, for
accuracy, not cost: each push's p95 against the exact p95 of the same requests (the raw durations
in k6's order, cut into runs of each push's count).

    .venv/bin/python bench/bench_k6_dashboard.py --seconds 600 --modes plain,rw,dash,json,csv
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfdash.demo.backend import DemoBackend  # noqa: E402
from perfdash.demo.database import prepare_database  # noqa: E402
from perfdash.demo.pgcluster import ThrowawayPostgres  # noqa: E402
from perfdash.net import free_port  # noqa: E402
from perfdash.proc.supervisor import Supervisor  # noqa: E402
from perfdash.secret import Secret  # noqa: E402
from perfdash.tools.k6.latency import dashboard_env  # noqa: E402
from perfdash.tools.k6.remote_write import (  # noqa: E402
    RemoteWriteReceiver,
    output_args,
    remote_write_env,
)

K6 = str(Path(sys.executable).parent / "k6")
SCRIPT = ROOT / "bench" / "k6-products.js"


def _requests(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/v1/metrics/http_reqs")
        return int(json.loads(conn.getresponse().read())["data"]["attributes"]["sample"]["count"])
    finally:
        conn.close()


def _drain(path: Path, counted: list[int]) -> None:
    """Reads a named pipe to its end, as a consumer of k6's raw samples would have to."""
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            counted[0] += len(chunk)


class _Output:
    """What a mode adds to `k6 run`, and what it leaves to read and stop in this process."""

    def __init__(self, mode: str, env: dict[str, str], tmp: Path) -> None:
        self.args: list[str] = []
        self.receiver: RemoteWriteReceiver | None = None
        self.drained = [0]
        self.drain: threading.Thread | None = None
        self.raw: Path | None = None
        if mode.startswith("dash"):
            env.update(dashboard_env(free_port(), None))
            if mode != "dash":
                env["K6_WEB_DASHBOARD_PERIOD"] = mode.removeprefix("dash")
        elif mode in ("rw", "rwexact"):
            self.receiver = RemoteWriteReceiver(None, keep=mode == "rwexact")
            self.receiver.start()
            env.update(remote_write_env(self.receiver.port))
            self.args = output_args()
            if mode == "rwexact":
                self.raw = tmp / "raw.json"
                self.args += ["--out", f"json={self.raw}"]
        elif mode in ("json", "csv"):
            fifo = tmp / f"k6-{mode}.fifo"
            fifo.unlink(missing_ok=True)
            os.mkfifo(fifo)
            self.drain = threading.Thread(target=_drain, args=(fifo, self.drained), daemon=True)
            self.drain.start()
            self.args = ["--out", f"{mode}={fifo}"]
        elif mode != "plain":
            raise SystemExit(f"unknown mode {mode!r}: use plain, dash, dash<period>, rw, rwexact, "
                             "json or csv")


def _exact(values: list[float], q: float) -> float:
    """k6's percentile: linear between the closest ranks."""
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _accuracy(receiver: RemoteWriteReceiver, raw: Path) -> str:
    durations = [float(json.loads(line)["data"]["value"]) for line in raw.open(encoding="utf-8")
                 if '"http_req_duration"' in line and '"Point"' in line]
    errors, start = [], 0
    for sample, n in zip(receiver.kept or [], receiver.interval_counts, strict=True):
        chunk = durations[start:start + n]
        start += n
        if n >= 100 and sample.p95_ms is not None:
            errors.append(abs(sample.p95_ms / _exact(chunk, 0.95) - 1))
    if not errors:
        return "; no second with 100 requests to compare"
    errors.sort()
    return (f"; per-second p95 against raw samples ({len(durations)} durations, "
            f"{sum(receiver.interval_counts)} in pushes, schemas {sorted(receiver.schemas)}): "
            f"{len(errors)} seconds, error median {100 * statistics.median(errors):.2f}%, "
            f"90th percentile {100 * errors[int(0.9 * (len(errors) - 1))]:.2f}%, max "
            f"{100 * errors[-1]:.2f}%, within 2% in {sum(e <= 0.02 for e in errors)}")


def run(mode: str, seconds: int, window: int, env: dict[str, str],
        tmp: Path) -> tuple[list[tuple[float, float]], str]:
    """(req/s, k6 CPU µs per request) per window, and a note on what else the mode cost."""
    env = dict(env)
    out = _Output(mode, env, tmp)
    receiver, drain, drained, extra = out.receiver, out.drain, out.drained, out.args
    api = free_port()
    me = psutil.Process()
    mine = sum(me.cpu_times()[:2])
    proc = subprocess.Popen([K6, "run", "--no-usage-report", "--quiet", "--address",
                             f"127.0.0.1:{api}", "--vus", "8", "--duration", f"{seconds}s",
                             *extra, str(SCRIPT)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    k6 = psutil.Process(proc.pid)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                before = (_requests(api), sum(k6.cpu_times()[:2]))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("k6's REST API did not answer within 10 s") from None
                time.sleep(0.2)
        start = time.monotonic()
        rows = []
        while time.monotonic() - start + window < seconds - 5:
            time.sleep(window)
            now = (_requests(api), sum(k6.cpu_times()[:2]))
            done = now[0] - before[0]
            rows.append((done / window, 1e6 * (now[1] - before[1]) / max(done, 1)))
            print(f"  {mode} {time.monotonic() - start:5.0f} s: {rows[-1][0]:6.0f} req/s, "
                  f"k6 {rows[-1][1]:4.0f} µs CPU per request", flush=True)
            before = now
        proc.wait()
        note = ""
        if receiver is not None:
            receiver.stop()
            note = (f"; receiver {receiver.samples} pushes, {receiver.rejected} rejected, this "
                    f"process {100 * (sum(me.cpu_times()[:2]) - mine) / seconds:.2f}% of a core")
        if out.raw is not None and receiver is not None:
            note += _accuracy(receiver, out.raw)
        if drain is not None:
            drain.join(timeout=30)
            note = f"; {drained[0] / 1e6:.0f} MB of raw samples read"
        return rows, note
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait()
        if receiver is not None:
            receiver.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--window", type=int, default=15)
    parser.add_argument("--modes", default="plain,rw,dash,json,csv")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    supervisor = Supervisor()
    with ThrowawayPostgres(database="bench") as pg, tempfile.TemporaryDirectory() as tmp:
        prepare_database(pg.url())
        token = Secret("bench-token")
        backend = DemoBackend(supervisor, pg.url(), token, Path(tmp) / "app.log", Path(tmp))
        base = backend.start()
        env = {**os.environ, "BASE_URL": base, "PERF_API_TOKEN": token.reveal(),
               "K6_NO_USAGE_REPORT": "true"}
        results: dict[str, tuple[list[tuple[float, float]], str]] = {}
        try:
            for mode in args.modes.split(","):
                results[mode] = run(mode, args.seconds, args.window, env, Path(tmp))
        finally:
            backend.stop()
            supervisor.stop_all()
    plain_cost: tuple[float, float] | None = None
    for mode, (rows, note) in results.items():
        tenth = max(1, len(rows) // 10)
        first = statistics.median(c for _, c in rows[:tenth])
        last = statistics.median(c for _, c in rows[-tenth:])
        if mode == "plain":
            plain_cost = (first, last)
        vs = (f"; to plain: first {first / plain_cost[0]:.2f}x, last {last / plain_cost[1]:.2f}x"
              if plain_cost is not None and mode != "plain" else "")
        print(f"{mode}: k6 CPU per request, first tenth of the run {first:.0f} µs, last tenth "
              f"{last:.0f} µs ({last / first:.2f}x); req/s median "
              f"{statistics.median(r for r, _ in rows):.0f}{vs}{note}", flush=True)


if __name__ == "__main__":
    main()
