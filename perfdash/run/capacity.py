"""Can this machine carry the load a profile asks for? A preflight warning, never an error.

Settings already refuse what is certainly invalid (a negative target, a zero duration); this module
judges sizes that are valid but that the load generator itself cannot produce here (200,000 k6 VUs
on a 2-core machine took 2.5 GB in 14 s and went on growing, without a word). The numbers are rules
of thumb, chosen on the safe side and documented here and in the README:

k6
  * memory: k6's documentation ("Running large tests") puts a virtual user at roughly 1-5 MB;
    perfdash counts `K6_MB_PER_VU` = 3 MB, and warns when the profile's peak VUs (the largest stage
    target) would need more than half of this machine's memory (the other half is for the backend,
    the database and perfdash's collectors, which usually share the machine).
  * CPU: warns above `K6_VUS_PER_CORE` = 2,000 peak VUs per core (a VU that sleeps about a second
    between requests; busier scripts saturate a core far sooner).
Artillery (one Node.js process, so one core, whatever the machine has)
  * CPU: warns above `ARTILLERY_MAX_RATE` = 500 new virtual users per second in any phase
    (arrivalRate or rampTo).
  * memory: concurrent users are estimated as the peak arrival rate times `ARTILLERY_SCENARIO_S` =
    30 s (a scenario rarely lasts longer), capped by the phase's total arrivals (arrivalRate x
    duration, or arrivalCount) and by maxVusers; at `ARTILLERY_MB_PER_VU` = 1 MB each, it warns when
    that exceeds half of the machine's memory.

The lead wires `capacity_warnings` into preflight as "load fits this machine" items (status warn).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import psutil

from perfdash.settings import Profile

K6_MB_PER_VU: Final = 3.0
K6_VUS_PER_CORE: Final = 2_000
ARTILLERY_MAX_RATE: Final = 500.0
ARTILLERY_SCENARIO_S: Final = 30.0
ARTILLERY_MB_PER_VU: Final = 1.0
MEMORY_SHARE: Final = 0.5  # the load generator's share of the machine's memory

_MB: Final = 1024 * 1024


@dataclass(frozen=True)
class CapacityWarning:
    """One preflight warning: `PreflightResult(name, "warn", detail, fix)`."""

    name: str
    detail: str
    fix: str


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def artillery_peak_rate(phases: tuple[Mapping[str, Any], ...]) -> float:
    return max((max(_num(p.get("arrivalRate")), _num(p.get("rampTo"))) for p in phases),
               default=0.0)


def artillery_concurrency(phases: tuple[Mapping[str, Any], ...]) -> float:
    """The most users one phase may have alive at once, by the rule in the module docstring."""
    peak = 0.0
    for p in phases:
        rate = max(_num(p.get("arrivalRate")), _num(p.get("rampTo")))
        duration = _num(p.get("duration"))
        arrivals = _num(p.get("arrivalCount")) or (
            (_num(p.get("arrivalRate")) + _num(p.get("rampTo") or p.get("arrivalRate"))) / 2
            * duration)
        alive = min(rate * ARTILLERY_SCENARIO_S, arrivals) if arrivals else rate * ARTILLERY_SCENARIO_S
        if _num(p.get("maxVusers")):
            alive = min(alive, _num(p.get("maxVusers")))
        peak = max(peak, alive)
    return peak


def capacity_warnings(profile: Profile, *, cores: int | None = None,
                      memory_bytes: int | None = None) -> list[CapacityWarning]:
    """Warnings for load sizes this machine (or the given cores and memory) cannot carry."""
    cores = cores or os.cpu_count() or 1
    memory_mb = (memory_bytes if memory_bytes is not None else psutil.virtual_memory().total) / _MB
    budget_mb = memory_mb * MEMORY_SHARE
    gib = memory_mb / 1024
    out: list[CapacityWarning] = []
    where = f"[profiles.{profile.name}"
    if profile.k6_script is not None and profile.k6_stages:
        vus = max(s.target for s in profile.k6_stages)
        need_mb = vus * K6_MB_PER_VU
        if need_mb > budget_mb:
            out.append(CapacityWarning(
                "k6 load fits this machine",
                f"{vus:,} k6 VUs need about {need_mb / 1024:,.1f} GB ({K6_MB_PER_VU:g} MB per VU), "
                f"more than half of this machine's {gib:,.1f} GB; k6 may exhaust the memory",
                f"lower the stage targets in {where}.k6] to at most "
                f"{int(budget_mb / K6_MB_PER_VU):,} VUs, or run k6 on a larger machine"))
        if vus > K6_VUS_PER_CORE * cores:
            out.append(CapacityWarning(
                "k6 load fits this machine",
                f"{vus:,} k6 VUs on {cores} CPU core(s) is more than {K6_VUS_PER_CORE:,} per core; "
                "k6 itself will saturate the CPU and measure its own delays",
                f"lower the stage targets in {where}.k6] to at most "
                f"{K6_VUS_PER_CORE * cores:,} VUs, or run k6 on a machine with more cores"))
    if profile.artillery_script is not None and profile.artillery_phases:
        rate = artillery_peak_rate(profile.artillery_phases)
        if rate > ARTILLERY_MAX_RATE:
            out.append(CapacityWarning(
                "Artillery load fits this machine",
                f"{rate:,.0f} new Artillery users per second is more than the "
                f"{ARTILLERY_MAX_RATE:,.0f}/s one Node.js process sustains",
                f"lower arrivalRate/rampTo in {where}.artillery] or distribute Artillery"))
        alive = artillery_concurrency(profile.artillery_phases)
        need_mb = alive * ARTILLERY_MB_PER_VU
        if need_mb > budget_mb:
            out.append(CapacityWarning(
                "Artillery load fits this machine",
                f"about {alive:,.0f} concurrent Artillery users need about "
                f"{need_mb / 1024:,.1f} GB, more than half of this machine's {gib:,.1f} GB",
                f"lower arrivalRate or set maxVusers in {where}.artillery]"))
    return out
