"""System sampler: psutil once a second into `metrics.csv` (appended and flushed row by row, so
`tail -f` and a crash both see every sample) and onto the event bus.

Built by the collector registry (perfdash.collect.remote_hosts.host_sampler) for the whole load
window of a run or a watch; the backend process is watched too when perfdash knows its PID (the
demo backend) or finds the process listening on the base URL's port.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psutil

from perfdash.collect.background import Background
from perfdash.collect.base import DISK_FIX, RunNotes
from perfdash.events import Bus, ProblemDetected, SystemSampled

SATURATION_PCT = 80.0


def csv_header(cores: int) -> list[str]:
    return [
        "timestamp", "elapsed_s", "cpu_pct", "mem_pct", "mem_used_mb", "swap_pct",
        "load1", "load5", "load15", "backend_cpu_pct", "backend_rss_mb",
        *[f"cpu{i}_pct" for i in range(cores)],
    ]


class _ProcessTree:
    """CPU and RSS of a process and its children; psutil needs the same objects between calls."""

    def __init__(self, pid: int) -> None:
        self._root = psutil.Process(pid)
        self._known: dict[int, psutil.Process] = {pid: self._root}

    def sample(self) -> tuple[float, float] | None:
        try:
            procs = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return None
        cpu = rss = 0.0
        for proc in procs:
            known = self._known.setdefault(proc.pid, proc)
            try:
                with known.oneshot():
                    cpu += known.cpu_percent(None)
                    rss += known.memory_info().rss
            except psutil.Error:
                continue
        return cpu, rss / 1_048_576


class SystemCollector(Background):
    """A daemon thread sampling at `interval_s`; `stop()` joins it and closes the CSV."""

    name = "system"
    columns: tuple[str, ...] = ("cpu_pct", "mem_pct", "load1")

    def __init__(self, bus: Bus, csv_path: Path, interval_s: float = 1.0,
                 backend_pid: Callable[[], int | None] | None = None) -> None:
        super().__init__("system-collector")
        self._bus = bus
        self._path = csv_path
        self._interval = interval_s
        self._backend_pid = backend_pid or (lambda: None)
        self.rows = 0
        self.error: str | None = None
        self._saturated = False

    def finish(self, run_dir: Path, record: RunNotes) -> None:
        """metrics.csv is written as it goes; a collector that stopped writing it leaves the host
        checks not measured, with the reason."""
        if self.error:
            record.not_measured["metrics"] = self.error
            record.problem(self.error, DISK_FIX)

    def _run(self) -> None:
        try:
            self._loop()
        except OSError as exc:
            self.error = f"metrics collector stopped: cannot write {self._path.name}: {exc.strerror}"
            self._bus.publish(ProblemDetected(self.error, "free disk space or fix permissions",
                                              severity="error"))

    def _loop(self) -> None:
        cores = psutil.cpu_count() or 1
        psutil.cpu_percent(None, percpu=True)  # prime: the first call measures nothing
        tree: _ProcessTree | None = None
        tree_pid: int | None = None
        start = time.monotonic()
        with self._path.open("a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if f.tell() == 0:
                writer.writerow(csv_header(cores))
                f.flush()
            tick = 0
            while not self._stopping.wait(max(0.0, start + (tick + 1) * self._interval
                                          - time.monotonic())):
                tick += 1
                pid = self._backend_pid()
                if pid != tree_pid:
                    tree_pid = pid
                    try:
                        tree = _ProcessTree(pid) if pid else None
                    except psutil.Error:
                        tree = None
                    if tree:
                        tree.sample()  # prime: psutil's first cpu_percent of a process is 0
                event = self._sample(tree)
                writer.writerow([
                    datetime.fromtimestamp(event.at, UTC).isoformat(timespec="milliseconds"),
                    f"{time.monotonic() - start:.2f}", f"{event.cpu_pct:.1f}",
                    f"{event.mem_pct:.1f}", f"{event.mem_used_mb:.0f}", f"{event.swap_pct:.1f}",
                    f"{event.load1:.2f}", f"{event.load5:.2f}", f"{event.load15:.2f}",
                    "" if event.backend_cpu_pct is None else f"{event.backend_cpu_pct:.1f}",
                    "" if event.backend_rss_mb is None else f"{event.backend_rss_mb:.1f}",
                    *[f"{c:.1f}" for c in event.cpu_per_core],
                ])
                f.flush()
                self.rows += 1
                self._bus.publish(event)
                self._check_saturation(event.cpu_pct)

    def _sample(self, tree: _ProcessTree | None) -> SystemSampled:
        per_core = psutil.cpu_percent(None, percpu=True)
        mem = psutil.virtual_memory()
        swap = psutil.swap_memory()
        load = psutil.getloadavg()
        backend = tree.sample() if tree else None
        return SystemSampled(
            cpu_pct=sum(per_core) / len(per_core),
            cpu_per_core=tuple(per_core),
            mem_pct=mem.percent,
            mem_used_mb=(mem.total - mem.available) / 1_048_576,
            swap_pct=swap.percent,
            load1=load[0], load5=load[1], load15=load[2],
            backend_cpu_pct=backend[0] if backend else None,
            backend_rss_mb=backend[1] if backend else None,
        )

    def _check_saturation(self, cpu: float) -> None:
        """Above 80% CPU the load generators themselves inflate latencies (k6's own guidance)."""
        if cpu > SATURATION_PCT and not self._saturated:
            self._saturated = True
            self._bus.publish(ProblemDetected(
                f"machine CPU at {cpu:.0f}%: the load tools' latencies are inflated above "
                f"{SATURATION_PCT:.0f}%",
                "run the load generators on another machine or lower the profile's load",
            ))
        elif cpu < SATURATION_PCT - 10:
            self._saturated = False
