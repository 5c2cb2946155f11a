"""`perfdash show` of a synthetic 24-hour soak run, run by hand: target <= 2 s and <= 200 MB.

Builds a run directory from the committed smoke fixture scaled to a day: 86,400 rows of metrics.csv,
an Artillery report with 8,640 ten-second windows, 43,200 database samples, and the k6 report and
query analysis as a real run writes them. Then times `perfdash show DIR` (the real entry point,
re-analysing every artifact) five times and reports the median wall time and the peak RSS.

    .venv/bin/python bench/bench_show.py
"""

from __future__ import annotations

import copy
import csv
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "smoke-pass"
PERFDASH = str(Path(sys.executable).parent / "perfdash")
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
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["started_at"] = start.isoformat()
    summary["ended_at"] = (start + timedelta(seconds=DAY)).isoformat()
    (run_dir / "summary.json").write_text(json.dumps(summary))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "20261124T000000Z"
        build(run_dir)
        sizes = {p.name: p.stat().st_size for p in run_dir.iterdir()}
        print("artifacts:", ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(sizes.items())
                                      if v > 100_000))
        walls = []
        for _ in range(5):
            t = time.perf_counter()
            out = subprocess.run([PERFDASH, "show", str(run_dir)], capture_output=True, text=True,
                                 check=False)
            walls.append(time.perf_counter() - t)
            assert "overall status" in out.stdout, out.stderr
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"perfdash show: median {statistics.median(walls):.2f} s "
              f"(all {', '.join(f'{w:.2f}' for w in walls)}), peak RSS {rss_mb:.0f} MB "
              "(targets: <= 2 s, <= 200 MB)")


if __name__ == "__main__":
    main()
