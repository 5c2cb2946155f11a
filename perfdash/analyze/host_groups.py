"""Host checks when the run measured hosts through node_exporter: `metrics.csv` with one column group
per host and `hosts.json` with their roles (written by perfdash.collect.remote_hosts).

Backend hosts (and any role other than "generator") are judged on headroom with the profile's
host limits; generator hosts on saturation (above 80% CPU the load generator inflates the
latencies it measures). A host that did not answer for any second of the load has its checks
"not measured" with the reason: a gap in the measurement is never a pass.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from perfdash.analyze.checks import Check
from perfdash.artifacts import open_regular, read_json
from perfdash.check import share_limit
from perfdash.collect.remote_hosts import FIELDS, HOSTS_JSON
from perfdash.collect.system import SATURATION_PCT
from perfdash.settings import Profile
from perfdash.timeline.columns import host_column
from perfdash.timeline.reader import Timeline


@dataclass
class HostColumns:
    name: str
    role: str
    cpu: list[float] = field(default_factory=list)
    mem: list[float] = field(default_factory=list)
    load1: list[float] = field(default_factory=list)
    rows: int = 0
    down: int = 0
    first_down_s: float | None = None


def host_names(header: list[str]) -> list[str]:
    """The hosts of a per-host metrics.csv header, in column order; [] for the psutil layout."""
    names: list[str] = []
    for col in header:
        name, _, fld = col.rpartition(".")
        if name and fld == FIELDS[0] and name not in names:
            names.append(name)
    return names


def _num(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def read_host_roles(run_dir: Path) -> list[tuple[str, str]]:
    """(name, role) of every host in `hosts.json`, in metrics.csv's order (backend first); [] for
    a run without hosts or an unreadable file. The result view's host chart and compare read the
    roles from here, so a run directory alone says which hosts were the backend."""
    data, _ = read_json(run_dir / HOSTS_JSON)
    hosts = data.get("hosts") if isinstance(data, dict) else None
    if not isinstance(hosts, list):
        return []
    return [(str(h["name"]), str(h.get("role") or "backend")) for h in hosts
            if isinstance(h, dict) and isinstance(h.get("name"), str) and h["name"]]


def read_host_groups(path: Path) -> list[HostColumns] | None:
    """Every host's series, or None when metrics.csv is not per host (or cannot be read)."""
    roles = dict(read_host_roles(path.parent))
    try:
        with open_regular(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            names = host_names(header)
            if not names:
                return None
            hosts = [HostColumns(n, roles.get(n) or "backend") for n in names]
            index = {c: i for i, c in enumerate(header)}
            for row in reader:
                if len(row) != len(header):
                    continue  # a row cut short by a kill
                elapsed = _num(row[index["elapsed_s"]]) if "elapsed_s" in index else None
                for h in hosts:
                    h.rows += 1
                    if row[index[f"{h.name}.up"]] != "1":
                        h.down += 1
                        if h.first_down_s is None:
                            h.first_down_s = elapsed
                        continue
                    for series, fld in ((h.cpu, "cpu_pct"), (h.mem, "mem_pct"),
                                        (h.load1, "load1")):
                        value = _num(row[index[f"{h.name}.{fld}"]])
                        if value is not None:
                            series.append(value)
    except (OSError, StopIteration, UnicodeDecodeError, csv.Error):
        return None
    return hosts


def host_group_checks(hosts: list[HostColumns], profile: Profile,
                      percentile: Callable[[list[float], float], float]) -> list[Check]:
    src = f"profile {profile.name} [host]"
    mem = share_limit("peak", profile.host.memory_warn_pct)
    checks: list[Check] = []
    for h in hosts:
        gen = h.role == "generator"
        prefix = f"host.{h.name}"
        label = f"{'Generator' if gen else h.role.capitalize()} host {h.name}"
        cpu = share_limit("p95", SATURATION_PCT if gen else profile.host.cpu_warn_pct)
        cpu_id, cpu_name = ((f"{prefix}.saturation", f"{label} CPU (generator saturation)")
                            if gen else (f"{prefix}.cpu", f"{label} CPU headroom"))
        mem_id, mem_name = f"{prefix}.memory", f"{label} memory headroom"
        cpu_src = "k6 guidance: generator CPU below 80%" if gen else src
        reason = _unmeasured(h)
        if reason:
            checks.append(Check.not_measured(cpu_id, cpu_name, reason, cpu.text, cpu_src, cpu))
            if not gen:
                checks.append(Check.not_measured(mem_id, mem_name, reason, mem.text, src, mem))
            continue
        cpu95, cpu_peak = percentile(h.cpu, 95), max(h.cpu)
        checks.append(Check(cpu_id, cpu_name, "pass" if cpu.holds(cpu95) else "warn",
                            round(cpu95, 1), cpu.text, cpu_src,
                            f"p95 {cpu95:.0f}%, peak {cpu_peak:.0f}% over {len(h.cpu)} samples; "
                            f"load1 peak {max(h.load1, default=0):.2f}", "%", cpu))
        if not gen:
            mem_peak = max(h.mem)
            checks.append(Check(mem_id, mem_name, "pass" if mem.holds(mem_peak) else "warn",
                                round(mem_peak, 1), mem.text, src, f"peak {mem_peak:.0f}%", "%", mem))
    return checks


def _unmeasured(h: HostColumns) -> str | None:
    if h.rows == 0:
        return "metrics.csv has no samples"
    if h.down:
        at = f" from {h.first_down_s:.0f} s into the load" if h.first_down_s is not None else ""
        return (f"host {h.name} did not answer for {h.down} of {h.rows} samples{at}: its "
                "headroom over the whole run is unknown")
    if not h.cpu or not h.mem:
        return f"host {h.name} answered but reported no CPU or memory values"
    return None


def backend_series(metrics_csv: Path, field: str = "cpu_pct") -> list[float] | None:
    """The busiest backend host's `field` (`cpu_pct`, `mem_pct`, `load1`) second by second, from a
    per-host metrics.csv; None when the file is not per host (read the single-machine column
    `field` then), [] when no backend host ever answered.

    For a run-level figure such as "host CPU p95" across several backend hosts: each second counts
    the highest value among the backend hosts that answered, so a saturated host is never averaged
    away by an idle one. A second in which no backend host answered is left out (never a zero).
    Backend means the role "backend"; a run whose hosts have no such role counts every host that is
    not a generator, as the host checks do."""
    roles = dict(read_host_roles(metrics_csv.parent))
    try:
        with open_regular(metrics_csv, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            names = host_names(header)
            if not names:
                return None
            backend = [n for n in names if roles.get(n, "backend") == "backend"] or [
                n for n in names if roles.get(n, "backend") != "generator"]
            index = {c: i for i, c in enumerate(header)}
            cols = [(index[f"{n}.up"], index[f"{n}.{field}"]) for n in backend
                    if f"{n}.up" in index and f"{n}.{field}" in index]
            out: list[float] = []
            for row in reader:
                if len(row) != len(header):
                    continue  # a row cut short by a kill
                values = [v for up, col in cols if row[up] == "1"
                          and (v := _num(row[col])) is not None]
                if values:
                    out.append(max(values))
    except (FileNotFoundError, OSError):
        return None
    return out


def backend_cpu_series(metrics_csv: Path) -> list[float] | None:
    """`backend_series` for CPU: what compare's "host CPU p95" reads for a run with hosts."""
    return backend_series(metrics_csv, "cpu_pct")


def backend_hosts(run_dir: Path) -> list[str]:
    """The hosts whose figures stand for "the backend" in a run-level figure: role "backend", else
    every host that is not a generator (as the host checks count them); [] without hosts."""
    roles = read_host_roles(run_dir)
    return [n for n, r in roles if r == "backend"] or [n for n, r in roles if r != "generator"]


def with_backend_host_columns(timeline: Timeline, run_dir: Path) -> Timeline:
    """The timeline with `cpu_pct` and `mem_pct` as the busiest backend host's, second by second,
    when the run measured hosts (its `host.<name>.*` columns); otherwise the timeline as it is.

    The recorder's own `cpu_pct` follows whichever backend host answered first, which can switch
    hosts mid-run; compare and history judge "host CPU" on this instead, so a saturated host is
    never hidden by an idle one and a second no backend host answered stays empty, never zero."""
    names = [n for n in backend_hosts(run_dir) if host_column(n, "cpu_pct") in timeline.series]
    if not names:
        return timeline
    series = dict(timeline.series)
    for fld in ("cpu_pct", "mem_pct"):
        columns = [timeline.series.get(host_column(n, fld)) or [] for n in names]
        busiest: list[float | None] = []
        for i in range(len(timeline.t)):
            present = [v for c in columns if i < len(c) and (v := c[i]) is not None]
            busiest.append(max(present) if present else None)
        series[fld] = busiest
    return Timeline(timeline.t, series, timeline.markers)
