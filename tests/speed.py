"""What keeps the fast tier fast (`bench/bench_fast_tier.py` measures it; figures in README).

Three things, each measured on 2 cores:

- **Two xdist workers per core** for `-n auto`. Run in one process, the tier waits for 43% of its
  time (116 s of wall time against 66 s of CPU: sleeps a test asks for, process groups stopping,
  files being tailed, start commands polled); a second worker per core fills those waits.
- **Compiled test modules kept** when `PYTHONDONTWRITEBYTECODE` is set. Every worker imports every
  test module, and pytest rewrites a module's asserts as it imports it: with nothing kept, 3-5 s of
  CPU per worker and run. They are kept under the temporary directory (`sys.pycache_prefix`), so the
  tree stays as free of them as the user asked; the Python children tests start (the CLI,
  lint-imports) get the same prefix.
- **A lazier garbage collector.** The Textual tests allocate millions of short-lived objects; at
  Python's default thresholds the cyclic collector walks the worker's whole heap (every test module,
  Textual, numpy) again and again. Frozen after collection and run 50x less often, the UI tests
  took 32 s of CPU instead of 41-42 s. A worker's memory stays far below a GiB.

Registered as a plugin by tests/conftest.py.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
from pathlib import Path

import pytest

if sys.dont_write_bytecode:
    sys.pycache_prefix = str(Path(tempfile.gettempdir()) / f"perfdash-tests-pycache-{os.getuid()}")
    sys.dont_write_bytecode = False
    os.environ["PYTHONPYCACHEPREFIX"] = sys.pycache_prefix
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# Young objects are collected after 50,000 net allocations (Python's default: 700), the middle and
# old generations after 20 collections of the one below (default: 10 and 10).
GC_THRESHOLDS = (50_000, 20, 20)
gc.set_threshold(*GC_THRESHOLDS)  # collection too: every test module's syntax tree, rewritten


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return 2 * len(os.sched_getaffinity(0))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything collection imported lives as long as the worker: out of the collector's sight."""
    gc.collect()
    gc.freeze()
