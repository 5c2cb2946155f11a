"""How often `perfdash compare` cries wolf, and how often it catches a real slowdown: run by hand.

Records N pairs of identical demo runs (A/A) and, for each slowdown, N pairs where the second run's
demo backend is slowed on purpose through `PERFDASH_DEMO_SLOW` (A/B: one endpoint made a known
percentage slower, which stretches its whole latency distribution by that factor). The endpoint
slowed is `/api/customers/{id}/orders`, the slowest one: its requests make up the top of the k6
latency distribution, so the k6 http_req_duration p95 grows by about the same percentage.

Then every pair is compared exactly as `perfdash compare A B` does, and it reports:

- A/A: the share of pairs with any false regression (target: at most 5%), and of pairs with any
  change at all (regressed or improved), with the figures that were flagged;
- A/B: the share of pairs in which the k6 http_req_duration p95 was found regressed (target: at
  least 90% at +50%), and the measured p95 change.

Then once more with a pooled baseline, as `--baseline auto` gives one: every second run is compared
with all the unslowed first runs of the bench together, whose spread shows how much whole runs of
the same code differ on this machine.

Runs are recorded in rounds (B20, A, A', B50) whose neighbours form the pairs, so that a slow
spell of the machine hits every kind alike and a round costs four runs rather than six.

    .venv/bin/python bench/bench_compare.py [--pairs 5] [--slowdowns 20,50] [--out DIR]
    .venv/bin/python bench/bench_compare.py --evaluate DIR     # compare the runs already recorded
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfdash.analyze.compare import compare_runs  # noqa: E402

PERFDASH = str(Path(sys.executable).parent / "perfdash")
ROUTE = "/api/customers/{id}/orders"
TARGET = "check:k6.http_req_duration.p(95)"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Pair:
    kind: str  # "A/A" or "A/B"
    slow_pct: float
    base: str
    new: str


def demo_run(out: Path, slow_pct: float, profile: str) -> Path:
    """One `perfdash demo --headless` run into a fresh directory under `out`; its run directory."""
    results = out / f"runs-{time.time_ns()}"
    env = {k: v for k, v in os.environ.items() if k != "PERFDASH_DEMO_SLOW"}
    if slow_pct:
        env["PERFDASH_DEMO_SLOW"] = f"{ROUTE}:+{slow_pct:g}%"
    proc = subprocess.run([PERFDASH, "demo", "--headless", "--profile", profile,
                           "--results-dir", str(results)], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False)
    runs = sorted(p for p in results.iterdir() if p.is_dir()) if results.is_dir() else []
    if proc.returncode not in (0, 1) or not runs:
        sys.exit(f"demo run failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return runs[-1]


def record(out: Path, pairs: int, slowdowns: list[float], profile: str) -> list[Pair]:
    """Rounds of back-to-back runs, each run shared by two neighbouring pairs.

    A round with slowdowns 20 and 50 records B20, A, A', B50 and yields the pairs (A, B20),
    (A, A') and (A', B50): every pair is two runs recorded one after the other, and a round costs
    two runs fewer than three separate pairs would. Within one kind the pairs share no run.
    """
    out.mkdir(parents=True, exist_ok=True)
    recorded: list[Pair] = []
    first, *rest = slowdowns or [0.0]
    for i in range(pairs):
        started = time.monotonic()
        before = demo_run(out, first, profile) if slowdowns else None
        base = demo_run(out, 0.0, profile)
        again = demo_run(out, 0.0, profile)
        round_pairs = [Pair("A/A", 0.0, str(base), str(again))]
        if before is not None:
            round_pairs.append(Pair("A/B", first, str(base), str(before)))
        for slow in rest:
            round_pairs.append(Pair("A/B", slow, str(again), str(demo_run(out, slow, profile))))
        recorded += round_pairs
        (out / MANIFEST).write_text(json.dumps([p.__dict__ for p in recorded], indent=1))
        print(f"round {i + 1}/{pairs} in {time.monotonic() - started:.0f} s: "
              + ", ".join(f"{'A/A' if not p.slow_pct else f'A/B +{p.slow_pct:g}%'} "
                          f"{Path(p.base).name} {Path(p.new).name}" for p in round_pairs),
              flush=True)
    return recorded


def evaluate(pairs: list[Pair], pooled: bool = False) -> None:
    kinds = sorted({(p.kind, p.slow_pct) for p in pairs}, key=lambda k: k[1])
    pool = sorted({Path(p.base) for p in pairs})
    print()
    print("baseline: " + (f"all {len(pool)} unslowed first runs, pooled" if pooled
                          else "the pair's own first run"))
    print("| runs | kind | any false regression | any change flagged | k6 p95 regressed | "
          "k6 p95 change (median) |")
    print("|---:|---|---:|---:|---:|---:|")
    for kind, slow in kinds:
        group = [p for p in pairs if (p.kind, p.slow_pct) == (kind, slow)]
        regressed = changed = caught = 0
        changes: list[float] = []
        flagged: list[str] = []
        for p in group:
            c = compare_runs(pool if pooled else Path(p.base), Path(p.new))
            target = next((d for d in c.deltas if d.key == TARGET), None)
            if target is not None and target.pct is not None:
                changes.append(target.pct)
            if target is not None and target.verdict == "regressed":
                caught += 1
            others = [d for d in c.deltas if d.verdict in ("regressed", "improved")]
            regressed += bool(c.regressions)
            changed += bool(others)
            flagged += [f"{d.label} {d.verdict}" for d in others]
        changes.sort()
        median = changes[len(changes) // 2] if changes else float("nan")
        n = len(group)
        name = "A/A" if kind == "A/A" else f"A/B +{slow:g}%"
        print(f"| {n} | {name} | {regressed}/{n} | {changed}/{n} | {caught}/{n} | {median:+.1f}% |")
        if flagged:
            print(f"|   | flagged in {name}: {'; '.join(flagged)} | | | | |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--slowdowns", default="20,50", help="percent, comma-separated")
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--out", type=Path, default=Path("/tmp/perfdash-bench-compare"))
    parser.add_argument("--evaluate", type=Path, metavar="DIR",
                        help="only compare the pairs recorded in DIR/manifest.json")
    args = parser.parse_args()
    if args.evaluate:
        pairs = [Pair(**p) for p in json.loads((args.evaluate / MANIFEST).read_text())]
    else:
        pairs = record(args.out, args.pairs, [float(s) for s in args.slowdowns.split(",") if s],
                       args.profile)
    evaluate(pairs)
    evaluate(pairs, pooled=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
