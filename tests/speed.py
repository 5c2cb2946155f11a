"""What keeps the fast tier fast (`bench/bench_fast_tier.py` measures it; figures in README).

Three things, each measured on 2 cores:

- **Two xdist workers per core** for `-n auto`. Run in one process, the tier waits for 43% of its
  time (116 s of wall time against 66 s of CPU: sleeps a test asks for, process groups stopping,
  files being tailed, start commands polled); a second worker per core fills those waits.
- **Compiled modules kept** even when `PYTHONDONTWRITEBYTECODE` is set. Every worker imports every
  test module, and pytest rewrites a module's asserts as it imports it: with nothing kept, about
  2 s of CPU per worker and run for the tests alone, and perfdash's modules compiled again in every
  worker and every Python child a test starts (the CLI, lint-imports). They go to `__pycache__`
  beside the sources, which git ignores. (A `sys.pycache_prefix` outside the tree was slower: Python
  then ignores the installed packages' own `__pycache__` and compiles numpy, aiohttp and the rest
  again on every first run.)
- **A lazier garbage collector.** The Textual tests allocate millions of short-lived objects; at
  Python's default thresholds the cyclic collector runs every 700 allocations and, every hundredth
  time, walks the worker's whole heap (every test module, Textual, numpy). Frozen after collection
  and run about 70 times less often, the UI tests took 32 s of CPU instead of 41-42 s; the largest
  worker peaks at 330 MB.

Registered as a plugin by tests/conftest.py.
"""

from __future__ import annotations

import gc
import os
import sys

import pytest

sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# Young objects are collected after 50,000 net allocations (Python's default: 700), the middle and
# old generations after 20 collections of the one below (default: 10 and 10).
GC_THRESHOLDS = (50_000, 20, 20)
gc.set_threshold(*GC_THRESHOLDS)  # collection too: every test module's syntax tree, rewritten


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    return 2 * len(usable)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything collection imported lives as long as the worker: out of the collector's sight."""
    gc.collect()
    gc.freeze()
