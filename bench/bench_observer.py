"""Observer cost, run by hand: does watching a run with perfdash cost the observed machine anything?

Starts a throwaway PostgreSQL and the demo backend once, then alternates two ways of running the same
k6 load (constant VUs, no think time, so the machine is saturated):
  alone     k6 by itself with the same stages and thresholds, measured in the same session;
  observed  `perfdash run --headless` with every collector on (system, app log, database, k6 API).
Reports the median k6 req/s of each and their ratio (target >= 0.99), and perfdash's own CPU while the
load runs, as % of one core (target <= 1.5%), measured from the perfdash process alone (children
excluded) between the moment k6 starts and the moment it exits.

    .venv/bin/python bench/bench_observer.py --seconds 60 --pairs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfdash.demo.backend import DemoBackend  # noqa: E402
from perfdash.demo.database import prepare_database  # noqa: E402
from perfdash.demo.pgcluster import ThrowawayPostgres  # noqa: E402
from perfdash.run.supervisor import Supervisor  # noqa: E402
from perfdash.secret import Secret  # noqa: E402

K6 = str(Path(sys.executable).parent / "k6")
PERFDASH = str(Path(sys.executable).parent / "perfdash")
SCRIPT = ROOT / "bench" / "k6-products.js"


def profile_toml(seconds: int, vus: int, log_file: Path) -> str:
    return f"""
[profiles.bench]
description = "observer benchmark"
[profiles.bench.k6]
script = "{SCRIPT}"
stages = [{{ duration = "1s", target = {vus} }}, {{ duration = "{seconds - 1}s", target = {vus} }}]
[profiles.bench.thresholds.k6]
"http_req_duration" = ["p(95)<5000"]

[environments.bench]
kind = "external"
app_log = "{log_file}"
"""


def run_alone(seconds: int, vus: int, env: dict[str, str], out: Path) -> float:
    """k6 as a user would run the same test by hand: same stages, thresholds and trend stats, so
    the ratio measures what observing adds, not what the test itself asks of k6."""
    summary = out / f"alone-{time.monotonic_ns()}.json"
    config = out / "alone-config.json"
    config.write_text(json.dumps({"thresholds": {"http_req_duration": ["p(95)<5000"]}}))
    subprocess.run([K6, "run", "--no-usage-report", "--quiet", "--config", str(config),
                    "--stage", f"1s:{vus}", "--stage", f"{seconds - 1}s:{vus}",
                    "--summary-export", str(summary), "--summary-trend-stats",
                    "avg,min,med,max,p(90),p(95),p(99)", str(SCRIPT)],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return float(json.loads(summary.read_text())["metrics"]["http_reqs"]["rate"])


def run_observed(config: Path, env: dict[str, str], out: Path) -> tuple[float, float]:
    results = out / f"observed-{time.monotonic_ns()}"
    proc = subprocess.Popen([PERFDASH, "run", "--profile", "bench", "--env", "bench",
                             "--headless", "--config", str(config), "--project", str(ROOT),
                             "--results-dir", str(results)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    me = psutil.Process(proc.pid)
    start_cpu = start_t = None
    cpu_pct = float("nan")
    while proc.poll() is None:
        try:
            k6_running = any("k6" in c.name() for c in me.children())
            times = me.cpu_times()
        except psutil.Error:
            break
        now = time.monotonic()
        if k6_running and start_cpu is None:
            start_cpu, start_t = times.user + times.system, now
        elif not k6_running and start_cpu is not None and start_t is not None:
            cpu_pct = 100 * (times.user + times.system - start_cpu) / (now - start_t)
            start_cpu = None
        time.sleep(0.1)
    proc.wait()
    summary = next(results.iterdir()) / "k6-bench.json"
    rate = float(json.loads(summary.read_text())["metrics"]["http_reqs"]["rate"])
    return rate, cpu_pct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--vus", type=int, default=8)
    args = parser.parse_args()
    supervisor = Supervisor()
    with ThrowawayPostgres(database="bench") as pg, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        prepare_database(pg.url())
        token = Secret("bench-token")
        backend = DemoBackend(supervisor, pg.url(), token, out / "app.log", out)
        base = backend.start()
        config = out / "profiles.toml"
        config.write_text(profile_toml(args.seconds, args.vus, out / "app.log"))
        env = {**os.environ, "BASE_URL": base, "PERF_BASE_URL": base,
               "PERF_DATABASE_URL": pg.url().reveal(), "PERF_API_TOKEN": token.reveal(),
               "K6_NO_USAGE_REPORT": "true"}
        alone: list[float] = []
        observed: list[float] = []
        cpu: list[float] = []
        try:
            for i in range(args.pairs):
                alone.append(run_alone(args.seconds, args.vus, env, out))
                rate, pct = run_observed(config, env, out)
                observed.append(rate)
                cpu.append(pct)
                print(f"pair {i + 1}: alone {alone[-1]:.0f} req/s, observed {rate:.0f} req/s, "
                      f"perfdash {pct:.2f}% of a core", flush=True)
        finally:
            backend.stop()
            supervisor.stop_all()
    a, o = statistics.median(alone), statistics.median(observed)
    print(f"median k6 req/s: alone {a:.0f}, observed {o:.0f}; ratio {o / a:.3f} (target >= 0.99)")
    print(f"perfdash CPU while observing: median {statistics.median(cpu):.2f}% of one core "
          f"(target <= 1.5%); all: {', '.join(f'{c:.2f}' for c in cpu)}")


if __name__ == "__main__":
    main()
