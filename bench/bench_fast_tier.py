"""The fast tier's wall and CPU time per way of running it, run by hand (target: <= 60 s here).

Each round runs the fast tier once per configuration, in turn, so a busy machine weighs on every
configuration alike; it reports each configuration's median wall time and CPU (user + system of
pytest and every child) and the load average before and after:

- `1/core, cold`: one xdist worker per core, the tree's compiled modules (`__pycache__` under
  perfdash/ and tests/) removed first, as in a fresh clone;
- `2/core, cold`: `-n auto` (two workers per core, tests/speed.py), removed first;
- `2/core, warm`: `-n auto` with the compiled modules kept by the previous run;
- `1 process`: no xdist (`--serial` adds it; it takes twice as long as the others together);
- `baseline`: `-n auto` in another checkout (`--baseline DIR`, e.g. a clone of an older commit), run
  with this checkout's Python environment, compiled modules removed first as well.

    .venv/bin/python bench/bench_fast_tier.py [--rounds 3] [--serial] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST = [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider"]


def remove_compiled(tree: Path) -> None:
    """The tree's own compiled modules (perfdash's and the tests'), as in a fresh clone."""
    for top in ("perfdash", "tests"):
        for cache in (tree / top).rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)


Config = tuple[list[str], bool, Path]


def configurations(serial: bool, baseline: Path | None) -> dict[str, Config]:
    """Name -> (extra pytest arguments, whether the compiled test modules are removed first, the
    checkout to run in)."""
    cores = str(len(os.sched_getaffinity(0)))
    found = {"1/core, cold": (["-n", cores], True, ROOT),
             "2/core, cold": (["-n", "auto"], True, ROOT),
             "2/core, warm": (["-n", "auto"], False, ROOT)}
    if serial:
        found["1 process"] = ([], False, ROOT)
    if baseline is not None:
        found["baseline"] = (["-n", "auto"], True, baseline.resolve())
    return found


def run_once(extra: list[str], cold: bool, tree: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one fast-tier run; exits when the tier fails, a figure of a failed
    run would mean nothing."""
    if cold:
        remove_compiled(tree)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([*PYTEST, *extra], cwd=tree, env=env, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"the fast tier failed ({' '.join(extra) or 'one process'}):\n{done.stdout[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serial", action="store_true")
    parser.add_argument("--baseline", type=Path, default=None)
    args = parser.parse_args()
    configs = configurations(args.serial, args.baseline)
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in configs}
    load_before = os.getloadavg()
    for round_no in range(args.rounds):
        for name, (extra, cold, tree) in configs.items():
            wall, cpu = run_once(extra, cold, tree)
            figures[name].append((wall, cpu))
            print(f"round {round_no + 1} {name:14s} wall {wall:6.1f} s  cpu {cpu:6.1f} s", flush=True)
    load_after = os.getloadavg()
    print(f"\nload average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(f"{'configuration':14s} {'median wall':>12s} {'median cpu':>11s}  walls")
    for name, rows in figures.items():
        walls = [w for w, _ in rows]
        print(f"{name:14s} {statistics.median(walls):10.1f} s {statistics.median(c for _, c in rows):9.1f} s"
              f"  {', '.join(f'{w:.1f}' for w in walls)}")


if __name__ == "__main__":
    main()
