"""metrics.csv into the host headroom verdict: CPU, memory and load peaks and p95 over the run.

Reads the CSV (never in-memory samples) so an old run's `perfdash show` agrees with the live end.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from perfdash.analyze.checks import Check
from perfdash.artifacts import open_regular
from perfdash.check import share_limit
from perfdash.settings import Profile


@dataclass(frozen=True)
class HostSeries:
    rows: int
    cpu: list[float]
    mem: list[float]
    load1: list[float]
    error: str | None


def read_metrics(path: Path) -> HostSeries:
    cpu: list[float] = []
    mem: list[float] = []
    load: list[float] = []
    try:
        with open_regular(path, newline="") as f:
            for row in csv.DictReader(f):
                try:
                    values = [float(row["cpu_pct"]), float(row["mem_pct"]), float(row["load1"])]
                except (KeyError, TypeError, ValueError):
                    continue  # a row cut short by a kill
                if all(math.isfinite(v) for v in values):
                    cpu.append(values[0])
                    mem.append(values[1])
                    load.append(values[2])
    except FileNotFoundError:
        return HostSeries(0, [], [], [], f"{path.name} is missing")
    except OSError as exc:
        return HostSeries(0, [], [], [], f"{path.name} cannot be read: {exc.strerror}")
    except (UnicodeDecodeError, csv.Error) as exc:
        return HostSeries(0, [], [], [], f"{path.name} is damaged ({exc}); the host was not judged")
    return HostSeries(len(cpu), cpu, mem, load, None if cpu else f"{path.name} has no samples")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def analyse_host(path: Path, profile: Profile, collector_error: str | None = None) -> list[Check]:
    from perfdash.analyze.host_groups import host_group_checks, read_host_groups

    groups = read_host_groups(path)  # hosts measured through node_exporter, one group each
    if groups is not None:
        return host_group_checks(groups, profile, percentile)
    series = read_metrics(path)
    src = f"profile {profile.name} [host]"
    cpu = share_limit("p95", profile.host.cpu_warn_pct)
    mem = share_limit("peak", profile.host.memory_warn_pct)
    if series.error:
        reason = series.error + (f" ({collector_error})" if collector_error else "")
        return [
            Check.not_measured("host.cpu", "Host CPU headroom", reason, cpu.text, src, cpu),
            Check.not_measured("host.memory", "Host memory headroom", reason, mem.text, src, mem),
        ]
    cpu95, cpu_peak = percentile(series.cpu, 95), max(series.cpu)
    mem_peak = max(series.mem)
    load_peak = max(series.load1)
    return [
        Check("host.cpu", "Host CPU headroom",
              "pass" if cpu.holds(cpu95) else "warn", round(cpu95, 1), cpu.text, src,
              f"p95 {cpu95:.0f}%, peak {cpu_peak:.0f}% over {series.rows} samples; "
              f"load1 peak {load_peak:.2f}", "%", cpu),
        Check("host.memory", "Host memory headroom",
              "pass" if mem.holds(mem_peak) else "warn", round(mem_peak, 1), mem.text, src,
              f"peak {mem_peak:.0f}%", "%", mem),
    ]
