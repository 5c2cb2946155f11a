"""Observer cost, run by hand: does watching a run with perfdash cost the observed machine anything?

Starts a throwaway PostgreSQL and the demo backend once, then runs the same k6 load (constant VUs, no
think time, so both cores are saturated) two ways:
  alone     k6 by itself with the same stages, thresholds and trend stats, as a user would run it;
  observed  `perfdash run --headless` with every collector on (system, app log, database, backend
            health, k6 API).
The runs go in ABBA blocks (alone-observed, observed-alone, ...) after one discarded warm-up run, so
a machine that drifts slower or faster over the session weighs on both sides alike.

Two answers, because this machine's speed itself wanders by several percent from one run to the
next (a plain Python loop timed back to back here varies by ~10%), far more than the effect sought:
  1. Throughput: k6 req/s observed / alone for each block (adjacent runs), their median and a
     bootstrap 90% interval of that median (target: ratio >= 0.99).
  2. CPU accounting, which the wandering hardly touches: CPU seconds per 1000 requests of k6, the
     backend, PostgreSQL and perfdash in each mode. On a saturated machine every CPU second the
     observer takes is one the load does not get, so
        expected ratio = alone CPU per request / observed CPU per request (all processes),
     and perfdash's own CPU as % of one core while k6 runs (target <= 1.5%).

    .venv/bin/python bench/bench_observer.py --seconds 30 --blocks 6
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
from perfdash.tools.k6.command import TREND_STATS  # noqa: E402
from perfdash.tools.k6.latency import dashboard_env  # noqa: E402

K6 = str(Path(sys.executable).parent / "k6")
PERFDASH = str(Path(sys.executable).parent / "perfdash")
SCRIPT = ROOT / "bench" / "k6-products.js"
THRESHOLDS = {"http_req_duration": ["p(95)<5000"]}
GROUPS = ("k6", "backend", "postgres", "perfdash")


def profile_toml(seconds: int, vus: int, log_file: Path, web_dashboard: bool) -> str:
    return f"""
[profiles.bench]
description = "observer benchmark"
[profiles.bench.k6]
script = "{SCRIPT}"
web_dashboard = {str(web_dashboard).lower()}
stages = [{{ duration = "1s", target = {vus} }}, {{ duration = "{seconds - 1}s", target = {vus} }}]
[profiles.bench.thresholds.k6]
"http_req_duration" = ["p(95)<5000"]

[environments.bench]
kind = "external"
app_log = "{log_file}"
"""


@dataclass
class Run:
    mode: str
    rate: float
    requests: int
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds per group while k6 ran

    def per_1000(self, group: str) -> float:
        """CPU milliseconds per 1000 requests."""
        return 1e6 * self.cpu_s.get(group, 0.0) / self.requests

    def total_per_1000(self) -> float:
        return sum(self.per_1000(g) for g in GROUPS)


def _cpu(proc: psutil.Process, children: bool = False) -> float:
    t = proc.cpu_times()
    return t.user + t.system + ((t.children_user + t.children_system) if children else 0.0)


class CpuMeter:
    """CPU seconds of each group between `start()` and `stop()`, summed over live processes.

    PostgreSQL's backends come and go with connections; each is counted from when it was first
    seen (a connection opened and closed within one 0.1 s poll is missed: none are, here).
    """

    def __init__(self, groups: dict[str, Callable[[], list[psutil.Process]]]) -> None:
        self._groups = groups
        self._first: dict[tuple[str, int], float] = {}
        self._last: dict[tuple[str, int], float] = {}

    def poll(self) -> None:
        for name, find in self._groups.items():
            for proc in find():
                try:
                    used = _cpu(proc)
                except psutil.Error:
                    continue
                self._first.setdefault((name, proc.pid), used)
                self._last[(name, proc.pid)] = used

    def totals(self) -> dict[str, float]:
        out = dict.fromkeys(self._groups, 0.0)
        for key, last in self._last.items():
            out[key[0]] += last - self._first[key]
        return out


def _exited(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _postgres() -> list[psutil.Process]:
    """Every PostgreSQL process: the benchmark's throwaway cluster is the only one it expects."""
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]


def _measure(cmd: list[str], env: dict[str, str], backend: psutil.Process,
             k6_of: Callable[[psutil.Process], psutil.Process | None],
             perfdash: bool) -> tuple[subprocess.Popen[bytes], dict[str, float]]:
    """Runs `cmd` and meters CPU from the moment k6 is up to the moment it exits."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    me = psutil.Process(proc.pid)
    k6: psutil.Process | None = None
    meter: CpuMeter | None = None
    while proc.poll() is None:
        if k6 is None:
            with_k6 = k6_of(me)
            if with_k6 is not None:
                k6 = with_k6
                groups: dict[str, Callable[[], list[psutil.Process]]] = {
                    "k6": lambda k=k6: [k], "backend": lambda: [backend],
                    "postgres": _postgres}
                if perfdash:
                    groups["perfdash"] = lambda: [me]
                meter = CpuMeter(groups)
        if meter is not None:
            if _exited(k6):
                break
            meter.poll()
        time.sleep(0.1)
    proc.wait()
    return proc, meter.totals() if meter else {}


def run_alone(seconds: int, vus: int, env: dict[str, str], out: Path,
              backend: psutil.Process, dashboard: bool = False) -> Run:
    """k6 as a user would run the same test by hand: same stages, thresholds and trend stats, so
    the ratio measures what observing adds, not what the test itself asks of k6. `dashboard`
    turns on k6's web dashboard output as perfdash does with `web_dashboard = true`, so the ratio
    measures what perfdash adds beyond it."""
    if dashboard:
        env = {**env, **dashboard_env(free_port(), None)}
    summary = out / f"alone-{time.monotonic_ns()}.json"
    config = out / "alone-config.json"
    config.write_text(json.dumps({"thresholds": THRESHOLDS}))
    cmd = [K6, "run", "--no-usage-report", "--quiet", "--config", str(config),
           "--stage", f"1s:{vus}", "--stage", f"{seconds - 1}s:{vus}",
           "--summary-export", str(summary), "--summary-trend-stats", TREND_STATS, str(SCRIPT)]
    proc, cpu = _measure(cmd, env, backend, lambda me: me, perfdash=False)
    if proc.returncode != 0:
        raise SystemExit(f"k6 alone exited with {proc.returncode}")
    return _result("alone", summary, cpu)


def run_observed(config: Path, env: dict[str, str], out: Path, backend: psutil.Process) -> Run:
    results = out / f"observed-{time.monotonic_ns()}"
    cmd = [PERFDASH, "run", "--profile", "bench", "--env", "bench", "--headless",
           "--config", str(config), "--project", str(ROOT), "--results-dir", str(results)]

    def k6_child(me: psutil.Process) -> psutil.Process | None:
        try:
            # Not the `k6 version` that preflight runs first.
            return next((c for c in me.children()
                         if c.name() == "k6" and c.cmdline()[1:2] == ["run"]), None)
        except psutil.Error:
            return None

    proc, cpu = _measure(cmd, env, backend, k6_child, perfdash=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"perfdash exited with {proc.returncode}; see {results}")
    return _result("observed", next(results.iterdir()) / "k6-bench.json", cpu)


def _result(mode: str, summary: Path, cpu: dict[str, float]) -> Run:
    reqs = json.loads(summary.read_text())["metrics"]["http_reqs"]
    return Run(mode, float(reqs["rate"]), int(reqs["count"]), cpu)


def bootstrap_median(values: list[float], rounds: int = 5000) -> tuple[float, float]:
    """A 90% interval for the median of `values`, by resampling (seeded: the same data, the same
    interval)."""
    rng = random.Random(1)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(rounds))
    return medians[int(0.05 * rounds)], medians[int(0.95 * rounds) - 1]


def report(blocks: list[tuple[Run, Run]]) -> None:
    alone = [a for a, _ in blocks]
    observed = [o for _, o in blocks]
    ratios = [o.rate / a.rate for a, o in blocks]
    low, high = bootstrap_median(ratios)
    rates = [a.rate for a in alone]
    cv = statistics.stdev(rates) / statistics.mean(rates) if len(rates) > 1 else float("nan")
    print(f"\nthroughput, observed / alone per block: {', '.join(f'{r:.3f}' for r in ratios)}")
    print(f"  median {statistics.median(ratios):.3f}, 90% interval [{low:.3f}, {high:.3f}] "
          f"(target >= 0.99); k6 alone: median {statistics.median(rates):.0f} req/s, "
          f"run-to-run variation {100 * cv:.1f}%")
    print("CPU ms per 1000 requests, median over runs:")
    print(f"  {'':10}" + "".join(f"{g:>10}" for g in (*GROUPS, "all")))
    medians: dict[str, list[float]] = {}
    for mode, runs in (("alone", alone), ("observed", observed)):
        cells = [statistics.median(r.per_1000(g) for r in runs) for g in GROUPS]
        medians[mode] = [*cells, sum(cells)]
        print(f"  {mode:10}" + "".join(f"{c:10.1f}" for c in medians[mode]))
    expected = [a.total_per_1000() / o.total_per_1000() for a, o in blocks]
    low, high = bootstrap_median(expected)
    from_medians = medians["alone"][-1] / medians["observed"][-1]
    print(f"  expected throughput ratio from CPU per request: {from_medians:.3f} "
          f"from the medians above; per block median {statistics.median(expected):.3f}, "
          f"90% interval [{low:.3f}, {high:.3f}]")
    own = [100 * o.cpu_s["perfdash"] / (o.requests / o.rate) for o in observed]
    share = [o.cpu_s["perfdash"] / sum(o.cpu_s.values()) for o in observed]
    print(f"perfdash's own CPU while k6 runs: median {statistics.median(own):.2f}% of one core "
          f"(target <= 1.5%), {100 * statistics.median(share):.2f}% of all CPU the run used")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--blocks", type=int, default=6, help="pairs of runs, in ABBA order")
    parser.add_argument("--vus", type=int, default=8)
    parser.add_argument("--web-dashboard", action="store_true",
                        help="both sides with k6's web dashboard output on (the profile's "
                             "web_dashboard = true, and k6 alone launched the same way): what "
                             "perfdash adds beyond that output")
    args = parser.parse_args()
    # `kill` runs the finally blocks too, so no k6, backend or cluster outlives the benchmark.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    supervisor = Supervisor()
    with ThrowawayPostgres(database="bench") as pg, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        prepare_database(pg.url())
        token = Secret("bench-token")
        backend = DemoBackend(supervisor, pg.url(), token, out / "app.log", out)
        base = backend.start()
        backend_proc = psutil.Process(backend.pid)
        config = out / "profiles.toml"
        config.write_text(profile_toml(args.seconds, args.vus, out / "app.log",
                                       args.web_dashboard))
        env = {**os.environ, "BASE_URL": base, "PERF_BASE_URL": base,
               "PERF_DATABASE_URL": pg.url().reveal(), "PERF_API_TOKEN": token.reveal(),
               "K6_NO_USAGE_REPORT": "true"}
        blocks: list[tuple[Run, Run]] = []
        try:
            run_alone(min(10, args.seconds), args.vus, env, out, backend_proc)  # warm-up
            for i in range(args.blocks):
                steps = ("alone", "observed") if i % 2 == 0 else ("observed", "alone")
                got: dict[str, Run] = {}
                for mode in steps:
                    got[mode] = (run_alone(args.seconds, args.vus, env, out, backend_proc,
                                           args.web_dashboard)
                                 if mode == "alone" else
                                 run_observed(config, env, out, backend_proc))
                a, o = got["alone"], got["observed"]
                blocks.append((a, o))
                print(f"block {i + 1} ({steps[0]} first): alone {a.rate:.0f} req/s, observed "
                      f"{o.rate:.0f} req/s ({o.rate / a.rate:.3f}); CPU ms/1000 req "
                      f"{a.total_per_1000():.0f} -> {o.total_per_1000():.0f}", flush=True)
        finally:
            backend.stop()
            supervisor.stop_all()
    report(blocks)


if __name__ == "__main__":
    main()
